use serde::{Deserialize, Serialize};

use crate::{
    DomainError, MessageId, OrganisationId, PostId, SubcategoryId, TerritoryId, Timestamp, UserId,
};

code_enum! {
    /// Where a message entered the platform. Every channel lands in the same workflow.
    Channel, "channel" {
        /// The widget on an organisation's site.
        Widget = "widget", "Виджет на сайте";
        /// The regional or federal portal form.
        Portal = "portal", "Портал";
        /// A mobile application through the API.
        MobileApp = "mobile_app", "Мобильное приложение";
        /// A complaint found in social networks or open sources by the collectors.
        SocialNetwork = "social_network", "Социальные сети";
        /// An integrated external feedback system.
        Integration = "integration", "Внешняя система";
    }
}

code_enum! {
    /// Workflow status of a message.
    MessageStatus, "message status" {
        /// Waiting for the moderator.
        Moderation = "moderation", "На модерации";
        /// Waiting for the coordinator of the executor organisation.
        Coordination = "coordination", "На координации";
        /// With the executor.
        Execution = "execution", "На исполнении";
        /// Waiting for the citizen's clarification (the deadline clock pauses).
        Clarification = "clarification", "Запрошено уточнение";
        /// The draft answer waits for the head's approval.
        Approval = "approval", "На согласовании";
        /// Answered; waiting for the citizen's rating.
        Answered = "answered", "Дан ответ";
        /// Rated by the citizen.
        Rated = "rated", "Оценено";
        /// Closed.
        Closed = "closed", "Закрыто";
        /// Rejected by the moderator.
        Rejected = "rejected", "Отклонено";
    }
}

code_enum! {
    /// A step of the workflow; each is allowed from some statuses to one role.
    Transition, "transition" {
        /// Moderator accepts category and executor.
        Accept = "accept", "Принять";
        /// Moderator changes category and/or executor; stays in moderation.
        Recategorise = "recategorise", "Изменить категорию";
        /// Moderator rejects with a reason.
        Reject = "reject", "Отклонить";
        /// Coordinator sends to execution.
        SendToExecution = "send_to_execution", "Направить на исполнение";
        /// Coordinator redirects to another organisation.
        Redirect = "redirect", "Переадресовать";
        /// Executor asks the citizen for details.
        RequestClarification = "request_clarification", "Запросить уточнение";
        /// The citizen answers the request.
        ProvideClarification = "provide_clarification", "Предоставить уточнение";
        /// Executor postpones with reasons and a new deadline.
        Postpone = "postpone", "Отложить срок";
        /// Executor sends the draft answer for approval.
        SubmitForApproval = "submit_for_approval", "На согласование";
        /// Head approves; the answer goes out.
        Approve = "approve", "Утвердить";
        /// Head returns the draft with a comment.
        ReturnForRevision = "return_for_revision", "Вернуть на доработку";
        /// Citizen rates the answer 1–5.
        Rate = "rate", "Оценить";
        /// Curator reopens after a low rating.
        Reopen = "reopen", "Возобновить";
        /// Curator closes.
        Close = "close", "Закрыть";
    }
}

impl MessageStatus {
    /// The status after `transition`, or why it is not allowed.
    pub fn apply(self, transition: Transition) -> Result<MessageStatus, DomainError> {
        use MessageStatus as S;
        use Transition as T;
        let next = match (self, transition) {
            (S::Moderation, T::Accept) => S::Coordination,
            (S::Moderation, T::Recategorise) => S::Moderation,
            (S::Moderation, T::Reject) => S::Rejected,
            (S::Coordination, T::SendToExecution) => S::Execution,
            (S::Coordination, T::Redirect) => S::Coordination,
            (S::Execution, T::RequestClarification) => S::Clarification,
            (S::Clarification, T::ProvideClarification) => S::Execution,
            (S::Execution, T::Postpone) => S::Execution,
            (S::Execution, T::SubmitForApproval) => S::Approval,
            (S::Approval, T::Approve) => S::Answered,
            (S::Approval, T::ReturnForRevision) => S::Execution,
            (S::Answered, T::Rate) => S::Rated,
            (S::Answered | S::Rated, T::Close) => S::Closed,
            (S::Rated | S::Closed, T::Reopen) => S::Execution,
            (from, t) => {
                return Err(DomainError::IllegalTransition {
                    from: from.code(),
                    transition: t.code(),
                });
            }
        };
        Ok(next)
    }

