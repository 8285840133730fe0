//! Keeps the index in step with the store: incremental [`sync`] from the watermark, full
//! [`rebuild`]. Enabled by the `store` feature (the default).
//!
//! The index is a cache: everything in it can be recreated from the store. The watermark
//! (the last indexed change of each feed) is written in the same commit as the documents, so
//! after a crash or a restart [`sync`] resumes exactly where the last commit stopped.
//!
//! Each sync re-reads a short window before the watermark ([`SyncOptions::overlap_ms`]):
//! a transaction that committed after a later one but carries an earlier change time (two
//! writers, a slow commit) is still picked up. Re-indexing a document is idempotent.
//!
//! `sync` does blocking index work (commits fsync) between its awaits; call it from a task
//! that may block for a few milliseconds, e.g. every second from the pipeline, which keeps
//! new items searchable within about a second.

use otklik_store::Store;
use otklik_store::search_feed::{FeedMessage, FeedPosition, FeedPost};

use crate::Result;
use crate::doc::{DocKey, DocKind, SearchDoc};
use crate::index::{Change, FeedMark, Indexer, IndexerOptions, SearchIndex, Watermark};

/// Settings of [`sync`] and [`rebuild`].
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Rows read per query (default 2,000).
    pub page: i64,
    /// How far before the watermark a sync starts again, ms (default 5,000).
    pub overlap_ms: i64,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            page: 2_000,
            overlap_ms: 5_000,
        }
    }
}

/// What a sync or rebuild did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Posts (re)indexed.
    pub posts: u64,
    /// Messages (re)indexed.
    pub messages: u64,
    /// Documents removed (posts deleted in their network).
    pub deleted: u64,
    /// The watermark committed.
    pub watermark: Watermark,
}

fn category_of(subcategory: &str) -> String {
    subcategory
        .split_once('.')
        .map_or(subcategory, |(c, _)| c)
        .to_owned()
}

/// The document of a stored post; `None` for a post deleted in its network (it leaves the
/// index). `status` is the classifier's kind (`complaint`, `news`, …) when classified.
pub fn post_doc(p: &FeedPost) -> Option<SearchDoc> {
    if p.details.deleted {
        return None;
    }
    let post = &p.details.post;
    let class = p.details.classification.as_ref();
    let subcategory = class
        .and_then(|c| c.subcategory.as_ref())
        .map(|s| s.0.clone());
    Some(SearchDoc {
        kind: DocKind::Post,
        id: post.id.get(),
        title: None,
        text: post.text.clone(),
        url: post.url.clone(),
        published_at: post.published_at.millis(),
        updated_at: p.changed_at.millis(),
        category: subcategory.as_deref().map(category_of),
        subcategory,
        territory: class.and_then(|c| c.territory).map(|t| t.get().to_string()),
        organisation: p.organisation.map(|o| o.get().to_string()),
        network: Some(post.network.code().to_owned()),
        status: class.map(|c| c.kind.code().to_owned()),
    })
}

/// The document of a message: registered at `created_at`, `status` its workflow status,
/// `organisation` its executor, `network` that of the post it came from.
pub fn message_doc(m: &FeedMessage) -> SearchDoc {
    let msg = &m.message;
    SearchDoc {
        kind: DocKind::Message,
        id: msg.id.get(),
        title: None,
        text: match &msg.address {
            Some(address) if !address.is_empty() => format!("{}\n{address}", msg.text),
            _ => msg.text.clone(),
        },
        url: None,
        published_at: msg.created_at.millis(),
        updated_at: m.changed_at.millis(),
        category: Some(category_of(&msg.subcategory.0)),
        subcategory: Some(msg.subcategory.0.clone()),
        territory: msg.territory.map(|t| t.get().to_string()),
        organisation: msg.executor.map(|o| o.get().to_string()),
        network: m.network.map(|n| n.code().to_owned()),
        status: Some(msg.status.code().to_owned()),
    }
}

fn mark(p: FeedPosition) -> FeedMark {
    FeedMark {
        changed_at: p.changed_at.millis(),
        id: p.id,
    }
}

