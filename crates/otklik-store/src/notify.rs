//! The e-mail outbox and the record of used rating links.
//!
//! **Outbox.** [`Store::enqueue_email`] (alone) or [`enqueue_email_in`] (inside the caller's
//! transaction, so the notice commits or rolls back with the change it announces) adds an
//! e-mail, deduplicated by its idempotency key. Senders take due e-mails with
//! [`Store::claim_due_emails`], which leases them to the caller (`lease_token`) for `lease_ms` in
//! one statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers), so two
//! senders never hold the same e-mail. The holder then reports [`Store::mark_email_sent`] — a sent
//! e-mail is never handed out again — or [`Store::mark_email_failed`], which brings it back at
//! the retry time the caller computed (its backoff) or, after `max_attempts` claims or a
//! permanent failure, moves it to the dead letters ([`EmailStatus::Dead`]). Both reports only
//! apply while the caller's lease is the current one (same token, same attempt), so a sender
//! whose lease expired and was taken over cannot overwrite the new holder. An e-mail whose last
//! allowed attempt's lease expires without a report becomes dead on the next claim.
//!
//! **Rating links.** A signed rating link works once: [`Store::consume_rating_link`] (or
//! [`consume_rating_link_in`] inside a transaction) records the link's digest together with the
//! rating it carries in one row; a second use fails with [`StoreError::Duplicate`].

use otklik_domain::{EntityKind, MessageId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::{Backend, Result, Store, StoreError};

const EMAIL_COLS: &str = "id, idempotency_key, message_id, template, recipient, subject, \
     body_text, body_html, status, attempts, max_attempts, next_attempt_at, lease_until, \
     lease_token, last_error, created_at, updated_at, sent_at";

/// An outbox e-mail's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailId(pub i64);

impl EmailId {
    /// The raw database value.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for EmailId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where an outbox e-mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailStatus {
    /// To be sent (possibly leased to a sender right now).
    Pending,
    /// Accepted by the SMTP server; never sent again.
    Sent,
    /// Given up: too many attempts or a permanent failure (a dead letter).
    Dead,
}

impl EmailStatus {
    /// The code kept in the database.
    pub fn code(self) -> &'static str {
        match self {
            EmailStatus::Pending => "pending",
            EmailStatus::Sent => "sent",
            EmailStatus::Dead => "dead",
        }
    }

    /// Russian label.
    pub fn label_ru(self) -> &'static str {
        match self {
            EmailStatus::Pending => "в очереди",
            EmailStatus::Sent => "отправлено",
            EmailStatus::Dead => "не доставлено",
        }
    }

    fn parse(code: &str) -> Result<Self> {
        match code {
            "pending" => Ok(EmailStatus::Pending),
            "sent" => Ok(EmailStatus::Sent),
            "dead" => Ok(EmailStatus::Dead),
            other => Err(StoreError::Invalid(format!(
                "unknown e-mail status {other:?}"
            ))),
        }
    }
}

/// An e-mail to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmail {
    /// Deduplication key («answer-ready:42»): queuing the same key again returns the first.
    pub idempotency_key: String,
    /// The message it is about, if any.
    pub message: Option<MessageId>,
    /// The template it was rendered from («received», «answer_ready»…), for reports.
    pub template: String,
    /// The recipient's address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body (already escaped by the renderer), if any.
    pub body_html: Option<String>,
    /// Claims allowed before the e-mail is given up (at least 1).
    pub max_attempts: u32,
}

/// An e-mail of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEmail {
    /// Database id.
    pub id: EmailId,
    /// Deduplication key.
    pub idempotency_key: String,
    /// The message it is about.
    pub message: Option<MessageId>,
    /// Template name.
    pub template: String,
    /// Recipient address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body.
    pub body_html: Option<String>,
    /// Where it stands.
    pub status: EmailStatus,
    /// Claims so far.
    pub attempts: i64,
    /// Claims allowed.
    pub max_attempts: i64,
    /// Not handed out before this.
    pub next_attempt_at: Timestamp,
    /// While leased: until when.
    pub lease_until: Option<Timestamp>,
    /// While leased: the holder's token.
    pub lease_token: Option<String>,
    /// The last failure reported.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Accepted by the server at.
    pub sent_at: Option<Timestamp>,
}

/// Counts of the outbox by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting or leased.
    pub pending: i64,
    /// Sent.
    pub sent: i64,
    /// Dead letters.
    pub dead: i64,
}

/// One use of a signed rating link, with the rating it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingLinkUse {
    /// Hex SHA-256 of the link's token (64 characters); the token itself is not stored.
    pub token_digest: String,
    /// The message rated.
    pub message: MessageId,
    /// The rating, 1–5.
    pub rating: u8,
    /// The link's expiry.
    pub expires_at: Timestamp,
}

