//! [`Collector`]: runs one source — cursor → poll → posts and cursor stored together → health.

use std::time::Duration;

use otklik_collect::schedule::Schedule;
use otklik_collect::{Cursor, Item, PollContext, Source};
use otklik_domain::{SourceId, Timestamp};
use otklik_store::{CircuitState, NewPost, SourceHealth, Store, StorePostsOutcome};
use tokio::sync::{mpsc, oneshot};

use crate::{PipelineError, telemetry};

/// How a collector behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorSettings {
    /// Pages (batches) one run reads at most before it stops until the next run.
    pub max_pages: u32,
    /// First delay after a failed poll; it doubles with each failure in a row.
    pub backoff_base: Duration,
    /// Cap of that delay (a server's `Retry-After` may ask for longer and is honoured).
    pub backoff_max: Duration,
}

impl Default for CollectorSettings {
    fn default() -> Self {
        Self {
            max_pages: 20,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

/// The wait before the next attempt after `failures` failures in a row: capped exponential
/// with "equal" jitter (between half and all of `min(max, base·2^(failures-1))`), and never
/// shorter than the server's `retry_after`.
pub fn backoff_delay(
    base: Duration,
    max: Duration,
    failures: i64,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = u32::try_from(failures.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let cap = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let half = cap / 2;
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    let jittered = half + Duration::from_millis(fastrand::u64(0..=half_ms));
    retry_after.map_or(jittered, |ra| jittered.max(ra))
}

/// What one run of one source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollReport {
    /// The source's name.
    pub source: String,
    /// Pages read.
    pub pages: u32,
    /// Items the pages brought (new, edited or unchanged).
    pub items: u64,
    /// Posts stored for the first time.
    pub inserted: u64,
    /// Known posts whose content changed.
    pub updated: u64,
    /// The error that ended the run, if any (pages stored before it stay stored).
    pub error: Option<String>,
    /// Why the source was not polled (its circuit is open).
    pub skipped: Option<String>,
    /// The circuit after the run.
    pub circuit: CircuitState,
    /// When the source runs next (on failure: the backoff's retry time).
    pub next_run_at: Option<Timestamp>,
    /// The run stopped at [`CollectorSettings::max_pages`] with pages still to read: the
    /// source is due again at once (catching up) instead of at its next scheduled time.
    pub more: bool,
}

impl PollReport {
    fn new(source: &str, circuit: CircuitState) -> Self {
        Self {
            source: source.to_owned(),
            pages: 0,
            items: 0,
            inserted: 0,
            updated: 0,
            error: None,
            skipped: None,
            circuit,
            next_run_at: None,
            more: false,
        }
    }
}

/// A batch handed to the store writer: posts and cursor to commit together, and where to
/// send the outcome.
#[derive(Debug)]
pub struct WriteRequest {
    /// The source.
    pub source: SourceId,
    /// Its posts.
    pub posts: Vec<NewPost>,
    /// The cursor to commit with them.
    pub cursor: String,
    /// Collection time.
    pub now: Timestamp,
    /// Outcome of the transaction.
    pub ack: oneshot::Sender<Result<StorePostsOutcome, otklik_store::StoreError>>,
}

/// Where collected pages go.
#[derive(Debug, Clone)]
pub enum PostSink {
    /// Straight into the store (one-off runs).
    Store(Store),
    /// Through a bounded channel to the single store-writer task ([`crate::Scheduler`]): a
    /// full channel makes collectors wait, so a slow store never grows memory.
    Writer(mpsc::Sender<WriteRequest>),
}

/// A page handed to the sink whose outcome may still be on its way.
enum PendingWrite {
    Done(Result<StorePostsOutcome, PipelineError>),
    Waiting(oneshot::Receiver<Result<StorePostsOutcome, otklik_store::StoreError>>),
}

impl PendingWrite {
    async fn outcome(self) -> Result<StorePostsOutcome, PipelineError> {
        match self {
            Self::Done(result) => result,
            Self::Waiting(done) => Ok(done.await.map_err(|_| PipelineError::WriterClosed)??),
        }
    }
}

impl PostSink {
    /// Hands a page over. The store sink writes it at once; the writer sink returns as soon
    /// as the page is queued, so the collector can fetch the next page meanwhile.
    async fn submit(
        &self,
        source: SourceId,
        posts: Vec<NewPost>,
        cursor: String,
        now: Timestamp,
    ) -> Result<PendingWrite, PipelineError> {
        match self {
            Self::Store(store) => Ok(PendingWrite::Done(
                store
                    .store_posts(source, &posts, Some(&cursor), now)
                    .await
                    .map_err(Into::into),
            )),
            Self::Writer(tx) => {
                let (ack, done) = oneshot::channel();
                tx.send(WriteRequest {
                    source,
                    posts,
                    cursor,
                    now,
                    ack,
                })
                .await
                .map_err(|_| PipelineError::WriterClosed)?;
                Ok(PendingWrite::Waiting(done))
            }
        }
    }
}

/// A collected item as the store's post.
pub fn to_new_post(item: &Item) -> NewPost {
    let mut post = NewPost::new(
        item.network,
        item.external_id.clone(),
        item.text.clone(),
        item.published_at(),
        item.content_hash.clone(),
    )
    .with_attachments(item.attachments.iter().map(|a| a.code()))
    .with_deleted(item.deleted);
    if let Some(url) = &item.url {
        post = post.with_url(url.clone());
    }
    if let Some(author) = &item.author {
        post = post.with_author(author.clone());
    }
    if let Some(parent) = &item.parent_external_id {
        post = post.with_parent(parent.clone());
    }
    if let Some(views) = item.views {
        post = post.with_views(i64::try_from(views).unwrap_or(i64::MAX));
    }
    post
}

/// Runs sources: loads the committed cursor, polls page after page (each page's posts
/// committed with its cursor), records the outcome in the source's health, and keeps the
/// circuit breaker (open → skipped until `open_until`, then one half-open probe).
#[derive(Debug, Clone)]
pub struct Collector {
    store: Store,
    sink: PostSink,
    settings: CollectorSettings,
}

impl Collector {
    /// A collector writing straight into `store`.
    pub fn new(store: Store, settings: CollectorSettings) -> Self {
        Self {
            sink: PostSink::Store(store.clone()),
            store,
            settings,
        }
    }

    /// A collector handing its pages to a store writer.
    pub fn with_sink(store: Store, sink: PostSink, settings: CollectorSettings) -> Self {
        Self {
            store,
            sink,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &CollectorSettings {
        &self.settings
    }

    /// Runs `source` (described by its `health` row) once at `now`. Poll failures are
    /// recorded in the source's health and returned in the report; only store failures are
    /// errors. With a `schedule`, a successful run sets the next run time from it.
    pub async fn run_source(
        &self,
        health: &SourceHealth,
        source: &dyn Source,
        schedule: Option<&Schedule>,
        now: Timestamp,
    ) -> Result<PollReport, PipelineError> {
        let id = health.source.id;
        let name = health.source.name.as_str();
        let mut report = PollReport::new(name, health.circuit);
        if health.circuit == CircuitState::Open {
            match health.open_until {
                Some(until) if until > now => {
                    report.skipped =
                        Some(format!("circuit open until {}", crate::format_time(until)));
                    report.next_run_at = Some(until);
                    tracing::info!(source = name, open_until = %crate::format_time(until), "source skipped: circuit open");
                    return Ok(report);
                }
                _ => {
                    self.store
                        .set_source_circuit(id, CircuitState::HalfOpen, None)
                        .await?;
                    report.circuit = CircuitState::HalfOpen;
                    tracing::info!(source = name, "circuit half-open: probing");
                }
            }
        }
        let ctx = PollContext::at(name, now.millis());
        let mut cursor = health.cursor.clone().map(Cursor::new);
        let mut newest: Option<Timestamp> = None;
        let mut done = false;
        // At most one page in flight: page N+1 is fetched while page N commits, but it is
        // handed over only once page N is known to be stored, so a failed write never lets a
        // later page's cursor commit past it.
        let mut pending: Option<PendingWrite> = None;
        while report.pages < self.settings.max_pages.max(1) {
            let polled = source.poll(cursor.clone(), &ctx).await;
            if let Some(write) = pending.take() {
                let outcome = write.outcome().await?;
                report.inserted += outcome.inserted;
                report.updated += outcome.updated;
            }
            let batch = match polled {
                Ok(b) => b,
                Err(e) => {
                    let failures = health.consecutive_failures.saturating_add(1);
                    let delay = backoff_delay(
                        self.settings.backoff_base,
                        self.settings.backoff_max,
                        failures,
                        e.retry_after(),
                    );
                    let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                    let retry_at = Timestamp(now.millis().saturating_add(delay_ms));
                    let message = e.to_string();
                    let after = self
                        .store
                        .record_poll_failure(id, &message, retry_at, now)
                        .await?;
                    telemetry::poll_failed(name, e.kind(), e.is_retryable(), &message, retry_at);
                    report.error = Some(message);
                    report.circuit = after.circuit;
                    report.next_run_at = Some(retry_at);
                    return Ok(report);
                }
            };
            report.pages += 1;
            report.items += batch.items.len() as u64;
            newest = batch
                .items
                .iter()
                .map(Item::published_at)
                .chain(newest)
                .max();
            let posts: Vec<NewPost> = batch.items.iter().map(to_new_post).collect();
            pending = Some(
                self.sink
                    .submit(id, posts, batch.next_cursor.as_str().to_owned(), now)
                    .await?,
            );
            cursor = Some(batch.next_cursor);
            if batch.done {
                done = true;
                break;
            }
        }
        if let Some(write) = pending.take() {
            let outcome = write.outcome().await?;
            report.inserted += outcome.inserted;
            report.updated += outcome.updated;
        }
        self.store
            .record_poll_success(id, report.items, newest, now)
            .await?;
        report.circuit = CircuitState::Closed;
        if !done {
            // Pages left to read: due again at once, not at the next scheduled time.
            report.more = true;
            if schedule.is_some() {
                self.store.set_source_next_run(id, Some(now)).await?;
                report.next_run_at = Some(now);
            }
        } else if let Some(next) = schedule.and_then(|s| s.next_run(now.millis())) {
            let next = Timestamp(next);
            self.store.set_source_next_run(id, Some(next)).await?;
            report.next_run_at = Some(next);
        }
        telemetry::polled(
            name,
            report.pages,
            report.items,
            report.inserted,
            report.updated,
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(100);
        for _ in 0..50 {
            let d1 = backoff_delay(base, max, 1, None);
            assert!(d1 >= Duration::from_secs(5) && d1 <= base, "{d1:?}");
            let d3 = backoff_delay(base, max, 3, None);
            assert!(
                d3 >= Duration::from_secs(20) && d3 <= Duration::from_secs(40),
                "{d3:?}"
            );
            let d9 = backoff_delay(base, max, 9, None);
            assert!(d9 >= Duration::from_secs(50) && d9 <= max, "{d9:?}");
            let ra = backoff_delay(base, max, 1, Some(Duration::from_secs(500)));
            assert_eq!(ra, Duration::from_secs(500));
        }
    }
}
