//! Polls: definitions with their options, the moderation life cycle, ballots (one per voter
//! identity hash and poll), the vote log behind idempotency keys and the anomaly report, and
//! the tallies results are computed from.
//!
//! The rules of a poll (what a valid ballot is, who may approve) live in `otklik-polls`; this
//! module stores what it is given and enforces only what must hold under concurrency: one
//! ballot per `(poll, voter_hash)`, one vote per idempotency key, voting only while the poll
//! is published and inside its schedule, re-votes only where the poll allows them.
//!
//! Votes are written in batches ([`Store::cast_votes`]): one transaction and a handful of
//! statements whatever the batch's size (rows travel as one JSON parameter), so a caller that
//! gathers concurrent votes into a batch (group commit) gets thousands of votes per second out
//! of SQLite.

use std::collections::HashMap;

use otklik_domain::{
    BallotId, EntityKind, OrganisationId, Poll, PollId, PollKind, PollOptionId, PollStatus,
    ResultsVisibility, TerritoryId, Timestamp, UserId,
};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::rows::{self, POLL_COLS};
use crate::{Backend, Result, Store, StoreError, audit};

/// What is needed to create a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPoll {
    /// Body running it.
    pub organisation: OrganisationId,
    /// Title.
    pub title: String,
    /// Question kind.
    pub kind: PollKind,
    /// Initial status (normally draft).
    pub status: PollStatus,
    /// Audience territory.
    pub territory: Option<TerritoryId>,
    /// Opens.
    pub starts_at: Timestamp,
    /// Closes.
    pub ends_at: Timestamp,
}

/// One answer option as a poll manager writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewPollOption {
    /// Text shown to voters («Сквер на улице Ленина»).
    pub label: String,
    /// Longer explanation (may be empty).
    #[serde(default)]
    pub description: String,
    /// Budget allocation: the project's cost in roubles; `None` for other kinds.
    #[serde(default)]
    pub cost: Option<i64>,
}

/// A stored answer option.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PollOption {
    /// Database id (what ballots refer to).
    pub id: PollOptionId,
    /// 0-based display position.
    pub position: u32,
    /// Text shown to voters.
    pub label: String,
    /// Longer explanation (may be empty).
    pub description: String,
    /// Budget allocation: cost in roubles.
    pub cost: Option<i64>,
}

/// A poll's full definition as a manager creates or edits it (while it is a draft).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PollDraft {
    /// Body running it.
    pub organisation: OrganisationId,
    /// Title (the question).
    pub title: String,
    /// Longer explanation (may be empty).
    #[serde(default)]
    pub description: String,
    /// Question kind.
    pub kind: PollKind,
    /// Topic code from the region's list (`rules/poll-topics.toml`).
    pub topic: Option<String>,
    /// Audience: residents of this territory and of every territory beneath it; `None`: anyone.
    pub territory: Option<TerritoryId>,
    /// Audience: youngest age allowed to vote, in full years.
    pub min_age: Option<u32>,
    /// Voting opens (inclusive).
    pub starts_at: Timestamp,
    /// Voting closes (exclusive).
    pub ends_at: Timestamp,
    /// Fewest options a ballot picks (multiple choice, ranking, budget).
    pub min_choices: Option<u32>,
    /// Most options a ballot picks (multiple choice, ranking, budget).
    pub max_choices: Option<u32>,
    /// Budget allocation: the chosen projects' costs may sum to this at most (roubles).
    pub budget_cap: Option<i64>,
    /// Free text: longest answer in characters.
    pub max_text_chars: Option<u32>,
    /// A voter may vote again until the poll closes; the new ballot replaces the old one.
    pub allow_revote: bool,
    /// When results may be seen.
    pub results: ResultsVisibility,
    /// Presentation settings for the web layer and the widget: a JSON object, as text.
    pub settings: String,
    /// Answer options in display order (none for free text).
    pub options: Vec<NewPollOption>,
}

/// A stored poll with its whole definition and life-cycle record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PollDetails {
    /// The base record (id, body, title, kind, status, territory, schedule).
    pub poll: Poll,
    /// Longer explanation.
    pub description: String,
    /// Topic code.
    pub topic: Option<String>,
    /// Youngest age allowed to vote.
    pub min_age: Option<u32>,
    /// Fewest options a ballot picks.
    pub min_choices: Option<u32>,
    /// Most options a ballot picks.
    pub max_choices: Option<u32>,
    /// Budget cap (roubles).
    pub budget_cap: Option<i64>,
    /// Longest free-text answer.
    pub max_text_chars: Option<u32>,
    /// Re-votes allowed until close.
    pub allow_revote: bool,
    /// When results may be seen.
    pub results: ResultsVisibility,
    /// Presentation settings (JSON object text).
    pub settings: String,
    /// Answer options in display order.
    pub options: Vec<PollOption>,
    /// The manager who created it.
    pub created_by: Option<UserId>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// Sent to moderation.
    pub submitted_at: Option<Timestamp>,
    /// The moderator who approved or returned it.
    pub reviewed_by: Option<UserId>,
    /// When.
    pub reviewed_at: Option<Timestamp>,
    /// The moderator's note (why it was returned).
    pub review_note: Option<String>,
    /// Published (approved).
    pub published_at: Option<Timestamp>,
    /// Closed.
    pub closed_at: Option<Timestamp>,
}

impl PollDetails {
    /// The option with `id`.
    pub fn option(&self, id: PollOptionId) -> Option<&PollOption> {
        self.options.iter().find(|o| o.id == id)
    }
}

