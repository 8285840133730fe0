//! Keyword rules: every kind of bad input gives a file:line:column error, never a panic.

use otklik_domain::{CategoryId, CategoryTree, SubcategoryId};
use otklik_rules::{
    DEFAULT_BOOST, KeywordRules, RulesDir, RulesError, check_coverage, load_keyword_rules,
    parse_category_tree, parse_keyword_file,
};

const F: &str = "rules/keywords/roads.toml";

const TREE: &str = r#"[[category]]
id = "roads"
name = "Автомобильные дороги"

[[category]]
id = "yards"
name = "Дворы"

[[subcategory]]
id = "roads.potholes"
category = "roads"
name = "Ямы, выбоины"

[[subcategory]]
id = "roads.snow_removal"
category = "roads"
name = "Уборка снега"

[[subcategory]]
id = "yards.potholes"
category = "yards"
name = "Ямы во дворах"
"#;

/// A valid keyword file for `roads`; tests tweak it. Line numbers are in the comments.
const ROADS: &str = r#"# Keywords for category roads («Автомобильные дороги»).
[category]
id = "roads"
terms = ["дорога", "асфальт"]

[[subcategory]]
id = "roads.potholes"
terms = ["Яма", "выбоина", "дорож*"]
phrases = ["яма на дороге", "разбитая   дорога~2"]
negative = ["выгребная яма", "во дворе"]
boost = 1.5

[[subcategory]]
id = "roads.snow_removal"
phrases = ["снег не убран", "не чистят~1", "гололёд на тротуаре"]
min_score = 0.5
"#;
// Lines: 2 [category], 3 id, 4 terms, 6 [[subcategory]], 7 id, 8 terms, 9 phrases,
// 10 negative, 11 boost, 13 [[subcategory]], 14 id, 15 phrases, 16 min_score.

const YARDS: &str = r#"# Keywords for category yards («Дворы»).
[category]
id = "yards"

[[subcategory]]
id = "yards.potholes"
terms = ["яма", "ямы", "выбоины"]
phrases = ["ямы во дворе"]
"#;

