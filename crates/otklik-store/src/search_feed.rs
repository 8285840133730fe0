//! Read-only feeds for the archive search index (`otklik-search`): posts and messages changed
//! after a watermark, in pages, oldest change first, and the same in id order for a rebuild.
//!
//! The *change time* of a row is what the index must follow:
//!
//! * a message: its `updated_at` (every workflow step bumps it);
//! * a post: the latest of `updated_at` (collection or edit), `classified_at` (a new verdict)
//!   and `deleted_at` (reported deleted in the network).
//!
//! Pages are keyset-paginated by `(change time, id)`, so a page boundary never skips or
//! repeats a row however many rows share a millisecond. Rows whose change time ties the
//! watermark but commit *after* it was read would be missed by a strict `>`; the indexer
//! therefore restarts a little before its watermark (see `otklik_search::sync`) and upserts,
//! which is idempotent.
//!
//! Neither table has an index on the change time (the schema predates search), so each
//! changed-after page scans the table; the incremental feed is meant for small deltas. A
//! rebuild reads in primary-key order instead ([`Store::posts_by_id_after`],
//! [`Store::messages_by_id_after`]) after noting the head ([`Store::search_feed_head`]).

use otklik_domain::{Message, Network, OrganisationId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::posts::PostDetails;
use crate::rows::{self, MESSAGE_COLS, POST_DETAIL_COLS};
use crate::{Result, Store, StoreError};

/// A position in a feed: everything at or before `(changed_at, id)` has been seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedPosition {
    /// Change time of the last row seen (epoch ms).
    pub changed_at: Timestamp,
    /// Id of the last row seen at that change time.
    pub id: i64,
}

impl FeedPosition {
    /// The position before every row.
    pub const START: FeedPosition = FeedPosition {
        changed_at: Timestamp(i64::MIN),
        id: i64::MIN,
    };
}

/// A post as the search index needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPost {
    /// The post with its classification.
    pub details: PostDetails,
    /// Its change time (see the module docs).
    pub changed_at: Timestamp,
    /// The organisation owning the official community it was collected from, when known.
    pub organisation: Option<OrganisationId>,
}

impl FeedPost {
    /// This row's feed position.
    pub fn position(&self) -> FeedPosition {
        FeedPosition {
            changed_at: self.changed_at,
            id: self.details.post.id.get(),
        }
    }
}

/// A message as the search index needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMessage {
    /// The message.
    pub message: Message,
    /// Its change time (`updated_at`).
    pub changed_at: Timestamp,
    /// The network of the collected post it came from, when it came from one.
    pub network: Option<Network>,
}

impl FeedMessage {
    /// This row's feed position.
    pub fn position(&self) -> FeedPosition {
        FeedPosition {
            changed_at: self.changed_at,
            id: self.message.id.get(),
        }
    }
}

/// The latest change times when a rebuild starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedHead {
    /// Latest post change time; `None` without posts.
    pub posts: Option<Timestamp>,
    /// Latest message change time; `None` without messages.
    pub messages: Option<Timestamp>,
}

/// The change time of a post: the greatest of `updated_at`, `classified_at`, `deleted_at`
/// (portable: no `GREATEST`/scalar `MAX`).
const POST_CHANGED: &str = "CASE \
     WHEN COALESCE(classified_at, 0) > updated_at \
      AND COALESCE(classified_at, 0) >= COALESCE(deleted_at, 0) THEN classified_at \
     WHEN COALESCE(deleted_at, 0) > updated_at THEN deleted_at \
     ELSE updated_at END";

fn post_select() -> String {
    format!(
        "SELECT {POST_DETAIL_COLS}, {POST_CHANGED} AS changed_at, \
         (SELECT c.organisation_id FROM communities c WHERE c.id = posts.community_id) \
         AS organisation_id FROM posts"
    )
}

fn message_select() -> String {
    format!(
        "SELECT {MESSAGE_COLS}, updated_at AS changed_at, \
         (SELECT p.network FROM posts p WHERE p.id = messages.source_post_id) AS source_network \
         FROM messages"
    )
}

