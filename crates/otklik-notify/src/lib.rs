//! # otklik-notify
//!
//! Notifications of the messages workflow:
//!
//! * **E-mail outbox sender** — [`OutboxSender`] claims due e-mails from the durable outbox of
//!   [`otklik_store`] (`email_outbox`, leased to one sender at a time), sends them with
//!   [`Mailer`] (lettre over SMTP: plain, STARTTLS or TLS with rustls), records each as sent
//!   once, retries transient failures with capped exponential [`Backoff`], and turns permanent
//!   failures or exhausted attempts into dead letters. Two or more senders may run at once.
//! * **Russian templates** — [`MessageReceived`], [`AnswerReady`] (with the rating link),
//!   [`ClarificationRequested`], [`DeadlineEscalation`]; each renders a plain-text and an
//!   HTML body with every value escaped ([`escape_html`]) and [`Rendered::into_new_email`]
//!   turns it into an outbox row, to be queued with [`otklik_store::Store::enqueue_email`] or,
//!   in the transaction of the change it announces, [`otklik_store::enqueue_email_in`].
//! * **Rating links** — [`RatingLinks`] signs `message id + expiry` with HMAC-SHA256 into a
//!   URL-safe token, verifies it in constant time, refuses it once expired, and
//!   [`RatingLinks::redeem`] records its single use with the rating in one transaction.
//!
//! Secrets (the SMTP password, the link key) never show in `Debug` output.
//!
//! ```no_run
//! use otklik_domain::{MessageId, Timestamp};
//! use otklik_notify::{AnswerReady, Mailer, OutboxSender, RatingLinks, SmtpConfig};
//! use otklik_store::Store;
//!
//! # async fn demo(store: Store) -> Result<(), Box<dyn std::error::Error>> {
//! let now = Timestamp(1_741_964_400_000);
//! let links = RatingLinks::new(&[42u8; 32], "https://otklik.example/rate")?;
//! let expires = now.plus_days(30);
//! let email = AnswerReady {
//!     citizen_name: Some("Мария"),
//!     message: MessageId(42),
//!     organisation: "Администрация города",
//!     answer: "Яма заделана.",
//!     rating_url: &links.link(MessageId(42), expires),
//!     rating_expires_at: expires,
//!     utc_offset_minutes: 180,
//! }
//! .render()
//! .into_new_email("answer:42", Some(MessageId(42)), "maria@example.org", 8);
//! store.enqueue_email(&email, now).await?;
//!
//! let mailer = Mailer::new(&SmtpConfig::plain("127.0.0.1", 25, "Отклик <noreply@otklik.example>"))?;
//! let report = OutboxSender::new(store, mailer, "host-1").send_due(now).await?;
//! println!("sent {}", report.sent);
//! # Ok(())
//! # }
//! ```

mod error;
mod rating;
mod secret;
mod sender;
mod smtp;
mod templates;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{NotifyError, RatingLinkError, SendError};
pub use rating::{RatingLinks, VerifiedRatingLink};
pub use secret::Secret;
pub use sender::{Backoff, OutboxSender, SendReport};
pub use smtp::{Mailer, SmtpConfig, SmtpSecurity};
pub use templates::{
    AnswerReady, ClarificationRequested, DeadlineEscalation, EscalationLevel, MessageReceived,
    Rendered, SearchSpikeAlert, escape_html, format_local,
};
