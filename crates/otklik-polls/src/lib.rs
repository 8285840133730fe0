//! # otklik-polls
//!
//! The «Голосования» module of Otklik: bodies ask residents — which yard to improve first,
//! which projects to fund from the participatory budget, a local question — through widgets on
//! their sites and on the portal.
//!
//! * **Definitions** ([`PollDraft`], checked by [`validate_draft`]): single choice, multiple
//!   choice with a minimum and maximum, ranking, free text, and budget allocation (projects
//!   with costs, chosen within a budget cap); audience by territory (the territory and every
//!   territory beneath it) and minimum age ([`check_audience`]); a schedule; a topic from the
//!   region's list (`rules/poll-topics.toml`, [`load_poll_topics`]); live results or results
//!   hidden until close.
//! * **Life cycle** ([`lifecycle`]): draft → on moderation → published → closed. Poll managers
//!   (role `poll_manager`) of the organisation or above it write and submit; a moderator
//!   approves (never their own poll) or returns the poll with a note; a published poll closes
//!   at its end time ([`Polls::close_due`]) or earlier by hand.
//! * **Voting** ([`Polls::vote`]): one ballot per citizen identity per poll. The identity (an
//!   OIDC subject) is kept only as HMAC-SHA256 with the server's key, per poll
//!   ([`VoterKey`]); the client's address only as a keyed hash of its /24 (IPv6: /48) prefix.
//!   Every vote carries an idempotency key; re-votes replace the ballot atomically where the
//!   poll allows them and are refused elsewhere. Ballots are checked by pure functions
//!   ([`check_ballot`]) and written by one writer task in batches (group commit): one
//!   transaction for all the votes that queued meanwhile.
//! * **Results** ([`Polls::results`], [`results`]): counts and shares per option, Borda scores
//!   for ranking, funded projects and totals for budgets, the free-text answers; CSV and XLSX
//!   exports; hidden until close where the poll says so.
//! * **Anomaly report** ([`Polls::anomaly_report`]): bursts of votes from one network prefix or
//!   one territory within a short window.
//!
//! ```no_run
//! use otklik_domain::{OrganisationId, PollId, PollKind, ResultsVisibility, Timestamp, User};
//! use otklik_polls::{Ballot, Polls, PollsConfig, VoteMeta, VoteOutcome, VoterKey, load_poll_topics};
//! use otklik_store::{NewPollOption, PollDraft, Store};
//!
//! # async fn demo(manager: User, moderator: User) -> Result<(), otklik_polls::PollsError> {
//! let store = Store::connect("sqlite:///var/lib/otklik/otklik.db").await?;
//! store.migrate().await?;
//! let mut config = PollsConfig::new(VoterKey::from_hex(&std::env::var("OTKLIK_POLL_KEY").unwrap_or_default())?);
//! config.topics = load_poll_topics("rules/poll-topics.toml")?;
//! let polls = Polls::new(store, config);
//!
//! let now = Timestamp(1_764_572_400_000);
//! let option = |label: &str, cost| NewPollOption { label: label.into(), description: String::new(), cost: Some(cost) };
//! let draft = PollDraft {
//!     organisation: OrganisationId(7),
//!     title: "Какие проекты профинансировать в 2026 году?".into(),
//!     description: String::new(),
//!     kind: PollKind::Budget,
//!     topic: Some("budget".into()),
//!     territory: None,
//!     min_age: Some(16),
//!     starts_at: now,
//!     ends_at: now.plus_days(14),
//!     min_choices: None,
//!     max_choices: None,
//!     budget_cap: Some(5_000_000),
//!     max_text_chars: None,
//!     allow_revote: true,
//!     results: ResultsVisibility::AfterClose,
//!     settings: "{}".into(),
//!     options: vec![option("Сквер у школы", 3_000_000), option("Освещение парка", 1_500_000)],
//! };
//! let poll = polls.create(&draft, &manager, now).await?;
//! polls.submit(poll.poll.id, &manager, now).await?;
//! polls.approve(poll.poll.id, &moderator, now).await?;
//!
//! // From the web handler, after the citizen signed in.
//! let projects = vec![poll.options[0].id, poll.options[1].id];
//! let meta = VoteMeta { territory: None, age: Some(30), ip: "203.0.113.7".parse().ok() };
//! let receipt = polls
//!     .vote(poll.poll.id, "esia:1000123", &Ballot::Budget { projects }, "uuid-from-widget", &meta, now)
//!     .await?;
//! assert_eq!(receipt.outcome, VoteOutcome::Recorded);
//! # Ok(())
//! # }
//! ```

pub mod anomaly;
pub mod audience;
pub mod ballot;
pub mod definition;
mod error;
pub mod identity;
pub mod lifecycle;
pub mod results;
mod service;
pub mod topics;
mod writer;
pub mod xlsx;

pub use anomaly::{AnomalyReport, AnomalyRules, Burst, BurstSource, find_bursts};
pub use audience::{TerritoryTree, VoteMeta, check_audience};
pub use ballot::{Ballot, CheckedBallot, check_ballot};
pub use definition::{choice_bounds, validate_draft, validate_draft_ru};
pub use error::{AudienceError, BallotError, PollsError, Result, group_digits};
pub use identity::{VoterKey, network_prefix};
pub use lifecycle::{OrgTree, PollAction};
pub use otklik_store::{
    BallotChoice, FreeTextAnswer, NewPollOption, PollDetails, PollDraft, PollOption, StoredBallot,
};
pub use results::{BudgetSummary, OptionResult, PollResults};
pub use service::{
    MAX_KEY_BYTES, Polls, PollsConfig, RateLimit, VoteOutcome, VoteReceipt, draft_of,
};
pub use topics::{POLL_TOPICS_FILE, PollTopic, PollTopics, load_poll_topics, parse_poll_topics};
