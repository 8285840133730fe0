//! Configuration: defaults, then a TOML file, then `OTKLIK_*` environment variables
//! (nested keys with `__`: `OTKLIK_SERVER__LISTEN=0.0.0.0:8080`), then `DATABASE_URL`.
//! Secrets are wrapped in [`Secret`] and never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::Figment;
use figment::providers::{Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A string that must never reach a log: `Debug` and `Display` print `***`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// HTTP server settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Served over HTTPS (directly or behind a TLS proxy): session cookies get `Secure` and
    /// the `__Host-` prefix.
    pub secure_cookies: bool,
    /// Behind a reverse proxy: take the client address from `X-Forwarded-For` (only then).
    pub trust_forwarded_for: bool,
    /// A staff session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A staff session ends this many hours after sign-in, however active.
    pub session_absolute_hours: i64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: false,
            trust_forwarded_for: false,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter directive («info», «otklik=debug,sqlx=warn»).
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info,sqlx=warn".into(),
            format: LogFormat::Pretty,
        }
    }
}

/// How the SMTP connection is protected (`security` in `[notify.smtp]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// No TLS: only for a relay on loopback or a trusted network.
    Plain,
    /// STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// `[notify.smtp]`: the mail relay e-mails leave through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection protection.
    pub security: SmtpSecurity,
    /// Login, if the relay wants one.
    pub username: Option<String>,
    /// Password (with `username`); never printed.
    pub password: Option<Secret>,
    /// Sender: `Name <address>` or a bare address.
    pub from: String,
    /// Timeout of one e-mail's exchange, seconds.
    pub timeout_seconds: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "Отклик <noreply@localhost>".into(),
            timeout_seconds: 30,
        }
    }
}

/// `[notify]`: e-mails to citizens and staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The mail relay; without it e-mails wait in the outbox (nothing is lost) until one is
    /// configured.
    pub smtp: Option<SmtpSettings>,
    /// Key signing the rating links (at least 32 characters); when empty, a random key is
    /// created once in `DATA_DIR/rating.key` (mode 0600) and reused.
    pub rating_key: Option<Secret>,
    /// The public address of this server, for links in e-mails.
    pub public_url: String,
    /// How long a rating link works, days.
    pub link_valid_days: i64,
    /// How often the outbox is polled, seconds.
    pub send_every_seconds: u64,
    /// How often deadlines are checked for escalation notices, seconds (0 = never).
    pub escalate_every_seconds: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            smtp: None,
            rating_key: None,
            public_url: "http://127.0.0.1:8080".into(),
            link_valid_days: 30,
            send_every_seconds: 10,
            escalate_every_seconds: 300,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory for the embedded SQLite database and attachments.
    pub data_dir: PathBuf,
    /// PostgreSQL (or `sqlite://`) URL; when empty, SQLite in `data_dir` is used.
    pub database_url: Option<Secret>,
    /// Directory with `categories.toml` and `routing.toml`.
    pub rules_dir: PathBuf,
    /// Region-specific routing rules loaded after the generic ones.
    pub region_routing: Option<PathBuf>,
    /// HTTP server.
    pub server: ServerConfig,
    /// Logging.
    pub log: LogConfig,
    /// E-mail notifications.
    pub notify: NotifyConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: None,
            rules_dir: PathBuf::from("rules"),
            region_routing: None,
            server: ServerConfig::default(),
            log: LogConfig::default(),
            notify: NotifyConfig::default(),
        }
    }
}

/// Environment keys we read (everything else with the prefix is ignored, so that unrelated
/// `OTKLIK_TEST_*` variables never break start-up).
const ENV_KEYS: &[&str] = &[
    "data_dir",
    "database_url",
    "rules_dir",
    "region_routing",
    "server.listen",
    "server.secure_cookies",
    "server.trust_forwarded_for",
    "server.session_idle_minutes",
    "server.session_absolute_hours",
    "log.level",
    "log.format",
    "notify.rating_key",
    "notify.public_url",
    "notify.link_valid_days",
    "notify.send_every_seconds",
    "notify.escalate_every_seconds",
    "notify.smtp.host",
    "notify.smtp.port",
    "notify.smtp.security",
    "notify.smtp.username",
    "notify.smtp.password",
    "notify.smtp.from",
    "notify.smtp.timeout_seconds",
];

