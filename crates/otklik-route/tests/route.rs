//! Routing on a small hand-built region: every step of the order, ancestor walking, the
//! place-of-submission switch, rule errors with file:line, unknown inputs.

use std::path::PathBuf;

use otklik_domain::{
    CategoryId, CategoryTree, Onboarding, OrgKind, Organisation, OrganisationId, SubcategoryId,
    Territory, TerritoryId, TerritoryKind,
};
use otklik_route::{Directory, RouteDecision, RouteError, RouteReason, RouteRequest, Router};
use otklik_rules::{RoutingRules, RulesDir, parse_category_tree, parse_routing_rules};

const TREE: &str = r#"
[[category]]
id = "roads"
name = "Автомобильные дороги"

[[subcategory]]
id = "roads.potholes"
category = "roads"
name = "Ямы, выбоины"
fast_track_days = 5

[[subcategory]]
id = "roads.road_signs"
category = "roads"
name = "Дорожные знаки"

[[category]]
id = "health"
name = "Медицина"

[[subcategory]]
id = "health.medicines"
category = "health"
name = "Лекарственные препараты"

[[subcategory]]
id = "health.appointments"
category = "health"
name = "Запись на приём к врачу"

[[category]]
id = "education"
name = "Образование"

[[subcategory]]
id = "education.school_meals"
category = "education"
name = "Питание в образовательных организациях"

[[category]]
id = "culture"
name = "Культура"

[[subcategory]]
id = "culture.other"
category = "culture"
name = "Иное"

[[category]]
id = "covid"
name = "Коронавирус"

[[subcategory]]
id = "covid.testing"
category = "covid"
name = "Тесты на коронавирус"
"#;

const ROUTING: &str = r#"
[defaults]
level = "municipal"
by_place_of_submission = true

[[category]]
id = "health"
level = "regional"

[[subcategory]]
id = "health.appointments"
level = "institution"

[[category]]
id = "education"
level = "institution"

[[category]]
id = "culture"
level = "regional"

[[category]]
id = "covid"
level = "regional"
by_place_of_submission = false
"#;

// Territories.
const REGION: TerritoryId = TerritoryId(1);
const NORTH: TerritoryId = TerritoryId(2);
const NORTH_VILLAGE: TerritoryId = TerritoryId(3);
const SOUTH: TerritoryId = TerritoryId(4);
const SOUTH_VILLAGE: TerritoryId = TerritoryId(5);
const CITY: TerritoryId = TerritoryId(6);
const CITY_CENTRAL: TerritoryId = TerritoryId(7);
const CITY_LEFT: TerritoryId = TerritoryId(8);
const NORTH_TOWN: TerritoryId = TerritoryId(9);

// Organisations.
const ADM_NORTH: OrganisationId = OrganisationId(10);
const ADM_SOUTH: OrganisationId = OrganisationId(11);
const ADM_CITY: OrganisationId = OrganisationId(12);
const CITY_ROADS_DEPT: OrganisationId = OrganisationId(13);
const ADM_NORTH_TOWN: OrganisationId = OrganisationId(14);
const MINZDRAV: OrganisationId = OrganisationId(20);
const MINOBR: OrganisationId = OrganisationId(21);
const MINTRANS: OrganisationId = OrganisationId(22);
const COVID_HQ: OrganisationId = OrganisationId(23);
const SCHOOL: OrganisationId = OrganisationId(30);
const CLINIC: OrganisationId = OrganisationId(31);
const CUR: OrganisationId = OrganisationId(40);
const ENERGO: OrganisationId = OrganisationId(41);

fn territory(
    id: TerritoryId,
    code: &str,
    kind: TerritoryKind,
    name: &str,
    parent: Option<TerritoryId>,
) -> Territory {
    Territory {
        id,
        code: code.into(),
        kind,
        name: name.into(),
        parent,
        name_variants: vec![],
    }
}

fn org(
    id: OrganisationId,
    code: &str,
    kind: OrgKind,
    name: &str,
    territory: TerritoryId,
    parent: Option<OrganisationId>,
    competences: &[&str],
) -> Organisation {
    Organisation {
        id,
        code: code.into(),
        kind,
        name: name.into(),
        short_name: None,
        parent,
        territory,
        competences: competences
            .iter()
            .map(|c| CategoryId((*c).into()))
            .collect(),
        onboarding: Onboarding::default(),
        site_url: None,
    }
}

