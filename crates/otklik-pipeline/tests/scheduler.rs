//! The [`Scheduler`] end to end against a temp SQLite store: cron due times and jitter,
//! catching up on a long backlog, per-host concurrency of real HTTP sources on loopback, and
//! the per-source circuit breaker going open → half-open → closed with a fake feed that fails
//! and then recovers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use otklik_collect::http::{BreakerConfig, HttpClient, HttpConfig, RetryConfig};
use otklik_collect::schedule::Schedule;
use otklik_collect::{Batch, Cursor, Item, PollContext, PollFuture, Source, SourceConfig};
use otklik_domain::directory::NewSource;
use otklik_domain::{Network, SourceId, Timestamp};
use otklik_pipeline::{CollectorSettings, ScheduledSource, Scheduler, SchedulerSettings, now};
use otklik_store::{CircuitState, SourceHealth, Store};
use tokio::sync::watch;

async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open_data_dir(dir.path()).await.expect("open");
    store.migrate().await.expect("migrate");
    (dir, store)
}

async fn add_source(store: &Store, name: &str, network: Network, target: &str) -> SourceId {
    store
        .add_source(
            &NewSource {
                name: name.into(),
                network,
                target: target.into(),
                schedule: "0 0 */6 * * *".into(),
                territory_code: None,
                enabled: true,
            },
            None,
            Timestamp(0),
        )
        .await
        .expect("source")
        .id
}

fn fast_settings() -> SchedulerSettings {
    SchedulerSettings {
        collector: CollectorSettings {
            max_pages: 2,
            backoff_base: Duration::from_millis(40),
            backoff_max: Duration::from_millis(120),
        },
        max_idle: Duration::from_millis(30),
        ..SchedulerSettings::default()
    }
}

fn http(max_per_host: usize) -> HttpClient {
    HttpClient::new(HttpConfig {
        request_timeout: Duration::from_secs(5),
        max_concurrency_per_host: max_per_host,
        retry: RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        },
        breaker: BreakerConfig {
            failure_threshold: 1000,
            cool_down: Duration::from_millis(10),
        },
        ..HttpConfig::default()
    })
    .expect("http")
}

async fn health(store: &Store, id: SourceId) -> SourceHealth {
    store.source_health_of(id).await.expect("health")
}

