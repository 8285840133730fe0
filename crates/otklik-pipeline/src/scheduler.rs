//! [`Scheduler`]: every enabled source on its cron schedule, one tokio task per source, all
//! handing their pages through one bounded channel to a single store-writer task; an analyst
//! task, woken by the writer, classifies what was stored (concurrently with collection); a
//! replier task empties the reply outbox. Stops
//! gracefully when the shutdown watch turns `true` (or its sender is dropped): sources finish
//! the page in hand, the writer drains the channel, then [`Scheduler::run`] returns.

use std::sync::Arc;
use std::time::Duration;

use otklik_collect::Source;
use otklik_collect::schedule::Schedule;
use otklik_domain::{SourceId, Timestamp};
use otklik_store::{CircuitState, Store};
use tokio::sync::{Mutex, Notify, mpsc, watch};
use tokio::task::JoinSet;

use crate::collector::{Collector, CollectorSettings, PostSink, WriteRequest};
use crate::{Analyst, PipelineError, Replier, now};

/// A source ready to be scheduled.
#[derive(Debug, Clone)]
pub struct ScheduledSource {
    /// Its database id.
    pub id: SourceId,
    /// Its name.
    pub name: String,
    /// When it runs.
    pub schedule: Schedule,
    /// The collector.
    pub source: Arc<dyn Source>,
}

/// Scheduler settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerSettings {
    /// Capacity of the collectors → store-writer channel (pages in flight).
    pub channel_capacity: usize,
    /// Collector settings.
    pub collector: CollectorSettings,
    /// How often the replier looks at the outbox.
    pub reply_interval: Duration,
    /// Longest sleep before a source re-reads its state (to see enable/disable changes).
    pub max_idle: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            channel_capacity: 8,
            collector: CollectorSettings::default(),
            reply_interval: Duration::from_secs(30),
            max_idle: Duration::from_secs(60),
        }
    }
}

/// Runs the whole pipeline until shut down.
#[derive(Debug)]
pub struct Scheduler {
    store: Store,
    sources: Vec<ScheduledSource>,
    analyst: Option<Arc<Analyst>>,
    replier: Option<Replier>,
    settings: SchedulerSettings,
}

/// Sleeps `d` or until shutdown; false when shutting down.
async fn sleep_or_shutdown(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(d) => !*shutdown.borrow(),
        changed = shutdown.changed() => changed.is_ok() && !*shutdown.borrow(),
    }
}

fn until(t: Timestamp, now: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(t.millis().saturating_sub(now.millis())).unwrap_or(0))
}

impl Scheduler {
    /// A scheduler over `sources`.
    pub fn new(store: Store, sources: Vec<ScheduledSource>, settings: SchedulerSettings) -> Self {
        Self {
            store,
            sources,
            analyst: None,
            replier: None,
            settings,
        }
    }

    /// Analyses new posts after each write.
    pub fn with_analyst(mut self, analyst: Analyst) -> Self {
        self.analyst = Some(Arc::new(analyst));
        self
    }

    /// Posts replies from the outbox.
    pub fn with_replier(mut self, replier: Replier) -> Self {
        self.replier = Some(replier);
        self
    }

