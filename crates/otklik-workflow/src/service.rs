//! The workflow service: intake, steps, control.

use std::collections::HashMap;
use std::sync::Arc;

use otklik_calendar::{Calendar, ClockError, DeadlineClock, DeadlineStatus, Term};
use otklik_domain::{
    CategoryTree, Channel, MessageId, MessageRecord, MessageStatus, NewMessage, Organisation,
    OrganisationId, PostId, SubcategoryId, TerritoryId, Timestamp, Transition, User, UserId,
    check_rating,
};
use otklik_route::{RouteError, RouteRequest, Router};
use otklik_rules::RejectReasons;
use otklik_store::{
    AttachmentId, AutoAccept, BatchItem, Escalation, EscalationKind, Keyed, NewEmail, NewRecord,
    RatingLinkUse, ReplyId, StepApplied, StepWrite, Store, StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::instrument;

use crate::access::{OrgTree, may_act};
use crate::config::WorkflowConfig;
use crate::error::{Result, WorkflowError};
use crate::group::{GROUP_MAX, GroupCommit};
use crate::intake::{
    Incident, Intake, IntegrationSubmission, Submission, attachment_ids, check_attachments,
    check_text,
};
use crate::notify::Notifications;
use crate::similarity::Signature;

/// A workflow step with what it carries. The variant decides the [`Transition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Moderator: category and executor are right; on to coordination.
    Accept,
    /// Moderator: change the subcategory and/or the executor (without an executor, a changed
    /// subcategory is routed again); stays in moderation.
    Recategorise {
        /// New subcategory.
        subcategory: Option<SubcategoryId>,
        /// New executor.
        executor: Option<OrganisationId>,
        /// Why.
        comment: Option<String>,
    },
    /// Moderator: reject with a reason from the configured list.
    Reject {
        /// The reason's code (`rules/reject-reasons.toml`).
        reason: String,
        /// The moderator's comment (required by some reasons).
        comment: Option<String>,
    },
    /// Coordinator: send to the executor.
    SendToExecution,
    /// Coordinator: redirect to another organisation.
    Redirect {
        /// The organisation that must answer instead.
        to: OrganisationId,
        /// Why.
        comment: Option<String>,
    },
    /// Executor: ask the citizen for details (the deadline clock pauses).
    RequestClarification {
        /// The question.
        question: String,
    },
    /// The citizen answers (the clock resumes with the working time left).
    ProvideClarification {
        /// The citizen's details.
        text: String,
    },
    /// Executor: the problem cannot be solved in time — reasons and a later deadline.
    Postpone {
        /// The new deadline.
        until: Timestamp,
        /// The reasons.
        reason: String,
    },
    /// Executor: the draft answer goes to the head.
    SubmitForApproval {
        /// The draft answer.
        answer: String,
    },
    /// Head: approve; the answer goes out (to the citizen, or under the post).
    Approve,
    /// Head: back to the executor with a comment.
    ReturnForRevision {
        /// What to change.
        comment: String,
    },
    /// Citizen: rate the answer 1–5.
    Rate {
        /// The rating.
        rating: i64,
    },
    /// Curator: reopen a poorly rated answer.
    Reopen {
        /// Why.
        comment: String,
    },
    /// Curator: close.
    Close,
}

impl Action {
    /// The transition this action performs.
    pub fn transition(&self) -> Transition {
        match self {
            Action::Accept => Transition::Accept,
            Action::Recategorise { .. } => Transition::Recategorise,
            Action::Reject { .. } => Transition::Reject,
            Action::SendToExecution => Transition::SendToExecution,
            Action::Redirect { .. } => Transition::Redirect,
            Action::RequestClarification { .. } => Transition::RequestClarification,
            Action::ProvideClarification { .. } => Transition::ProvideClarification,
            Action::Postpone { .. } => Transition::Postpone,
            Action::SubmitForApproval { .. } => Transition::SubmitForApproval,
            Action::Approve => Transition::Approve,
            Action::ReturnForRevision { .. } => Transition::ReturnForRevision,
            Action::Rate { .. } => Transition::Rate,
            Action::Reopen { .. } => Transition::Reopen,
            Action::Close => Transition::Close,
        }
    }
}

/// The result of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The message after the step.
    pub record: MessageRecord,
    /// The key was seen before with the same payload: the first call's result.
    pub replayed: bool,
    /// Other messages of the duplicate group answered together with this one.
    pub also: Vec<MessageRecord>,
    /// Replies queued under the original posts (social-network messages) by an approval.
    pub replies: Vec<ReplyId>,
}

/// Which deadline a [`ControlItem`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlDeadline {
    /// The answer's deadline (the message's `deadline_at`).
    Answer,
    /// The first public reply to a social-network incident, due within
    /// [`WorkflowConfig::first_reply_working_hours`] working hours of registration; met once a
    /// reply to the post is queued in the reply outbox (or delivered).
    FirstReply,
}

impl ControlDeadline {
    /// Short Russian label.
    pub fn label_ru(self) -> &'static str {
        match self {
            ControlDeadline::Answer => "срок ответа",
            ControlDeadline::FirstReply => "срок первого публичного ответа",
        }
    }
}

/// A message of the curator's control view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlItem {
    /// The message.
    pub record: MessageRecord,
    /// Which deadline is at risk or past: a social-network incident may be listed twice, once
    /// for its first public reply and once for its answer.
    pub deadline: ControlDeadline,
    /// That deadline.
    pub deadline_at: Timestamp,
    /// [`DeadlineStatus::AtRisk`] or [`DeadlineStatus::Overdue`].
    pub status: DeadlineStatus,
    /// Working milliseconds left (negative: overdue by that much wall time).
    pub remaining_ms: i64,
}

/// The single workflow service every channel goes through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Workflow {
    inner: Arc<Inner>,
    notify: Option<Arc<Notifications>>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    router: Router,
    tree: CategoryTree,
    orgs: OrgTree,
    reasons: RejectReasons,
    calendar: Calendar,
    config: WorkflowConfig,
    org_names: HashMap<OrganisationId, String>,
    /// Concurrent direct submissions share transactions.
    group: GroupCommit,
}

fn hash_payload(value: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

fn clock_error(e: ClockError) -> WorkflowError {
    WorkflowError::Deadline(e.to_string())
}

fn non_empty(what: &str, s: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(WorkflowError::Invalid(format!("{what} must not be empty")));
    }
    Ok(t.to_owned())
}

