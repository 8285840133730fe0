//! E-mails of the workflow through `otklik-notify`: the answer with its signed rating link, the
//! request for clarification, deadline escalations. Each is queued in the e-mail outbox in the
//! same transaction as the step (or the escalation notice) it announces, under a key derived
//! from it, so a retried step never queues it twice.

use otklik_domain::{MessageRecord, OrganisationId, Role, Timestamp, User};
use otklik_notify::{
    AnswerReady, ClarificationRequested, DeadlineEscalation, EscalationLevel, MessageReceived,
    RatingLinks,
};
use otklik_store::{EscalationKind, NewEmail};

use crate::access::OrgTree;

/// What the workflow needs to send e-mails.
#[derive(Clone)]
pub struct Notifications {
    /// Signs and checks the rating links.
    pub links: RatingLinks,
    /// How long a rating link works, in days (default 30).
    pub link_valid_days: i64,
    /// The region's UTC offset for dates in e-mails, minutes (default 180, Moscow).
    pub utc_offset_minutes: i32,
    /// Page where a citizen answers a clarification request (the message id is appended).
    pub reply_url: Option<String>,
    /// The control page of a message for staff (the message id is appended).
    pub control_url: Option<String>,
    /// Page where a citizen follows a message (the message id is appended), linked from «Ваше
    /// сообщение принято».
    pub status_url: Option<String>,
    /// Attempts before an e-mail becomes a dead letter (default 8).
    pub max_attempts: u32,
    /// Staff accounts: escalations go to the curators and heads responsible for the message
    /// (those with an e-mail address).
    pub staff: Vec<User>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("link_valid_days", &self.link_valid_days)
            .field("utc_offset_minutes", &self.utc_offset_minutes)
            .field("staff", &self.staff.len())
            .finish_non_exhaustive()
    }
}

impl Notifications {
    /// Settings with the defaults, sending escalations to `staff`.
    pub fn new(links: RatingLinks, staff: Vec<User>) -> Self {
        Self {
            links,
            link_valid_days: 30,
            utc_offset_minutes: 180,
            reply_url: None,
            control_url: None,
            status_url: None,
            max_attempts: 8,
            staff,
        }
    }

    fn with_id(base: &Option<String>, record: &MessageRecord) -> Option<String> {
        base.as_ref()
            .map(|b| format!("{b}{}", record.message.id.get()))
    }

    /// The citizen's e-mail address, when the contact is one.
    fn citizen_email(record: &MessageRecord) -> Option<&str> {
        record
            .citizen_contact
            .as_deref()
            .map(str::trim)
            .filter(|c| c.contains('@') && !c.contains(char::is_whitespace))
    }

    /// «Ваше сообщение принято», for a message just registered whose citizen left an e-mail
    /// address.
    pub(crate) fn received(&self, record: &MessageRecord) -> Option<NewEmail> {
        let to = Self::citizen_email(record)?;
        let status = Self::with_id(&self.status_url, record);
        let email = MessageReceived {
            citizen_name: None,
            message: record.message.id,
            text: &record.message.text,
            deadline: record.message.deadline_at,
            utc_offset_minutes: self.utc_offset_minutes,
            status_url: status.as_deref(),
        }
        .render()
        .into_new_email(
            format!("received:{}", record.message.id),
            Some(record.message.id),
            to,
            self.max_attempts,
        );
        Some(email)
    }

    /// The answer with its rating link, for a message just answered.
    pub(crate) fn answer(&self, record: &MessageRecord, organisation: &str) -> Option<NewEmail> {
        let to = Self::citizen_email(record)?;
        let answer = record.answer_text.as_deref()?;
        let answered_at = record.answered_at?;
        let expires = answered_at.plus_days(self.link_valid_days);
        let url = self.links.link(record.message.id, expires);
        let email = AnswerReady {
            citizen_name: None,
            message: record.message.id,
            organisation,
            answer,
            rating_url: &url,
            rating_expires_at: expires,
            utc_offset_minutes: self.utc_offset_minutes,
        }
        .render()
        .into_new_email(
            format!("answer:{}:{}", record.message.id, answered_at.millis()),
            Some(record.message.id),
            to,
            self.max_attempts,
        );
        Some(email)
    }

    /// The executor's question to the citizen.
    pub(crate) fn clarification(
        &self,
        record: &MessageRecord,
        question: &str,
        version: i64,
    ) -> Option<NewEmail> {
        let to = Self::citizen_email(record)?;
        let reply = Self::with_id(&self.reply_url, record);
        let email = ClarificationRequested {
            citizen_name: None,
            message: record.message.id,
            question,
            reply_url: reply.as_deref(),
        }
        .render()
        .into_new_email(
            format!("clarification:{}:{version}", record.message.id),
            Some(record.message.id),
            to,
            self.max_attempts,
        );
        Some(email)
    }

    /// Escalation e-mails to the curators and heads responsible for the message.
    pub(crate) fn escalation(
        &self,
        record: &MessageRecord,
        kind: EscalationKind,
        deadline: Timestamp,
        organisation: &str,
        topic: &str,
        orgs: &OrgTree,
    ) -> Vec<NewEmail> {
        let executor = record.message.executor;
        let control = Self::with_id(&self.control_url, record);
        let level = match kind {
            EscalationKind::AtRisk => EscalationLevel::AtRisk,
            EscalationKind::Overdue => EscalationLevel::Overdue,
        };
        self.staff
            .iter()
            .filter(|u| u.email.is_some() && responsible(u, executor, orgs))
            .filter_map(|u| {
                let to = u.email.as_deref()?;
                Some(
                    DeadlineEscalation {
                        recipient_name: Some(&u.full_name),
                        message: record.message.id,
                        organisation,
                        topic,
                        deadline,
                        utc_offset_minutes: self.utc_offset_minutes,
                        level,
                        control_url: control.as_deref(),
                    }
                    .render()
                    .into_new_email(
                        format!(
                            "escalation:{}:{}:{}:{}",
                            record.message.id,
                            kind.code(),
                            deadline.millis(),
                            u.id
                        ),
                        Some(record.message.id),
                        to,
                        self.max_attempts,
                    ),
                )
            })
            .collect()
    }

    /// When a rating link issued for an answer at `answered_at` expires.
    pub fn link_expiry(&self, answered_at: Timestamp) -> Timestamp {
        answered_at.plus_days(self.link_valid_days)
    }
}

/// A curator (of an oversight organisation or one covering the executor) or a head of an
/// organisation covering the executor.
fn responsible(user: &User, executor: Option<OrganisationId>, orgs: &OrgTree) -> bool {
    user.confirmed
        && user.roles.iter().any(|g| {
            let covers = executor.is_some_and(|e| orgs.covers(g.organisation, e));
            match g.role {
                Role::Curator => covers || orgs.is_oversight(g.organisation),
                Role::Head => covers,
                _ => false,
            }
        })
}
