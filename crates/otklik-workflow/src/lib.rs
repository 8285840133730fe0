//! # otklik-workflow
//!
//! The messages workflow of Otklik: the single service every channel goes through — the widget
//! on an organisation's site, the portal, mobile apps ([`Workflow::submit`]), complaints found
//! in social networks by the collectors ([`Workflow::intake_incident`]) and integrated external
//! systems ([`Workflow::intake_integration`]). One message = one problem = one addressee, one
//! database whatever the entry point.
//!
//! * **Intake** routes each message (`otklik-route`: place of submission, rules, the
//!   territory's ОМСУ, the competent РОИВ, the regional fallback), sets its deadline from the
//!   subcategory (fast-tracks shorter) on the working-day calendar (`otklik-calendar`), groups
//!   near-duplicates (same territory, similar text within N days: MinHash over stemmed words
//!   from `otklik-text`), and puts it in moderation. Confident collector classifications go
//!   straight to coordination.
//! * **Steps** ([`Workflow::act`] with an [`Action`]): moderation (accept / change category or
//!   executor / reject with a reason from `rules/reject-reasons.toml`) → coordination (send to
//!   execution / redirect) → execution (ask for clarification — the deadline clock pauses —,
//!   postpone with reasons and a new deadline, draft the answer) → approval (the head approves
//!   or returns it with a comment) → answered (social-network answers are queued under the
//!   original post in the reply outbox; one answer closes the message's duplicate group) →
//!   rated 1–5 → closed; the curator reopens poorly rated answers. Every step checks the
//!   actor's role **and** organisation ([`may_act`]), uses optimistic concurrency (the version
//!   the caller read) and writes its audit event in the same transaction.
//! * **Idempotency**: every submission and every step carries a key; the same key with the
//!   same payload returns the first result, with a different payload it is
//!   [`WorkflowError::KeyReused`].
//! * **Control**: [`Workflow::control`] lists messages at risk or overdue per organisation;
//!   [`Workflow::escalate`] records escalation notices for the e-mail outbox.
//!
//! ```
//! use otklik_calendar::Calendar;
//! use otklik_domain::directory::{DirectoryBatch, NewOrganisation, NewRoleGrant, NewTerritory, NewUser};
//! use otklik_domain::{Channel, MessageStatus, Onboarding, OrgKind, Role, SubcategoryId, TerritoryKind, Timestamp};
//! use otklik_route::{Directory, Router};
//! use otklik_rules::{parse_category_tree, parse_reject_reasons, parse_routing_rules};
//! use otklik_store::{Store, sqlite_url};
//! use otklik_workflow::{Action, Submission, Workflow, WorkflowConfig};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let dir = tempfile::tempdir()?;
//! let store = Store::connect(&sqlite_url(&dir.path().join("otklik.db"))).await?;
//! store.migrate().await?;
//! // A region with one district administration and its moderator.
//! store.import_directory(&DirectoryBatch {
//!     territories: vec![NewTerritory {
//!         code: "district".into(), kind: TerritoryKind::MunicipalDistrict, name: "Район".into(),
//!         parent_code: None, name_variants: vec![],
//!     }],
//!     organisations: vec![NewOrganisation {
//!         code: "adm".into(), kind: OrgKind::Omsu, name: "Администрация района".into(),
//!         short_name: None, parent_code: None, territory_code: "district".into(),
//!         competences: vec![], onboarding: Onboarding::default(), site_url: None,
//!     }],
//!     users: vec![NewUser {
//!         login: "moderator".into(), full_name: "Модератор".into(), email: None,
//!         organisation_code: Some("adm".into()), confirmed: true,
//!         roles: vec![NewRoleGrant { role: Role::Moderator, organisation_code: "adm".into() }],
//!     }],
//!     communities: vec![], sources: vec![],
//! }, None, Timestamp(0)).await?;
//!
//! let tree = parse_category_tree(
//!     "[[category]]\nid = \"roads\"\nname = \"Дороги\"\n\n[[subcategory]]\nid = \"roads.potholes\"\n\
//!      category = \"roads\"\nname = \"Ямы\"\ndeadline_days = 10\n\n[[category]]\nid = \"other\"\n\
//!      name = \"Иное\"\n\n[[subcategory]]\nid = \"other.other\"\ncategory = \"other\"\nname = \"Иное\"\n",
//!     "categories.toml",
//! )?;
//! let routing = parse_routing_rules("[defaults]\nlevel = \"municipal\"\n", "routing.toml")?;
//! let reasons = parse_reject_reasons("[[reason]]\ncode = \"spam\"\ntext = \"Спам\"\n", "reject-reasons.toml")?;
//! let organisations = store.organisations().await?;
//! let router = Router::new(&routing, &tree, Directory::new(store.territories().await?, organisations.clone()))?;
//! let workflow = Workflow::new(store.clone(), router, tree, &organisations, reasons,
//!     Calendar::embedded(), WorkflowConfig::default())?;
//!
//! let now = Timestamp(1_741_330_800_000); // Friday 7 March 2025, 10:00 Moscow
//! let submission = Submission {
//!     channel: Channel::Portal,
//!     text: "Яма на дороге у школы".into(),
//!     category_hint: Some(SubcategoryId("roads.potholes".into())),
//!     territory: Some(store.territory_by_code("district").await?.expect("imported").id),
//!     address: None, submitted_via: None, author: None, contact: None, attachments: vec![],
//! };
//! let intake = workflow.submit(&submission, "portal-1", now).await?;
//! assert_eq!(intake.record.message.status, MessageStatus::Moderation);
//! // A retried submission returns the same message.
//! assert_eq!(workflow.submit(&submission, "portal-1", now).await?.record.message.id, intake.record.message.id);
//!
//! let moderator = store.user_by_login("moderator").await?.expect("imported");
//! let accepted = workflow
//!     .act(&moderator, intake.record.message.id, 1, Action::Accept, "accept-1", now)
//!     .await?;
//! assert_eq!(accepted.record.message.status, MessageStatus::Coordination);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod access;
mod config;
mod error;
mod group;
mod intake;
mod notify;
mod service;
pub mod similarity;

pub use access::{Denied, DenyReason, OrgTree, may_act, role_for};
pub use config::WorkflowConfig;
pub use error::{Result, WorkflowError};
pub use intake::{
    Incident, Intake, IntegrationSubmission, MAX_ATTACHMENTS, MAX_TEXT_CHARS, Submission,
};
pub use notify::Notifications;
pub use otklik_calendar::{AtRisk, DeadlineStatus};
pub use service::{Action, ControlDeadline, ControlItem, Outcome, Workflow};