fn check_limit(limit: i64) -> Result<()> {
    if limit <= 0 {
        return Err(StoreError::Invalid("page limit must be positive".into()));
    }
    Ok(())
}

fn feed_post(row: &sqlx::any::AnyRow) -> Result<FeedPost> {
    use sqlx::Row;
    Ok(FeedPost {
        details: rows::post_details(row)?,
        changed_at: Timestamp(row.try_get::<i64, _>("changed_at")?),
        organisation: row
            .try_get::<Option<i64>, _>("organisation_id")?
            .map(OrganisationId),
    })
}

fn feed_message(row: &sqlx::any::AnyRow) -> Result<FeedMessage> {
    use sqlx::Row;
    let network = row
        .try_get::<Option<String>, _>("source_network")?
        .map(|code| code.parse::<Network>())
        .transpose()?;
    Ok(FeedMessage {
        message: rows::message(row)?,
        changed_at: Timestamp(row.try_get::<i64, _>("changed_at")?),
        network,
    })
}

impl Store {
    /// Up to `limit` posts (deleted ones included) whose change time and id come after
    /// `after`, ordered by `(change time, id)`.
    #[tracing::instrument(skip(self))]
    pub async fn posts_changed_after(
        &self,
        after: FeedPosition,
        limit: i64,
    ) -> Result<Vec<FeedPost>> {
        check_limit(limit)?;
        let sql = format!(
            "SELECT * FROM ({}) f WHERE f.changed_at > $1 OR (f.changed_at = $1 AND f.id > $2) \
             ORDER BY f.changed_at, f.id LIMIT $3",
            post_select()
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after.changed_at.millis())
            .bind(after.id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(feed_post).collect()
    }

    /// Up to `limit` messages whose `(updated_at, id)` comes after `after`, in that order.
    #[tracing::instrument(skip(self))]
    pub async fn messages_changed_after(
        &self,
        after: FeedPosition,
        limit: i64,
    ) -> Result<Vec<FeedMessage>> {
        check_limit(limit)?;
        let sql = format!(
            "SELECT * FROM ({}) f WHERE f.changed_at > $1 OR (f.changed_at = $1 AND f.id > $2) \
             ORDER BY f.changed_at, f.id LIMIT $3",
            message_select()
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after.changed_at.millis())
            .bind(after.id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(feed_message).collect()
    }

    /// Up to `limit` posts with an id greater than `after_id`, in id order (for a rebuild:
    /// reads by primary key).
    #[tracing::instrument(skip(self))]
    pub async fn posts_by_id_after(&self, after_id: i64, limit: i64) -> Result<Vec<FeedPost>> {
        check_limit(limit)?;
        let sql = format!("{} WHERE id > $1 ORDER BY id LIMIT $2", post_select());
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(feed_post).collect()
    }

    /// Up to `limit` messages with an id greater than `after_id`, in id order.
    #[tracing::instrument(skip(self))]
    pub async fn messages_by_id_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<FeedMessage>> {
        check_limit(limit)?;
        let sql = format!("{} WHERE id > $1 ORDER BY id LIMIT $2", message_select());
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(feed_message).collect()
    }

    /// The latest change times of posts and messages (read before a rebuild, so that what
    /// changes during it is picked up by the next incremental sync).
    #[tracing::instrument(skip(self))]
    pub async fn search_feed_head(&self) -> Result<FeedHead> {
        use sqlx::Row;
        let sql = format!("SELECT MAX({POST_CHANGED}) AS head FROM posts");
        let posts = sqlx::query(AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?
            .try_get::<Option<i64>, _>("head")?;
        let messages = sqlx::query("SELECT MAX(updated_at) AS head FROM messages")
            .fetch_one(&self.pool)
            .await?
            .try_get::<Option<i64>, _>("head")?;
        Ok(FeedHead {
            posts: posts.map(Timestamp),
            messages: messages.map(Timestamp),
        })
    }
}
