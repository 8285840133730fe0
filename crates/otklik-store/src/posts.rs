//! Collected posts: deduplicated by (network, external id), edits kept as versions, committed
//! together with the collector's cursor; what the classifier decided about them; listing for
//! the CLI.
//!
//! A post belongs to the official community its source reads, when that is known: the post's
//! `community_id` is copied from its source's `community_id` when the post is first stored
//! (see [`Store::register_community`] for how sources get linked).

use std::collections::{HashMap, HashSet};

use otklik_domain::{
    CollectedPost, CommunityId, EntityKind, MessageId, Network, PostId, SourceId, SubcategoryId,
    TerritoryId, Timestamp,
};
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::codes::PostKind;
use crate::rows::{self, POST_COLS, POST_DETAIL_COLS, flag, json_list};
use crate::{Result, Store, StoreError};

/// A post or comment as a collector found it.
///
/// Build one with [`NewPost::new`] and the `with_*` methods; the fields are public, so struct
/// literals work too.
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
    /// For a comment, the external id of the post it is under; `None` for a post.
    pub parent_external_id: Option<String>,
    /// View counter at collection time (refreshed on every sighting).
    pub views: Option<i64>,
    /// Kinds of the attachments, in order («photo», «video», …); stored as a JSON list.
    pub attachments: Vec<String>,
    /// The network reports the item as deleted: the stored post is marked deleted.
    pub deleted: bool,
}

impl NewPost {
    /// A post with its identity, text, date and content hash; no URL, author, parent, views or
    /// attachments, not deleted.
    pub fn new(
        network: Network,
        external_id: impl Into<String>,
        text: impl Into<String>,
        published_at: Timestamp,
        content_hash: impl Into<String>,
    ) -> Self {
        Self {
            network,
            external_id: external_id.into(),
            url: None,
            author: None,
            text: text.into(),
            published_at,
            content_hash: content_hash.into(),
            parent_external_id: None,
            views: None,
            attachments: Vec::new(),
            deleted: false,
        }
    }

    /// With a link to the original.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// With an author handle.
    pub fn with_author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// A comment under the post with this external id.
    pub fn with_parent(mut self, parent_external_id: impl Into<String>) -> Self {
        self.parent_external_id = Some(parent_external_id.into());
        self
    }

    /// With a view counter.
    pub fn with_views(mut self, views: i64) -> Self {
        self.views = Some(views);
        self
    }

    /// With attachment kinds.
    pub fn with_attachments<I, S>(mut self, kinds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.attachments = kinds.into_iter().map(Into::into).collect();
        self
    }

    /// Reported deleted by the network.
    pub fn with_deleted(mut self, deleted: bool) -> Self {
        self.deleted = deleted;
        self
    }
}

/// What the classifier decided about a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// What the post is.
    pub kind: PostKind,
    /// Whether it goes into the workflow as a complaint (the classifier may count a question
    /// as one).
    pub is_complaint: bool,
    /// Rubric, when a complaint.
    pub subcategory: Option<SubcategoryId>,
    /// Confidence, per mille (0..=1000).
    pub confidence_pm: Option<i64>,
    /// Territory the post is about.
    pub territory: Option<TerritoryId>,
    /// When it was classified.
    pub classified_at: Timestamp,
}

/// A stored post with everything collectors and the classifier added to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostDetails {
    /// The post.
    pub post: CollectedPost,
    /// Last time its content changed (first collection time when never edited).
    pub updated_at: Timestamp,
    /// For a comment, the external id of the post it is under.
    pub parent_external_id: Option<String>,
    /// View counter at the last sighting.
    pub views: Option<i64>,
    /// Attachment kinds.
    pub attachments: Vec<String>,
    /// Deleted in the network.
    pub deleted: bool,
    /// When we learned it was deleted (`None` for rows marked before this was recorded).
    pub deleted_at: Option<Timestamp>,
    /// The official community it was collected from, when known.
    pub community: Option<CommunityId>,
    /// The current classification; `None` until classified (and again after an edit of a post
    /// not yet turned into a message).
    pub classification: Option<Classification>,
    /// The workflow message created from it.
    pub message: Option<MessageId>,
}

impl PostDetails {
    /// True for a comment (it has a parent post).
    pub fn is_comment(&self) -> bool {
        self.parent_external_id.is_some()
    }
}

