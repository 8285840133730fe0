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
    fn ratings() {
        assert!(check_rating(0).is_err());
        assert_eq!(check_rating(5), Ok(5));
    }
}
