//! # otklik-store
//!
//! Persistence for Otklik: one [`Store`] over SQLite (a single file, the default for a small
//! region or a demo) or PostgreSQL (production), chosen at run time by the connection URL.
//! It keeps the domain types of [`otklik_domain`] — territories, organisations, users and
//! their roles, official communities, collector sources and their cursors, collected posts with
//! their edit history, messages, polls — and an append-only audit trail.
//!
//! Every change that must be audited is written in the same transaction as its audit event,
//! message workflow steps use optimistic concurrency ([`Store::transition_message`] fails with
//! [`StoreError::Conflict`] on a stale version), directory imports are all-or-nothing
//! ([`Store::import_directory`]), and collected posts commit together with the collector's
//! cursor ([`Store::store_posts`]).
//!
//! For the collectors and what follows them:
//!
//! * source health — failures in a row, a per-source circuit, lag, next run
//!   ([`Store::source_health`], [`Store::record_poll_success`], [`Store::record_poll_failure`]);
//! * posts with their comments, views, attachments, deletions and the classifier's verdict
//!   ([`Store::posts_to_classify`], [`Store::record_classification`], [`Store::search_posts`]);
//! * the Госпаблики registry — verification, activity, required pages, per-community statistics
//!   ([`Store::register_community`], [`Store::organisations_missing_required_pages`],
//!   [`Store::community_stats`]);
//! * the reply outbox — answers posted back under the original post, leased to one worker at a
//!   time and never sent twice once delivered ([`Store::enqueue_reply`],
//!   [`Store::claim_due_replies`]);
//! * polls — definitions with their options and moderation life cycle
//!   ([`Store::create_poll_draft`], [`Store::change_poll_status`]), one ballot per voter hash
//!   and poll, votes written in batches with idempotency keys and re-votes
//!   ([`Store::cast_votes`]), tallies and the vote log ([`Store::poll_tally`],
//!   [`Store::poll_vote_log`]); the rules live in `otklik-polls`.
//!
//! The schema lives in `migrations/sqlite` and `migrations/postgres` at the workspace root
//! (same tables, same column names) and is embedded in the binary; [`Store::migrate`] applies
//! whichever fits the backend. Only portable SQL is used: `$1, $2…` placeholders, 64-bit
//! integers for ids, counts, 0/1 flags and epoch-millisecond timestamps, text for the rest
//! (lists as JSON text).
//!
//! ```no_run
//! use otklik_domain::{Channel, NewMessage, SubcategoryId, Timestamp, Transition};
//! use otklik_store::{MessageChange, Store};
//!
//! # async fn demo() -> Result<(), otklik_store::StoreError> {
//! // `sqlite://PATH` creates the file (and its folders) on first run; `postgres://…` works too.
//! let store = Store::connect("sqlite:///var/lib/otklik/otklik.db").await?;
//! store.migrate().await?;
//!
//! let now = Timestamp(1_700_000_000_000);
//! let new = NewMessage {
//!     channel: Channel::Widget,
//!     subcategory: SubcategoryId("roads.potholes".into()),
//!     territory: None,
//!     executor: None,
//!     submitted_via: None,
//!     author: None,
//!     author_handle: None,
//!     source_post: None,
//!     text: "Яма на улице Ленина".into(),
//!     address: None,
//!     confidence_pm: None,
//!     deadline_at: now.plus_days(30),
//! };
//! // The idempotency key makes a retried submission return the first message.
//! let msg = store.create_message(&new, Some("widget-42"), None, now).await?;
//! let msg = store
//!     .transition_message(msg.id, msg.version, Transition::Accept, MessageChange::default(), None, now)
//!     .await?;
//! assert_eq!(msg.version, 2);
//! # Ok(())
//! # }
//! ```

mod admin;
mod api_tokens;
mod attachments;
mod audit;
mod citizens;
mod codes;
mod communities;
mod connect;
mod directory;
mod error;
mod health;
mod messages;
mod notify;
mod outbox;
mod polls;
mod posts;
mod queues;
mod report_feed;
mod rows;
mod saved_searches;
pub mod search_feed;
mod sessions;
#[cfg(feature = "testing")]
pub mod testing;
mod workflow;

use std::time::Duration;

use sqlx::AnyPool;

