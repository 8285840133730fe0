//! Persistence of the messages workflow (`otklik-workflow`): messages with their workflow fields
//! ([`MessageRecord`]), idempotent submissions and steps, the duplicate-search buckets,
//! escalation notices.
//!
//! Every write here commits together with its audit event. Steps use optimistic concurrency
//! (`UPDATE … WHERE id = $1 AND version = $2`; a stale version is [`StoreError::Conflict`]) and,
//! with an idempotency key, remember what they produced: the same key with the same payload
//! gives back the first result ([`Keyed::Replayed`]), with another payload
//! [`Keyed::KeyReused`] — nothing is written in either case.

use otklik_domain::{
    Channel, EntityKind, MessageId, MessageRecord, MessageStatus, NewAuditEvent, NewMessage,
    OrganisationId, PostId, TerritoryId, Timestamp, Transition, UserId,
};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::attachments::AttachmentId;
use crate::audit;
use crate::notify::{NewEmail, RatingLinkUse, consume_rating_link_in, enqueue_email_in};
use crate::rows::{self, RECORD_COLS};
use crate::{Backend, Result, Store, StoreError};

/// The outcome of an idempotent call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed<T> {
    /// Done now.
    Done(T),
    /// The key was seen before with the same payload: the first call's result, nothing written.
    Replayed(T),
    /// The key was seen before with a different payload (or operation): nothing written.
    KeyReused {
        /// The message the key was first used for.
        message: MessageId,
        /// The operation it was first used for («submit», «transition:accept»).
        operation: String,
    },
}

impl<T> Keyed<T> {
    /// The value, whether done now or replayed; `None` for a reused key.
    pub fn into_value(self) -> Option<T> {
        match self {
            Keyed::Done(v) | Keyed::Replayed(v) => Some(v),
            Keyed::KeyReused { .. } => None,
        }
    }
}

/// A new message with the fields the workflow's intake sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// The message itself (status `moderation`, version 1).
    pub message: NewMessage,
    /// How to reach the citizen.
    pub citizen_contact: Option<String>,
    /// Attachment ids.
    pub attachments: Vec<String>,
    /// External system of an integration submission.
    pub external_system: Option<String>,
    /// Its id there.
    pub external_id: Option<String>,
    /// Link to the original post.
    pub source_url: Option<String>,
    /// On the fast-track deadline.
    pub fast_track: bool,
    /// Routing explanation or why it waits for the moderator.
    pub moderation_note: Option<String>,
    /// First public reply due (social-network incidents).
    pub first_reply_due_at: Option<Timestamp>,
    /// The duplicate group it joins (the group's first message).
    pub duplicate_group: Option<MessageId>,
    /// MinHash signature of the text (hex), kept for later comparisons.
    pub text_signature: Option<String>,
    /// LSH band keys of the signature; stored when the message has a territory.
    pub bands: Vec<i64>,
    /// The deadline clock (JSON), kept as given.
    pub deadline_clock: Option<String>,
}

/// One workflow step to write: the record as it must be after the step.
#[derive(Debug, Clone)]
pub struct StepWrite<'a> {
    /// The version the caller read; the write fails with [`StoreError::Conflict`] otherwise.
    pub expected_version: i64,
    /// The record after the step (its id names the message; version and `updated_at` are set
    /// by the store).
    pub next: &'a MessageRecord,
    /// The step.
    pub transition: Transition,
    /// Who acted.
    pub actor: Option<UserId>,
    /// Audit detail (the store adds `from`, `to` and `version`).
    pub detail: serde_json::Value,
    /// Idempotency key and the hash of the call's payload.
    pub key: Option<(&'a str, &'a str)>,
    /// Other messages moved by the same step (the rest of a duplicate group answered together):
    /// each with the version read and its record after the step. A member changed meanwhile is
    /// skipped, not an error.
    pub also: &'a [(i64, MessageRecord)],
    /// E-mails announcing the step (queued in the e-mail outbox in the same transaction).
    pub emails: &'a [NewEmail],
    /// A rating link used by this step (a rating): its single use is recorded in the same
    /// transaction; a link used before fails the step with [`StoreError::Duplicate`].
    pub rating_link: Option<&'a RatingLinkUse>,
    /// When.
    pub now: Timestamp,
}

/// What a step wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepApplied {
    /// The message after the step.
    pub record: MessageRecord,
    /// The other messages moved with it.
    pub also: Vec<MessageRecord>,
}

/// A step remembered under its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    /// The message.
    pub message: MessageId,
    /// «transition:<code>».
    pub operation: String,
    /// Hash of the call's payload.
    pub payload_hash: String,
    /// The record the step produced.
    pub result: MessageRecord,
}

/// A stored message of a possible duplicate group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateCandidate {
    /// The message.
    pub id: MessageId,
    /// Its group, when it has one.
    pub group: Option<MessageId>,
    /// Its status.
    pub status: MessageStatus,
    /// Its MinHash signature (hex).
    pub signature: String,
}

/// Kind of an escalation notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EscalationKind {
    /// Little time left.
    AtRisk,
    /// Past the deadline.
    Overdue,
}

impl EscalationKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            EscalationKind::AtRisk => "at_risk",
            EscalationKind::Overdue => "overdue",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "at_risk" => Ok(EscalationKind::AtRisk),
            "overdue" => Ok(EscalationKind::Overdue),
            other => Err(StoreError::Invalid(format!(
                "unknown escalation kind {other:?}"
            ))),
        }
    }
}

/// An escalation notice of the curator's control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Database id.
    pub id: i64,
    /// The message.
    pub message: MessageId,
    /// Its executor organisation when recorded.
    pub organisation: Option<OrganisationId>,
    /// At risk or overdue.
    pub kind: EscalationKind,
    /// The deadline it is about.
    pub deadline_at: Timestamp,
    /// When recorded.
    pub created_at: Timestamp,
    /// When the e-mail outbox took it.
    pub notified_at: Option<Timestamp>,
}

const ESCALATION_COLS: &str =
    "id, message_id, organisation_id, kind, deadline_at, created_at, notified_at";

fn escalation(row: &sqlx::any::AnyRow) -> Result<Escalation> {
    Ok(Escalation {
        id: rows::int(row, "id")?,
        message: MessageId(rows::int(row, "message_id")?),
        organisation: rows::opt_int(row, "organisation_id")?.map(OrganisationId),
        kind: EscalationKind::parse(&rows::text(row, "kind")?)?,
        deadline_at: Timestamp(rows::int(row, "deadline_at")?),
        created_at: Timestamp(rows::int(row, "created_at")?),
        notified_at: rows::opt_int(row, "notified_at")?.map(Timestamp),
    })
}

/// Most candidates [`Store::duplicate_candidates`] returns.
pub const MAX_CANDIDATES: usize = 50;

