//! The demo region in `demo/` parses, its references are all satisfied within the batch, and
//! it has what the reports and checks need.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use otklik_domain::directory::DirectoryBatch;
use otklik_domain::{Network, OrgKind, Role, TerritoryKind};
use otklik_import::{ImportError, KnownCodes, load_dir_checked};
use serde::Deserialize;

/// Category ids of the unified classifier.
const CATEGORIES: &[&str] = &[
    "roads",
    "improvement",
    "veterinary",
    "water",
    "gas",
    "yards",
    "other",
    "it",
    "culture",
    "forestry",
    "mfc",
    "apartment_buildings",
    "waste",
    "education",
    "catering",
    "transport",
    "parks",
    "utility_bills",
    "funeral",
    "gosuslugi",
    "nature",
    "communications",
    "agriculture",
    "social",
    "construction",
    "heating",
    "trade",
    "sport",
    "economy",
    "electricity",
    "health",
    "safety",
    "covid",
    "mobilisation",
    "consumer_protection",
    "state_property",
    "heritage",
];

/// Subcategory ids the demo routing rules may use.
const SUBCATEGORIES: &[&str] = &[
    "roads.potholes",
    "roads.snow_removal",
    "roads.road_repair",
    "waste.containers",
];

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo")
}

fn demo() -> Result<DirectoryBatch, ImportError> {
    let mut known = KnownCodes::new();
    known.set_categories(CATEGORIES.iter().copied());
    load_dir_checked(&demo_dir(), &known)
}

