//! Errors of the notification crate.

use otklik_store::StoreError;
use thiserror::Error;

/// Setting up or running the mailer and the outbox sender.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The SMTP settings are not usable (bad sender address, unknown relay).
    #[error("invalid SMTP settings: {0}")]
    Config(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one e-mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// Worth retrying later: a 4xx reply, a timeout, a refused or broken connection.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Never going to work: a 5xx reply, an invalid address, an unbuildable message.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// True for [`SendError::Permanent`].
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

/// Why a rating link was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RatingLinkError {
    /// Not a token this system issues (bad encoding or length).
    #[error("the rating link is malformed")]
    Malformed,
    /// The signature does not match (forged or altered).
    #[error("the rating link's signature is invalid")]
    BadSignature,
    /// Past its expiry.
    #[error("the rating link has expired")]
    Expired,
    /// Used already (links work once).
    #[error("the rating link has already been used")]
    AlreadyUsed,
    /// A rating outside 1–5.
    #[error("a rating is from 1 to 5, not {0}")]
    BadRating(u8),
    /// The signing key is too short.
    #[error("the rating link key must be at least 32 bytes")]
    WeakKey,
    /// The database failed or refused.
    #[error(transparent)]
    Store(StoreError),
}
