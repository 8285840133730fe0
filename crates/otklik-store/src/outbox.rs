//! The reply outbox: answers to be posted back under the original post in the network (VK
//! `wall.createComment`), kept durably until delivered.
//!
//! [`Store::enqueue_reply`] adds one (deduplicated by its idempotency key). Workers take due
//! replies with [`Store::claim_due_replies`], which leases them for `lease_ms` in one statement
//! (`UPDATE … WHERE id IN (SELECT … LIMIT n) … RETURNING`, with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite serialises writers), so two workers never hold the same reply at once.
//! A worker then reports [`Store::mark_reply_delivered`] — a delivered reply is never handed
//! out again — or [`Store::mark_reply_failed`], which brings the reply back at its next attempt
//! time (or gives up on it). A worker that dies mid-send loses its lease when it expires and
//! the reply is handed out again: `lease_ms` must be longer than a send can take.

use otklik_domain::{EntityKind, MessageId, Network, Timestamp};
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::codes::ReplyStatus;
use crate::rows::{self, REPLY_COLS};
use crate::{Backend, Result, Store, StoreError};

/// An outbound reply's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyId(pub i64);

impl ReplyId {
    /// The raw database value.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for ReplyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An answer to post back under an original post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundReply {
    /// Database id.
    pub id: ReplyId,
    /// The workflow message it answers.
    pub message: MessageId,
    /// Network to post in.
    pub network: Network,
    /// External id of the post to answer under («-123_456»).
    pub target_external_id: String,
    /// The answer text.
    pub text: String,
    /// Deduplication key of the enqueue.
    pub idempotency_key: String,
    /// Where it stands.
    pub status: ReplyStatus,
    /// How many times it was handed out to a worker.
    pub attempts: i64,
    /// Not handed out before this.
    pub next_attempt_at: Timestamp,
    /// While a worker holds it: until when.
    pub lease_until: Option<Timestamp>,
    /// The last failure reported.
    pub last_error: Option<String>,
    /// The comment's id in the network, once delivered.
    pub remote_id: Option<String>,
    /// Enqueued at.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Delivered at.
    pub delivered_at: Option<Timestamp>,
}

