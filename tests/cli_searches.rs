//! `otklik searches`: saved searches added, listed, checked for spikes (one alert e-mail per
//! search per day, queued in the outbox) and removed — the real binary on a real SQLite file.

use otklik_domain::{Channel, NewMessage, SubcategoryId, Timestamp};
use otklik_store::Store;

use crate::support::{otklik, run, text};

/// Monday 2026-10-12 09:00 Moscow.
const MON: i64 = 1_791_784_800_000;
const DAY: i64 = 86_400_000;

fn with_store<T>(dir: &std::path::Path, f: impl AsyncFnOnce(Store) -> T) -> T {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let url = format!("sqlite://{}", dir.join("otklik.db").display());
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let out = f(store.clone()).await;
        store.close().await;
        out
    })
}

/// `n` messages about `text` registered at `at`.
async fn messages(store: &Store, text: &str, n: usize, at: i64) {
    for _ in 0..n {
        let new = NewMessage {
            channel: Channel::Portal,
            subcategory: SubcategoryId("roads.potholes".into()),
            territory: None,
            executor: None,
            submitted_via: None,
            author: None,
            author_handle: None,
            source_post: None,
            text: text.into(),
            address: None,
            confidence_pm: None,
            deadline_at: Timestamp(at + 30 * DAY),
        };
        store
            .create_message(&new, None, None, Timestamp(at))
            .await
            .expect("message");
    }
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let o = run(otklik(dir).args(args));
    let out = text(&o);
    assert!(o.status.success(), "otklik {args:?}: {out}");
    out
}

fn fails(dir: &std::path::Path, args: &[&str]) -> String {
    let o = run(otklik(dir).args(args));
    let out = text(&o);
    assert!(!o.status.success(), "otklik {args:?} should fail: {out}");
    assert!(
        !out.contains("panicked"),
        "a clear error, not a panic: {out}"
    );
    out
}

#[test]
fn saved_searches_are_added_listed_checked_and_removed() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    assert!(ok(d, &["searches", "list"]).contains("no saved searches"));

    let out = ok(
        d,
        &[
            "searches",
            "add",
            "ямы",
            "яма",
            "--email",
            "analyst@example.ru",
            "--filter",
            "category=roads",
            "--min-count",
            "3",
        ],
    );
    assert!(out.contains("saved:"), "{out}");
    ok(
        d,
        &[
            "searches",
            "add",
            "свет",
            "\"нет света\"",
            "--email",
            "energy@example.ru",
        ],
    );
    let list = ok(d, &["searches", "list"]);
    assert!(
        list.contains("ямы  «яма» [category=roads]  → analyst@example.ru"),
        "{list}"
    );
    assert!(list.contains("(≥ 3 today, ×3.0)"), "{list}");
    assert!(
        list.contains("свет  «\"нет света\"»  → energy@example.ru"),
        "{list}"
    );

    // Bad input: clear errors, nothing saved.
    let dup = fails(
        d,
        &["searches", "add", "ямы", "яма", "--email", "x@example.ru"],
    );
    assert!(dup.contains("«ямы» exists already"), "{dup}");
    let facet = fails(
        d,
        &[
            "searches",
            "add",
            "x",
            "y",
            "--email",
            "x@example.ru",
            "--filter",
            "colour=red",
        ],
    );
    assert!(facet.contains("unknown facet"), "{facet}");
    let ratio = fails(
        d,
        &[
            "searches",
            "add",
            "x",
            "y",
            "--email",
            "x@example.ru",
            "--min-ratio",
            "0.5",
        ],
    );
    assert!(ratio.contains("--min-ratio"), "{ratio}");
    assert_eq!(ok(d, &["searches", "list"]).lines().count(), 2);

    // Six potholes on Monday, one ten days before: a spike of «ямы» only.
    with_store(d, async |store| {
        messages(&store, "Огромные ямы на дороге у школы", 6, MON).await;
        messages(&store, "Яма во дворе", 1, MON - 10 * DAY).await;
    });
    let check = ok(d, &["searches", "check", "--day", "2026-10-12"]);
    assert!(check.contains("ямы: 6 today"), "{check}");
    assert!(check.contains("SPIKE — alert e-mail"), "{check}");
    assert!(check.contains("queued to analyst@example.ru"), "{check}");
    assert!(check.contains("свет: 0 today"), "{check}");
    assert!(
        check.contains("2 saved searches checked, 1 alert e-mails queued"),
        "{check}"
    );
    // Once per search per day.
    let again = ok(
        d,
        &["searches", "check", "--day", "2026-10-12", "--no-sync"],
    );
    assert!(again.contains("spike — alerted already today"), "{again}");
    assert!(again.contains("0 alert e-mails queued"), "{again}");
    let list = ok(d, &["searches", "list"]);
    assert!(list.contains("last alert 2026-10-12"), "{list}");
    let pending = with_store(d, async |store| {
        store.outbox_counts().await.expect("outbox counts").pending
    });
    assert_eq!(pending, 1, "one alert e-mail in the outbox");

    // `otklik search --facet` prints names (and the value to filter by), not ids and codes.
    let found = ok(
        d,
        &[
            "search",
            "яма",
            "--facet",
            "category,kind,period",
            "--limit",
            "1",
        ],
    );
    assert!(found.contains("7 found"), "{found}");
    assert!(
        found.contains("category: Автомобильные дороги (roads) 7"),
        "{found}"
    );
    assert!(found.contains("kind: сообщение (message) 7"), "{found}");
    assert!(found.contains("period: октябрь 2026 7"), "{found}");

    let bad_day = fails(d, &["searches", "check", "--day", "12.10.2026"]);
    assert!(bad_day.contains("--day"), "{bad_day}");

    // Removed by name and by id.
    assert!(ok(d, &["searches", "remove", "ямы"]).contains("removed ямы"));
    let list = ok(d, &["searches", "list"]);
    let id = list.split_whitespace().next().expect("an id").to_owned();
    assert!(ok(d, &["searches", "remove", &id]).contains("removed свет"));
    assert!(ok(d, &["searches", "list"]).contains("no saved searches"));
    let missing = fails(d, &["searches", "remove", "ямы"]);
    assert!(missing.contains("no saved search named «ямы»"), "{missing}");
}
