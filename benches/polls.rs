//! Polls benchmark (issue 7): votes into SQLite through `Polls::vote` — the audience check, the
//! ballot's validation (a participatory-budget ballot: 3 projects out of 8 within the cap, 2–3
//! per ballot), the keyed hashes of the identity and of the network prefix, then the ballot, its
//! choices and the vote-log row written by the group-committing writer — from one client at a
//! time, from 64 and from 1,000 concurrent clients (web request tasks). Every vote is a new
//! identity's first vote. Target: ≥ 2,000 votes/s. Run: `cargo bench --bench polls`.
//!
//! The database is a fresh SQLite file in a temp folder (WAL, `synchronous = NORMAL`, the
//! store's defaults); all votes go to one budget poll, which grows to a few hundred thousand
//! ballots over the run.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otklik_domain::directory::{
    DirectoryBatch, NewOrganisation, NewRoleGrant, NewTerritory, NewUser,
};
use otklik_domain::{
    Onboarding, OrgKind, PollId, PollKind, PollOptionId, ResultsVisibility, Role, TerritoryId,
    TerritoryKind, Timestamp,
};
use otklik_polls::{Ballot, NewPollOption, PollDraft, Polls, PollsConfig, VoteMeta, VoterKey};
use otklik_store::{Store, sqlite_url};

/// Monday 1 December 2025, 10:00 Moscow.
const NOW: Timestamp = Timestamp(1_764_572_400_000);

struct Bench {
    _dir: tempfile::TempDir,
    polls: Polls,
    poll: PollId,
    options: Vec<PollOptionId>,
    territory: TerritoryId,
    seq: AtomicU64,
}

async fn setup() -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&sqlite_url(&dir.path().join("otklik.db")))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let grant = |role: Role| NewRoleGrant {
        role,
        organisation_code: "adm".into(),
    };
    let staff = |login: &str, role: Role| NewUser {
        login: login.into(),
        full_name: login.into(),
        email: None,
        organisation_code: Some("adm".into()),
        confirmed: true,
        roles: vec![grant(role)],
    };
    store
        .import_directory(
            &DirectoryBatch {
                territories: vec![NewTerritory {
                    code: "city".into(),
                    kind: TerritoryKind::UrbanOkrug,
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
                    territory_code: "city".into(),
                    competences: vec![],
                    onboarding: Onboarding::default(),
                    site_url: None,
                }],
                users: vec![
                    staff("manager", Role::PollManager),
                    staff("moderator", Role::Moderator),
                ],
                communities: vec![],
                sources: vec![],
            },
            None,
            NOW,
        )
        .await
        .expect("directory");
    let org = store
        .organisation_by_code("adm")
        .await
        .expect("org")
        .expect("adm");
    let territory = store
        .territory_by_code("city")
        .await
        .expect("territory")
        .expect("city")
        .id;
    let manager = store
        .user_by_login("manager")
        .await
        .expect("user")
        .expect("manager");
    let moderator = store
        .user_by_login("moderator")
        .await
        .expect("user")
        .expect("moderator");
    let polls = Polls::new(
        store,
        PollsConfig::new(VoterKey::new(vec![9u8; 32]).expect("key")),
    );
    let draft = PollDraft {
        organisation: org.id,
        title: "Инициативный бюджет 2026".into(),
        description: String::new(),
        kind: PollKind::Budget,
        topic: None,
        territory: Some(territory),
        min_age: Some(16),
        starts_at: NOW,
        ends_at: NOW.plus_days(30),
        min_choices: Some(2),
        max_choices: Some(3),
        budget_cap: Some(10_000_000),
        max_text_chars: None,
        allow_revote: false,
        results: ResultsVisibility::AfterClose,
        settings: "{}".into(),
        options: (1..=8)
            .map(|i| NewPollOption {
                label: format!("Проект {i}"),
                description: String::new(),
                cost: Some(1_000_000 * i),
            })
            .collect(),
    };
    let poll = polls.create(&draft, &manager, NOW).await.expect("create");
    polls
        .submit(poll.poll.id, &manager, NOW)
        .await
        .expect("submit");
    polls
        .approve(poll.poll.id, &moderator, NOW)
        .await
        .expect("approve");
    Bench {
        _dir: dir,
        poll: poll.poll.id,
        options: poll.options.iter().map(|o| o.id).collect(),
        polls,
        territory,
        seq: AtomicU64::new(0),
    }
}

/// Project triples that fit the 10,000,000 cap (costs 1…8 million).
const BALLOTS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 3, 4],
    [1, 2, 4],
    [0, 1, 6],
    [2, 3, 1],
    [6, 0, 1],
];

impl Bench {
    async fn vote_one(&self) {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let pick = BALLOTS[(n % BALLOTS.len() as u64) as usize];
        let ballot = Ballot::Budget {
            projects: pick.iter().map(|i| self.options[*i]).collect(),
        };
        let meta = VoteMeta {
            territory: Some(self.territory),
            age: Some(18 + (n % 60) as u32),
            ip: Some(std::net::IpAddr::from([
                10,
                (n >> 16) as u8,
                (n >> 8) as u8,
                n as u8,
            ])),
        };
        let receipt = self
            .polls
            .vote(
                self.poll,
                &format!("esia:{n}"),
                &ballot,
                &format!("vote-{n}"),
                &meta,
                Timestamp(NOW.millis() + (n as i64)),
            )
            .await
            .expect("vote");
        black_box(receipt);
    }
}

fn concurrent(
    rt: &tokio::runtime::Runtime,
    bench: &Arc<Bench>,
    iters: u64,
    clients: u64,
) -> Duration {
    let bench = Arc::clone(bench);
    rt.block_on(async move {
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(clients as usize);
        for c in 0..clients {
            let bench = Arc::clone(&bench);
            let share = iters / clients + u64::from(c < iters % clients);
            tasks.push(tokio::spawn(async move {
                for _ in 0..share {
                    bench.vote_one().await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("client");
        }
        start.elapsed()
    })
}

fn polls(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let bench = Arc::new(rt.block_on(setup()));
    let mut group = c.benchmark_group("polls");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("vote/sequential", |b| {
        b.iter_custom(|iters| {
            let bench = Arc::clone(&bench);
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    bench.vote_one().await;
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("vote/64-clients", |b| {
        b.iter_custom(|iters| concurrent(&rt, &bench, iters, 64));
    });
    group.bench_function("vote/1000-clients", |b| {
        b.iter_custom(|iters| concurrent(&rt, &bench, iters, 1_000));
    });
    group.finish();
    let votes = bench.seq.load(Ordering::Relaxed);
    let ballots = rt
        .block_on(bench.polls.turnout(bench.poll))
        .expect("turnout");
    assert_eq!(
        u64::try_from(ballots).ok(),
        Some(votes),
        "every vote stored once"
    );
    eprintln!("polls bench: {votes} votes stored");
}

criterion_group!(benches, polls);
criterion_main!(benches);