impl Config {
    /// Load: defaults ← `file` (if given; it must exist) ← `OTKLIK_*` ← `DATABASE_URL`.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_from(file, std::env::vars())
    }

    /// Like [`Config::load`], with an explicit environment (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut fig = Figment::new().merge(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            fig = fig.merge(Toml::string(&text));
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut overrides = Vec::new();
        for (k, v) in &env {
            if let Some(rest) = k.strip_prefix("OTKLIK_") {
                let key = rest.to_ascii_lowercase().replace("__", ".");
                if ENV_KEYS.contains(&key.as_str()) {
                    overrides.push((key, v.clone()));
                }
            }
        }
        for (key, value) in overrides {
            fig = fig.merge((key, value));
        }
        if let Some((_, url)) = env
            .iter()
            .find(|(k, v)| k == "DATABASE_URL" && !v.is_empty())
        {
            fig = fig.merge(("database_url", url.clone()));
        }
        let cfg: Config = fig.extract().map_err(|e| {
            let origin = file.map_or_else(|| "environment".to_owned(), |p| p.display().to_string());
            anyhow::anyhow!("invalid configuration ({origin}): {e}")
        })?;
        Ok(cfg)
    }

    /// The directory of attachments (content-addressed files).
    pub fn attachments_dir(&self) -> PathBuf {
        self.data_dir.join("attachments")
    }

    /// The database URL to connect to: `database_url`, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(s) if !s.expose().is_empty() => s.expose().to_owned(),
            _ => format!("sqlite://{}", self.data_dir.join("otklik.db").display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_use_sqlite_in_data_dir() {
        let c = Config::load_from(None, env(&[])).expect("config");
        assert_eq!(c.database_url(), "sqlite://data/otklik.db");
        assert_eq!(c.server.listen.port(), 8080);
    }

    #[test]
    fn file_then_env_then_database_url() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("otklik.toml");
        std::fs::write(&f, "data_dir = \"/srv/otklik\"\n[server]\nlisten = \"0.0.0.0:9000\"\n[log]\nformat = \"json\"\n")
            .expect("write");
        let c = Config::load_from(Some(&f), env(&[])).expect("config");
        assert_eq!(c.data_dir, PathBuf::from("/srv/otklik"));
        assert_eq!(c.server.listen.port(), 9000);
        assert_eq!(c.log.format, LogFormat::Json);

        let c = Config::load_from(
            Some(&f),
            env(&[
                ("OTKLIK_SERVER__LISTEN", "127.0.0.1:7000"),
                ("OTKLIK_TEST_POSTGRES_URL", "ignored"),
                ("DATABASE_URL", "postgres://u:hunter2@localhost/otklik"),
            ]),
        )
        .expect("config");
        assert_eq!(c.server.listen.port(), 7000);
        assert_eq!(c.database_url(), "postgres://u:hunter2@localhost/otklik");
    }

    #[test]
    fn notify_settings_from_file_and_env() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("otklik.toml");
        std::fs::write(
            &f,
            "[notify]\npublic_url = \"https://otklik.example\"\n[notify.smtp]\nhost = \"mail.example\"\nport = 465\nsecurity = \"tls\"\nusername = \"otklik\"\nfrom = \"Отклик <noreply@otklik.example>\"\n",
        )
        .expect("write");
        let c = Config::load_from(
            Some(&f),
            env(&[
                ("OTKLIK_NOTIFY__SMTP__PASSWORD", "s3cr3t-pass"),
                ("OTKLIK_NOTIFY__RATING_KEY", "k3y-k3y-k3y"),
            ]),
        )
        .expect("config");
        let smtp = c.notify.smtp.clone().expect("smtp section");
        assert_eq!(smtp.host, "mail.example");
        assert_eq!(smtp.port, 465);
        assert_eq!(smtp.security, SmtpSecurity::Tls);
        assert_eq!(
            smtp.password.as_ref().map(Secret::expose),
            Some("s3cr3t-pass")
        );
        assert_eq!(c.notify.public_url, "https://otklik.example");
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("s3cr3t-pass") && !dbg.contains("k3y-k3y"),
            "{dbg}"
        );

        // Without a file: no relay, e-mails wait in the outbox.
        let c = Config::load_from(None, env(&[])).expect("config");
        assert!(c.notify.smtp.is_none());

        std::fs::write(&f, "[notify.smtp]\nsecurity = \"ssl3\"\n").expect("write");
        let e = Config::load_from(Some(&f), env(&[]))
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("security") || e.contains("ssl3"), "{e}");
    }

    #[test]
    fn secrets_never_in_debug() {
        let c = Config::load_from(None, env(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]))
            .expect("config");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("***"));
    }

    #[test]
    fn invalid_config_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, "[server]\nlisten = \"not an address\"\n").expect("write");
        let e = Config::load_from(Some(&f), env(&[]))
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("bad.toml"), "{e}");
        assert!(e.contains("listen"), "{e}");

        std::fs::write(&f, "colour = \"blue\"\n").expect("write");
        let e = Config::load_from(Some(&f), env(&[]))
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("colour"), "{e}");

        let e = Config::load_from(Some(&dir.path().join("missing.toml")), env(&[]))
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("missing.toml"), "{e}");
    }
}
