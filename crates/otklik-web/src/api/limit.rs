//! Per-token rate limits of write endpoints: an in-memory token bucket per API token. A token
//! allowed `r` writes a minute refills at `r / 60` a second and holds at most `max(r / 6, 1)`
//! (ten seconds' worth), so short bursts pass and a sustained flood gets `429` with
//! `Retry-After`. The buckets are per process: a cluster of `n` nodes lets `n` times through.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use otklik_store::ApiTokenId;

/// Writes a minute of a token without its own rate.
pub const DEFAULT_RATE_PER_MINUTE: i64 = 600;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The buckets of every token seen.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<ApiTokenId, Bucket>>,
}

impl Limiter {
    /// Takes one write from `token`'s bucket; `Err(seconds)` to wait when it is empty.
    pub fn check(&self, token: ApiTokenId, rate_per_minute: Option<i64>) -> Result<(), u64> {
        self.check_at(token, rate_per_minute, Instant::now())
    }

    fn check_at(
        &self,
        token: ApiTokenId,
        rate_per_minute: Option<i64>,
        now: Instant,
    ) -> Result<(), u64> {
        let rate = rate_per_minute
            .filter(|r| *r > 0)
            .unwrap_or(DEFAULT_RATE_PER_MINUTE) as f64;
        let per_second = rate / 60.0;
        let capacity = (rate / 6.0).max(1.0);
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let b = buckets.entry(token).or_insert(Bucket {
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
}