fn tree() -> CategoryTree {
    parse_category_tree(TREE, "rules/categories.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn err_in(text: &str, file: &str) -> String {
    match parse_keyword_file(text, file, &tree()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn err(text: &str) -> String {
    err_in(text, F)
}

/// `ROADS` with `from` (which must occur once) replaced by `to`.
fn roads_with(from: &str, to: &str) -> String {
    assert_eq!(ROADS.matches(from).count(), 1, "{from}");
    ROADS.replace(from, to)
}

#[test]
fn valid_file_keeps_values_and_positions() {
    let c = parse_keyword_file(ROADS, F, &tree()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.id, CategoryId("roads".into()));
    assert_eq!(c.file.to_str(), Some(F));
    assert_eq!(c.keywords.origin.to_string(), format!("{F}:3:6"));
    assert_eq!(c.keywords.terms.len(), 2);
    assert_eq!(c.keywords.boost, DEFAULT_BOOST);
    assert_eq!(c.subcategories.len(), 2);

    let p = &c.subcategories[0];
    assert_eq!(p.id, SubcategoryId("roads.potholes".into()));
    let terms: Vec<&str> = p.keywords.terms.iter().map(|t| t.value.as_str()).collect();
    assert_eq!(terms, ["яма", "выбоина", "дорож*"]); // lowercased, wildcard kept
    assert_eq!(p.keywords.terms[0].origin.to_string(), format!("{F}:8:10"));
    assert_eq!(p.keywords.terms[1].origin.to_string(), format!("{F}:8:17"));
    let phrase = &p.keywords.phrases[1];
    assert_eq!(phrase.value.words, ["разбитая", "дорога"]);
    assert_eq!(phrase.value.slop, 2);
    assert_eq!(phrase.value.to_string(), "разбитая дорога~2");
    assert_eq!(phrase.origin.to_string(), format!("{F}:9:29"));
    assert!(p.keywords.phrases[0].value.slop == 0);
    let neg: Vec<String> = p
        .keywords
        .negatives
        .iter()
        .map(|n| n.value.to_string())
        .collect();
    assert_eq!(neg, ["выгребная яма", "во дворе"]);
    assert_eq!(p.keywords.boost, 1.5);
    assert_eq!(p.keywords.min_score, None);
    assert_eq!(p.keywords.rule_count(), 5);

    let s = &c.subcategories[1];
    assert!(s.keywords.terms.is_empty());
    assert_eq!(s.keywords.phrases.len(), 3);
    assert_eq!(s.keywords.min_score, Some(0.5));
    assert_eq!(s.keywords.origin.to_string(), format!("{F}:14:6"));
}

#[test]
fn toml_syntax_error() {
    let e = err(&roads_with(r#""асфальт"]"#, r#""асфальт""#));
    assert!(e.starts_with(&format!("{F}:6:1: missing comma")), "{e}");
    let e = err(&roads_with("boost = 1.5", "boost = 1,5"));
    assert!(e.starts_with(&format!("{F}:11:10: ")), "{e}");
    let e = err("[category\nid = \"roads\"\n");
    assert!(e.starts_with(&format!("{F}:1:10: ")), "{e}");
}

#[test]
fn wrong_types_and_missing_fields() {
    let e = err(&roads_with("boost = 1.5", "boost = \"1.5\""));
    assert!(e.starts_with(&format!("{F}:11:9: invalid type")), "{e}");
    let e = err(&roads_with(
        r#"terms = ["дорога", "асфальт"]"#,
        r#"terms = "дорога""#,
    ));
    assert!(e.starts_with(&format!("{F}:4:9: invalid type")), "{e}");
    let e = err(&roads_with(r#"id = "roads.snow_removal""#, ""));
    assert!(
        e.starts_with(&format!("{F}:13:1: missing field `id`")),
        "{e}"
    );
    let e = err("# only a comment\n");
    assert!(
        e.starts_with(&format!("{F}:1:1: missing field `category`")),
        "{e}"
    );
}

#[test]
fn unknown_fields() {
    let e = err(&roads_with("boost = 1.5", "weight = 1.5"));
    assert!(
        e.starts_with(&format!("{F}:11:1: unknown field `weight`")),
        "{e}"
    );
    let e = err(&roads_with(
        r#"id = "roads""#,
        "id = \"roads\"\nname = \"Дороги\"",
    ));
    assert!(
        e.starts_with(&format!("{F}:4:1: unknown field `name`")),
        "{e}"
    );
    let e = err(&format!(
        "{ROADS}\n[[subcategorie]]\nid = \"roads.potholes\"\n"
    ));
    assert!(
        e.starts_with(&format!("{F}:18:3: unknown field `subcategorie`")),
        "{e}"
    );
    let e = err(&roads_with("negative = [", "negatives = ["));
    assert!(
        e.starts_with(&format!("{F}:10:1: unknown field `negatives`")),
        "{e}"
    );
}

#[test]
fn unknown_and_bad_category_id() {
    let text = ROADS.replace("id = \"roads\"", "id = \"roadz\"");
    let e = err_in(&text, "rules/keywords/roadz.toml");
    assert_eq!(
        e,
        "rules/keywords/roadz.toml:3:6: unknown category \"roadz\""
    );
    let text = ROADS.replace("id = \"roads\"", "id = \"Roads\"");
    let e = err_in(&text, "rules/keywords/Roads.toml");
    assert_eq!(
        e,
        "rules/keywords/Roads.toml:3:6: bad category id \"Roads\": expected ASCII lowercase [a-z][a-z0-9_]*"
    );
}

#[test]
fn file_name_must_match_category_id() {
    let e = err_in(ROADS, "rules/keywords/road.toml");
    assert_eq!(
        e,
        "rules/keywords/road.toml:3:6: category id \"roads\" does not match the file name \"road.toml\" (expected \"roads.toml\")"
    );
    let e = err_in(YARDS, F);
    assert!(
        e.starts_with(&format!("{F}:3:6: category id \"yards\" does not match")),
        "{e}"
    );
}

#[test]
fn unknown_subcategory() {
    let e = err(&roads_with("\"roads.snow_removal\"", "\"roads.snow\""));
    assert_eq!(e, format!("{F}:14:6: unknown subcategory \"roads.snow\""));
    let e = err(&roads_with("\"roads.snow_removal\"", "\"roads.Снег\""));
    assert_eq!(
        e,
        format!(
            "{F}:14:6: bad subcategory id \"roads.Снег\": expected <category id>.<slug>, ASCII lowercase [a-z0-9_]"
        )
    );
}

#[test]
fn subcategory_in_the_wrong_file() {
    let e = err(&roads_with("\"roads.snow_removal\"", "\"yards.potholes\""));
    assert_eq!(
        e,
        format!(
            "{F}:14:6: subcategory \"yards.potholes\" belongs to category \"yards\", not \"roads\": move it to yards.toml"
        )
    );
}

#[test]
fn duplicate_subcategory() {
    let e = err(&roads_with("\"roads.snow_removal\"", "\"roads.potholes\""));
    assert_eq!(
        e,
        format!("{F}:14:6: duplicate subcategory \"roads.potholes\" (first at line 7)")
    );
}

#[test]
fn empty_terms() {
    let e = err(&roads_with(r#""выбоина""#, r#""""#));
    assert_eq!(e, format!("{F}:8:17: empty term"));
    let e = err(&roads_with(r#""выбоина""#, r#""   ""#));
    assert_eq!(e, format!("{F}:8:17: empty term"));
    let e = err(&roads_with(r#""во дворе""#, r#""	""#));
    assert_eq!(e, format!("{F}:10:30: empty negative"));
    let e = err(&roads_with(r#""не чистят~1""#, r#"" ~1""#));
    assert_eq!(e, format!("{F}:15:29: empty phrase \"~1\""));
}

#[test]
fn bad_characters() {
    let e = err(&roads_with(r#""выбоина""#, r#""выбоина!""#));
    assert_eq!(
        e,
        format!(
            "{F}:8:17: term \"выбоина!\" has the character '!': only letters, digits, spaces, hyphens and * are allowed"
        )
    );
    let e = err(&roads_with(r#""яма на дороге""#, r#""яма, на дороге""#));
    assert!(
        e.starts_with(&format!(
            "{F}:9:12: phrase \"яма, на дороге\" has the character ','"
        )),
        "{e}"
    );
    let e = err(&roads_with(r#""во дворе""#, r#""во дворе/подъезде""#));
    assert!(e.starts_with(&format!("{F}:10:30: negative")), "{e}");
    assert!(e.contains("'/'"), "{e}");
    let e = err(&roads_with(r#""выбоина""#, r#""_яма""#));
    assert!(e.contains("'_'"), "{e}");
    let e = err(&roads_with(r#""яма на дороге""#, r#""яма - дорога""#));
    assert!(
        e.contains("the word \"-\" without letters or digits"),
        "{e}"
    );
}

#[test]
fn bad_proximity() {
    for (bad, shown) in [
        ("разбитая   дорога~11", "~11"),
        ("разбитая   дорога~x", "~x"),
        ("разбитая   дорога~", "~"),
        ("разбитая   дорога~-1", "~-1"),
        ("разбитая   дорога~+2", "~+2"),
        ("разбитая~1 дорога", "~1 дорога"),
        ("разбитая   дорога~2~3", "~2~3"),
    ] {
        let e = err(&roads_with("разбитая   дорога~2", bad));
        assert!(
            e.starts_with(&format!("{F}:9:29: bad proximity \"{shown}\" in phrase ")),
            "{bad}: {e}"
        );
        assert!(e.ends_with("expected ~0 to ~10 at the end"), "{e}");
    }
    let text = roads_with("разбитая   дорога~2", "разбитая дорога~10");
    assert!(
        parse_keyword_file(&text, F, &tree()).is_ok(),
        "~10 is accepted"
    );
    let e = err(&roads_with(r#""выбоина""#, r#""выбоина~1""#));
    assert_eq!(
        e,
        format!(
            "{F}:8:17: term \"выбоина~1\" has a proximity \"~1\": only phrases and negatives take ~N"
        )
    );
    let e = err(&roads_with(r#""во дворе""#, r#""двор~1""#));
    assert_eq!(
        e,
        format!("{F}:10:30: negative \"двор~1\" has one word: a proximity ~N needs two or more")
    );
}

#[test]
fn words_per_list() {
    let e = err(&roads_with(r#""выбоина""#, r#""дыра в асфальте""#));
    assert_eq!(
        e,
        format!("{F}:8:17: term \"дыра в асфальте\" has 3 words: write it in phrases")
    );
    let e = err(&roads_with(r#""яма на дороге""#, r#""колдобина""#));
    assert_eq!(
        e,
        format!("{F}:9:12: phrase \"колдобина\" has one word: write it in terms")
    );
}

#[test]
fn bad_wildcards() {
    for bad in ["до*", "*яма", "до*рога", "дорож**"] {
        let e = err(&roads_with(r#""дорож*""#, &format!("\"{bad}\"")));
        assert!(
            e.starts_with(&format!("{F}:8:28: bad wildcard \"{bad}\" in term")),
            "{bad}: {e}"
        );
    }
    let e = err(&roads_with(r#""яма на дороге""#, r#""дорож* яма""#));
    assert!(
        e.contains("only the last word of a phrase may end with *"),
        "{e}"
    );
    assert!(
        parse_keyword_file(
            &roads_with(r#""яма на дороге""#, r#""яма на дорож*""#),
            F,
            &tree()
        )
        .is_ok()
    );
}

#[test]
fn boost_and_min_score_ranges() {
    for bad in ["0", "0.0", "-1", "10.5", "11", "nan", "inf"] {
        let e = err(&roads_with("boost = 1.5", &format!("boost = {bad}")));
        assert!(
            e.starts_with(&format!(
                "{F}:11:9: boost of subcategory \"roads.potholes\" must be > 0 and <= 10, got "
            )),
            "{bad}: {e}"
        );
    }
    for good in ["10", "0.01", "2"] {
        let text = roads_with("boost = 1.5", &format!("boost = {good}"));
        assert!(parse_keyword_file(&text, F, &tree()).is_ok(), "{good}");
    }
    let e = err(&roads_with("min_score = 0.5", "min_score = -0.5"));
    assert_eq!(
        e,
        format!(
            "{F}:16:13: min_score of subcategory \"roads.snow_removal\" must be a finite number >= 0, got -0.5"
        )
    );
    let e = err(&roads_with(
        "id = \"roads\"\n",
        "id = \"roads\"\nboost = 0\n",
    ));
    assert!(e.contains("boost of category \"roads\" must be > 0"), "{e}");
}

#[test]
fn subcategory_without_rules() {
    let e = err(&roads_with(
        r#"phrases = ["снег не убран", "не чистят~1", "гололёд на тротуаре"]"#,
        r#"negative = ["с крыши"]"#,
    ));
    assert_eq!(
        e,
        format!("{F}:14:6: subcategory \"roads.snow_removal\" has no terms or phrases")
    );
    // The category entry itself may have no terms.
    let text = roads_with(r#"terms = ["дорога", "асфальт"]"#, "");
    assert!(parse_keyword_file(&text, F, &tree()).is_ok());
}

#[test]
fn repeated_items() {
    let e = err(&roads_with(r#""выбоина""#, r#""яма""#));
    assert_eq!(
        e,
        format!("{F}:8:17: duplicate term \"яма\" (first as a term at line 8)")
    );
    // Case, extra spaces, ё and slop do not make a phrase different.
    let e = err(&roads_with(
        r#""гололёд на тротуаре""#,
        r#""гололёд на тротуаре", "Гололед на   тротуаре~3""#,
    ));
    assert_eq!(
        e,
        format!(
            "{F}:15:67: duplicate phrase \"Гололед на   тротуаре~3\" (first as a phrase at line 15)"
        )
    );
    let e = err(&roads_with(r#""во дворе""#, r#""яма""#));
    assert_eq!(
        e,
        format!(
            "{F}:10:30: negative \"яма\" is also a term of subcategory \"roads.potholes\" (line 8)"
        )
    );
    let e = err(&roads_with(r#""во дворе""#, r#""выгребная  яма""#));
    assert!(
        e.starts_with(&format!("{F}:10:30: duplicate negative")),
        "{e}"
    );
}

#[test]
fn all_errors_of_a_file_in_line_order() {
    let text = ROADS
        .replace("id = \"roads\"", "id = \"roadz\"")
        .replace(r#""выбоина""#, r#""""#)
        .replace("boost = 1.5", "boost = 20")
        .replace("\"roads.snow_removal\"", "\"roads.potholes\"");
    let err = parse_keyword_file(&text, F, &tree()).err();
    let Some(err) = err else { panic!("accepted") };
    assert!(matches!(err, RulesError::Many(_)), "{err}");
    let at: Vec<(usize, usize)> = err
        .errors()
        .iter()
        .filter_map(|e| e.location().map(|(_, l, c)| (l, c)))
        .collect();
    // Unknown category and file name mismatch (3:6), empty term, boost, duplicate.
    assert_eq!(at, vec![(3, 6), (3, 6), (8, 17), (11, 9), (14, 6)], "{err}");
    assert_eq!(err.to_string().lines().count(), 5, "{err}");
}

#[test]
fn no_panic_on_any_prefix_or_garbage() {
    let tree = tree();
    for (i, _) in ROADS.char_indices() {
        let _ = parse_keyword_file(&ROADS[..i], F, &tree);
    }
    for text in [
        "",
        "\u{0}",
        "[category]\nid = \"\"\n",
        "[category]\nid = \"roads\"\nterms = [\"\u{301}\", \"ё*\", \"***\", \"~\", \"~~~\"]\n",
        "[category]\nid = \"roads\"\nphrases = [\"a~99999999999999999999\"]\n",
        "[category]\nid = \"roads\"\nboost = 1e999\nmin_score = -1e999\n",
        "[[category]]\nid = \"roads\"\n",
        "category = 5\n",
        "[category]\nid = \"roads\"\n[[subcategory]]\nid = \".\"\n[[subcategory]]\nid = \"roads.\"\n",
    ] {
        let r = parse_keyword_file(text, F, &tree);
        assert!(r.is_err() || text.contains("id = \"roads\""), "{text:?}");
        if let Err(e) = r {
            assert!(e.errors().iter().all(|e| e.location().is_some()), "{e}");
        }
    }
}

#[test]
fn load_a_directory() {
    let tree = tree();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    };
    write("roads.toml", ROADS);
    write("yards.toml", YARDS);
    write("README.md", "not toml [[");
    write(".draft.toml", "not toml [[");
    std::fs::create_dir(dir.path().join("old.toml")).unwrap_or_else(|e| panic!("{e}"));

    let rules = load_keyword_rules(dir.path(), &tree).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.categories().len(), 2);
    assert!(check_coverage(&rules, &tree).is_empty());
    let yp = rules
        .subcategory(&SubcategoryId("yards.potholes".into()))
        .unwrap_or_else(|| panic!("yards.potholes"));
    assert_eq!(yp.keywords.terms.len(), 3);
    assert!(rules.category(&CategoryId("yards".into())).is_some());
    assert_eq!(rules.subcategories().count(), 3);
    let s = rules.summary();
    assert_eq!(
        (s.files, s.subcategories, s.terms, s.phrases, s.negatives),
        (2, 3, 8, 6, 2)
    );
    assert_eq!(
        s.to_string(),
        "2 keyword files, 3 subcategories; 8 terms, 6 phrases, 2 negatives"
    );

    // Coverage: without yards.toml one subcategory has no rules.
    std::fs::remove_file(dir.path().join("yards.toml")).unwrap_or_else(|e| panic!("{e}"));
    let rules = load_keyword_rules(dir.path(), &tree).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        check_coverage(&rules, &tree),
        vec![SubcategoryId("yards.potholes".into())]
    );

    // Errors of every file are reported together, each with its own file name.
    write("yards.toml", &YARDS.replace("\"ямы\"", "\"ямы!\""));
    write("roads.toml", &ROADS.replace("boost = 1.5", "boost = 0"));
    let e = load_keyword_rules(dir.path(), &tree)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("accepted"));
    let roads = dir.path().join("roads.toml");
    let yards = dir.path().join("yards.toml");
    assert!(
        e.contains(&format!("{}:11:9: boost", roads.display())),
        "{e}"
    );
    assert!(
        e.contains(&format!("{}:7:17: term \"ямы!\"", yards.display())),
        "{e}"
    );
    assert_eq!(e.lines().count(), 2, "{e}");

    // A keyword file for a category under another name.
    write("roads.toml", ROADS);
    write("yards.toml", YARDS);
    write("dvory.toml", YARDS);
    let e = load_keyword_rules(dir.path(), &tree)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("accepted"));
    assert!(
        e.contains("dvory.toml:3:6: category id \"yards\" does not match the file name"),
        "{e}"
    );

    // A missing directory is an I/O error naming it.
    let missing = dir.path().join("nope");
    let e = load_keyword_rules(&missing, &tree).err();
    assert!(matches!(e, Some(RulesError::Io { .. })), "{e:?}");
    let e = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        e.starts_with(&format!("{}: cannot read", missing.display())),
        "{e}"
    );
}

#[test]
fn rules_from_parsed_files_reject_duplicates() {
    let tree = tree();
    let a = parse_keyword_file(ROADS, F, &tree).unwrap_or_else(|e| panic!("{e}"));
    let b = parse_keyword_file(ROADS, "other/roads.toml", &tree).unwrap_or_else(|e| panic!("{e}"));
    let e = KeywordRules::from_categories(vec![a.clone(), b])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        e,
        format!(
            "other/roads.toml:3:6: duplicate keyword rules for category \"roads\" (first in {F})"
        )
    );
    let rules = KeywordRules::from_categories(vec![a]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.summary().subcategories, 2);
    assert_eq!(
        check_coverage(&rules, &tree),
        vec![SubcategoryId("yards.potholes".into())]
    );
    assert!(KeywordRules::default().is_empty());
    assert_eq!(check_coverage(&KeywordRules::default(), &tree).len(), 3);
}

#[test]
fn rules_dir_loads_keywords_when_present() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    };
    write("categories.toml", TREE);
    write("routing.toml", "[defaults]\nlevel = \"municipal\"\n");

    // Without keywords/: nothing changes.
    let rules = RulesDir::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(rules.keywords().is_none());
    assert_eq!(rules.summary().keyword_rules, 0);
    assert!(!rules.summary().to_string().contains("keywords"));

    std::fs::create_dir(dir.path().join("keywords")).unwrap_or_else(|e| panic!("{e}"));
    write("keywords/roads.toml", ROADS);
    let rules = RulesDir::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.keywords().map(|k| k.summary().files), Some(1));
    assert_eq!(rules.summary().keyword_rules, 2);
    assert!(
        rules
            .summary()
            .to_string()
            .ends_with("; keywords: 2 subcategories")
    );

    // Errors of keyword files come with the other files' errors.
    write(
        "keywords/roads.toml",
        &ROADS.replace("\"roads.snow_removal\"", "\"roads.snow\""),
    );
    write(
        "routing.toml",
        "[[category]]\nid = \"roads\"\nlevel = \"x\"\n",
    );
    let e = RulesDir::load(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("accepted"));
    assert!(
        e.contains("roads.toml:14:6: unknown subcategory \"roads.snow\""),
        "{e}"
    );
    assert!(e.contains("routing.toml:3:9: unknown variant `x`"), "{e}");
}
