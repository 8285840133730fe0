//! Rate limits of write endpoints: in-memory token buckets, one per key — per API token for
//! the JSON API and Open311, per client address for the back-office and citizen forms
//! (`POST /office/…`, `/widget/…`, `/rate`, `/my/…`; see [`limit_writes`]).
//!
//! A key allowed `r` writes a minute refills at `r / 60` a second and holds at most
//! `max(r / 6, 1)` (ten seconds' worth), so short bursts pass and a sustained flood gets `429`
//! with `Retry-After`. The buckets are per process: a cluster of `n` nodes lets `n` times
//! through. The clock is injectable ([`crate::AppState::with_rate_clock`]) so that tests do not
//! depend on how fast the machine is.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use otklik_store::ApiTokenId;

use crate::AppState;

/// Writes a minute of a token without its own rate.
pub const DEFAULT_RATE_PER_MINUTE: i64 = 600;

/// Form submissions a minute of one client address to the back-office and citizen pages
/// unless configured otherwise ([`crate::AppState::with_write_rate`]): a burst of 100, then
/// ten a second — far above what people type, also behind a shared (NAT) address, and a
/// wall against scripted floods.
pub const DEFAULT_WRITES_PER_MINUTE: u32 = 600;

/// Buckets kept before idle (full) ones are dropped.
const MAX_KEYS: usize = 50_000;

/// The time source of the buckets.
pub(crate) type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The real monotonic clock.
pub(crate) fn system_clock() -> Clock {
    Arc::new(Instant::now)
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The buckets of every key seen (API tokens by default).
pub(crate) struct Limiter<K = ApiTokenId> {
    buckets: Mutex<HashMap<K, Bucket>>,
    clock: Clock,
}

impl<K> std::fmt::Debug for Limiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.buckets.lock().map_or(0, |b| b.len());
        f.debug_struct("Limiter").field("keys", &n).finish()
    }
}

impl<K: Eq + Hash> Default for Limiter<K> {
    fn default() -> Self {
        Self::new(system_clock())
    }
}

impl<K: Eq + Hash> Limiter<K> {
    /// Buckets on `clock`.
    pub fn new(clock: Clock) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// Takes one write from `key`'s bucket; `Err(seconds)` to wait when it is empty.
    pub fn check(&self, key: K, rate_per_minute: Option<i64>) -> Result<(), u64> {
        let now = (self.clock)();
        self.check_at(key, rate_per_minute, now)
    }

    fn check_at(&self, key: K, rate_per_minute: Option<i64>, now: Instant) -> Result<(), u64> {
        let rate = rate_per_minute
            .filter(|r| *r > 0)
            .unwrap_or(DEFAULT_RATE_PER_MINUTE) as f64;
        let per_second = rate / 60.0;
        let capacity = (rate / 6.0).max(1.0);
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() >= MAX_KEYS {
            // Forget the buckets that have refilled: they would start full anyway.
            let full_after = capacity / per_second;
            buckets.retain(|_, b| now.saturating_duration_since(b.last).as_secs_f64() < full_after);
        }
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_second).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / per_second).ceil();
            Err(if wait.is_finite() && wait >= 1.0 {
                wait as u64
            } else {
                1
            })
        }
    }
}

/// The server's rate limits: the clock shared by every limiter and the per-address limit of
/// form submissions.
#[derive(Clone)]
pub(crate) struct RateLimits {
    clock: Clock,
    writes_per_minute: u32,
    writes: Arc<Limiter<String>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("writes_per_minute", &self.writes_per_minute)
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(system_clock(), DEFAULT_WRITES_PER_MINUTE)
    }
}

impl RateLimits {
    fn new(clock: Clock, writes_per_minute: u32) -> Self {
        Self {
            writes: Arc::new(Limiter::new(clock.clone())),
            clock,
            writes_per_minute,
        }
    }

    /// The clock of every limiter of the server (the API's too).
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// Takes one form submission of `client`; `Err(seconds)` when it must wait.
    fn check_write(&self, client: String) -> Result<(), u64> {
        if self.writes_per_minute == 0 {
            return Ok(());
        }
        self.writes
            .check(client, Some(i64::from(self.writes_per_minute)))
    }
}

impl AppState {
    /// At most `per_minute` form submissions a minute (bursts of a sixth of it) from one
    /// client address to the back-office and citizen pages (default
    /// [`DEFAULT_WRITES_PER_MINUTE`]; `0`: no limit). The address is the socket's peer, or the
    /// first `X-Forwarded-For` entry with [`crate::auth::AuthConfig::trust_forwarded_for`].
    #[must_use]
    pub fn with_write_rate(self, per_minute: u32) -> Self {
        self.map_rate(|r| *r = RateLimits::new(r.clock.clone(), per_minute))
    }

    /// Every rate limit (API tokens, form submissions) reads the time from `clock` (tests
    /// freeze or step it).
    #[must_use]
    pub fn with_rate_clock(self, clock: Arc<dyn Fn() -> Instant + Send + Sync>) -> Self {
        self.map_rate(|r| *r = RateLimits::new(clock, r.writes_per_minute))
    }

    fn map_rate(self, f: impl FnOnce(&mut RateLimits)) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        f(&mut inner.rate);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The clock of the rate limits.
    pub(crate) fn rate_clock(&self) -> Clock {
        self.inner.rate.clock()
    }
}