fn territories() -> Vec<Territory> {
    use TerritoryKind::*;
    vec![
        territory(REGION, "region", Region, "Тестовая область", None),
        territory(
            NORTH,
            "north",
            MunicipalDistrict,
            "Северный район",
            Some(REGION),
        ),
        territory(
            NORTH_VILLAGE,
            "north-village",
            Settlement,
            "село Северное",
            Some(NORTH),
        ),
        territory(
            NORTH_TOWN,
            "north-town",
            Settlement,
            "город Северск",
            Some(NORTH),
        ),
        territory(
            SOUTH,
            "south",
            MunicipalDistrict,
            "Южный район",
            Some(REGION),
        ),
        territory(
            SOUTH_VILLAGE,
            "south-village",
            Settlement,
            "село Южное",
            Some(SOUTH),
        ),
        territory(CITY, "city", UrbanOkrug, "город Областной", Some(REGION)),
        territory(
            CITY_CENTRAL,
            "city-central",
            CityDistrict,
            "Центральный район",
            Some(CITY),
        ),
        territory(
            CITY_LEFT,
            "city-left",
            CityDistrict,
            "Левобережный район",
            Some(CITY),
        ),
    ]
}

fn organisations() -> Vec<Organisation> {
    use OrgKind::*;
    vec![
        org(
            ADM_NORTH,
            "adm-north",
            Omsu,
            "Администрация Северного района",
            NORTH,
            None,
            &[],
        ),
        org(
            ADM_SOUTH,
            "adm-south",
            Omsu,
            "Администрация Южного района",
            SOUTH,
            None,
            &[],
        ),
        org(
            ADM_CITY,
            "adm-city",
            Omsu,
            "Администрация города",
            CITY,
            None,
            &[],
        ),
        // A department of the city administration: sorts first by code, but is not the head.
        org(
            CITY_ROADS_DEPT,
            "a-city-roads",
            Omsu,
            "Комитет по дорогам",
            CITY,
            Some(ADM_CITY),
            &["roads"],
        ),
        org(
            ADM_NORTH_TOWN,
            "adm-north-town",
            Omsu,
            "Администрация города Северска",
            NORTH_TOWN,
            None,
            &[],
        ),
        org(
            MINZDRAV,
            "minzdrav",
            Roiv,
            "Министерство здравоохранения",
            REGION,
            None,
            &["health", "covid"],
        ),
        org(
            MINOBR,
            "minobr",
            Roiv,
            "Министерство образования",
            REGION,
            None,
            &["education"],
        ),
        org(
            MINTRANS,
            "mintrans",
            Roiv,
            "Министерство транспорта и дорожного хозяйства",
            REGION,
            None,
            &["roads"],
        ),
        // Two РОИВ answer for covid: the first by code wins.
        org(
            COVID_HQ,
            "covid-hq",
            Roiv,
            "Оперативный штаб",
            REGION,
            None,
            &["covid"],
        ),
        org(
            SCHOOL,
            "school-1",
            Institution,
            "Школа № 1",
            CITY_CENTRAL,
            Some(MINOBR),
            &["education"],
        ),
        org(
            CLINIC,
            "clinic-north",
            Institution,
            "Северная районная больница",
            NORTH,
            Some(MINZDRAV),
            &["health"],
        ),
        org(
            CUR,
            "cur",
            Other,
            "Центр управления регионом",
            REGION,
            None,
            &[],
        ),
        // Another «other» body at the region, first by code: the ЦУР is still preferred.
        org(ENERGO, "a-energo", Other, "Энергосбыт", REGION, None, &[]),
    ]
}

