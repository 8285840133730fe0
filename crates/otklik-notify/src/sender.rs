//! The outbox sender: claims due e-mails, sends them, reports back, retries with backoff.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otklik_domain::Timestamp;
use otklik_store::{EmailStatus, Store};

use crate::{Mailer, NotifyError, SendError};

/// Capped exponential backoff: `base × 2^(attempt−1)`, at most `max`, plus up to `jitter_percent`
/// of random extra so that failed e-mails do not all come back at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Random extra, percent of the delay (0 = deterministic).
    pub jitter_percent: u8,
}

impl Default for Backoff {
    /// 1 min, 2, 4, 8… up to 1 h, plus up to 20 %.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(60),
            max: Duration::from_secs(3_600),
            jitter_percent: 20,
        }
    }
}

impl Backoff {
    /// The delay after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: i64) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let plain = self
            .base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max);
        if self.jitter_percent == 0 {
            return plain;
        }
        let extra_ms = plain.as_millis() * u128::from(self.jitter_percent) / 100;
        let extra = fastrand::u64(0..=u64::try_from(extra_ms).unwrap_or(u64::MAX));
        plain + Duration::from_millis(extra)
    }
}

/// What one round of [`OutboxSender::send_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Accepted by the server and recorded.
    pub sent: usize,
    /// Failed, to be retried.
    pub retried: usize,
    /// Failed for good (dead letters).
    pub dead: usize,
    /// Reports refused because the lease had been taken over (the e-mail was sent anyway,
    /// or failed, while someone else held it: the lease is too short for the SMTP timeout).
    pub lost_lease: usize,
    /// Claimed but not attempted because too little of the lease was left for a send; they
    /// come back when the lease expires.
    pub skipped: usize,
}

/// Sends the outbox. Run one or more (on several hosts if you like): each e-mail is leased to one
/// sender at a time and recorded as sent once.
#[derive(Debug, Clone)]
pub struct OutboxSender {
    store: Store,
    mailer: Mailer,
    token: String,
    batch: i64,
    lease: Duration,
    backoff: Backoff,
}

fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    Timestamp(ms)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl OutboxSender {
    /// A sender named `token` (unique per running sender: host and process, say), batches of 10,
    /// a lease of a minute more than the SMTP timeout for each e-mail of a batch, the default
    /// backoff.
    pub fn new(store: Store, mailer: Mailer, token: impl Into<String>) -> Self {
        let lease = mailer.timeout() + Duration::from_secs(60);
        Self {
            store,
            mailer,
            token: token.into(),
            batch: 10,
            lease,
            backoff: Backoff::default(),
        }
    }

    /// Another batch size (at least 1).
    pub fn with_batch(mut self, batch: i64) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Another minimum lease. The lease of a claim is never shorter than the SMTP timeout for
    /// each e-mail of the batch plus a minute, so that a batch cannot outlive it.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The lease taken for one batch.
    pub fn lease_for_batch(&self) -> Duration {
        let per_batch = self
            .mailer
            .timeout()
            .saturating_mul(u32::try_from(self.batch).unwrap_or(u32::MAX))
            .saturating_add(Duration::from_secs(60));
        self.lease.max(per_batch)
    }

    /// Another backoff.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Claims the e-mails due at `now`, sends them one by one and records each outcome.
    pub async fn send_due(&self, now: Timestamp) -> Result<SendReport, NotifyError> {
        // E-mails of a batch are sent one after another: the lease covers the whole batch.
        let lease = self.lease_for_batch();
        let started = Instant::now();
        let at = |started: Instant| Timestamp(now.millis().saturating_add(ms(started.elapsed())));
        let claimed = self
            .store
            .claim_due_emails(&self.token, now, self.batch, ms(lease))
            .await?;
        let mut report = SendReport::default();
        for email in claimed {
            // Never start a send that could outlast the lease: another sender may take the
            // e-mail over once it expires. Left alone, it comes back after the lease.
            let lease_until = email.lease_until.map_or(i64::MAX, Timestamp::millis);
            if at(started)
                .millis()
                .saturating_add(ms(self.mailer.timeout()))
                >= lease_until
            {
                report.skipped += 1;
                continue;
            }
            let outcome = self.mailer.send(&email).await;
            let done = at(started);
            match outcome {
                Ok(()) => {
                    if self.store.mark_email_sent(&email, done).await? {
                        report.sent += 1;
                        tracing::info!(id = %email.id, template = %email.template, "e-mail sent");
                    } else {
                        report.lost_lease += 1;
                        tracing::warn!(id = %email.id, "e-mail sent after its lease was taken over");
                    }
                }
                Err(err) => {
                    let retry_at = match &err {
                        SendError::Transient(_) => Some(Timestamp(
                            done.millis()
                                .saturating_add(ms(self.backoff.delay(email.attempts))),
                        )),
                        SendError::Permanent(_) => None,
                    };
                    match self
                        .store
                        .mark_email_failed(&email, &err.to_string(), retry_at, done)
                        .await?
                    {
                        Some(EmailStatus::Pending) => {
                            report.retried += 1;
                            tracing::warn!(id = %email.id, attempt = email.attempts, error = %err, "e-mail failed, will retry");
                        }
                        Some(_) => {
                            report.dead += 1;
                            tracing::error!(id = %email.id, attempt = email.attempts, error = %err, "e-mail given up");
                        }
                        None => report.lost_lease += 1,
                    }
                }
            }
        }
        Ok(report)
    }

    /// Sends due e-mails every `every` until `shutdown` completes. Database errors are logged
    /// and retried on the next round.
    pub async fn run(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.send_due(now()).await {
                Ok(r) if r != SendReport::default() => tracing::debug!(?r, "outbox round"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox round failed"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(100),
            jitter_percent: 0,
        };
        let secs: Vec<u64> = (1..=6).map(|a| b.delay(a).as_secs()).collect();
        assert_eq!(secs, vec![10, 20, 40, 80, 100, 100]);
        assert_eq!(b.delay(0).as_secs(), 10);
        assert_eq!(b.delay(i64::MAX).as_secs(), 100);
        let j = Backoff {
            jitter_percent: 50,
            ..b
        };
        for _ in 0..100 {
            let d = j.delay(2).as_millis();
            assert!((20_000..=30_000).contains(&d), "{d}");
        }
    }
}
