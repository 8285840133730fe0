//! The shared polite HTTP client every collector goes through.
//!
//! * **Timeouts**: a connect timeout and a total timeout covering the whole body.
//! * **Body cap**: a declared `Content-Length` over [`HttpConfig::max_body_bytes`] is refused
//!   before reading; otherwise the body is streamed and refused as soon as it passes the cap, so
//!   a huge page never sits in memory.
//! * **Charsets**: the body is decoded by its BOM, the `Content-Type` charset, an `<?xml
//!   encoding?>` or `<meta charset>` declaration, else UTF-8 — and an undeclared body that is not
//!   valid UTF-8 is read as windows-1251, the usual legacy encoding of Russian sites.
//! * **Per-host concurrency**: a semaphore per host ([`HttpConfig::max_concurrency_per_host`]).
//! * **Rate limits**: [`RateLimiter`]s shared per key ([`HttpClient::limiter`]); the VK client
//!   keys them by its token, so every source using a token shares its 3 or 20 requests/s.
//! * **Retries**: [`HttpClient::retry`] retries retryable errors with capped exponential backoff
//!   and full jitter, honouring `Retry-After` (seconds or an HTTP date) up to
//!   [`RetryConfig::max_retry_after`].
//! * **Circuit breaker** per host: open after [`BreakerConfig::failure_threshold`] consecutive
//!   failures (transport errors, timeouts, 429, 5xx), half-open after the cool-down (one probe
//!   request), closed again when the probe succeeds.
//!
//! Secrets: [`Secret`] never shows in `Debug`, and URLs in errors and events go through
//! [`redact_url`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use encoding_rs::Encoding;
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::CollectError;
use crate::events::{
    BreakerTransition, CharsetDecoded, CircuitChanged, InternalEvent, RateLimited,
    RequestCompleted, RequestFailed, RetryScheduled,
};

/// A secret (API token, application key). `Debug` shows `Secret(***)`; it can be deserialized
/// from configuration but is never serialized.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for building a request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A short non-reversible fingerprint (first 12 hex digits of SHA-256), usable as a key.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        hex::encode(digest)[..12].to_owned()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Retry policy: capped exponential backoff with full jitter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries after the first attempt (0: no retries).
    pub max_retries: u32,
    /// Base delay: attempt n waits a random time in `[0, min(max_delay, base * 2^n)]`.
    #[serde(rename = "base_delay_ms", with = "crate::duration_ms")]
    pub base_delay: Duration,
    /// Cap of the exponential delay.
    #[serde(rename = "max_delay_ms", with = "crate::duration_ms")]
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error goes to the caller, whose
    /// next scheduled run tries again.
    #[serde(rename = "max_retry_after_ms", with = "crate::duration_ms")]
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryConfig {
    /// The delay before retry number `retry` (0 for the first retry), or `None` when the
    /// server's `retry_after` is longer than [`RetryConfig::max_retry_after`].
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(ra) = retry_after {
            return (ra <= self.max_retry_after).then_some(ra);
        }
        let factor = 2u32.saturating_pow(retry.min(30));
        let cap = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let cap_ns = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(fastrand::u64(0..=cap_ns)))
    }
}

/// Circuit breaker settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (0: never open).
    pub failure_threshold: u32,
    /// How long it stays open before letting a probe through.
    #[serde(rename = "cool_down_ms", with = "crate::duration_ms")]
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(60),
        }
    }
}

/// Settings of the shared client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// `User-Agent` header.
    pub user_agent: String,
    /// Connect timeout.
    #[serde(rename = "connect_timeout_ms", with = "crate::duration_ms")]
    pub connect_timeout: Duration,
    /// Total timeout of one attempt, body included.
    #[serde(rename = "request_timeout_ms", with = "crate::duration_ms")]
    pub request_timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests in flight to one host at most.
    pub max_concurrency_per_host: usize,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Circuit breaker.
    pub breaker: BreakerConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            user_agent: concat!(
                "OtklikCollector/",
                env!("CARGO_PKG_VERSION"),
                " (public feedback monitoring)"
            )
            .to_owned(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 5 * 1024 * 1024,
            max_concurrency_per_host: 2,
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
        }
    }
}

/// A rate: `per_second` requests on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Average requests per second.
    pub per_second: f64,
    /// Requests allowed back to back (1: evenly spaced).
    pub burst: u32,
}

impl RateLimit {
    /// VK with a user (or service) token: 3 requests per second.
    pub const VK_USER: Self = Self {
        per_second: 3.0,
        burst: 1,
    };
    /// VK with a community token: 20 requests per second.
    pub const VK_GROUP: Self = Self {
        per_second: 20.0,
        burst: 1,
    };

    /// `per_second` evenly spaced requests.
    pub fn per_second(per_second: f64) -> Self {
        Self {
            per_second,
            burst: 1,
        }
    }

