//! Every kind of bad input gives a file:line:column error, never a panic.

use otklik_domain::SubcategoryId;
use otklik_rules::{
    RulesDir, RulesError, load_category_tree, parse_category_tree, parse_routing_rules,
};

const F: &str = "rules/categories.toml";
const R: &str = "rules/routing.toml";

/// A valid two-category tree; tests append or tweak.
const TREE: &str = r#"[[category]]
id = "roads"
name = "Автомобильные дороги"

[[category]]
id = "health"
name = "Медицина"

[[subcategory]]
id = "roads.potholes"
category = "roads"
name = "Ямы, выбоины"
fast_track_days = 3

[[subcategory]]
id = "health.ambulance"
category = "health"
name = "Вызов скорой помощи"
deadline_days = 10
"#;

fn tree_err(text: &str) -> String {
    match parse_category_tree(text, F) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn routing_err(text: &str) -> String {
    let tree = parse_category_tree(TREE, F).unwrap_or_else(|e| panic!("{e}"));
    match parse_routing_rules(text, R).and_then(|r| r.validate(&tree).map(|()| r)) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn base_tree_is_valid() {
    let tree = parse_category_tree(TREE, F).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tree.subcategories().len(), 2);
    let amb = tree.subcategory(&SubcategoryId("health.ambulance".into()));
    assert_eq!(amb.map(|s| s.deadline_days), Some(10));
}

#[test]
fn toml_syntax_error() {
    let e = tree_err("[[category]]\nid = \"roads\"\nname = \"Дороги\n");
    assert_eq!(
        e,
        "rules/categories.toml:3:15: invalid basic string, expected `\"`"
    );
    let e = tree_err("[[category]\n");
    assert!(e.starts_with("rules/categories.toml:1:12: "), "{e}");
}

#[test]
fn wrong_type_and_missing_field() {
    let e = tree_err(&TREE.replace("deadline_days = 10", "deadline_days = \"ten\""));
    assert!(
        e.starts_with("rules/categories.toml:19:17: invalid type"),
        "{e}"
    );
    let e = tree_err(&TREE.replace("name = \"Медицина\"\n", ""));
    assert_eq!(e, "rules/categories.toml:5:1: missing field `name`");
}

#[test]
fn unknown_field() {
    let e = tree_err(&TREE.replace("fast_track_days = 3", "fast_track = 3"));
    assert!(
        e.starts_with("rules/categories.toml:13:1: unknown field `fast_track`"),
        "{e}"
    );
    let e = tree_err(&format!("{TREE}\n[[categorie]]\nid = \"x\"\n"));
    assert!(
        e.starts_with("rules/categories.toml:21:3: unknown field `categorie`"),
        "{e}"
    );
}

#[test]
fn duplicate_category_id() {
    let e = tree_err(&format!(
        "{TREE}\n[[category]]\nid = \"roads\"\nname = \"Дороги ещё раз\"\n"
    ));
    assert_eq!(
        e,
        "rules/categories.toml:22:6: duplicate category id \"roads\" (first defined at line 2)"
    );
}

#[test]
fn duplicate_subcategory_id() {
    let e = tree_err(&format!(
        "{TREE}\n[[subcategory]]\nid = \"roads.potholes\"\ncategory = \"roads\"\nname = \"Ямы\"\n"
    ));
    assert_eq!(
        e,
        "rules/categories.toml:22:6: duplicate subcategory id \"roads.potholes\" (first defined at line 10)"
    );
}

#[test]
fn dangling_parent() {
    let e = tree_err(&format!(
        "{TREE}\n[[subcategory]]\nid = \"nope.thing\"\ncategory = \"nope\"\nname = \"Что-то\"\n"
    ));
    assert_eq!(
        e,
        "rules/categories.toml:23:12: subcategory \"nope.thing\" refers to unknown category \"nope\""
    );
}

#[test]
fn bad_ids() {
    let e = tree_err(&TREE.replace("id = \"health\"", "id = \"Health-2\""));
    assert!(
        e.contains("rules/categories.toml:6:6: bad category id \"Health-2\""),
        "{e}"
    );
    let e = tree_err(&TREE.replace("\"roads.potholes\"", "\"roads.Ямы\""));
    assert_eq!(
        e,
        "rules/categories.toml:10:6: bad subcategory id \"roads.Ямы\": expected <category id>.<slug>, ASCII lowercase [a-z0-9_]"
    );
    let e = tree_err(&TREE.replace("\"roads.potholes\"", "\"health.potholes\""));
    assert_eq!(
        e,
        "rules/categories.toml:10:6: subcategory id \"health.potholes\" must start with its category id \"roads.\""
    );
}

#[test]
fn empty_names() {
    let e = tree_err(&TREE.replace("\"Ямы, выбоины\"", "\"  \""));
    assert_eq!(
        e,
        "rules/categories.toml:12:8: empty name of subcategory \"roads.potholes\""
    );
    let e = tree_err(&TREE.replace("\"Медицина\"", "\"\""));
    assert_eq!(
        e,
        "rules/categories.toml:7:8: empty name of category \"health\""
    );
}

#[test]
fn deadlines() {
    let e = tree_err(&TREE.replace("deadline_days = 10", "deadline_days = 0"));
    assert_eq!(
        e,
        "rules/categories.toml:19:17: deadline_days of subcategory \"health.ambulance\" must be 1..=365, got 0"
    );
    let e = tree_err(&TREE.replace("deadline_days = 10", "deadline_days = 400"));
    assert!(e.starts_with("rules/categories.toml:19:17: "), "{e}");
    assert!(e.ends_with("got 400"), "{e}");
    let e = tree_err(&TREE.replace("deadline_days = 10", "deadline_days = -1"));
    assert!(e.ends_with("got -1"), "{e}");
}

#[test]
fn fast_track_days() {
    let e = tree_err(&TREE.replace("fast_track_days = 3", "fast_track_days = 30"));
    assert_eq!(
        e,
        "rules/categories.toml:13:19: fast_track_days (30) of subcategory \"roads.potholes\" must be shorter than its deadline_days (30)"
    );
    let e = tree_err(&TREE.replace("fast_track_days = 3", "fast_track_days = 0"));
    assert!(
        e.starts_with("rules/categories.toml:13:19: fast_track_days of subcategory"),
        "{e}"
    );
    let e = tree_err(&TREE.replace(
        "deadline_days = 10",
        "deadline_days = 10\nfast_track_days = 10",
    ));
    assert!(
        e.starts_with("rules/categories.toml:20:19: fast_track_days (10)"),
        "{e}"
    );
}

#[test]
fn category_without_subcategories_and_empty_file() {
    let e = tree_err(&format!(
        "{TREE}\n[[category]]\nid = \"gas\"\nname = \"Газ\"\n"
    ));
    assert_eq!(
        e,
        "rules/categories.toml:22:6: category \"gas\" has no subcategories"
    );
    let e = tree_err("# nothing\n");
    assert_eq!(e, "rules/categories.toml:1:1: no [[category]] defined");
}

#[test]
fn all_errors_collected_in_line_order() {
    let text = TREE
        .replace("deadline_days = 10", "deadline_days = 0")
        .replace("\"Медицина\"", "\"\"")
        .replace("category = \"roads\"", "category = \"nope\"");
    let err = parse_category_tree(&text, F).err();
    let Some(err) = err else { panic!("accepted") };
    let lines: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
    // The moved subcategory also leaves «roads» empty.
    assert_eq!(lines.len(), 5, "{err}");
    let at: Vec<usize> = err
        .errors()
        .iter()
        .filter_map(|e| e.location().map(|(_, l, _)| l))
        .collect();
    assert_eq!(at, vec![2, 7, 10, 11, 19], "{err}");
    assert!(matches!(err, RulesError::Many(_)));
    assert_eq!(err.to_string().lines().count(), 5);
}

#[test]
fn routing_unknown_level() {
    let e = routing_err("[[category]]\nid = \"roads\"\nlevel = \"federal\"\n");
    assert!(
        e.starts_with("rules/routing.toml:3:9: unknown variant `federal`, expected one of"),
        "{e}"
    );
    let e = routing_err("[defaults]\nlevel = \"village\"\n");
    assert!(
        e.starts_with("rules/routing.toml:2:9: unknown variant `village`"),
        "{e}"
    );
}

#[test]
fn routing_unknown_field() {
    let e = routing_err("[[rule]]\ncategory = \"roads\"\nexecutor = \"x\"\nterritry = \"t\"\n");
    assert!(
        e.starts_with("rules/routing.toml:4:1: unknown field `territry`"),
        "{e}"
    );
    let e = routing_err("[defaults]\nlevl = \"municipal\"\n");
    assert!(
        e.starts_with("rules/routing.toml:2:1: unknown field `levl`"),
        "{e}"
    );
}

#[test]
fn routing_unknown_category_and_subcategory() {
    let e = routing_err(
        "[[category]]\nid = \"roadz\"\nlevel = \"regional\"\n\n\
         [[rule]]\nsubcategory = \"roads.holes\"\nexecutor = \"minroads\"\n",
    );
    assert_eq!(
        e,
        "rules/routing.toml:2:6: [[category]] entry refers to unknown category \"roadz\"\n\
         rules/routing.toml:6:15: [[rule]] refers to unknown subcategory \"roads.holes\""
    );
}

#[test]
fn routing_rule_shape() {
    let e = routing_err(
        "[[rule]]\ncategory = \"roads\"\nsubcategory = \"roads.potholes\"\nexecutor = \"x\"\n",
    );
    assert_eq!(
        e,
        "rules/routing.toml:1:1: a [[rule]] needs exactly one of `category` or `subcategory`"
    );
    let e = routing_err("[[rule]]\ncategory = \"roads\"\n");
    assert_eq!(e, "rules/routing.toml:1:1: missing field `executor`");
    let e = routing_err("[[rule]]\ncategory = \"roads\"\nexecutor = \" \"\n");
    assert_eq!(e, "rules/routing.toml:3:12: empty executor");
}

#[test]
fn routing_duplicates() {
    let e = routing_err(
        "[[rule]]\ncategory = \"roads\"\nterritory = \"t\"\nexecutor = \"a\"\n\n\
         [[rule]]\ncategory = \"roads\"\nterritory = \"t\"\nexecutor = \"b\"\n",
    );
    assert_eq!(
        e,
        "rules/routing.toml:6:1: duplicate [[rule]] for category \"roads\" in territory \"t\" (first at line 1)"
    );
    let e = routing_err(
        "[[subcategory]]\nid = \"roads.potholes\"\nlevel = \"regional\"\n\n\
         [[subcategory]]\nid = \"roads.potholes\"\nlevel = \"municipal\"\n",
    );
    assert_eq!(
        e,
        "rules/routing.toml:6:6: duplicate [[subcategory]] entry for subcategory \"roads.potholes\" (first at line 2)"
    );
    let e = routing_err("[[category]]\nid = \"roads\"\n");
    assert_eq!(
        e,
        "rules/routing.toml:2:6: [[category]] entry for category \"roads\" sets neither level nor by_place_of_submission"
    );
}

#[test]
fn routing_rule_keeps_positions_for_the_router() {
    let r = parse_routing_rules(
        "# header\n[[rule]]\nsubcategory = \"roads.potholes\"\nterritory = \"irkutsk\"\nexecutor = \"irk-roads\"\n",
        "demo/routing.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rule = &r.rules()[0];
    assert_eq!(rule.origin.to_string(), "demo/routing.toml:2:1");
    assert_eq!(rule.executor.origin.to_string(), "demo/routing.toml:5:12");
    assert_eq!(
        rule.territory.as_ref().map(|t| t.origin.to_string()),
        Some("demo/routing.toml:4:13".to_owned())
    );
}

#[test]
fn overlay_wins() {
    let tree = parse_category_tree(TREE, F).unwrap_or_else(|e| panic!("{e}"));
    let mut base = parse_routing_rules(
        "[defaults]\nlevel = \"municipal\"\n\n[[category]]\nid = \"health\"\nlevel = \"regional\"\n\n\
         [[rule]]\ncategory = \"roads\"\nexecutor = \"base\"\n",
        R,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let region = parse_routing_rules(
        "[defaults]\nfallback_executor = \"cur\"\n\n[[category]]\nid = \"health\"\nlevel = \"institution\"\n\n\
         [[rule]]\ncategory = \"roads\"\nexecutor = \"region\"\n",
        "demo/routing.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    base.overlay(region);
    assert!(base.validate(&tree).is_ok());
    let amb = tree
        .subcategory(&SubcategoryId("health.ambulance".into()))
        .unwrap_or_else(|| panic!("ambulance"));
    assert_eq!(base.level_for(amb), otklik_rules::Level::Institution);
    assert_eq!(base.defaults().level(), otklik_rules::Level::Municipal);
    assert_eq!(
        base.defaults()
            .fallback_executor
            .as_ref()
            .map(|f| f.value.as_str()),
        Some("cur")
    );
    let execs: Vec<_> = base
        .rules()
        .iter()
        .map(|r| r.executor.value.as_str())
        .collect();
    assert_eq!(execs, ["region", "base"]);
    assert_eq!(base.files().len(), 2);
}

#[test]
fn rules_dir_reports_both_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("categories.toml"),
        TREE.replace("deadline_days = 10", "deadline_days = 0"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("routing.toml"),
        "[[category]]\nid = \"roads\"\nlevel = \"x\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = RulesDir::load(dir.path()).err().map(|e| e.to_string());
    let err = err.unwrap_or_else(|| panic!("accepted"));
    assert!(
        err.contains("categories.toml:19:17: deadline_days"),
        "{err}"
    );
    assert!(
        err.contains("routing.toml:3:9: unknown variant `x`"),
        "{err}"
    );

    // A good directory loads, and an overlay with an unknown subcategory is rejected.
    std::fs::write(dir.path().join("categories.toml"), TREE).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("routing.toml"),
        "[defaults]\nlevel = \"regional\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut rules = RulesDir::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let s = rules.summary();
    assert_eq!((s.categories, s.subcategories, s.fast_tracks), (2, 2, 1));
    let overlay = dir.path().join("region.toml");
    std::fs::write(
        &overlay,
        "[[subcategory]]\nid = \"roads.nope\"\nlevel = \"municipal\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = rules
        .add_routing_file(&overlay)
        .err()
        .map(|e| e.to_string());
    assert!(
        e.as_deref().is_some_and(|e| e.ends_with(
            "region.toml:2:6: [[subcategory]] entry refers to unknown subcategory \"roads.nope\""
        )),
        "{e:?}"
    );
}

#[test]
fn missing_file_is_an_io_error() {
    let e = load_category_tree("/nonexistent/categories.toml").err();
    assert!(matches!(e, Some(RulesError::Io { .. })), "{e:?}");
    let e = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        e.starts_with("/nonexistent/categories.toml: cannot read: "),
        "{e}"
    );
}
