//! The archive index inside `otklik serve`: opened (or recreated, when written by another
//! schema version) in `DATA_DIR/search`, given to the web state for `/office/search`, and kept
//! in step with the store by a background task that syncs from the index's watermark every
//! [`INTERVAL`] — new and changed messages and posts are searchable within about a second
//! (the target: 2 s). The task holds the index writer while the server runs and
//! releases it when the serve stop signal fires.
//!
//! `otklik search` run beside the server finds the writer taken and searches the index as the
//! server keeps it (see `crate::search`).

use std::path::Path;
use std::time::Duration;

use otklik_search::sync::{SyncOptions, sync};
use otklik_search::{Indexer, IndexerOptions, SearchError, SearchIndex};
use otklik_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the store is asked for changes.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// The writer of the serving index: one thread and a small memory budget (the server indexes
/// a trickle; `otklik search --rebuild` is the bulk path).
fn writer_options() -> IndexerOptions {
    IndexerOptions {
        threads: 1,
        heap_bytes: 48 << 20,
    }
}

/// Opens the index in `dir`; an index of another schema version is recreated (it is a cache:
/// the first sync refills it from the store).
pub(crate) fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
    match SearchIndex::open(dir) {
        Err(SearchError::SchemaVersion {
            found, expected, ..
        }) => {
            tracing::warn!(
                found,
                expected,
                dir = %dir.display(),
                "search index of another schema version: recreating it from the store"
            );
            SearchIndex::rebuild_in(dir)
        }
        other => other,
    }
}

/// Opens the index of `data_dir` and spawns its sync task; `None` (logged) when the index
/// cannot be opened — the server then runs without `/office/search`.
pub(crate) fn start(
    data_dir: &Path,
    store: &Store,
    stop: watch::Receiver<bool>,
) -> Option<(SearchIndex, JoinHandle<()>)> {
    let dir = crate::search::archive_index_dir(None, Some(&data_dir.to_path_buf()));
    match open(&dir) {
        Ok(index) => {
            let task = spawn(store.clone(), index.clone(), INTERVAL, stop);
            tracing::info!(dir = %dir.display(), docs = index.num_docs(), "archive search index");
            Some((index, task))
        }
        Err(e) => {
            tracing::error!(error = %e, dir = %dir.display(), "archive search disabled: cannot open the index");
            None
        }
    }
}

/// Syncs `index` with `store` every `interval` until `stop` turns true. A writer lock held by
/// another process (`otklik search --rebuild`) or a failing store is logged and retried on
/// the next tick.
pub(crate) fn spawn(
    store: Store,
    index: SearchIndex,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut indexer: Option<Indexer> = None;
        let mut warned = false;
        loop {
            if *stop.borrow() {
                break;
            }
            if indexer.is_none() {
                match index.indexer(writer_options()) {
                    Ok(i) => {
                        indexer = Some(i);
                        warned = false;
                    }
                    Err(e) if !warned => {
                        tracing::warn!(error = %e, "search index writer unavailable; retrying");
                        warned = true;
                    }
                    Err(_) => {}
                }
            }
            if let Some(i) = indexer.as_mut() {
                match sync(&store, i, SyncOptions::default()).await {
                    Ok(r) if r.posts + r.messages + r.deleted > 0 => {
                        tracing::debug!(
                            posts = r.posts,
                            messages = r.messages,
                            deleted = r.deleted,
                            "search index synced"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "search index sync failed; retrying");
                        // A broken writer is dropped and taken again.
                        if matches!(e, SearchError::Index(_)) {
                            indexer = None;
                        }
                    }
                }
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                () = tokio::time::sleep(interval) => {}
            }
        }
        if let Some(i) = indexer {
            match tokio::task::spawn_blocking(move || i.finish()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "search index writer did not close cleanly")
                }
                Err(e) => tracing::warn!(error = %e, "search index writer did not close cleanly"),
            }
        }
        tracing::debug!("search index sync stopped");
    })
}

