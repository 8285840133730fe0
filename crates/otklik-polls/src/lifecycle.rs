//! The life cycle of a poll and who may move it (pure functions).
//!
//! ```text
//! draft ──submit──▶ review ──approve──▶ published ──close──▶ closed
//!   ▲                 │
//!   └────return───────┘
//! ```
//!
//! * **Poll managers** (role `poll_manager`, «Менеджер голосований») create and edit drafts,
//!   send them to moderation and close their polls. The role is held in the poll's
//!   organisation or in one of its parents (a regional manager covers the municipalities
//!   beneath).
//! * **Moderators** (role `moderator`) of the poll's organisation or of a parent approve
//!   (publish) or return a poll under moderation, and may close a published one. A moderator
//!   cannot approve a poll they created (four eyes).
//! * Staff must be confirmed by their organisation («подтверждённый пользователь»).
//! * A published poll closes by itself at its end time ([`crate::Polls::close_due`]).

use std::collections::HashMap;

use otklik_domain::{Organisation, OrganisationId, PollStatus, Role, User, UserId};

/// A step of the life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PollAction {
    /// Change a draft.
    Edit,
    /// Draft → on moderation.
    Submit,
    /// On moderation → published.
    Approve,
    /// On moderation → back to draft (with the moderator's note).
    Return,
    /// Published → closed.
    Close,
}

impl PollAction {
    /// Short English name (errors, audit actions).
    pub fn name(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Submit => "submit",
            Self::Approve => "approve",
            Self::Return => "return",
            Self::Close => "close",
        }
    }

    /// The status the poll must be in, and the one it moves to.
    pub fn transition(self) -> (PollStatus, PollStatus) {
        match self {
            Self::Edit => (PollStatus::Draft, PollStatus::Draft),
            Self::Submit => (PollStatus::Draft, PollStatus::Review),
            Self::Approve => (PollStatus::Review, PollStatus::Published),
            Self::Return => (PollStatus::Review, PollStatus::Draft),
            Self::Close => (PollStatus::Published, PollStatus::Closed),
        }
    }

    /// The roles that may take the step.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Self::Edit | Self::Submit => &[Role::PollManager],
            Self::Approve | Self::Return => &[Role::Moderator],
            Self::Close => &[Role::PollManager, Role::Moderator],
        }
    }

    /// The audit action it is recorded with.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Edit => "updated",
            Self::Submit => "submitted",
            Self::Approve => "approved",
            Self::Return => "returned",
            Self::Close => "closed",
        }
    }
}

/// The organisation hierarchy: parent links.
#[derive(Debug, Clone, Default)]
pub struct OrgTree {
    parents: HashMap<OrganisationId, Option<OrganisationId>>,
}

impl OrgTree {
    /// The tree of `organisations` (as stored in the directory).
    pub fn new(organisations: &[Organisation]) -> Self {
        Self {
            parents: organisations.iter().map(|o| (o.id, o.parent)).collect(),
        }
    }

    /// Is `org` known?
    pub fn contains(&self, org: OrganisationId) -> bool {
        self.parents.contains_key(&org)
    }

    /// Is `holder` the organisation `target` or one of its ancestors?
    pub fn covers(&self, holder: OrganisationId, target: OrganisationId) -> bool {
        let mut at = Some(target);
        for _ in 0..=self.parents.len() {
            match at {
                Some(o) if o == holder => return true,
                Some(o) => at = self.parents.get(&o).copied().flatten(),
                None => return false,
            }
        }
        false
    }
}

/// Does `user` hold `role` for `org` (in it or in a parent), as a confirmed staff member?
pub fn holds_role_for(user: &User, role: Role, org: OrganisationId, tree: &OrgTree) -> bool {
    user.confirmed
        && user
            .roles
            .iter()
            .any(|g| g.role == role && tree.covers(g.organisation, org))
}

