//! `otklik polls list|show|results|anomalies` against a real SQLite file: polls written and
//! voted on through `otklik-polls` with the key the CLI created, then read back by the binary;
//! and `otklik rules check` validating `poll-topics.toml`.

use otklik_domain::directory::{
    DirectoryBatch, NewOrganisation, NewRoleGrant, NewTerritory, NewUser,
};
use otklik_domain::{
    Onboarding, OrgKind, PollKind, ResultsVisibility, Role, TerritoryKind, Timestamp,
};
use otklik_polls::{Ballot, Polls, PollsConfig, VoteMeta, VoterKey};
use otklik_store::{NewPollOption, PollDraft, Store, sqlite_url};

use crate::support::{otklik, root, run, text};

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    Timestamp(i64::try_from(ms).expect("ms"))
}

fn user(login: &str, role: Role) -> NewUser {
    NewUser {
        login: login.into(),
        full_name: format!("Сотрудник {login}"),
        email: None,
        organisation_code: Some("adm".into()),
        confirmed: true,
        roles: vec![NewRoleGrant {
            role,
            organisation_code: "adm".into(),
        }],
    }
}

fn batch() -> DirectoryBatch {
    DirectoryBatch {
        territories: vec![NewTerritory {
            code: "town".into(),
            kind: TerritoryKind::Settlement,
            name: "Город".into(),
            parent_code: None,
            name_variants: vec![],
        }],
        organisations: vec![NewOrganisation {
            code: "adm".into(),
            kind: OrgKind::Omsu,
            name: "Администрация города".into(),
            short_name: None,
            parent_code: None,
            territory_code: "town".into(),
            competences: vec![],
            onboarding: Onboarding::default(),
            site_url: None,
        }],
        users: vec![
            user("manager", Role::PollManager),
            user("moderator", Role::Moderator),
        ],
        ..DirectoryBatch::default()
    }
}

