//! The real `rules/` directory of the repository loads and meets the project's requirements.

use std::collections::HashSet;
use std::path::PathBuf;

use otklik_domain::{CategoryId, SubcategoryId};
use otklik_rules::{Level, RuleTarget, RulesDir, is_valid_subcategory_id, load_category_tree};

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

fn load() -> RulesDir {
    match RulesDir::load(rules_dir()) {
        Ok(r) => r,
        Err(e) => panic!("rules/ does not load:\n{e}"),
    }
}

#[test]
fn category_tree_meets_requirements() {
    let rules = load();
    let tree = rules.tree();
    assert!(tree.categories().len() >= 31, "{}", tree.categories().len());
    assert!(
        tree.subcategories().len() >= 300,
        "{}",
        tree.subcategories().len()
    );
    assert!(tree.fast_track_count() >= 20, "{}", tree.fast_track_count());
    for s in tree.subcategories() {
        assert!((1..=30).contains(&s.deadline_days), "{}", s.id);
        assert!(is_valid_subcategory_id(&s.id.0), "{}", s.id);
        if let Some(f) = s.fast_track {
            assert!(f.deadline_days < s.deadline_days, "{}", s.id);
        }
    }
    for c in tree.categories() {
        assert!(
            tree.children(&c.id).count() > 0,
            "{} has no subcategories",
            c.id
        );
    }
}

#[test]
fn fixed_category_ids_are_present() {
    let tree =
        load_category_tree(rules_dir().join("categories.toml")).unwrap_or_else(|e| panic!("{e}"));
    let fixed = [
        ("roads", "Автомобильные дороги"),
        ("improvement", "Благоустройство"),
        ("veterinary", "Ветеринария"),
        ("water", "Водоснабжение"),
        ("gas", "Газоснабжение"),
        ("yards", "Дворы и территории общего пользования"),
        ("other", "Иное"),
        ("it", "Информационные технологии"),
        ("culture", "Культура"),
        ("forestry", "Лесное хозяйство"),
        ("mfc", "МФЦ, Мои документы"),
        ("apartment_buildings", "Многоквартирные дома"),
        ("waste", "Мусор"),
        ("education", "Образование"),
        ("catering", "Общественное питание"),
        ("transport", "Общественный транспорт"),
        ("parks", "Парки культуры и отдыха"),
        ("utility_bills", "Плата за ЖКУ"),
        ("funeral", "Погребение и похоронное дело"),
        ("gosuslugi", "Портал госуслуг"),
        ("nature", "Природа, Экология"),
        ("communications", "Связь и телевидение"),
        ("agriculture", "Сельское хозяйство и охота"),
        ("social", "Социальное обслуживание и защита"),
        ("construction", "Строительство"),
        ("heating", "Теплоснабжение"),
        ("trade", "Торговля"),
        ("sport", "Физическая культура и спорт"),
        ("economy", "Экономика и бизнес"),
        ("electricity", "Электроснабжение"),
        ("health", "Медицина"),
    ];
    assert_eq!(fixed.len(), 31);
    for (id, name) in fixed {
        let c = tree.category(&CategoryId(id.into()));
        assert_eq!(c.map(|c| c.name.as_str()), Some(name), "{id}");
    }
    let names: HashSet<_> = tree.categories().iter().map(|c| c.name.as_str()).collect();
    assert!(!names.contains("Отчет правительства 2020"));
    assert!(!names.contains("медицина"));
}

#[test]
fn typical_fast_tracks() {
    let tree = load().into_parts().0;
    for id in [
        "roads.potholes",
        "roads.snow_removal",
        "roads.road_lighting",
        "yards.manholes",
        "yards.roof_ice",
        "yards.street_lighting",
        "apartment_buildings.pipeline_accident",
        "apartment_buildings.icicles",
    ] {
        let s = tree.subcategory(&SubcategoryId(id.into()));
        let days = s.and_then(|s| s.fast_track).map(|f| f.deadline_days);
        assert!(days.is_some_and(|d| (1..=5).contains(&d)), "{id}: {days:?}");
    }
    // Typos of the source are fixed.
    let names: HashSet<_> = tree
        .subcategories()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert!(names.contains("Пешеходные переходы"));
    assert!(!names.contains("Пещеходные переходы"));
    assert!(tree.subcategories().iter().all(|s| !s.name.contains('O')));
}

#[test]
fn routing_references_known_categories_only() {
    let rules = load();
    rules
        .routing()
        .validate(rules.tree())
        .unwrap_or_else(|e| panic!("{e}"));
    for e in rules.routing().level_entries() {
        match &e.target {
            RuleTarget::Category(c) => assert!(rules.tree().category(c).is_some(), "{c}"),
            RuleTarget::Subcategory(s) => assert!(rules.tree().subcategory(s).is_some(), "{s}"),
        }
    }
    // Every category has an explicit level entry in the generic file.
    for c in rules.tree().categories() {
        assert!(
            rules
                .routing()
                .level_entries()
                .iter()
                .any(|e| e.target == RuleTarget::Category(c.id.clone())),
            "no level for {}",
            c.id
        );
    }
    let sub = |id: &str| {
        rules
            .tree()
            .subcategory(&SubcategoryId(id.into()))
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(
        rules.routing().level_for(sub("roads.potholes")),
        Level::Municipal
    );
    assert_eq!(
        rules.routing().level_for(sub("health.medicines")),
        Level::Regional
    );
    assert_eq!(
        rules.routing().level_for(sub("health.appointments")),
        Level::Institution
    );
    assert!(
        !rules
            .routing()
            .by_place_of_submission_for(sub("mobilisation.payments"))
    );
    assert!(
        !rules
            .routing()
            .by_place_of_submission_for(sub("covid.testing"))
    );
    assert!(
        rules
            .routing()
            .by_place_of_submission_for(sub("roads.potholes"))
    );

    let s = rules.summary();
    assert_eq!(s.categories, rules.tree().categories().len());
    assert_eq!(s.routing_rules, 0);
    assert!(s.routing_levels >= 37);
    println!("{s}");
}
