//! The shipped `rules/keywords/` loads against the real category tree and covers every
//! subcategory with enough rules.

use std::collections::HashSet;
use std::path::PathBuf;

use otklik_domain::{CategoryId, SubcategoryId};
use otklik_rules::{
    KeywordRules, RulesDir, check_coverage, load_category_tree, load_keyword_rules,
};

/// Fewest terms + phrases the shipped rules give each subcategory.
const MIN_RULES_PER_SUBCATEGORY: usize = 3;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

fn load() -> (otklik_domain::CategoryTree, KeywordRules) {
    let tree =
        load_category_tree(rules_dir().join("categories.toml")).unwrap_or_else(|e| panic!("{e}"));
    let rules = load_keyword_rules(rules_dir().join("keywords"), &tree)
        .unwrap_or_else(|e| panic!("rules/keywords does not load:\n{e}"));
    (tree, rules)
}

#[test]
fn shipped_keywords_cover_every_subcategory() {
    let (tree, rules) = load();
    let missing = check_coverage(&rules, &tree);
    assert!(missing.is_empty(), "no keyword rules for {missing:?}");
    for s in tree.subcategories() {
        let k = rules
            .subcategory(&s.id)
            .unwrap_or_else(|| panic!("{} has no entry", s.id));
        assert!(
            k.keywords.rule_count() >= MIN_RULES_PER_SUBCATEGORY,
            "{} has only {} terms and phrases",
            s.id,
            k.keywords.rule_count()
        );
    }
    // One file per category, named after it, in the category order of the tree.
    let ids: Vec<&CategoryId> = rules.categories().iter().map(|c| &c.id).collect();
    let tree_ids: HashSet<&CategoryId> = tree.categories().iter().map(|c| &c.id).collect();
    assert_eq!(ids.len(), tree.categories().len());
    assert!(ids.iter().all(|id| tree_ids.contains(id)));
    for c in rules.categories() {
        let name = c.file.file_name().and_then(|n| n.to_str());
        assert_eq!(name, Some(format!("{}.toml", c.id).as_str()));
    }

    let s = rules.summary();
    assert_eq!(s.files, tree.categories().len());
    assert_eq!(s.subcategories, tree.subcategories().len());
    assert!(s.terms >= 3000, "{s}");
    assert!(s.phrases >= 5000, "{s}");
    assert!(s.negatives >= 500, "{s}");
    println!("{s}");
}

#[test]
fn every_file_documents_the_format() {
    let dir = rules_dir().join("keywords");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_else(|e| panic!("{e}"));
    for needle in [
        "[category]",
        "[[subcategory]]",
        "negative",
        "boost",
        "min_score",
        "~N",
    ] {
        assert!(
            readme.contains(needle),
            "README.md does not explain {needle}"
        );
    }
    let (_, rules) = load();
    for c in rules.categories() {
        let text = std::fs::read_to_string(&c.file).unwrap_or_else(|e| panic!("{e}"));
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("# Keywords for category {} («", c.id)),
            "{}: {first}",
            c.file.display()
        );
        assert!(text.contains("negative"), "{}", c.file.display());
    }
}

#[test]
fn rules_dir_loads_the_keywords_too() {
    let rules = RulesDir::load(rules_dir()).unwrap_or_else(|e| panic!("{e}"));
    let keywords = rules
        .keywords()
        .unwrap_or_else(|| panic!("rules/keywords not loaded"));
    assert_eq!(
        rules.summary().keyword_rules,
        rules.tree().subcategories().len()
    );
    assert!(check_coverage(keywords, rules.tree()).is_empty());
    assert!(rules.summary().to_string().contains("keywords: "));
}

fn has_term(rules: &KeywordRules, sub: &str, word: &str) -> bool {
    rules
        .subcategory(&SubcategoryId(sub.into()))
        .is_some_and(|k| k.keywords.terms.iter().any(|t| t.value == word))
}

fn has_phrase(rules: &KeywordRules, sub: &str, phrase: &str) -> bool {
    rules
        .subcategory(&SubcategoryId(sub.into()))
        .is_some_and(|k| {
            k.keywords
                .phrases
                .iter()
                .any(|p| p.value.to_string() == phrase)
        })
}

fn has_negative(rules: &KeywordRules, sub: &str, phrase: &str) -> bool {
    rules
        .subcategory(&SubcategoryId(sub.into()))
        .is_some_and(|k| {
            k.keywords
                .negatives
                .iter()
                .any(|p| p.value.to_string() == phrase)
        })
}

#[test]
fn typical_vocabulary_is_present() {
    let (_, rules) = load();
    for w in ["яма", "ямы", "выбоина", "колдобина"] {
        assert!(has_term(&rules, "roads.potholes", w), "{w}");
    }
    assert!(has_phrase(&rules, "roads.potholes", "дыра в асфальте~1"));
    for w in ["сугробы", "гололед", "наледь"] {
        assert!(has_term(&rules, "roads.snow_removal", w), "{w}");
    }
    assert!(has_phrase(&rules, "roads.snow_removal", "снег не убран~1"));
    assert!(has_phrase(&rules, "roads.snow_removal", "не чистят~1"));
    // Confusable subcategories are kept apart by negatives.
    assert!(has_negative(&rules, "roads.potholes", "выгребная яма"));
    assert!(has_negative(&rules, "roads.potholes", "во дворе"));
    assert!(has_negative(&rules, "roads.road_lighting", "во дворе"));
    assert!(has_negative(&rules, "yards.street_lighting", "на трассе"));
    assert!(has_negative(
        &rules,
        "electricity.power_outage",
        "не горят фонари~2"
    ));
    assert!(has_negative(&rules, "water.standpipe", "газовая колонка"));
    // `.other` entries are weak fallbacks.
    for c in rules.categories() {
        for s in &c.subcategories {
            if s.id.0.ends_with(".other") {
                assert!(s.keywords.boost < 1.0, "{}", s.id);
            }
        }
    }
}