fn draft(
    store_org: otklik_domain::OrganisationId,
    title: &str,
    results: ResultsVisibility,
) -> PollDraft {
    let t = now();
    PollDraft {
        organisation: store_org,
        title: title.into(),
        description: String::new(),
        kind: PollKind::SingleChoice,
        topic: Some("improvement".into()),
        territory: None,
        min_age: None,
        starts_at: Timestamp(t.millis() - 3_600_000),
        ends_at: t.plus_days(7),
        min_choices: None,
        max_choices: None,
        budget_cap: None,
        max_text_chars: None,
        allow_revote: false,
        results,
        settings: "{}".into(),
        options: ["Сквер у школы", "Освещение парка", "Детская площадка"]
            .iter()
            .map(|l| NewPollOption {
                label: (*l).into(),
                description: String::new(),
                cost: None,
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_results_exports_and_anomalies() {
    let dir = tempfile::tempdir().expect("tmp");
    // The first run creates the database and the voter-hash key.
    let o = run(otklik(dir.path()).args(["polls", "list"]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no polls"), "{}", text(&o));
    let key_path = dir.path().join("poll.key");
    let key = std::fs::read(&key_path).expect("poll.key created");
    assert_eq!(key.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    let store = Store::connect(&sqlite_url(&dir.path().join("otklik.db")))
        .await
        .expect("db");
    store.migrate().await.expect("migrate");
    store
        .import_directory(&batch(), None, now())
        .await
        .expect("directory");
    let manager = store
        .user_by_login("manager")
        .await
        .expect("q")
        .expect("manager");
    let moderator = store
        .user_by_login("moderator")
        .await
        .expect("q")
        .expect("moderator");
    let org = store
        .organisation_by_code("adm")
        .await
        .expect("q")
        .expect("adm")
        .id;
    let polls = Polls::new(
        store.clone(),
        PollsConfig::new(VoterKey::new(key).expect("key")),
    );
    let t = now();
    let live = polls
        .create(
            &draft(
                org,
                "Что благоустроить в 2026 году?",
                ResultsVisibility::Live,
            ),
            &manager,
            t,
        )
        .await
        .expect("create");
    let id = live.poll.id;
    polls.submit(id, &manager, t).await.expect("submit");
    polls.approve(id, &moderator, t).await.expect("approve");
    // 25 votes from one /24 within a few seconds (a burst), 2 from elsewhere.
    for i in 0..27u32 {
        let option = live.options[if i < 20 { 0 } else { 1 }].id;
        let ip = if i < 25 {
            format!("203.0.113.{}", i + 1)
        } else {
            format!("198.51.100.{i}")
        };
        let meta = VoteMeta {
            territory: None,
            age: None,
            ip: Some(ip.parse().expect("ip")),
        };
        polls
            .vote(
                id,
                &format!("test:voter-{i}"),
                &Ballot::Single { option },
                &format!("k{i}"),
                &meta,
                Timestamp(t.millis() + i64::from(i) * 100),
            )
            .await
            .expect("vote");
    }
    let hidden = polls
        .create(
            &draft(org, "Скрытые итоги", ResultsVisibility::AfterClose),
            &manager,
            t,
        )
        .await
        .expect("create");
    polls
        .submit(hidden.poll.id, &manager, t)
        .await
        .expect("submit");
    polls
        .approve(hidden.poll.id, &moderator, t)
        .await
        .expect("approve");
    drop(polls);
    store.close().await;

    let id_s = id.to_string();
    let o = run(otklik(dir.path()).args(["polls", "list"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{id_s} ")))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("published") && line.contains("ballots=27"),
        "{line}"
    );
    assert!(
        line.contains("Что благоустроить в 2026 году?") && line.contains("adm"),
        "{line}"
    );

    let o = run(otklik(dir.path()).args(["polls", "show", &id_s]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("status:        published"), "{out}");
    assert!(out.contains("Освещение парка"), "{out}");
    assert!(out.contains("ballots:       27"), "{out}");

    let o = run(otklik(dir.path()).args(["polls", "results", &id_s]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("27 ballot(s), provisional"), "{out}");
    assert!(out.contains("1\tСквер у школы\t20\t74.1"), "{out}");

    let csv = dir.path().join("r.csv");
    let o = run(otklik(dir.path())
        .args(["polls", "results", &id_s, "--format", "csv", "--out"])
        .arg(&csv));
    assert!(o.status.success(), "{}", text(&o));
    let body = std::fs::read_to_string(&csv).expect("csv");
    assert!(body.starts_with("Место,Вариант,Голосов"), "{body}");
    assert!(body.contains("2,Освещение парка,7,25.9"), "{body}");
    let xlsx = dir.path().join("r.xlsx");
    let o = run(otklik(dir.path())
        .args(["polls", "results", &id_s, "--format", "xlsx", "--out"])
        .arg(&xlsx));
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&xlsx).expect("xlsx");
    assert!(bytes.starts_with(b"PK\x03\x04"));
    assert!(bytes.windows(24).any(|w| w == b"xl/worksheets/sheet1.xml"));
    // --format without --out is refused by the parser.
    let o = run(otklik(dir.path()).args(["polls", "results", &id_s, "--format", "csv"]));
    assert!(!o.status.success());

    let o = run(otklik(dir.path()).args(["polls", "anomalies", &id_s]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("27 accepted vote(s)"), "{out}");
    let burst = out
        .lines()
        .find(|l| l.starts_with("network "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(burst.ends_with("25 votes"), "{burst}");
    let o = run(otklik(dir.path()).args(["polls", "anomalies", &id_s, "--json"]));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(report["votes"], 27);
    assert_eq!(report["bursts"][0]["votes"], 25);

    // Hidden results and unknown polls fail plainly.
    let o = run(otklik(dir.path()).args(["polls", "results", &hidden.poll.id.to_string()]));
    assert!(!o.status.success());
    assert!(text(&o).contains("hidden until it closes"), "{}", text(&o));
    let o = run(otklik(dir.path()).args(["polls", "show", "999"]));
    assert!(!o.status.success());
    assert!(text(&o).contains("no poll with id 999"), "{}", text(&o));
}

#[test]
fn rules_check_validates_poll_topics() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path()).args(["rules", "check"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("poll topics:"))
        .unwrap_or_else(|| panic!("{out}"));
    let n: usize = line["poll topics:".len()..].trim().parse().expect("count");
    assert!(n >= 5, "{line}");

    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    for f in ["categories.toml", "routing.toml"] {
        std::fs::copy(root().join("rules").join(f), rules.join(f)).expect("copy");
    }
    std::fs::write(
        rules.join("poll-topics.toml"),
        "[[topic]]\ncode = \"roads\"\nname = \"Дороги\"\n\n[[topic]]\ncode = \"roads\"\nname = \"Снова дороги\"\n",
    )
    .expect("write");
    let o = run(otklik(dir.path())
        .args(["rules", "check", "--rules-dir"])
        .arg(&rules));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("poll-topics.toml"), "{out}");
}