/// Statuses in which someone still has to act before the answer (the deadline matters).
const OPEN_STATUSES: &str =
    "('moderation', 'coordination', 'execution', 'clarification', 'approval')";

async fn record_by_id(conn: &mut AnyConnection, id: MessageId) -> Result<Option<MessageRecord>> {
    let sql = format!("SELECT {RECORD_COLS} FROM messages WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::message_record).transpose()
}

/// (id, payload hash) of the message stored under `key` or under the external pair.
async fn submission_by_key(
    conn: &mut AnyConnection,
    key: &str,
    external: Option<(&str, &str)>,
) -> Result<Option<(MessageId, Option<String>)>> {
    let row = sqlx::query("SELECT id, payload_hash FROM messages WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    let row = match (row, external) {
        (Some(row), _) => Some(row),
        (None, Some((system, id))) => {
            sqlx::query(
                "SELECT id, payload_hash FROM messages \
                 WHERE external_system = $1 AND external_id = $2",
            )
            .bind(system)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
        }
        (None, None) => None,
    };
    row.map(|r| {
        Ok((
            MessageId(rows::int(&r, "id")?),
            rows::opt_text(&r, "payload_hash")?,
        ))
    })
    .transpose()
}

async fn request_by_key(
    conn: &mut AnyConnection,
    key: &str,
) -> Result<Option<(MessageId, String, String, String)>> {
    let row = sqlx::query(
        "SELECT message_id, operation, payload_hash, result FROM workflow_requests \
         WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok((
            MessageId(rows::int(&r, "message_id")?),
            rows::text(&r, "operation")?,
            rows::text(&r, "payload_hash")?,
            rows::text(&r, "result")?,
        ))
    })
    .transpose()
}

fn decode_result(text: &str) -> Result<MessageRecord> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Invalid(format!("stored workflow result is malformed: {e}")))
}

fn check_new(new: &NewRecord, key: &str) -> Result<()> {
    if key.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a submission needs an idempotency key".into(),
        ));
    }
    if new.message.text.trim().is_empty() {
        return Err(StoreError::Invalid("message text must not be empty".into()));
    }
    if let Some(c) = new.message.confidence_pm
        && !(0..=1000).contains(&c)
    {
        return Err(StoreError::Invalid(format!(
            "confidence must be 0..=1000 per mille, got {c}"
        )));
    }
    if new.external_system.is_some() != new.external_id.is_some() {
        return Err(StoreError::Invalid(
            "an external system and an external id go together".into(),
        ));
    }
    Ok(())
}

impl Store {
    /// A message with its workflow fields.
    #[tracing::instrument(skip(self))]
    pub async fn message_record(&self, id: MessageId) -> Result<Option<MessageRecord>> {
        let mut conn = self.pool.acquire().await?;
        record_by_id(&mut conn, id).await
    }

    /// Registers a message from the workflow's intake in status `moderation`, version 1, with
    /// its duplicate-search bands and its audit event (`created`, with `detail` merged in), in
    /// one transaction.
    ///
    /// The idempotency `key` (and, for integration submissions, the pair external system +
    /// external id) identifies the submission: seen before with the same `payload_hash` →
    /// [`Keyed::Replayed`] with the stored message; with another hash → [`Keyed::KeyReused`].
    ///
    /// With `duplicates_since`, a message that has a territory, bands and no group yet looks
    /// for its duplicate group inside the same transaction: the candidates of
    /// [`Store::duplicate_candidates`] are handed to `pick`, whose answer becomes the group.
    /// [`Store::submit_records`] does the same with an automatic acceptance, attachments and
    /// e-mails written in the same transaction.
    #[tracing::instrument(skip(self, new, detail, pick), fields(channel = %new.message.channel))]
    #[allow(clippy::too_many_arguments)]
    pub async fn submit_record<F>(
        &self,
        new: &NewRecord,
        key: &str,
        payload_hash: &str,
        actor: Option<UserId>,
        detail: serde_json::Value,
        duplicates_since: Option<Timestamp>,
        pick: F,
        now: Timestamp,
    ) -> Result<Keyed<MessageRecord>>
    where
        F: FnOnce(&[DuplicateCandidate]) -> Option<MessageId> + Send,
    {
        let item = BatchItem {
            new,
            actor,
            key,
            payload_hash,
            detail,
            now,
            duplicates_since,
            accept: None,
            attachments: &[],
        };
        let mut pick = Some(pick);
        self.submit_one(
            &item,
            &mut |_, candidates| pick.take().and_then(|p| p(candidates)),
            &mut |_| Vec::new(),
        )
        .await
    }