/// Polls `cond` on the source's health every 10 ms, up to `secs`.
async fn wait_for(
    store: &Store,
    id: SourceId,
    secs: u64,
    cond: impl Fn(&SourceHealth) -> bool,
) -> SourceHealth {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let h = health(store, id).await;
        if cond(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "timed out: {h:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An in-process source with a backlog of `pages` pages of 3 posts; records when it is polled.
#[derive(Debug)]
struct Backlog {
    pages: u32,
    polls: Mutex<Vec<Instant>>,
}

impl Source for Backlog {
    fn network(&self) -> Network {
        Network::Rss
    }

    fn poll<'a>(&'a self, cursor: Option<Cursor>, _ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(async move {
            self.polls.lock().expect("lock").push(Instant::now());
            let page: u32 = cursor
                .as_ref()
                .and_then(|c| c.as_str().parse().ok())
                .unwrap_or(0);
            if page >= self.pages {
                return Ok(Batch {
                    items: Vec::new(),
                    next_cursor: Cursor::new(page.to_string()),
                    done: true,
                });
            }
            let items = (0..3)
                .map(|i| {
                    let id = page * 3 + i;
                    Item::new(
                        Network::Rss,
                        format!("backlog-{id}"),
                        format!("Новость номер {id}"),
                        1_741_000_000_000 + i64::from(id) * 60_000,
                    )
                    .finish()
                })
                .collect();
            Ok(Batch {
                items,
                next_cursor: Cursor::new((page + 1).to_string()),
                done: page + 1 >= self.pages,
            })
        })
    }
}

#[tokio::test]
async fn backlog_is_read_at_once_then_the_next_run_waits_for_the_cron_time_with_jitter() {
    let (_dir, store) = temp_store().await;
    let id = add_source(&store, "backlog", Network::Rss, "http://127.0.0.1:1/x").await;
    let source = Arc::new(Backlog {
        pages: 7,
        polls: Mutex::default(),
    });
    let jitter = Duration::from_secs(90);
    let schedule = Schedule::parse("0 0 */6 * * *")
        .expect("cron")
        .with_jitter(jitter);
    let scheduled = ScheduledSource {
        id,
        name: "backlog".into(),
        schedule: schedule.clone(),
        source: Arc::clone(&source) as Arc<dyn Source>,
    };
    let (tx, rx) = watch::channel(false);
    let started = now();
    let run = tokio::spawn(Scheduler::new(store.clone(), vec![scheduled], fast_settings()).run(rx));

    // 7 pages at 2 pages a run: 4 runs back to back, not 4 cron periods (6 hours each).
    let h = wait_for(&store, id, 20, |h| {
        h.items_total == 21 && h.next_run_at > Some(started)
    })
    .await;
    let after_catch_up = source.polls.lock().expect("lock").len();
    assert_eq!(after_catch_up, 7, "one poll per page");
    assert_eq!(h.cursor.as_deref(), Some("7"));

    // Caught up: the next run is the next cron occurrence (every 6 hours at :00:00) plus at most
    // the jitter, and the source is not polled before it.
    let polled_at = h.last_poll_at.expect("polled").millis();
    let occurrence = schedule.next_after(polled_at).expect("next");
    let next = h.next_run_at.expect("next run").millis();
    assert!(
        next >= occurrence,
        "{next} before the occurrence {occurrence}"
    );
    assert!(
        next <= occurrence + i64::try_from(jitter.as_millis()).expect("ms"),
        "{next} later than occurrence + jitter"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(source.polls.lock().expect("lock").len(), after_catch_up);

    // Graceful stop: the run returns promptly.
    tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("stopped in time")
        .expect("join")
        .expect("pipeline");
}

#[tokio::test]
async fn a_source_is_not_polled_before_its_due_time() {
    let (_dir, store) = temp_store().await;
    let id = add_source(&store, "later", Network::Rss, "http://127.0.0.1:1/x").await;
    let due = Timestamp(now().millis() + 400);
    store
        .set_source_next_run(id, Some(due))
        .await
        .expect("next run");
    let source = Arc::new(Backlog {
        pages: 1,
        polls: Mutex::default(),
    });
    let scheduled = ScheduledSource {
        id,
        name: "later".into(),
        schedule: Schedule::parse("0 0 */6 * * *").expect("cron"),
        source: Arc::clone(&source) as Arc<dyn Source>,
    };
    let (tx, rx) = watch::channel(false);
    let run = tokio::spawn(Scheduler::new(store.clone(), vec![scheduled], fast_settings()).run(rx));
    wait_for(&store, id, 10, |h| h.items_total == 3).await;
    let first = source.polls.lock().expect("lock")[0];
    let polled_ms = now().millis() - (Instant::now() - first).as_millis() as i64;
    assert!(
        polled_ms >= due.millis() - 5,
        "polled {} ms early",
        due.millis() - polled_ms
    );
    tx.send(true).expect("stop");
    run.await.expect("join").expect("pipeline");
}

// ---- real HTTP sources on loopback --------------------------------------------------------

fn feed(items: &[(&str, &str)]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Лента</title>",
    );
    for (guid, text) in items {
        xml.push_str(&format!(
            "<item><guid>{guid}</guid><title>{text}</title><description>{text}</description>\
             <pubDate>Mon, 03 Mar 2025 06:15:00 +0000</pubDate></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

async fn start(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

#[derive(Clone, Default)]
struct Slow {
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    hits: Arc<AtomicUsize>,
}

async fn slow_feed(State(s): State<Slow>) -> Response {
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    s.hits.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        feed(&[("a", "Новость")]),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_on_one_host_respect_its_concurrency_limit() {
    let (_dir, store) = temp_store().await;
    let slow = Slow::default();
    let base = start(
        Router::new()
            .route("/{name}", get(slow_feed))
            .with_state(slow.clone()),
    )
    .await;
    let http = http(2);
    let mut sources = Vec::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        let name = format!("rss-{i}");
        let url = format!("{base}/feed-{i}.xml");
        let id = add_source(&store, &name, Network::Rss, &url).await;
        let config: SourceConfig =
            serde_json::from_value(serde_json::json!({"kind": "rss", "url": url})).expect("cfg");
        sources.push(ScheduledSource {
            id,
            name,
            schedule: Schedule::parse("0 0 */6 * * *").expect("cron"),
            source: Arc::from(config.build(&http).expect("build")),
        });
        ids.push(id);
    }
    let (tx, rx) = watch::channel(false);
    let run = tokio::spawn(Scheduler::new(store.clone(), sources, fast_settings()).run(rx));
    for id in &ids {
        wait_for(&store, *id, 20, |h| h.last_success_at.is_some()).await;
    }
    tx.send(true).expect("stop");
    run.await.expect("join").expect("pipeline");
    assert_eq!(slow.hits.load(Ordering::SeqCst), 5);
    // Five sources ran at once, but the host never saw more than two requests in flight.
    assert_eq!(slow.max_in_flight.load(Ordering::SeqCst), 2);
}

/// A feed that fails with 500 for its first `fail` requests, then serves posts. At every
/// request it notes the circuit the store shows for the source (the scheduler must never poll
/// while it is open).
#[derive(Clone)]
struct Flaky {
    store: Store,
    source: Arc<Mutex<Option<SourceId>>>,
    fail: usize,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// At one request: the circuit, its `open_until`, and the time.
type Seen = (CircuitState, Option<Timestamp>, Timestamp);

async fn flaky_feed(State(f): State<Flaky>) -> Response {
    let id = f.source.lock().expect("lock").expect("source id");
    let h = f.store.source_health_of(id).await.expect("health");
    let n = {
        let mut seen = f.seen.lock().expect("lock");
        seen.push((h.circuit, h.open_until, now()));
        seen.len()
    };
    if n <= f.fail {
        return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        feed(&[("p1", "Первая новость"), ("p2", "Вторая новость")]),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_opens_after_failures_half_opens_and_closes_when_the_source_recovers() {
    let (_dir, store) = temp_store().await;
    // 5 failures open the circuit; the first probe fails too (open again at once), the
    // second probe succeeds.
    let fail = usize::try_from(otklik_store::CIRCUIT_OPEN_AFTER).expect("n") + 1;
    let flaky = Flaky {
        store: store.clone(),
        source: Arc::default(),
        fail,
        seen: Arc::default(),
    };
    let base = start(
        Router::new()
            .route("/feed.xml", get(flaky_feed))
            .with_state(flaky.clone()),
    )
    .await;
    let url = format!("{base}/feed.xml");
    let id = add_source(&store, "flaky", Network::Rss, &url).await;
    *flaky.source.lock().expect("lock") = Some(id);
    let http = http(4);
    let config: SourceConfig =
        serde_json::from_value(serde_json::json!({"kind": "rss", "url": url})).expect("cfg");
    let scheduled = ScheduledSource {
        id,
        name: "flaky".into(),
        schedule: Schedule::parse("0 0 */6 * * *").expect("cron"),
        source: Arc::from(config.build(&http).expect("build")),
    };
    let (tx, rx) = watch::channel(false);
    let run = tokio::spawn(Scheduler::new(store.clone(), vec![scheduled], fast_settings()).run(rx));

    // Open: seen in the store after the fifth failure.
    let opened = wait_for(&store, id, 20, |h| h.circuit == CircuitState::Open).await;
    assert!(opened.consecutive_failures >= otklik_store::CIRCUIT_OPEN_AFTER);
    assert!(opened.open_until.is_some());
    assert!(
        opened
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("500")),
        "{opened:#?}"
    );
    // Closed again with the posts once the feed recovers.
    let closed = wait_for(&store, id, 20, |h| {
        h.circuit == CircuitState::Closed && h.items_total == 2
    })
    .await;
    assert_eq!(closed.consecutive_failures, 0);
    tx.send(true).expect("stop");
    run.await.expect("join").expect("pipeline");

    let seen = flaky.seen.lock().expect("lock").clone();
    let states: Vec<CircuitState> = seen.iter().map(|(c, _, _)| *c).collect();
    let open_after = usize::try_from(otklik_store::CIRCUIT_OPEN_AFTER).expect("n");
    assert_eq!(seen.len(), open_after + 2, "{states:?}");
    // The first five polls with the circuit closed, then two half-open probes; never a poll
    // while the circuit was open.
    assert!(
        states[..open_after]
            .iter()
            .all(|c| *c == CircuitState::Closed),
        "{states:?}"
    );
    assert_eq!(
        &states[open_after..],
        &[CircuitState::HalfOpen, CircuitState::HalfOpen],
        "{states:?}"
    );
    for (circuit, open_until, at) in &seen {
        assert_ne!(*circuit, CircuitState::Open);
        if let Some(until) = open_until {
            assert!(at >= until, "polled at {at:?} before open_until {until:?}");
        }
    }
}
