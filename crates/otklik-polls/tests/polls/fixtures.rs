//! A small region with poll managers and moderators, and the polls service over it.

use std::collections::HashMap;
use std::path::PathBuf;

use otklik_domain::directory::{
    DirectoryBatch, NewOrganisation, NewRoleGrant, NewTerritory, NewUser,
};
use otklik_domain::{
    Onboarding, OrgKind, OrganisationId, PollKind, ResultsVisibility, Role, TerritoryId,
    TerritoryKind, Timestamp, User,
};
use otklik_polls::{
    NewPollOption, PollDetails, PollDraft, Polls, PollsConfig, VoteMeta, VoterKey, load_poll_topics,
};
use otklik_store::Store;

/// Monday 1 December 2025, 10:00 Moscow.
pub const NOW: Timestamp = Timestamp(1_764_572_400_000);

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

fn organisation(code: &str, territory: &str, parent: Option<&str>) -> NewOrganisation {
    NewOrganisation {
        code: code.into(),
        kind: OrgKind::Omsu,
        name: format!("Организация {code}"),
        short_name: None,
        parent_code: parent.map(Into::into),
        territory_code: territory.into(),
        competences: vec![],
        onboarding: Onboarding::default(),
        site_url: None,
    }
}

fn user(login: &str, org: &str, roles: &[(Role, &str)]) -> NewUser {
    NewUser {
        login: login.into(),
        full_name: format!("Пользователь {login}"),
        email: None,
        organisation_code: Some(org.into()),
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

/// region ⊃ district1 ⊃ town1, region ⊃ district2; government (region) ⊃ adm1 (district1);
/// adm2 (district2) on its own.
pub fn region_batch() -> DirectoryBatch {
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
            organisation("government", "region", None),
            organisation("adm1", "district1", Some("government")),
            organisation("adm2", "district2", None),
        ],
        users: vec![
            user("manager1", "adm1", &[(Role::PollManager, "adm1")]),
            user("manager2", "adm2", &[(Role::PollManager, "adm2")]),
            user(
                "regional-manager",
                "government",
                &[(Role::PollManager, "government")],
            ),
            user(
                "moderator",
                "government",
                &[(Role::Moderator, "government")],
            ),
            user(
                "moderator-manager",
                "government",
                &[
                    (Role::Moderator, "government"),
                    (Role::PollManager, "government"),
                ],
            ),
            user("moderator2", "adm2", &[(Role::Moderator, "adm2")]),
        ],
        communities: vec![],
        sources: vec![],
    }
}

/// The polls service over a store with [`region_batch`], and name lookups.
#[derive(Debug, Clone)]
pub struct World {
    pub store: Store,
    pub polls: Polls,
    pub users: HashMap<String, User>,
    pub orgs: HashMap<String, OrganisationId>,
    pub territories: HashMap<String, TerritoryId>,
}

pub fn key() -> VoterKey {
    VoterKey::new(vec![42u8; 32]).unwrap()
}

pub async fn world(store: Store) -> World {
    world_with(store, |_| {}).await
}

pub async fn world_with(store: Store, tweak: impl FnOnce(&mut PollsConfig)) -> World {
    store
        .import_directory(&region_batch(), None, NOW)
        .await
        .expect("import region");
    let mut config = PollsConfig::new(key());
    config.topics = load_poll_topics(rules_dir().join("poll-topics.toml")).unwrap();
    tweak(&mut config);
    let polls = Polls::new(store.clone(), config);
    let users = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.login.clone(), u))
        .collect();
    let orgs = store
        .organisations()
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.code.clone(), o.id))
        .collect();
    let territories = store
        .territories()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.code.clone(), t.id))
        .collect();
    World {
        store,
        polls,
        users,
        orgs,
        territories,
    }
}

pub fn option(label: &str, cost: Option<i64>) -> NewPollOption {
    NewPollOption {
        label: label.into(),
        description: String::new(),
        cost,
    }
}

impl World {
    pub fn user(&self, login: &str) -> &User {
        &self.users[login]
    }

    /// A draft of `kind` by adm1 with `n` options (budget: costs 100·i, cap 1000), open from
    /// NOW for 14 days.
    pub fn draft(&self, kind: PollKind, n: usize) -> PollDraft {
        let budget = kind == PollKind::Budget;
        PollDraft {
            organisation: self.orgs["adm1"],
            title: format!("Опрос ({kind})"),
            description: "Описание".into(),
            kind,
            topic: Some(if budget { "budget" } else { "improvement" }.into()),
            territory: None,
            min_age: None,
            starts_at: NOW,
            ends_at: NOW.plus_days(14),
            min_choices: None,
            max_choices: None,
            budget_cap: budget.then_some(1_000),
            max_text_chars: None,
            allow_revote: false,
            results: ResultsVisibility::Live,
            settings: "{}".into(),
            options: if kind == PollKind::FreeText {
                vec![]
            } else {
                (1..=n)
                    .map(|i| {
                        option(
                            &format!("Вариант {i}"),
                            budget.then_some(100 * i64::try_from(i).unwrap()),
                        )
                    })
                    .collect()
            },
        }
    }

    /// Creates (manager1), submits and approves (moderator) a poll.
    pub async fn publish(&self, draft: &PollDraft) -> PollDetails {
        let manager = self.user("manager1");
        let poll = self.polls.create(draft, manager, NOW).await.unwrap();
        self.polls.submit(poll.poll.id, manager, NOW).await.unwrap();
        self.polls
            .approve(poll.poll.id, self.user("moderator"), NOW)
            .await
            .unwrap()
    }
}

/// Meta of a voter from `territory`, aged 30, from 198.51.100.x.
pub fn meta(w: &World, territory: Option<&str>) -> VoteMeta {
    VoteMeta {
        territory: territory.map(|t| w.territories[t]),
        age: Some(30),
        ip: "198.51.100.20".parse().ok(),
    }
}
