//! E-mail notifications inside `serve` and `otklik mail`: the rating-link key, the SMTP
//! mailer from `[notify.smtp]`, the outbox sender loop and the deadline escalation loop.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use otklik_notify::{Mailer, OutboxSender, RatingLinks, SmtpConfig};
use otklik_store::Store;
use otklik_workflow::{Notifications, Workflow};

use crate::config::{Config, SmtpSecurity};

/// Minimum length of a configured rating key, bytes.
const MIN_KEY_LEN: usize = 32;

/// The key signing rating links: `notify.rating_key`, else `DATA_DIR/rating.key`, created
/// with 32 random bytes (mode 0600) on first use.
pub(crate) fn rating_key(cfg: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(k) = cfg
        .notify
        .rating_key
        .as_ref()
        .filter(|k| !k.expose().is_empty())
    {
        anyhow::ensure!(
            k.expose().len() >= MIN_KEY_LEN,
            "notify.rating_key must be at least {MIN_KEY_LEN} characters long"
        );
        return Ok(k.expose().as_bytes().to_vec());
    }
    key_file(&cfg.data_dir.join("rating.key"))
}

fn key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        let key = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        anyhow::ensure!(
            key.len() >= MIN_KEY_LEN,
            "{} is shorter than {MIN_KEY_LEN} bytes: delete it to create a new key (old rating links stop working)",
            path.display()
        );
        return Ok(key);
    }
    let mut key = vec![0u8; MIN_KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_private(path, &key).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(file = %path.display(), "created the rating-link key");
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

/// The workflow's notification settings: signed rating links on this server's public
/// address, escalations to the store's staff with an e-mail address.
pub(crate) async fn notifications(cfg: &Config, store: &Store) -> anyhow::Result<Notifications> {
    let key = rating_key(cfg)?;
    let base = cfg.notify.public_url.trim_end_matches('/');
    let links = RatingLinks::new(&key, format!("{base}/rate"))
        .map_err(|e| anyhow::anyhow!("rating links: {e}"))?;
    let staff = store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.email.is_some())
        .collect();
    let mut n = Notifications::new(links, staff);
    n.link_valid_days = cfg.notify.link_valid_days;
    n.reply_url = Some(format!("{base}/my/messages/"));
    n.control_url = Some(format!("{base}/office/messages/"));
    Ok(n)
}

/// The SMTP mailer of `[notify.smtp]`, if configured.
pub(crate) fn mailer(cfg: &Config) -> anyhow::Result<Option<Mailer>> {
    let Some(s) = &cfg.notify.smtp else {
        return Ok(None);
    };
    let security = match s.security {
        SmtpSecurity::Plain => otklik_notify::SmtpSecurity::Plain,
        SmtpSecurity::Starttls => otklik_notify::SmtpSecurity::StartTls,
        SmtpSecurity::Tls => otklik_notify::SmtpSecurity::Tls,
    };
    let smtp = SmtpConfig {
        host: s.host.clone(),
        port: s.port,
        security,
        username: s.username.clone(),
        password: s
            .password
            .as_ref()
            .map(|p| otklik_notify::Secret::new(p.expose())),
        from: s.from.clone(),
        timeout: Duration::from_secs(s.timeout_seconds.max(1)),
    };
    let mailer = Mailer::new(&smtp).map_err(|e| anyhow::anyhow!("[notify.smtp]: {e}"))?;
    Ok(Some(mailer))
}

/// A sender identity for outbox leases: host name and process id.
fn sender_token() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "otklik".into());
    format!("{host}-{}", std::process::id())
}

/// Background notification work of `serve`: the outbox sender (when a relay is configured)
/// and the escalation loop, until `stop` turns true.
pub(crate) fn spawn_background(
    cfg: &Config,
    store: &Store,
    workflow: &Workflow,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    match mailer(cfg)? {
        Some(mailer) => {
            let sender = OutboxSender::new(store.clone(), mailer, sender_token());
            let every = Duration::from_secs(cfg.notify.send_every_seconds.max(1));
            let mut rx = stop.clone();
            tracing::info!(every_s = every.as_secs(), "e-mail outbox sender started");
            tasks.push(tokio::spawn(async move {
                sender
                    .run(every, async move {
                        let _ = rx.wait_for(|s| *s).await;
                    })
                    .await;
            }));
        }
        None => tracing::warn!(
            "no [notify.smtp] relay configured: e-mails are kept in the outbox until one is (`otklik mail status`)"
        ),
    }
    if cfg.notify.escalate_every_seconds > 0 {
        let every = Duration::from_secs(cfg.notify.escalate_every_seconds);
        let workflow = workflow.clone();
        let mut rx = stop.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                match workflow.escalate(crate::commands::now()).await {
                    Ok(v) if !v.is_empty() => {
                        tracing::info!(escalations = v.len(), "deadline escalations recorded");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "escalation round failed"),
                }
                tokio::select! {
                    _ = rx.wait_for(|s| *s) => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        }));
    }
    Ok(tasks)
}

/// `otklik mail status|send`.
#[derive(Debug, clap::Subcommand)]
pub enum MailCommand {
    /// Counts of the e-mail outbox by state.
    Status,
    /// Sends the due e-mails once through `[notify.smtp]` and prints what happened.
    Send,
}

/// Runs `otklik mail …`.
pub async fn run(cfg: &Config, cmd: MailCommand) -> anyhow::Result<ExitCode> {
    let store = crate::collect::open_store(cfg).await?;
    match cmd {
        MailCommand::Status => {
            let c = store.outbox_counts().await?;
            println!(
                "pending {}\nsent    {}\ndead    {}",
                c.pending, c.sent, c.dead
            );
            if cfg.notify.smtp.is_none() && c.pending > 0 {
                println!("no [notify.smtp] relay configured: pending e-mails wait for one");
            }
            Ok(ExitCode::SUCCESS)
        }
        MailCommand::Send => {
            let mailer = mailer(cfg)?
                .context("no [notify.smtp] section in the configuration: nothing can be sent")?;
            let sender = OutboxSender::new(store, mailer, sender_token());
            let report = sender
                .send_due(crate::commands::now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{report:?}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sub").join("rating.key");
        let a = key_file(&path).expect("created");
        assert_eq!(a.len(), MIN_KEY_LEN);
        let b = key_file(&path).expect("read");
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").expect("write");
        let e = key_file(&path).expect_err("too short").to_string();
        assert!(e.contains("shorter"), "{e}");
    }

    #[test]
    fn configured_key_must_be_long_enough() {
        let mut cfg = Config::default();
        cfg.notify.rating_key = Some(crate::config::Secret::new("short"));
        assert!(rating_key(&cfg).is_err());
        cfg.notify.rating_key = Some(crate::config::Secret::new("x".repeat(40)));
        assert_eq!(rating_key(&cfg).expect("key").len(), 40);
    }

    #[test]
    fn mailer_only_with_a_relay_and_bad_sender_is_an_error() {
        let mut cfg = Config::default();
        assert!(mailer(&cfg).expect("ok").is_none());
        cfg.notify.smtp = Some(crate::config::SmtpSettings {
            security: SmtpSecurity::Plain,
            ..Default::default()
        });
        assert!(mailer(&cfg).expect("ok").is_some());
        cfg.notify.smtp = Some(crate::config::SmtpSettings {
            from: "not an address".into(),
            ..Default::default()
        });
        assert!(mailer(&cfg).is_err());
    }
}
