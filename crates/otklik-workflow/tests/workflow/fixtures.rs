//! A small region, its staff in every role, and a workflow service over the real rules.

use std::collections::HashMap;
use std::path::PathBuf;

use otklik_calendar::Calendar;
use otklik_domain::directory::{
    DirectoryBatch, NewOrganisation, NewRoleGrant, NewSource, NewTerritory, NewUser,
};
use otklik_domain::{
    CategoryId, Channel, MessageId, Network, Onboarding, OrgKind, OrganisationId, PostId, Role,
    SubcategoryId, TerritoryId, TerritoryKind, Timestamp, User,
};
use otklik_notify::RatingLinks;
use otklik_route::{Directory, Router};
use otklik_rules::{load_category_tree, load_reject_reasons, parse_routing_rules};
use otklik_store::{NewPost, Store};
use otklik_workflow::{Action, Notifications, Outcome, Submission, Workflow, WorkflowConfig};

/// Monday 1 December 2025, 10:00 Moscow (07:00 UTC): an ordinary working day.
pub const NOW: Timestamp = Timestamp(1_764_572_400_000);

/// An ordinary subcategory (30 working days) and a fast-track one (5 working days).
pub const ROADS: &str = "roads.infrastructure";
pub const FAST: &str = "roads.road_marking";

pub fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

fn territory(code: &str, kind: TerritoryKind, parent: Option<&str>) -> NewTerritory {
    NewTerritory {
        code: code.into(),
        kind,
        name: format!("Территория {code}"),
        parent_code: parent.map(Into::into),
        name_variants: vec![],
    }
}

fn organisation(
    code: &str,
    kind: OrgKind,
    territory: &str,
    parent: Option<&str>,
) -> NewOrganisation {
    NewOrganisation {
        code: code.into(),
        kind,
        name: format!("Организация {code}"),
        short_name: None,
        parent_code: parent.map(Into::into),
        territory_code: territory.into(),
        competences: vec![CategoryId("roads".into())],
        onboarding: Onboarding::default(),
        site_url: None,
    }
}

fn user(login: &str, org: Option<&str>, roles: &[(Role, &str)]) -> NewUser {
    NewUser {
        login: login.into(),
        full_name: format!("Пользователь {login}"),
        email: Some(format!("{login}@example.ru")),
        organisation_code: org.map(Into::into),
        confirmed: true,
        roles: roles
            .iter()
            .map(|(role, org)| NewRoleGrant {
                role: *role,
                organisation_code: (*org).into(),
            })
            .collect(),
    }
}

/// The organisations: government → ЦУР (oversight), government → ministry; two district
/// administrations («adm1», «adm2») with no parent.
pub fn region_batch() -> DirectoryBatch {
    let mut users = vec![
        user("moderator", Some("tsur"), &[(Role::Moderator, "tsur")]),
        user("curator", Some("tsur"), &[(Role::Curator, "tsur")]),
        user("citizen", None, &[]),
        user("citizen2", None, &[]),
    ];
    for org in ["adm1", "adm2"] {
        for role in [
            Role::Moderator,
            Role::Coordinator,
            Role::Executor,
            Role::Head,
            Role::Curator,
        ] {
            users.push(user(
                &format!("{}-{org}", role.code()),
                Some(org),
                &[(role, org)],
            ));
        }
    }
    DirectoryBatch {
        territories: vec![
            territory("region", TerritoryKind::Region, None),
            territory(
                "district1",
                TerritoryKind::MunicipalDistrict,
                Some("region"),
            ),
            territory("town1", TerritoryKind::Settlement, Some("district1")),
            territory(
                "district2",
                TerritoryKind::MunicipalDistrict,
                Some("region"),
            ),
        ],
        organisations: vec![
            organisation("government", OrgKind::Other, "region", None),
            organisation("tsur", OrgKind::Other, "region", Some("government")),
            organisation("mintrans", OrgKind::Roiv, "region", Some("government")),
            organisation("adm1", OrgKind::Omsu, "district1", None),
            organisation("adm2", OrgKind::Omsu, "district2", None),
        ],
        users,
        communities: vec![],
        sources: vec![NewSource {
            name: "vk-search".into(),
            network: Network::Vk,
            target: "search".into(),
            schedule: "0 */10 * * * *".into(),
            territory_code: Some("region".into()),
            enabled: true,
        }],
    }
}

/// The workflow over a store with [`region_batch`], and name lookups.
#[derive(Debug, Clone)]
pub struct World {
    pub store: Store,
    pub wf: Workflow,
    pub users: HashMap<String, User>,
    pub orgs: HashMap<String, OrganisationId>,
    pub territories: HashMap<String, TerritoryId>,
    pub links: RatingLinks,
}

/// The token of a rating link (its `t` parameter).
pub fn token_of(link: &str) -> &str {
    link.rsplit_once("t=").map_or("", |(_, t)| t)
}

