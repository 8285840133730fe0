//! Collected posts: deduplicated by (network, external id), edits kept as versions, committed
//! together with the collector's cursor.

use otklik_domain::{CollectedPost, EntityKind, Network, PostId, SourceId, Timestamp};
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::rows::{self, POST_COLS};
use crate::{Result, Store, StoreError};

/// A post or comment as a collector found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    /// Network.
    pub network: Network,
    /// Id in the network; with `network`, the post's identity.
    pub external_id: String,
    /// Link to the original.
    pub url: Option<String>,
    /// Author handle.
    pub author: Option<String>,
    /// Plain text.
    pub text: String,
    /// When it was published.
    pub published_at: Timestamp,
    /// Hash of the content; a different hash for a known post is an edit.
    pub content_hash: String,
}

/// What [`Store::store_posts`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorePostsOutcome {
    /// Posts seen for the first time.
    pub inserted: u64,
    /// Known posts whose content changed (the previous text went to the version history).
    pub updated: u64,
    /// Known posts with the same content hash.
    pub unchanged: u64,
}

/// A superseded version of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostVersion {
    /// The post.
    pub post: PostId,
    /// Hash of that version.
    pub content_hash: String,
    /// Its text.
    pub text: String,
    /// When that version was first stored.
    pub seen_at: Timestamp,
}

