//! Who may do what: the role a transition needs ([`otklik_domain::role_may`]) held in the right
//! organisation. Plain functions over a snapshot of the organisation tree.
//!
//! Scope rules:
//!
//! * **Moderator** (accept, change category/executor, reject) and **curator** (reopen, close):
//!   the role held in the message's executor organisation, in one of its parent organisations,
//!   or in a regional oversight organisation (the ЦУР: [`OrgTree::with_oversight`]), whose
//!   moderators and curators cover the whole region. A message without an executor can only
//!   be handled by oversight organisations or top-level ones (no parent).
//! * **Coordinator**, **executor**, **head**: the role held in the executor organisation or one
//!   of its parents (regional roles cover everything beneath them). No executor, no access.
//! * **Citizen** steps (clarification, rating): the message's author account. A collected
//!   incident has no author account: its clarification (read in the post's comments) is
//!   recorded by an executor in scope, and its rating comes through a verified rating link
//!   ([`Workflow::rate_with_link`](crate::Workflow::rate_with_link)).
//! * Staff must be confirmed by their organisation («подтверждённый пользователь»).

use std::collections::{HashMap, HashSet};
use std::fmt;

use otklik_domain::{
    Message, Organisation, OrganisationId, Role, Transition, User, UserId, role_may,
};

/// The organisation hierarchy: parent links and the regional oversight organisations.
#[derive(Debug, Clone, Default)]
pub struct OrgTree {
    parents: HashMap<OrganisationId, Option<OrganisationId>>,
    oversight: HashSet<OrganisationId>,
}

impl OrgTree {
    /// The tree of `organisations` (as stored in the directory).
    pub fn new(organisations: &[Organisation]) -> Self {
        Self {
            parents: organisations.iter().map(|o| (o.id, o.parent)).collect(),
            oversight: HashSet::new(),
        }
    }

    /// Marks organisations whose moderators and curators act on every message of the region.
    pub fn with_oversight(mut self, orgs: impl IntoIterator<Item = OrganisationId>) -> Self {
        self.oversight.extend(orgs);
        self
    }

    /// Is `org` known?
    pub fn contains(&self, org: OrganisationId) -> bool {
        self.parents.contains_key(&org)
    }

    /// Is `holder` the organisation `target` or one of its ancestors?
    pub fn covers(&self, holder: OrganisationId, target: OrganisationId) -> bool {
        let mut at = Some(target);
        // The chain is bounded by the number of organisations (guards against a cycle).
        for _ in 0..=self.parents.len() {
            match at {
                Some(o) if o == holder => return true,
                Some(o) => at = self.parents.get(&o).copied().flatten(),
                None => return false,
            }
        }
        false
    }

    /// Is `org` a regional oversight organisation?
    pub fn is_oversight(&self, org: OrganisationId) -> bool {
        self.oversight.contains(&org)
    }

    fn is_top_level(&self, org: OrganisationId) -> bool {
        matches!(self.parents.get(&org), Some(None))
    }
}

/// Why an actor may not perform a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// The actor holds the needed role nowhere.
    MissingRole(Role),
    /// The actor holds the role, but not in an organisation responsible for the message.
    OutOfScope {
        /// The role needed.
        role: Role,
        /// The message's executor organisation.
        executor: Option<OrganisationId>,
    },
    /// Only the message's author may do this.
    NotAuthor,
    /// The staff account is not confirmed by its organisation.
    Unconfirmed,
}

/// A refused transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// Who tried.
    pub user: UserId,
    /// What.
    pub transition: Transition,
    /// Why not.
    pub reason: DenyReason,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {} may not {}: ", self.user, self.transition)?;
        match &self.reason {
            DenyReason::MissingRole(role) => write!(f, "needs role {role}"),
            DenyReason::OutOfScope { role, executor } => match executor {
                Some(org) => write!(f, "role {role} is not held for organisation {org}"),
                None => write!(f, "role {role} is not held in a regional organisation"),
            },
            DenyReason::NotAuthor => f.write_str("only the author of the message may"),
            DenyReason::Unconfirmed => f.write_str("the account is not confirmed"),
        }
    }
}

