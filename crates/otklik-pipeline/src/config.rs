//! The collector configuration file (`collect.toml`): the HTTP client settings and the
//! kind-specific settings of each source, merged by name with the sources kept in the
//! database (name, network, target, schedule, territory, enabled).
//!
//! ```toml
//! [http]                      # otklik_collect::http::HttpConfig, every field optional
//! request_timeout_ms = 20000
//! retry = { max_retries = 2 }
//!
//! [[source]]
//! name = "tg-seversk-news"    # the source's name in the database
//! kind = "telegram"           # then the fields of otklik_collect::SourceConfig
//! channel = "seversk_news"
//!
//! [[source]]
//! name = "vk-wall-minzdrav"
//! kind = "vk_wall"
//! owners = ["minzdrav_severnaya"]   # api.token comes from OTKLIK_VK_TOKEN
//! ```
//!
//! Tokens are never written in the file when it can be avoided: a `vk_wall`/`vk_search` entry
//! without `api.token` takes `OTKLIK_VK_TOKEN`; an `ok_group` entry takes its missing keys from
//! `OTKLIK_OK_APPLICATION_KEY`, `OTKLIK_OK_APPLICATION_SECRET_KEY` and `OTKLIK_OK_ACCESS_TOKEN`.
//! A source with no entry gets a default from its database row where one makes sense: an RSS
//! feed at its target URL, a Telegram channel named by its target, a VK wall of the target
//! community (with the token from the environment).

use std::collections::BTreeMap;
use std::path::Path;

use otklik_collect::http::HttpConfig;
use otklik_collect::{Network, SourceConfig};
use otklik_domain::Source;
use serde::Deserialize;

use crate::PipelineError;

/// Environment variable holding the VK access token.
pub const ENV_VK_TOKEN: &str = "OTKLIK_VK_TOKEN";
/// Environment variables holding the OK application key, secret key and access token.
pub const ENV_OK_KEYS: [(&str, &str); 3] = [
    ("application_key", "OTKLIK_OK_APPLICATION_KEY"),
    ("application_secret_key", "OTKLIK_OK_APPLICATION_SECRET_KEY"),
    ("access_token", "OTKLIK_OK_ACCESS_TOKEN"),
];

/// Looks up an environment variable (injected, so that tests don't touch the process's).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// One `[[source]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEntry {
    /// The source's name in the database.
    pub name: String,
    /// Its collector settings.
    pub config: SourceConfig,
}

/// A parsed `collect.toml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectConfig {
    /// Settings of the shared HTTP client.
    pub http: HttpConfig,
    /// Per-source settings, in file order.
    pub sources: Vec<SourceEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    http: Option<toml::Value>,
    #[serde(default)]
    source: Vec<toml::Table>,
}