fn opt_trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// What the intake of any channel resolves to before it is stored.
struct Draft {
    channel: Channel,
    text: String,
    subcategory: SubcategoryId,
    territory: Option<TerritoryId>,
    address: Option<String>,
    submitted_via: Option<OrganisationId>,
    author: Option<UserId>,
    author_handle: Option<String>,
    source_post: Option<PostId>,
    confidence_pm: Option<i64>,
    contact: Option<String>,
    attachments: Vec<String>,
    external: Option<(String, String)>,
    source_url: Option<String>,
    /// The classifier was unsure or the citizen gave no category.
    needs_moderator: Option<String>,
}

/// A submission checked, routed and deadlined, with what its transaction writes besides the
/// message.
pub(crate) struct Ready {
    prepared: Prepared,
    pub(crate) key: String,
    actor: Option<UserId>,
    now: Timestamp,
    attachments: Vec<AttachmentId>,
    accept: Option<AutoAccept>,
}

/// Hash of the payload of the automatic acceptance of a new incident: what [`Workflow::act`]'s
/// step would compute for an `accept` without an actor at version 1.
fn auto_accept_hash(id: MessageId) -> String {
    hash_payload(&json!({
        "id": id.get(),
        "version": Some(1),
        "actor": Option::<i64>::None,
        "action": Action::Accept,
    }))
}

/// A checked, routed draft ready for the store.
struct Prepared {
    /// Nothing asked for the moderator (a confident incident, a citizen's chosen category).
    auto: bool,
    new: NewRecord,
    payload_hash: String,
    note: String,
    detail: serde_json::Value,
    signature: Option<Signature>,
}

