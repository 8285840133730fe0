//! # otklik-pipeline
//!
//! Otklik's monitoring pipeline, the glue between the collectors and the workflow:
//!
//! ```text
//!  sources (otklik-collect) ──► Collector ──► store_posts (posts + cursor, one transaction)
//!                                                 │
//!                              Analyst ◄──────────┘  posts_to_classify → PostAnalyzer
//!                                 │                  → record_classification
//!                                 └─► complaints → Workflow::intake_incident("post:<id>")
//!  reply outbox ──► Replier ──► ReplySender (VK wall.createComment) ──► delivered / retry
//! ```
//!
//! * [`Collector`] runs one source: the committed cursor is loaded, pages are polled and each
//!   page's posts are stored **with** its cursor, so a crash or an error never loses or repeats
//!   posts. A failed poll is recorded with a retry time (capped exponential backoff with
//!   jitter, never shorter than the server's `Retry-After`); five failures in a row open the
//!   source's circuit, which is skipped until `open_until`, then probed once (half-open).
//! * [`Scheduler`] runs every enabled source on its cron schedule (one tokio task each), with
//!   a bounded channel to a single store-writer task that analyses what was written, and a
//!   replier; it stops gracefully on a `tokio::sync::watch` shutdown signal.
//! * [`Analyst`] classifies new posts (the source's territory as the prior); complaints go
//!   through the single messages workflow ([`otklik_workflow::Workflow::intake_incident`],
//!   idempotency key `post:<id>`): routed, deadlined on the working-day calendar, grouped with
//!   their near-duplicates and audited; confident ones with an executor are accepted at once,
//!   the others stay in moderation with the reason in the audit trail. [`build_workflow`]
//!   builds the workflow from the rules folder.
//! * [`Replier`] posts answers from the reply outbox through a [`ReplySender`]
//!   ([`VkReplySender`]), each delivered exactly once.
//! * [`CollectConfig`] reads `collect.toml`, the per-source collector settings.
//! * [`telemetry`]: `tracing` events and `metrics` counters.
//!
//! ## Example
//!
//! ```no_run
//! use otklik_collect::http::HttpClient;
//! use otklik_pipeline::{CollectConfig, Collector, CollectorSettings, now};
//! use otklik_store::Store;
//!
//! # async fn run() -> Result<(), otklik_pipeline::PipelineError> {
//! let store = Store::open_data_dir("data").await?;
//! store.migrate().await?;
//! let cfg = CollectConfig::parse(r#"
//!     [[source]]
//!     name = "rss-seversk"
//!     kind = "rss"
//!     url = "https://seversk.example.invalid/rss.xml"
//! "#, &otklik_pipeline::config::process_env)?;
//! let http = HttpClient::new(cfg.http.clone())?;
//! let collector = Collector::new(store.clone(), CollectorSettings::default());
//! for health in store.source_health().await? {
//!     if !health.source.enabled {
//!         continue;
//!     }
//!     let source = cfg
//!         .config_for(&health.source, &otklik_pipeline::config::process_env)?
//!         .build(&http)?;
//!     let report = collector.run_source(&health, source.as_ref(), None, now()).await?;
//!     println!("{}: {} new, error {:?}", report.source, report.inserted, report.error);
//! }
//! # Ok(())
//! # }
//! ```

pub mod analyst;
pub mod collector;
pub mod config;
mod error;
pub mod replier;
pub mod scheduler;
pub mod telemetry;
pub mod workflow;

use std::time::{SystemTime, UNIX_EPOCH};

use otklik_domain::Timestamp;

pub use analyst::{AnalysedPost, Analyst, AnalystReport, AnalystSettings, territory_entries};
pub use collector::{Collector, CollectorSettings, PollReport, PostSink, backoff_delay};
pub use config::{CollectConfig, SourceEntry};
pub use error::{PipelineError, SendError};
pub use replier::{Replier, ReplierReport, ReplierSettings, ReplySender, VkReplySender};
pub use scheduler::{ScheduledSource, Scheduler, SchedulerSettings};
pub use workflow::{build_workflow, load_workflow_rules, workflow_config};

/// Current wall-clock time.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A time for people and logs: `2025-11-20 08:30:00 UTC`.
pub fn format_time(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.millis()).map_or_else(
        |_| format!("{}ms", t.millis()),
        |ts| ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}
