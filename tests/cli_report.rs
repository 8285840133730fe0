//! `otklik report`: the demo directory imported by the real binary, messages written to the
//! same SQLite file, the reports read back as CSV and XLSX.

use otklik_domain::{Channel, NewMessage, SubcategoryId, Timestamp, Transition};
use otklik_store::{MessageChange, Store};

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

async fn message(
    store: &Store,
    executor: &str,
    sub: &str,
    channel: Channel,
    at: i64,
    days: i64,
) -> otklik_domain::Message {
    let org = store
        .organisation_by_code(executor)
        .await
        .expect("org")
        .expect("demo organisation");
    let new = NewMessage {
        channel,
        subcategory: SubcategoryId(sub.into()),
        territory: Some(org.territory),
        executor: Some(org.id),
        submitted_via: None,
        author: None,
        author_handle: None,
        source_post: None,
        text: "Яма на дороге".into(),
        address: None,
        confidence_pm: None,
        deadline_at: Timestamp(at + days * DAY),
    };
    store
        .create_message(&new, None, None, Timestamp(at))
        .await
        .expect("message")
}

/// The demo directory and five messages: three in October 2026 (two potholes through the
/// widget, one rated 4; a clinic appointment through the portal, overdue), one in
/// September, one in November.
fn demo_with_messages() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path()).args(["import", "--dir", "demo"]));
    assert!(o.status.success(), "{}", text(&o));
    with_store(dir.path(), async |store| {
        let rated = message(
            &store,
            "mintrans",
            "roads.potholes",
            Channel::Widget,
            MON,
            30,
        )
        .await;
        let mut m = rated;
        for t in [
            Transition::Accept,
            Transition::SendToExecution,
            Transition::SubmitForApproval,
            Transition::Approve,
        ] {
            m = store
                .transition_message(
                    m.id,
                    m.version,
                    t,
                    MessageChange::default(),
                    None,
                    Timestamp(MON + DAY),
                )
                .await
                .expect("step");
        }
        let rate = MessageChange {
            rating: Some(4),
            ..MessageChange::default()
        };
        store
            .transition_message(
                m.id,
                m.version,
                Transition::Rate,
                rate,
                None,
                Timestamp(MON + DAY),
            )
            .await
            .expect("rate");
        message(
            &store,
            "mintrans",
            "roads.potholes",
            Channel::Widget,
            MON + DAY,
            30,
        )
        .await;
        message(
            &store,
            "minzdrav",
            "health.appointments",
            Channel::Portal,
            MON,
            3,
        )
        .await;
        message(
            &store,
            "minzdrav",
            "health.appointments",
            Channel::Portal,
            MON - 30 * DAY,
            3,
        )
        .await;
        message(
            &store,
            "minzdrav",
            "health.appointments",
            Channel::Portal,
            MON + 30 * DAY,
            3,
        )
        .await;
    });
    dir
}

fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn reports_as_csv_and_xlsx_from_a_real_database() {
    let dir = demo_with_messages();
    let data = dir.path();

    // Volumes of October by category and channel: names, not codes.
    let csv = stdout(&run(otklik(data).args([
        "report",
        "volumes",
        "--by",
        "category,channel",
        "--period",
        "2026-10",
        "--format",
        "csv",
    ])));
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "Категория,Канал,Сообщений,Оценено,Средняя оценка,Оценка 1,Оценка 2,Оценка 3,Оценка 4,Оценка 5"
    );
    assert!(
        lines.contains(&"Автомобильные дороги,Виджет на сайте,2,1,4.00,0,0,0,1,0"),
        "{csv}"
    );
    assert!(lines.contains(&"Медицина,Портал,1,0,,0,0,0,0,0"), "{csv}");
    assert!(lines.contains(&"Итого,,3,1,4.00,0,0,0,1,0"), "{csv}");

    // The same month by --since/--until (both days included).
    let by_days = stdout(&run(otklik(data).args([
        "report",
        "volumes",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-31",
        "--format",
        "csv",
    ])));
    assert!(by_days.contains("\r\nИтого,3,1,4.00"), "{by_days}");

    // Deadlines judged at the end of 20 October: the clinic appointment is overdue.
    let csv = stdout(&run(otklik(data).args([
        "report",
        "deadlines",
        "--period",
        "2026-10",
        "--at",
        "2026-10-20",
        "--format",
        "csv",
    ])));
    let minzdrav = csv
        .split("\r\n")
        .find(|l| l.starts_with("Министерство здравоохранения Северной области,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert_eq!(
        minzdrav,
        "Министерство здравоохранения Северной области,РОИВ,1,0,0,0,1,0,0,0.0,красная,,"
    );
    let late = stdout(&run(otklik(data).args([
        "report",
        "late",
        "--at",
        "2026-10-20",
        "--format",
        "csv",
    ])));
    assert_eq!(
        late.split("\r\n")
            .filter(|l| l.contains("Министерство здравоохранения"))
            .count(),
        2,
        "{late}"
    );

    // Onboarding of the demo directory: 16 РОИВ, 15 with the account ready.
    let csv = stdout(&run(otklik(data).args([
        "report",
        "onboarding",
        "--format",
        "csv",
    ])));
    let roiv = csv
        .split("\r\n")
        .find(|l| l.starts_with("РОИВ,"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(roiv.starts_with("РОИВ,16,15,"), "{roiv}");
    assert!(roiv.ends_with(",жёлтая"), "{roiv}");

    // Госпаблики, as an XLSX workbook with two worksheets.
    let xlsx = data.join("gospabliki.xlsx");
    let o = run(otklik(data)
        .args(["report", "gospabliki", "--out"])
        .arg(&xlsx));
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&xlsx).expect("xlsx written");
    assert_eq!(&bytes[..2], b"PK");
    let table = stdout(&run(otklik(data).args(["report", "gospabliki"])));
    assert!(table.contains("Итого"), "{table}");
    assert!(table.contains("Одноклассники"), "{table}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    for (args, expected) in [
        (vec!["report", "volumes", "--period", "2026-13"], "--period"),
        (
            vec!["report", "volumes", "--since", "2026-02-30"],
            "not a date",
        ),
        (
            vec!["report", "volumes", "--by", "colour"],
            "unknown report dimension",
        ),
        (vec!["report", "deadlines", "--format", "xlsx"], "--out"),
        (
            vec!["report", "satisfaction", "--by", "territory"],
            "organisation or category",
        ),
    ] {
        let o = run(otklik(dir.path()).args(&args));
        let out = text(&o);
        assert!(!o.status.success(), "{args:?}: {out}");
        assert!(out.contains(expected), "{args:?}: {out}");
        assert!(!out.contains("panicked"), "{out}");
    }
}