/// A recorded use of a rating link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedRatingLink {
    /// What was used.
    pub link: RatingLinkUse,
    /// When.
    pub used_at: Timestamp,
}

fn ts(row: &AnyRow, col: &str) -> Result<Timestamp> {
    Ok(Timestamp(row.try_get::<i64, _>(col)?))
}

fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp))
}

fn email(row: &AnyRow) -> Result<OutboundEmail> {
    Ok(OutboundEmail {
        id: EmailId(row.try_get("id")?),
        idempotency_key: row.try_get("idempotency_key")?,
        message: row.try_get::<Option<i64>, _>("message_id")?.map(MessageId),
        template: row.try_get("template")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        body_html: row.try_get("body_html")?,
        status: EmailStatus::parse(&row.try_get::<String, _>("status")?)?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        next_attempt_at: ts(row, "next_attempt_at")?,
        lease_until: opt_ts(row, "lease_until")?,
        lease_token: row.try_get("lease_token")?,
        last_error: row.try_get("last_error")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
        sent_at: opt_ts(row, "sent_at")?,
    })
}

async fn email_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<OutboundEmail>> {
    let sql = format!("SELECT {EMAIL_COLS} FROM email_outbox WHERE idempotency_key = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(email).transpose()
}

async fn message_exists(conn: &mut AnyConnection, id: MessageId) -> Result<()> {
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE id = $1")
        .bind(id.get())
        .fetch_one(&mut *conn)
        .await?;
    if found == 0 {
        return Err(StoreError::NotFound {
            entity: EntityKind::Message,
            key: id.to_string(),
        });
    }
    Ok(())
}

fn check_new_email(new: &NewEmail) -> Result<()> {
    if new.idempotency_key.trim().is_empty() {
        return Err(StoreError::Invalid(
            "an e-mail needs an idempotency key".into(),
        ));
    }
    if new.template.trim().is_empty() {
        return Err(StoreError::Invalid(
            "an e-mail needs a template name".into(),
        ));
    }
    let r = new.recipient.trim();
    if r.is_empty() || !r.contains('@') || r.chars().any(|c| c.is_control()) {
        return Err(StoreError::Invalid(format!(
            "{:?} is not an e-mail address",
            new.recipient
        )));
    }
    if new.subject.chars().any(|c| c == '\r' || c == '\n') {
        return Err(StoreError::Invalid(
            "an e-mail subject must be one line".into(),
        ));
    }
    if new.max_attempts == 0 {
        return Err(StoreError::Invalid(
            "max_attempts must be at least 1".into(),
        ));
    }
    Ok(())
}

/// Queues `new`, due at `now`, on the caller's connection or transaction: use it inside the
/// transaction of the change the e-mail announces. With a key seen before, returns the e-mail
/// first queued under it and queues nothing.
pub async fn enqueue_email_in(
    conn: &mut AnyConnection,
    new: &NewEmail,
    now: Timestamp,
) -> Result<OutboundEmail> {
    check_new_email(new)?;
    if let Some(message) = new.message {
        message_exists(conn, message).await?;
    }
    sqlx::query(
        "INSERT INTO email_outbox (idempotency_key, message_id, template, recipient, subject, \
         body_text, body_html, status, attempts, max_attempts, next_attempt_at, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10, $10) \
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(new.idempotency_key.as_str())
    .bind(new.message.map(MessageId::get))
    .bind(new.template.as_str())
    .bind(new.recipient.trim())
    .bind(new.subject.as_str())
    .bind(new.body_text.as_str())
    .bind(new.body_html.as_deref())
    .bind(EmailStatus::Pending.code())
    .bind(i64::from(new.max_attempts))
    .bind(now.millis())
    .execute(&mut *conn)
    .await?;
    email_by_key(conn, &new.idempotency_key)
        .await?
        .ok_or_else(|| StoreError::Invalid("queued e-mail vanished".into()))
}

/// Records one use of a rating link on the caller's connection or transaction (so that it
/// commits together with whatever else the caller writes). A link already used fails with
/// [`StoreError::Duplicate`]; an expired one (`now > expires_at`) or a rating outside 1–5 with
/// [`StoreError::Invalid`]; an unknown message with [`StoreError::NotFound`].
pub async fn consume_rating_link_in(
    conn: &mut AnyConnection,
    link: &RatingLinkUse,
    now: Timestamp,
) -> Result<()> {
    if !(1..=5).contains(&link.rating) {
        return Err(StoreError::Invalid(format!(
            "rating {} is outside 1–5",
            link.rating
        )));
    }
    if link.token_digest.len() != 64 || !link.token_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid(
            "a token digest is 64 hex digits".into(),
        ));
    }
    if now > link.expires_at {
        return Err(StoreError::Invalid("the rating link has expired".into()));
    }
    message_exists(conn, link.message).await?;
    let done = sqlx::query(
        "INSERT INTO rating_link_uses (token_digest, message_id, rating, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_digest) DO NOTHING",
    )
    .bind(link.token_digest.to_ascii_lowercase())
    .bind(link.message.get())
    .bind(i64::from(link.rating))
    .bind(link.expires_at.millis())
    .bind(now.millis())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Duplicate {
            entity: EntityKind::Message,
            key: format!("rating link of message {} (already used)", link.message),
        });
    }
    Ok(())
}