fn tree() -> CategoryTree {
    parse_category_tree(TREE, "rules/categories.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn rules(extra: &str) -> RoutingRules {
    let mut r =
        parse_routing_rules(ROUTING, "rules/routing.toml").unwrap_or_else(|e| panic!("{e}"));
    if !extra.is_empty() {
        r.overlay(
            parse_routing_rules(extra, "demo/routing.toml").unwrap_or_else(|e| panic!("{e}")),
        );
    }
    r
}

fn router(extra: &str) -> Router {
    let directory = Directory::new(territories(), organisations());
    Router::new(&rules(extra), &tree(), directory).unwrap_or_else(|e| panic!("{e}"))
}

fn route(
    r: &Router,
    sub: &str,
    territory: Option<TerritoryId>,
    via: Option<OrganisationId>,
) -> RouteDecision {
    let sub = SubcategoryId(sub.into());
    r.route(&RouteRequest {
        subcategory: &sub,
        territory,
        submitted_via: via,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn place_of_submission_first() {
    let r = router("[[rule]]\ncategory = \"roads\"\nexecutor = \"mintrans\"\n");
    let d = route(&r, "roads.potholes", Some(NORTH_VILLAGE), Some(ADM_CITY));
    assert_eq!(d.executor, ADM_CITY);
    assert_eq!(d.reason, RouteReason::PlaceOfSubmission);
    // An unknown widget organisation is ignored.
    let d = route(
        &r,
        "roads.potholes",
        Some(NORTH_VILLAGE),
        Some(OrganisationId(999)),
    );
    assert_eq!(d.executor, MINTRANS);
}

#[test]
fn place_of_submission_disabled_per_category() {
    let r = router("");
    assert_eq!(
        r.by_place_of_submission_for(&SubcategoryId("covid.testing".into())),
        Some(false)
    );
    let d = route(&r, "covid.testing", Some(NORTH_VILLAGE), Some(ADM_NORTH));
    assert_eq!(
        d.executor, COVID_HQ,
        "first РОИВ by code: covid-hq < minzdrav"
    );
    assert!(
        matches!(d.reason, RouteReason::RegionalRoiv { ref category, .. } if category.0 == "covid")
    );
    // Disabled per subcategory by an overlay.
    let r = router("[[subcategory]]\nid = \"roads.potholes\"\nby_place_of_submission = false\n");
    let d = route(&r, "roads.potholes", Some(NORTH_VILLAGE), Some(ADM_CITY));
    assert_eq!(d.executor, ADM_NORTH);
    let d = route(&r, "roads.road_signs", Some(NORTH_VILLAGE), Some(ADM_CITY));
    assert_eq!(d.executor, ADM_CITY);
}

#[test]
fn explicit_rules_in_order() {
    let overlay = r#"
[[rule]]
category = "roads"
territory = "city-central"
executor = "a-city-roads"

[[rule]]
subcategory = "roads.potholes"
territory = "city"
executor = "mintrans"

[[rule]]
subcategory = "roads.road_signs"
executor = "cur"

[[rule]]
category = "roads"
executor = "minzdrav"
"#;
    let r = router(overlay);
    // Subcategory rule at an ancestor (city) beats the category rule at the territory itself.
    let d = route(&r, "roads.potholes", Some(CITY_CENTRAL), None);
    assert_eq!(d.executor, MINTRANS);
    assert_eq!(
        d.reason,
        RouteReason::ExplicitRule {
            file: PathBuf::from("demo/routing.toml"),
            line: 7
        }
    );
    // Category rule for the territory beats rules without territory.
    let d = route(&r, "roads.road_signs", Some(CITY_CENTRAL), None);
    assert_eq!(d.executor, CITY_ROADS_DEPT);
    assert!(
        d.reason
            .explain_ru()
            .contains("demo/routing.toml, строка 2"),
        "{}",
        d.reason
    );
    // Ancestor walking for a subcategory rule: city-left is inside the city.
    let d = route(&r, "roads.potholes", Some(CITY_LEFT), None);
    assert_eq!(d.executor, MINTRANS);
    // No territory rule applies: subcategory rule without territory, then category rule.
    let d = route(&r, "roads.road_signs", Some(SOUTH_VILLAGE), None);
    assert_eq!(d.executor, CUR);
    let d = route(&r, "roads.potholes", Some(SOUTH_VILLAGE), None);
    assert_eq!(d.executor, MINZDRAV);
    let d = route(&r, "roads.potholes", None, None);
    assert_eq!(d.executor, MINZDRAV);
}

#[test]
fn overlay_rules_win_over_base_rules() {
    let base = "[[rule]]\ncategory = \"roads\"\nexecutor = \"mintrans\"\n";
    let mut rules =
        parse_routing_rules(base, "rules/routing.toml").unwrap_or_else(|e| panic!("{e}"));
    rules.overlay(
        parse_routing_rules(
            "[[rule]]\ncategory = \"roads\"\nexecutor = \"adm-south\"\n",
            "demo/routing.toml",
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let r = Router::new(
        &rules,
        &tree(),
        Directory::new(territories(), organisations()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        route(&r, "roads.potholes", Some(NORTH), None).executor,
        ADM_SOUTH
    );
}

#[test]
fn municipal_walks_up_to_the_nearest_omsu() {
    let r = router("");
    let d = route(&r, "roads.potholes", Some(NORTH_VILLAGE), None);
    assert_eq!(d.executor, ADM_NORTH);
    assert_eq!(
        d.reason,
        RouteReason::TerritoryOmsu {
            territory: NORTH,
            territory_name: "Северный район".into()
        }
    );
    assert!(d.reason.explain_ru().contains("«Северный район»"));
    // A settlement with its own ОМСУ.
    assert_eq!(
        route(&r, "roads.potholes", Some(NORTH_TOWN), None).executor,
        ADM_NORTH_TOWN
    );
    // City district → urban okrug; the head administration, not its department.
    assert_eq!(
        route(&r, "roads.potholes", Some(CITY_LEFT), None).executor,
        ADM_CITY
    );
    assert_eq!(
        route(&r, "roads.potholes", Some(SOUTH), None).executor,
        ADM_SOUTH
    );
}

#[test]
fn regional_roiv_by_competence() {
    let r = router("");
    let d = route(&r, "health.medicines", Some(SOUTH_VILLAGE), None);
    assert_eq!(d.executor, MINZDRAV);
    assert_eq!(
        d.reason,
        RouteReason::RegionalRoiv {
            category: CategoryId("health".into()),
            category_name: "Медицина".into()
        }
    );
    assert!(d.reason.explain_ru().contains("«Медицина»"));
    // No РОИВ has «culture»: the territory's ОМСУ, then the region fallback.
    let d = route(&r, "culture.other", Some(SOUTH_VILLAGE), None);
    assert_eq!(d.executor, ADM_SOUTH);
    let d = route(&r, "culture.other", None, None);
    assert_eq!((d.executor, d.reason), (CUR, RouteReason::RegionFallback));
}

#[test]
fn institution_of_territory_else_regional() {
    let r = router("");
    // The clinic serves the whole north district: found at the ancestor.
    let d = route(&r, "health.appointments", Some(NORTH_VILLAGE), None);
    assert_eq!(d.executor, CLINIC);
    assert!(matches!(
        d.reason,
        RouteReason::InstitutionOfTerritory {
            territory: NORTH,
            ..
        }
    ));
    assert!(
        d.reason
            .explain_ru()
            .contains("учреждение территории «Северный район»")
    );
    // No clinic in the south: the health РОИВ.
    let d = route(&r, "health.appointments", Some(SOUTH_VILLAGE), None);
    assert_eq!(d.executor, MINZDRAV);
    assert_eq!(
        route(&r, "education.school_meals", Some(CITY_CENTRAL), None).executor,
        SCHOOL
    );
    // The school is in the central district only, not in its sibling.
    assert_eq!(
        route(&r, "education.school_meals", Some(CITY_LEFT), None).executor,
        MINOBR
    );
    // Without a territory: no institution, the РОИВ.
    assert_eq!(
        route(&r, "education.school_meals", None, None).executor,
        MINOBR
    );
}

#[test]
fn region_fallback() {
    let r = router("");
    // Municipal without a territory: no ОМСУ to find.
    let d = route(&r, "roads.potholes", None, None);
    assert_eq!(
        (d.executor, d.reason.clone()),
        (CUR, RouteReason::RegionFallback)
    );
    assert!(d.reason.explain_ru().contains("регионального уровня"));
    assert_eq!(r.fallback_executor().map(|o| o.id), Some(CUR));
    // Configured fallback wins over the ЦУР heuristic.
    let r = router("[defaults]\nfallback_executor = \"a-energo\"\n");
    assert_eq!(route(&r, "roads.potholes", None, None).executor, ENERGO);
    assert_eq!(r.fallback_executor().map(|o| o.id), Some(ENERGO));
    // Without any «other» body: the first РОИВ of the region by code.
    let orgs: Vec<_> = organisations()
        .into_iter()
        .filter(|o| o.kind != OrgKind::Other && o.kind != OrgKind::Omsu)
        .collect();
    let r = Router::new(&rules(""), &tree(), Directory::new(territories(), orgs))
        .unwrap_or_else(|e| panic!("{e}"));
    let d = route(&r, "roads.potholes", Some(SOUTH_VILLAGE), None);
    assert_eq!(
        (d.executor, d.reason),
        (COVID_HQ, RouteReason::RegionFallback)
    );
    // …which routes, but oversees nothing.
    assert!(r.fallback_executor().is_none());
}

#[test]
fn no_executor_in_an_empty_directory() {
    let r = Router::new(&rules(""), &tree(), Directory::new(territories(), vec![]))
        .unwrap_or_else(|e| panic!("{e}"));
    let sub = SubcategoryId("roads.potholes".into());
    let e = r.route(&RouteRequest {
        subcategory: &sub,
        territory: Some(NORTH_VILLAGE),
        submitted_via: None,
    });
    assert!(
        matches!(e, Err(RouteError::NoExecutor { ref subcategory }) if *subcategory == sub),
        "{e:?}"
    );
}

#[test]
fn unknown_subcategory_and_territory() {
    let r = router("");
    let sub = SubcategoryId("roads.nope".into());
    let e = r.route(&RouteRequest {
        subcategory: &sub,
        territory: None,
        submitted_via: None,
    });
    assert!(
        matches!(e, Err(RouteError::UnknownSubcategory(ref s)) if *s == sub),
        "{e:?}"
    );
    let sub = SubcategoryId("roads.potholes".into());
    let e = r.route(&RouteRequest {
        subcategory: &sub,
        territory: Some(TerritoryId(777)),
        submitted_via: None,
    });
    assert!(
        matches!(e, Err(RouteError::UnknownTerritory(TerritoryId(777)))),
        "{e:?}"
    );
}

#[test]
fn unknown_codes_in_rules_name_file_and_line() {
    let overlay = r#"[defaults]
fallback_executor = "tsur"

[[rule]]
category = "roads"
territory = "atlantis"
executor = "mintrans"

[[rule]]
subcategory = "roads.potholes"
executor = "minroads"
"#;
    let e = Router::new(
        &rules(overlay),
        &tree(),
        Directory::new(territories(), organisations()),
    )
    .err()
    .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "demo/routing.toml:2:21: unknown organisation code \"tsur\"\n\
             demo/routing.toml:6:13: unknown territory code \"atlantis\"\n\
             demo/routing.toml:11:12: unknown organisation code \"minroads\""
        )
    );
    // Unknown categories are reported through the rules crate, also with file:line.
    let e = Router::new(
        &rules("[[rule]]\ncategory = \"roadz\"\nexecutor = \"mintrans\"\n"),
        &tree(),
        Directory::new(territories(), organisations()),
    )
    .err()
    .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("demo/routing.toml:2:12: [[rule]] refers to unknown category \"roadz\"")
    );
}

#[test]
fn cyclic_territories_do_not_hang() {
    let mut ts = territories();
    // north's parent points at its own settlement: a cycle.
    if let Some(t) = ts.iter_mut().find(|t| t.id == NORTH) {
        t.parent = Some(NORTH_VILLAGE);
    }
    let d = Directory::new(ts, organisations());
    assert_eq!(d.ancestors(NORTH_VILLAGE), vec![NORTH_VILLAGE, NORTH]);
    let r = Router::new(&rules(""), &tree(), d).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        route(&r, "roads.potholes", Some(NORTH_VILLAGE), None).executor,
        ADM_NORTH
    );
    // The chain no longer reaches the region, so the region's РОИВ does not qualify: the
    // regional level falls back to the territory's ОМСУ.
    assert_eq!(
        route(&r, "health.medicines", Some(NORTH_VILLAGE), None).executor,
        ADM_NORTH
    );
}

#[test]
fn real_rules_route_on_the_test_region() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let rules = RulesDir::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let r = Router::new(
        rules.routing(),
        rules.tree(),
        Directory::new(territories(), organisations()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Every subcategory of the real tree routes somewhere, with and without territory.
    for s in rules.tree().subcategories() {
        for t in [None, Some(NORTH_VILLAGE), Some(CITY_LEFT)] {
            let d = r.route(&RouteRequest {
                subcategory: &s.id,
                territory: t,
                submitted_via: Some(ADM_SOUTH),
            });
            assert!(d.is_ok(), "{}: {d:?}", s.id);
        }
    }
    assert_eq!(
        route(&r, "roads.potholes", Some(NORTH_VILLAGE), None).executor,
        ADM_NORTH
    );
    assert_eq!(
        route(&r, "health.appointments", Some(NORTH_VILLAGE), None).executor,
        CLINIC
    );
    // Mobilisation: never the widget owner; no РОИВ has the competence here, so the ОМСУ of the
    // territory, or the ЦУР without a territory.
    assert_eq!(
        route(
            &r,
            "mobilisation.payments",
            Some(NORTH_VILLAGE),
            Some(ADM_SOUTH)
        )
        .executor,
        ADM_NORTH
    );
    assert_eq!(
        route(&r, "mobilisation.payments", None, Some(ADM_SOUTH)).executor,
        CUR
    );
}