impl Workflow {
    /// Builds the service. `organisations` is the directory snapshot the router was built from
    /// (parents give the role scopes); `reasons` the configured reject reasons.
    pub fn new(
        store: Store,
        router: Router,
        tree: CategoryTree,
        organisations: &[Organisation],
        reasons: RejectReasons,
        calendar: Calendar,
        config: WorkflowConfig,
    ) -> Result<Self> {
        if tree.subcategory(&config.unclassified_subcategory).is_none() {
            return Err(WorkflowError::Invalid(format!(
                "the unclassified subcategory {:?} is not in the category tree",
                config.unclassified_subcategory.0
            )));
        }
        let orgs = OrgTree::new(organisations).with_oversight(config.oversight.iter().copied());
        if let Some(unknown) = config.oversight.iter().find(|o| !orgs.contains(**o)) {
            return Err(WorkflowError::Invalid(format!(
                "oversight organisation {unknown} is not in the directory"
            )));
        }
        if reasons.is_empty() {
            return Err(WorkflowError::Invalid(
                "the list of reject reasons is empty".into(),
            ));
        }
        if !(0.0..=1.0).contains(&config.duplicate_threshold) {
            return Err(WorkflowError::Invalid(
                "duplicate_threshold must be within 0..=1".into(),
            ));
        }
        let org_names = organisations
            .iter()
            .map(|o| (o.id, o.short_name.clone().unwrap_or_else(|| o.name.clone())))
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                router,
                tree,
                orgs,
                reasons,
                calendar,
                config,
                org_names,
                group: GroupCommit::default(),
            }),
            notify: None,
        })
    }

    /// Sends e-mails through the e-mail outbox of `otklik-notify`: the answer with its rating
    /// link and the clarification request to citizens who left an e-mail address, deadline
    /// escalations to the responsible curators and heads. Without this the workflow queues
    /// no e-mail (escalation notices are still recorded).
    pub fn with_notifications(mut self, notifications: Notifications) -> Self {
        self.notify = Some(Arc::new(notifications));
        self
    }

    fn org_name(&self, org: Option<OrganisationId>) -> &str {
        org.and_then(|o| self.inner.org_names.get(&o))
            .map_or("организация не назначена", String::as_str)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The calendar deadlines are counted on.
    pub fn calendar(&self) -> &Calendar {
        &self.inner.calendar
    }

    /// The settings.
    pub fn config(&self) -> &WorkflowConfig {
        &self.inner.config
    }

    /// The organisation tree used for role scopes.
    pub fn organisations(&self) -> &OrgTree {
        &self.inner.orgs
    }

    /// The configured reject reasons (`rules/reject-reasons.toml`) the workflow was built with,
    /// so callers need not load them a second time.
    pub fn reject_reasons(&self) -> &RejectReasons {
        &self.inner.reasons
    }

    // ---------------------------------------------------------------- intake

    /// Registers a citizen's message from the widget, the portal or a mobile app. It is routed
    /// (by place of submission, or by category and territory) and waits for the moderator.
    /// Its attachment ids must name uploads of the attachments store not attached to another
    /// message; they are linked to the message in its transaction. With
    /// [`Workflow::with_notifications`], a citizen who left an e-mail address gets «Ваше
    /// сообщение принято» through the e-mail outbox, queued in the same transaction.
    ///
    /// Concurrent calls share transactions (group commit): the submission is checked and
    /// routed on the caller's task, then written together with those of other callers
    /// waiting at the same time (up to 64), each with its own result; a lone caller commits at
    /// once. A refused submission (invalid, or a reused key) fails alone.
    #[instrument(skip(self, s, key), fields(channel = %s.channel))]
    pub async fn submit(&self, s: &Submission, key: &str, now: Timestamp) -> Result<Intake> {
        // A leader cancelled while writing our submission leaves it unanswered: submit again
        // (the key makes that safe whether or not its transaction committed).
        for _ in 0..3 {
            let ready = self.direct_ready(s, key, now).await?;
            if let Some(result) = self.group_submit(ready).await {
                return result;
            }
        }
        Err(WorkflowError::Store(StoreError::Invalid(
            "the submission's transaction was abandoned three times".into(),
        )))
    }

    /// Queues `ready` for the next group transaction and waits for its result, leading the
    /// transaction itself when no one else is; `None` when the leader that took it was
    /// cancelled.
    async fn group_submit(&self, ready: Ready) -> Option<Result<Intake>> {
        let group = &self.inner.group;
        let mut rx = group.enqueue(ready);
        let _leader = tokio::select! {
            biased;
            done = &mut rx => return done.ok(),
            guard = group.lead() => guard,
        };
        loop {
            match rx.try_recv() {
                Ok(done) => return Some(done),
                Err(tokio::sync::oneshot::error::TryRecvError::Closed) => return None,
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
            }
            let batch = group.take(GROUP_MAX);
            if batch.is_empty() {
                // Ours is neither answered nor queued: a cancelled leader took it.
                return None;
            }
            let (readies, replies): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|w| (w.ready, w.reply)).unzip();
            let results = self.write_ready(&readies).await;
            for (reply, result) in replies.into_iter().zip(results) {
                // A caller that went away does not want its result.
                let _ = reply.send(result);
            }
        }
    }

    /// A direct submission checked, routed, deadlined, with its attachments looked up.
    async fn direct_ready(&self, s: &Submission, key: &str, now: Timestamp) -> Result<Ready> {
        let (draft, payload) = self.direct_draft(s)?;
        let attachments = attachment_ids(&s.attachments).map_err(WorkflowError::Invalid)?;
        let prepared = self.prepare(draft, key, &payload, now)?;
        self.check_uploaded(&attachments).await?;
        Ok(Ready {
            prepared,
            key: key.to_owned(),
            actor: s.author,
            now,
            attachments,
            accept: None,
        })
    }

    /// Every attachment id names an upload of the attachments store.
    async fn check_uploaded(&self, ids: &[AttachmentId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let found = self.inner.store.attachment_owners(ids).await?;
        let unknown: Vec<String> = ids
            .iter()
            .filter(|id| !found.iter().any(|(f, _)| f == *id))
            .map(ToString::to_string)
            .collect();
        if !unknown.is_empty() {
            return Err(WorkflowError::Invalid(format!(
                "unknown attachment id {}: upload the file first and give the id the upload returned",
                unknown.join(", ")
            )));
        }
        Ok(())
    }

    fn direct_draft(&self, s: &Submission) -> Result<(Draft, serde_json::Value)> {
        if !matches!(
            s.channel,
            Channel::Widget | Channel::Portal | Channel::MobileApp
        ) {
            return Err(WorkflowError::Invalid(format!(
                "channel {} does not take direct submissions",
                s.channel
            )));
        }
        if s.channel == Channel::Widget && s.submitted_via.is_none() {
            return Err(WorkflowError::Invalid(
                "a widget submission names the widget's organisation".into(),
            ));
        }
        let (subcategory, needs_moderator) = self.hint_or_unclassified(&s.category_hint)?;
        let payload = json!({ "op": "submit", "submission": s });
        let draft = Draft {
            channel: s.channel,
            text: s.text.clone(),
            subcategory,
            territory: s.territory,
            address: opt_trimmed(&s.address),
            submitted_via: s.submitted_via,
            author: s.author,
            author_handle: None,
            source_post: None,
            confidence_pm: None,
            contact: opt_trimmed(&s.contact),
            attachments: s.attachments.clone(),
            external: None,
            source_url: None,
            needs_moderator,
        };
        Ok((draft, payload))
    }

    /// Registers a complaint found by the collectors. Confident classifications (at least
    /// [`WorkflowConfig::min_confidence_pm`]) that routing found an executor for go straight to
    /// coordination (an automatic `accept`, audited with no actor); the others wait for the
    /// moderator.
    #[instrument(skip(self, i, key), fields(post = %i.post))]
    pub async fn intake_incident(&self, i: &Incident, key: &str, now: Timestamp) -> Result<Intake> {
        let (draft, payload) = self.incident_draft(i)?;
        let auto = draft.needs_moderator.is_none();
        let intake = self.register(draft, key, &payload, None, now).await?;
        self.accept_replayed(intake, auto, key, now).await
    }

    /// The automatic acceptance of a confident incident registered without it (the sequential
    /// path, or a replay of a registration whose acceptance did not happen).
    async fn accept_replayed(
        &self,
        intake: Intake,
        auto: bool,
        key: &str,
        now: Timestamp,
    ) -> Result<Intake> {
        if auto
            && intake.record.message.status == MessageStatus::Moderation
            && intake.record.message.version == 1
            && intake.record.message.executor.is_some()
        {
            // Derived key: a retried intake repeats the acceptance only once.
            let accepted = self
                .step(
                    None,
                    &intake.record,
                    1,
                    &Action::Accept,
                    &format!("{key}#auto-accept"),
                    json!({"auto": "confidence"}),
                    None,
                    now,
                )
                .await?;
            return Ok(Intake {
                record: accepted.record,
                ..intake
            });
        }
        Ok(intake)
    }

    /// Registers many complaints found by the collectors at once, as
    /// [`Workflow::intake_incident`] does one by one, in one transaction per
    /// [`otklik_store::MAX_BATCH`] items: each is checked, routed, deadlined, grouped with its
    /// duplicates (among stored messages and the batch's earlier ones), keyed and audited,
    /// and a confident one with an executor is written already accepted — in status
    /// `coordination` with its `transition:accept` audit event and the acceptance's
    /// idempotency record, in the same transaction. Results are in input order; a refused
    /// item does not stop the others.
    #[instrument(skip_all, fields(items = items.len()))]
    pub async fn intake_incident_batch(
        &self,
        items: &[(Incident, String)],
        now: Timestamp,
    ) -> Result<Vec<Result<Intake>>> {
        let mut out: Vec<Option<Result<Intake>>> = Vec::with_capacity(items.len());
        let mut ready = Vec::with_capacity(items.len());
        let mut at = Vec::with_capacity(items.len());
        for (i, (incident, key)) in items.iter().enumerate() {
            match self.incident_ready(incident, key, now) {
                Ok(r) => {
                    ready.push(r);
                    at.push(i);
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        let results = self.write_ready(&ready).await;
        for ((i, r), result) in at.into_iter().zip(&ready).zip(results) {
            let auto = r.prepared.auto;
            out[i] = Some(match result {
                // A registration replayed before its acceptance happened: accept it now.
                Ok(intake) if intake.replayed => {
                    self.accept_replayed(intake, auto, &r.key, now).await
                }
                other => other,
            });
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(WorkflowError::Invalid("not processed".into()))))
            .collect())
    }

    /// An incident checked, routed and deadlined; accepted at once when confident and routed.
    fn incident_ready(&self, i: &Incident, key: &str, now: Timestamp) -> Result<Ready> {
        let (draft, payload) = self.incident_draft(i)?;
        let prepared = self.prepare(draft, key, &payload, now)?;
        let accept =
            (prepared.auto && prepared.new.message.executor.is_some()).then(|| AutoAccept {
                key: format!("{key}#auto-accept"),
                detail: json!({
                    "executor": prepared.new.message.executor.map(OrganisationId::get),
                    "auto": "confidence",
                }),
                payload_hash: auto_accept_hash,
            });
        Ok(Ready {
            prepared,
            key: key.to_owned(),
            actor: None,
            now,
            attachments: Vec::new(),
            accept,
        })
    }

    /// The draft of a collected incident and its payload.
    fn incident_draft(&self, i: &Incident) -> Result<(Draft, serde_json::Value)> {
        if !(0..=1000).contains(&i.confidence_pm) {
            return Err(WorkflowError::Invalid(format!(
                "confidence must be 0..=1000 per mille, got {}",
                i.confidence_pm
            )));
        }
        self.known_subcategory(&i.subcategory)?;
        let threshold = self.inner.config.min_confidence_pm;
        let needs_moderator = (i.confidence_pm < threshold).then(|| {
            format!(
                "низкая уверенность классификатора: {} < {} ‰, требуется модерация",
                i.confidence_pm, threshold
            )
        });
        let payload = json!({ "op": "incident", "incident": i });
        let draft = Draft {
            channel: Channel::SocialNetwork,
            text: i.text.clone(),
            subcategory: i.subcategory.clone(),
            territory: i.territory,
            address: opt_trimmed(&i.address),
            submitted_via: None,
            author: None,
            author_handle: opt_trimmed(&i.author_handle),
            source_post: Some(i.post),
            confidence_pm: Some(i.confidence_pm),
            contact: None,
            attachments: Vec::new(),
            external: None,
            source_url: opt_trimmed(&i.source_url),
            needs_moderator,
        };
        Ok((draft, payload))
    }

    /// Registers a message handed over by an integrated external system. The pair (system,
    /// external id) identifies it as well as the key: handing the same message over twice
    /// returns the first registration.
    #[instrument(skip(self, s, key), fields(system = %s.system))]
    pub async fn intake_integration(
        &self,
        s: &IntegrationSubmission,
        key: &str,
        now: Timestamp,
    ) -> Result<Intake> {
        let system = non_empty("external system", &s.system)?;
        let external_id = non_empty("external id", &s.external_id)?;
        let (subcategory, needs_moderator) = self.hint_or_unclassified(&s.category_hint)?;
        let payload = json!({ "op": "integration", "submission": s });
        let draft = Draft {
            channel: Channel::Integration,
            text: s.text.clone(),
            subcategory,
            territory: s.territory,
            address: opt_trimmed(&s.address),
            submitted_via: None,
            author: None,
            author_handle: None,
            source_post: None,
            confidence_pm: None,
            contact: opt_trimmed(&s.contact),
            attachments: s.attachments.clone(),
            external: Some((system, external_id)),
            source_url: None,
            needs_moderator,
        };
        self.register(draft, key, &payload, None, now).await
    }

    fn known_subcategory(&self, sub: &SubcategoryId) -> Result<()> {
        if self.inner.tree.subcategory(sub).is_none() {
            return Err(WorkflowError::Invalid(format!(
                "unknown subcategory {:?}",
                sub.0
            )));
        }
        Ok(())
    }

    fn hint_or_unclassified(
        &self,
        hint: &Option<SubcategoryId>,
    ) -> Result<(SubcategoryId, Option<String>)> {
        match hint {
            Some(sub) => {
                self.known_subcategory(sub)?;
                Ok((sub.clone(), None))
            }
            None => Ok((
                self.inner.config.unclassified_subcategory.clone(),
                Some("категория не указана: требуется модерация".to_owned()),
            )),
        }
    }

    /// The deadline clock of a new term for `sub`, started at `at`.
    fn start_clock(&self, sub: &SubcategoryId, at: Timestamp) -> Result<(DeadlineClock, bool)> {
        let s =
            self.inner.tree.subcategory(sub).ok_or_else(|| {
                WorkflowError::Invalid(format!("unknown subcategory {:?}", sub.0))
            })?;
        let days = u32::from(s.effective_deadline_days());
        Ok((
            DeadlineClock::start(&self.inner.calendar, at, Term::WorkingDays(days)),
            s.fast_track.is_some(),
        ))
    }

    fn route(
        &self,
        subcategory: &SubcategoryId,
        territory: Option<TerritoryId>,
        submitted_via: Option<OrganisationId>,
    ) -> Result<(Option<OrganisationId>, String)> {
        match self.inner.router.route(&RouteRequest {
            subcategory,
            territory,
            submitted_via,
        }) {
            Ok(d) => Ok((Some(d.executor), d.reason.explain_ru())),
            Err(RouteError::NoExecutor { .. }) => Ok((
                None,
                "исполнитель не найден: требуется ручная маршрутизация".to_owned(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The group of the most similar candidate at or above the threshold (rejected messages
    /// do not count).
    fn pick_group(
        sig: &Signature,
        threshold: f64,
        candidates: &[otklik_store::DuplicateCandidate],
    ) -> Option<MessageId> {
        candidates
            .iter()
            .filter(|c| c.status != MessageStatus::Rejected)
            .filter_map(|c| {
                let other = Signature::from_hex(&c.signature)?;
                let s = sig.similarity(&other);
                (s >= threshold).then_some((s, c))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| c.group.unwrap_or(c.id))
    }

    /// Checks a draft and builds what the store keeps: the record, its payload hash, the
    /// routing note and the audit detail.
    fn prepare(
        &self,
        d: Draft,
        key: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> Result<Prepared> {
        check_text(&d.text).map_err(WorkflowError::Invalid)?;
        check_attachments(&d.attachments).map_err(WorkflowError::Invalid)?;
        if key.trim().is_empty() {
            return Err(WorkflowError::Invalid(
                "an idempotency key is required".into(),
            ));
        }
        let payload_hash = hash_payload(payload);
        let auto = d.needs_moderator.is_none();
        let (executor, route_note) = self.route(&d.subcategory, d.territory, d.submitted_via)?;
        let note = match &d.needs_moderator {
            Some(why) => format!("{why}. {route_note}"),
            None => route_note,
        };
        let (clock, fast_track) = self.start_clock(&d.subcategory, now)?;
        let deadline = clock.deadline().unwrap_or(now);
        let cfg = &self.inner.config;
        let first_reply_due_at =
            (d.channel == Channel::SocialNetwork && cfg.first_reply_working_hours > 0).then(|| {
                self.inner
                    .calendar
                    .add_working_hours(now, cfg.first_reply_working_hours)
            });
        let signature = Signature::of_text(&d.text);
        let clock_json = serde_json::to_string(&clock)
            .map_err(|e| WorkflowError::Deadline(format!("cannot encode the clock: {e}")))?;
        let (external_system, external_id) = match d.external {
            Some((s, i)) => (Some(s), Some(i)),
            None => (None, None),
        };
        let new = NewRecord {
            message: NewMessage {
                channel: d.channel,
                subcategory: d.subcategory,
                territory: d.territory,
                executor,
                submitted_via: d.submitted_via,
                author: d.author,
                author_handle: d.author_handle,
                source_post: d.source_post,
                text: d.text,
                address: d.address,
                confidence_pm: d.confidence_pm,
                deadline_at: deadline,
            },
            citizen_contact: d.contact,
            attachments: d.attachments,
            external_system,
            external_id,
            source_url: d.source_url,
            fast_track,
            moderation_note: Some(note.clone()),
            first_reply_due_at,
            duplicate_group: None,
            text_signature: signature.as_ref().map(Signature::to_hex),
            bands: signature.as_ref().map(Signature::bands).unwrap_or_default(),
            deadline_clock: Some(clock_json),
        };
        let detail = json!({ "route": note, "fast_track": fast_track });
        Ok(Prepared {
            auto,
            new,
            payload_hash,
            note,
            detail,
            signature,
        })
    }

    fn duplicates_since(&self, now: Timestamp) -> Option<Timestamp> {
        let days = self.inner.config.duplicate_window_days;
        (days > 0).then(|| Timestamp(now.millis() - days * Timestamp::DAY_MS))
    }

    fn intake_of(key: &str, note: String, keyed: Keyed<MessageRecord>) -> Result<Intake> {
        match keyed {
            Keyed::Done(record) => Ok(Intake {
                record,
                replayed: false,
                note: Some(note),
            }),
            Keyed::Replayed(record) => Ok(Intake {
                record,
                replayed: true,
                note: None,
            }),
            Keyed::KeyReused { message, operation } => Err(WorkflowError::KeyReused {
                key: key.to_owned(),
                message,
                operation,
            }),
        }
    }

    async fn register(
        &self,
        d: Draft,
        key: &str,
        payload: &serde_json::Value,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Intake> {
        let p = self.prepare(d, key, payload, now)?;
        let threshold = self.inner.config.duplicate_threshold;
        let signature = p.signature;
        let keyed = self
            .inner
            .store
            .submit_record(
                &p.new,
                key,
                &p.payload_hash,
                actor,
                p.detail,
                self.duplicates_since(now).filter(|_| signature.is_some()),
                |candidates| {
                    signature
                        .as_ref()
                        .and_then(|sig| Self::pick_group(sig, threshold, candidates))
                },
                now,
            )
            .await?;
        Self::intake_of(key, p.note, keyed)
    }

    /// Registers many direct submissions at once, in one transaction per
    /// [`otklik_store::MAX_BATCH`] items (group commit): the way an API front-end or an
    /// integration hands over the submissions that arrived together. Each item is checked,
    /// routed, deadlined, grouped with its duplicates (among stored messages and the batch's
    /// earlier ones), keyed, audited, its attachments linked and its «принято» e-mail queued
    /// exactly as by [`Workflow::submit`]; results are in input order, a refused item does not
    /// stop the others, and the same key twice behaves as two calls in a row.
    #[instrument(skip_all, fields(items = items.len()))]
    pub async fn submit_batch(
        &self,
        items: &[(Submission, String)],
        now: Timestamp,
    ) -> Result<Vec<Result<Intake>>> {
        let mut out: Vec<Option<Result<Intake>>> = Vec::with_capacity(items.len());
        let mut ready = Vec::with_capacity(items.len());
        let mut at = Vec::with_capacity(items.len());
        for (i, (s, key)) in items.iter().enumerate() {
            match self.direct_ready(s, key, now).await {
                Ok(r) => {
                    ready.push(r);
                    at.push(i);
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        for (i, result) in at.into_iter().zip(self.write_ready(&ready).await) {
            out[i] = Some(result);
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(WorkflowError::Invalid("not processed".into()))))
            .collect())
    }

    /// Writes checked submissions, [`otklik_store::MAX_BATCH`] per transaction (a single one
    /// on the one-message path), each with its own result in input order. A key already in the
    /// transaction starts the next one, so the same key twice behaves as two calls in a row.
    async fn write_ready(&self, ready: &[Ready]) -> Vec<Result<Intake>> {
        let mut signatures: HashMap<&str, &Signature> = HashMap::new();
        for r in ready {
            if let (Some(hex), Some(sig)) = (&r.prepared.new.text_signature, &r.prepared.signature)
            {
                signatures.insert(hex.as_str(), sig);
            }
        }
        let threshold = self.inner.config.duplicate_threshold;
        let mut out = Vec::with_capacity(ready.len());
        let mut chunks: Vec<&[Ready]> = Vec::new();
        let mut start = 0;
        let mut keys = std::collections::HashSet::new();
        for (i, r) in ready.iter().enumerate() {
            if i - start == otklik_store::MAX_BATCH || !keys.insert(r.key.as_str()) {
                chunks.push(&ready[start..i]);
                start = i;
                keys.clear();
                keys.insert(r.key.as_str());
            }
        }
        if start < ready.len() {
            chunks.push(&ready[start..]);
        }
        for chunk in chunks {
            let batch: Vec<BatchItem<'_>> = chunk
                .iter()
                .map(|r| BatchItem {
                    new: &r.prepared.new,
                    actor: r.actor,
                    key: r.key.as_str(),
                    payload_hash: &r.prepared.payload_hash,
                    detail: r.prepared.detail.clone(),
                    now: r.now,
                    duplicates_since: self
                        .duplicates_since(r.now)
                        .filter(|_| r.prepared.signature.is_some()),
                    accept: r.accept.clone(),
                    attachments: &r.attachments,
                })
                .collect();
            let results = self
                .inner
                .store
                .submit_records(
                    &batch,
                    |new, candidates| {
                        let sig = signatures.get(new.text_signature.as_deref()?)?;
                        Self::pick_group(sig, threshold, candidates)
                    },
                    |record| self.received_emails(record),
                )
                .await;
            for (r, result) in chunk.iter().zip(results) {
                out.push(
                    result
                        .map_err(|e| match e {
                            // The store's refusal of one item (an attachment taken meanwhile).
                            StoreError::Invalid(why) => WorkflowError::Invalid(why),
                            other => other.into(),
                        })
                        .and_then(|k| Self::intake_of(&r.key, r.prepared.note.clone(), k)),
                );
            }
        }
        out
    }

    /// «Ваше сообщение принято» for a new direct submission whose citizen left an e-mail
    /// address (none without notifications).
    fn received_emails(&self, record: &MessageRecord) -> Vec<NewEmail> {
        match &self.notify {
            Some(n)
                if matches!(
                    record.message.channel,
                    Channel::Widget | Channel::Portal | Channel::MobileApp
                ) =>
            {
                n.received(record).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    // ---------------------------------------------------------------- steps

    /// Performs `action` on message `id` as `actor`, if the actor's role and organisation
    /// allow it ([`may_act`]), the state machine allows it from the current status, and the
    /// message is still at `expected_version`. The change, its audit event and the
    /// idempotency record commit together. `key` is required: the same key with the same
    /// call returns the first result; with a different call it is [`WorkflowError::KeyReused`].
    #[instrument(skip(self, actor, action, key), fields(actor = %actor.id, transition = %action.transition()))]
    pub async fn act(
        &self,
        actor: &User,
        id: MessageId,
        expected_version: i64,
        action: Action,
        key: &str,
        now: Timestamp,
    ) -> Result<Outcome> {
        let record = self.load(id).await?;
        self.step(
            Some(actor),
            &record,
            expected_version,
            &action,
            key,
            json!({}),
            None,
            now,
        )
        .await
    }

    /// The citizen's rating through the signed rating link of the answer e-mail (no account
    /// needed): the token is verified (signature, expiry) and its single use is recorded in
    /// the same transaction as the rating. Clicking the same link again with the same rating
    /// returns the first result; with another rating it is [`WorkflowError::KeyReused`].
    /// Needs [`Workflow::with_notifications`].
    #[instrument(skip(self, token))]
    pub async fn rate_with_link(
        &self,
        token: &str,
        rating: i64,
        now: Timestamp,
    ) -> Result<Outcome> {
        let Some(n) = &self.notify else {
            return Err(WorkflowError::Invalid(
                "rating links need the notifications to be configured".into(),
            ));
        };
        let rating = check_rating(rating)?;
        let verified = n
            .links
            .verify(token, now)
            .map_err(|e| WorkflowError::Invalid(format!("rating link: {e}")))?;
        let record = self.load(verified.message).await?;
        let link = RatingLinkUse {
            token_digest: verified.token_digest.clone(),
            message: verified.message,
            rating: u8::try_from(rating).map_err(|_| {
                WorkflowError::Domain(otklik_domain::DomainError::BadRating(rating))
            })?,
            expires_at: verified.expires_at,
        };
        let key = format!("rating-link:{}", verified.token_digest);
        // The payload of a link's use is the link and the rating, whatever the version.
        self.step(
            None,
            &record,
            record.message.version,
            &Action::Rate { rating },
            &key,
            json!({"via": "rating_link"}),
            Some(&link),
            now,
        )
        .await
    }

    /// A message with its workflow fields.
    #[instrument(skip(self))]
    pub async fn message(&self, id: MessageId) -> Result<MessageRecord> {
        self.load(id).await
    }

    async fn load(&self, id: MessageId) -> Result<MessageRecord> {
        self.inner
            .store
            .message_record(id)
            .await?
            .ok_or(WorkflowError::NotFound(id))
    }

    fn clock_of(&self, record: &MessageRecord) -> DeadlineClock {
        record
            .deadline_clock
            .as_deref()
            .and_then(|j| serde_json::from_str::<DeadlineClock>(j).ok())
            .unwrap_or_else(|| {
                // Registered outside the workflow (older rows): the stored deadline.
                DeadlineClock::start_until(
                    &self.inner.calendar,
                    record.message.created_at,
                    record.message.deadline_at,
                )
            })
    }

    fn set_clock(next: &mut MessageRecord, clock: &DeadlineClock) -> Result<()> {
        next.deadline_clock = Some(
            serde_json::to_string(clock)
                .map_err(|e| WorkflowError::Deadline(format!("cannot encode the clock: {e}")))?,
        );
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn step(
        &self,
        gate: Option<&User>,
        record: &MessageRecord,
        expected_version: i64,
        action: &Action,
        key: &str,
        extra: serde_json::Value,
        rating_link: Option<&RatingLinkUse>,
        now: Timestamp,
    ) -> Result<Outcome> {
        if key.trim().is_empty() {
            return Err(WorkflowError::Invalid(
                "an idempotency key is required".into(),
            ));
        }
        let actor = gate.map(|u| u.id);
        let id = record.message.id;
        let transition = action.transition();
        let operation = format!("transition:{}", transition.code());
        let hash = hash_payload(&json!({
            "id": id.get(),
            // A rating link may be clicked at any version: its payload is the link itself.
            "version": if rating_link.is_some() { None } else { Some(expected_version) },
            "actor": actor.map(UserId::get),
            "action": action,
        }));
        // A retry: answer from the stored result even if the message moved on since.
        if let Some(seen) = self.inner.store.workflow_request(key).await? {
            if seen.message == id && seen.operation == operation && seen.payload_hash == hash {
                let replies = self.deliver(&seen.result, &[], now).await?;
                return Ok(Outcome {
                    record: seen.result,
                    replayed: true,
                    also: Vec::new(),
                    replies,
                });
            }
            return Err(WorkflowError::KeyReused {
                key: key.to_owned(),
                message: seen.message,
                operation: seen.operation,
            });
        }
        // Checked after the replay: a retry gets its result even if the actor's scope moved
        // on with the message (a redirect); the actor is part of the payload hash.
        if let Some(user) = gate {
            may_act(user, transition, &record.message, &self.inner.orgs)?;
        }
        if record.message.version != expected_version {
            return Err(WorkflowError::Conflict {
                id,
                expected_version,
            });
        }
        let to = record.message.status.apply(transition)?;
        let (mut next, mut detail) = self.decide(record, action, now)?;
        next.message.status = to;
        if let (Some(map), serde_json::Value::Object(more)) = (detail.as_object_mut(), extra) {
            map.extend(more);
        }
        let also = if transition == Transition::Approve {
            self.group_answers(&next, now).await?
        } else {
            Vec::new()
        };
        let emails = self.emails_for(&next, &also, action, expected_version + 1);
        let written = self
            .inner
            .store
            .apply_step(&StepWrite {
                expected_version,
                next: &next,
                transition,
                actor,
                detail,
                key: Some((key, &hash)),
                also: &also,
                emails: &emails,
                rating_link,
                now,
            })
            .await?;
        let (applied, replayed) = match written {
            Keyed::Done(a) => (a, false),
            Keyed::Replayed(a) => (a, true),
            Keyed::KeyReused { message, operation } => {
                return Err(WorkflowError::KeyReused {
                    key: key.to_owned(),
                    message,
                    operation,
                });
            }
        };
        let StepApplied { record, also } = applied;
        let replies = self.deliver(&record, &also, now).await?;
        Ok(Outcome {
            record,
            replayed,
            also,
            replies,
        })
    }

    /// The e-mails announcing a step (none without notifications).
    fn emails_for(
        &self,
        next: &MessageRecord,
        also: &[(i64, MessageRecord)],
        action: &Action,
        version: i64,
    ) -> Vec<NewEmail> {
        let Some(n) = &self.notify else {
            return Vec::new();
        };
        match action {
            Action::RequestClarification { question } => n
                .clarification(next, question.trim(), version)
                .into_iter()
                .collect(),
            Action::Approve => std::iter::once(next)
                .chain(also.iter().map(|(_, r)| r))
                .filter_map(|r| n.answer(r, self.org_name(r.message.executor)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The record after `action` (status set by the caller) and the audit detail.
    fn decide(
        &self,
        record: &MessageRecord,
        action: &Action,
        now: Timestamp,
    ) -> Result<(MessageRecord, serde_json::Value)> {
        let cal = &self.inner.calendar;
        let mut next = record.clone();
        let m = &record.message;
        let detail = match action {
            Action::Accept => {
                if m.executor.is_none() {
                    return Err(WorkflowError::Invalid(
                        "the message has no executor: change it before accepting".into(),
                    ));
                }
                json!({ "executor": m.executor.map(OrganisationId::get) })
            }
            Action::Recategorise {
                subcategory,
                executor,
                comment,
            } => {
                if subcategory.is_none() && executor.is_none() {
                    return Err(WorkflowError::Invalid(
                        "change the subcategory, the executor or both".into(),
                    ));
                }
                let mut route_note = None;
                if let Some(sub) = subcategory {
                    self.known_subcategory(sub)?;
                    next.message.subcategory = sub.clone();
                    // A new subcategory sets a new term, counted from registration.
                    let (clock, fast) = self.start_clock(sub, m.created_at)?;
                    next.message.deadline_at = clock.deadline().unwrap_or(m.deadline_at);
                    next.fast_track = fast;
                    Self::set_clock(&mut next, &clock)?;
                    if executor.is_none() {
                        let (routed, note) = self.route(sub, m.territory, m.submitted_via)?;
                        next.message.executor = routed.or(m.executor);
                        route_note = Some(note);
                    }
                }
                if let Some(org) = executor {
                    self.known_organisation(*org)?;
                    next.message.executor = Some(*org);
                }
                if let Some(note) = &route_note {
                    next.moderation_note = Some(note.clone());
                }
                json!({
                    "subcategory": { "from": m.subcategory.0, "to": next.message.subcategory.0 },
                    "executor": {
                        "from": m.executor.map(OrganisationId::get),
                        "to": next.message.executor.map(OrganisationId::get),
                    },
                    "route": route_note,
                    "comment": opt_trimmed(comment),
                })
            }
            Action::Reject { reason, comment } => {
                let r = self
                    .inner
                    .reasons
                    .get(reason)
                    .ok_or_else(|| WorkflowError::UnknownRejectReason(reason.clone()))?;
                let comment = opt_trimmed(comment);
                if r.requires_comment && comment.is_none() {
                    return Err(WorkflowError::Invalid(format!(
                        "reject reason {:?} needs a comment",
                        r.code
                    )));
                }
                next.reject_reason_code = Some(r.code.clone());
                next.rejection_reason = Some(match &comment {
                    Some(c) => format!("{}: {c}", r.text),
                    None => r.text.clone(),
                });
                json!({ "reason": r.code, "text": r.text, "comment": comment })
            }
            Action::SendToExecution => {
                json!({ "executor": m.executor.map(OrganisationId::get) })
            }
            Action::Redirect { to, comment } => {
                self.known_organisation(*to)?;
                if m.executor == Some(*to) {
                    return Err(WorkflowError::Invalid(
                        "the message is already with that organisation".into(),
                    ));
                }
                next.message.executor = Some(*to);
                json!({
                    "executor": { "from": m.executor.map(OrganisationId::get), "to": to.get() },
                    "comment": opt_trimmed(comment),
                })
            }
            Action::RequestClarification { question } => {
                let question = non_empty("the question", question)?;
                let mut clock = self.clock_of(record);
                clock.pause(cal, now).map_err(clock_error)?;
                next.clock_paused_at = Some(now);
                Self::set_clock(&mut next, &clock)?;
                json!({ "question": question })
            }
            Action::ProvideClarification { text } => {
                let text = non_empty("the clarification", text)?;
                let mut clock = self.clock_of(record);
                let deadline = clock.resume(cal, now).map_err(clock_error)?;
                if let Some(from) = record.clock_paused_at {
                    next.paused_ms += (now.millis() - from.millis()).max(0);
                }
                next.clock_paused_at = None;
                next.message.deadline_at = deadline;
                Self::set_clock(&mut next, &clock)?;
                json!({
                    "clarification": text,
                    "deadline": { "from": m.deadline_at.millis(), "to": deadline.millis() },
                })
            }
            Action::Postpone { until, reason } => {
                let reason = non_empty("the reason", reason)?;
                let mut clock = self.clock_of(record);
                clock
                    .postpone(cal, now, *until, reason.clone())
                    .map_err(|e| match e {
                        ClockError::NotLater { .. } | ClockError::EmptyReason => {
                            WorkflowError::Invalid(e.to_string())
                        }
                        other => clock_error(other),
                    })?;
                next.message.deadline_at = *until;
                next.postponements += 1;
                next.postpone_reason = Some(reason.clone());
                Self::set_clock(&mut next, &clock)?;
                json!({
                    "reason": reason,
                    "deadline": { "from": m.deadline_at.millis(), "to": until.millis() },
                })
            }
            Action::SubmitForApproval { answer } => {
                let answer = non_empty("the answer", answer)?;
                next.answer_text = Some(answer.clone());
                json!({ "answer": answer })
            }
            Action::Approve => {
                let Some(answer) = record.answer_text.clone() else {
                    return Err(WorkflowError::Invalid(
                        "there is no answer to approve".into(),
                    ));
                };
                next.answered_at = Some(now);
                json!({ "answer": answer, "on_time": now <= m.deadline_at })
            }
            Action::ReturnForRevision { comment } => {
                let comment = non_empty("the comment", comment)?;
                next.revision_comment = Some(comment.clone());
                json!({ "comment": comment })
            }
            Action::Rate { rating } => {
                let rating = check_rating(*rating)?;
                next.message.rating = Some(rating);
                json!({ "rating": rating })
            }
            Action::Reopen { comment } => {
                let comment = non_empty("the comment", comment)?;
                let max = self.inner.config.reopen_max_rating;
                match m.rating {
                    Some(r) if r <= max => {}
                    other => {
                        return Err(WorkflowError::Invalid(format!(
                            "only answers rated at most {max} are reopened (rating: {other:?})"
                        )));
                    }
                }
                let clock = DeadlineClock::start(
                    cal,
                    now,
                    Term::WorkingDays(self.inner.config.reopen_working_days),
                );
                next.message.deadline_at = clock.deadline().unwrap_or(now);
                Self::set_clock(&mut next, &clock)?;
                next.reopened += 1;
                next.answered_at = None;
                json!({ "comment": comment, "rating": m.rating, "deadline_at": next.message.deadline_at.millis() })
            }
            Action::Close => json!({ "rating": m.rating }),
        };
        Ok((next, detail))
    }

    fn known_organisation(&self, org: OrganisationId) -> Result<()> {
        if !self.inner.orgs.contains(org) {
            return Err(WorkflowError::Invalid(format!(
                "unknown organisation {org}"
            )));
        }
        Ok(())
    }

    /// The other open messages of `next`'s duplicate group with the same executor, answered
    /// with the same text.
    async fn group_answers(
        &self,
        next: &MessageRecord,
        now: Timestamp,
    ) -> Result<Vec<(i64, MessageRecord)>> {
        let group = next.duplicate_group.unwrap_or(next.message.id);
        let members = self.inner.store.group_records(group).await?;
        Ok(members
            .into_iter()
            .filter(|r| {
                r.message.id != next.message.id
                    && r.message.executor == next.message.executor
                    && matches!(
                        r.message.status,
                        MessageStatus::Coordination
                            | MessageStatus::Execution
                            | MessageStatus::Clarification
                            | MessageStatus::Approval
                    )
            })
            .map(|r| {
                let version = r.message.version;
                let mut answered = r;
                answered.message.status = MessageStatus::Answered;
                answered.answer_text = next.answer_text.clone();
                answered.answered_at = Some(now);
                answered.clock_paused_at = None;
                (version, answered)
            })
            .collect())
    }

    /// Queues answers to social-network messages under their posts (idempotent per message
    /// version), after an approval.
    async fn deliver(
        &self,
        record: &MessageRecord,
        also: &[MessageRecord],
        now: Timestamp,
    ) -> Result<Vec<ReplyId>> {
        let mut replies = Vec::new();
        for r in std::iter::once(record).chain(also) {
            if r.message.status != MessageStatus::Answered
                || r.message.channel != Channel::SocialNetwork
            {
                continue;
            }
            let (Some(answer), Some(answered_at)) = (&r.answer_text, r.answered_at) else {
                continue;
            };
            let Some((_, network, target)) = self.inner.store.reply_target(r.message.id).await?
            else {
                continue;
            };
            let key = format!("answer:{}:{}", r.message.id, answered_at.millis());
            let reply = self
                .inner
                .store
                .enqueue_reply(r.message.id, network, &target, answer, &key, now)
                .await?;
            replies.push(reply.id);
        }
        Ok(replies)
    }

    // ---------------------------------------------------------------- control

    /// The curator's control view: open messages at risk or overdue, of one executor
    /// organisation or of all, overdue first, then by deadline. Each item says which deadline
    /// ([`ControlDeadline`]): the answer's, or — for social-network incidents not publicly
    /// replied to yet — the first public reply's, due within
    /// [`WorkflowConfig::first_reply_working_hours`] working hours (at risk in the last
    /// [`AtRisk::percent_of_term`](otklik_calendar::AtRisk) share of that term). Messages
    /// waiting for the citizen (clock paused) are never listed.
    #[instrument(skip(self))]
    pub async fn control(
        &self,
        organisation: Option<OrganisationId>,
        now: Timestamp,
    ) -> Result<Vec<ControlItem>> {
        let records = self
            .inner
            .store
            .open_records_due(organisation, Timestamp(i64::MAX))
            .await?;
        let cal = &self.inner.calendar;
        let mut items: Vec<ControlItem> = records
            .into_iter()
            .filter_map(|record| {
                let clock = self.clock_of(&record);
                let status = clock.status(cal, now, self.inner.config.at_risk);
                matches!(status, DeadlineStatus::AtRisk | DeadlineStatus::Overdue).then(|| {
                    ControlItem {
                        remaining_ms: clock.remaining_ms(cal, now),
                        deadline: ControlDeadline::Answer,
                        deadline_at: record.message.deadline_at,
                        record,
                        status,
                    }
                })
            })
            .collect();
        // The first public reply: a term of a few working hours, so only the share threshold
        // applies (the «last working day» one would flag every such message at once).
        let first_reply_risk = otklik_calendar::AtRisk {
            last_working_days: None,
            ..self.inner.config.at_risk
        };
        for record in self
            .inner
            .store
            .open_first_replies_due(organisation)
            .await?
        {
            let Some(due) = record.first_reply_due_at else {
                continue;
            };
            if record.clock_paused_at.is_some() {
                continue;
            }
            let clock = DeadlineClock::start_until(cal, record.message.created_at, due);
            let status = clock.status(cal, now, first_reply_risk);
            if matches!(status, DeadlineStatus::AtRisk | DeadlineStatus::Overdue) {
                items.push(ControlItem {
                    remaining_ms: clock.remaining_ms(cal, now),
                    deadline: ControlDeadline::FirstReply,
                    deadline_at: due,
                    record,
                    status,
                });
            }
        }
        items.sort_by_key(|i| {
            (
                i.status != DeadlineStatus::Overdue,
                i.deadline_at,
                i.record.message.id,
                i.deadline != ControlDeadline::FirstReply,
            )
        });
        Ok(items)
    }

    /// The deadline status of one message now.
    pub fn deadline_status(&self, record: &MessageRecord, now: Timestamp) -> DeadlineStatus {
        self.clock_of(record)
            .status(&self.inner.calendar, now, self.inner.config.at_risk)
    }

    /// Records escalation notices for every message at risk or overdue (once per message,
    /// kind and deadline; each with its audit event) and returns the new ones. The e-mail
    /// outbox takes pending notices with [`Store::escalations`] and marks them with
    /// [`Store::mark_escalation_notified`].
    #[instrument(skip(self))]
    pub async fn escalate(&self, now: Timestamp) -> Result<Vec<Escalation>> {
        let mut out = Vec::new();
        for item in self.control(None, now).await? {
            let kind = match item.status {
                DeadlineStatus::Overdue => EscalationKind::Overdue,
                _ => EscalationKind::AtRisk,
            };
            let m = &item.record.message;
            let emails = match &self.notify {
                Some(n) => {
                    let name = self
                        .inner
                        .tree
                        .subcategory(&m.subcategory)
                        .map_or(m.subcategory.0.as_str(), |s| s.name.as_str());
                    let topic = match item.deadline {
                        ControlDeadline::Answer => name.to_owned(),
                        ControlDeadline::FirstReply => {
                            format!("{name} — нет первого публичного ответа")
                        }
                    };
                    n.escalation(
                        &item.record,
                        kind,
                        item.deadline_at,
                        self.org_name(m.executor),
                        &topic,
                        &self.inner.orgs,
                    )
                }
                None => Vec::new(),
            };
            // Once per message, kind and deadline: the first-reply deadline is its own.
            if let Some(e) = self
                .inner
                .store
                .record_escalation(m.id, m.executor, kind, item.deadline_at, &emails, now)
                .await?
            {
                out.push(e);
            }
        }
        Ok(out)
    }
}