    fn interval(&self) -> Duration {
        if self.per_second.is_finite() && self.per_second > 0.0 {
            Duration::from_secs_f64(1.0 / self.per_second)
        } else {
            Duration::ZERO
        }
    }
}

/// A token bucket (as a GCRA: each caller reserves the next free slot, so waiters are served in
/// order). With burst 1 and rate r, any half-open window of one second holds at most ⌈r⌉
/// requests. Uses tokio's clock, so tests can pause time.
#[derive(Debug)]
pub struct RateLimiter {
    key: String,
    interval: Duration,
    burst: u32,
    /// Theoretical arrival time of the next request.
    tat: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter; `key` names it in events (never put a secret in it).
    pub fn new(key: impl Into<String>, limit: RateLimit) -> Self {
        Self {
            key: key.into(),
            interval: limit.interval(),
            burst: limit.burst.max(1),
            tat: Mutex::new(None),
        }
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let now = Instant::now();
        let allowed_at = {
            let mut tat = self.tat.lock().unwrap_or_else(PoisonError::into_inner);
            let t = tat.map_or(now, |t| t.max(now));
            let slack = self.interval.saturating_mul(self.burst - 1);
            *tat = Some(t + self.interval);
            t.checked_sub(slack).unwrap_or(now)
        };
        if allowed_at > now {
            tokio::time::sleep_until(allowed_at).await;
            RateLimited {
                key: &self.key,
                waited: allowed_at - now,
            }
            .emit();
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum BreakerState {
    Closed { failures: u32 },
    Open { until: Instant, failures: u32 },
    HalfOpen,
}

/// A circuit breaker for one host.
#[derive(Debug)]
pub struct CircuitBreaker {
    host: String,
    config: BreakerConfig,
    state: Mutex<BreakerState>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(host: impl Into<String>, config: BreakerConfig) -> Self {
        Self {
            host: host.into(),
            config,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// May a request go now? `Err(wait)` when open (or while a half-open probe is in flight).
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let mut state = self.lock();
        match *state {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until, .. } => {
                let now = Instant::now();
                if now >= until {
                    *state = BreakerState::HalfOpen;
                    drop(state);
                    CircuitChanged {
                        host: &self.host,
                        transition: BreakerTransition::HalfOpened,
                        failures: 0,
                    }
                    .emit();
                    Ok(())
                } else {
                    Err(until - now)
                }
            }
            BreakerState::HalfOpen => Err(self.config.cool_down.min(Duration::from_secs(1))),
        }
    }

    /// The host answered.
    pub fn record_success(&self) {
        let mut state = self.lock();
        let was_closed = matches!(*state, BreakerState::Closed { .. });
        *state = BreakerState::Closed { failures: 0 };
        drop(state);
        if !was_closed {
            CircuitChanged {
                host: &self.host,
                transition: BreakerTransition::Closed,
                failures: 0,
            }
            .emit();
        }
    }

    /// The host failed (transport error, timeout, 429, 5xx).
    pub fn record_failure(&self) {
        if self.config.failure_threshold == 0 {
            return;
        }
        let mut state = self.lock();
        let failures = match *state {
            BreakerState::Closed { failures } => failures + 1,
            BreakerState::Open { failures, .. } => failures + 1,
            BreakerState::HalfOpen => self.config.failure_threshold,
        };
        let open = failures >= self.config.failure_threshold;
        *state = if open {
            BreakerState::Open {
                until: Instant::now() + self.config.cool_down,
                failures,
            }
        } else {
            BreakerState::Closed { failures }
        };
        drop(state);
        if open {
            CircuitChanged {
                host: &self.host,
                transition: BreakerTransition::Opened,
                failures,
            }
            .emit();
        }
    }

    /// True while open (refusing requests).
    pub fn is_open(&self) -> bool {
        matches!(*self.lock(), BreakerState::Open { until, .. } if Instant::now() < until)
    }
}

/// Options of one request.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// The rate limiter to wait for (usually one shared per API token).
    pub limiter: Option<Arc<RateLimiter>>,
    /// `Accept` header.
    pub accept: Option<&'static str>,
}

/// A fetched page: the decoded body and what is needed to interpret it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Final URL (after redirects), secrets redacted.
    pub url: String,
    /// HTTP status (2xx).
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body, decoded.
    pub text: String,
    /// The encoding it was decoded from.
    pub encoding: &'static str,
}

#[derive(Debug)]
struct HostState {
    semaphore: Semaphore,
    breaker: CircuitBreaker,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    config: HttpConfig,
    hosts: Mutex<HashMap<String, Arc<HostState>>>,
    limiters: Mutex<HashMap<String, Arc<RateLimiter>>>,
}

/// The shared client; cheap to clone (all clones share hosts, limiters and connections).
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl HttpClient {
    /// A client with these settings.
    pub fn new(config: HttpConfig) -> Result<Self, CollectError> {
        if config.max_body_bytes == 0 || config.max_concurrency_per_host == 0 {
            return Err(CollectError::Config(
                "http: max_body_bytes and max_concurrency_per_host must be positive".into(),
            ));
        }
        let mut headers = HeaderMap::new();
        let ua = config
            .user_agent
            .parse()
            .map_err(|_| CollectError::Config("http: user_agent is not a valid header".into()))?;
        headers.insert(USER_AGENT, ua);
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| CollectError::Config(format!("http: cannot build the client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                config,
                hosts: Mutex::new(HashMap::new()),
                limiters: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// The rate limiter registered under `key`, created with `limit` on first use; every
    /// caller with the same key shares it. Never use a secret as the key (see
    /// [`Secret::fingerprint`]).
    pub fn limiter(&self, key: &str, limit: RateLimit) -> Arc<RateLimiter> {
        let mut map = self
            .inner
            .limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            map.entry(key.to_owned())
                .or_insert_with(|| Arc::new(RateLimiter::new(key, limit))),
        )
    }

    fn host_state(&self, host: &str) -> Arc<HostState> {
        let mut map = self
            .inner
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(host.to_owned()).or_insert_with(|| {
            Arc::new(HostState {
                semaphore: Semaphore::new(self.inner.config.max_concurrency_per_host),
                breaker: CircuitBreaker::new(host, self.inner.config.breaker.clone()),
            })
        }))
    }

    /// True while the breaker of `url`'s host refuses requests.
    pub fn is_circuit_open(&self, url: &Url) -> bool {
        host_key(url).is_some_and(|h| self.host_state(&h).breaker.is_open())
    }

    /// One GET attempt (no retries): breaker, rate limiter, host semaphore, timeout, body cap,
    /// charset decoding. A non-2xx status is an error.
    pub async fn fetch(&self, url: &Url, opts: &FetchOptions) -> Result<Page, CollectError> {
        let redacted = redact_url(url);
        let host = host_key(url)
            .ok_or_else(|| CollectError::Config(format!("URL without a host: {redacted}")))?;
        let state = self.host_state(&host);
        if let Err(wait) = state.breaker.try_acquire() {
            return Err(CollectError::CircuitOpen {
                host,
                retry_after: wait,
            });
        }
        if let Some(limiter) = &opts.limiter {
            limiter.acquire().await;
        }
        let _permit = state
            .semaphore
            .acquire()
            .await
            .map_err(|_| CollectError::Config("http: host semaphore closed".into()))?;
        let started = Instant::now();
        let result = match tokio::time::timeout(
            self.inner.config.request_timeout,
            self.attempt(url, &redacted, opts),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(CollectError::Timeout {
                url: redacted.clone(),
            }),
        };
        match &result {
            Ok(page) => {
                state.breaker.record_success();
                RequestCompleted {
                    url: &redacted,
                    status: page.status,
                    bytes: page.text.len(),
                    elapsed: started.elapsed(),
                }
                .emit();
            }
            Err(e) => {
                if host_failure(e) {
                    state.breaker.record_failure();
                } else {
                    state.breaker.record_success();
                }
                RequestFailed {
                    url: &redacted,
                    error_kind: e.kind(),
                    message: e.to_string(),
                    retryable: e.is_retryable(),
                }
                .emit();
            }
        }
        result
    }

    /// [`HttpClient::fetch`] with retries ([`HttpClient::retry`]).
    pub async fn fetch_retrying(
        &self,
        url: &Url,
        opts: &FetchOptions,
    ) -> Result<Page, CollectError> {
        let what = redact_url(url);
        self.retry(&what, || self.fetch(url, opts)).await
    }

    /// Runs `op` until it succeeds, fails permanently, or the retries run out. Waits between
    /// attempts per [`RetryConfig`]; an open circuit breaker or a `Retry-After` longer than
    /// [`RetryConfig::max_retry_after`] ends the retries at once (the error carries the wait).
    pub async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, CollectError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CollectError>>,
    {
        let policy = &self.inner.config.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let err = match op().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !err.is_retryable()
                || matches!(err, CollectError::CircuitOpen { .. })
                || attempt > policy.max_retries
            {
                return Err(err);
            }
            let Some(delay) = policy.delay(attempt - 1, err.retry_after()) else {
                return Err(err);
            };
            RetryScheduled {
                what,
                attempt,
                delay,
                error_kind: err.kind(),
            }
            .emit();
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        url: &Url,
        redacted: &str,
        opts: &FetchOptions,
    ) -> Result<Page, CollectError> {
        let mut req = self.inner.client.get(url.clone());
        if let Some(accept) = opts.accept {
            req = req.header(ACCEPT, accept);
        }
        let mut resp = req.send().await.map_err(|e| map_reqwest(e, redacted))?;
        let status = resp.status().as_u16();
        let final_url = redact_url(resp.url());
        if !resp.status().is_success() {
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            return Err(CollectError::Http {
                status,
                url: final_url,
                retry_after,
            });
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = self.inner.config.max_body_bytes;
        let too_large = || CollectError::BodyTooLarge {
            url: final_url.clone(),
            limit,
        };
        let declared = resp.content_length();
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let initial = declared.map_or(16 * 1024, |len| len as usize).min(limit);
        let mut body = Vec::with_capacity(initial);
        while let Some(chunk) = resp.chunk().await.map_err(|e| map_reqwest(e, redacted))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let (text, encoding, had_errors) = decode_body(&body, content_type.as_deref());
        if encoding != encoding_rs::UTF_8 || had_errors {
            CharsetDecoded {
                url: &final_url,
                encoding: encoding.name(),
                had_errors,
            }
            .emit();
        }
        Ok(Page {
            url: final_url,
            status,
            content_type,
            text,
            encoding: encoding.name(),
        })
    }
}

/// Failures that say something about the host's health (and count for its breaker).
fn host_failure(e: &CollectError) -> bool {
    match e {
        CollectError::Http { status, .. } => *status == 429 || *status >= 500,
        CollectError::Timeout { .. }
        | CollectError::Transport { .. }
        | CollectError::Truncated { .. } => true,
        _ => false,
    }
}

fn host_key(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

fn map_reqwest(e: reqwest::Error, redacted: &str) -> CollectError {
    let url = redacted.to_owned();
    if e.is_timeout() {
        return CollectError::Timeout { url };
    }
    let body = e.is_body() || e.is_decode();
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    if body {
        CollectError::Truncated { url, message }
    } else {
        CollectError::Transport { url, message }
    }
}

/// Query parameters whose values never appear in logs or errors.
const SECRET_PARAMS: [&str; 9] = [
    "access_token",
    "token",
    "session_key",
    "session_secret_key",
    "secret",
    "sig",
    "client_secret",
    "api_key",
    "application_secret_key",
];

/// The URL with secret query parameters replaced by `***`.
pub fn redact_url(url: &Url) -> String {
    if url.query().is_none() {
        return url.to_string();
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if SECRET_PARAMS.contains(&k.as_ref()) {
                "***".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    out.to_string()
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date (a past date gives zero).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Decodes a body: BOM, then the `Content-Type` charset, then an XML or HTML `<meta>`
/// declaration in the first 4 KiB, else UTF-8 — falling back to windows-1251 when nothing is
/// declared and the bytes are not valid UTF-8. Returns the text, the encoding used, and whether
/// malformed sequences were replaced.
pub fn decode_body(bytes: &[u8], content_type: Option<&str>) -> (String, &'static Encoding, bool) {
    let declared = Encoding::for_bom(bytes)
        .map(|(e, _)| e)
        .or_else(|| content_type.and_then(charset_of_content_type))
        .or_else(|| sniff_declared_charset(bytes));
    let encoding = match declared {
        Some(e) => e,
        None if std::str::from_utf8(bytes).is_ok() => encoding_rs::UTF_8,
        None => encoding_rs::WINDOWS_1251,
    };
    let (text, used, had_errors) = encoding.decode(bytes);
    (text.into_owned(), used, had_errors)
}

/// The encoding named by a `Content-Type` header's `charset` parameter.
pub fn charset_of_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// An encoding declared inside the document: `<?xml encoding="…"?>`, `<meta charset="…">` or
/// `<meta http-equiv="Content-Type" content="…; charset=…">`, within the first 4 KiB.
fn sniff_declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let head: String = head
        .iter()
        .map(|&b| {
            if b.is_ascii() {
                b.to_ascii_lowercase() as char
            } else {
                ' '
            }
        })
        .collect();
    let label_after = |s: &str, key: &str| -> Option<&'static Encoding> {
        let at = s.find(key)? + key.len();
        let rest = s[at..].trim_start().strip_prefix('=')?.trim_start();
        let rest = rest.trim_start_matches(['"', '\'']);
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')))
            .unwrap_or(rest.len());
        Encoding::for_label(&rest.as_bytes()[..end])
    };
    if let Some(decl) = head.trim_start().strip_prefix("<?xml") {
        let decl = &decl[..decl.find("?>").unwrap_or(decl.len())];
        if let Some(e) = label_after(decl, "encoding") {
            return Some(e);
        }
    }
    let mut rest = head.as_str();
    while let Some(at) = rest.find("<meta") {
        let tag = &rest[at..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        if let Some(e) = label_after(tag, "charset") {
            return Some(e);
        }
        rest = &rest[at + 5..];
    }
    None
}

#[cfg(test)]
mod tests;
