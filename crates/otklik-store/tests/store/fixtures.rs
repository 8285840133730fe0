//! A small directory and message builders shared by the tests.

use otklik_domain::directory::{
    DirectoryBatch, NewCommunity, NewOrganisation, NewRoleGrant, NewSource, NewTerritory, NewUser,
};
use otklik_domain::{
    CategoryId, Channel, Network, NewMessage, Onboarding, OrgKind, OrganisationId, Role,
    SubcategoryId, TerritoryKind, Timestamp, Verification,
};
use otklik_store::{NewPost, Store};

/// A fixed "now" (2024-03-01T00:00:00Z).
pub const NOW: Timestamp = Timestamp(1_709_251_200_000);

pub fn territory(code: &str, kind: TerritoryKind, parent: Option<&str>) -> NewTerritory {
    NewTerritory {
        code: code.into(),
        kind,
        name: format!("Территория {code}"),
        parent_code: parent.map(Into::into),
        name_variants: vec![format!("{code}-alias")],
    }
}

pub fn organisation(
    code: &str,
    kind: OrgKind,
    territory: &str,
    parent: Option<&str>,
) -> NewOrganisation {
    NewOrganisation {
        code: code.into(),
        kind,
        name: format!("Организация {code}"),
        short_name: Some(code.to_uppercase()),
        parent_code: parent.map(Into::into),
        territory_code: territory.into(),
        competences: vec![CategoryId("roads".into()), CategoryId("health".into())],
        onboarding: Onboarding::default(),
        site_url: Some(format!("https://{code}.example.ru")),
    }
}

pub fn user(login: &str, org: Option<&str>, roles: &[(Role, &str)]) -> NewUser {
    NewUser {
        login: login.into(),
        full_name: format!("Пользователь {login}"),
        email: Some(format!("{login}@example.ru")),
        organisation_code: org.map(Into::into),
        confirmed: false,
        roles: roles
            .iter()
            .map(|(role, org)| NewRoleGrant {
                role: *role,
                organisation_code: (*org).into(),
            })
            .collect(),
    }
}

/// Region → district → town; a ministry, a district administration under it, a school; two
/// staff and a citizen; a community; a source.
pub fn region_batch() -> DirectoryBatch {
    DirectoryBatch {
        territories: vec![
            territory("region", TerritoryKind::Region, None),
            territory("district", TerritoryKind::MunicipalDistrict, Some("region")),
            territory("town", TerritoryKind::Settlement, Some("district")),
        ],
        organisations: vec![
            organisation("minzdrav", OrgKind::Roiv, "region", None),
            organisation("district-adm", OrgKind::Omsu, "district", None),
            organisation(
                "school-1",
                OrgKind::Institution,
                "town",
                Some("district-adm"),
            ),
        ],
        users: vec![
            user(
                "moderator",
                Some("minzdrav"),
                &[(Role::Moderator, "minzdrav"), (Role::Analyst, "minzdrav")],
            ),
            user(
                "head",
                Some("district-adm"),
                &[(Role::Head, "district-adm")],
            ),
            user("citizen", None, &[]),
        ],
        communities: vec![NewCommunity {
            network: Network::Vk,
            external_id: "minzdrav38".into(),
            url: "https://vk.com/minzdrav38".into(),
            title: "Минздрав".into(),
            organisation_code: "minzdrav".into(),
            verification: Verification::Pending,
        }],
        sources: vec![NewSource {
            name: "vk-minzdrav-wall".into(),
            network: Network::Vk,
            target: "minzdrav38".into(),
            schedule: "0 */10 * * * *".into(),
            territory_code: Some("region".into()),
            enabled: true,
        }],
    }
}

pub fn new_message(executor: Option<OrganisationId>, text: &str) -> NewMessage {
    NewMessage {
        channel: Channel::Widget,
        subcategory: SubcategoryId("roads.potholes".into()),
        territory: None,
        executor,
        submitted_via: executor,
        author: None,
        author_handle: None,
        source_post: None,
        text: text.into(),
        address: Some("ул. Ленина, 1".into()),
        confidence_pm: Some(870),
        deadline_at: NOW.plus_days(30),
    }
}

pub fn post(external_id: &str, text: &str) -> NewPost {
    NewPost::new(
        Network::Vk,
        external_id,
        text,
        Timestamp(NOW.millis() - 60_000),
        format!("h:{text}"),
    )
    .with_url(format!("https://vk.com/wall{external_id}"))
    .with_author("id1")
}

/// Imports [`region_batch`] and returns the store back.
pub async fn with_region(store: &Store) {
    store
        .import_directory(&region_batch(), None, NOW)
        .await
        .expect("import region");
}

pub async fn org_id(store: &Store, code: &str) -> OrganisationId {
    store
        .organisation_by_code(code)
        .await
        .expect("read organisation")
        .unwrap_or_else(|| panic!("organisation {code} missing"))
        .id
}
