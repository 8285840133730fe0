//! `otklik import`: row-numbered errors, all-or-nothing per file.

use crate::support::{data, otklik, run, text};

fn territories_count(dir: &std::path::Path) -> usize {
    // Count through a fresh import of nothing: `--dry-run` of an empty check is not enough, so
    // ask the store directly.
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let url = format!("sqlite://{}", dir.join("otklik.db").display());
        let store = otklik_store::Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store.territories().await.expect("territories").len()
    })
}

#[test]
fn good_file_is_imported() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path())
        .args(["import", "territories"])
        .arg(data("territories-good.csv")));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(territories_count(dir.path()), 3);
}

#[test]
fn bad_row_is_reported_and_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path())
        .args(["import", "territories"])
        .arg(data("territories-bad-row.csv")));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("territories-bad-row.csv:4"), "{out}");
    assert!(out.contains("kind"), "{out}");
    assert!(out.contains("nothing was imported"), "{out}");
    assert_eq!(territories_count(dir.path()), 0);
}

#[test]
fn unknown_reference_is_reported_and_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path())
        .args(["import", "territories"])
        .arg(data("territories-good.csv")));
    assert!(o.status.success(), "{}", text(&o));
    let o = run(otklik(dir.path())
        .args(["import", "organisations"])
        .arg(data("organisations-unknown-territory.csv")));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains(":3"), "{out}");
    assert!(out.contains("no-such-territory"), "{out}");
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let orgs = rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("otklik.db").display());
        let store = otklik_store::Store::connect(&url).await.expect("connect");
        store.organisations().await.expect("orgs").len()
    });
    assert_eq!(orgs, 0, "the good first row must not be imported either");
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path())
        .args(["import", "--dry-run", "territories"])
        .arg(data("territories-good.csv")));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(territories_count(dir.path()), 0);
}

#[test]
fn whole_demo_directory_imports() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path()).args(["import", "--dir", "demo"]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(territories_count(dir.path()) >= 30);
}