impl Store {
    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite) for [`enqueue_email_in`] and
    /// [`consume_rating_link_in`] together with the caller's own statements.
    pub async fn begin_outbox_transaction(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.begin_write().await
    }

    /// Queues an e-mail on its own (see [`enqueue_email_in`]).
    #[tracing::instrument(skip(self, new), fields(key = %new.idempotency_key))]
    pub async fn enqueue_email(&self, new: &NewEmail, now: Timestamp) -> Result<OutboundEmail> {
        let mut tx = self.begin_write().await?;
        let queued = enqueue_email_in(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// Hands out up to `limit` pending e-mails due at `now` (oldest due first), each leased to
    /// `lease_token` until `now + lease_ms` with its attempt count increased. An e-mail leased
    /// to someone else, sent or dead is never returned. First, e-mails whose last allowed
    /// attempt's lease has expired are moved to the dead letters.
    #[tracing::instrument(skip(self))]
    pub async fn claim_due_emails(
        &self,
        lease_token: &str,
        now: Timestamp,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<OutboundEmail>> {
        if limit < 0 || lease_ms <= 0 || lease_token.trim().is_empty() {
            return Err(StoreError::Invalid(
                "limit must not be negative, the lease must be positive and have a token".into(),
            ));
        }
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let due = "status = $3 AND next_attempt_at <= $2 \
                   AND (lease_until IS NULL OR lease_until <= $2) AND attempts < max_attempts";
        let sql = format!(
            "UPDATE email_outbox SET lease_until = $1, lease_token = $5, \
             attempts = attempts + 1, updated_at = $2 \
             WHERE id IN (SELECT id FROM email_outbox WHERE {due} \
             ORDER BY next_attempt_at, id LIMIT $4{skip_locked}) AND {due} \
             RETURNING {EMAIL_COLS}"
        );
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE email_outbox SET status = $1, lease_until = NULL, lease_token = NULL, \
             last_error = COALESCE(last_error, 'no report before the last lease expired'), \
             updated_at = $2 \
             WHERE status = $3 AND attempts >= max_attempts \
             AND (lease_until IS NULL OR lease_until <= $2)",
        )
        .bind(EmailStatus::Dead.code())
        .bind(now.millis())
        .bind(EmailStatus::Pending.code())
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now.millis().saturating_add(lease_ms))
            .bind(now.millis())
            .bind(EmailStatus::Pending.code())
            .bind(limit)
            .bind(lease_token)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut emails = rows.iter().map(email).collect::<Result<Vec<_>>>()?;
        emails.sort_by_key(|e| (e.next_attempt_at, e.id));
        tracing::debug!(claimed = emails.len(), "e-mails claimed");
        Ok(emails)
    }

    /// Notes that `claimed` (as returned by [`Store::claim_due_emails`]) was accepted by the
    /// server. Returns `false`, changing nothing, when the caller's lease is no longer the
    /// current one (taken over after it expired, or already reported).
    #[tracing::instrument(skip(self, claimed), fields(id = %claimed.id))]
    pub async fn mark_email_sent(&self, claimed: &OutboundEmail, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE email_outbox SET status = $1, sent_at = $2, updated_at = $2, \
             lease_until = NULL, lease_token = NULL \
             WHERE id = $3 AND status = $4 AND lease_token = $5 AND attempts = $6",
        )
        .bind(EmailStatus::Sent.code())
        .bind(now.millis())
        .bind(claimed.id.get())
        .bind(EmailStatus::Pending.code())
        .bind(claimed.lease_token.as_deref().unwrap_or(""))
        .bind(claimed.attempts)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Notes that sending `claimed` failed with `error`. With `retry_at: Some(t)` it comes back
    /// at `t` — unless this was its last allowed attempt; with `None` (a permanent failure) or
    /// after the last attempt it becomes a dead letter. Returns the new status, or `None`,
    /// changing nothing, when the caller's lease is no longer the current one.
    #[tracing::instrument(skip(self, claimed), fields(id = %claimed.id))]
    pub async fn mark_email_failed(
        &self,
        claimed: &OutboundEmail,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Option<EmailStatus>> {
        let status = match retry_at {
            Some(_) if claimed.attempts < claimed.max_attempts => EmailStatus::Pending,
            _ => EmailStatus::Dead,
        };
        let error: String = error.chars().take(2_000).collect();
        let done = sqlx::query(
            "UPDATE email_outbox SET status = $1, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at), lease_until = NULL, \
             lease_token = NULL, updated_at = $4 \
             WHERE id = $5 AND status = $6 AND lease_token = $7 AND attempts = $8",
        )
        .bind(status.code())
        .bind(error)
        .bind(retry_at.map(Timestamp::millis))
        .bind(now.millis())
        .bind(claimed.id.get())
        .bind(EmailStatus::Pending.code())
        .bind(claimed.lease_token.as_deref().unwrap_or(""))
        .bind(claimed.attempts)
        .execute(&self.pool)
        .await?;
        Ok((done.rows_affected() == 1).then_some(status))
    }

    /// Puts a dead letter back in the queue with a fresh attempt budget of `max_attempts`,
    /// due at `now`. Returns `false` when `id` is not a dead letter.
    #[tracing::instrument(skip(self))]
    pub async fn requeue_dead_email(
        &self,
        id: EmailId,
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<bool> {
        if max_attempts == 0 {
            return Err(StoreError::Invalid(
                "max_attempts must be at least 1".into(),
            ));
        }
        let done = sqlx::query(
            "UPDATE email_outbox SET status = $1, attempts = 0, max_attempts = $2, \
             next_attempt_at = $3, updated_at = $3 WHERE id = $4 AND status = $5",
        )
        .bind(EmailStatus::Pending.code())
        .bind(i64::from(max_attempts))
        .bind(now.millis())
        .bind(id.get())
        .bind(EmailStatus::Dead.code())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An outbox e-mail by id.
    #[tracing::instrument(skip(self))]
    pub async fn email(&self, id: EmailId) -> Result<Option<OutboundEmail>> {
        let sql = format!("SELECT {EMAIL_COLS} FROM email_outbox WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(email).transpose()
    }

    /// The e-mails about `message`, oldest first.
    #[tracing::instrument(skip(self))]
    pub async fn emails_of(&self, message: MessageId) -> Result<Vec<OutboundEmail>> {
        let sql =
            format!("SELECT {EMAIL_COLS} FROM email_outbox WHERE message_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(message.get())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(email).collect()
    }

    /// E-mails in `status`, oldest first, at most `limit` (the dead letters for an operator).
    #[tracing::instrument(skip(self))]
    pub async fn emails_with_status(
        &self,
        status: EmailStatus,
        limit: i64,
    ) -> Result<Vec<OutboundEmail>> {
        let sql =
            format!("SELECT {EMAIL_COLS} FROM email_outbox WHERE status = $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(status.code())
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(email).collect()
    }

    /// How many e-mails are pending, sent and dead.
    #[tracing::instrument(skip(self))]
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM email_outbox GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = OutboxCounts::default();
        for row in &rows {
            let n: i64 = row.try_get("n")?;
            match EmailStatus::parse(&row.try_get::<String, _>("status")?)? {
                EmailStatus::Pending => counts.pending = n,
                EmailStatus::Sent => counts.sent = n,
                EmailStatus::Dead => counts.dead = n,
            }
        }
        Ok(counts)
    }

    /// Records one use of a rating link in its own transaction (see [`consume_rating_link_in`]).
    #[tracing::instrument(skip(self, link), fields(message = %link.message))]
    pub async fn consume_rating_link(&self, link: &RatingLinkUse, now: Timestamp) -> Result<()> {
        let mut tx = self.begin_write().await?;
        consume_rating_link_in(&mut tx, link, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The recorded use of the rating link with `token_digest`, if it was used.
    #[tracing::instrument(skip(self))]
    pub async fn rating_link_use(&self, token_digest: &str) -> Result<Option<UsedRatingLink>> {
        let row = sqlx::query(
            "SELECT token_digest, message_id, rating, expires_at, used_at \
             FROM rating_link_uses WHERE token_digest = $1",
        )
        .bind(token_digest.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let rating: i64 = row.try_get("rating")?;
            Ok(UsedRatingLink {
                link: RatingLinkUse {
                    token_digest: row.try_get("token_digest")?,
                    message: MessageId(row.try_get("message_id")?),
                    rating: u8::try_from(rating)
                        .map_err(|_| StoreError::Invalid(format!("stored rating {rating}")))?,
                    expires_at: ts(&row, "expires_at")?,
                },
                used_at: ts(&row, "used_at")?,
            })
        })
        .transpose()
    }
}
