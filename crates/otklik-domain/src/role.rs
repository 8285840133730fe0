use serde::{Deserialize, Serialize};

use crate::{OrganisationId, Transition, UserId};

code_enum! {
    /// What a user may do, always within an organisation's scope.
    Role, "role" {
        /// Модератор: checks category and executor of incoming messages.
        Moderator = "moderator", "Модератор";
        /// Координатор: sends messages to execution or redirects them.
        Coordinator = "coordinator", "Координатор";
        /// Исполнитель: drafts answers.
        Executor = "executor", "Исполнитель";
        /// Руководитель: approves answers.
        Head = "head", "Руководитель";
        /// Куратор: controls deadlines and answer quality.
        Curator = "curator", "Куратор";
        /// Администратор региона: manages organisations, users, rules.
        RegionAdmin = "region_admin", "Администратор региона";
        /// Аналитик: searches and reports, read-only.
        Analyst = "analyst", "Аналитик";
        /// Администратор госпабликов: registers official communities.
        CommunityAdmin = "community_admin", "Администратор госпабликов";
        /// Менеджер голосований: creates polls.
        PollManager = "poll_manager", "Менеджер голосований";
        /// Гражданин: writes messages, rates answers, votes.
        Citizen = "citizen", "Гражданин";
    }
}

/// May a holder of `role` perform `transition` (organisation scope is checked separately)?
pub fn role_may(role: Role, transition: Transition) -> bool {
    use Role::*;
    use Transition::*;
    match transition {
        Accept | Recategorise | Reject => role == Moderator,
        SendToExecution | Redirect => role == Coordinator,
        RequestClarification | Postpone | SubmitForApproval => role == Executor,
        ProvideClarification | Rate => role == Citizen,
        Approve | ReturnForRevision => role == Head,
        Reopen | Close => role == Curator,
    }
}

/// A role held within one organisation (and, for regional roles, everything beneath it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleGrant {
    /// The role.
    pub role: Role,
    /// The organisation it is held in.
    pub organisation: OrganisationId,
}

/// A person with an account: staff of a body or a citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Database id.
    pub id: UserId,
    /// Unique login (staff) or identity key (citizens).
    pub login: String,
    /// Full name («Иванова Мария Петровна»).
    pub full_name: String,
    /// E-mail for notifications.
    pub email: Option<String>,
    /// Home organisation of a staff member; `None` for citizens.
    pub organisation: Option<OrganisationId>,
    /// The organisation confirmed this account («подтверждённый пользователь»).
    pub confirmed: bool,
    /// Roles held.
    pub roles: Vec<RoleGrant>,
}

impl User {
    /// Does the user hold `role` in `organisation`?
    pub fn has_role_in(&self, role: Role, organisation: OrganisationId) -> bool {
        self.roles
            .iter()
            .any(|g| g.role == role && g.organisation == organisation)
    }

    /// Does the user hold `role` anywhere?
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|g| g.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_has_exactly_one_role() {
        for t in Transition::ALL {
            let n = Role::ALL.iter().filter(|r| role_may(**r, *t)).count();
            assert_eq!(n, 1, "{t:?}");
        }
    }

    #[test]
    fn role_in_scope() {
        let u = User {
            id: UserId(1),
            login: "m".into(),
            full_name: "М".into(),
            email: None,
            organisation: Some(OrganisationId(7)),
            confirmed: true,
            roles: vec![RoleGrant {
                role: Role::Moderator,
                organisation: OrganisationId(7),
            }],
        };
        assert!(u.has_role_in(Role::Moderator, OrganisationId(7)));
        assert!(!u.has_role_in(Role::Moderator, OrganisationId(8)));
        assert!(!u.has_role(Role::Head));
    }
}