pub use admin::{
    MAX_ADMIN_TEXT_CHARS, MAX_LOGIN_CHARS, NewStaffUser, OrganisationDetails, StaffAccount,
    is_valid_login,
};
pub use api_tokens::{
    API_TOKEN_BODY_CHARS, API_TOKEN_PREFIX, ApiMessageQuery, ApiScope, ApiSecret, ApiToken,
    ApiTokenId, CreatedApiToken, MAX_API_PAGE, MAX_API_TOKEN_NAME_CHARS, NewApiToken,
    Open311Extras, api_token_digest, is_well_formed_api_token,
};
pub use attachments::{
    Attachment, AttachmentError, AttachmentFiles, AttachmentId, AttachmentLimits,
    MAX_FILE_NAME_CHARS, MediaType, StoredBlob, attach_in, sanitize_file_name,
};
pub use citizens::{CitizenSignIn, MAX_CLAIM_CHARS, MAX_PROVIDER_CHARS, NewCitizen, OidcLogin};
pub use codes::{CircuitState, PostKind, ReplyStatus};
pub use communities::{
    CommunityStats, RegisteredCommunity, ResolvedCommunity, canonical_community_ref,
};
pub use connect::{DATA_DIR_DB_FILE, sqlite_url};
pub use directory::{DirectoryCounts, ImportSummary, KindSummary};
pub use error::{Result, StoreError, redact_url};
pub use health::{CIRCUIT_OPEN_AFTER, SourceHealth};
pub use messages::{MessageChange, MessageDetails, MessageFilter};
pub use notify::{
    EmailId, EmailStatus, NewEmail, OutboundEmail, OutboxCounts, RatingLinkUse, UsedRatingLink,
    consume_rating_link_in, enqueue_email_in,
};
pub use outbox::{OutboundReply, ReplyId};
pub use polls::{
    BallotChoice, FreeTextAnswer, MAX_VOTE_BATCH, NewPoll, NewPollOption, OptionTally, PollDetails,
    PollDraft, PollOption, PollStatusChange, PollTally, StoredBallot, VoteLogEntry, VoteStored,
    VoteWrite,
};
pub use posts::{Classification, NewPost, PostDetails, PostFilter, PostVersion, StorePostsOutcome};
pub use queues::{MAX_QUEUE_PAGE, QueueCursor, QueueFilter, QueuePage};
pub use report_feed::MAX_REPORT_PAGE;
pub use saved_searches::{MAX_SAVED_SEARCH_NAME_CHARS, NewSavedSearch, SavedSearch, SavedSearchId};
pub use sessions::{
    NewSession, Session, SessionKind, SessionLimits, ThrottlePolicy, session_digest,
};
pub use workflow::{
    AutoAccept, BatchItem, DuplicateCandidate, Escalation, EscalationKind, Keyed, MAX_BATCH,
    MAX_CANDIDATES, NewRecord, StepApplied, StepWrite, StoredRequest,
};

/// The database behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A single SQLite file (WAL journal).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Short lowercase name («sqlite», «postgres»).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Pool settings for [`Store::connect_with`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections the pool opens (default 10).
    pub max_connections: u32,
    /// How long a caller waits for a free connection before [`StoreError::Database`] with
    /// `PoolTimedOut` (default 30 s).
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The handle to the database. Cheap to clone (it is a connection pool); share it freely.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The connection string with any password redacted, for messages and logs.
    target: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Store {
    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection string with any password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.target
    }

    /// The underlying pool: an escape hatch for diagnostics and tests. Prefer the typed methods;
    /// SQL written here must stay portable between SQLite and PostgreSQL.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the embedded migrations for this backend. Safe to call on every start: already
    /// applied migrations are skipped (and checked against their checksums).
    #[tracing::instrument(skip(self), fields(backend = %self.backend))]
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.pool).await?;
        tracing::debug!("migrations applied");
        Ok(())
    }

    /// Checks that the database answers (for health checks).
    #[tracing::instrument(skip(self))]
    pub async fn ping(&self) -> Result<()> {
        let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&self.pool).await?;
        debug_assert_eq!(one, 1);
        Ok(())
    }

    /// Closes every connection; later calls fail. Waits for connections in use to come back.
    #[tracing::instrument(skip(self))]
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on `busy_timeout` instead of failing
    /// when a read lock cannot be upgraded; on PostgreSQL it is a plain `BEGIN`.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }
}