pub async fn world(store: Store) -> World {
    world_with(store, WorkflowConfig::default()).await
}

pub async fn world_with(store: Store, mut config: WorkflowConfig) -> World {
    store
        .import_directory(&region_batch(), None, NOW)
        .await
        .expect("import region");
    let tree = load_category_tree(rules_dir().join("categories.toml")).expect("category tree");
    let routing = parse_routing_rules(
        "[defaults]\nlevel = \"municipal\"\nby_place_of_submission = true\nfallback_executor = \"tsur\"\n",
        "routing.toml",
    )
    .expect("routing");
    let reasons = load_reject_reasons(rules_dir().join("reject-reasons.toml")).expect("reasons");
    let organisations = store.organisations().await.expect("organisations");
    let territories = store.territories().await.expect("territories");
    let router = Router::new(
        &routing,
        &tree,
        Directory::new(territories.clone(), organisations.clone()),
    )
    .expect("router");
    let orgs: HashMap<String, OrganisationId> = organisations
        .iter()
        .map(|o| (o.code.clone(), o.id))
        .collect();
    config.oversight = vec![orgs["tsur"]];
    let wf = Workflow::new(
        store.clone(),
        router,
        tree,
        &organisations,
        reasons,
        Calendar::embedded(),
        config,
    )
    .expect("workflow");
    let staff = store.users().await.expect("users");
    let links = RatingLinks::new(&[7u8; 32], "https://otklik.example/rate").expect("links");
    let mut notifications = Notifications::new(links.clone(), staff.clone());
    notifications.reply_url = Some("https://otklik.example/reply/".into());
    let wf = wf.with_notifications(notifications);
    let users = staff.into_iter().map(|u| (u.login.clone(), u)).collect();
    World {
        store,
        wf,
        users,
        orgs,
        territories: territories
            .into_iter()
            .map(|t| (t.code.clone(), t.id))
            .collect(),
        links,
    }
}

impl World {
    pub fn user(&self, login: &str) -> &User {
        self.users
            .get(login)
            .unwrap_or_else(|| panic!("no user {login}"))
    }

    pub fn org(&self, code: &str) -> OrganisationId {
        self.orgs[code]
    }

    pub fn territory(&self, code: &str) -> TerritoryId {
        self.territories[code]
    }

    /// A portal submission by `citizen` about district 1.
    pub fn submission(&self, text: &str, sub: &str) -> Submission {
        Submission {
            channel: Channel::Portal,
            text: text.into(),
            category_hint: Some(SubcategoryId(sub.into())),
            territory: Some(self.territory("town1")),
            address: Some("ул. Ленина, 1".into()),
            submitted_via: None,
            author: Some(self.user("citizen").id),
            contact: Some("citizen@example.ru".into()),
            attachments: vec![],
        }
    }

    /// Submits and returns the message id.
    pub async fn submit(&self, text: &str, sub: &str, key: &str) -> MessageId {
        self.wf
            .submit(&self.submission(text, sub), key, NOW)
            .await
            .expect("submit")
            .record
            .message
            .id
    }

    /// Performs `action` as `login` at the message's current version.
    pub async fn act(&self, login: &str, id: MessageId, action: Action, key: &str) -> Outcome {
        self.act_at(login, id, action, key, NOW).await
    }

    pub async fn act_at(
        &self,
        login: &str,
        id: MessageId,
        action: Action,
        key: &str,
        now: Timestamp,
    ) -> Outcome {
        let version = self.wf.message(id).await.expect("message").message.version;
        self.wf
            .act(self.user(login), id, version, action, key, now)
            .await
            .unwrap_or_else(|e| panic!("{login} on {id}: {e}"))
    }

    /// Stores a collected post and returns its id.
    pub async fn post(&self, external_id: &str, text: &str) -> PostId {
        let source = self
            .store
            .source_by_name("vk-search")
            .await
            .expect("source")
            .expect("imported")
            .id;
        let post = NewPost::new(
            Network::Vk,
            external_id,
            text,
            Timestamp(NOW.millis() - 60_000),
            format!("h:{external_id}"),
        )
        .with_url(format!("https://vk.com/wall{external_id}"))
        .with_author("id1");
        self.store
            .store_posts(source, &[post], None, NOW)
            .await
            .expect("store post");
        self.store
            .post_by_external_id(Network::Vk, external_id)
            .await
            .expect("read post")
            .expect("stored")
            .id
    }

    /// The audit actions of a message, oldest first.
    pub async fn actions(&self, id: MessageId) -> Vec<String> {
        self.store
            .audit_trail(otklik_domain::EntityKind::Message, id.get())
            .await
            .expect("audit")
            .into_iter()
            .map(|e| e.event.action)
            .collect()
    }
}