async fn reply_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<OutboundReply>> {
    let sql = format!("SELECT {REPLY_COLS} FROM outbound_replies WHERE idempotency_key = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::reply).transpose()
}

fn reply_not_found(id: ReplyId) -> StoreError {
    // `EntityKind` has no reply kind; the reply belongs to a message.
    StoreError::Invalid(format!("outbound reply {id} does not exist"))
}

impl Store {
    /// Queues an answer to `message`, to be posted under `target_external_id` in `network`,
    /// due at once. With a key seen before, returns the reply first queued under it (whatever
    /// its state) and queues nothing.
    #[tracing::instrument(skip(self, text))]
    pub async fn enqueue_reply(
        &self,
        message: MessageId,
        network: Network,
        target_external_id: &str,
        text: &str,
        idempotency_key: &str,
        now: Timestamp,
    ) -> Result<OutboundReply> {
        if target_external_id.trim().is_empty() || idempotency_key.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a reply needs a target post and an idempotency key".into(),
            ));
        }
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("reply text must not be empty".into()));
        }
        let mut tx = self.begin_write().await?;
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE id = $1")
            .bind(message.get())
            .fetch_one(&mut *tx)
            .await?;
        if found == 0 {
            return Err(StoreError::NotFound {
                entity: EntityKind::Message,
                key: message.to_string(),
            });
        }
        sqlx::query(
            "INSERT INTO outbound_replies (message_id, network, target_external_id, text, \
             idempotency_key, status, attempts, next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7, $7) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(message.get())
        .bind(network.code())
        .bind(target_external_id)
        .bind(text)
        .bind(idempotency_key)
        .bind(ReplyStatus::Pending.code())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        let reply = reply_by_key(&mut tx, idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Invalid("queued reply vanished".into()))?;
        tx.commit().await?;
        Ok(reply)
    }

    /// Hands out up to `limit` pending replies due at `now` (oldest due first), each leased
    /// to the caller until `now + lease_ms` and its attempt count increased. A reply leased to
    /// someone else (lease not expired), delivered or given up is never returned.
    #[tracing::instrument(skip(self))]
    pub async fn claim_due_replies(
        &self,
        now: Timestamp,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<OutboundReply>> {
        if limit < 0 || lease_ms <= 0 {
            return Err(StoreError::Invalid(
                "limit must not be negative and the lease must be positive".into(),
            ));
        }
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let due = "status = $3 AND next_attempt_at <= $2 \
                   AND (lease_until IS NULL OR lease_until <= $2)";
        let sql = format!(
            "UPDATE outbound_replies SET lease_until = $1, attempts = attempts + 1, \
             updated_at = $2 \
             WHERE id IN (SELECT id FROM outbound_replies WHERE {due} \
             ORDER BY next_attempt_at, id LIMIT $4{skip_locked}) AND {due} \
             RETURNING {REPLY_COLS}"
        );
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now.millis().saturating_add(lease_ms))
            .bind(now.millis())
            .bind(ReplyStatus::Pending.code())
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut replies = rows.iter().map(rows::reply).collect::<Result<Vec<_>>>()?;
        replies.sort_by_key(|r| (r.next_attempt_at, r.id));
        tracing::debug!(claimed = replies.len(), "replies claimed");
        Ok(replies)
    }

    /// Notes that the reply was posted (its id in the network: `remote_id`). It is never handed
    /// out again. Repeating the call changes nothing.
    #[tracing::instrument(skip(self))]
    pub async fn mark_reply_delivered(
        &self,
        id: ReplyId,
        remote_id: &str,
        now: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbound_replies SET status = $1, remote_id = $2, delivered_at = $3, \
             updated_at = $3, lease_until = NULL WHERE id = $4 AND status <> $1",
        )
        .bind(ReplyStatus::Delivered.code())
        .bind(remote_id)
        .bind(now.millis())
        .bind(id.get())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 && self.reply(id).await?.is_none() {
            return Err(reply_not_found(id));
        }
        Ok(())
    }

    /// Notes a failed send: the error is kept and the lease released. With
    /// `next_attempt_at: Some(t)` the reply is handed out again from `t`; with `None` it is
    /// given up ([`ReplyStatus::Failed`]). A delivered reply is left as it is.
    #[tracing::instrument(skip(self))]
    pub async fn mark_reply_failed(
        &self,
        id: ReplyId,
        error: &str,
        next_attempt_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<()> {
        let status = match next_attempt_at {
            Some(_) => ReplyStatus::Pending,
            None => ReplyStatus::Failed,
        };
        let done = sqlx::query(
            "UPDATE outbound_replies SET status = $1, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), lease_until = NULL, \
             updated_at = $4 WHERE id = $5 AND status <> $6",
        )
        .bind(status.code())
        .bind(error)
        .bind(next_attempt_at.map(Timestamp::millis))
        .bind(now.millis())
        .bind(id.get())
        .bind(ReplyStatus::Delivered.code())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 && self.reply(id).await?.is_none() {
            return Err(reply_not_found(id));
        }
        Ok(())
    }

    /// An outbound reply by id.
    #[tracing::instrument(skip(self))]
    pub async fn reply(&self, id: ReplyId) -> Result<Option<OutboundReply>> {
        let sql = format!("SELECT {REPLY_COLS} FROM outbound_replies WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::reply).transpose()
    }

    /// The replies queued for a message, by id.
    #[tracing::instrument(skip(self))]
    pub async fn replies_of(&self, message: MessageId) -> Result<Vec<OutboundReply>> {
        let sql =
            format!("SELECT {REPLY_COLS} FROM outbound_replies WHERE message_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(message.get())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::reply).collect()
    }

    /// Replies in the outbox, newest first: all, or those in `status`; at most `limit`.
    #[tracing::instrument(skip(self))]
    pub async fn replies(
        &self,
        status: Option<ReplyStatus>,
        limit: i64,
    ) -> Result<Vec<OutboundReply>> {
        if limit < 0 {
            return Err(StoreError::Invalid("limit must not be negative".into()));
        }
        let sql = format!(
            "SELECT {REPLY_COLS} FROM outbound_replies \
             WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(status.map(ReplyStatus::code))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::reply).collect()
    }
}
