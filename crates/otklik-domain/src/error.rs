use thiserror::Error;

/// Errors raised by domain rules (no I/O errors live here).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// A transition that the message's current status does not allow.
    #[error("transition {transition} is not allowed from status {from}")]
    IllegalTransition {
        /// Status the message is in.
        from: &'static str,
        /// Transition that was asked for.
        transition: &'static str,
    },
    /// A textual code that names no known variant.
    #[error("unknown {what}: {value:?}")]
    UnknownCode {
        /// Which kind of code (e.g. "role").
        what: &'static str,
        /// The offending text.
        value: String,
    },
    /// A rating outside 1..=5.
    #[error("rating must be 1..=5, got {0}")]
    BadRating(i64),
}
