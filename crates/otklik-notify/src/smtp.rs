//! Sending one outbox e-mail over SMTP with lettre.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use otklik_store::OutboundEmail;

use crate::{NotifyError, Secret, SendError};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmtpSecurity {
    /// No TLS at all: only for a relay on loopback or a trusted local network (and tests).
    Plain,
    /// Plain connection upgraded with STARTTLS (port 587); refuses servers without it.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// SMTP settings. The password is a [`Secret`]: `Debug` never shows it.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Server host name.
    pub host: String,
    /// Server port (25, 465, 587…).
    pub port: u16,
    /// Connection protection.
    pub security: SmtpSecurity,
    /// Login, if the server wants one.
    pub username: Option<String>,
    /// Password, with `username`.
    pub password: Option<Secret>,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// Timeout of connecting, of each command, and of the whole exchange of one e-mail.
    pub timeout: Duration,
}

impl SmtpConfig {
    /// Plain SMTP to `host:port` from `from`, 30 s timeout: for a local relay and tests.
    pub fn plain(host: impl Into<String>, port: u16, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            security: SmtpSecurity::Plain,
            username: None,
            password: None,
            from: from.into(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Sends outbox e-mails over SMTP.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
    timeout: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `config` (no connection is opened yet).
    pub fn new(config: &SmtpConfig) -> Result<Self, NotifyError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| NotifyError::Config(format!("sender {:?}: {e}", config.from)))?;
        let tls_params = || {
            TlsParameters::new(config.host.clone())
                .map_err(|e| NotifyError::Config(format!("TLS for {}: {e}", config.host)))
        };
        let tls = match config.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_params()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_params()?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                .port(config.port)
                .tls(tls)
                .timeout(Some(config.timeout));
        match (&config.username, &config.password) {
            (Some(user), Some(pass)) => {
                builder =
                    builder.credentials(Credentials::new(user.clone(), pass.expose().to_owned()));
            }
            (None, None) => {}
            _ => {
                return Err(NotifyError::Config(
                    "username and password go together".into(),
                ));
            }
        }
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport: builder.build(),
            from,
            domain,
            timeout: config.timeout,
        })
    }

    /// The SMTP timeout: a sender's lease must be longer than a send can take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The `Message-ID` of an outbox e-mail: stable across retries, so that a receiver can drop
    /// a duplicate delivered after a lost acknowledgement.
    pub fn message_id(&self, email: &OutboundEmail) -> String {
        format!(
            "<otklik.{}.{}@{}>",
            email.id,
            email.created_at.millis(),
            self.domain
        )
    }

    /// Builds the MIME message (plain text, plus HTML as an alternative when present).
    pub fn build(&self, email: &OutboundEmail) -> Result<Message, SendError> {
        let to: Mailbox = email
            .recipient
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {:?}: {e}", email.recipient)))?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(self.message_id(email)));
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.body_text.clone());
        let built = match &email.body_html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
            ),
            None => builder.singlepart(text),
        };
        built.map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
    }

    /// Sends one e-mail. A 5xx reply or an unusable address is [`SendError::Permanent`];
    /// anything else (4xx, timeout, connection) is [`SendError::Transient`].
    pub async fn send(&self, email: &OutboundEmail) -> Result<(), SendError> {
        let message = self.build(email)?;
        // lettre's timeout covers connecting and each command but not every read (a server
        // that never greets would hold the sender forever): bound the whole exchange too.
        let sent = tokio::time::timeout(self.timeout, self.transport.send(message)).await;
        match sent {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Ok(Err(e)) => Err(SendError::Transient(e.to_string())),
            Err(_) => Err(SendError::Transient(format!(
                "no answer from the SMTP server within {:?}",
                self.timeout
            ))),
        }
    }
}
