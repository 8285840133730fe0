//! Messages: registration (idempotent), workflow transitions with optimistic concurrency,
//! listing.

use otklik_domain::{
    EntityKind, Message, MessageId, MessageStatus, NewMessage, OrganisationId, PostId,
    SubcategoryId, TerritoryId, Timestamp, Transition, UserId, check_rating,
};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::audit;
use crate::rows::{self, MESSAGE_COLS};
use crate::{Result, Store, StoreError};

/// Fields a transition may change besides status and version. Unset fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageChange {
    /// New subcategory (recategorisation).
    pub subcategory: Option<SubcategoryId>,
    /// New executor organisation (recategorisation, redirect).
    pub executor: Option<OrganisationId>,
    /// New deadline (postponement, reopening).
    pub deadline_at: Option<Timestamp>,
    /// The citizen's rating, 1–5; required by [`Transition::Rate`].
    pub rating: Option<i64>,
    /// Why: kept as the message's rejection reason on [`Transition::Reject`]; for every
    /// transition it is written into the audit event.
    pub reason: Option<String>,
    /// The answer text (draft or final); kept on the message and noted in the audit event.
    pub answer: Option<String>,
}

impl MessageChange {
    fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        if let Some(s) = &self.subcategory {
            map.insert("subcategory".into(), json!(s.0));
        }
        if let Some(e) = self.executor {
            map.insert("executor".into(), json!(e.get()));
        }
        if let Some(d) = self.deadline_at {
            map.insert("deadline_at".into(), json!(d.millis()));
        }
        if let Some(r) = self.rating {
            map.insert("rating".into(), json!(r));
        }
        if let Some(r) = &self.reason {
            map.insert("reason".into(), json!(r));
        }
        if let Some(a) = &self.answer {
            map.insert("answer".into(), json!(a));
        }
        serde_json::Value::Object(map)
    }
}

/// Which messages [`Store::list_messages`] returns (all when every field is unset), by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    /// Only this status.
    pub status: Option<MessageStatus>,
    /// Only this executor organisation.
    pub executor: Option<OrganisationId>,
    /// At most this many (no limit when unset).
    pub limit: Option<i64>,
    /// Skip this many first.
    pub offset: Option<i64>,
}

/// A message with the texts kept beside the workflow fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDetails {
    /// The message.
    pub message: Message,
    /// The moderator's reason, once rejected.
    pub rejection_reason: Option<String>,
    /// The latest answer text.
    pub answer_text: Option<String>,
}

async fn message_by_id(conn: &mut AnyConnection, id: MessageId) -> Result<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::message).transpose()
}