#[test]
fn demo_parses_with_all_references_satisfied() -> Result<(), ImportError> {
    let batch = demo()?;
    // Also with a completely empty KnownCodes (no category list).
    load_dir_checked(&demo_dir(), &KnownCodes::new())?;

    let t = &batch.territories;
    let count = |k: TerritoryKind| t.iter().filter(|x| x.kind == k).count();
    assert_eq!(count(TerritoryKind::Region), 1);
    let municipalities = count(TerritoryKind::MunicipalDistrict) + count(TerritoryKind::UrbanOkrug);
    assert!((14..=16).contains(&municipalities), "{municipalities}");
    assert!((2..=3).contains(&count(TerritoryKind::UrbanOkrug)));
    assert!((3..=4).contains(&count(TerritoryKind::CityDistrict)));
    // Every municipality has 2–5 settlements.
    for m in t.iter().filter(|x| {
        matches!(
            x.kind,
            TerritoryKind::MunicipalDistrict | TerritoryKind::UrbanOkrug
        )
    }) {
        let n = t
            .iter()
            .filter(|s| {
                s.kind == TerritoryKind::Settlement && s.parent_code.as_ref() == Some(&m.code)
            })
            .count();
        assert!((2..=5).contains(&n), "{} has {n} settlements", m.code);
        assert!(!m.name_variants.is_empty(), "{}", m.code);
    }

    // One ОМСУ per municipality.
    let o = &batch.organisations;
    for m in t.iter().filter(|x| {
        matches!(
            x.kind,
            TerritoryKind::MunicipalDistrict | TerritoryKind::UrbanOkrug
        )
    }) {
        assert!(
            o.iter().any(|x| x.kind == OrgKind::Omsu
                && x.parent_code.is_none()
                && x.territory_code == m.code),
            "no administration for {}",
            m.code
        );
    }
    let roiv: Vec<_> = o.iter().filter(|x| x.kind == OrgKind::Roiv).collect();
    assert!(roiv.len() >= 10);
    assert!(roiv.iter().all(|x| !x.competences.is_empty()));
    // Onboarding varies, so the status-zone reports have something to show.
    let percents: HashSet<u8> = o.iter().map(|x| x.onboarding.percent()).collect();
    assert_eq!(percents.len(), 4, "{percents:?}");
    // Only invented domains.
    for url in o.iter().filter_map(|x| x.site_url.as_deref()) {
        let host = url.split('/').nth(2).unwrap_or_default();
        assert!(host.ends_with(".example"), "{url}");
    }
    for u in &batch.users {
        if let Some(e) = &u.email {
            assert!(e.ends_with(".example"), "{e}");
        }
        assert!(u.login.is_ascii());
    }

    // Every role is represented; the ЦУР has the regional roles; every РОИВ has staff.
    let roles: HashSet<Role> = batch
        .users
        .iter()
        .flat_map(|u| u.roles.iter().map(|g| g.role))
        .collect();
    for r in Role::ALL.iter().filter(|r| **r != Role::Citizen) {
        assert!(roles.contains(r), "no {r}");
    }
    assert!(batch.users.iter().any(|u| u.organisation_code.is_none()));
    for r in [
        Role::RegionAdmin,
        Role::Curator,
        Role::Analyst,
        Role::CommunityAdmin,
        Role::Moderator,
        Role::PollManager,
    ] {
        assert!(
            batch.users.iter().any(|u| u
                .roles
                .iter()
                .any(|g| g.role == r && g.organisation_code == "tsur")),
            "ЦУР lacks {r}"
        );
    }
    for body in &roiv {
        for r in [Role::Coordinator, Role::Executor, Role::Head] {
            assert!(
                batch.users.iter().any(|u| u
                    .roles
                    .iter()
                    .any(|g| g.role == r && g.organisation_code == body.code)),
                "{} lacks {r}",
                body.code
            );
        }
    }
    assert!(batch.users.iter().any(|u| !u.confirmed));

    // Communities on all three networks; some bodies lack VK or OK on purpose.
    let c = &batch.communities;
    for n in [Network::Vk, Network::Ok, Network::Telegram] {
        assert!(c.iter().filter(|x| x.network == n).count() >= 10, "{n}");
    }
    let has = |org: &str, n: Network| {
        c.iter()
            .any(|x| x.organisation_code == org && x.network == n)
    };
    let lacking = roiv
        .iter()
        .filter(|b| !has(&b.code, Network::Vk) || !has(&b.code, Network::Ok))
        .count();
    assert!(lacking >= 2, "{lacking}");

    // Sources: VK walls, a VK search, Telegram channels and the government RSS feed.
    let s = &batch.sources;
    assert!(
        s.iter()
            .any(|x| x.network == Network::Vk && x.target.starts_with("search:"))
    );
    assert!(s.iter().any(|x| x.network == Network::Telegram));
    assert!(
        s.iter().any(|x| x.network == Network::Rss
            && x.target == "https://severnaya-obl.example/news/rss.xml")
    );
    // VK and OK walls point at registered communities or other public pages.
    assert!(
        s.iter()
            .filter(|x| x.network == Network::Vk && !x.target.starts_with("search:"))
            .all(|x| !x.target.contains('/'))
    );
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Routing {
    rule: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    category: Option<String>,
    subcategory: Option<String>,
    territory: Option<String>,
    executor: String,
}

#[test]
fn demo_routing_rules_refer_to_demo_codes() -> Result<(), Box<dyn std::error::Error>> {
    let batch = demo()?;
    let text = std::fs::read_to_string(demo_dir().join("routing.toml"))?;
    let routing: Routing = toml::from_str(&text)?;
    assert!(routing.rule.len() >= 3);
    let mut by_executor = BTreeMap::new();
    for r in &routing.rule {
        match (&r.category, &r.subcategory) {
            (Some(c), None) => assert!(CATEGORIES.contains(&c.as_str()), "{c}"),
            (None, Some(s)) => assert!(SUBCATEGORIES.contains(&s.as_str()), "{s}"),
            _ => panic!("a rule needs exactly one of category and subcategory: {r:?}"),
        }
        if let Some(t) = &r.territory {
            assert!(batch.territories.iter().any(|x| &x.code == t), "{t}");
        }
        assert!(
            batch.organisations.iter().any(|x| x.code == r.executor),
            "{}",
            r.executor
        );
        *by_executor.entry(r.executor.as_str()).or_insert(0) += 1;
    }
    assert!(by_executor.contains_key("regoperator-tko"));
    Ok(())
}