/// A status change of a poll ([`Store::change_poll_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollStatusChange<'a> {
    /// The poll.
    pub poll: PollId,
    /// The status it must be in (otherwise nothing changes).
    pub from: PollStatus,
    /// The new status.
    pub to: PollStatus,
    /// Who does it (`None`: the system, e.g. closing at the end time).
    pub actor: Option<UserId>,
    /// The moderator's note (approve, return to draft).
    pub note: Option<&'a str>,
    /// Audit action («submitted», «approved», «returned», «closed»).
    pub action: &'a str,
    /// When.
    pub now: Timestamp,
}

/// One option a ballot picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct BallotChoice {
    /// The option.
    pub option: PollOptionId,
    /// 1-based rank (ranking polls), `None` otherwise.
    pub rank: Option<u32>,
}

/// One vote to write ([`Store::cast_votes`]). Built by `otklik-polls` after validating the
/// ballot; the identity is already a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteWrite {
    /// The poll.
    pub poll: PollId,
    /// Keyed hash of the voter's identity (64 hex characters).
    pub voter_hash: String,
    /// The caller's idempotency key: a retry with the same key and ballot is answered with the
    /// first outcome.
    pub key: String,
    /// Hash of the ballot's canonical form (same key + other ballot = refused).
    pub payload_hash: String,
    /// Options picked.
    pub choices: Vec<BallotChoice>,
    /// Free-text answer.
    pub text: Option<String>,
    /// Budget allocation: the chosen projects' total cost.
    pub total_cost: Option<i64>,
    /// Keyed hash of the client's network prefix (anomaly report), never the address.
    pub network_hash: Option<String>,
    /// The voter's territory (anomaly report, results by territory).
    pub territory: Option<TerritoryId>,
    /// When the vote arrived.
    pub at: Timestamp,
}

/// What became of one [`VoteWrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum VoteStored {
    /// The voter's first ballot in this poll.
    Recorded {
        /// The ballot.
        ballot: BallotId,
    },
    /// A re-vote: the ballot now holds this vote (revision ≥ 2).
    Replaced {
        /// The ballot.
        ballot: BallotId,
        /// Its revision after this vote.
        revision: u32,
    },
    /// The key was used before with the same ballot: nothing written, the first outcome stands.
    Replayed {
        /// The ballot.
        ballot: BallotId,
        /// The revision that vote produced.
        revision: u32,
    },
    /// The voter has a ballot and the poll allows no re-vote.
    AlreadyVoted {
        /// The existing ballot.
        ballot: BallotId,
    },
    /// The key was used before with another ballot.
    KeyReused,
    /// The poll is not published (draft, on moderation, or closed).
    NotOpen {
        /// Its status.
        status: PollStatus,
    },
    /// Before the poll's start time.
    NotStarted,
    /// At or after the poll's end time.
    Ended,
    /// No such poll.
    NoSuchPoll,
}

impl VoteStored {
    /// Was something written (a first vote or a re-vote)?
    pub fn is_written(self) -> bool {
        matches!(self, Self::Recorded { .. } | Self::Replaced { .. })
    }
}

/// A voter's current ballot ([`Store::ballot_of`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredBallot {
    /// The ballot.
    pub id: BallotId,
    /// 1 for the first vote, +1 per re-vote.
    pub revision: u32,
    /// Options picked (ranking: by rank).
    pub choices: Vec<BallotChoice>,
    /// Free-text answer.
    pub text: Option<String>,
    /// Budget total.
    pub total_cost: Option<i64>,
    /// First vote.
    pub cast_at: Timestamp,
    /// Last re-vote (or the first vote).
    pub updated_at: Timestamp,
}

/// How often one option was picked ([`PollTally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OptionTally {
    /// The option.
    pub option: PollOptionId,
    /// Ballots that pick it.
    pub votes: i64,
    /// Ranking: sum of the ranks it was given (1 = first).
    pub rank_sum: i64,
}

/// Raw counts of a poll's current ballots.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PollTally {
    /// Ballots (one per voter).
    pub ballots: i64,
    /// Per option, in option id order; options nobody picked are absent.
    pub options: Vec<OptionTally>,
    /// Budget allocation: sum of the ballots' totals.
    pub total_cost: i64,
}

/// One free-text answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FreeTextAnswer {
    /// The ballot.
    pub ballot: BallotId,
    /// The answer.
    pub text: String,
    /// When it was last written.
    pub at: Timestamp,
}

/// One accepted vote as the anomaly report sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VoteLogEntry {
    /// Keyed hash of the client's network prefix.
    pub network_hash: Option<String>,
    /// The voter's territory.
    pub territory: Option<TerritoryId>,
    /// When.
    pub at: Timestamp,
}

/// Most votes [`Store::cast_votes`] writes in one transaction; longer slices are cut.
pub const MAX_VOTE_BATCH: usize = 512;

const DETAIL_COLS: &str = "description, topic, min_age, min_choices, max_choices, budget_cap, \
     max_text_chars, allow_revote, results_visibility, settings, created_by, created_at, \
     updated_at, submitted_at, reviewed_by, reviewed_at, review_note, published_at, closed_at";

