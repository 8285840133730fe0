//! When each source runs: a cron expression with a seconds field, plus random jitter so that
//! sources with the same schedule don't all hit the network at the same second.
//!
//! Expressions have six fields (`sec min hour day-of-month month day-of-week`) or seven (with a
//! year), in UTC. Day-of-week must use names (`Mon-Fri`, `Sat,Sun`): numeric weekdays are refused
//! because the cron library numbers them 1–7 from Sunday, unlike classic cron.
//!
//! ```
//! use otklik_collect::schedule::Schedule;
//! use std::time::Duration;
//!
//! let s = Schedule::parse("0 */10 * * * *")?.with_jitter(Duration::from_secs(30));
//! let at = s.next_after(0).expect("a next run");
//! assert_eq!(at, 600_000); // 00:10:00 UTC
//! assert!(Schedule::parse("*/10 * * * *").is_err()); // five fields: no seconds
//! # Ok::<(), otklik_collect::CollectError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::CollectError;

/// A parsed, validated schedule.
#[derive(Clone)]
pub struct Schedule {
    expr: String,
    cron: cron::Schedule,
    jitter: Duration,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule")
            .field("expr", &self.expr)
            .field("jitter", &self.jitter)
            .finish()
    }
}

impl Schedule {
    /// Parses and validates `expr`; the error says what is wrong in words.
    pub fn parse(expr: &str) -> Result<Self, CollectError> {
        let bad = |why: String| CollectError::Config(format!("schedule {expr:?}: {why}"));
        let fields: Vec<&str> = expr.split_whitespace().collect();
        match fields.len() {
            6 | 7 => {}
            5 => {
                return Err(bad("5 fields; a seconds field is required first: \
                     «sec min hour day month weekday», e.g. «0 */10 * * * *»"
                    .into()));
            }
            n => {
                return Err(bad(format!(
                    "{n} fields; expected 6: «sec min hour day month weekday» (optionally a year)"
                )));
            }
        }
        if fields[5].chars().any(|c| c.is_ascii_digit()) {
            return Err(bad(format!(
                "day-of-week «{}» must use names (Mon-Fri, Sat,Sun), not numbers",
                fields[5]
            )));
        }
        let cron = cron::Schedule::from_str(&fields.join(" ")).map_err(|e| bad(e.to_string()))?;
        let schedule = Self {
            expr: expr.trim().to_owned(),
            cron,
            jitter: Duration::ZERO,
        };
        if schedule.next_after(0).is_none() {
            return Err(bad("never fires".into()));
        }
        Ok(schedule)
    }

    /// Adds up to `max` of random delay to each run (clamped to half the gap between runs).
    #[must_use]
    pub fn with_jitter(mut self, max: Duration) -> Self {
        self.jitter = max;
        self
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The first occurrence strictly after `after_ms` (epoch ms), without jitter.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let at = DateTime::<Utc>::from_timestamp_millis(after_ms)?;
        self.cron.after(&at).next().map(|t| t.timestamp_millis())
    }

    /// The next run after `after_ms` with jitter from the thread's random generator.
    pub fn next_run(&self, after_ms: i64) -> Option<i64> {
        self.next_run_with(after_ms, &mut fastrand::Rng::new())
    }

    /// The next run after `after_ms`: the next occurrence plus a random delay in
    /// `[0, jitter]`, the delay kept under half the gap to the occurrence after it, so runs
    /// never swap order.
    pub fn next_run_with(&self, after_ms: i64, rng: &mut fastrand::Rng) -> Option<i64> {
        let at = DateTime::<Utc>::from_timestamp_millis(after_ms)?;
        let mut upcoming = self.cron.after(&at);
        let next = upcoming.next()?.timestamp_millis();
        let jitter_ms = i64::try_from(self.jitter.as_millis()).unwrap_or(i64::MAX);
        if jitter_ms == 0 {
            return Some(next);
        }
        let max = match upcoming.next() {
            Some(following) => jitter_ms.min((following.timestamp_millis() - next) / 2),
            None => jitter_ms,
        };
        Some(next + rng.i64(0..=max.max(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn every_ten_minutes() {
        let s = Schedule::parse("0 */10 * * * *").expect("valid");
        assert_eq!(s.next_after(0), Some(10 * MIN));
        assert_eq!(s.next_after(10 * MIN), Some(20 * MIN));
        assert_eq!(s.next_after(10 * MIN - 1), Some(10 * MIN));
    }

    #[test]
    fn weekday_names_work() {
        // 1970-01-01 was a Thursday; the first Monday 09:00 is 1970-01-05.
        let s = Schedule::parse("0 0 9 * * Mon").expect("valid");
        assert_eq!(s.next_after(0), Some((4 * 24 + 9) * 60 * MIN));
        let s = Schedule::parse("0 30 8 * * Mon-Fri").expect("valid");
        assert_eq!(s.next_after(0), Some((8 * 60 + 30) * MIN));
    }

    #[test]
    fn bad_expressions_are_explained() {
        let e = Schedule::parse("*/10 * * * *").expect_err("5 fields");
        assert!(e.to_string().contains("seconds field"), "{e}");
        let e = Schedule::parse("0 0 9 * * 1").expect_err("numeric weekday");
        assert!(e.to_string().contains("names"), "{e}");
        let e = Schedule::parse("0 61 * * * *").expect_err("minute 61");
        assert!(e.to_string().contains("0 61"), "{e}");
        let e = Schedule::parse("каждый час").expect_err("words");
        assert!(matches!(e, CollectError::Config(_)));
        assert!(Schedule::parse("").is_err());
    }

    #[test]
    fn jitter_stays_within_bounds_and_order() {
        let s = Schedule::parse("0 * * * * *")
            .expect("valid")
            .with_jitter(Duration::from_secs(600));
        let mut rng = fastrand::Rng::with_seed(7);
        let mut seen_nonzero = false;
        for i in 0..200 {
            let after = i * 1_000;
            let base = s.next_after(after).expect("next");
            let run = s.next_run_with(after, &mut rng).expect("next");
            // A minute apart: jitter clamped to 30 s.
            assert!(run >= base && run <= base + 30_000, "{run} vs {base}");
            seen_nonzero |= run > base;
        }
        assert!(seen_nonzero);
        let plain = Schedule::parse("0 0 * * * *").expect("valid");
        assert_eq!(plain.next_run(0), Some(60 * MIN));
    }
}
