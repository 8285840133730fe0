//! [`Polls`]: the service a web handler, the CLI and the scheduler call.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use otklik_domain::{
    BallotId, OrganisationId, PollId, PollKind, PollStatus, ResultsVisibility, Timestamp, User,
    UserId,
};
use otklik_store::{
    PollDetails, PollDraft, PollStatusChange, Store, StoredBallot, VoteStored, VoteWrite,
};
use serde::Serialize;

use crate::anomaly::{AnomalyReport, AnomalyRules, find_bursts};
use crate::audience::{TerritoryTree, VoteMeta, check_audience};
use crate::ballot::{Ballot, check_ballot};
use crate::definition::validate_draft;
use crate::error::{PollsError, Result};
use crate::identity::VoterKey;
use crate::lifecycle::{OrgTree, PollAction, may};
use crate::results::{self, PollResults};
use crate::topics::PollTopics;
use crate::writer::Writer;

/// Longest idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// Free-text answers fetched per query when results are computed.
const ANSWERS_PAGE: u32 = 10_000;
/// The territory tree is reloaded for an unknown territory at most this often.
const TREE_RELOAD_MS: i64 = 60_000;

/// A per-network limit on votes (in memory, per process): at most `max_votes` votes from one
/// network prefix in one poll per `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Votes allowed per window.
    pub max_votes: u32,
    /// Window length in milliseconds.
    pub window_ms: i64,
}

/// Settings of [`Polls`].
#[derive(Debug, Clone)]
pub struct PollsConfig {
    /// The server's key for voter and network hashes.
    pub key: VoterKey,
    /// The region's list of poll topics (empty: any topic).
    pub topics: PollTopics,
    /// What the anomaly report calls a burst.
    pub anomaly: AnomalyRules,
    /// Per-network vote limit (`None`: no limit; the web layer may limit too).
    pub rate_limit: Option<RateLimit>,
    /// Most votes written in one transaction (group commit).
    pub max_batch: usize,
}

impl PollsConfig {
    /// Defaults around `key`: no topic list, default anomaly rules, no rate limit, batches of
    /// up to 256 votes.
    pub fn new(key: VoterKey) -> Self {
        Self {
            key,
            topics: PollTopics::default(),
            anomaly: AnomalyRules::default(),
            rate_limit: None,
            max_batch: 256,
        }
    }
}

/// What a vote did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteOutcome {
    /// The voter's first ballot.
    Recorded,
    /// A re-vote replaced the voter's ballot.
    Replaced,
    /// A retry of an earlier vote (same key, same ballot): nothing new was written.
    Replayed,
}

/// The answer to an accepted vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VoteReceipt {
    /// The poll.
    pub poll: PollId,
    /// The voter's ballot.
    pub ballot: BallotId,
    /// Its revision after this vote (1 = first vote).
    pub revision: u32,
    /// What happened.
    pub outcome: VoteOutcome,
}

/// The polls service: definitions and their life cycle, voting, results, exports and the
/// anomaly report over one [`Store`]. Cheap to clone; share one per process (votes are
/// group-committed by its writer task).
#[derive(Clone)]
pub struct Polls {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: PollsConfig,
    /// Published polls' definitions (immutable once published; the status is re-checked in
    /// the vote's transaction).
    published: RwLock<HashMap<PollId, Arc<PollDetails>>>,
    territories: RwLock<Option<(Arc<TerritoryTree>, i64)>>,
    orgs: RwLock<Option<Arc<OrgTree>>>,
    writer: Writer,
    limiter: Mutex<HashMap<(PollId, String), (i64, u32)>>,
}

impl std::fmt::Debug for Polls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polls")
            .field("store", &self.inner.store)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    match lock.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn write<T>(lock: &RwLock<T>, value: T) {
    match lock.write() {
        Ok(mut g) => *g = value,
        Err(p) => *p.into_inner() = value,
    }
}

