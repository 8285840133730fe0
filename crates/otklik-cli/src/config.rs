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
    /// Form submissions a minute from one client address to the back-office and citizen
    /// pages (`POST /office/…`, `/widget/…`, `/rate`, `/my/…`), bursts of a sixth of it;
    /// more get `429`. `0`: no limit.
    pub write_rate_per_minute: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: false,
            trust_forwarded_for: false,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            write_rate_per_minute: otklik_web::DEFAULT_WRITES_PER_MINUTE,
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

/// `[citizen_oidc]`: the identity provider citizens sign in with (ЕСИА or a regional OIDC
/// provider), mapped onto [`otklik_web::oidc::OidcSettings`]. Without the table citizens cannot
/// sign in (the widget says so).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CitizenOidcConfig {
    /// Short name kept with every identity (`esia`): ASCII letters, digits, `-_.`.
    pub provider: String,
    /// Name of the provider for people («Госуслуги»).
    pub display_name: String,
    /// The issuer (`iss` of the ID tokens, base of the discovery document); required.
    pub issuer: String,
    /// Authorization endpoint: give it with `token_endpoint` and `jwks_uri`, or none of the
    /// three (then they come from `ISSUER/.well-known/openid-configuration`).
    pub authorization_endpoint: Option<String>,
    /// Token endpoint.
    pub token_endpoint: Option<String>,
    /// JWKS URI.
    pub jwks_uri: Option<String>,
    /// UserInfo endpoint (asked for name and e-mail when the ID token lacks them).
    pub userinfo_endpoint: Option<String>,
    /// Our client id at the provider; required.
    pub client_id: String,
    /// Our client secret (`OTKLIK_CITIZEN_OIDC__CLIENT_SECRET`); never printed.
    pub client_secret: Option<Secret>,
    /// Where the provider sends the browser back; default `[notify].public_url` +
    /// `/citizen/callback`.
    pub redirect_url: Option<String>,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// Key (32+ characters) of the HMAC hiding subjects in the database
    /// (`OTKLIK_CITIZEN_OIDC__SUBJECT_KEY`); keep it stable. Never printed.
    pub subject_key: Option<Secret>,
    /// Allowed clock difference with the provider, seconds.
    pub leeway_secs: i64,
}

impl Default for CitizenOidcConfig {
    fn default() -> Self {
        Self {
            provider: "esia".into(),
            display_name: "Госуслуги".into(),
            issuer: String::new(),
            authorization_endpoint: None,
            token_endpoint: None,
            jwks_uri: None,
            userinfo_endpoint: None,
            client_id: String::new(),
            client_secret: None,
            redirect_url: None,
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            subject_key: None,
            leeway_secs: 60,
        }
    }
}

/// Is `url` an `https://` URL, or plain `http://` on loopback?
fn url_ok(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://127."))
        .or_else(|| url.strip_prefix("http://localhost"))
        .or_else(|| url.strip_prefix("http://[::1]"));
    rest.is_some() && url.len() > "https://".len() && !url.chars().any(char::is_whitespace)
}

impl CitizenOidcConfig {
    /// Checks what can be checked without asking the provider; the first problem, naming
    /// the key.
    pub fn validate(&self, public_url: &str) -> anyhow::Result<()> {
        let key = |k: &str| format!("citizen_oidc.{k}");
        anyhow::ensure!(
            !self.issuer.trim().is_empty(),
            "{} is required: the provider's issuer URL",
            key("issuer")
        );
        anyhow::ensure!(
            !self.client_id.trim().is_empty(),
            "{} is required: our client id at the provider",
            key("client_id")
        );
        let ok_name = !self.provider.is_empty()
            && self.provider.len() <= 40
            && self
                .provider
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        anyhow::ensure!(
            ok_name,
            "{}: {:?} must be 1–40 ASCII letters, digits, - _ .",
            key("provider"),
            self.provider
        );
        let redirect = self.redirect_url(public_url);
        let mut urls = vec![
            ("issuer", self.issuer.as_str()),
            ("redirect_url", redirect.as_str()),
        ];
        for (k, v) in [
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("jwks_uri", &self.jwks_uri),
            ("userinfo_endpoint", &self.userinfo_endpoint),
        ] {
            if let Some(v) = v {
                urls.push((k, v.as_str()));
            }
        }
        for (k, v) in urls {
            anyhow::ensure!(
                url_ok(v),
                "{} = {v:?} must be an https:// URL (plain http:// only on loopback)",
                key(k)
            );
        }
        let given = [
            self.authorization_endpoint.is_some(),
            self.token_endpoint.is_some(),
            self.jwks_uri.is_some(),
        ];
        anyhow::ensure!(
            given.iter().all(|g| *g) || given.iter().all(|g| !*g),
            "give {}, {} and {} together, or none of them (discovery)",
            key("authorization_endpoint"),
            key("token_endpoint"),
            key("jwks_uri")
        );
        anyhow::ensure!(
            self.scopes.iter().any(|s| s == "openid"),
            "{} must include \"openid\"",
            key("scopes")
        );
        if let Some(k) = &self.subject_key {
            anyhow::ensure!(
                k.expose().len() >= 32,
                "{} must be at least 32 characters long",
                key("subject_key")
            );
        }
        anyhow::ensure!(
            (0..=600).contains(&self.leeway_secs),
            "{} must be within 0..=600 seconds",
            key("leeway_secs")
        );
        Ok(())
    }

