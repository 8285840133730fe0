//! Workflow benchmark (issue 5): citizens' submissions through the whole intake of
//! `otklik-workflow` — validation, routing by the real category tree, the deadline on the
//! working-day calendar, the duplicate search (8 MinHash bands in the store), the message, its
//! bands and its audit event in one SQLite transaction — one after another, from 8 and from 64
//! concurrent clients (`Workflow::submit` shares the transactions of concurrent callers: group
//! commit), and handed over in batches of 64 (`Workflow::submit_batch`: one transaction per
//! batch, each message still routed, grouped, keyed and audited). Run:
//! `cargo bench --bench workflow`.
//!
//! The database is a fresh SQLite file in a temp folder (WAL, `synchronous = NORMAL`, the
//! store's defaults) with a small region: 12 districts, each with its administration.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otklik_calendar::Calendar;
use otklik_domain::directory::{DirectoryBatch, NewOrganisation, NewTerritory};
use otklik_domain::{
    CategoryId, Channel, Onboarding, OrgKind, SubcategoryId, TerritoryId, TerritoryKind, Timestamp,
};
use otklik_route::{Directory, Router};
use otklik_rules::{load_category_tree, load_reject_reasons, parse_routing_rules};
use otklik_store::{Store, sqlite_url};
use otklik_workflow::{Submission, Workflow, WorkflowConfig};

const DISTRICTS: usize = 12;
/// Monday 1 December 2025, 10:00 Moscow.
const NOW: Timestamp = Timestamp(1_764_572_400_000);

const WORDS: &[&str] = &[
    "яма",
    "дорога",
    "асфальт",
    "фонарь",
    "освещение",
    "мусор",
    "контейнер",
    "площадка",
    "двор",
    "подъезд",
    "крыша",
    "протечка",
    "отопление",
    "батарея",
    "вода",
    "давление",
    "автобус",
    "остановка",
    "расписание",
    "тротуар",
    "снег",
    "гололёд",
    "уборка",
    "детская",
    "горка",
    "скамейка",
    "парк",
    "сквер",
    "дерево",
    "аварийное",
    "собаки",
    "бездомные",
    "шум",
    "ремонт",
    "подрядчик",
    "школа",
    "поликлиника",
    "запись",
    "врач",
    "очередь",
    "светофор",
    "переход",
    "разметка",
    "знак",
    "парковка",
    "лужа",
    "канализация",
    "люк",
    "забор",
    "стройка",
];
const SUBCATEGORIES: &[&str] = &[
    "roads.infrastructure",
    "roads.road_marking",
    "roads.road_signs",
    "roads.road_lighting",
    "roads.roadworks",
    "other.other",
];

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

struct Bench {
    _dir: tempfile::TempDir,
    wf: Workflow,
    territories: Vec<TerritoryId>,
    seq: AtomicU64,
}

async fn setup() -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::connect(&sqlite_url(&dir.path().join("bench.db")))
        .await
        .expect("open sqlite");
    store.migrate().await.expect("migrate");
    let mut batch = DirectoryBatch {
        territories: vec![NewTerritory {
            code: "region".into(),
            kind: TerritoryKind::Region,
            name: "Область".into(),
            parent_code: None,
            name_variants: vec![],
        }],
        organisations: vec![NewOrganisation {
            code: "tsur".into(),
            kind: OrgKind::Other,
            name: "ЦУР".into(),
            short_name: None,
            parent_code: None,
            territory_code: "region".into(),
            competences: vec![],
            onboarding: Onboarding::default(),
            site_url: None,
        }],
        users: vec![],
        communities: vec![],
        sources: vec![],
    };
    for d in 0..DISTRICTS {
        batch.territories.push(NewTerritory {
            code: format!("district{d}"),
            kind: TerritoryKind::MunicipalDistrict,
            name: format!("Район {d}"),
            parent_code: Some("region".into()),
            name_variants: vec![],
        });
        batch.organisations.push(NewOrganisation {
            code: format!("adm{d}"),
            kind: OrgKind::Omsu,
            name: format!("Администрация района {d}"),
            short_name: None,
            parent_code: None,
            territory_code: format!("district{d}"),
            competences: vec![CategoryId("roads".into())],
            onboarding: Onboarding::default(),
            site_url: None,
        });
    }
    store
        .import_directory(&batch, None, NOW)
        .await
        .expect("import");
    let tree = load_category_tree(rules_dir().join("categories.toml")).expect("tree");
    let routing = parse_routing_rules(
        "[defaults]\nlevel = \"municipal\"\nfallback_executor = \"tsur\"\n",
        "routing.toml",
    )
    .expect("routing");
    let reasons = load_reject_reasons(rules_dir().join("reject-reasons.toml")).expect("reasons");
    let organisations = store.organisations().await.expect("organisations");
    let territories = store.territories().await.expect("territories");
    let router = Router::new(
        &routing,
        &tree,
        Directory::new(territories.clone(), organisations.clone()),
    )
    .expect("router");
    let wf = Workflow::new(
        store,
        router,
        tree,
        &organisations,
        reasons,
        Calendar::embedded(),
        WorkflowConfig::default(),
    )
    .expect("workflow");
    Bench {
        _dir: dir,
        wf,
        territories: territories
            .iter()
            .filter(|t| t.kind == TerritoryKind::MunicipalDistrict)
            .map(|t| t.id)
            .collect(),
        seq: AtomicU64::new(0),
    }
}

