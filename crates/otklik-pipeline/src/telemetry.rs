//! Typed telemetry: every pipeline event is a `tracing` event with fixed fields (target
//! `otklik_pipeline::events`) and bumps a `metrics` counter. The counters:
//!
//! | counter | labels |
//! |---------|--------|
//! | `otklik_posts_collected_total` | `source` |
//! | `otklik_poll_errors_total` | `source`, `kind` |
//! | `otklik_posts_analysed_total` | — |
//! | `otklik_complaints_found_total` | — |
//! | `otklik_messages_created_total` | — |
//! | `otklik_replies_delivered_total` | — |
//! | `otklik_reply_errors_total` | `retryable` |

use otklik_domain::Timestamp;

/// Counter names.
pub mod names {
    /// New posts stored, per source.
    pub const POSTS_COLLECTED: &str = "otklik_posts_collected_total";
    /// Failed polls, per source and kind of error.
    pub const POLL_ERRORS: &str = "otklik_poll_errors_total";
    /// Posts the analyst classified.
    pub const POSTS_ANALYSED: &str = "otklik_posts_analysed_total";
    /// Posts classified as complaints.
    pub const COMPLAINTS_FOUND: &str = "otklik_complaints_found_total";
    /// Workflow messages created from complaints.
    pub const MESSAGES_CREATED: &str = "otklik_messages_created_total";
    /// Replies posted back.
    pub const REPLIES_DELIVERED: &str = "otklik_replies_delivered_total";
    /// Failed reply sends.
    pub const REPLY_ERRORS: &str = "otklik_reply_errors_total";
}

const TARGET: &str = "otklik_pipeline::events";

pub(crate) fn polled(source: &str, pages: u32, items: u64, inserted: u64, updated: u64) {
    metrics::counter!(names::POSTS_COLLECTED, "source" => source.to_owned()).increment(inserted);
    tracing::info!(target: TARGET, event = "source_polled", source, pages, items, inserted, updated);
}

pub(crate) fn poll_failed(
    source: &str,
    kind: &str,
    retryable: bool,
    error: &str,
    retry_at: Timestamp,
) {
    metrics::counter!(names::POLL_ERRORS, "source" => source.to_owned(), "kind" => kind.to_owned())
        .increment(1);
    tracing::warn!(target: TARGET, event = "poll_failed", source, kind, retryable, error, retry_at = %crate::format_time(retry_at));
}

pub(crate) fn analysed(post: i64, kind: &str, is_complaint: bool, confidence: f32) {
    metrics::counter!(names::POSTS_ANALYSED).increment(1);
    if is_complaint {
        metrics::counter!(names::COMPLAINTS_FOUND).increment(1);
    }
    tracing::debug!(target: TARGET, event = "post_analysed", post, kind, is_complaint, confidence);
}

pub(crate) fn message_created(post: i64, message: i64, subcategory: &str, moderation: bool) {
    metrics::counter!(names::MESSAGES_CREATED).increment(1);
    tracing::info!(target: TARGET, event = "message_created", post, message, subcategory, moderation);
}

pub(crate) fn reply_delivered(reply: i64, remote_id: &str) {
    metrics::counter!(names::REPLIES_DELIVERED).increment(1);
    tracing::info!(target: TARGET, event = "reply_delivered", reply, remote_id);
}

pub(crate) fn reply_failed(reply: i64, retryable: bool, error: &str) {
    metrics::counter!(names::REPLY_ERRORS, "retryable" => if retryable { "true" } else { "false" })
        .increment(1);
    tracing::warn!(target: TARGET, event = "reply_failed", reply, retryable, error);
}