    /// One submission in its own transaction; a key (or external id) seen before shows as a
    /// unique violation and is answered from the stored message.
    async fn submit_one(
        &self,
        item: &BatchItem<'_>,
        pick: &mut Pick<'_>,
        after: &mut After<'_>,
    ) -> Result<Keyed<MessageRecord>> {
        let new = item.new;
        check_new(new, item.key)?;
        let external = new
            .external_system
            .as_deref()
            .zip(new.external_id.as_deref());
        // New submissions are the common case: insert at once; a key (or external id) seen
        // before shows as a unique violation, answered from the stored message.
        match self.insert_one(item, pick, after).await {
            Ok(record) => Ok(Keyed::Done(record)),
            // Seen before, or lost a race with a concurrent call carrying the same key.
            Err(e) if e.is_unique_violation() => {
                let mut conn = self.pool.acquire().await?;
                self.replay_submission(&mut conn, item.key, external, item.payload_hash)
                    .await?
                    .ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn replay_submission(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        external: Option<(&str, &str)>,
        payload_hash: &str,
    ) -> Result<Option<Keyed<MessageRecord>>> {
        let Some((id, hash)) = submission_by_key(conn, key, external).await? else {
            return Ok(None);
        };
        if hash.as_deref() != Some(payload_hash) {
            return Ok(Some(Keyed::KeyReused {
                message: id,
                operation: "submit".into(),
            }));
        }
        let record = record_by_id(conn, id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: EntityKind::Message,
                key: id.to_string(),
            })?;
        Ok(Some(Keyed::Replayed(record)))
    }

    async fn insert_one(
        &self,
        item: &BatchItem<'_>,
        pick: &mut Pick<'_>,
        after: &mut After<'_>,
    ) -> Result<MessageRecord> {
        let new = item.new;
        let m = &new.message;
        let now = item.now;
        let mut tx = self.begin_write().await?;
        let mut duplicate_group = new.duplicate_group;
        if let (None, Some(since), Some(territory), false) = (
            duplicate_group,
            item.duplicates_since,
            m.territory,
            new.bands.is_empty(),
        ) {
            let candidates = candidates_on(&mut tx, territory, &new.bands, since).await?;
            if !candidates.is_empty() {
                duplicate_group = pick(new, &candidates);
            }
        }
        let event = audit::event(
            item.actor,
            EntityKind::Message,
            0,
            "created",
            created_detail(new, item.key, duplicate_group, item.detail.clone()),
            now,
        );
        let id = match self.backend {
            Backend::Sqlite => {
                insert_message_sqlite(&mut tx, item, duplicate_group, &event).await?
            }
            Backend::Postgres => {
                let id = insert_message_row(&mut tx, item, duplicate_group).await?;
                insert_bands(&mut tx, self.backend, &band_rows(id, new)).await?;
                audit::insert(
                    &mut tx,
                    &NewAuditEvent {
                        entity_id: id,
                        ..event
                    },
                )
                .await?;
                id
            }
        };
        let record = record_of(item, id, duplicate_group);
        if let Some(accept) = &item.accept {
            audit::insert(&mut tx, &accept_event(item, accept, &record)).await?;
            insert_requests(&mut tx, &[request_row(accept, &record, now)?]).await?;
        }
        link_attachments(&mut tx, item.attachments, record.message.id, now).await?;
        for email in after(&record) {
            enqueue_email_in(&mut tx, &email, now).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// [`Store::submit_record`] for many submissions in one transaction (group commit): one
    /// statement per message, one for all the bands, one per 16 audit events, one for the keys
    /// seen before and one for the duplicate candidates of all. Each message still gets its
    /// own idempotency check, duplicate group (`pick` sees the stored candidates and the
    /// batch's earlier messages), bands and audit event; an item's
    /// [`BatchItem::accept`] writes the message already accepted with both audit events and
    /// the step's idempotency record, its [`BatchItem::attachments`] are linked to it, and the
    /// e-mails `after` renders for the new record are queued in the e-mail outbox — all in the
    /// same transaction. A single item takes the one-message path.
    ///
    /// Results are in input order, one per item: a refused item does not stop the others.
    /// When the batch cannot be written together (two items with the same key, an integration
    /// submission, a collision with a concurrent call, or any error of one item) it is rolled
    /// back and the items are submitted one by one, each in its own transaction, so an error
    /// stays with its item and the same key twice behaves as two calls in a row.
    #[tracing::instrument(skip_all, fields(items = items.len()))]
    pub async fn submit_records<F, A>(
        &self,
        items: &[BatchItem<'_>],
        mut pick: F,
        mut after: A,
    ) -> Vec<Result<Keyed<MessageRecord>>>
    where
        F: FnMut(&NewRecord, &[DuplicateCandidate]) -> Option<MessageId> + Send,
        A: FnMut(&MessageRecord) -> Vec<NewEmail> + Send,
    {
        if items.len() > 1 {
            let mut keys: Vec<&str> = items.iter().map(|i| i.key).collect();
            keys.sort_unstable();
            keys.dedup();
            let batchable = keys.len() == items.len()
                && items.len() <= MAX_BATCH
                && items
                    .iter()
                    .all(|i| i.new.external_system.is_none() && check_new(i.new, i.key).is_ok());
            if batchable {
                match self.insert_batch(items, &mut pick, &mut after).await {
                    Ok(done) => return done.into_iter().map(Ok).collect(),
                    Err(e) => {
                        tracing::debug!(error = %e, "batch not written together: one by one");
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.submit_one(item, &mut pick, &mut after).await);
        }
        out
    }

    async fn insert_batch(
        &self,
        items: &[BatchItem<'_>],
        pick: &mut Pick<'_>,
        after: &mut After<'_>,
    ) -> Result<Vec<Keyed<MessageRecord>>> {
        let mut tx = self.begin_write().await?;
        // Keys seen before.
        let placeholders: Vec<String> = (1..=items.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, idempotency_key, payload_hash FROM messages WHERE idempotency_key IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for item in items {
            q = q.bind(item.key);
        }
        let mut seen = std::collections::HashMap::new();
        for row in q.fetch_all(&mut *tx).await? {
            seen.insert(
                rows::text(&row, "idempotency_key")?,
                (
                    MessageId(rows::int(&row, "id")?),
                    rows::opt_text(&row, "payload_hash")?,
                ),
            );
        }
        // Duplicate candidates of every new item, in two statements for the whole batch: the
        // same bounded lookup as a single submission (the newest band hits only).
        let looked_up: Vec<(usize, &BatchItem<'_>)> = items
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                !seen.contains_key(i.key)
                    && i.new.duplicate_group.is_none()
                    && i.duplicates_since.is_some()
                    && i.new.message.territory.is_some()
            })
            .collect();
        let mut stored = batch_candidates(&mut tx, self.backend, &looked_up).await?;
        let mut out = Vec::with_capacity(items.len());
        let mut bands = Vec::new();
        let mut events = Vec::new();
        let mut requests = Vec::new();
        let mut emails: Vec<(NewEmail, Timestamp)> = Vec::new();
        // This batch's messages, as candidates for the later ones.
        let mut fresh: Vec<(i64, &[i64], Timestamp, DuplicateCandidate)> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let new = item.new;
            if let Some((id, hash)) = seen.get(item.key) {
                if hash.as_deref() == Some(item.payload_hash) {
                    let record =
                        record_by_id(&mut tx, *id)
                            .await?
                            .ok_or_else(|| StoreError::NotFound {
                                entity: EntityKind::Message,
                                key: id.to_string(),
                            })?;
                    out.push(Keyed::Replayed(record));
                } else {
                    out.push(Keyed::KeyReused {
                        message: *id,
                        operation: "submit".into(),
                    });
                }
                continue;
            }
            let mut group = new.duplicate_group;
            if let (None, Some(since), Some(territory)) =
                (group, item.duplicates_since, new.message.territory)
            {
                let t = territory.get();
                // The stored candidates: the same bounded lookup as a single submission (the
                // newest band hits only), so a batch costs the same per item however many
                // similar messages the territory holds. This batch's own messages are not in
                // `message_bands` yet: they come from `fresh`.
                let mut candidates: Vec<DuplicateCandidate> =
                    stored.remove(&index).unwrap_or_default();
                candidates.extend(
                    fresh
                        .iter()
                        .filter(|(ct, b, at, _)| {
                            *ct == t && *at >= since && b.iter().any(|x| new.bands.contains(x))
                        })
                        .map(|(_, _, _, c)| c.clone()),
                );
                candidates.sort_by_key(|c| std::cmp::Reverse(c.id));
                candidates.dedup_by_key(|c| c.id);
                candidates.truncate(MAX_CANDIDATES);
                if !candidates.is_empty() {
                    group = pick(new, &candidates);
                }
            }
            let id = insert_message_row(&mut tx, item, group).await?;
            bands.extend(band_rows(id, new));
            events.push(audit::event(
                item.actor,
                EntityKind::Message,
                id,
                "created",
                created_detail(new, item.key, group, item.detail.clone()),
                item.now,
            ));
            let record = record_of(item, id, group);
            if let Some(accept) = &item.accept {
                events.push(accept_event(item, accept, &record));
                requests.push(request_row(accept, &record, item.now)?);
            }
            link_attachments(&mut tx, item.attachments, record.message.id, item.now).await?;
            emails.extend(after(&record).into_iter().map(|e| (e, item.now)));
            if let (Some(t), Some(sig)) = (new.message.territory, &new.text_signature) {
                fresh.push((
                    t.get(),
                    &new.bands,
                    item.now,
                    DuplicateCandidate {
                        id: MessageId(id),
                        group,
                        status: record.message.status,
                        signature: sig.clone(),
                    },
                ));
            }
            out.push(Keyed::Done(record));
        }
        insert_bands(&mut tx, self.backend, &bands).await?;
        audit::insert_many(&mut tx, &events).await?;
        insert_requests(&mut tx, &requests).await?;
        for (email, at) in &emails {
            enqueue_email_in(&mut tx, email, *at).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Which of `ids` are in the attachments store, each with the message it belongs to (if it
    /// was attached already); unknown ids are left out.
    #[tracing::instrument(skip(self))]
    pub async fn attachment_owners(
        &self,
        ids: &[AttachmentId],
    ) -> Result<Vec<(AttachmentId, Option<MessageId>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, message_id FROM attachments WHERE id IN ({}) ORDER BY id",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id.get());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    AttachmentId(rows::int(r, "id")?),
                    rows::opt_int(r, "message_id")?.map(MessageId),
                ))
            })
            .collect()
    }

    /// Messages of `territory` created at or after `since` that share at least one band with
    /// `bands`: candidates for a duplicate group (the caller compares signatures), the newest
    /// [`MAX_CANDIDATES`] at most, newest first.
    #[tracing::instrument(skip(self, bands))]
    pub async fn duplicate_candidates(
        &self,
        territory: TerritoryId,
        bands: &[i64],
        since: Timestamp,
    ) -> Result<Vec<DuplicateCandidate>> {
        let mut conn = self.pool.acquire().await?;
        candidates_on(&mut conn, territory, bands, since).await
    }

    /// Every message of a duplicate group (its first message and those that joined it), by id.
    #[tracing::instrument(skip(self))]
    pub async fn group_records(&self, group: MessageId) -> Result<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {RECORD_COLS} FROM messages WHERE id = $1 OR duplicate_group = $1 ORDER BY id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(group.get())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::message_record).collect()
    }

    /// Writes one workflow step (see [`StepWrite`]) with its audit event
    /// (`transition:<code>`), the idempotency record, and the messages moved with it, in one
    /// transaction.
    #[tracing::instrument(skip(self, step), fields(id = %step.next.message.id, transition = %step.transition))]
    pub async fn apply_step(&self, step: &StepWrite<'_>) -> Result<Keyed<StepApplied>> {
        let id = step.next.message.id;
        let operation = format!("transition:{}", step.transition.code());
        if let Some((key, hash)) = step.key {
            if key.trim().is_empty() {
                return Err(StoreError::Invalid(
                    "an idempotency key must not be empty".into(),
                ));
            }
            let mut conn = self.pool.acquire().await?;
            if let Some(seen) = replay_step(&mut conn, key, hash, &operation, id).await? {
                return Ok(seen);
            }
        }
        match self.write_step(step, &operation).await {
            Ok(applied) => Ok(Keyed::Done(applied)),
            // A concurrent call with the same key won: give back its result.
            Err(e) if (e.is_conflict() || e.is_unique_violation()) && step.key.is_some() => {
                let mut conn = self.pool.acquire().await?;
                match step.key {
                    Some((key, hash)) => replay_step(&mut conn, key, hash, &operation, id)
                        .await?
                        .ok_or(e),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn write_step(&self, step: &StepWrite<'_>, operation: &str) -> Result<StepApplied> {
        let id = step.next.message.id;
        let mut tx = self.begin_write().await?;
        let from: Option<String> = sqlx::query_scalar("SELECT status FROM messages WHERE id = $1")
            .bind(id.get())
            .fetch_optional(&mut *tx)
            .await?;
        let from = from.ok_or_else(|| StoreError::NotFound {
            entity: EntityKind::Message,
            key: id.to_string(),
        })?;
        let record = update_record(&mut tx, step.expected_version, step.next, step.now).await?;
        let Some(record) = record else {
            return Err(StoreError::Conflict {
                id,
                expected_version: step.expected_version,
            });
        };
        let mut detail = json!({
            "from": from,
            "to": record.message.status.code(),
            "version": record.message.version,
        });
        if let (Some(map), serde_json::Value::Object(extra)) =
            (detail.as_object_mut(), step.detail.clone())
        {
            map.extend(extra);
        }
        let event = audit::event(
            step.actor,
            EntityKind::Message,
            id.get(),
            operation,
            detail,
            step.now,
        );
        audit::insert(&mut tx, &event).await?;
        let mut also = Vec::with_capacity(step.also.len());
        for (version, next) in step.also {
            let before = next.message.status;
            if let Some(moved) = update_record(&mut tx, *version, next, step.now).await? {
                let event = audit::event(
                    step.actor,
                    EntityKind::Message,
                    moved.message.id.get(),
                    operation,
                    json!({
                        "to": moved.message.status.code(),
                        "version": moved.message.version,
                        "with": id.get(),
                        "group": true,
                        "status_before": before.code(),
                    }),
                    step.now,
                );
                audit::insert(&mut tx, &event).await?;
                also.push(moved);
            }
        }
        if let Some(link) = step.rating_link {
            consume_rating_link_in(&mut tx, link, step.now).await?;
        }
        for email in step.emails {
            enqueue_email_in(&mut tx, email, step.now).await?;
        }
        if let Some((key, hash)) = step.key {
            let result = serde_json::to_string(&record)
                .map_err(|e| StoreError::Invalid(format!("cannot encode the result: {e}")))?;
            sqlx::query(
                "INSERT INTO workflow_requests (idempotency_key, message_id, operation, \
                 payload_hash, result, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(key)
            .bind(id.get())
            .bind(operation)
            .bind(hash)
            .bind(result.as_str())
            .bind(step.now.millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(StepApplied { record, also })
    }

    /// What an earlier step stored under an idempotency key, if any.
    #[tracing::instrument(skip(self, key))]
    pub async fn workflow_request(&self, key: &str) -> Result<Option<StoredRequest>> {
        let mut conn = self.pool.acquire().await?;
        request_by_key(&mut conn, key)
            .await?
            .map(|(message, operation, payload_hash, result)| {
                Ok(StoredRequest {
                    message,
                    operation,
                    payload_hash,
                    result: decode_result(&result)?,
                })
            })
            .transpose()
    }

    /// Open messages (someone still has to act before the answer) with a deadline at or
    /// before `due_before`, of one executor organisation or all, earliest deadline first.
    #[tracing::instrument(skip(self))]
    pub async fn open_records_due(
        &self,
        executor: Option<OrganisationId>,
        due_before: Timestamp,
    ) -> Result<Vec<MessageRecord>> {
        let mut sql = format!(
            "SELECT {RECORD_COLS} FROM messages WHERE status IN {OPEN_STATUSES} \
             AND deadline_at <= $1"
        );
        if executor.is_some() {
            sql.push_str(" AND executor_id = $2");
        }
        sql.push_str(" ORDER BY deadline_at, id");
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(due_before.millis());
        if let Some(org) = executor {
            q = q.bind(org.get());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(rows::message_record).collect()
    }

    /// Open social-network messages with a first-public-reply deadline and no reply to their
    /// post yet (none queued or delivered in the reply outbox; a reply given up on does not
    /// count), of one executor organisation or all, earliest first-reply deadline first.
    #[tracing::instrument(skip(self))]
    pub async fn open_first_replies_due(
        &self,
        executor: Option<OrganisationId>,
    ) -> Result<Vec<MessageRecord>> {
        let mut sql = format!(
            "SELECT {RECORD_COLS} FROM messages WHERE status IN {OPEN_STATUSES} \
             AND first_reply_due_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbound_replies r \
             WHERE r.message_id = messages.id AND r.status <> 'failed')"
        );
        if executor.is_some() {
            sql.push_str(" AND executor_id = $1");
        }
        sql.push_str(" ORDER BY first_reply_due_at, id");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(org) = executor {
            q = q.bind(org.get());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(rows::message_record).collect()
    }

    /// Records an escalation notice, once per (message, kind, deadline), with its audit event
    /// (`escalation:<kind>`) and the e-mails announcing it (queued in the e-mail outbox), in
    /// one transaction. `None` (and nothing queued) when it was recorded before.
    #[tracing::instrument(skip(self, emails))]
    pub async fn record_escalation(
        &self,
        message: MessageId,
        organisation: Option<OrganisationId>,
        kind: EscalationKind,
        deadline_at: Timestamp,
        emails: &[NewEmail],
        now: Timestamp,
    ) -> Result<Option<Escalation>> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO escalations (message_id, organisation_id, kind, deadline_at, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id, kind, deadline_at) DO NOTHING \
             RETURNING {ESCALATION_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(message.get())
            .bind(organisation.map(OrganisationId::get))
            .bind(kind.code())
            .bind(deadline_at.millis())
            .bind(now.millis())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let esc = escalation(&row)?;
        let event = audit::event(
            None,
            EntityKind::Message,
            message.get(),
            format!("escalation:{}", kind.code()),
            json!({
                "escalation": esc.id,
                "organisation": organisation.map(OrganisationId::get),
                "deadline_at": deadline_at.millis(),
            }),
            now,
        );
        audit::insert(&mut tx, &event).await?;
        for email in emails {
            enqueue_email_in(&mut tx, email, now).await?;
        }
        tx.commit().await?;
        Ok(Some(esc))
    }

    /// Escalation notices, newest first: of one organisation or all; only those not yet taken
    /// by the e-mail outbox when `pending_only`.
    #[tracing::instrument(skip(self))]
    pub async fn escalations(
        &self,
        organisation: Option<OrganisationId>,
        pending_only: bool,
    ) -> Result<Vec<Escalation>> {
        let mut sql = format!("SELECT {ESCALATION_COLS} FROM escalations WHERE 1 = 1");
        if pending_only {
            sql.push_str(" AND notified_at IS NULL");
        }
        if organisation.is_some() {
            sql.push_str(" AND organisation_id = $1");
        }
        sql.push_str(" ORDER BY id DESC");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(org) = organisation {
            q = q.bind(org.get());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(escalation).collect()
    }

    /// Marks an escalation notice as taken by the e-mail outbox; false when it was already.
    #[tracing::instrument(skip(self))]
    pub async fn mark_escalation_notified(&self, id: i64, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE escalations SET notified_at = $1 WHERE id = $2 AND notified_at IS NULL",
        )
        .bind(now.millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Number of audit events about a message with action `action` (for checks and tests).
    #[tracing::instrument(skip(self))]
    pub async fn count_message_events(&self, id: MessageId, action: &str) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE entity = $1 AND entity_id = $2 AND action = $3",
        )
        .bind(EntityKind::Message.code())
        .bind(id.get())
        .bind(action)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// The social-network post a message came from: its network and external id (to answer
    /// under it through the reply outbox).
    #[tracing::instrument(skip(self))]
    pub async fn reply_target(
        &self,
        id: MessageId,
    ) -> Result<Option<(Channel, otklik_domain::Network, String)>> {
        let row = sqlx::query(
            "SELECT m.channel, p.network, p.external_id FROM messages m \
             JOIN posts p ON p.id = m.source_post_id WHERE m.id = $1",
        )
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                rows::text(&r, "channel")?.parse::<Channel>()?,
                rows::text(&r, "network")?.parse::<otklik_domain::Network>()?,
                rows::text(&r, "external_id")?,
            ))
        })
        .transpose()
    }
}

/// Most items [`Store::submit_records`] writes in one transaction.
pub const MAX_BATCH: usize = 256;

/// The new message's first decision: the `pick` of [`Store::submit_records`] as a trait object.
type Pick<'p> = dyn FnMut(&NewRecord, &[DuplicateCandidate]) -> Option<MessageId> + Send + 'p;
/// The e-mails announcing a new message: the `after` of [`Store::submit_records`].
type After<'p> = dyn FnMut(&MessageRecord) -> Vec<NewEmail> + Send + 'p;

/// One submission of [`Store::submit_records`].
#[derive(Debug, Clone)]
pub struct BatchItem<'a> {
    /// The message.
    pub new: &'a NewRecord,
    /// Who submitted it (the citizen's account), for its audit event.
    pub actor: Option<UserId>,
    /// Its idempotency key.
    pub key: &'a str,
    /// Hash of its payload.
    pub payload_hash: &'a str,
    /// Audit detail of its `created` event.
    pub detail: serde_json::Value,
    /// When it was submitted: its `created_at` and the time of its audit events.
    pub now: Timestamp,
    /// Look for its duplicate group among messages created at or after this (none: no search).
    pub duplicates_since: Option<Timestamp>,
    /// Accept it at once (a confident collector incident): written in status `coordination`,
    /// version 2, with the `transition:accept` audit event after `created` and the step's
    /// idempotency record, exactly as [`Store::apply_step`] would have written the acceptance.
    pub accept: Option<AutoAccept>,
    /// Uploaded attachments linked to the message in the same transaction; an id that does not
    /// exist or already belongs to another message fails the item with
    /// [`StoreError::Invalid`].
    pub attachments: &'a [AttachmentId],
}

/// The automatic acceptance of a new message (see [`BatchItem::accept`]).
#[derive(Debug, Clone)]
pub struct AutoAccept {
    /// Idempotency key of the step.
    pub key: String,
    /// Audit detail (the store adds `from`, `to` and `version`).
    pub detail: serde_json::Value,
    /// Hash of the step's payload, which names the message: computed once its id is known.
    pub payload_hash: fn(MessageId) -> String,
}

/// The message row of an intake; `$1`…`$28`, see [`bind_message`].
const MESSAGE_INSERT: &str = "INSERT INTO messages (status, version, channel, subcategory, \
     territory_id, executor_id, submitted_via_id, author_id, author_handle, source_post_id, \
     text, address, confidence_pm, rating, created_at, deadline_at, updated_at, \
     idempotency_key, payload_hash, citizen_contact, attachments, external_system, \
     external_id, source_url, fast_track, moderation_note, first_reply_due_at, \
     duplicate_group, text_signature, deadline_clock) \
     VALUES ($1, $28, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, $13, \
     $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27) RETURNING id";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Status and version a new message is written with.
fn initial_state(item: &BatchItem<'_>) -> (MessageStatus, i64) {
    match item.accept {
        Some(_) => (MessageStatus::Coordination, 2),
        None => (MessageStatus::Moderation, 1),
    }
}

/// Binds `$1`…`$28` of [`MESSAGE_INSERT`].
fn bind_message<'q>(
    q: AnyQuery<'q>,
    item: &'q BatchItem<'q>,
    duplicate_group: Option<MessageId>,
) -> AnyQuery<'q> {
    let new = item.new;
    let m = &new.message;
    let (status, version) = initial_state(item);
    q.bind(status.code())
        .bind(m.channel.code())
        .bind(m.subcategory.0.as_str())
        .bind(m.territory.map(TerritoryId::get))
        .bind(m.executor.map(OrganisationId::get))
        .bind(m.submitted_via.map(OrganisationId::get))
        .bind(m.author.map(UserId::get))
        .bind(m.author_handle.as_deref())
        .bind(m.source_post.map(PostId::get))
        .bind(m.text.as_str())
        .bind(m.address.as_deref())
        .bind(m.confidence_pm)
        .bind(item.now.millis())
        .bind(m.deadline_at.millis())
        .bind(item.key)
        .bind(item.payload_hash)
        .bind(new.citizen_contact.as_deref())
        .bind(rows::json_list(new.attachments.iter().map(String::as_str)))
        .bind(new.external_system.as_deref())
        .bind(new.external_id.as_deref())
        .bind(new.source_url.as_deref())
        .bind(rows::flag(new.fast_track))
        .bind(new.moderation_note.as_deref())
        .bind(new.first_reply_due_at.map(Timestamp::millis))
        .bind(duplicate_group.map(MessageId::get))
        .bind(new.text_signature.as_deref())
        .bind(new.deadline_clock.as_deref())
        .bind(version)
}

async fn insert_message_row(
    conn: &mut AnyConnection,
    item: &BatchItem<'_>,
    duplicate_group: Option<MessageId>,
) -> Result<i64> {
    let q = bind_message(sqlx::query(MESSAGE_INSERT), item, duplicate_group);
    let row = q.fetch_one(&mut *conn).await?;
    rows::int(&row, "id")
}

/// SQLite: the message row, its bands and its `created` audit event in one round trip to the
/// connection's worker thread (three statements in one query string sharing the parameters;
/// the bands and the event take the message id from `last_insert_rowid()` — inserts into the
/// `WITHOUT ROWID` band table do not change it).
async fn insert_message_sqlite(
    conn: &mut AnyConnection,
    item: &BatchItem<'_>,
    duplicate_group: Option<MessageId>,
    event: &NewAuditEvent,
) -> Result<i64> {
    let new = item.new;
    let bands: Vec<(i64, i64)> = match new.message.territory {
        Some(t) => {
            let mut b = new.bands.clone();
            b.sort_unstable();
            b.dedup();
            b.into_iter().map(|b| (t.get(), b)).collect()
        }
        None => Vec::new(),
    };
    let bands = serde_json::to_string(&bands)
        .map_err(|e| StoreError::Invalid(format!("cannot encode band rows: {e}")))?;
    let sql = format!(
        "{MESSAGE_INSERT}; \
         INSERT INTO message_bands (message_id, territory_id, band) \
         SELECT last_insert_rowid(), value ->> 0, value ->> 1 FROM json_each($29); \
         INSERT INTO audit_events (at, actor_id, entity, entity_id, action, detail) \
         VALUES ($13, $30, $31, last_insert_rowid(), $32, $33)"
    );
    let q = bind_message(sqlx::query(AssertSqlSafe(sql)), item, duplicate_group)
        .bind(bands)
        .bind(event.actor.map(UserId::get))
        .bind(event.entity.code())
        .bind(event.action.as_str())
        .bind(event.detail.as_str());
    let rows = q.fetch_all(&mut *conn).await?;
    match rows.as_slice() {
        [row] => rows::int(row, "id"),
        _ => Err(StoreError::Invalid(format!(
            "inserting a message returned {} rows instead of its id",
            rows.len()
        ))),
    }
}

/// The `transition:accept` event of an automatic acceptance, as [`Store::apply_step`] writes it.
fn accept_event(
    item: &BatchItem<'_>,
    accept: &AutoAccept,
    record: &MessageRecord,
) -> NewAuditEvent {
    let mut detail = json!({
        "from": MessageStatus::Moderation.code(),
        "to": record.message.status.code(),
        "version": record.message.version,
    });
    if let (Some(map), serde_json::Value::Object(extra)) =
        (detail.as_object_mut(), accept.detail.clone())
    {
        map.extend(extra);
    }
    audit::event(
        None,
        EntityKind::Message,
        record.message.id.get(),
        format!("transition:{}", Transition::Accept.code()),
        detail,
        item.now,
    )
}

/// (key, message, operation, payload hash, result, created_at) of `workflow_requests`.
type RequestRow = (String, i64, String, String, String, i64);

fn request_row(accept: &AutoAccept, record: &MessageRecord, now: Timestamp) -> Result<RequestRow> {
    let result = serde_json::to_string(record)
        .map_err(|e| StoreError::Invalid(format!("cannot encode the result: {e}")))?;
    Ok((
        accept.key.clone(),
        record.message.id.get(),
        format!("transition:{}", Transition::Accept.code()),
        (accept.payload_hash)(record.message.id),
        result,
        now.millis(),
    ))
}

/// Idempotency records of steps, 16 per statement.
async fn insert_requests(conn: &mut AnyConnection, rows: &[RequestRow]) -> Result<()> {
    for chunk in rows.chunks(16) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 6;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO workflow_requests (idempotency_key, message_id, operation, \
             payload_hash, result, created_at) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (key, id, op, hash, result, at) in chunk {
            q = q
                .bind(key.as_str())
                .bind(*id)
                .bind(op.as_str())
                .bind(hash.as_str())
                .bind(result.as_str())
                .bind(*at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Links uploaded attachments to a new message: every id must exist and belong to no message.
async fn link_attachments(
    conn: &mut AnyConnection,
    ids: &[AttachmentId],
    message: MessageId,
    now: Timestamp,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "UPDATE attachments SET message_id = $1, attached_at = $2 \
         WHERE id IN ({}) AND message_id IS NULL",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(message.get())
        .bind(now.millis());
    for id in &ids {
        q = q.bind(id.get());
    }
    let done = q.execute(&mut *conn).await?;
    if usize::try_from(done.rows_affected()).ok() != Some(ids.len()) {
        let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
        return Err(StoreError::Invalid(format!(
            "attachments {} must be uploaded and not yet attached to another message",
            list.join(", ")
        )));
    }
    Ok(())
}

/// (message, territory, band) rows of a new message: none without a territory.
fn band_rows(id: i64, new: &NewRecord) -> Vec<(i64, i64, i64)> {
    let Some(territory) = new.message.territory else {
        return Vec::new();
    };
    let mut bands = new.bands.clone();
    bands.sort_unstable();
    bands.dedup();
    bands
        .into_iter()
        .map(|b| (id, territory.get(), b))
        .collect()
}

/// The rows of a JSON array parameter `$n` (each row's `value`), in either backend's SQL.
fn json_rows(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("json_each(${n})"),
        Backend::Postgres => format!("json_array_elements(${n}::json)"),
    }
}

/// Writes the band rows in one statement whatever their number: the rows travel as one JSON
/// parameter (`[[message, territory, band], …]`). One parameter per value would cost SQLite
/// a linear parameter-name lookup per bound value (quadratic in the statement's size) and
/// several statements for a batch.
async fn insert_bands(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[(i64, i64, i64)],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO message_bands (message_id, territory_id, band) \
         SELECT CAST(value ->> 0 AS BIGINT), CAST(value ->> 1 AS BIGINT), \
         CAST(value ->> 2 AS BIGINT) FROM {}",
        json_rows(backend, 1)
    );
    let json = serde_json::to_string(rows)
        .map_err(|e| StoreError::Invalid(format!("cannot encode band rows: {e}")))?;
    sqlx::query(AssertSqlSafe(sql))
        .bind(json)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn created_detail(
    new: &NewRecord,
    key: &str,
    group: Option<MessageId>,
    detail: serde_json::Value,
) -> serde_json::Value {
    let m = &new.message;
    let mut out = json!({
        "status": MessageStatus::Moderation.code(),
        "channel": m.channel.code(),
        "subcategory": m.subcategory.0,
        "executor": m.executor.map(OrganisationId::get),
        "idempotency_key": key,
        "deadline_at": m.deadline_at.millis(),
        "duplicate_group": group.map(MessageId::get),
    });
    if let (Some(map), serde_json::Value::Object(extra)) = (out.as_object_mut(), detail) {
        map.extend(extra);
    }
    out
}

fn record_of(item: &BatchItem<'_>, id: i64, group: Option<MessageId>) -> MessageRecord {
    let new = item.new;
    let now = item.now;
    let m = &new.message;
    let (status, version) = initial_state(item);
    let message = otklik_domain::Message {
        id: MessageId(id),
        status,
        version,
        channel: m.channel,
        subcategory: m.subcategory.clone(),
        territory: m.territory,
        executor: m.executor,
        submitted_via: m.submitted_via,
        author: m.author,
        author_handle: m.author_handle.clone(),
        source_post: m.source_post,
        text: m.text.clone(),
        address: m.address.clone(),
        confidence_pm: m.confidence_pm,
        rating: None,
        created_at: now,
        deadline_at: m.deadline_at,
        updated_at: now,
    };
    let mut record = MessageRecord::new(message);
    record.citizen_contact = new.citizen_contact.clone();
    record.attachments = new.attachments.clone();
    record.external_system = new.external_system.clone();
    record.external_id = new.external_id.clone();
    record.source_url = new.source_url.clone();
    record.fast_track = new.fast_track;
    record.moderation_note = new.moderation_note.clone();
    record.first_reply_due_at = new.first_reply_due_at;
    record.duplicate_group = group;
    record.deadline_clock = new.deadline_clock.clone();
    record
}

/// The stored duplicate candidates of each of `items` (keyed by the item's index in the batch), newest
/// first, [`MAX_CANDIDATES`] at most each: exactly what [`candidates_on`] gives each of them,
/// in two statements for the whole batch (the ids per item, then each distinct message once).
async fn batch_candidates(
    conn: &mut AnyConnection,
    backend: Backend,
    items: &[(usize, &BatchItem<'_>)],
) -> Result<std::collections::HashMap<usize, Vec<DuplicateCandidate>>> {
    let mut out = std::collections::HashMap::new();
    let wanted: Vec<(i64, &[i64], i64)> = items
        .iter()
        .filter_map(|(_, i)| {
            Some((
                i.new.message.territory?.get(),
                i.new.bands.as_slice(),
                i.duplicates_since?.millis(),
            ))
        })
        .collect();
    if wanted.len() != items.len() || wanted.is_empty() {
        return Ok(out);
    }
    let ids_sql = match backend {
        Backend::Sqlite => format!(
            "SELECT x.item, x.id FROM (SELECT it.key AS item, m.id, \
             ROW_NUMBER() OVER (PARTITION BY it.key ORDER BY m.id DESC) AS rn \
             FROM json_each($1) AS it JOIN messages m ON m.id IN (SELECT b.message_id \
             FROM message_bands b WHERE b.territory_id = CAST(it.value ->> 0 AS BIGINT) \
             AND b.band IN (SELECT CAST(v.value AS BIGINT) FROM json_each(it.value -> 1) AS v) \
             ORDER BY b.message_id DESC LIMIT {BAND_HITS}) \
             WHERE m.created_at >= CAST(it.value ->> 2 AS BIGINT) \
             AND m.text_signature IS NOT NULL) AS x WHERE x.rn <= {MAX_CANDIDATES}"
        ),
        Backend::Postgres => format!(
            "SELECT x.item, x.id FROM (SELECT it.item - 1 AS item, m.id, \
             ROW_NUMBER() OVER (PARTITION BY it.item ORDER BY m.id DESC) AS rn \
             FROM json_array_elements($1::json) WITH ORDINALITY AS it(value, item) \
             CROSS JOIN LATERAL (SELECT DISTINCT h.message_id FROM (SELECT b.message_id \
             FROM message_bands b WHERE b.territory_id = (it.value ->> 0)::bigint \
             AND b.band IN (SELECT v.x::bigint FROM json_array_elements_text(it.value -> 1) AS v(x)) \
             ORDER BY b.message_id DESC LIMIT {BAND_HITS}) AS h) AS hits \
             JOIN messages m ON m.id = hits.message_id \
             WHERE m.created_at >= (it.value ->> 2)::bigint \
             AND m.text_signature IS NOT NULL) AS x WHERE x.rn <= {MAX_CANDIDATES}"
        ),
    };
    let json = serde_json::to_string(&wanted)
        .map_err(|e| StoreError::Invalid(format!("cannot encode band keys: {e}")))?;
    let mut per_item: Vec<(usize, i64)> = Vec::new();
    for r in sqlx::query(AssertSqlSafe(ids_sql))
        .bind(json)
        .fetch_all(&mut *conn)
        .await?
    {
        let item = usize::try_from(rows::int(&r, "item")?)
            .map_err(|_| StoreError::Invalid("negative batch item".into()))?;
        per_item.push((item, rows::int(&r, "id")?));
    }
    if per_item.is_empty() {
        return Ok(out);
    }
    let mut ids: Vec<i64> = per_item.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let details_sql = format!(
        "SELECT id, duplicate_group, status, text_signature FROM messages WHERE id IN ({})",
        match backend {
            Backend::Sqlite => "SELECT CAST(value AS BIGINT) FROM json_each($1)",
            Backend::Postgres =>
                "SELECT v.x::bigint FROM json_array_elements_text($1::json) AS v(x)",
        }
    );
    let json = serde_json::to_string(&ids)
        .map_err(|e| StoreError::Invalid(format!("cannot encode message ids: {e}")))?;
    let mut details = std::collections::HashMap::with_capacity(ids.len());
    for r in sqlx::query(AssertSqlSafe(details_sql))
        .bind(json)
        .fetch_all(&mut *conn)
        .await?
    {
        let id = rows::int(&r, "id")?;
        details.insert(
            id,
            DuplicateCandidate {
                id: MessageId(id),
                group: rows::opt_int(&r, "duplicate_group")?.map(MessageId),
                status: rows::text(&r, "status")?.parse()?,
                signature: rows::text(&r, "text_signature")?,
            },
        );
    }
    for (item, id) in per_item {
        let (Some((index, _)), Some(candidate)) = (items.get(item), details.get(&id)) else {
            continue;
        };
        out.entry(*index)
            .or_insert_with(Vec::new)
            .push(candidate.clone());
    }
    Ok(out)
}

/// How many band hits (newest first) are looked at per intake: bounds the duplicate search to
/// an index-only scan of the newest similar messages instead of every similar message ever
/// stored in the territory (which made each intake O(N) and a run O(N²)).
const BAND_HITS: usize = MAX_CANDIDATES * 8;

async fn candidates_on(
    conn: &mut AnyConnection,
    territory: TerritoryId,
    bands: &[i64],
    since: Timestamp,
) -> Result<Vec<DuplicateCandidate>> {
    if bands.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..bands.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT m.id, m.duplicate_group, m.status, m.text_signature FROM messages m \
         WHERE m.id IN (SELECT b.message_id FROM message_bands b \
         WHERE b.territory_id = $1 AND b.band IN ({}) \
         ORDER BY b.message_id DESC LIMIT {BAND_HITS}) \
         AND m.created_at >= $2 AND m.text_signature IS NOT NULL ORDER BY m.id DESC LIMIT {MAX_CANDIDATES}",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(territory.get())
        .bind(since.millis());
    for b in bands {
        q = q.bind(*b);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(DuplicateCandidate {
                id: MessageId(rows::int(r, "id")?),
                group: rows::opt_int(r, "duplicate_group")?.map(MessageId),
                status: rows::text(r, "status")?.parse()?,
                signature: rows::text(r, "text_signature")?,
            })
        })
        .collect()
}

async fn replay_step(
    conn: &mut AnyConnection,
    key: &str,
    hash: &str,
    operation: &str,
    id: MessageId,
) -> Result<Option<Keyed<StepApplied>>> {
    let Some((message, op, stored_hash, result)) = request_by_key(conn, key).await? else {
        return Ok(None);
    };
    if message != id || op != operation || stored_hash != hash {
        return Ok(Some(Keyed::KeyReused {
            message,
            operation: op,
        }));
    }
    Ok(Some(Keyed::Replayed(StepApplied {
        record: decode_result(&result)?,
        also: Vec::new(),
    })))
}

/// Writes `next` over the row at `expected_version`; `None` when the version moved.
async fn update_record(
    conn: &mut AnyConnection,
    expected_version: i64,
    next: &MessageRecord,
    now: Timestamp,
) -> Result<Option<MessageRecord>> {
    let m = &next.message;
    let updated = sqlx::query(
        "UPDATE messages SET status = $1, version = $2, subcategory = $3, executor_id = $4, \
         deadline_at = $5, rating = $6, updated_at = $7, rejection_reason = $8, \
         answer_text = $9, fast_track = $10, moderation_note = $11, reject_reason_code = $12, \
         revision_comment = $13, clock_paused_at = $14, paused_ms = $15, postponements = $16, \
         postpone_reason = $17, first_reply_due_at = $18, duplicate_group = $19, \
         answered_at = $20, reopened = $21, deadline_clock = $22 \
         WHERE id = $23 AND version = $24",
    )
    .bind(m.status.code())
    .bind(expected_version + 1)
    .bind(m.subcategory.0.as_str())
    .bind(m.executor.map(OrganisationId::get))
    .bind(m.deadline_at.millis())
    .bind(m.rating)
    .bind(now.millis())
    .bind(next.rejection_reason.as_deref())
    .bind(next.answer_text.as_deref())
    .bind(rows::flag(next.fast_track))
    .bind(next.moderation_note.as_deref())
    .bind(next.reject_reason_code.as_deref())
    .bind(next.revision_comment.as_deref())
    .bind(next.clock_paused_at.map(Timestamp::millis))
    .bind(next.paused_ms)
    .bind(next.postponements)
    .bind(next.postpone_reason.as_deref())
    .bind(next.first_reply_due_at.map(Timestamp::millis))
    .bind(next.duplicate_group.map(MessageId::get))
    .bind(next.answered_at.map(Timestamp::millis))
    .bind(next.reopened)
    .bind(next.deadline_clock.as_deref())
    .bind(m.id.get())
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let mut record = next.clone();
    record.message.version = expected_version + 1;
    record.message.updated_at = now;
    Ok(Some(record))
}