impl Bench {
    /// The n-th submission: 8–14 words drawn from the pool, a house number, a district.
    fn submission(&self, n: u64) -> Submission {
        let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let len = 8 + (next() % 7) as usize;
        let mut text = String::from("Жалоба:");
        for _ in 0..len {
            text.push(' ');
            text.push_str(WORDS[(next() % WORDS.len() as u64) as usize]);
        }
        text.push_str(&format!(", дом {}", next() % 200));
        Submission {
            channel: Channel::Portal,
            text,
            category_hint: Some(SubcategoryId(
                SUBCATEGORIES[(next() % SUBCATEGORIES.len() as u64) as usize].into(),
            )),
            territory: Some(self.territories[(next() % self.territories.len() as u64) as usize]),
            address: None,
            submitted_via: None,
            author: None,
            contact: Some("citizen@example.ru".into()),
            attachments: vec![],
        }
    }

    async fn submit_one(&self) {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let s = self.submission(n);
        let intake = self
            .wf
            .submit(&s, &format!("bench-{n}"), NOW)
            .await
            .expect("submit");
        black_box(intake);
    }
}

fn workflow(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let bench = Arc::new(rt.block_on(setup()));
    let mut group = c.benchmark_group("workflow");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("submit/sequential", |b| {
        b.iter_custom(|iters| {
            let bench = Arc::clone(&bench);
            rt.block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    bench.submit_one().await;
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("submit/8-clients", |b| {
        b.iter_custom(|iters| {
            let bench = Arc::clone(&bench);
            rt.block_on(async move {
                let start = Instant::now();
                let clients = 8;
                let mut tasks = Vec::with_capacity(clients);
                for c in 0..clients as u64 {
                    let bench = Arc::clone(&bench);
                    let share = iters / clients as u64 + u64::from(c < iters % clients as u64);
                    tasks.push(tokio::spawn(async move {
                        for _ in 0..share {
                            bench.submit_one().await;
                        }
                    }));
                }
                for t in tasks {
                    t.await.expect("client");
                }
                start.elapsed()
            })
        });
    });
    // 64 clients (web request tasks) calling `submit` at once: group commit shares their
    // transactions.
    group.bench_function("submit_concurrent/64-clients", |b| {
        b.iter_custom(|iters| {
            let bench = Arc::clone(&bench);
            rt.block_on(async move {
                let start = Instant::now();
                let clients = 64u64;
                let mut tasks = Vec::with_capacity(clients as usize);
                for c in 0..clients {
                    let bench = Arc::clone(&bench);
                    let share = iters / clients + u64::from(c < iters % clients);
                    tasks.push(tokio::spawn(async move {
                        for _ in 0..share {
                            bench.submit_one().await;
                        }
                    }));
                }
                for t in tasks {
                    t.await.expect("client");
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("submit/batches-of-64", |b| {
        b.iter_custom(|iters| {
            let bench = Arc::clone(&bench);
            rt.block_on(async move {
                let start = Instant::now();
                let mut left = iters;
                while left > 0 {
                    let n = left.min(64);
                    left -= n;
                    let items: Vec<_> = (0..n)
                        .map(|_| {
                            let k = bench.seq.fetch_add(1, Ordering::Relaxed);
                            (bench.submission(k), format!("bench-{k}"))
                        })
                        .collect();
                    let out = bench.wf.submit_batch(&items, NOW).await.expect("batch");
                    assert!(out.iter().all(Result::is_ok));
                    black_box(out);
                }
                start.elapsed()
            })
        });
    });
    group.finish();
    let stored = bench.seq.load(Ordering::Relaxed);
    eprintln!("workflow bench: {stored} submissions stored");
}

criterion_group!(benches, workflow);
criterion_main!(benches);