/// Are `POST`s to `path` form submissions limited per client address?
fn limited(path: &str) -> bool {
    path == "/office"
        || path.starts_with("/office/")
        || path.starts_with("/widget/")
        || path == "/rate"
        || path.starts_with("/my/")
}

/// Middleware: `POST /office/…`, `/widget/…`, `/rate`, `/my/…` take one submission from the
/// client address's bucket, or get `429` with `Retry-After` and a Russian page.
pub(crate) async fn limit_writes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() == Method::POST && limited(req.uri().path()) {
        let client = crate::auth::client_ip(&state, req.headers(), req.extensions())
            .unwrap_or_else(|| "-".to_owned());
        if let Err(wait) = state.inner.rate.check_write(client) {
            let area = if req.uri().path().starts_with("/office") {
                "office"
            } else {
                "citizen"
            };
            metrics::counter!("otklik_http_rate_limited_total", "area" => area).increment(1);
            tracing::info!(path = %req.uri().path(), wait, "form submissions rate-limited");
            return too_many(wait);
        }
    }
    next.run(req).await
}

/// `429` with `Retry-After` and a Russian explanation.
fn too_many(wait: u64) -> Response {
    let mut res = crate::citizen::notice(
        StatusCode::TOO_MANY_REQUESTS,
        "Слишком много запросов",
        &format!(
            "С вашего адреса отправлено слишком много форм подряд. Подождите {wait} с и повторите отправку."
        ),
        &[],
    );
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_pass_floods_wait_and_buckets_refill() {
        let l = Limiter::default();
        let t0 = Instant::now();
        let id = ApiTokenId(1);
        // 60 a minute: a burst of 10, then one a second.
        for _ in 0..10 {
            assert_eq!(l.check_at(id, Some(60), t0), Ok(()));
        }
        assert_eq!(l.check_at(id, Some(60), t0), Err(1));
        assert_eq!(
            l.check_at(id, Some(60), t0 + Duration::from_millis(1000)),
            Ok(())
        );
        assert!(
            l.check_at(id, Some(60), t0 + Duration::from_millis(1100))
                .is_err()
        );
        // Another token has its own bucket.
        assert_eq!(l.check_at(ApiTokenId(2), Some(60), t0), Ok(()));
        // A slow token: 6 a minute → bucket of 1, ten seconds to refill.
        let slow = ApiTokenId(3);
        assert_eq!(l.check_at(slow, Some(6), t0), Ok(()));
        assert_eq!(l.check_at(slow, Some(6), t0), Err(10));
        // The bucket never holds more than its capacity.
        assert_eq!(
            l.check_at(slow, Some(6), t0 + Duration::from_secs(3600)),
            Ok(())
        );
        assert!(
            l.check_at(slow, Some(6), t0 + Duration::from_secs(3600))
                .is_err()
        );
    }

    #[test]
    fn the_injected_clock_decides() {
        let t0 = Instant::now();
        let offset = Arc::new(Mutex::new(Duration::ZERO));
        let o = offset.clone();
        let clock: Clock = Arc::new(move || t0 + *o.lock().expect("lock"));
        let l: Limiter<String> = Limiter::new(clock);
        assert_eq!(l.check("a".into(), Some(6)), Ok(()));
        // However long the machine takes between the calls, the frozen clock says no time
        // passed.
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(l.check("a".into(), Some(6)), Err(10));
        *offset.lock().expect("lock") = Duration::from_secs(10);
        assert_eq!(l.check("a".into(), Some(6)), Ok(()));
    }

    #[test]
    fn idle_buckets_are_forgotten_when_there_are_too_many() {
        let l: Limiter<usize> = Limiter::default();
        let t0 = Instant::now();
        for k in 0..MAX_KEYS {
            assert_eq!(l.check_at(k, Some(60), t0), Ok(()));
        }
        // A minute later every bucket has refilled: they are dropped on the next new key.
        assert_eq!(
            l.check_at(MAX_KEYS, Some(60), t0 + Duration::from_secs(60)),
            Ok(())
        );
        assert_eq!(l.buckets.lock().expect("lock").len(), 1);
    }

    #[test]
    fn only_form_submissions_of_the_pages_are_limited() {
        for p in [
            "/office",
            "/office/messages/1/act",
            "/widget/adm1/submit",
            "/rate",
            "/my/messages/5",
        ] {
            assert!(limited(p), "{p}");
        }
        for p in [
            "/login",
            "/api/v1/messages",
            "/officer",
            "/rated",
            "/citizen/logout",
        ] {
            assert!(!limited(p), "{p}");
        }
    }

    #[test]
    fn refusal_is_429_with_retry_after_in_russian() {
        let res = too_many(7);
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "7");
    }

    #[test]
    fn zero_means_no_limit() {
        let r = RateLimits::new(system_clock(), 0);
        for _ in 0..1000 {
            assert_eq!(r.check_write("x".into()), Ok(()));
        }
        let r = RateLimits::new(system_clock(), 6);
        assert_eq!(r.check_write("x".into()), Ok(()));
        assert!(r.check_write("x".into()).is_err());
        assert_eq!(r.check_write("y".into()), Ok(()), "per address");
    }
}