    /// The redirect URL: configured, or `PUBLIC_URL/citizen/callback`.
    pub fn redirect_url(&self, public_url: &str) -> String {
        match &self.redirect_url {
            Some(u) if !u.trim().is_empty() => u.trim().to_owned(),
            _ => format!("{}/citizen/callback", public_url.trim_end_matches('/')),
        }
    }

    /// The web crate's settings.
    pub fn to_settings(&self, public_url: &str) -> otklik_web::oidc::OidcSettings {
        use otklik_web::oidc::{OidcSettings, Secret as WebSecret};
        let mut s = OidcSettings::new(
            self.issuer.trim(),
            self.client_id.trim(),
            self.client_secret
                .as_ref()
                .filter(|s| !s.expose().is_empty())
                .map(|s| WebSecret::new(s.expose())),
            self.redirect_url(public_url),
        );
        s.provider = self.provider.clone();
        s.display_name = self.display_name.clone();
        s.authorization_endpoint = self.authorization_endpoint.clone();
        s.token_endpoint = self.token_endpoint.clone();
        s.jwks_uri = self.jwks_uri.clone();
        s.userinfo_endpoint = self.userinfo_endpoint.clone();
        s.scopes = self.scopes.clone();
        s.subject_key = self
            .subject_key
            .as_ref()
            .filter(|s| !s.expose().is_empty())
            .map(|s| WebSecret::new(s.expose()));
        s.leeway_secs = self.leeway_secs;
        s
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
    /// Citizens' sign-in (OIDC); absent: citizens cannot sign in.
    pub citizen_oidc: Option<CitizenOidcConfig>,
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
            citizen_oidc: None,
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
    "server.write_rate_per_minute",
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
    "citizen_oidc.issuer",
    "citizen_oidc.client_id",
    "citizen_oidc.client_secret",
    "citizen_oidc.redirect_url",
    "citizen_oidc.subject_key",
];

/// Environment keys whose values are numbers or booleans.
const TYPED_ENV_KEYS: &[&str] = &[
    "server.secure_cookies",
    "server.trust_forwarded_for",
    "server.session_idle_minutes",
    "server.session_absolute_hours",
    "server.write_rate_per_minute",
    "notify.link_valid_days",
    "notify.send_every_seconds",
    "notify.escalate_every_seconds",
    "notify.smtp.port",
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
            if TYPED_ENV_KEYS.contains(&key.as_str()) {
                // Numbers and booleans as such («6», «true»); text and secrets stay text.
                let v = value.trim();
                if let Ok(n) = v.parse::<i64>() {
                    fig = fig.merge((key, n));
                } else if let Ok(b) = v.parse::<bool>() {
                    fig = fig.merge((key, b));
                } else {
                    fig = fig.merge((key, value));
                }
            } else {
                fig = fig.merge((key, value));
            }
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
        if let Some(oidc) = &cfg.citizen_oidc {
            oidc.validate(&cfg.notify.public_url).map_err(|e| {
                let origin =
                    file.map_or_else(|| "environment".to_owned(), |p| p.display().to_string());
                anyhow::anyhow!("invalid configuration ({origin}): {e}")
            })?;
        }
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

    #[test]
    fn citizen_oidc_from_file_with_secret_from_env() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("otklik.toml");
        std::fs::write(
            &f,
            "[notify]\npublic_url = \"https://otklik.example/\"\n\
             [citizen_oidc]\nissuer = \"https://esia.example\"\nclient_id = \"otklik-region\"\n",
        )
        .expect("write");
        // Without the table nobody signs in.
        assert!(
            Config::load_from(None, env(&[]))
                .expect("config")
                .citizen_oidc
                .is_none()
        );
        let c = Config::load_from(
            Some(&f),
            env(&[
                ("OTKLIK_CITIZEN_OIDC__CLIENT_SECRET", "oidc-s3cr3t"),
                ("OTKLIK_CITIZEN_OIDC__SUBJECT_KEY", &"q".repeat(40)),
            ]),
        )
        .expect("config");
        let o = c.citizen_oidc.clone().expect("table");
        assert_eq!(o.provider, "esia");
        assert_eq!(o.display_name, "Госуслуги");
        assert_eq!(
            o.client_secret.as_ref().map(Secret::expose),
            Some("oidc-s3cr3t")
        );
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("oidc-s3cr3t") && !dbg.contains("qqqq"),
            "{dbg}"
        );
        // The web crate's settings: the redirect defaults to the public address's callback.
        let s = o.to_settings(&c.notify.public_url);
        assert_eq!(s.issuer, "https://esia.example");
        assert_eq!(s.client_id, "otklik-region");
        assert_eq!(s.redirect_url, "https://otklik.example/citizen/callback");
        assert_eq!(
            s.client_secret.as_ref().map(|s| s.expose()),
            Some("oidc-s3cr3t")
        );
        assert_eq!(s.subject_key.as_ref().map(|s| s.expose().len()), Some(40));
        assert_eq!(s.scopes, ["openid", "profile", "email"]);
        assert!(s.authorization_endpoint.is_none(), "discovery");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("oidc-s3cr3t"), "{dbg}");

        // Every key of the table, endpoints given explicitly.
        std::fs::write(
            &f,
            "[citizen_oidc]\nprovider = \"region-id\"\ndisplay_name = \"РегионID\"\n\
             issuer = \"https://id.region.example\"\nclient_id = \"c\"\n\
             authorization_endpoint = \"https://id.region.example/auth\"\n\
             token_endpoint = \"https://id.region.example/token\"\n\
             jwks_uri = \"https://id.region.example/jwks\"\n\
             redirect_url = \"https://otklik.region.example/citizen/callback\"\n\
             scopes = [\"openid\", \"fullname\"]\nleeway_secs = 30\n",
        )
        .expect("write");
        let o = Config::load_from(Some(&f), env(&[]))
            .expect("config")
            .citizen_oidc
            .expect("table");
        let s = o.to_settings("http://ignored");
        assert_eq!(s.provider, "region-id");
        assert_eq!(s.display_name, "РегионID");
        assert_eq!(
            s.token_endpoint.as_deref(),
            Some("https://id.region.example/token")
        );
        assert_eq!(
            s.redirect_url,
            "https://otklik.region.example/citizen/callback"
        );
        assert_eq!(s.leeway_secs, 30);
        assert!(s.client_secret.is_none());
    }

    #[test]
    fn invalid_citizen_oidc_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("oidc.toml");
        let cases: &[(&str, &str)] = &[
            ("client_id = \"c\"\n", "citizen_oidc.issuer is required"),
            (
                "issuer = \"https://esia.example\"\n",
                "citizen_oidc.client_id is required",
            ),
            (
                "issuer = \"http://esia.example\"\nclient_id = \"c\"\n",
                "citizen_oidc.issuer = \"http://esia.example\" must be an https:// URL",
            ),
            (
                "issuer = \"https://e.example\"\nclient_id = \"c\"\ntoken_endpoint = \"https://e.example/t\"\n",
                "together, or none",
            ),
            (
                "issuer = \"https://e.example\"\nclient_id = \"c\"\nsubject_key = \"short\"\n",
                "citizen_oidc.subject_key must be at least 32",
            ),
            (
                "issuer = \"https://e.example\"\nclient_id = \"c\"\nprovider = \"Гос услуги\"\n",
                "citizen_oidc.provider",
            ),
            (
                "issuer = \"https://e.example\"\nclient_id = \"c\"\nscopes = [\"profile\"]\n",
                "citizen_oidc.scopes must include",
            ),
            (
                "issuer = \"https://e.example\"\nclient_id = \"c\"\nclient_sercet = \"x\"\n",
                "client_sercet",
            ),
            (
                "issuer = \"https://e.example\"\nclient_id = \"c\"\nleeway_secs = \"soon\"\n",
                "leeway_secs",
            ),
        ];
        for (table, expected) in cases {
            std::fs::write(&f, format!("[citizen_oidc]\n{table}")).expect("write");
            let e = Config::load_from(Some(&f), env(&[]))
                .expect_err(table)
                .to_string();
            assert!(e.contains(expected), "{table}: {e}");
            assert!(e.contains("oidc.toml"), "{e}");
        }
        // A secret alone in the environment, without the table's essentials, is refused too.
        let e = Config::load_from(
            None,
            env(&[("OTKLIK_CITIZEN_OIDC__CLIENT_SECRET", "s3cr3t-x")]),
        )
        .expect_err("no issuer")
        .to_string();
        assert!(e.contains("citizen_oidc.issuer"), "{e}");
        assert!(!e.contains("s3cr3t-x"), "{e}");
    }

    #[test]
    fn write_rate_from_file_and_env() {
        let c = Config::load_from(None, env(&[])).expect("config");
        assert_eq!(
            c.server.write_rate_per_minute,
            otklik_web::DEFAULT_WRITES_PER_MINUTE
        );
        let c = Config::load_from(None, env(&[("OTKLIK_SERVER__WRITE_RATE_PER_MINUTE", "6")]))
            .expect("config");
        assert_eq!(c.server.write_rate_per_minute, 6);
        let c = Config::load_from(
            None,
            env(&[
                ("OTKLIK_SERVER__SESSION_IDLE_MINUTES", "15"),
                ("OTKLIK_SERVER__SECURE_COOKIES", "true"),
            ]),
        )
        .expect("config");
        assert_eq!(c.server.session_idle_minutes, 15);
        assert!(c.server.secure_cookies);
        let e = Config::load_from(
            None,
            env(&[("OTKLIK_SERVER__WRITE_RATE_PER_MINUTE", "many")]),
        )
        .expect_err("not a number")
        .to_string();
        assert!(e.contains("write_rate_per_minute"), "{e}");
    }
}