/// May `actor` take `action` on a poll of `org` created by `creator`? `Err` says why not.
pub fn may(
    actor: &User,
    action: PollAction,
    org: OrganisationId,
    creator: Option<UserId>,
    tree: &OrgTree,
) -> Result<(), String> {
    if !actor.confirmed {
        return Err(format!(
            "{} is not confirmed by their organisation",
            actor.login
        ));
    }
    let roles = action.roles();
    if !roles.iter().any(|r| holds_role_for(actor, *r, org, tree)) {
        let names: Vec<&str> = roles.iter().map(|r| r.code()).collect();
        return Err(format!(
            "{} needs the role {} in organisation {org} or above it to {} this poll",
            actor.login,
            names.join(" or "),
            action.name()
        ));
    }
    if action == PollAction::Approve && creator == Some(actor.id) {
        return Err(format!(
            "{} created this poll and cannot approve it too",
            actor.login
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use otklik_domain::{Onboarding, OrgKind, RoleGrant, TerritoryId};

    use super::*;

    fn org(id: i64, parent: Option<i64>) -> Organisation {
        Organisation {
            id: OrganisationId(id),
            code: format!("o{id}"),
            kind: OrgKind::Omsu,
            name: format!("O{id}"),
            short_name: None,
            parent: parent.map(OrganisationId),
            territory: TerritoryId(1),
            competences: vec![],
            onboarding: Onboarding::default(),
            site_url: None,
        }
    }

    fn user(id: i64, roles: &[(Role, i64)]) -> User {
        User {
            id: UserId(id),
            login: format!("u{id}"),
            full_name: format!("U{id}"),
            email: None,
            organisation: Some(OrganisationId(1)),
            confirmed: true,
            roles: roles
                .iter()
                .map(|(role, o)| RoleGrant {
                    role: *role,
                    organisation: OrganisationId(*o),
                })
                .collect(),
        }
    }

    /// 1 regional government → 2 district administration; 3 another district.
    fn tree() -> OrgTree {
        OrgTree::new(&[org(1, None), org(2, Some(1)), org(3, None)])
    }

    #[test]
    fn transitions() {
        assert_eq!(
            PollAction::Submit.transition(),
            (PollStatus::Draft, PollStatus::Review)
        );
        assert_eq!(
            PollAction::Approve.transition(),
            (PollStatus::Review, PollStatus::Published)
        );
        assert_eq!(
            PollAction::Return.transition(),
            (PollStatus::Review, PollStatus::Draft)
        );
        assert_eq!(
            PollAction::Close.transition(),
            (PollStatus::Published, PollStatus::Closed)
        );
    }

    #[test]
    fn managers_act_in_their_organisation_and_beneath() {
        let tree = tree();
        let regional = user(1, &[(Role::PollManager, 1)]);
        let district = user(2, &[(Role::PollManager, 2)]);
        let o2 = OrganisationId(2);
        assert!(may(&regional, PollAction::Submit, o2, None, &tree).is_ok());
        assert!(may(&district, PollAction::Submit, o2, None, &tree).is_ok());
        assert!(
            may(
                &district,
                PollAction::Submit,
                OrganisationId(1),
                None,
                &tree
            )
            .is_err()
        );
        assert!(
            may(
                &district,
                PollAction::Submit,
                OrganisationId(3),
                None,
                &tree
            )
            .is_err()
        );
        // Managers do not approve.
        let e = may(&district, PollAction::Approve, o2, None, &tree).expect_err("no");
        assert!(e.contains("needs the role moderator"), "{e}");
        assert!(may(&district, PollAction::Close, o2, None, &tree).is_ok());
    }

    #[test]
    fn moderators_approve_but_not_their_own_polls() {
        let tree = tree();
        let m = user(5, &[(Role::Moderator, 1), (Role::PollManager, 1)]);
        let o2 = OrganisationId(2);
        assert!(may(&m, PollAction::Approve, o2, Some(UserId(9)), &tree).is_ok());
        assert!(may(&m, PollAction::Return, o2, Some(UserId(9)), &tree).is_ok());
        let e = may(&m, PollAction::Approve, o2, Some(UserId(5)), &tree).expect_err("own");
        assert!(e.contains("cannot approve it too"), "{e}");
        // Returning one's own poll is fine.
        assert!(may(&m, PollAction::Return, o2, Some(UserId(5)), &tree).is_ok());
        let other = user(6, &[(Role::Moderator, 3)]);
        assert!(may(&other, PollAction::Approve, o2, None, &tree).is_err());
    }

    #[test]
    fn unconfirmed_staff_may_do_nothing() {
        let mut u = user(1, &[(Role::PollManager, 1)]);
        u.confirmed = false;
        let e = may(&u, PollAction::Submit, OrganisationId(1), None, &tree()).expect_err("no");
        assert!(e.contains("not confirmed"), "{e}");
    }
}
