//! [`PipelineError`]: everything that can stop a pipeline step.

use std::time::Duration;

use thiserror::Error;

/// Errors of the pipeline crate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The store failed (the step can be run again; nothing half-done was committed).
    #[error("store: {0}")]
    Store(#[from] otklik_store::StoreError),
    /// A collector could not be configured or built.
    #[error("collector: {0}")]
    Collect(#[from] otklik_collect::CollectError),
    /// The analysers could not be built.
    #[error("classifier: {0}")]
    Classify(#[from] otklik_classify::ClassifyError),
    /// The router could not be built.
    #[error("routing: {0}")]
    Route(#[from] otklik_route::RouteError),
    /// The messages workflow refused or failed.
    #[error("workflow: {0}")]
    Workflow(#[from] otklik_workflow::WorkflowError),
    /// The collector configuration (`collect.toml`) is wrong; one problem per line.
    #[error("{0}")]
    Config(String),
    /// The store-writer task stopped while collectors still had posts to hand over.
    #[error("the store writer has stopped")]
    WriterClosed,
}

/// A failed attempt to post a reply through an outbound adapter.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SendError {
    /// Connection refused, reset, timed out.
    #[error("cannot reach {url}: {message}")]
    Transport {
        /// Endpoint, token redacted.
        url: String,
        /// What the HTTP library said.
        message: String,
    },
    /// The server answered with an HTTP error status.
    #[error("HTTP {status} from {url}")]
    Http {
        /// Status code.
        status: u16,
        /// Endpoint, token redacted.
        url: String,
        /// From `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// The network's API answered with an error object.
    #[error("API error {code}: {message}")]
    Api {
        /// The API's error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The answer could not be understood.
    #[error("unexpected answer: {0}")]
    Format(String),
    /// The reply cannot be sent as it is (bad target id).
    #[error("cannot send: {0}")]
    Invalid(String),
}

/// VK API error codes worth retrying: 1 unknown, 6 too many requests, 9 flood control,
/// 10 internal error.
const VK_RETRYABLE: [i64; 4] = [1, 6, 9, 10];

impl SendError {
    /// True when the same send may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Api { code, .. } => VK_RETRYABLE.contains(code),
            Self::Format(_) | Self::Invalid(_) => false,
        }
    }

    /// How long the server asked to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
