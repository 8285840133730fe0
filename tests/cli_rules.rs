//! `otklik rules check`.

use crate::support::{otklik, run, text};

fn number_after(out: &str, label: &str) -> usize {
    let line = out
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in {out}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line}"))
}

#[test]
fn counts_of_the_shipped_rules() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path()).args(["rules", "check"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(number_after(&out, "categories:") >= 31, "{out}");
    assert!(number_after(&out, "subcategories:") >= 300, "{out}");
    assert!(number_after(&out, "fast-tracks:") >= 10, "{out}");
    assert!(number_after(&out, "routing rules:") + 1 > 0, "{out}");
}

#[test]
fn demo_routing_is_valid_too() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path()).args(["rules", "check", "--routing", "demo/routing.toml"]));
    assert!(o.status.success(), "{}", text(&o));
}

fn broken_rules(categories: &str) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().expect("tmp");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(rules.join("categories.toml"), categories).expect("write");
    std::fs::write(
        rules.join("routing.toml"),
        "[defaults]\nlevel = \"municipal\"\n",
    )
    .expect("write");
    let o = run(otklik(dir.path())
        .args(["rules", "check", "--rules-dir"])
        .arg(&rules));
    (dir, o)
}

#[test]
fn duplicate_id_fails_with_file_and_line() {
    let (_d, o) = broken_rules(
        "[[category]]\nid = \"roads\"\nname = \"Дороги\"\n\n\
[[subcategory]]\nid = \"roads.potholes\"\ncategory = \"roads\"\nname = \"Ямы\"\n\n\
[[subcategory]]\nid = \"roads.potholes\"\ncategory = \"roads\"\nname = \"Ямы снова\"\n",
    );
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("categories.toml:10") || out.contains("categories.toml:11"),
        "{out}"
    );
    assert!(out.contains("roads.potholes"), "{out}");
}

#[test]
fn dangling_parent_fails_with_file_and_line() {
    let (_d, o) = broken_rules(
        "[[category]]\nid = \"roads\"\nname = \"Дороги\"\n\n\
[[subcategory]]\nid = \"parks.benches\"\ncategory = \"parks\"\nname = \"Скамейки\"\n",
    );
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        (5..=7).any(|l| out.contains(&format!("categories.toml:{l}"))),
        "{out}"
    );
    assert!(out.contains("parks"), "{out}");
}

#[test]
fn syntax_error_is_not_a_panic() {
    let (_d, o) = broken_rules("[[category]\nid = \n");
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("categories.toml:1"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}