impl Store {
    /// Creates a poll and audits it (`created`), in one transaction.
    #[tracing::instrument(skip(self, new))]
    pub async fn create_poll(
        &self,
        new: &NewPoll,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Poll> {
        if new.ends_at < new.starts_at {
            return Err(StoreError::Invalid(
                "a poll cannot end before it starts".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO polls (organisation_id, title, kind, status, territory_id, starts_at, \
             ends_at, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(new.organisation.get())
        .bind(new.title.as_str())
        .bind(new.kind.code())
        .bind(new.status.code())
        .bind(new.territory.map(TerritoryId::get))
        .bind(new.starts_at.millis())
        .bind(new.ends_at.millis())
        .bind(actor.map(UserId::get))
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        let event = audit::event(
            actor,
            EntityKind::Poll,
            id,
            "created",
            json!({ "title": new.title, "kind": new.kind.code(), "status": new.status.code() }),
            now,
        );
        audit::insert(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Poll {
            id: PollId(id),
            organisation: new.organisation,
            title: new.title.clone(),
            kind: new.kind,
            status: new.status,
            territory: new.territory,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
        })
    }

    /// A poll by id.
    #[tracing::instrument(skip(self))]
    pub async fn poll(&self, id: PollId) -> Result<Option<Poll>> {
        let sql = format!("SELECT {POLL_COLS} FROM polls WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::poll).transpose()
    }

    /// All polls, by id.
    #[tracing::instrument(skip(self))]
    pub async fn polls(&self) -> Result<Vec<Poll>> {
        let sql = format!("SELECT {POLL_COLS} FROM polls ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::poll).collect()
    }

    /// Polls in `status`, by id.
    #[tracing::instrument(skip(self))]
    pub async fn polls_in_status(&self, status: PollStatus) -> Result<Vec<Poll>> {
        let sql = format!("SELECT {POLL_COLS} FROM polls WHERE status = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(status.code())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::poll).collect()
    }

    /// Creates a draft poll with its options and audits it (`created`), in one transaction.
    /// The definition must have been validated by the caller (`otklik-polls`); here only the
    /// schedule's order is checked.
    #[tracing::instrument(skip(self, draft), fields(organisation = %draft.organisation))]
    pub async fn create_poll_draft(
        &self,
        draft: &PollDraft,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<PollDetails> {
        check_draft(draft)?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO polls (organisation_id, title, kind, status, territory_id, starts_at, \
             ends_at, description, topic, min_age, min_choices, max_choices, budget_cap, \
             max_text_chars, allow_revote, results_visibility, settings, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18, $19, $19) RETURNING id",
        )
        .bind(draft.organisation.get())
        .bind(draft.title.as_str())
        .bind(draft.kind.code())
        .bind(PollStatus::Draft.code())
        .bind(draft.territory.map(TerritoryId::get))
        .bind(draft.starts_at.millis())
        .bind(draft.ends_at.millis())
        .bind(draft.description.as_str())
        .bind(draft.topic.as_deref())
        .bind(draft.min_age.map(i64::from))
        .bind(draft.min_choices.map(i64::from))
        .bind(draft.max_choices.map(i64::from))
        .bind(draft.budget_cap)
        .bind(draft.max_text_chars.map(i64::from))
        .bind(rows::flag(draft.allow_revote))
        .bind(draft.results.code())
        .bind(draft.settings.as_str())
        .bind(actor.map(UserId::get))
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        insert_options(&mut tx, id, &draft.options).await?;
        let event = audit::event(
            actor,
            EntityKind::Poll,
            id,
            "created",
            json!({
                "title": draft.title,
                "kind": draft.kind.code(),
                "options": draft.options.len(),
            }),
            now,
        );
        audit::insert(&mut tx, &event).await?;
        let details = details_on(&mut tx, PollId(id))
            .await?
            .ok_or_else(|| not_found(PollId(id)))?;
        tx.commit().await?;
        Ok(details)
    }

    /// Rewrites a draft's definition and options (audited `updated`). `Ok(None)` when the poll
    /// does not exist or is no longer a draft.
    #[tracing::instrument(skip(self, draft))]
    pub async fn update_poll_draft(
        &self,
        id: PollId,
        draft: &PollDraft,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Option<PollDetails>> {
        check_draft(draft)?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE polls SET organisation_id = $1, title = $2, kind = $3, territory_id = $4, \
             starts_at = $5, ends_at = $6, description = $7, topic = $8, min_age = $9, \
             min_choices = $10, max_choices = $11, budget_cap = $12, max_text_chars = $13, \
             allow_revote = $14, results_visibility = $15, settings = $16, updated_at = $17 \
             WHERE id = $18 AND status = $19",
        )
        .bind(draft.organisation.get())
        .bind(draft.title.as_str())
        .bind(draft.kind.code())
        .bind(draft.territory.map(TerritoryId::get))
        .bind(draft.starts_at.millis())
        .bind(draft.ends_at.millis())
        .bind(draft.description.as_str())
        .bind(draft.topic.as_deref())
        .bind(draft.min_age.map(i64::from))
        .bind(draft.min_choices.map(i64::from))
        .bind(draft.max_choices.map(i64::from))
        .bind(draft.budget_cap)
        .bind(draft.max_text_chars.map(i64::from))
        .bind(rows::flag(draft.allow_revote))
        .bind(draft.results.code())
        .bind(draft.settings.as_str())
        .bind(now.millis())
        .bind(id.get())
        .bind(PollStatus::Draft.code())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        sqlx::query("DELETE FROM poll_options WHERE poll_id = $1")
            .bind(id.get())
            .execute(&mut *tx)
            .await?;
        insert_options(&mut tx, id.get(), &draft.options).await?;
        let event = audit::event(
            actor,
            EntityKind::Poll,
            id.get(),
            "updated",
            json!({ "title": draft.title, "options": draft.options.len() }),
            now,
        );
        audit::insert(&mut tx, &event).await?;
        let details = details_on(&mut tx, id).await?;
        tx.commit().await?;
        Ok(details)
    }

    /// A poll with its whole definition and options.
    #[tracing::instrument(skip(self))]
    pub async fn poll_details(&self, id: PollId) -> Result<Option<PollDetails>> {
        let mut conn = self.pool.acquire().await?;
        details_on(&mut conn, id).await
    }

    /// Moves a poll from `change.from` to `change.to`, stamping the life-cycle columns the
    /// target status has (`review`: submitted; `published`: reviewed and published; `draft`
    /// from review: reviewed with the note; `closed`: closed), audited with `change.action`.
    /// `Ok(None)` when the poll does not exist or is not in `change.from` (nothing changes).
    #[tracing::instrument(skip(self, change), fields(poll = %change.poll, to = %change.to))]
    pub async fn change_poll_status(
        &self,
        change: &PollStatusChange<'_>,
    ) -> Result<Option<PollDetails>> {
        // $1 now, $2 new status, $3 poll, $4 required status; then the target's own columns.
        let (stamp, with_review) = match change.to {
            PollStatus::Review => ("submitted_at = $1, review_note = NULL", false),
            PollStatus::Published => (
                "reviewed_at = $1, reviewed_by = $5, review_note = $6, published_at = $1",
                true,
            ),
            PollStatus::Draft => ("reviewed_at = $1, reviewed_by = $5, review_note = $6", true),
            PollStatus::Closed => ("closed_at = $1", false),
        };
        let sql = format!(
            "UPDATE polls SET status = $2, updated_at = $1, {stamp} WHERE id = $3 AND status = $4"
        );
        let mut tx = self.begin_write().await?;
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(change.now.millis())
            .bind(change.to.code())
            .bind(change.poll.get())
            .bind(change.from.code());
        if with_review {
            q = q.bind(change.actor.map(UserId::get)).bind(change.note);
        }
        let done = q.execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let event = audit::event(
            change.actor,
            EntityKind::Poll,
            change.poll.get(),
            change.action,
            json!({ "from": change.from.code(), "to": change.to.code(), "note": change.note }),
            change.now,
        );
        audit::insert(&mut tx, &event).await?;
        let details = details_on(&mut tx, change.poll).await?;
        tx.commit().await?;
        Ok(details)
    }

    /// Published polls whose end time is at or before `now`.
    #[tracing::instrument(skip(self))]
    pub async fn polls_due_to_close(&self, now: Timestamp) -> Result<Vec<PollId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM polls WHERE status = $1 AND ends_at <= $2 ORDER BY id",
        )
        .bind(PollStatus::Published.code())
        .bind(now.millis())
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(PollId).collect())
    }

    /// Writes a batch of votes in one transaction (group commit) and says what became of each,
    /// in input order. Within the batch votes apply in order, exactly as if written one by one:
    /// a second vote of the same voter is a re-vote (or refused), a repeated key a replay.
    /// Slices longer than [`MAX_VOTE_BATCH`] are written in several transactions.
    ///
    /// Refusals (already voted, key reused, poll not open) write nothing and do not affect the
    /// other votes. When the batch collides with a concurrent writer (another process voting
    /// for the same voter at the same time: a unique key, or a ballot's revision moved), it is
    /// rolled back and its votes are written one by one, each retried once.
    #[tracing::instrument(skip_all, fields(votes = votes.len()))]
    pub async fn cast_votes(&self, votes: &[VoteWrite]) -> Result<Vec<VoteStored>> {
        for v in votes {
            check_vote(v)?;
        }
        let mut out = Vec::with_capacity(votes.len());
        for chunk in votes.chunks(MAX_VOTE_BATCH) {
            match self.try_cast(chunk).await {
                Ok(Ok(done)) => out.extend(done),
                Ok(Err(Collision)) => {
                    tracing::debug!("vote batch collided with a concurrent writer: one by one");
                    for v in chunk {
                        out.push(self.cast_one(v).await?);
                    }
                }
                Err(e) if e.is_unique_violation() => {
                    tracing::debug!("vote batch hit a unique key: one by one");
                    for v in chunk {
                        out.push(self.cast_one(v).await?);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn cast_one(&self, vote: &VoteWrite) -> Result<VoteStored> {
        let one = std::slice::from_ref(vote);
        for attempt in 0..3 {
            let again = match self.try_cast(one).await {
                Ok(Ok(mut done)) => return done.pop().ok_or_else(|| internal("no outcome")),
                Ok(Err(Collision)) => true,
                Err(e) if e.is_unique_violation() && attempt < 2 => true,
                Err(e) => return Err(e),
            };
            debug_assert!(again);
        }
        Err(StoreError::Invalid(
            "the vote kept colliding with concurrent votes of the same voter; try again".into(),
        ))
    }

    async fn try_cast(
        &self,
        votes: &[VoteWrite],
    ) -> Result<std::result::Result<Vec<VoteStored>, Collision>> {
        let mut tx = self.begin_write().await?;
        let plan = plan_votes(&mut tx, self.backend, votes).await?;
        let written = write_plan(&mut tx, self.backend, votes, plan).await?;
        match written {
            Ok(outcomes) => {
                tx.commit().await?;
                Ok(Ok(outcomes))
            }
            Err(c) => {
                tx.rollback().await?;
                Ok(Err(c))
            }
        }
    }

    /// The voter's current ballot in a poll.
    #[tracing::instrument(skip(self, voter_hash))]
    pub async fn ballot_of(&self, poll: PollId, voter_hash: &str) -> Result<Option<StoredBallot>> {
        let row = sqlx::query(
            "SELECT id, revision, free_text, total_cost, cast_at, updated_at FROM poll_ballots \
             WHERE poll_id = $1 AND voter_hash = $2",
        )
        .bind(poll.get())
        .bind(voter_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id = rows::int(&row, "id")?;
        let choices = sqlx::query(
            "SELECT option_id, rank FROM poll_ballot_choices WHERE ballot_id = $1 \
             ORDER BY rank, option_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(BallotChoice {
                option: PollOptionId(rows::int(r, "option_id")?),
                rank: rows::opt_int(r, "rank")?.map(to_u32).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(Some(StoredBallot {
            id: BallotId(id),
            revision: to_u32(rows::int(&row, "revision")?)?,
            choices,
            text: rows::opt_text(&row, "free_text")?,
            total_cost: rows::opt_int(&row, "total_cost")?,
            cast_at: Timestamp(rows::int(&row, "cast_at")?),
            updated_at: Timestamp(rows::int(&row, "updated_at")?),
        }))
    }

    /// Counts of a poll's current ballots: per option, with rank sums for ranking polls.
    #[tracing::instrument(skip(self))]
    pub async fn poll_tally(&self, poll: PollId) -> Result<PollTally> {
        let mut conn = self.pool.acquire().await?;
        let totals = sqlx::query(
            "SELECT COUNT(*) AS ballots, CAST(COALESCE(SUM(total_cost), 0) AS BIGINT) AS cost \
             FROM poll_ballots WHERE poll_id = $1",
        )
        .bind(poll.get())
        .fetch_one(&mut *conn)
        .await?;
        let options = sqlx::query(
            "SELECT option_id, COUNT(*) AS votes, CAST(COALESCE(SUM(rank), 0) AS BIGINT) \
             AS rank_sum FROM poll_ballot_choices WHERE poll_id = $1 GROUP BY option_id \
             ORDER BY option_id",
        )
        .bind(poll.get())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(OptionTally {
                option: PollOptionId(rows::int(r, "option_id")?),
                votes: rows::int(r, "votes")?,
                rank_sum: rows::int(r, "rank_sum")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(PollTally {
            ballots: rows::int(&totals, "ballots")?,
            options,
            total_cost: rows::int(&totals, "cost")?,
        })
    }

    /// Free-text answers, oldest ballot first, `limit` from `offset`.
    #[tracing::instrument(skip(self))]
    pub async fn poll_free_texts(
        &self,
        poll: PollId,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<FreeTextAnswer>> {
        sqlx::query(
            "SELECT id, free_text, updated_at FROM poll_ballots \
             WHERE poll_id = $1 AND free_text IS NOT NULL ORDER BY id LIMIT $2 OFFSET $3",
        )
        .bind(poll.get())
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(FreeTextAnswer {
                ballot: BallotId(rows::int(r, "id")?),
                text: rows::text(r, "free_text")?,
                at: Timestamp(rows::int(r, "updated_at")?),
            })
        })
        .collect()
    }

    /// Accepted votes (first votes and re-votes) of a poll at or after `since`, oldest first:
    /// the material of the anomaly report.
    #[tracing::instrument(skip(self))]
    pub async fn poll_vote_log(&self, poll: PollId, since: Timestamp) -> Result<Vec<VoteLogEntry>> {
        sqlx::query(
            "SELECT network_hash, territory_id, at FROM poll_votes \
             WHERE poll_id = $1 AND at >= $2 ORDER BY at, id",
        )
        .bind(poll.get())
        .bind(since.millis())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(VoteLogEntry {
                network_hash: rows::opt_text(r, "network_hash")?,
                territory: rows::opt_int(r, "territory_id")?.map(TerritoryId),
                at: Timestamp(rows::int(r, "at")?),
            })
        })
        .collect()
    }
}

/// A concurrent writer got in between (the batch must be retried one by one).
#[derive(Debug, Clone, Copy)]
struct Collision;

fn internal(what: &str) -> StoreError {
    StoreError::Invalid(format!("internal: {what}"))
}

fn not_found(id: PollId) -> StoreError {
    StoreError::NotFound {
        entity: EntityKind::Poll,
        key: id.to_string(),
    }
}

fn to_u32(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Invalid(format!("stored value {v} out of range")))
}

fn opt_u32(row: &sqlx::any::AnyRow, col: &str) -> Result<Option<u32>> {
    rows::opt_int(row, col)?.map(to_u32).transpose()
}

fn opt_ts(row: &sqlx::any::AnyRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(rows::opt_int(row, col)?.map(Timestamp))
}

fn check_draft(draft: &PollDraft) -> Result<()> {
    if draft.ends_at <= draft.starts_at {
        return Err(StoreError::Invalid(
            "a poll must end after it starts".into(),
        ));
    }
    if draft.options.len() > u32::MAX as usize {
        return Err(StoreError::Invalid("too many options".into()));
    }
    Ok(())
}

fn check_vote(v: &VoteWrite) -> Result<()> {
    if v.voter_hash.len() != 64 || !v.voter_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid(
            "a voter hash is 64 hexadecimal characters".into(),
        ));
    }
    if v.key.is_empty() || v.payload_hash.is_empty() {
        return Err(StoreError::Invalid(
            "a vote needs an idempotency key and a payload hash".into(),
        ));
    }
    Ok(())
}

async fn insert_options(
    conn: &mut AnyConnection,
    poll: i64,
    options: &[NewPollOption],
) -> Result<()> {
    for (i, o) in options.iter().enumerate() {
        let position =
            i64::try_from(i).map_err(|_| StoreError::Invalid("too many options".into()))?;
        sqlx::query(
            "INSERT INTO poll_options (poll_id, position, label, description, cost) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(poll)
        .bind(position)
        .bind(o.label.as_str())
        .bind(o.description.as_str())
        .bind(o.cost)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn details_on(conn: &mut AnyConnection, id: PollId) -> Result<Option<PollDetails>> {
    let sql = format!("SELECT {POLL_COLS}, {DETAIL_COLS} FROM polls WHERE id = $1");
    let Some(row) = sqlx::query(AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let options = sqlx::query(
        "SELECT id, position, label, description, cost FROM poll_options WHERE poll_id = $1 \
         ORDER BY position",
    )
    .bind(id.get())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(PollOption {
            id: PollOptionId(rows::int(r, "id")?),
            position: to_u32(rows::int(r, "position")?)?,
            label: rows::text(r, "label")?,
            description: rows::text(r, "description")?,
            cost: rows::opt_int(r, "cost")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(Some(PollDetails {
        poll: rows::poll(&row)?,
        description: rows::text(&row, "description")?,
        topic: rows::opt_text(&row, "topic")?,
        min_age: opt_u32(&row, "min_age")?,
        min_choices: opt_u32(&row, "min_choices")?,
        max_choices: opt_u32(&row, "max_choices")?,
        budget_cap: rows::opt_int(&row, "budget_cap")?,
        max_text_chars: opt_u32(&row, "max_text_chars")?,
        allow_revote: rows::int(&row, "allow_revote")? != 0,
        results: rows::text(&row, "results_visibility")?.parse()?,
        settings: rows::text(&row, "settings")?,
        options,
        created_by: rows::opt_int(&row, "created_by")?.map(UserId),
        created_at: Timestamp(rows::int(&row, "created_at")?),
        updated_at: Timestamp(rows::int(&row, "updated_at")?),
        submitted_at: opt_ts(&row, "submitted_at")?,
        reviewed_by: rows::opt_int(&row, "reviewed_by")?.map(UserId),
        reviewed_at: opt_ts(&row, "reviewed_at")?,
        review_note: rows::opt_text(&row, "review_note")?,
        published_at: opt_ts(&row, "published_at")?,
        closed_at: opt_ts(&row, "closed_at")?,
    }))
}

/// `json_each($n)` / `json_array_elements($n::json)`: the rows of a JSON array parameter, as
/// `j.value` (elements are arrays, read with `j.value ->> i`).
fn json_rows(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("json_each(${n}) AS j"),
        Backend::Postgres => format!("json_array_elements(${n}::json) AS j"),
    }
}

fn encode(value: &serde_json::Value) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))
}

/// The state a batch starts from: the polls it votes in, the keys and ballots already stored.
struct Plan {
    polls: HashMap<i64, PollGate>,
    keys: HashMap<(i64, String, String), KeyRow>,
    ballots: HashMap<(i64, String), (BallotId, u32)>,
}

#[derive(Debug, Clone, Copy)]
struct PollGate {
    status: PollStatus,
    starts_at: i64,
    ends_at: i64,
    allow_revote: bool,
}

#[derive(Debug, Clone)]
struct KeyRow {
    payload_hash: String,
    ballot: BallotRef,
    revision: u32,
}

/// A ballot stored before the batch, or one the batch creates (index into its new ballots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BallotRef {
    Stored(BallotId),
    New(usize),
}

async fn plan_votes(
    conn: &mut AnyConnection,
    backend: Backend,
    votes: &[VoteWrite],
) -> Result<Plan> {
    let mut poll_ids: Vec<i64> = votes.iter().map(|v| v.poll.get()).collect();
    poll_ids.sort_unstable();
    poll_ids.dedup();
    let mut polls = HashMap::new();
    for id in &poll_ids {
        let row =
            sqlx::query("SELECT status, starts_at, ends_at, allow_revote FROM polls WHERE id = $1")
                .bind(*id)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(row) = row {
            polls.insert(
                *id,
                PollGate {
                    status: rows::text(&row, "status")?.parse()?,
                    starts_at: rows::int(&row, "starts_at")?,
                    ends_at: rows::int(&row, "ends_at")?,
                    allow_revote: rows::int(&row, "allow_revote")? != 0,
                },
            );
        }
    }
    let triples: Vec<serde_json::Value> = votes
        .iter()
        .map(|v| json!([v.poll.get(), v.voter_hash, v.key]))
        .collect();
    let sql = format!(
        "SELECT v.poll_id, v.voter_hash, v.idempotency_key, v.payload_hash, v.ballot_id, \
         v.revision FROM {} JOIN poll_votes v ON v.poll_id = CAST(j.value ->> 0 AS BIGINT) \
         AND v.voter_hash = (j.value ->> 1) AND v.idempotency_key = (j.value ->> 2)",
        json_rows(backend, 1)
    );
    let mut keys = HashMap::new();
    for r in sqlx::query(AssertSqlSafe(sql))
        .bind(encode(&serde_json::Value::Array(triples))?)
        .fetch_all(&mut *conn)
        .await?
    {
        keys.insert(
            (
                rows::int(&r, "poll_id")?,
                rows::text(&r, "voter_hash")?,
                rows::text(&r, "idempotency_key")?,
            ),
            KeyRow {
                payload_hash: rows::text(&r, "payload_hash")?,
                ballot: BallotRef::Stored(BallotId(rows::int(&r, "ballot_id")?)),
                revision: to_u32(rows::int(&r, "revision")?)?,
            },
        );
    }
    let pairs: Vec<serde_json::Value> = votes
        .iter()
        .map(|v| json!([v.poll.get(), v.voter_hash]))
        .collect();
    let sql = format!(
        "SELECT b.id, b.poll_id, b.voter_hash, b.revision FROM {} JOIN poll_ballots b \
         ON b.poll_id = CAST(j.value ->> 0 AS BIGINT) AND b.voter_hash = (j.value ->> 1)",
        json_rows(backend, 1)
    );
    let mut ballots = HashMap::new();
    for r in sqlx::query(AssertSqlSafe(sql))
        .bind(encode(&serde_json::Value::Array(pairs))?)
        .fetch_all(&mut *conn)
        .await?
    {
        ballots.insert(
            (rows::int(&r, "poll_id")?, rows::text(&r, "voter_hash")?),
            (
                BallotId(rows::int(&r, "id")?),
                to_u32(rows::int(&r, "revision")?)?,
            ),
        );
    }
    Ok(Plan {
        polls,
        keys,
        ballots,
    })
}

/// The final content of a ballot the batch writes (the last accepted vote of its voter).
struct BallotWrite<'a> {
    vote: &'a VoteWrite,
    cast_at: i64,
    revision: u32,
}

/// What an outcome will say once new ballots have ids.
enum Pending {
    Recorded(BallotRef),
    Replaced(BallotRef, u32),
    Replayed(BallotRef, u32),
    AlreadyVoted(BallotRef),
    Final(VoteStored),
}

async fn write_plan(
    conn: &mut AnyConnection,
    backend: Backend,
    votes: &[VoteWrite],
    mut plan: Plan,
) -> Result<std::result::Result<Vec<VoteStored>, Collision>> {
    // Ballots the batch creates (index = BallotRef::New) and stored ballots it re-votes
    // (stored revision → the batch's last write).
    let mut fresh: Vec<BallotWrite<'_>> = Vec::new();
    let mut revotes: HashMap<BallotId, (u32, BallotWrite<'_>)> = HashMap::new();
    // Every accepted vote: (vote, ballot, revision), for the vote log.
    let mut accepted: Vec<(&VoteWrite, BallotRef, u32)> = Vec::new();
    let mut pending = Vec::with_capacity(votes.len());
    // Ballots the batch already touched: (poll, voter) → (ref, revision now).
    let mut current: HashMap<(i64, String), (BallotRef, u32)> = plan
        .ballots
        .drain()
        .map(|(k, (id, rev))| (k, (BallotRef::Stored(id), rev)))
        .collect();
    for v in votes {
        let poll = v.poll.get();
        let key = (poll, v.voter_hash.clone(), v.key.clone());
        if let Some(k) = plan.keys.get(&key) {
            pending.push(if k.payload_hash == v.payload_hash {
                Pending::Replayed(k.ballot, k.revision)
            } else {
                Pending::Final(VoteStored::KeyReused)
            });
            continue;
        }
        let Some(gate) = plan.polls.get(&poll) else {
            pending.push(Pending::Final(VoteStored::NoSuchPoll));
            continue;
        };
        if gate.status != PollStatus::Published {
            pending.push(Pending::Final(VoteStored::NotOpen {
                status: gate.status,
            }));
            continue;
        }
        if v.at.millis() < gate.starts_at {
            pending.push(Pending::Final(VoteStored::NotStarted));
            continue;
        }
        if v.at.millis() >= gate.ends_at {
            pending.push(Pending::Final(VoteStored::Ended));
            continue;
        }
        let voter = (poll, v.voter_hash.clone());
        let (ballot, revision) = match current.get(&voter).copied() {
            None => {
                fresh.push(BallotWrite {
                    vote: v,
                    cast_at: v.at.millis(),
                    revision: 1,
                });
                let r = BallotRef::New(fresh.len() - 1);
                pending.push(Pending::Recorded(r));
                (r, 1)
            }
            Some((r, _)) if !gate.allow_revote => {
                pending.push(Pending::AlreadyVoted(r));
                continue;
            }
            Some((r, rev)) => {
                let next = rev + 1;
                match r {
                    BallotRef::New(i) => {
                        if let Some(w) = fresh.get_mut(i) {
                            w.vote = v;
                            w.revision = next;
                        }
                    }
                    BallotRef::Stored(id) => match revotes.get_mut(&id) {
                        Some((_, w)) => {
                            w.vote = v;
                            w.revision = next;
                        }
                        None => {
                            let write = BallotWrite {
                                vote: v,
                                cast_at: 0,
                                revision: next,
                            };
                            revotes.insert(id, (rev, write));
                        }
                    },
                }
                pending.push(Pending::Replaced(r, next));
                (r, next)
            }
        };
        current.insert(voter, (ballot, revision));
        plan.keys.insert(
            key,
            KeyRow {
                payload_hash: v.payload_hash.clone(),
                ballot,
                revision,
            },
        );
        accepted.push((v, ballot, revision));
    }

    // New ballots, one statement.
    let mut new_ids: Vec<Option<BallotId>> = vec![None; fresh.len()];
    if !fresh.is_empty() {
        let rows_json: Vec<serde_json::Value> = fresh
            .iter()
            .map(|w| {
                json!([
                    w.vote.poll.get(),
                    w.vote.voter_hash,
                    w.vote.territory.map(TerritoryId::get),
                    w.revision,
                    w.vote.text,
                    w.vote.total_cost,
                    w.cast_at,
                    w.vote.at.millis()
                ])
            })
            .collect();
        let sql = format!(
            "INSERT INTO poll_ballots (poll_id, voter_hash, territory_id, revision, free_text, \
             total_cost, cast_at, updated_at) SELECT CAST(j.value ->> 0 AS BIGINT), \
             j.value ->> 1, CAST(j.value ->> 2 AS BIGINT), CAST(j.value ->> 3 AS BIGINT), \
             j.value ->> 4, CAST(j.value ->> 5 AS BIGINT), CAST(j.value ->> 6 AS BIGINT), \
             CAST(j.value ->> 7 AS BIGINT) FROM {} RETURNING id, poll_id, voter_hash",
            json_rows(backend, 1)
        );
        let index: HashMap<(i64, &str), usize> = fresh
            .iter()
            .enumerate()
            .map(|(i, w)| ((w.vote.poll.get(), w.vote.voter_hash.as_str()), i))
            .collect();
        for r in sqlx::query(AssertSqlSafe(sql))
            .bind(encode(&serde_json::Value::Array(rows_json))?)
            .fetch_all(&mut *conn)
            .await?
        {
            let poll = rows::int(&r, "poll_id")?;
            let voter = rows::text(&r, "voter_hash")?;
            let i = index
                .get(&(poll, voter.as_str()))
                .copied()
                .ok_or_else(|| internal("an inserted ballot is not in the batch"))?;
            if let Some(slot) = new_ids.get_mut(i) {
                *slot = Some(BallotId(rows::int(&r, "id")?));
            }
        }
    }
    let resolve = |r: BallotRef| -> Result<BallotId> {
        match r {
            BallotRef::Stored(id) => Ok(id),
            BallotRef::New(i) => new_ids
                .get(i)
                .copied()
                .flatten()
                .ok_or_else(|| internal("a new ballot got no id")),
        }
    };

    // Re-votes of stored ballots: the revision must still be the one read (else a concurrent
    // writer re-voted meanwhile).
    let mut cleared: Vec<serde_json::Value> = Vec::new();
    for (id, (was, w)) in &revotes {
        let done = sqlx::query(
            "UPDATE poll_ballots SET revision = $1, free_text = $2, total_cost = $3, \
             territory_id = $4, updated_at = $5 WHERE id = $6 AND revision = $7",
        )
        .bind(i64::from(w.revision))
        .bind(w.vote.text.as_deref())
        .bind(w.vote.total_cost)
        .bind(w.vote.territory.map(TerritoryId::get))
        .bind(w.vote.at.millis())
        .bind(id.get())
        .bind(i64::from(*was))
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(Err(Collision));
        }
        cleared.push(json!([id.get()]));
    }
    if !cleared.is_empty() {
        let sql = format!(
            "DELETE FROM poll_ballot_choices WHERE ballot_id IN \
             (SELECT CAST(j.value ->> 0 AS BIGINT) FROM {})",
            json_rows(backend, 1)
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(encode(&serde_json::Value::Array(cleared))?)
            .execute(&mut *conn)
            .await?;
    }

    // Choices of every ballot written, one statement.
    let mut choice_rows: Vec<serde_json::Value> = Vec::new();
    let final_writes = fresh
        .iter()
        .enumerate()
        .map(|(i, w)| (BallotRef::New(i), w))
        .chain(
            revotes
                .iter()
                .map(|(id, (_, w))| (BallotRef::Stored(*id), w)),
        );
    for (r, w) in final_writes {
        let id = resolve(r)?;
        for c in &w.vote.choices {
            choice_rows.push(json!([id.get(), w.vote.poll.get(), c.option.get(), c.rank]));
        }
    }
    for chunk in choice_rows.chunks(4096) {
        let sql = format!(
            "INSERT INTO poll_ballot_choices (ballot_id, poll_id, option_id, rank) \
             SELECT CAST(j.value ->> 0 AS BIGINT), CAST(j.value ->> 1 AS BIGINT), \
             CAST(j.value ->> 2 AS BIGINT), CAST(j.value ->> 3 AS BIGINT) FROM {}",
            json_rows(backend, 1)
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(encode(&serde_json::Value::Array(chunk.to_vec()))?)
            .execute(&mut *conn)
            .await?;
    }

    // The vote log (keys, anomaly report), one statement.
    if !accepted.is_empty() {
        let mut log = Vec::with_capacity(accepted.len());
        for (v, r, revision) in &accepted {
            log.push(json!([
                v.poll.get(),
                v.voter_hash,
                v.key,
                v.payload_hash,
                resolve(*r)?.get(),
                revision,
                v.network_hash,
                v.territory.map(TerritoryId::get),
                v.at.millis()
            ]));
        }
        let sql = format!(
            "INSERT INTO poll_votes (poll_id, voter_hash, idempotency_key, payload_hash, \
             ballot_id, revision, network_hash, territory_id, at) \
             SELECT CAST(j.value ->> 0 AS BIGINT), j.value ->> 1, j.value ->> 2, \
             j.value ->> 3, CAST(j.value ->> 4 AS BIGINT), CAST(j.value ->> 5 AS BIGINT), \
             j.value ->> 6, CAST(j.value ->> 7 AS BIGINT), CAST(j.value ->> 8 AS BIGINT) FROM {}",
            json_rows(backend, 1)
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(encode(&serde_json::Value::Array(log))?)
            .execute(&mut *conn)
            .await?;
    }

    let mut out = Vec::with_capacity(pending.len());
    for p in pending {
        out.push(match p {
            Pending::Final(o) => o,
            Pending::Recorded(r) => VoteStored::Recorded {
                ballot: resolve(r)?,
            },
            Pending::Replaced(r, revision) => VoteStored::Replaced {
                ballot: resolve(r)?,
                revision,
            },
            Pending::AlreadyVoted(r) => VoteStored::AlreadyVoted {
                ballot: resolve(r)?,
            },
            Pending::Replayed(r, revision) => VoteStored::Replayed {
                ballot: resolve(r)?,
                revision,
            },
        });
    }
    Ok(Ok(out))
}
