//! Typed internal events, emitted through `tracing` with structured fields (target
//! `otklik_collect::events`). Each event is a struct; [`InternalEvent::emit`] logs it with a
//! fixed level and message, so dashboards and tests can rely on the field names.

use std::time::Duration;

/// An event that can be emitted.
pub trait InternalEvent {
    /// Logs the event.
    fn emit(self);
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A response arrived and its body was read.
#[derive(Debug)]
pub struct RequestCompleted<'a> {
    /// URL, secrets redacted.
    pub url: &'a str,
    /// HTTP status.
    pub status: u16,
    /// Body size in bytes.
    pub bytes: usize,
    /// Time from sending to the end of the body.
    pub elapsed: Duration,
}

impl InternalEvent for RequestCompleted<'_> {
    fn emit(self) {
        tracing::debug!(
            target: "otklik_collect::events",
            event = "request_completed",
            url = self.url,
            status = self.status,
            bytes = self.bytes,
            elapsed_ms = ms(self.elapsed),
            "HTTP request completed"
        );
    }
}

/// A request failed (one attempt).
#[derive(Debug)]
pub struct RequestFailed<'a> {
    /// URL, secrets redacted.
    pub url: &'a str,
    /// [`crate::CollectError::kind`].
    pub error_kind: &'static str,
    /// The error, rendered.
    pub message: String,
    /// Whether it may be retried.
    pub retryable: bool,
}

impl InternalEvent for RequestFailed<'_> {
    fn emit(self) {
        tracing::warn!(
            target: "otklik_collect::events",
            event = "request_failed",
            url = self.url,
            error_kind = self.error_kind,
            retryable = self.retryable,
            message = %self.message,
            "HTTP request failed"
        );
    }
}

/// A failed operation will be tried again after a delay.
#[derive(Debug)]
pub struct RetryScheduled<'a> {
    /// What is retried (URL or API method).
    pub what: &'a str,
    /// Attempt number that failed, from 1.
    pub attempt: u32,
    /// Delay before the next attempt.
    pub delay: Duration,
    /// [`crate::CollectError::kind`] of the failure.
    pub error_kind: &'static str,
}

impl InternalEvent for RetryScheduled<'_> {
    fn emit(self) {
        tracing::info!(
            target: "otklik_collect::events",
            event = "retry_scheduled",
            what = self.what,
            attempt = self.attempt,
            delay_ms = ms(self.delay),
            error_kind = self.error_kind,
            "retrying after backoff"
        );
    }
}

/// A caller waited for the rate limiter.
#[derive(Debug)]
pub struct RateLimited<'a> {
    /// The limiter's key (never the token itself).
    pub key: &'a str,
    /// How long it waited.
    pub waited: Duration,
}

impl InternalEvent for RateLimited<'_> {
    fn emit(self) {
        tracing::trace!(
            target: "otklik_collect::events",
            event = "rate_limited",
            key = self.key,
            waited_ms = ms(self.waited),
            "waited for the rate limiter"
        );
    }
}

/// What a circuit breaker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerTransition {
    /// Too many consecutive failures: requests are refused.
    Opened,
    /// Cool-down over: one probe request goes through.
    HalfOpened,
    /// The probe succeeded: back to normal.
    Closed,
}

/// A circuit breaker changed state.
#[derive(Debug)]
pub struct CircuitChanged<'a> {
    /// The host.
    pub host: &'a str,
    /// What happened.
    pub transition: BreakerTransition,
    /// Consecutive failures counted.
    pub failures: u32,
}

impl InternalEvent for CircuitChanged<'_> {
    fn emit(self) {
        match self.transition {
            BreakerTransition::Opened => tracing::warn!(
                target: "otklik_collect::events",
                event = "circuit_opened",
                host = self.host,
                failures = self.failures,
                "circuit breaker opened"
            ),
            BreakerTransition::HalfOpened => tracing::info!(
                target: "otklik_collect::events",
                event = "circuit_half_open",
                host = self.host,
                "circuit breaker half-open: probing"
            ),
            BreakerTransition::Closed => tracing::info!(
                target: "otklik_collect::events",
                event = "circuit_closed",
                host = self.host,
                "circuit breaker closed"
            ),
        }
    }
}

/// A body was decoded from a legacy charset.
#[derive(Debug)]
pub struct CharsetDecoded<'a> {
    /// URL, secrets redacted.
    pub url: &'a str,
    /// The encoding used.
    pub encoding: &'static str,
    /// Whether some bytes could not be decoded (replaced with U+FFFD).
    pub had_errors: bool,
}

impl InternalEvent for CharsetDecoded<'_> {
    fn emit(self) {
        tracing::debug!(
            target: "otklik_collect::events",
            event = "charset_decoded",
            url = self.url,
            encoding = self.encoding,
            had_errors = self.had_errors,
            "decoded a non-UTF-8 body"
        );
    }
}

/// A poll produced a batch.
#[derive(Debug)]
pub struct BatchCollected<'a> {
    /// Source name.
    pub source: &'a str,
    /// Network code.
    pub network: &'static str,
    /// Items in the batch.
    pub items: usize,
    /// Whether the source is caught up.
    pub done: bool,
}

impl InternalEvent for BatchCollected<'_> {
    fn emit(self) {
        tracing::info!(
            target: "otklik_collect::events",
            event = "batch_collected",
            source = self.source,
            network = self.network,
            items = self.items,
            done = self.done,
            "collected a batch"
        );
    }
}

/// Part of a page could not be used (an item without a date, say) and was skipped.
#[derive(Debug)]
pub struct ItemSkipped<'a> {
    /// Source name.
    pub source: &'a str,
    /// Why.
    pub reason: String,
}

impl InternalEvent for ItemSkipped<'_> {
    fn emit(self) {
        tracing::warn!(
            target: "otklik_collect::events",
            event = "item_skipped",
            source = self.source,
            reason = %self.reason,
            "skipped an unusable item"
        );
    }
}

/// A configured target (a VK community) is not accessible and is skipped this round.
#[derive(Debug)]
pub struct TargetSkipped<'a> {
    /// Source name.
    pub source: &'a str,
    /// The target as configured.
    pub target: &'a str,
    /// Why.
    pub reason: &'a str,
}

impl InternalEvent for TargetSkipped<'_> {
    fn emit(self) {
        tracing::warn!(
            target: "otklik_collect::events",
            event = "target_skipped",
            source = self.source,
            target_ref = self.target,
            reason = self.reason,
            "target not accessible, skipped"
        );
    }
}

/// A search window had more results than the API returns and was split in two.
#[derive(Debug)]
pub struct SearchWindowSplit<'a> {
    /// Source name.
    pub source: &'a str,
    /// Window start, unix seconds.
    pub start: i64,
    /// Window end (exclusive), unix seconds.
    pub end: i64,
    /// Results the API reported for the window.
    pub total: u64,
    /// Whether the window could not be split further and results were lost.
    pub capped: bool,
}

impl InternalEvent for SearchWindowSplit<'_> {
    fn emit(self) {
        if self.capped {
            tracing::warn!(
                target: "otklik_collect::events",
                event = "search_window_capped",
                source = self.source,
                start = self.start,
                end = self.end,
                total = self.total,
                "search window at minimum size still over the result cap; some results are lost"
            );
        } else {
            tracing::debug!(
                target: "otklik_collect::events",
                event = "search_window_split",
                source = self.source,
                start = self.start,
                end = self.end,
                total = self.total,
                "search window over the result cap, split"
            );
        }
    }
}