impl std::error::Error for Denied {}

/// The one role allowed to perform `transition`.
pub fn role_for(transition: Transition) -> Role {
    Role::ALL
        .iter()
        .copied()
        .find(|r| role_may(*r, transition))
        .unwrap_or(Role::RegionAdmin)
}

/// May `user` perform `transition` on `message`? Checks the role and its organisation scope
/// (see the module documentation); the status is checked by the state machine.
pub fn may_act(
    user: &User,
    transition: Transition,
    message: &Message,
    orgs: &OrgTree,
) -> Result<(), Denied> {
    let deny = |reason| Denied {
        user: user.id,
        transition,
        reason,
    };
    let role = role_for(transition);
    if role == Role::Citizen {
        if message.author == Some(user.id) {
            return Ok(());
        }
        // An incident without an author account: the executor records the clarification.
        if transition == Transition::ProvideClarification && message.author.is_none() {
            return staff_in_scope(user, Role::Executor, message, orgs).map_err(deny);
        }
        return Err(deny(DenyReason::NotAuthor));
    }
    staff_in_scope(user, role, message, orgs).map_err(deny)
}

fn staff_in_scope(
    user: &User,
    role: Role,
    message: &Message,
    orgs: &OrgTree,
) -> Result<(), DenyReason> {
    if !user.has_role(role) {
        return Err(DenyReason::MissingRole(role));
    }
    let regional = matches!(role, Role::Moderator | Role::Curator);
    let in_scope = user.roles.iter().filter(|g| g.role == role).any(|g| {
        let by_tree = message
            .executor
            .is_some_and(|target| orgs.covers(g.organisation, target));
        let by_oversight = regional
            && (orgs.is_oversight(g.organisation)
                || (message.executor.is_none() && orgs.is_top_level(g.organisation)));
        by_tree || by_oversight
    });
    if !in_scope {
        return Err(DenyReason::OutOfScope {
            role,
            executor: message.executor,
        });
    }
    if !user.confirmed {
        return Err(DenyReason::Unconfirmed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use otklik_domain::{
        Channel, MessageId, MessageStatus, Onboarding, OrgKind, RoleGrant, SubcategoryId,
        TerritoryId, Timestamp,
    };

    use super::*;

    fn org(id: i64, parent: Option<i64>) -> Organisation {
        Organisation {
            id: OrganisationId(id),
            code: format!("o{id}"),
            kind: OrgKind::Omsu,
            name: format!("Орг {id}"),
            short_name: None,
            parent: parent.map(OrganisationId),
            territory: TerritoryId(1),
            competences: vec![],
            onboarding: Onboarding::default(),
            site_url: None,
        }
    }

    fn user(id: i64, grants: &[(Role, i64)]) -> User {
        User {
            id: UserId(id),
            login: format!("u{id}"),
            full_name: format!("U {id}"),
            email: None,
            organisation: grants.first().map(|g| OrganisationId(g.1)),
            confirmed: true,
            roles: grants
                .iter()
                .map(|(role, org)| RoleGrant {
                    role: *role,
                    organisation: OrganisationId(*org),
                })
                .collect(),
        }
    }

    fn message(executor: Option<i64>, author: Option<i64>) -> Message {
        Message {
            id: MessageId(1),
            status: MessageStatus::Moderation,
            version: 1,
            channel: Channel::Portal,
            subcategory: SubcategoryId("roads.potholes".into()),
            territory: None,
            executor: executor.map(OrganisationId),
            submitted_via: None,
            author: author.map(UserId),
            author_handle: None,
            source_post: None,
            text: "т".into(),
            address: None,
            confidence_pm: None,
            rating: None,
            created_at: Timestamp(0),
            deadline_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    /// 1 government → 2 ministry → 3 agency; 4 ЦУР under 1; 5 a district, top-level.
    fn tree() -> OrgTree {
        OrgTree::new(&[
            org(1, None),
            org(2, Some(1)),
            org(3, Some(2)),
            org(4, Some(1)),
            org(5, None),
        ])
        .with_oversight([OrganisationId(4)])
    }

    #[test]
    fn parents_cover_children_not_the_reverse() {
        let t = tree();
        assert!(t.covers(OrganisationId(1), OrganisationId(3)));
        assert!(t.covers(OrganisationId(3), OrganisationId(3)));
        assert!(!t.covers(OrganisationId(3), OrganisationId(2)));
        assert!(!t.covers(OrganisationId(5), OrganisationId(3)));
    }

    #[test]
    fn executor_roles_need_the_executor_or_a_parent() {
        let t = tree();
        let m = message(Some(3), None);
        assert!(may_act(&user(1, &[(Role::Head, 3)]), Transition::Approve, &m, &t).is_ok());
        assert!(may_act(&user(1, &[(Role::Head, 2)]), Transition::Approve, &m, &t).is_ok());
        let e = may_act(&user(1, &[(Role::Head, 5)]), Transition::Approve, &m, &t);
        assert!(matches!(
            e.map_err(|d| d.reason),
            Err(DenyReason::OutOfScope {
                role: Role::Head,
                ..
            })
        ));
        // The oversight organisation does not give heads (only moderators and curators).
        assert!(may_act(&user(1, &[(Role::Head, 4)]), Transition::Approve, &m, &t).is_err());
        // Without an executor nobody coordinates.
        let none = message(None, None);
        assert!(
            may_act(
                &user(1, &[(Role::Coordinator, 1)]),
                Transition::SendToExecution,
                &none,
                &t
            )
            .is_err()
        );
    }

    #[test]
    fn moderators_of_the_oversight_organisation_cover_everything() {
        let t = tree();
        let mod4 = user(9, &[(Role::Moderator, 4)]);
        assert!(may_act(&mod4, Transition::Accept, &message(Some(5), None), &t).is_ok());
        assert!(may_act(&mod4, Transition::Accept, &message(None, None), &t).is_ok());
        // A district's moderator covers its own messages, and unrouted ones as a top-level body.
        let mod5 = user(8, &[(Role::Moderator, 5)]);
        assert!(may_act(&mod5, Transition::Accept, &message(Some(5), None), &t).is_ok());
        assert!(may_act(&mod5, Transition::Accept, &message(Some(3), None), &t).is_err());
        assert!(may_act(&mod5, Transition::Accept, &message(None, None), &t).is_ok());
        // An agency's moderator does not get unrouted messages.
        let mod3 = user(7, &[(Role::Moderator, 3)]);
        assert!(may_act(&mod3, Transition::Reject, &message(None, None), &t).is_err());
    }

    #[test]
    fn citizens_act_only_on_their_own_messages() {
        let t = tree();
        let citizen = user(20, &[]);
        assert!(may_act(&citizen, Transition::Rate, &message(Some(3), Some(20)), &t).is_ok());
        let e = may_act(&citizen, Transition::Rate, &message(Some(3), Some(21)), &t);
        assert_eq!(e.map_err(|d| d.reason), Err(DenyReason::NotAuthor));
        // Staff cannot rate on the citizen's behalf.
        let head = user(1, &[(Role::Head, 3)]);
        assert!(may_act(&head, Transition::Rate, &message(Some(3), None), &t).is_err());
        // An incident's clarification is recorded by its executor.
        let exec = user(2, &[(Role::Executor, 3)]);
        let incident = message(Some(3), None);
        assert!(may_act(&exec, Transition::ProvideClarification, &incident, &t).is_ok());
        assert!(
            may_act(
                &exec,
                Transition::ProvideClarification,
                &message(Some(3), Some(20)),
                &t
            )
            .is_err()
        );
    }

    #[test]
    fn unconfirmed_staff_is_refused() {
        let t = tree();
        let mut u = user(1, &[(Role::Executor, 3)]);
        u.confirmed = false;
        let e = may_act(&u, Transition::Postpone, &message(Some(3), None), &t);
        assert_eq!(e.map_err(|d| d.reason), Err(DenyReason::Unconfirmed));
        assert!(
            Denied {
                user: UserId(1),
                transition: Transition::Postpone,
                reason: DenyReason::Unconfirmed
            }
            .to_string()
            .contains("not confirmed")
        );
    }
}