/// Which posts [`Store::search_posts`] returns: every set field must match. Newest first
/// (by publication time, then id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostFilter {
    /// Only from this source.
    pub source: Option<SourceId>,
    /// Only from this official community.
    pub community: Option<CommunityId>,
    /// Only in this network.
    pub network: Option<Network>,
    /// Only classified as this kind.
    pub kind: Option<PostKind>,
    /// Only (not) complaints; unclassified posts match neither.
    pub is_complaint: Option<bool>,
    /// Published at or after.
    pub since: Option<Timestamp>,
    /// Published before.
    pub until: Option<Timestamp>,
    /// Include posts deleted in the network (left out by default).
    pub include_deleted: bool,
    /// At most this many (no limit when unset).
    pub limit: Option<i64>,
    /// Skip this many first.
    pub offset: Option<i64>,
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

/// The source's community link: `None` when the source does not exist, `Some(None)` when it
/// reads no registered community.
pub(crate) async fn source_community(
    conn: &mut AnyConnection,
    source: SourceId,
) -> Result<Option<Option<i64>>> {
    let row = sqlx::query("SELECT community_id FROM sources WHERE id = $1")
        .bind(source.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(|r| rows::opt_int(r, "community_id"))
        .transpose()
}

pub(crate) fn source_not_found(source: SourceId) -> StoreError {
    StoreError::NotFound {
        entity: EntityKind::Source,
        key: source.to_string(),
    }
}

/// Classification columns cleared when the content of a post not yet turned into a message
/// changes, so that [`Store::posts_to_classify`] offers it again.
const CLEAR_CLASSIFICATION: &str = "kind = NULL, is_complaint = NULL, subcategory = NULL, \
     confidence_pm = NULL, territory_id = NULL, classified_at = NULL";

/// Rows per multi-row statement (16 parameters a row for inserts: well below the parameter
/// limits of SQLite, 32,766, and PostgreSQL, 65,535).
const ROWS_PER_STATEMENT: usize = 200;

/// What storing a new sighting needs to know of a post already stored.
struct Known {
    id: i64,
    content_hash: String,
    message_id: Option<i64>,
    views: Option<i64>,
}

fn check_post(post: &NewPost) -> Result<()> {
    if post.external_id.is_empty() || post.content_hash.is_empty() {
        return Err(StoreError::Invalid(format!(
            "post {:?} of {} needs an external id and a content hash",
            post.external_id, post.network
        )));
    }
    Ok(())
}

/// `$from, $from+1, …` — `n` placeholders, comma-separated.
fn placeholders(sql: &mut String, from: usize, n: usize) {
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&(from + i).to_string());
    }
}

/// Stored posts by network code, then external id.
type KnownPosts = HashMap<&'static str, HashMap<String, Known>>;

fn lookup<'k>(known: &'k KnownPosts, post: &NewPost) -> Option<&'k Known> {
    known.get(post.network.code())?.get(&post.external_id)
}

/// The stored posts among `posts`: one `SELECT … IN (…)` per network and
/// [`ROWS_PER_STATEMENT`] ids instead of one per post.
async fn known_posts(conn: &mut AnyConnection, posts: &[&NewPost]) -> Result<KnownPosts> {
    let mut known = KnownPosts::new();
    let mut networks: Vec<Network> = posts.iter().map(|p| p.network).collect();
    networks.sort_by_key(|n| n.code());
    networks.dedup();
    for network in networks {
        let ids: Vec<&str> = posts
            .iter()
            .filter(|p| p.network == network)
            .map(|p| p.external_id.as_str())
            .collect();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut sql = String::from(
                "SELECT id, external_id, content_hash, message_id, views FROM posts \
                 WHERE network = $1 AND external_id IN (",
            );
            placeholders(&mut sql, 2, chunk.len());
            sql.push(')');
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(network.code());
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *conn).await? {
                known.entry(network.code()).or_default().insert(
                    rows::text(&row, "external_id")?,
                    Known {
                        id: rows::int(&row, "id")?,
                        content_hash: rows::text(&row, "content_hash")?,
                        message_id: rows::opt_int(&row, "message_id")?,
                        views: rows::opt_int(&row, "views")?,
                    },
                );
            }
        }
    }
    Ok(known)
}

