//! Who may administer what: plain functions over the user's grants and the organisation tree.
//!
//! * An **administrator of the region** holds [`Role::RegionAdmin`] in an oversight
//!   organisation (the ЦУР) or in one above it (the government): everything — users of every
//!   organisation, organisations, sources, the whole Госпаблики registry.
//! * An **organisation's administrator** holds [`Role::RegionAdmin`] in another organisation:
//!   only within that organisation and those beneath it — its users (and only users whose every
//!   role lies within), its details, its communities. Sources are regional: not theirs.
//! * [`Role::CommunityAdmin`] manages the Госпаблики registry within its organisation's scope
//!   (everywhere when held in the ЦУР or above).

use std::collections::BTreeSet;

use otklik_domain::{Organisation, OrganisationId, Role, RoleGrant, User};
use otklik_workflow::OrgTree;

/// What one user may administer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AdminScope {
    /// Everything in the region.
    pub region: bool,
    /// Organisations within reach (all of them when `region`).
    pub orgs: BTreeSet<OrganisationId>,
}

/// Is `org` the region's oversight organisation or above one?
fn is_regional(org: OrganisationId, orgs: &[Organisation], tree: &OrgTree) -> bool {
    tree.is_oversight(org)
        || orgs
            .iter()
            .any(|o| tree.is_oversight(o.id) && tree.covers(org, o.id))
}

/// The scope the grants of `roles` among `grants` give.
pub(crate) fn admin_scope(
    grants: &[RoleGrant],
    roles: &[Role],
    orgs: &[Organisation],
    tree: &OrgTree,
) -> AdminScope {
    let mine: Vec<&RoleGrant> = grants.iter().filter(|g| roles.contains(&g.role)).collect();
    let region = mine.iter().any(|g| is_regional(g.organisation, orgs, tree));
    let orgs = orgs
        .iter()
        .filter(|o| region || mine.iter().any(|g| tree.covers(g.organisation, o.id)))
        .map(|o| o.id)
        .collect();
    AdminScope { region, orgs }
}

/// Users and organisations: [`Role::RegionAdmin`].
pub(crate) fn user_admin(
    grants: &[RoleGrant],
    orgs: &[Organisation],
    tree: &OrgTree,
) -> AdminScope {
    admin_scope(grants, &[Role::RegionAdmin], orgs, tree)
}

/// The Госпаблики registry: [`Role::RegionAdmin`] or [`Role::CommunityAdmin`].
pub(crate) fn community_admin(
    grants: &[RoleGrant],
    orgs: &[Organisation],
    tree: &OrgTree,
) -> AdminScope {
    admin_scope(
        grants,
        &[Role::RegionAdmin, Role::CommunityAdmin],
        orgs,
        tree,
    )
}

impl AdminScope {
    /// Any administration at all?
    pub fn any(&self) -> bool {
        self.region || !self.orgs.is_empty()
    }

    /// May administer this organisation.
    pub fn org(&self, org: OrganisationId) -> bool {
        self.region || self.orgs.contains(&org)
    }

    /// May see this account in the list: its home organisation or one of its roles is in scope.
    pub fn sees_user(&self, u: &User) -> bool {
        self.region
            || u.organisation.is_some_and(|o| self.org(o))
            || u.roles.iter().any(|g| self.org(g.organisation))
    }

    /// May change this account: its home organisation and every role it holds are in scope
    /// (an organisation's administrator must not take over an account that reaches further).
    pub fn manages_user(&self, u: &User) -> bool {
        self.region
            || (u.organisation.is_some_and(|o| self.org(o))
                && u.roles.iter().all(|g| self.org(g.organisation)))
    }

    /// May grant (or take away) this role: within scope, never the citizen role.
    pub fn grants(&self, g: RoleGrant) -> bool {
        g.role != Role::Citizen && self.org(g.organisation)
    }
}

#[cfg(test)]
mod tests {
    use otklik_domain::{Onboarding, OrgKind, TerritoryId, UserId};

    use super::*;

    fn org(id: i64, parent: Option<i64>) -> Organisation {
        Organisation {
            id: OrganisationId(id),
            code: format!("o{id}"),
            kind: OrgKind::Omsu,
            name: format!("О{id}"),
            short_name: None,
            parent: parent.map(OrganisationId),
            territory: TerritoryId(1),
            competences: vec![],
            onboarding: Onboarding::default(),
            site_url: None,
        }
    }

    fn grant(role: Role, org: i64) -> RoleGrant {
        RoleGrant {
            role,
            organisation: OrganisationId(org),
        }
    }

    fn user(home: i64, roles: &[RoleGrant]) -> User {
        User {
            id: UserId(1),
            login: "u".into(),
            full_name: "U".into(),
            email: None,
            organisation: Some(OrganisationId(home)),
            confirmed: true,
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn region_and_organisation_admins() {
        // 1 government → 2 ЦУР (oversight); 3 district → 4 school; 5 another district.
        let orgs = vec![
            org(1, None),
            org(2, Some(1)),
            org(3, None),
            org(4, Some(3)),
            org(5, None),
        ];
        let tree = OrgTree::new(&orgs).with_oversight([OrganisationId(2)]);
        let region = user_admin(&[grant(Role::RegionAdmin, 1)], &orgs, &tree);
        assert!(region.region && region.org(OrganisationId(5)));
        let tsur = user_admin(&[grant(Role::RegionAdmin, 2)], &orgs, &tree);
        assert!(tsur.region);

        let district = user_admin(&[grant(Role::RegionAdmin, 3)], &orgs, &tree);
        assert!(!district.region);
        assert!(district.org(OrganisationId(3)) && district.org(OrganisationId(4)));
        assert!(!district.org(OrganisationId(5)) && !district.org(OrganisationId(1)));
        let local = user(4, &[grant(Role::Executor, 4)]);
        assert!(district.manages_user(&local));
        // An account with a role outside the district is seen, not managed.
        let wide = user(4, &[grant(Role::Executor, 4), grant(Role::RegionAdmin, 1)]);
        assert!(district.sees_user(&wide) && !district.manages_user(&wide));
        assert!(!district.sees_user(&user(5, &[grant(Role::Executor, 5)])));
        assert!(district.grants(grant(Role::Head, 4)));
        assert!(!district.grants(grant(Role::Head, 5)));
        assert!(!district.grants(grant(Role::Citizen, 4)));

        // Other roles administer nothing; community admins only the registry.
        let moderator = user_admin(&[grant(Role::Moderator, 2)], &orgs, &tree);
        assert!(!moderator.any());
        let ca = community_admin(&[grant(Role::CommunityAdmin, 3)], &orgs, &tree);
        assert!(ca.org(OrganisationId(4)) && !ca.region);
        assert!(!user_admin(&[grant(Role::CommunityAdmin, 3)], &orgs, &tree).any());
    }
}