fn restart_from(mark: Option<FeedMark>, overlap_ms: i64) -> FeedPosition {
    match mark {
        None => FeedPosition::START,
        Some(m) => FeedPosition {
            changed_at: otklik_domain::Timestamp(m.changed_at.saturating_sub(overlap_ms)),
            id: i64::MIN,
        },
    }
}

/// Brings the index up to date with every post and message changed since its watermark,
/// committing after each page (with the watermark of that page), so an interrupted sync
/// keeps what it did.
#[tracing::instrument(skip_all)]
pub async fn sync(
    store: &Store,
    indexer: &mut Indexer,
    options: SyncOptions,
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    let page = options.page.max(1);

    let mut from = restart_from(indexer.watermark().posts, options.overlap_ms);
    loop {
        let rows = store.posts_changed_after(from, page).await?;
        let Some(last) = rows.last() else { break };
        from = last.position();
        for row in &rows {
            match post_doc(row) {
                Some(doc) => {
                    indexer.upsert(&doc)?;
                    report.posts += 1;
                }
                None => {
                    indexer.delete(DocKey::post(row.details.post.id.get()));
                    report.deleted += 1;
                }
            }
        }
        let mut wm = indexer.watermark();
        wm.posts = wm.posts.max(Some(mark(from)));
        indexer.set_watermark(wm);
        indexer.commit()?;
        if (rows.len() as i64) < page {
            break;
        }
    }

    let mut from = restart_from(indexer.watermark().messages, options.overlap_ms);
    loop {
        let rows = store.messages_changed_after(from, page).await?;
        let Some(last) = rows.last() else { break };
        from = last.position();
        indexer.apply(rows.iter().map(|m| Change::Upsert(message_doc(m))))?;
        report.messages += rows.len() as u64;
        let mut wm = indexer.watermark();
        wm.messages = wm.messages.max(Some(mark(from)));
        indexer.set_watermark(wm);
        indexer.commit()?;
        if (rows.len() as i64) < page {
            break;
        }
    }
    report.watermark = indexer.watermark();
    tracing::info!(
        posts = report.posts,
        messages = report.messages,
        deleted = report.deleted,
        "search index synced"
    );
    Ok(report)
}

/// Recreates the index in `dir` from the whole store: notes the store's head, reads every
/// post and message in id order (the primary key; no full scan per page), commits with the
/// head as the watermark. Changes made during the rebuild are picked up by the next
/// [`sync`], which starts [`SyncOptions::overlap_ms`] before the head.
#[tracing::instrument(skip_all, fields(dir = %dir.as_ref().display()))]
pub async fn rebuild(
    store: &Store,
    dir: impl AsRef<std::path::Path>,
    indexer_options: IndexerOptions,
    options: SyncOptions,
) -> Result<(SearchIndex, SyncReport)> {
    let head = store.search_feed_head().await?;
    let index = SearchIndex::rebuild_in(dir)?;
    let mut indexer = index.indexer(indexer_options)?;
    let mut report = SyncReport::default();
    let page = options.page.max(1);

    let mut after = i64::MIN;
    loop {
        let rows = store.posts_by_id_after(after, page).await?;
        let Some(last) = rows.last() else { break };
        after = last.details.post.id.get();
        for row in &rows {
            if let Some(doc) = post_doc(row) {
                indexer.add_new(&doc)?;
                report.posts += 1;
            }
        }
    }
    let mut after = i64::MIN;
    loop {
        let rows = store.messages_by_id_after(after, page).await?;
        let Some(last) = rows.last() else { break };
        after = last.message.id.get();
        for row in &rows {
            indexer.add_new(&message_doc(row))?;
            report.messages += 1;
        }
    }
    let head_mark = |t: Option<otklik_domain::Timestamp>| {
        t.map(|t| FeedMark {
            changed_at: t.millis(),
            id: i64::MIN,
        })
    };
    indexer.set_watermark(Watermark {
        posts: head_mark(head.posts),
        messages: head_mark(head.messages),
    });
    indexer.commit()?;
    report.watermark = indexer.watermark();
    indexer.finish()?;
    tracing::info!(
        posts = report.posts,
        messages = report.messages,
        "search index rebuilt"
    );
    Ok((index, report))
}