/// Inserts posts not stored yet, [`ROWS_PER_STATEMENT`] rows per `INSERT`.
async fn insert_posts(
    conn: &mut AnyConnection,
    source: SourceId,
    community: Option<i64>,
    posts: &[&NewPost],
    now: Timestamp,
) -> Result<()> {
    const COLS: usize = 16;
    for chunk in posts.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(
            "INSERT INTO posts (source_id, network, external_id, url, author, text, \
             published_at, collected_at, updated_at, content_hash, parent_external_id, views, \
             attachments, deleted, deleted_at, community_id) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            placeholders(&mut sql, 1 + i * COLS, COLS);
            sql.push(')');
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for post in chunk {
            query = query
                .bind(source.get())
                .bind(post.network.code())
                .bind(post.external_id.as_str())
                .bind(post.url.as_deref())
                .bind(post.author.as_deref())
                .bind(post.text.as_str())
                .bind(post.published_at.millis())
                .bind(now.millis())
                .bind(now.millis())
                .bind(post.content_hash.as_str())
                .bind(post.parent_external_id.as_deref())
                .bind(post.views)
                .bind(json_list(post.attachments.iter().map(String::as_str)))
                .bind(flag(post.deleted))
                .bind(post.deleted.then_some(now.millis()))
                .bind(community);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A new sighting of a stored post: deletion noted, views refreshed, an edit versioned.
async fn store_known(
    conn: &mut AnyConnection,
    community: Option<i64>,
    known: &Known,
    post: &NewPost,
    now: Timestamp,
    outcome: &mut StorePostsOutcome,
) -> Result<()> {
    let id = known.id;
    if post.deleted {
        mark_deleted(conn, id, now).await?;
    }
    if known.content_hash == post.content_hash {
        if post.views.is_some() && post.views != known.views {
            sqlx::query("UPDATE posts SET views = $1 WHERE id = $2")
                .bind(post.views)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        outcome.unchanged += 1;
        return Ok(());
    }
    // The superseded version, copied inside the database (no round trip of its text).
    sqlx::query(
        "INSERT INTO post_versions (post_id, content_hash, text, seen_at) \
         SELECT id, content_hash, text, updated_at FROM posts WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let clear = if known.message_id.is_none() {
        format!(", {CLEAR_CLASSIFICATION}")
    } else {
        String::new()
    };
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE posts SET text = $1, content_hash = $2, url = COALESCE($3, url), \
         author = COALESCE($4, author), updated_at = $5, \
         parent_external_id = COALESCE($6, parent_external_id), views = COALESCE($7, views), \
         attachments = $8, community_id = COALESCE(community_id, $9){clear} WHERE id = $10"
    )))
    .bind(post.text.as_str())
    .bind(post.content_hash.as_str())
    .bind(post.url.as_deref())
    .bind(post.author.as_deref())
    .bind(now.millis())
    .bind(post.parent_external_id.as_deref())
    .bind(post.views)
    .bind(json_list(post.attachments.iter().map(String::as_str)))
    .bind(community)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    outcome.updated += 1;
    Ok(())
}

/// Stores a batch inside the caller's transaction. The stored posts of the batch are read in
/// one query, new posts go in multi-row inserts; a batch naming the same post twice is
/// stored post after post instead, so that the second sighting sees the first.
async fn store_batch(
    conn: &mut AnyConnection,
    source: SourceId,
    community: Option<i64>,
    posts: &[NewPost],
    now: Timestamp,
) -> Result<StorePostsOutcome> {
    for post in posts {
        check_post(post)?;
    }
    let mut outcome = StorePostsOutcome::default();
    let mut keys = HashSet::with_capacity(posts.len());
    let distinct = posts
        .iter()
        .all(|p| keys.insert((p.network, p.external_id.as_str())));
    if !distinct {
        for post in posts {
            let known = known_posts(conn, &[post]).await?;
            match lookup(&known, post) {
                Some(k) => store_known(conn, community, k, post, now, &mut outcome).await?,
                None => {
                    insert_posts(conn, source, community, &[post], now).await?;
                    outcome.inserted += 1;
                }
            }
        }
        return Ok(outcome);
    }
    let all: Vec<&NewPost> = posts.iter().collect();
    let known = known_posts(conn, &all).await?;
    let mut fresh = Vec::with_capacity(posts.len());
    for post in posts {
        match lookup(&known, post) {
            Some(k) => store_known(conn, community, k, post, now, &mut outcome).await?,
            None => fresh.push(post),
        }
    }
    insert_posts(conn, source, community, &fresh, now).await?;
    outcome.inserted += fresh.len() as u64;
    Ok(outcome)
}

/// Marks a post deleted; the first deletion time is kept.
async fn mark_deleted(conn: &mut AnyConnection, id: i64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE posts SET deleted = 1, deleted_at = COALESCE(deleted_at, $1) WHERE id = $2",
    )
    .bind(now.millis())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// SQL that keeps the larger of a nullable column and a nullable new value.
pub(crate) fn later_of(column: &str, value: &str) -> String {
    format!("CASE WHEN {column} IS NULL OR {column} < {value} THEN {value} ELSE {column} END")
}

/// Records one verdict inside the caller's transaction (see [`Store::record_classification`]).
async fn classify_in(
    conn: &mut AnyConnection,
    post: PostId,
    classification: &Classification,
    message: Option<MessageId>,
) -> Result<()> {
    check_confidence(classification.confidence_pm)?;
    let row = sqlx::query("SELECT message_id FROM posts WHERE id = $1")
        .bind(post.get())
        .fetch_optional(&mut *conn)
        .await?
        // `EntityKind` has no post kind: a missing post is an invalid argument.
        .ok_or_else(|| StoreError::Invalid(format!("post {post} does not exist")))?;
    let linked = rows::opt_int(&row, "message_id")?.map(MessageId);
    if let (Some(linked), Some(message)) = (linked, message)
        && linked != message
    {
        return Err(StoreError::Invalid(format!(
            "post {post} already became message {linked}; it cannot be linked to {message}"
        )));
    }
    sqlx::query(
        "UPDATE posts SET kind = $1, is_complaint = $2, subcategory = $3, \
         confidence_pm = $4, territory_id = $5, classified_at = $6, \
         message_id = COALESCE($7, message_id) WHERE id = $8",
    )
    .bind(classification.kind.code())
    .bind(flag(classification.is_complaint))
    .bind(classification.subcategory.as_ref().map(|s| s.0.as_str()))
    .bind(classification.confidence_pm)
    .bind(classification.territory.map(TerritoryId::get))
    .bind(classification.classified_at.millis())
    .bind(message.map(MessageId::get))
    .bind(post.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records many verdicts inside the caller's transaction: the linked messages of a chunk
/// of posts read in one `SELECT … IN (…)`, the chunk written in one `UPDATE … FROM (VALUES …)`.
/// A batch naming the same post twice is recorded verdict after verdict instead (the later
/// replaces the earlier, as with one call each).
async fn classify_batch(
    conn: &mut AnyConnection,
    verdicts: &[(PostId, Classification, Option<MessageId>)],
) -> Result<()> {
    for (_, classification, _) in verdicts {
        check_confidence(classification.confidence_pm)?;
    }
    let mut seen = HashSet::with_capacity(verdicts.len());
    if !verdicts.iter().all(|(post, _, _)| seen.insert(*post)) {
        for (post, classification, message) in verdicts {
            classify_in(conn, *post, classification, *message).await?;
        }
        return Ok(());
    }
    const COLS: usize = 8;
    for chunk in verdicts.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from("SELECT id, message_id FROM posts WHERE id IN (");
        placeholders(&mut sql, 1, chunk.len());
        sql.push(')');
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (post, _, _) in chunk {
            query = query.bind(post.get());
        }
        let mut linked = HashMap::with_capacity(chunk.len());
        for row in query.fetch_all(&mut *conn).await? {
            linked.insert(rows::int(&row, "id")?, rows::opt_int(&row, "message_id")?);
        }
        for (post, _, message) in chunk {
            // `EntityKind` has no post kind: a missing post is an invalid argument.
            let current = linked
                .get(&post.get())
                .ok_or_else(|| StoreError::Invalid(format!("post {post} does not exist")))?;
            if let (Some(current), Some(message)) = (current, message)
                && *current != message.get()
            {
                return Err(StoreError::Invalid(format!(
                    "post {post} already became message {current}; it cannot be linked to \
                     {message}"
                )));
            }
        }
        // VALUES columns are named column1, column2, … on both SQLite and PostgreSQL.
        let mut sql = String::from(
            "UPDATE posts SET kind = v.column2, is_complaint = v.column3, \
             subcategory = v.column4, confidence_pm = v.column5, territory_id = v.column6, \
             classified_at = v.column7, message_id = COALESCE(v.column8, posts.message_id) \
             FROM (VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            placeholders(&mut sql, 1 + i * COLS, COLS);
            sql.push(')');
        }
        sql.push_str(") AS v WHERE posts.id = v.column1");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (post, c, message) in chunk {
            query = query
                .bind(post.get())
                .bind(c.kind.code())
                .bind(flag(c.is_complaint))
                .bind(c.subcategory.as_ref().map(|s| s.0.as_str()))
                .bind(c.confidence_pm)
                .bind(c.territory.map(TerritoryId::get))
                .bind(c.classified_at.millis())
                .bind(message.map(MessageId::get));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

fn check_confidence(c: Option<i64>) -> Result<()> {
    match c {
        Some(c) if !(0..=1000).contains(&c) => Err(StoreError::Invalid(format!(
            "confidence must be 0..=1000 per mille, got {c}"
        ))),
        _ => Ok(()),
    }
}

impl Store {
    /// Stores what one collector run of `source` found, and its new `cursor`, in ONE
    /// transaction: if anything fails, no post is stored and the cursor stays where it was,
    /// so the next run fetches the same items again.
    ///
    /// Posts are keyed by `(network, external_id)`: a new key is inserted, a known key with
    /// the same content hash is left alone (only its view counter is refreshed), a known key
    /// with a new hash is an edit — the old text is kept in the post's versions, and unless
    /// the post already became a message its classification is cleared so that it is
    /// classified again. A post reported deleted ([`NewPost::deleted`]) is marked deleted.
    /// `cursor: None` keeps the stored cursor. New posts take the source's community link.
    ///
    /// In the same transaction the source's state is updated: `last_success_at` becomes
    /// `now`, `items_total` grows by the inserted count, `last_published_at` moves up to the
    /// newest publication time in `posts`, and — a stored batch being a success —
    /// `consecutive_failures` goes back to 0 and the circuit closes. The community the source
    /// reads gets its `last_post_at` moved up to the newest non-comment post. The poll-level
    /// figures (items in the last poll, `last_poll_at`) come from
    /// [`Store::record_poll_success`], called once per poll.
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
        let community = source_community(conn, source)
            .await?
            .ok_or_else(|| source_not_found(source))?;
        let newest = posts.iter().map(|p| p.published_at.millis()).max();
        // The cursor goes first: a failure in any post below rolls it back with the posts.
        let sql = format!(
            "INSERT INTO source_state (source_id, cursor, last_success_at, items_total, \
             last_published_at) VALUES ($1, $2, $3, 0, $4) \
             ON CONFLICT (source_id) DO UPDATE SET \
             cursor = COALESCE(excluded.cursor, source_state.cursor), \
             last_success_at = excluded.last_success_at, \
             last_published_at = {}, \
             consecutive_failures = 0, circuit = 'closed', open_until = NULL",
            later_of(
                "source_state.last_published_at",
                "excluded.last_published_at"
            )
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(source.get())
            .bind(cursor)
            .bind(now.millis())
            .bind(newest)
            .execute(&mut *conn)
            .await?;
        let outcome = store_batch(conn, source, community, posts, now).await?;
        let inserted = i64::try_from(outcome.inserted).unwrap_or(i64::MAX);
        sqlx::query("UPDATE source_state SET items_total = items_total + $1 WHERE source_id = $2")
            .bind(inserted)
            .bind(source.get())
            .execute(&mut *conn)
            .await?;
        let newest_post = posts
            .iter()
            .filter(|p| p.parent_external_id.is_none())
            .map(|p| p.published_at.millis())
            .max();
        if let (Some(community), Some(newest_post)) = (community, newest_post) {
            let sql = format!(
                "UPDATE communities SET last_post_at = {} WHERE id = $2",
                later_of("last_post_at", "$1")
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(newest_post)
                .bind(community)
                .execute(&mut *conn)
                .await?;
        }
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

    /// Notes a failed collector run (the cursor is untouched): the error and its time, and one
    /// more consecutive failure. Unlike [`Store::record_poll_failure`] it neither reschedules
    /// the source nor touches its circuit.
    #[tracing::instrument(skip(self))]
    pub async fn record_source_error(
        &self,
        source: SourceId,
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if source_community(&mut tx, source).await?.is_none() {
            return Err(source_not_found(source));
        }
        sqlx::query(
            "INSERT INTO source_state (source_id, last_error_at, last_error, items_total, \
             consecutive_failures, last_poll_at) VALUES ($1, $2, $3, 0, 1, $2) \
             ON CONFLICT (source_id) DO UPDATE SET \
             last_error_at = excluded.last_error_at, last_error = excluded.last_error, \
             last_poll_at = excluded.last_poll_at, \
             consecutive_failures = source_state.consecutive_failures + 1",
        )
        .bind(source.get())
        .bind(now.millis())
        .bind(error)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks the post `(network, external_id)` deleted in the network (the first deletion
    /// time is kept; the post and its history stay). False when no such post is stored.
    #[tracing::instrument(skip(self))]
    pub async fn mark_post_deleted(
        &self,
        network: Network,
        external_id: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE posts SET deleted = 1, deleted_at = COALESCE(deleted_at, $1) \
             WHERE network = $2 AND external_id = $3",
        )
        .bind(now.millis())
        .bind(network.code())
        .bind(external_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Up to `limit` posts not classified yet (and not deleted), oldest publication first.
    #[tracing::instrument(skip(self))]
    pub async fn posts_to_classify(&self, limit: i64) -> Result<Vec<PostDetails>> {
        if limit < 0 {
            return Err(StoreError::Invalid("limit must not be negative".into()));
        }
        let sql = format!(
            "SELECT {POST_DETAIL_COLS} FROM posts WHERE classified_at IS NULL AND deleted = 0 \
             ORDER BY published_at, id LIMIT $1"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::post_details).collect()
    }

    /// Records what the classifier decided about `post` and, when given, the workflow message
    /// created from it.
    ///
    /// Idempotent: recording the same verdict again leaves the same row; a later verdict
    /// replaces the earlier one. `message: None` keeps a message already linked; linking a
    /// *different* message than the one already linked is refused with
    /// [`StoreError::Invalid`] (one post, one message).
    #[tracing::instrument(skip(self, classification), fields(kind = %classification.kind))]
    pub async fn record_classification(
        &self,
        post: PostId,
        classification: &Classification,
        message: Option<MessageId>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        classify_in(&mut tx, post, classification, message).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Store::record_classification`] for many posts in ONE transaction (all or nothing):
    /// the analyst writes a whole batch at once instead of one transaction per post.
    #[tracing::instrument(skip(self, verdicts), fields(n = verdicts.len()))]
    pub async fn record_classifications(
        &self,
        verdicts: &[(PostId, Classification, Option<MessageId>)],
    ) -> Result<()> {
        if verdicts.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        classify_batch(&mut tx, verdicts).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A stored post with its collector and classifier fields.
    #[tracing::instrument(skip(self))]
    pub async fn post_details(&self, id: PostId) -> Result<Option<PostDetails>> {
        let sql = format!("SELECT {POST_DETAIL_COLS} FROM posts WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::post_details).transpose()
    }

    /// Posts matching `filter`, newest publication first.
    #[tracing::instrument(skip(self))]
    pub async fn search_posts(&self, filter: &PostFilter) -> Result<Vec<PostDetails>> {
        let limit = filter.limit.unwrap_or(i64::MAX);
        let offset = filter.offset.unwrap_or(0);
        if limit < 0 || offset < 0 {
            return Err(StoreError::Invalid(
                "limit and offset must not be negative".into(),
            ));
        }
        let mut sql = format!("SELECT {POST_DETAIL_COLS} FROM posts WHERE 1 = 1");
        let mut args: Vec<Arg> = Vec::new();
        let mut cond = |sql: &mut String, column: &str, op: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(&format!(" AND {column} {op} ${}", args.len()));
        };
        if let Some(source) = filter.source {
            cond(&mut sql, "source_id", "=", Arg::Int(source.get()));
        }
        if let Some(community) = filter.community {
            cond(&mut sql, "community_id", "=", Arg::Int(community.get()));
        }
        if let Some(network) = filter.network {
            cond(&mut sql, "network", "=", Arg::Text(network.code()));
        }
        if let Some(kind) = filter.kind {
            cond(&mut sql, "kind", "=", Arg::Text(kind.code()));
        }
        if let Some(is_complaint) = filter.is_complaint {
            cond(&mut sql, "is_complaint", "=", Arg::Int(flag(is_complaint)));
        }
        if let Some(since) = filter.since {
            cond(&mut sql, "published_at", ">=", Arg::Int(since.millis()));
        }
        if let Some(until) = filter.until {
            cond(&mut sql, "published_at", "<", Arg::Int(until.millis()));
        }
        if !filter.include_deleted {
            sql.push_str(" AND deleted = 0");
        }
        let n = args.len();
        sql.push_str(&format!(
            " ORDER BY published_at DESC, id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for arg in args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
            };
        }
        let rows = query.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        rows.iter().map(rows::post_details).collect()
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

/// A bound value of a dynamically built query.
enum Arg {
    Int(i64),
    Text(&'static str),
}
