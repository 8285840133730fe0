//! [`CollectError`]: what can go wrong while collecting, and whether trying again can help.

use std::time::Duration;

/// A failed poll. [`CollectError::is_retryable`] separates transient failures, worth trying again
/// (after [`CollectError::retry_after`] when the server said so), from permanent ones that need a
/// person (a revoked token, a community that went private, a wrong channel name).
///
/// URLs in errors never carry secrets: token-like query parameters are replaced with `***`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// The configuration can't work (bad URL, empty channel name, invalid selector or cron).
    #[error("bad collector configuration: {0}")]
    Config(String),
    /// The cursor was not written by this kind of source, or is damaged.
    #[error("bad cursor: {0}")]
    Cursor(String),
    /// The server answered with an HTTP error status.
    #[error("HTTP {status} from {url}")]
    Http {
        /// The status code.
        status: u16,
        /// The URL, secrets redacted.
        url: String,
        /// From the `Retry-After` header, if any.
        retry_after: Option<Duration>,
    },
    /// No complete answer within the configured timeout.
    #[error("request to {url} timed out")]
    Timeout {
        /// The URL, secrets redacted.
        url: String,
    },
    /// Connection refused, reset, DNS failure and the like.
    #[error("cannot reach {url}: {message}")]
    Transport {
        /// The URL, secrets redacted.
        url: String,
        /// What the HTTP library said.
        message: String,
    },
    /// The body is larger than the configured cap; it was not read further.
    #[error("response from {url} is larger than the {limit}-byte limit")]
    BodyTooLarge {
        /// The URL, secrets redacted.
        url: String,
        /// The cap in bytes.
        limit: usize,
    },
    /// The body ended early (connection dropped, or JSON/XML cut off mid-way).
    #[error("response from {url} is truncated: {message}")]
    Truncated {
        /// The URL, secrets redacted.
        url: String,
        /// Details.
        message: String,
    },
    /// The answer is complete but not what the parser expects: changed markup, unexpected JSON.
    #[error("unexpected response from {url}: {message}")]
    Format {
        /// The URL, secrets redacted.
        url: String,
        /// What did not match.
        message: String,
    },
    /// The VK API answered with an error object.
    #[error("VK API error {code} in {method}: {message}")]
    Vk {
        /// VK's `error_code`.
        code: i64,
        /// The API method.
        method: String,
        /// VK's `error_msg`.
        message: String,
    },
    /// The OK API answered with an error object.
    #[error("OK API error {code} in {method}: {message}")]
    Ok {
        /// OK's `error_code`.
        code: i64,
        /// The API method.
        method: String,
        /// OK's `error_msg`.
        message: String,
    },
    /// The circuit breaker for the host is open after repeated failures; no request was sent.
    #[error("circuit breaker for {host} is open; retry in {retry_after:?}")]
    CircuitOpen {
        /// The host.
        host: String,
        /// When the breaker lets a probe through.
        retry_after: Duration,
    },
    /// The community, channel or page does not exist or is not public.
    #[error("{what} is not accessible: {reason}")]
    NotAccessible {
        /// Which source target.
        what: String,
        /// Why (closed, deleted, banned, not found).
        reason: String,
    },
}

/// VK error codes worth retrying: 1 unknown, 6 too many requests per second, 9 flood control,
/// 10 internal server error, 29 rate limit reached (the last one only after a long pause).
pub const VK_RETRYABLE_CODES: [i64; 5] = [1, 6, 9, 10, 29];

/// OK error codes worth retrying: 1 unknown, 2 service unavailable, 8 flood blocked,
/// 11 limit reached, 9999 system error.
pub const OK_RETRYABLE_CODES: [i64; 5] = [1, 2, 8, 11, 9999];

impl CollectError {
    /// True when the same request may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::Truncated { .. }
            | Self::CircuitOpen { .. } => true,
            Self::Vk { code, .. } => VK_RETRYABLE_CODES.contains(code),
            Self::Ok { code, .. } => OK_RETRYABLE_CODES.contains(code),
            Self::Config(_)
            | Self::Cursor(_)
            | Self::BodyTooLarge { .. }
            | Self::Format { .. }
            | Self::NotAccessible { .. } => false,
        }
    }

    /// How long to wait before trying again, when the server or the error says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Http { retry_after, .. } => *retry_after,
            Self::CircuitOpen { retry_after, .. } => Some(*retry_after),
            // Too many requests per second (6) and flood control (9) use the normal backoff;
            // the daily per-method quota (29) makes no sense to retry within the hour.
            Self::Vk { code: 29, .. } => Some(Duration::from_secs(3600)),
            Self::Ok { code: 8 | 11, .. } => Some(Duration::from_secs(60)),
            _ => None,
        }
    }

    /// A short stable name of the kind of error, for metrics and events.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(_) => "config",
            Self::Cursor(_) => "cursor",
            Self::Http { .. } => "http_status",
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::Truncated { .. } => "truncated",
            Self::Format { .. } => "format",
            Self::Vk { .. } => "vk_api",
            Self::Ok { .. } => "ok_api",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::NotAccessible { .. } => "not_accessible",
        }
    }

    pub(crate) fn format(url: &str, message: impl Into<String>) -> Self {
        Self::Format {
            url: url.to_owned(),
            message: message.into(),
        }
    }

    /// A JSON decoding failure: a body cut off mid-way is retryable, anything else is a format
    /// change.
    pub(crate) fn from_json(url: &str, err: &serde_json::Error) -> Self {
        if err.is_eof() {
            Self::Truncated {
                url: url.to_owned(),
                message: err.to_string(),
            }
        } else {
            Self::format(url, format!("JSON: {err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> CollectError {
        CollectError::Http {
            status,
            url: "http://x/".into(),
            retry_after: None,
        }
    }

    fn vk(code: i64) -> CollectError {
        CollectError::Vk {
            code,
            method: "wall.get".into(),
            message: String::new(),
        }
    }

    #[test]
    fn retryable_and_permanent_are_told_apart() {
        for s in [429, 500, 502, 503, 504, 408] {
            assert!(http(s).is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 410] {
            assert!(!http(s).is_retryable(), "{s}");
        }
        for c in [1, 6, 9, 10, 29] {
            assert!(vk(c).is_retryable(), "{c}");
        }
        for c in [5, 15, 18, 30, 100, 113, 203] {
            assert!(!vk(c).is_retryable(), "{c}");
        }
        assert_eq!(vk(6).retry_after(), None);
        assert!(vk(29).retry_after() > Some(Duration::from_secs(60)));
        assert!(!CollectError::Config("x".into()).is_retryable());
    }

    #[test]
    fn truncated_json_is_retryable_but_garbage_is_not() {
        let eof =
            serde_json::from_str::<serde_json::Value>("{\"response\": [1, 2").expect_err("eof");
        assert!(CollectError::from_json("u", &eof).is_retryable());
        let bad = serde_json::from_str::<serde_json::Value>("<html>").expect_err("syntax");
        assert!(!CollectError::from_json("u", &bad).is_retryable());
    }
}
