//! Collect pipeline benchmark (issue 4): posts per second from a fake VK community wall on
//! loopback (`groups.getById` + paged `wall.get` JSON, 100 posts a page, ~250-character
//! Russian posts, one in ten a complaint) through the [`Scheduler`] — collector → bounded
//! channel → single store writer (posts + cursor per page in one transaction) → analyst
//! (classification, territory, then complaints through the messages workflow: routing,
//! calendar deadline, duplicate groups, audit) — into a fresh SQLite file.
//!
//! Each measured iteration ingests `OTKLIK_BENCH_POSTS` posts (default 10,000) end to end:
//! the clock stops when every post is stored **and** classified. After criterion, one long run
//! (`OTKLIK_BENCH_LONG_POSTS`, default 50,000) prints the peak RSS before and after it, to show
//! that memory stays flat as the number of posts grows.
//!
//! Run: `cargo bench --bench pipeline`. `OTKLIK_BENCH_DUPLICATE_WINDOW_DAYS` overrides the
//! workflow's duplicate-search window (0 = no duplicate search), to see what that search costs.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otklik_classify::monitor::PostAnalyzer;
use otklik_classify::territory::{RegionDictionary, TerritoryDetector};
use otklik_collect::SourceConfig;
use otklik_collect::http::HttpClient;
use otklik_collect::schedule::Schedule;
use otklik_domain::Timestamp;
use otklik_domain::directory::NewSource;
use otklik_pipeline::{
    Analyst, AnalystSettings, CollectorSettings, ScheduledSource, Scheduler, SchedulerSettings,
};
use otklik_store::Store;

const GROUP: i64 = 210_000_001;
const TOKEN: &str = "vk1.a.bench";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const STREETS: [&str; 8] = [
    "Ленина",
    "Мира",
    "Садовой",
    "Советской",
    "Гагарина",
    "Лесной",
    "Школьной",
    "Набережной",
];

/// A post of about 250 characters; every tenth a complaint.
fn post_text(id: u64) -> String {
    let street = STREETS[(id % 8) as usize];
    match id % 10 {
        0 => format!(
            "Жители дома {} по улице {street} в Северске жалуются: уже третью неделю не вывозят \
             мусор с контейнерной площадки, баки переполнены, вокруг бегают собаки. Управляющая \
             компания на звонки не отвечает. Когда наведут порядок?",
            id % 120 + 1
        ),
        1 | 5 => format!(
            "На улице {street} прошёл субботник: сотрудники администрации и жители высадили {} \
             деревьев и кустарников, покрасили скамейки и ограждения детской площадки. \
             Благодарим всех, кто принял участие в благоустройстве родного города.",
            id % 40 + 10
        ),
        2 | 6 => format!(
            "В Доме культуры Северска состоится концерт творческих коллективов района, \
             посвящённый дню города. Начало в {} часов, вход свободный. Приглашаем жителей и \
             гостей города, будут работать ярмарка мастеров и фотозона.",
            id % 6 + 12
        ),
        3 | 7 => format!(
            "Администрация информирует: с {} числа на участке улицы {street} начнётся плановый \
             ремонт тепловых сетей. Просим водителей учитывать временную схему движения \
             транспорта и заранее планировать маршрут поездки.",
            id % 28 + 1
        ),
        _ => format!(
            "Итоги недели в районе: проведено {} заседаний комиссий, рассмотрены вопросы \
             подготовки к отопительному сезону, ремонта школ и работы общественного \
             транспорта. Подробности в официальном сообщении пресс-службы.",
            id % 9 + 2
        ),
    }
}

fn query_param<'a>(target: &'a str, key: &str) -> Option<&'a str> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then_some(v)
    })
}

fn wall_page(total: u64, offset: u64, count: u64) -> String {
    let mut items = Vec::with_capacity(count as usize);
    let mut id = total.saturating_sub(offset);
    while id >= 1 && (items.len() as u64) < count.min(100) {
        items.push(serde_json::json!({
            "id": id, "owner_id": -GROUP, "from_id": -GROUP,
            "date": 1_741_000_000 + i64::try_from(id).unwrap_or(0) * 60,
            "post_type": "post", "text": post_text(id),
            "comments": {"count": 0}, "views": {"count": 100 + id % 50}, "attachments": []
        }));
        id -= 1;
    }
    serde_json::json!({"response": {"count": total, "items": items, "profiles": [], "groups": []}})
        .to_string()
}

