//! The workflow's error type.

use otklik_domain::{DomainError, MessageId};
use otklik_route::RouteError;
use otklik_rules::RulesError;
use otklik_store::StoreError;
use thiserror::Error;

use crate::access::Denied;

/// Everything a [`Workflow`](crate::Workflow) call can fail with. Nothing is written when a
/// call fails.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// The actor lacks the role, or holds it outside the message's organisations.
    #[error("forbidden: {0}")]
    Denied(#[from] Denied),
    /// The state machine does not allow the step from the message's status.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Optimistic concurrency: the message moved on since the caller read it.
    #[error("message {id} was changed concurrently (expected version {expected_version})")]
    Conflict {
        /// The message.
        id: MessageId,
        /// The version the caller read.
        expected_version: i64,
    },
    /// The idempotency key was used before for another call (payload or operation differ).
    #[error(
        "idempotency key {key:?} was already used for {operation} of message {message} with another payload"
    )]
    KeyReused {
        /// The key.
        key: String,
        /// The message of the first call.
        message: MessageId,
        /// Its operation.
        operation: String,
    },
    /// No such message.
    #[error("message {0} not found")]
    NotFound(MessageId),
    /// The request is not acceptable (empty text, unknown category, missing reason…).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The reject reason code is not in the configured list.
    #[error("unknown reject reason {0:?}")]
    UnknownRejectReason(String),
    /// Routing failed.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// Loading rules failed.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The calendar or the deadline clock refused.
    #[error("deadline: {0}")]
    Deadline(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for WorkflowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict {
                id,
                expected_version,
            } => WorkflowError::Conflict {
                id,
                expected_version,
            },
            StoreError::Domain(d) => WorkflowError::Domain(d),
            other => WorkflowError::Store(other),
        }
    }
}

impl WorkflowError {
    /// True for [`WorkflowError::Conflict`]: re-read the message and decide again.
    pub fn is_conflict(&self) -> bool {
        matches!(self, WorkflowError::Conflict { .. })
    }

    /// True for [`WorkflowError::Denied`].
    pub fn is_denied(&self) -> bool {
        matches!(self, WorkflowError::Denied(_))
    }
}

/// `Result` with [`WorkflowError`].
pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;