impl Polls {
    /// The service over `store`.
    pub fn new(store: Store, config: PollsConfig) -> Self {
        let writer = Writer::new(store.clone(), config.max_batch);
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                published: RwLock::new(HashMap::new()),
                territories: RwLock::new(None),
                orgs: RwLock::new(None),
                writer,
                limiter: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The region's list of poll topics.
    pub fn topics(&self) -> &PollTopics {
        &self.inner.config.topics
    }

    // ---- Definitions and life cycle -------------------------------------------------------

    /// A poll with its definition.
    pub async fn details(&self, id: PollId) -> Result<PollDetails> {
        self.inner
            .store
            .poll_details(id)
            .await?
            .ok_or(PollsError::NotFound(id))
    }

    /// Creates a draft. The actor must be a poll manager of the organisation (or above it).
    #[tracing::instrument(skip(self, draft, actor), fields(actor = %actor.id))]
    pub async fn create(
        &self,
        draft: &PollDraft,
        actor: &User,
        now: Timestamp,
    ) -> Result<PollDetails> {
        self.authorize(actor, PollAction::Edit, draft.organisation, None)
            .await?;
        validate_draft(draft, &self.inner.config.topics).map_err(PollsError::InvalidPoll)?;
        Ok(self
            .inner
            .store
            .create_poll_draft(draft, Some(actor.id), now)
            .await?)
    }

    /// Rewrites a draft (only drafts can be edited).
    #[tracing::instrument(skip(self, draft, actor), fields(actor = %actor.id))]
    pub async fn update(
        &self,
        id: PollId,
        draft: &PollDraft,
        actor: &User,
        now: Timestamp,
    ) -> Result<PollDetails> {
        let current = self.details(id).await?;
        require_status(&current, PollAction::Edit)?;
        self.authorize(actor, PollAction::Edit, current.poll.organisation, None)
            .await?;
        if draft.organisation != current.poll.organisation {
            self.authorize(actor, PollAction::Edit, draft.organisation, None)
                .await?;
        }
        validate_draft(draft, &self.inner.config.topics).map_err(PollsError::InvalidPoll)?;
        match self
            .inner
            .store
            .update_poll_draft(id, draft, Some(actor.id), now)
            .await?
        {
            Some(d) => Ok(d),
            None => Err(self.wrong_status(id, PollAction::Edit).await),
        }
    }

    /// Sends a draft to moderation. The definition is checked again (the topic list may have
    /// changed) and must not have ended already.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.id))]
    pub async fn submit(&self, id: PollId, actor: &User, now: Timestamp) -> Result<PollDetails> {
        let current = self.details(id).await?;
        validate_draft(&draft_of(&current), &self.inner.config.topics)
            .map_err(PollsError::InvalidPoll)?;
        if current.poll.ends_at <= now {
            return Err(PollsError::InvalidPoll(vec![
                "the poll's end time has passed".into(),
            ]));
        }
        self.step(current, PollAction::Submit, Some(actor), None, now)
            .await
    }

    /// Approves a poll under moderation: it is published and open for votes from its start
    /// time. The actor must be a moderator of the organisation (or above it) and not the
    /// poll's creator.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.id))]
    pub async fn approve(&self, id: PollId, actor: &User, now: Timestamp) -> Result<PollDetails> {
        let current = self.details(id).await?;
        if current.poll.ends_at <= now {
            return Err(PollsError::InvalidPoll(vec![
                "the poll's end time has passed".into(),
            ]));
        }
        self.step(current, PollAction::Approve, Some(actor), None, now)
            .await
    }

    /// Returns a poll under moderation to its manager as a draft, with the moderator's note.
    #[tracing::instrument(skip(self, actor, note), fields(actor = %actor.id))]
    pub async fn return_to_draft(
        &self,
        id: PollId,
        actor: &User,
        note: &str,
        now: Timestamp,
    ) -> Result<PollDetails> {
        let note = note.trim();
        if note.is_empty() {
            return Err(PollsError::Invalid("say why the poll is returned".into()));
        }
        let current = self.details(id).await?;
        self.step(current, PollAction::Return, Some(actor), Some(note), now)
            .await
    }

    /// Closes a published poll before its end time (a manager or a moderator).
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.id))]
    pub async fn close(&self, id: PollId, actor: &User, now: Timestamp) -> Result<PollDetails> {
        let current = self.details(id).await?;
        self.step(current, PollAction::Close, Some(actor), None, now)
            .await
    }

    /// Closes every published poll whose end time has come (the scheduler's job); returns them.
    #[tracing::instrument(skip(self))]
    pub async fn close_due(&self, now: Timestamp) -> Result<Vec<PollId>> {
        let mut closed = Vec::new();
        for id in self.inner.store.polls_due_to_close(now).await? {
            let change = PollStatusChange {
                poll: id,
                from: PollStatus::Published,
                to: PollStatus::Closed,
                actor: None,
                note: None,
                action: PollAction::Close.audit_action(),
                now,
            };
            if self
                .inner
                .store
                .change_poll_status(&change)
                .await?
                .is_some()
            {
                closed.push(id);
            }
            self.forget(id);
        }
        Ok(closed)
    }

    async fn step(
        &self,
        current: PollDetails,
        action: PollAction,
        actor: Option<&User>,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<PollDetails> {
        require_status(&current, action)?;
        if let Some(a) = actor {
            self.authorize(a, action, current.poll.organisation, current.created_by)
                .await?;
        }
        let (from, to) = action.transition();
        let change = PollStatusChange {
            poll: current.poll.id,
            from,
            to,
            actor: actor.map(|a| a.id),
            note,
            action: action.audit_action(),
            now,
        };
        let changed = self.inner.store.change_poll_status(&change).await?;
        self.forget(current.poll.id);
        match changed {
            Some(d) => Ok(d),
            None => Err(self.wrong_status(current.poll.id, action).await),
        }
    }

    async fn wrong_status(&self, id: PollId, action: PollAction) -> PollsError {
        match self.details(id).await {
            Ok(d) => PollsError::WrongStatus {
                poll: id,
                status: d.poll.status,
                action: action.name(),
            },
            Err(e) => e,
        }
    }

    async fn authorize(
        &self,
        actor: &User,
        action: PollAction,
        org: OrganisationId,
        creator: Option<UserId>,
    ) -> Result<()> {
        let tree = match read(&self.inner.orgs) {
            Some(t) if t.contains(org) => t,
            _ => {
                let t = Arc::new(OrgTree::new(&self.inner.store.organisations().await?));
                write(&self.inner.orgs, Some(t.clone()));
                t
            }
        };
        if !tree.contains(org) {
            return Err(PollsError::Invalid(format!("unknown organisation {org}")));
        }
        may(actor, action, org, creator, &tree).map_err(PollsError::Forbidden)
    }

    fn forget(&self, id: PollId) {
        match self.inner.published.write() {
            Ok(mut g) => {
                g.remove(&id);
            }
            Err(p) => {
                p.into_inner().remove(&id);
            }
        }
    }

    // ---- Voting ---------------------------------------------------------------------------

    /// A published poll's definition, from the cache.
    async fn open_poll(&self, id: PollId) -> Result<Arc<PollDetails>> {
        if let Some(d) = read(&self.inner.published).get(&id) {
            return Ok(d.clone());
        }
        let d = Arc::new(self.details(id).await?);
        if d.poll.status != PollStatus::Published {
            return Err(PollsError::NotOpen {
                poll: id,
                status: d.poll.status,
            });
        }
        match self.inner.published.write() {
            Ok(mut g) => {
                g.insert(id, d.clone());
            }
            Err(p) => {
                p.into_inner().insert(id, d.clone());
            }
        }
        Ok(d)
    }

    async fn territory_tree(
        &self,
        wanted: Option<otklik_domain::TerritoryId>,
        now: Timestamp,
    ) -> Result<Arc<TerritoryTree>> {
        let cached = read(&self.inner.territories);
        if let Some((tree, loaded)) = &cached {
            let known = wanted.is_none_or(|t| tree.contains(t));
            if known || now.millis() - loaded < TREE_RELOAD_MS {
                return Ok(tree.clone());
            }
        }
        let tree = Arc::new(TerritoryTree::new(&self.inner.store.territories().await?));
        write(&self.inner.territories, Some((tree.clone(), now.millis())));
        Ok(tree)
    }

    fn rate_limited(&self, poll: PollId, network: &str, now: Timestamp) -> bool {
        let Some(rule) = self.inner.config.rate_limit else {
            return false;
        };
        let mut map = match self.inner.limiter.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.millis() - *start < rule.window_ms);
        }
        let entry = map
            .entry((poll, network.to_owned()))
            .or_insert((now.millis(), 0));
        if now.millis() - entry.0 >= rule.window_ms {
            *entry = (now.millis(), 0);
        }
        if entry.1 >= rule.max_votes {
            return true;
        }
        entry.1 += 1;
        false
    }

    /// Casts `identity`'s ballot in `poll`.
    ///
    /// * `identity` is the citizen's identity as the sign-in gave it (the OIDC subject); it is
    ///   kept only as a keyed hash, per poll.
    /// * `key` is the caller's idempotency key (1…128 bytes, e.g. a UUID the widget makes per
    ///   submission): retrying with the same key and ballot answers
    ///   [`VoteOutcome::Replayed`] with the first vote's ballot; the same key with another
    ///   ballot is refused ([`PollsError::KeyReused`]).
    /// * A second vote with another key replaces the ballot when the poll allows re-votes
    ///   ([`VoteOutcome::Replaced`], atomically), and is refused otherwise
    ///   ([`PollsError::AlreadyVoted`]).
    /// * `meta` carries the voter's territory and age (checked against the poll's audience)
    ///   and the client's address (only its network prefix's keyed hash is kept).
    ///
    /// Refusals are errors for which [`PollsError::is_refusal`] holds; nothing is written.
    #[tracing::instrument(skip_all, fields(poll = %poll))]
    pub async fn vote(
        &self,
        poll: PollId,
        identity: &str,
        ballot: &Ballot,
        key: &str,
        meta: &VoteMeta,
        now: Timestamp,
    ) -> Result<VoteReceipt> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES || key.chars().any(char::is_control) {
            return Err(PollsError::Invalid(format!(
                "the idempotency key must have 1 to {MAX_KEY_BYTES} bytes and no control characters"
            )));
        }
        let details = self.open_poll(poll).await?;
        if now < details.poll.starts_at {
            return Err(PollsError::NotStarted(poll));
        }
        if now >= details.poll.ends_at {
            return Err(PollsError::Ended(poll));
        }
        if details.poll.territory.is_some() {
            let tree = self.territory_tree(meta.territory, now).await?;
            check_audience(&details, &tree, meta)?;
        } else {
            check_audience(&details, &TerritoryTree::default(), meta)?;
        }
        let checked = check_ballot(&details, ballot)?;
        let voter_hash = self.inner.config.key.voter_hash(poll, identity)?;
        let network_hash = meta
            .ip
            .map(|ip| self.inner.config.key.network_hash(poll, ip));
        if let Some(n) = &network_hash
            && self.rate_limited(poll, n, now)
        {
            return Err(PollsError::RateLimited);
        }
        let write = VoteWrite {
            poll,
            voter_hash,
            key: key.to_owned(),
            payload_hash: checked.payload_hash,
            choices: checked.choices,
            text: checked.text,
            total_cost: checked.total_cost,
            network_hash,
            territory: meta.territory,
            at: now,
        };
        let receipt = |ballot, revision, outcome| VoteReceipt {
            poll,
            ballot,
            revision,
            outcome,
        };
        match self.inner.writer.write(write).await? {
            VoteStored::Recorded { ballot } => Ok(receipt(ballot, 1, VoteOutcome::Recorded)),
            VoteStored::Replaced { ballot, revision } => {
                Ok(receipt(ballot, revision, VoteOutcome::Replaced))
            }
            VoteStored::Replayed { ballot, revision } => {
                Ok(receipt(ballot, revision, VoteOutcome::Replayed))
            }
            VoteStored::AlreadyVoted { ballot } => Err(PollsError::AlreadyVoted { poll, ballot }),
            VoteStored::KeyReused => Err(PollsError::KeyReused),
            VoteStored::NotOpen { status } => {
                self.forget(poll);
                Err(PollsError::NotOpen { poll, status })
            }
            VoteStored::NotStarted => Err(PollsError::NotStarted(poll)),
            VoteStored::Ended => Err(PollsError::Ended(poll)),
            VoteStored::NoSuchPoll => {
                self.forget(poll);
                Err(PollsError::NotFound(poll))
            }
        }
    }

    /// The ballot `identity` has in `poll` (to show "you voted for …").
    pub async fn ballot_of(&self, poll: PollId, identity: &str) -> Result<Option<StoredBallot>> {
        let hash = self.inner.config.key.voter_hash(poll, identity)?;
        Ok(self.inner.store.ballot_of(poll, &hash).await?)
    }

    /// The keyed hash the anomaly report shows for the network of `ip` in `poll`.
    pub fn network_label(&self, poll: PollId, ip: IpAddr) -> String {
        self.inner.config.key.network_hash(poll, ip)
    }

    // ---- Results --------------------------------------------------------------------------

    /// How many ballots a poll has (always visible, also while results are hidden).
    pub async fn turnout(&self, poll: PollId) -> Result<i64> {
        Ok(self.inner.store.poll_tally(poll).await?.ballots)
    }

    /// The results. Refused with [`PollsError::ResultsHidden`] while a poll whose results are
    /// hidden until close is still running.
    #[tracing::instrument(skip(self))]
    pub async fn results(&self, poll: PollId, now: Timestamp) -> Result<PollResults> {
        let details = self.details(poll).await?;
        if details.results == ResultsVisibility::AfterClose && !results::is_over(&details, now) {
            return Err(PollsError::ResultsHidden(poll));
        }
        let tally = self.inner.store.poll_tally(poll).await?;
        let mut answers = Vec::new();
        if details.poll.kind == PollKind::FreeText {
            loop {
                let offset = u32::try_from(answers.len()).unwrap_or(u32::MAX);
                let page = self
                    .inner
                    .store
                    .poll_free_texts(poll, ANSWERS_PAGE, offset)
                    .await?;
                let done = page.len() < ANSWERS_PAGE as usize;
                answers.extend(page);
                if done {
                    break;
                }
            }
        }
        Ok(results::compute(&details, &tally, answers, now))
    }

    /// The results as CSV (same visibility rule as [`Polls::results`]).
    pub async fn export_csv(&self, poll: PollId, now: Timestamp) -> Result<Vec<u8>> {
        results::to_csv(&self.results(poll, now).await?)
    }

    /// The results as XLSX (same visibility rule as [`Polls::results`]).
    pub async fn export_xlsx(&self, poll: PollId, now: Timestamp) -> Result<Vec<u8>> {
        results::to_xlsx(&self.results(poll, now).await?)
    }

    /// Bursts of votes from one network or one territory since `since` (for staff).
    #[tracing::instrument(skip(self))]
    pub async fn anomaly_report(&self, poll: PollId, since: Timestamp) -> Result<AnomalyReport> {
        self.details(poll).await?;
        let log = self.inner.store.poll_vote_log(poll, since).await?;
        let rules = self.inner.config.anomaly;
        Ok(AnomalyReport {
            poll,
            votes: log.len(),
            bursts: find_bursts(&log, &rules),
            rules,
        })
    }
}

fn require_status(current: &PollDetails, action: PollAction) -> Result<()> {
    let (from, _) = action.transition();
    if current.poll.status == from {
        Ok(())
    } else {
        Err(PollsError::WrongStatus {
            poll: current.poll.id,
            status: current.poll.status,
            action: action.name(),
        })
    }
}

/// A stored poll's definition in the form managers write.
pub fn draft_of(d: &PollDetails) -> PollDraft {
    PollDraft {
        organisation: d.poll.organisation,
        title: d.poll.title.clone(),
        description: d.description.clone(),
        kind: d.poll.kind,
        topic: d.topic.clone(),
        territory: d.poll.territory,
        min_age: d.min_age,
        starts_at: d.poll.starts_at,
        ends_at: d.poll.ends_at,
        min_choices: d.min_choices,
        max_choices: d.max_choices,
        budget_cap: d.budget_cap,
        max_text_chars: d.max_text_chars,
        allow_revote: d.allow_revote,
        results: d.results,
        settings: d.settings.clone(),
        options: d
            .options
            .iter()
            .map(|o| otklik_store::NewPollOption {
                label: o.label.clone(),
                description: o.description.clone(),
                cost: o.cost,
            })
            .collect(),
    }
}