async fn source_exists(conn: &mut AnyConnection, source: SourceId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sources WHERE id = $1")
        .bind(source.get())
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

async fn store_one(
    conn: &mut AnyConnection,
    source: SourceId,
    post: &NewPost,
    now: Timestamp,
    outcome: &mut StorePostsOutcome,
) -> Result<()> {
    if post.external_id.is_empty() || post.content_hash.is_empty() {
        return Err(StoreError::Invalid(format!(
            "post {:?} of {} needs an external id and a content hash",
            post.external_id, post.network
        )));
    }
    let existing = sqlx::query(
        "SELECT id, content_hash, text, updated_at FROM posts \
         WHERE network = $1 AND external_id = $2",
    )
    .bind(post.network.code())
    .bind(post.external_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(existing) = existing else {
        sqlx::query(
            "INSERT INTO posts (source_id, network, external_id, url, author, text, \
             published_at, collected_at, updated_at, content_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        )
        .bind(source.get())
        .bind(post.network.code())
        .bind(post.external_id.as_str())
        .bind(post.url.as_deref())
        .bind(post.author.as_deref())
        .bind(post.text.as_str())
        .bind(post.published_at.millis())
        .bind(now.millis())
        .bind(post.content_hash.as_str())
        .execute(&mut *conn)
        .await?;
        outcome.inserted += 1;
        return Ok(());
    };
    let id = rows::int(&existing, "id")?;
    if rows::text(&existing, "content_hash")? == post.content_hash {
        outcome.unchanged += 1;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO post_versions (post_id, content_hash, text, seen_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(rows::text(&existing, "content_hash")?)
    .bind(rows::text(&existing, "text")?)
    .bind(rows::int(&existing, "updated_at")?)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE posts SET text = $1, content_hash = $2, url = COALESCE($3, url), \
         author = COALESCE($4, author), updated_at = $5 WHERE id = $6",
    )
    .bind(post.text.as_str())
    .bind(post.content_hash.as_str())
    .bind(post.url.as_deref())
    .bind(post.author.as_deref())
    .bind(now.millis())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    outcome.updated += 1;
    Ok(())
}

impl Store {
    /// Stores what one collector run of `source` found, and its new `cursor`, in ONE
    /// transaction: if anything fails, no post is stored and the cursor stays where it was,
    /// so the next run fetches the same items again.
    ///
    /// Posts are keyed by `(network, external_id)`: a new key is inserted, a known key with
    /// the same content hash is left alone, a known key with a new hash is an edit — the old
    /// text is kept in the post's versions. `cursor: None` keeps the stored cursor. The
    /// source's `last_success_at` becomes `now` and `items_total` grows by the inserted count.
    #[tracing::instrument(skip(self, posts, cursor), fields(posts = posts.len()))]
    pub async fn store_posts(
        &self,
        source: SourceId,
        posts: &[NewPost],
        cursor: Option<&str>,
        now: Timestamp,
    ) -> Result<StorePostsOutcome> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        if !source_exists(conn, source).await? {
            return Err(StoreError::NotFound {
                entity: EntityKind::Source,
                key: source.to_string(),
            });
        }
        // The cursor goes first: a failure in any post below rolls it back with the posts.
        sqlx::query(
            "INSERT INTO source_state (source_id, cursor, last_success_at, items_total) \
             VALUES ($1, $2, $3, 0) \
             ON CONFLICT (source_id) DO UPDATE SET \
             cursor = COALESCE(excluded.cursor, source_state.cursor), \
             last_success_at = excluded.last_success_at",
        )
        .bind(source.get())
        .bind(cursor)
        .bind(now.millis())
        .execute(&mut *conn)
        .await?;
        let mut outcome = StorePostsOutcome::default();
        for post in posts {
            store_one(conn, source, post, now, &mut outcome).await?;
        }
        let inserted = i64::try_from(outcome.inserted).unwrap_or(i64::MAX);
        sqlx::query("UPDATE source_state SET items_total = items_total + $1 WHERE source_id = $2")
            .bind(inserted)
            .bind(source.get())
            .execute(&mut *conn)
            .await?;
        tx.commit().await?;
        tracing::debug!(
            inserted = outcome.inserted,
            updated = outcome.updated,
            unchanged = outcome.unchanged,
            "posts stored"
        );
        Ok(outcome)
    }

    /// The cursor committed by the source's last successful run, if any.
    #[tracing::instrument(skip(self))]
    pub async fn source_cursor(&self, source: SourceId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT cursor FROM source_state WHERE source_id = $1")
            .bind(source.get())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => rows::opt_text(&row, "cursor")?,
            None => None,
        })
    }

    /// Notes a failed collector run (the cursor is untouched).
    #[tracing::instrument(skip(self))]
    pub async fn record_source_error(
        &self,
        source: SourceId,
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !source_exists(&mut tx, source).await? {
            return Err(StoreError::NotFound {
                entity: EntityKind::Source,
                key: source.to_string(),
            });
        }
        sqlx::query(
            "INSERT INTO source_state (source_id, last_error_at, last_error, items_total) \
             VALUES ($1, $2, $3, 0) \
             ON CONFLICT (source_id) DO UPDATE SET \
             last_error_at = excluded.last_error_at, last_error = excluded.last_error",
        )
        .bind(source.get())
        .bind(now.millis())
        .bind(error)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A stored post by id.
    #[tracing::instrument(skip(self))]
    pub async fn post(&self, id: PostId) -> Result<Option<CollectedPost>> {
        let sql = format!("SELECT {POST_COLS} FROM posts WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::post).transpose()
    }

    /// A stored post by its identity in the network.
    #[tracing::instrument(skip(self))]
    pub async fn post_by_external_id(
        &self,
        network: Network,
        external_id: &str,
    ) -> Result<Option<CollectedPost>> {
        let sql = format!("SELECT {POST_COLS} FROM posts WHERE network = $1 AND external_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(network.code())
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::post).transpose()
    }

    /// Superseded versions of a post, oldest first.
    #[tracing::instrument(skip(self))]
    pub async fn post_versions(&self, post: PostId) -> Result<Vec<PostVersion>> {
        let rows = sqlx::query(
            "SELECT post_id, content_hash, text, seen_at FROM post_versions \
             WHERE post_id = $1 ORDER BY id",
        )
        .bind(post.get())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PostVersion {
                    post: PostId(rows::int(r, "post_id")?),
                    content_hash: rows::text(r, "content_hash")?,
                    text: rows::text(r, "text")?,
                    seen_at: Timestamp(rows::int(r, "seen_at")?),
                })
            })
            .collect()
    }
}