async fn message_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE idempotency_key = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::message).transpose()
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
    /// Registers a message in status `moderation`, version 1, and audits it (`created`).
    ///
    /// With an `idempotency_key`, a repeated call (a retried form submission, a collector
    /// re-run) returns the message first stored under that key instead of a second one.
    #[tracing::instrument(skip(self, new), fields(channel = %new.channel))]
    pub async fn create_message(
        &self,
        new: &NewMessage,
        idempotency_key: Option<&str>,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Message> {
        check_confidence(new.confidence_pm)?;
        if new.text.trim().is_empty() {
            return Err(StoreError::Invalid("message text must not be empty".into()));
        }
        if let Some(key) = idempotency_key {
            let mut conn = self.pool.acquire().await?;
            if let Some(existing) = message_by_key(&mut conn, key).await? {
                tracing::debug!(id = %existing.id, "idempotency key seen before");
                return Ok(existing);
            }
        }
        match self.insert_message(new, idempotency_key, actor, now).await {
            Ok(message) => Ok(message),
            // Lost a race with a concurrent call carrying the same key: return its message.
            Err(e) if e.is_unique_violation() && idempotency_key.is_some() => {
                let mut conn = self.pool.acquire().await?;
                match idempotency_key {
                    Some(key) => message_by_key(&mut conn, key).await?.ok_or(e),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn insert_message(
        &self,
        new: &NewMessage,
        idempotency_key: Option<&str>,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Message> {
        let status = MessageStatus::Moderation;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (status, version, channel, subcategory, territory_id, \
             executor_id, submitted_via_id, author_id, author_handle, source_post_id, text, \
             address, confidence_pm, rating, created_at, deadline_at, updated_at, \
             idempotency_key) \
             VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, $13, \
             $15) RETURNING id",
        )
        .bind(status.code())
        .bind(new.channel.code())
        .bind(new.subcategory.0.as_str())
        .bind(new.territory.map(TerritoryId::get))
        .bind(new.executor.map(OrganisationId::get))
        .bind(new.submitted_via.map(OrganisationId::get))
        .bind(new.author.map(UserId::get))
        .bind(new.author_handle.as_deref())
        .bind(new.source_post.map(PostId::get))
        .bind(new.text.as_str())
        .bind(new.address.as_deref())
        .bind(new.confidence_pm)
        .bind(now.millis())
        .bind(new.deadline_at.millis())
        .bind(idempotency_key)
        .fetch_one(&mut *tx)
        .await?;
        let event = audit::event(
            actor,
            EntityKind::Message,
            id,
            "created",
            json!({
                "status": status.code(),
                "channel": new.channel.code(),
                "subcategory": new.subcategory.0,
                "executor": new.executor.map(OrganisationId::get),
                "idempotency_key": idempotency_key,
            }),
            now,
        );
        audit::insert(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Message {
            id: MessageId(id),
            status,
            version: 1,
            channel: new.channel,
            subcategory: new.subcategory.clone(),
            territory: new.territory,
            executor: new.executor,
            submitted_via: new.submitted_via,
            author: new.author,
            author_handle: new.author_handle.clone(),
            source_post: new.source_post,
            text: new.text.clone(),
            address: new.address.clone(),
            confidence_pm: new.confidence_pm,
            rating: None,
            created_at: now,
            deadline_at: new.deadline_at,
            updated_at: now,
        })
    }

    /// A message by id.
    #[tracing::instrument(skip(self))]
    pub async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        let mut conn = self.pool.acquire().await?;
        message_by_id(&mut conn, id).await
    }

    /// A message with its rejection reason and answer text.
    #[tracing::instrument(skip(self))]
    pub async fn message_details(&self, id: MessageId) -> Result<Option<MessageDetails>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS}, rejection_reason, answer_text FROM messages WHERE id = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| {
                Ok(MessageDetails {
                    message: rows::message(r)?,
                    rejection_reason: rows::opt_text(r, "rejection_reason")?,
                    answer_text: rows::opt_text(r, "answer_text")?,
                })
            })
            .transpose()
    }

    /// Moves a message one workflow step, if the domain allows `transition` from its status
    /// and nobody changed it since the caller read `expected_version`.
    ///
    /// The update (status, version + 1, the fields set in `change`) and its audit event
    /// (`transition:<code>`, detail `{"from", "to", "version", "changes"}`) commit together.
    /// A stale version gives [`StoreError::Conflict`], an illegal step
    /// [`StoreError::Domain`]; in both cases nothing is written. Role checks are the caller's.
    #[tracing::instrument(skip(self, change), fields(transition = %transition))]
    pub async fn transition_message(
        &self,
        id: MessageId,
        expected_version: i64,
        transition: Transition,
        change: MessageChange,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Message> {
        let current = self
            .message(id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: EntityKind::Message,
                key: id.to_string(),
            })?;
        if current.version != expected_version {
            return Err(StoreError::Conflict {
                id,
                expected_version,
            });
        }
        let to = current.status.apply(transition)?;
        if let Some(r) = change.rating {
            check_rating(r)?;
        } else if transition == Transition::Rate {
            return Err(StoreError::Invalid(
                "rating a message needs a rating".into(),
            ));
        }

        let mut next = current.clone();
        next.status = to;
        next.version = expected_version + 1;
        next.updated_at = now;
        if let Some(s) = &change.subcategory {
            next.subcategory = s.clone();
        }
        if let Some(e) = change.executor {
            next.executor = Some(e);
        }
        if let Some(d) = change.deadline_at {
            next.deadline_at = d;
        }
        if let Some(r) = change.rating {
            next.rating = Some(r);
        }
        let rejection_reason = match transition {
            Transition::Reject => change.reason.as_deref(),
            _ => None,
        };

        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE messages SET status = $1, version = $2, subcategory = $3, executor_id = $4, \
             deadline_at = $5, rating = $6, updated_at = $7, \
             rejection_reason = COALESCE($8, rejection_reason), \
             answer_text = COALESCE($9, answer_text) \
             WHERE id = $10 AND version = $11",
        )
        .bind(next.status.code())
        .bind(next.version)
        .bind(next.subcategory.0.as_str())
        .bind(next.executor.map(OrganisationId::get))
        .bind(next.deadline_at.millis())
        .bind(next.rating)
        .bind(now.millis())
        .bind(rejection_reason)
        .bind(change.answer.as_deref())
        .bind(id.get())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            // Someone else moved it between our read and our write; the transaction rolls
            // back on drop and nothing is written.
            return Err(StoreError::Conflict {
                id,
                expected_version,
            });
        }
        let event = audit::event(
            actor,
            EntityKind::Message,
            id.get(),
            format!("transition:{}", transition.code()),
            json!({
                "from": current.status.code(),
                "to": to.code(),
                "version": next.version,
                "changes": change.to_json(),
            }),
            now,
        );
        audit::insert(&mut tx, &event).await?;
        tx.commit().await?;
        tracing::debug!(from = %current.status, to = %to, version = next.version, "message moved");
        Ok(next)
    }

    /// Messages matching `filter`, by id.
    #[tracing::instrument(skip(self))]
    pub async fn list_messages(&self, filter: MessageFilter) -> Result<Vec<Message>> {
        let limit = filter.limit.unwrap_or(i64::MAX);
        let offset = filter.offset.unwrap_or(0);
        if limit < 0 || offset < 0 {
            return Err(StoreError::Invalid(
                "limit and offset must not be negative".into(),
            ));
        }
        let mut sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE 1 = 1");
        let mut n = 0;
        let mut next_param = || {
            n += 1;
            n
        };
        if filter.status.is_some() {
            sql.push_str(&format!(" AND status = ${}", next_param()));
        }
        if filter.executor.is_some() {
            sql.push_str(&format!(" AND executor_id = ${}", next_param()));
        }
        let (l, o) = (next_param(), next_param());
        sql.push_str(&format!(" ORDER BY id LIMIT ${l} OFFSET ${o}"));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(status) = filter.status {
            query = query.bind(status.code());
        }
        if let Some(executor) = filter.executor {
            query = query.bind(executor.get());
        }
        let rows = query.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        rows.iter().map(rows::message).collect()
    }
}