    /// Is the message finished (no one has to act)?
    pub fn is_final(self) -> bool {
        matches!(self, MessageStatus::Closed | MessageStatus::Rejected)
    }

    /// Does the deadline clock run in this status?
    pub fn clock_runs(self) -> bool {
        matches!(
            self,
            MessageStatus::Moderation
                | MessageStatus::Coordination
                | MessageStatus::Execution
                | MessageStatus::Approval
        )
    }
}

/// A message (обращение / сообщение): one problem, one addressee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Database id.
    pub id: MessageId,
    /// Workflow status.
    pub status: MessageStatus,
    /// Optimistic-concurrency version, bumped by every change.
    pub version: i64,
    /// Entry point.
    pub channel: Channel,
    /// Subcategory of the unified classifier.
    pub subcategory: SubcategoryId,
    /// Territory the problem is about.
    pub territory: Option<TerritoryId>,
    /// Organisation that must answer.
    pub executor: Option<OrganisationId>,
    /// Organisation whose widget the message came through ("by place of submission").
    pub submitted_via: Option<OrganisationId>,
    /// Author account (citizen), when known.
    pub author: Option<UserId>,
    /// Author handle in a social network, for collected incidents.
    pub author_handle: Option<String>,
    /// The collected post this incident came from.
    pub source_post: Option<PostId>,
    /// The citizen's text.
    pub text: String,
    /// Address or place description.
    pub address: Option<String>,
    /// Classifier confidence 0–1000 (per mille), for collected incidents.
    pub confidence_pm: Option<i64>,
    /// Rating 1–5 once rated.
    pub rating: Option<i64>,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it must be answered.
    pub deadline_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// What is needed to register a new message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    /// Entry point.
    pub channel: Channel,
    /// Subcategory.
    pub subcategory: SubcategoryId,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Executor chosen by routing.
    pub executor: Option<OrganisationId>,
    /// Widget organisation, if any.
    pub submitted_via: Option<OrganisationId>,
    /// Author account.
    pub author: Option<UserId>,
    /// Author handle in a social network.
    pub author_handle: Option<String>,
    /// Source post.
    pub source_post: Option<PostId>,
    /// Text.
    pub text: String,
    /// Address.
    pub address: Option<String>,
    /// Classifier confidence, per mille.
    pub confidence_pm: Option<i64>,
    /// Deadline computed by the caller from the subcategory.
    pub deadline_at: Timestamp,
}

/// A message with the workflow's own fields: what the intake brought beside the text, the
/// moderator's and executor's notes, the deadline clock and the duplicate group.
///
/// The store keeps these in the `messages` row; the workflow computes the next record of a
/// step from the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// The message.
    #[serde(flatten)]
    pub message: Message,
    /// How to reach the citizen (e-mail or phone), when given.
    pub citizen_contact: Option<String>,
    /// Attachment ids (content hashes) accepted with the submission.
    pub attachments: Vec<String>,
    /// External system of an integration submission.
    pub external_system: Option<String>,
    /// The message's id in that external system.
    pub external_id: Option<String>,
    /// Link to the original post of a collected incident.
    pub source_url: Option<String>,
    /// Reviewed on the fast-track (shorter) deadline.
    pub fast_track: bool,
    /// Why the message waits for the moderator, or how it was routed (Russian).
    pub moderation_note: Option<String>,
    /// Code of the rejection reason from the configured list.
    pub reject_reason_code: Option<String>,
    /// The moderator's rejection text.
    pub rejection_reason: Option<String>,
    /// The latest (draft or final) answer.
    pub answer_text: Option<String>,
    /// The head's last comment when returning for revision.
    pub revision_comment: Option<String>,
    /// While waiting for the citizen: since when the deadline clock is paused.
    pub clock_paused_at: Option<Timestamp>,
    /// Total time the clock was paused so far, in milliseconds.
    pub paused_ms: i64,
    /// How many times the deadline was postponed.
    pub postponements: i64,
    /// The reasons given for the last postponement.
    pub postpone_reason: Option<String>,
    /// First public reply due (social-network incidents), in working hours.
    pub first_reply_due_at: Option<Timestamp>,
    /// The first message of this message's duplicate group, when it has one.
    pub duplicate_group: Option<MessageId>,
    /// When the answer went out.
    pub answered_at: Option<Timestamp>,
    /// How many times the curator reopened it.
    pub reopened: i64,
    /// The deadline clock as the workflow keeps it (JSON of `otklik_calendar::DeadlineClock`).
    pub deadline_clock: Option<String>,
}