    /// Runs until `shutdown` turns true; returns the first store error of the writer.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<(), PipelineError> {
        let (tx, rx) = mpsc::channel::<WriteRequest>(self.settings.channel_capacity.max(1));
        let written = Arc::new(Notify::new());
        // One writer at a time between the store writer and the analyst (see
        // `Analyst::run_gated`).
        let gate = Arc::new(Mutex::new(()));
        let writer = tokio::spawn(writer_task(
            self.store.clone(),
            rx,
            Arc::clone(&written),
            Arc::clone(&gate),
        ));
        let mut tasks = JoinSet::new();
        if let Some(analyst) = self.analyst.clone() {
            tasks.spawn(analyst_task(analyst, written, gate, shutdown.clone()));
        }
        for src in self.sources {
            let collector = Collector::with_sink(
                self.store.clone(),
                PostSink::Writer(tx.clone()),
                self.settings.collector.clone(),
            );
            tasks.spawn(source_task(
                self.store.clone(),
                collector,
                src,
                self.settings.max_idle,
                shutdown.clone(),
            ));
        }
        drop(tx);
        if let Some(replier) = self.replier {
            let mut sd = shutdown.clone();
            let every = self.settings.reply_interval;
            tasks.spawn(async move {
                loop {
                    if let Err(e) = replier.run_once(now()).await {
                        tracing::error!(error = %e, "replier failed");
                    }
                    if !sleep_or_shutdown(every, &mut sd).await {
                        break;
                    }
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "pipeline task panicked");
            }
        }
        match writer.await {
            Ok(result) => result,
            Err(e) => Err(PipelineError::Config(format!("store writer panicked: {e}"))),
        }
    }
}

/// The single store writer: each page's posts and cursor in one transaction, in arrival
/// order; wakes the analyst when something new was written.
async fn writer_task(
    store: Store,
    mut rx: mpsc::Receiver<WriteRequest>,
    written: Arc<Notify>,
    gate: Arc<Mutex<()>>,
) -> Result<(), PipelineError> {
    while let Some(req) = rx.recv().await {
        let result = {
            let _gate = gate.lock().await;
            store
                .store_posts(req.source, &req.posts, Some(&req.cursor), req.now)
                .await
        };
        let changed = matches!(&result, Ok(o) if o.inserted + o.updated > 0);
        // The collector may have stopped waiting (shutdown); the write stands either way.
        let _ = req.ack.send(result);
        if changed {
            written.notify_one();
        }
    }
    Ok(())
}

/// Analyses what the writer stored, concurrently with collection (so that classification
/// never holds up the writer). Runs once at start (posts left unanalysed by an earlier run),
/// then whenever woken; stops on shutdown after the round in hand — posts not analysed yet
/// stay in the store and are analysed on the next start.
async fn analyst_task(
    analyst: Arc<Analyst>,
    written: Arc<Notify>,
    gate: Arc<Mutex<()>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match analyst.run_gated(now(), Some(&gate)).await {
            Ok(r) if r.analysed > 0 => tracing::info!(
                analysed = r.analysed,
                complaints = r.complaints,
                messages = r.messages_created,
                "new posts analysed"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "analysis failed; posts stay unclassified"),
        }
        if *shutdown.borrow() {
            return;
        }
        tokio::select! {
            () = written.notified() => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

async fn source_task(
    store: Store,
    collector: Collector,
    src: ScheduledSource,
    max_idle: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let health = match store.source_health_of(src.id).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(source = %src.name, error = %e, "cannot read source state");
                if sleep_or_shutdown(max_idle, &mut shutdown).await {
                    continue;
                }
                return;
            }
        };
        let t = now();
        let due_at = if !health.source.enabled {
            None
        } else if health.circuit == CircuitState::Open {
            Some(health.open_until.unwrap_or(t))
        } else {
            Some(health.next_run_at.unwrap_or(t))
        };
        match due_at {
            Some(at) if at <= t => {
                match collector
                    .run_source(&health, src.source.as_ref(), Some(&src.schedule), t)
                    .await
                {
                    Ok(r) => {
                        tracing::debug!(source = %src.name, items = r.items, error = ?r.error, "run done")
                    }
                    Err(e) => {
                        tracing::error!(source = %src.name, error = %e, "run failed");
                        if !sleep_or_shutdown(max_idle, &mut shutdown).await {
                            return;
                        }
                    }
                }
                if *shutdown.borrow() {
                    return;
                }
            }
            other => {
                let wait = other.map_or(max_idle, |at| until(at, t).min(max_idle));
                if !sleep_or_shutdown(wait, &mut shutdown).await {
                    return;
                }
            }
        }
    }
}