/// How often `serve` checks the saved searches for spikes (each spiking search is alerted at
/// most once a day, so checking often only makes the alert earlier).
pub(crate) const ALERT_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// Checks the saved searches against `index` every `interval` until `stop` (the first check
/// one `interval` after start, when the sync task has filled the index), queueing one alert
/// e-mail per spiking search per day in the outbox, which the server's sender delivers.
/// `search_url` is the back-office search page linked from the e-mails.
pub(crate) fn spawn_alerts(
    store: Store,
    index: SearchIndex,
    interval: Duration,
    search_url: Option<String>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let options = otklik_reports::alerts::AlertOptions {
            search_url,
            ..Default::default()
        };
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                () = tokio::time::sleep(interval) => {}
            }
            let now = crate::commands::now();
            match otklik_reports::alerts::check_saved_searches(&store, &index, now, &options).await
            {
                Ok(outcomes) => {
                    let queued = outcomes.iter().filter(|o| o.queued.is_some()).count();
                    if queued > 0 {
                        tracing::info!(
                            checked = outcomes.len(),
                            queued,
                            "saved searches: spike alerts queued"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "saved searches check failed; retrying later"),
            }
        }
        tracing::debug!("saved searches check stopped");
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The task follows the store: a message created after it started is searchable within
    /// two ticks; the stop signal ends it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_task_indexes_new_messages_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&otklik_store::sqlite_url(&dir.path().join("t.db")))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let index = open(&dir.path().join("search")).unwrap();
        let (tx, rx) = watch::channel(false);
        let task = spawn(store.clone(), index.clone(), Duration::from_millis(100), rx);
        let new = otklik_domain::NewMessage {
            channel: otklik_domain::Channel::Portal,
            subcategory: otklik_domain::SubcategoryId("roads.potholes".into()),
            territory: None,
            executor: None,
            submitted_via: None,
            author: None,
            author_handle: None,
            source_post: None,
            text: "Глубокая колдобина у остановки".into(),
            address: None,
            confidence_pm: None,
            deadline_at: otklik_domain::Timestamp(crate::commands::now().millis() + 86_400_000),
        };
        let id = store
            .create_message(&new, None, None, crate::commands::now())
            .await
            .unwrap()
            .id;
        let started = std::time::Instant::now();
        loop {
            let found = index
                .search(&otklik_search::SearchQuery::new("колдобины"))
                .unwrap();
            if found.total == 1 {
                assert_eq!(found.hits[0].key, otklik_search::DocKey::message(id.get()));
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "not indexed in 2 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        // The writer is released: another can be taken.
        assert!(index.indexer(writer_options()).is_ok());
    }

    fn pothole(text: &str) -> otklik_domain::NewMessage {
        otklik_domain::NewMessage {
            channel: otklik_domain::Channel::Portal,
            subcategory: otklik_domain::SubcategoryId("roads.potholes".into()),
            territory: None,
            executor: None,
            submitted_via: None,
            author: None,
            author_handle: None,
            source_post: None,
            text: text.into(),
            address: None,
            confidence_pm: None,
            deadline_at: otklik_domain::Timestamp(crate::commands::now().millis() + 86_400_000),
        }
    }

    /// Inside `serve`, a saved search whose matches spike today gets its alert e-mail queued
    /// by the alert task (once: later checks the same day queue nothing more), with no
    /// `otklik searches check` run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_alert_task_queues_one_email_for_a_spike() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&otklik_store::sqlite_url(&dir.path().join("t.db")))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let now = crate::commands::now();
        store
            .create_saved_search(
                &otklik_store::NewSavedSearch {
                    name: "ямы".into(),
                    query: "яма".into(),
                    filters: Default::default(),
                    owner: None,
                    email: "analyst@example.ru".into(),
                    min_count: 3,
                    min_ratio_pct: 200,
                },
                now,
            )
            .await
            .unwrap();
        let ten_days_ago = otklik_domain::Timestamp(now.millis() - 10 * 86_400_000);
        store
            .create_message(&pothole("Яма на дороге у школы"), None, None, ten_days_ago)
            .await
            .unwrap();
        for i in 0..6 {
            store
                .create_message(
                    &pothole(&format!("Огромная яма у дома {i}")),
                    None,
                    None,
                    now,
                )
                .await
                .unwrap();
        }
        let index = open(&dir.path().join("search")).unwrap();
        let (tx, rx) = watch::channel(false);
        let sync_task = spawn(
            store.clone(),
            index.clone(),
            Duration::from_millis(50),
            rx.clone(),
        );
        let alerts = spawn_alerts(
            store.clone(),
            index.clone(),
            Duration::from_millis(300),
            Some("https://otklik.example/office/search".into()),
            rx,
        );
        let started = std::time::Instant::now();
        while store.outbox_counts().await.unwrap().pending == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no alert e-mail queued"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Several more checks: still one e-mail.
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(store.outbox_counts().await.unwrap().pending, 1);
        tx.send(true).unwrap();
        for task in [alerts, sync_task] {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .unwrap()
                .unwrap();
        }
    }
}