/// A fake VK API on loopback serving a wall of `total` posts; keep-alive, one thread per
/// connection.
fn fake_vk(total: u64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut out = stream.try_clone().expect("clone");
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).map_or(true, |n| n == 0) {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
                            break;
                        }
                    }
                    let target = line.split_whitespace().nth(1).unwrap_or("/");
                    let body = if target.contains("/groups.getById") {
                        serde_json::json!({"response": {"groups": [{"id": GROUP,
                            "name": "Администрация Северска", "screen_name": "adm_seversk",
                            "is_closed": 0, "type": "page"}], "profiles": []}})
                        .to_string()
                    } else {
                        let offset = query_param(target, "offset")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let count = query_param(target, "count")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(20);
                        wall_page(total, offset, count)
                    };
                    // Head and body in ONE write: two small writes on a Nagle socket stall
                    // each response ~40 ms on the client's delayed ACK, which is what this
                    // benchmark used to measure instead of the pipeline.
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if out.write_all(response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Peak resident set size of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Ready {
    _dir: tempfile::TempDir,
    store: Store,
    scheduler: Scheduler,
}

/// A fresh SQLite store with the demo territories and organisations, one VK wall source and
/// the scheduler with its analyst (untimed set-up).
async fn prepare(port: u16, total: u64) -> Ready {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open_data_dir(dir.path()).await.expect("store");
    store.migrate().await.expect("migrate");
    let mut importer = otklik_import::Importer::new();
    let demo = root().join("demo");
    importer
        .add_file(
            otklik_import::ImportKind::Territories,
            &demo.join("territories.csv"),
        )
        .expect("territories");
    importer
        .add_file(
            otklik_import::ImportKind::Organisations,
            &demo.join("organisations.csv"),
        )
        .expect("organisations");
    store
        .import_directory(&importer.into_batch(), None, Timestamp(0))
        .await
        .expect("import");
    let source = store
        .add_source(
            &NewSource {
                name: "vk-adm-seversk".into(),
                network: otklik_domain::Network::Vk,
                target: "adm_seversk".into(),
                schedule: "0 */10 * * * *".into(),
                territory_code: Some("seversk-okrug".into()),
                enabled: true,
            },
            None,
            Timestamp(0),
        )
        .await
        .expect("source");

    let mut rules = otklik_rules::RulesDir::load(root().join("rules")).expect("rules");
    rules
        .add_routing_file(demo.join("routing.toml"))
        .expect("routing");
    let entries = otklik_pipeline::territory_entries(&store)
        .await
        .expect("territories");
    let dictionary =
        RegionDictionary::load(&root().join("dictionaries/severnaya-oblast")).unwrap_or_default();
    let detector = TerritoryDetector::new(entries, &dictionary).expect("detector");
    let analyzer = PostAnalyzer::from_rules(&rules)
        .expect("analyzer")
        .with_territories(detector);
    let directory = otklik_route::Directory::new(
        store.territories().await.expect("t"),
        store.organisations().await.expect("o"),
    );
    let router =
        otklik_route::Router::new(rules.routing(), rules.tree(), directory).expect("router");
    let territories = router.directory().territories().to_vec();
    let mut config =
        otklik_pipeline::workflow_config(&rules, router.directory().organisations(), 0.5, &[]);
    if let Ok(days) = std::env::var("OTKLIK_BENCH_DUPLICATE_WINDOW_DAYS") {
        config.duplicate_window_days = days.parse().expect("OTKLIK_BENCH_DUPLICATE_WINDOW_DAYS");
    }
    let workflow =
        otklik_pipeline::build_workflow(store.clone(), &rules, router, config).expect("workflow");
    let analyst = Analyst::new(
        workflow,
        analyzer,
        rules.tree().clone(),
        &territories,
        AnalystSettings::default(),
    );

    let config: SourceConfig = serde_json::from_value(serde_json::json!({
        "kind": "vk_wall", "owners": ["adm_seversk"], "page_size": 100,
        "backfill_pages": total / 90 + 10,
        "api": {"base_url": format!("http://127.0.0.1:{port}/method/"), "token": TOKEN,
                "token_kind": "group", "requests_per_second": 100000.0}
    }))
    .expect("config");
    let http = HttpClient::new(otklik_collect::http::HttpConfig::default()).expect("http");
    let scheduled = ScheduledSource {
        id: source.id,
        name: source.name.clone(),
        schedule: Schedule::parse(&source.schedule).expect("schedule"),
        source: Arc::from(config.build(&http).expect("build")),
    };
    let settings = SchedulerSettings {
        collector: CollectorSettings {
            max_pages: 50,
            ..CollectorSettings::default()
        },
        max_idle: Duration::from_millis(50),
        ..SchedulerSettings::default()
    };
    let scheduler = Scheduler::new(store.clone(), vec![scheduled], settings).with_analyst(analyst);
    Ready {
        _dir: dir,
        store,
        scheduler,
    }
}

/// Runs the scheduler until all `total` posts are stored and classified; the elapsed time.
async fn ingest(ready: Ready, total: u64) -> Duration {
    let Ready {
        _dir,
        store,
        scheduler,
    } = ready;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let run = tokio::spawn(scheduler.run(rx));
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let stored: i64 = store
            .source_health()
            .await
            .expect("health")
            .iter()
            .map(|h| h.items_total)
            .sum();
        if stored >= i64::try_from(total).unwrap_or(i64::MAX)
            && store.posts_to_classify(1).await.expect("todo").is_empty()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "stuck at {stored}"
        );
    }
    let elapsed = started.elapsed();
    let _ = tx.send(true);
    run.await.expect("join").expect("pipeline");
    elapsed
}

fn bench(c: &mut Criterion) {
    let total = env_usize("OTKLIK_BENCH_POSTS", 10_000) as u64;
    let long = env_usize("OTKLIK_BENCH_LONG_POSTS", 50_000) as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let port = fake_vk(total);
    let mut group = c.benchmark_group("collect_pipeline");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(total));
    group.bench_function(format!("vk_wall_{total}_posts_to_sqlite"), |b| {
        b.iter_custom(|iters| {
            let mut sum = Duration::ZERO;
            for _ in 0..iters {
                let ready = rt.block_on(prepare(port, total));
                sum += rt.block_on(ingest(ready, total));
            }
            sum
        });
    });
    group.finish();

    // Flat memory: the peak RSS after the criterion runs, then after one run 5× as long.
    let before = peak_rss_mib();
    let long_port = fake_vk(long);
    let ready = rt.block_on(prepare(long_port, long));
    let elapsed = rt.block_on(ingest(ready, long));
    let after = peak_rss_mib();
    println!(
        "collect_pipeline long run: {long} posts in {:.2} s = {:.0} posts/s; peak RSS {before:.1} MiB after {total}-post runs, {after:.1} MiB after the {long}-post run",
        elapsed.as_secs_f64(),
        long as f64 / elapsed.as_secs_f64()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