impl MessageRecord {
    /// A record with no workflow fields set beyond the message itself.
    pub fn new(message: Message) -> Self {
        Self {
            message,
            citizen_contact: None,
            attachments: Vec::new(),
            external_system: None,
            external_id: None,
            source_url: None,
            fast_track: false,
            moderation_note: None,
            reject_reason_code: None,
            rejection_reason: None,
            answer_text: None,
            revision_comment: None,
            clock_paused_at: None,
            paused_ms: 0,
            postponements: 0,
            postpone_reason: None,
            first_reply_due_at: None,
            duplicate_group: None,
            answered_at: None,
            reopened: 0,
            deadline_clock: None,
        }
    }
}

/// Check a 5-point rating.
pub fn check_rating(r: i64) -> Result<i64, DomainError> {
    if (1..=5).contains(&r) {
        Ok(r)
    } else {
        Err(DomainError::BadRating(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus as S;
    use Transition as T;

    #[test]
    fn happy_path_reaches_closed() {
        let mut s = S::Moderation;
        for t in [
            T::Accept,
            T::SendToExecution,
            T::SubmitForApproval,
            T::Approve,
            T::Rate,
            T::Close,
        ] {
            s = s.apply(t).expect("allowed");
        }
        assert_eq!(s, S::Closed);
        assert!(s.is_final());
    }

    #[test]
    fn clarification_pauses_clock_and_returns() {
        let s = S::Execution
            .apply(T::RequestClarification)
            .expect("allowed");
        assert!(!s.clock_runs());
        assert_eq!(s.apply(T::ProvideClarification), Ok(S::Execution));
    }

    #[test]
    fn illegal_transitions_are_errors() {
        assert!(S::Moderation.apply(T::Approve).is_err());
        assert!(S::Rejected.apply(T::Accept).is_err());
        assert!(S::Closed.apply(T::Rate).is_err());
        // Every (status, transition) pair either succeeds or errors — never panics.
        let ok = S::ALL
            .iter()
            .flat_map(|s| T::ALL.iter().map(move |t| s.apply(*t)))
            .filter(Result::is_ok)
            .count();
        assert_eq!(ok, 16);
    }

    #[test]
    fn record_round_trips_through_json() {
        let message = Message {
            id: MessageId(3),
            status: S::Execution,
            version: 4,
            channel: Channel::Portal,
            subcategory: SubcategoryId("roads.potholes".into()),
            territory: Some(TerritoryId(1)),
            executor: Some(OrganisationId(2)),
            submitted_via: None,
            author: Some(UserId(5)),
            author_handle: None,
            source_post: None,
            text: "Яма".into(),
            address: None,
            confidence_pm: None,
            rating: None,
            created_at: Timestamp(1),
            deadline_at: Timestamp(2),
            updated_at: Timestamp(3),
        };
        let mut record = MessageRecord::new(message);
        record.attachments = vec!["a".into()];
        record.clock_paused_at = Some(Timestamp(9));
        record.deadline_clock = Some("{}".into());
        let json = serde_json::to_string(&record).expect("encode");
        let back: MessageRecord = serde_json::from_str(&json).expect("decode");
        assert_eq!(back, record);
    }

    #[test]
    fn ratings() {
        assert!(check_rating(0).is_err());
        assert_eq!(check_rating(5), Ok(5));
    }
}