impl CollectConfig {
    /// Reads and checks a file; every problem is reported (one per line) with the entry's
    /// position and name.
    pub fn load(path: &Path, env: EnvLookup<'_>) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PipelineError::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text, env)
            .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))
    }

    /// Parses and checks the text of a `collect.toml`.
    pub fn parse(text: &str, env: EnvLookup<'_>) -> Result<Self, PipelineError> {
        let raw: RawFile =
            toml::from_str(text).map_err(|e| PipelineError::Config(e.to_string()))?;
        let mut problems = Vec::new();
        let http = match raw.http {
            Some(v) => v.try_into::<HttpConfig>().unwrap_or_else(|e| {
                problems.push(format!("[http]: {e}"));
                HttpConfig::default()
            }),
            None => HttpConfig::default(),
        };
        let mut sources: Vec<SourceEntry> = Vec::new();
        let mut seen = BTreeMap::new();
        for (i, mut table) in raw.source.into_iter().enumerate() {
            let at = format!("[[source]] #{}", i + 1);
            let name = match table.remove("name") {
                Some(toml::Value::String(s)) if !s.trim().is_empty() => s,
                _ => {
                    problems.push(format!(
                        "{at}: needs a `name` (the source's name in the database)"
                    ));
                    continue;
                }
            };
            let at = format!("{at} «{name}»");
            if let Some(first) = seen.insert(name.clone(), i + 1) {
                problems.push(format!("{at}: the name is already used by entry #{first}"));
                continue;
            }
            if let Err(e) = inject_secrets(&mut table, env) {
                problems.push(format!("{at}: {e}"));
                continue;
            }
            match toml::Value::Table(table).try_into::<SourceConfig>() {
                Ok(config) => sources.push(SourceEntry { name, config }),
                Err(e) => problems.push(format!(
                    "{at}: {}",
                    e.to_string()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
            }
        }
        if problems.is_empty() {
            Ok(Self { http, sources })
        } else {
            Err(PipelineError::Config(problems.join("\n")))
        }
    }

    /// The entry for a source name.
    pub fn entry(&self, name: &str) -> Option<&SourceEntry> {
        self.sources.iter().find(|e| e.name == name)
    }

    /// The collector settings of a database source: its entry (whose network must match the
    /// row's), else a default derived from the row.
    pub fn config_for(
        &self,
        source: &Source,
        env: EnvLookup<'_>,
    ) -> Result<SourceConfig, PipelineError> {
        if let Some(entry) = self.entry(&source.name) {
            if entry.config.network() != source.network {
                return Err(PipelineError::Config(format!(
                    "source «{}» is a {} source in the database but its collect.toml entry reads {}",
                    source.name,
                    source.network.code(),
                    entry.config.network().code()
                )));
            }
            return Ok(entry.config.clone());
        }
        default_config(source, env)
    }
}

/// Adds missing tokens from the environment to a `[[source]]` table.
fn inject_secrets(table: &mut toml::Table, env: EnvLookup<'_>) -> Result<(), String> {
    let kind = table
        .get("kind")
        .and_then(toml::Value::as_str)
        .unwrap_or("")
        .to_owned();
    match kind.as_str() {
        "vk_wall" | "vk_search" => {
            let api = table
                .entry("api")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(api) = api.as_table_mut() else {
                return Err("`api` must be a table".into());
            };
            if !api.contains_key("token") {
                let token = env(ENV_VK_TOKEN)
                    .ok_or_else(|| format!("no VK token: set {ENV_VK_TOKEN} (or api.token)"))?;
                api.insert("token".into(), toml::Value::String(token));
            }
        }
        "ok_group" => {
            for (field, var) in ENV_OK_KEYS {
                if !table.contains_key(field) {
                    let value =
                        env(var).ok_or_else(|| format!("no `{field}`: set {var} (or {field})"))?;
                    table.insert(field.into(), toml::Value::String(value));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The default collector settings of a source without an entry.
pub fn default_config(source: &Source, env: EnvLookup<'_>) -> Result<SourceConfig, PipelineError> {
    let target = source.target.trim();
    let value = match source.network {
        Network::Rss => serde_json::json!({ "kind": "rss", "url": target }),
        Network::Telegram => serde_json::json!({ "kind": "telegram", "channel": target }),
        Network::Vk => {
            let token = env(ENV_VK_TOKEN).ok_or_else(|| {
                PipelineError::Config(format!(
                    "source «{}»: no VK token: set {ENV_VK_TOKEN} or give api.token in collect.toml",
                    source.name
                ))
            })?;
            serde_json::json!({ "kind": "vk_wall", "owners": [target], "api": { "token": token } })
        }
        Network::Web | Network::Ok => {
            return Err(PipelineError::Config(format!(
                "source «{}» ({}) needs a [[source]] entry in collect.toml (selectors or API keys)",
                source.name,
                source.network.code()
            )));
        }
    };
    serde_json::from_value(value)
        .map_err(|e| PipelineError::Config(format!("source «{}»: {e}", source.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn entries_parse_and_tokens_come_from_the_environment() {
        let text = r#"
            [http]
            retry = { max_retries = 0 }

            [[source]]
            name = "tg"
            kind = "telegram"
            channel = "seversk_news"

            [[source]]
            name = "vk"
            kind = "vk_wall"
            owners = ["club1"]
        "#;
        let env = |k: &str| (k == ENV_VK_TOKEN).then(|| "vk1.a.secret".to_owned());
        let cfg = CollectConfig::parse(text, &env).expect("parses");
        assert_eq!(cfg.http.retry.max_retries, 0);
        assert_eq!(cfg.sources.len(), 2);
        assert_eq!(
            cfg.entry("vk").map(|e| e.config.network()),
            Some(Network::Vk)
        );
        assert!(!format!("{cfg:?}").contains("vk1.a.secret"));
        let err = CollectConfig::parse(text, &no_env).expect_err("no token");
        assert!(err.to_string().contains(ENV_VK_TOKEN), "{err}");
    }

    #[test]
    fn every_problem_is_reported() {
        let text = r#"
            [[source]]
            kind = "rss"
            url = "http://x.invalid/"

            [[source]]
            name = "a"
            kind = "rss"
            urll = "http://x.invalid/"

            [[source]]
            name = "b"
            kind = "nope"
        "#;
        let err = CollectConfig::parse(text, &no_env)
            .expect_err("bad")
            .to_string();
        assert_eq!(err.lines().count(), 3, "{err}");
        assert!(err.contains("#1"), "{err}");
        assert!(err.contains("«a»"), "{err}");
        assert!(err.contains("«b»"), "{err}");
    }
}
