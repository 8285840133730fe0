use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::testutil::{Counter, FakeServer, fast_config, fast_http};

// ---- pure parts ---------------------------------------------------------------------------

#[test]
fn charset_from_header_meta_xml_bom_or_fallback() {
    let text = "Уведомление о плановом отключении электроэнергии";
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(text);

    let (s, enc, bad) = decode_body(&cp1251, Some("text/html; charset=windows-1251"));
    assert_eq!((s.as_str(), enc.name(), bad), (text, "windows-1251", false));

    let (s, _, _) = decode_body(&cp1251, Some("text/html; Charset=\"CP1251\""));
    assert_eq!(s, text);

    let mut meta = b"<html><head><META http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head><body>".to_vec();
    meta.extend_from_slice(&cp1251);
    let (s, enc, _) = decode_body(&meta, Some("text/html"));
    assert_eq!(enc.name(), "windows-1251");
    assert!(s.ends_with(text));

    let mut meta5 = b"<!doctype html><meta charset='windows-1251'><p>".to_vec();
    meta5.extend_from_slice(&cp1251);
    assert!(decode_body(&meta5, None).0.ends_with(text));

    let mut xml = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss><title>".to_vec();
    xml.extend_from_slice(&cp1251);
    assert!(
        decode_body(&xml, Some("application/rss+xml"))
            .0
            .ends_with(text)
    );

    // Undeclared and not UTF-8: windows-1251.
    let (s, enc, _) = decode_body(&cp1251, None);
    assert_eq!((s.as_str(), enc.name()), (text, "windows-1251"));

    // UTF-8 with a BOM beats a wrong header; plain UTF-8 by default.
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(text.as_bytes());
    assert_eq!(
        decode_body(&bom, Some("text/html; charset=windows-1251")).0,
        text
    );
    assert_eq!(decode_body(text.as_bytes(), None).1.name(), "UTF-8");
}

#[test]
fn retry_after_in_seconds_or_http_date() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
    assert_eq!(
        parse_retry_after(&later, now),
        Some(Duration::from_secs(90))
    );
    let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
    assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("скоро", now), None);
}

#[test]
fn secrets_are_hidden() {
    let s = Secret::new("vk1.a.very-secret-token");
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(s.fingerprint().len(), 12);
    assert!(!s.fingerprint().contains("secret"));
    let url = Url::parse(
        "https://api.vk.com/method/wall.get?owner_id=-1&access_token=vk1.a.xyz&v=5.199&sig=abc",
    )
    .expect("url");
    let r = redact_url(&url);
    assert!(!r.contains("vk1.a.xyz") && !r.contains("abc"), "{r}");
    assert!(
        r.contains("owner_id=-1") && r.contains("access_token=***"),
        "{r}"
    );
}

#[test]
fn backoff_is_capped_full_jitter_and_honours_retry_after() {
    let p = RetryConfig {
        max_retries: 5,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(1000),
        max_retry_after: Duration::from_secs(10),
    };
    for retry in 0..8u32 {
        let cap = Duration::from_millis(100 * 2u64.pow(retry)).min(Duration::from_millis(1000));
        for _ in 0..50 {
            let d = p.delay(retry, None).expect("delay");
            assert!(d <= cap, "retry {retry}: {d:?} > {cap:?}");
        }
    }
    // Full jitter: delays spread over the range rather than sitting at the cap.
    let spread: Vec<Duration> = (0..100).map(|_| p.delay(3, None).expect("delay")).collect();
    assert!(spread.iter().any(|d| *d < Duration::from_millis(400)));
    assert!(spread.iter().any(|d| *d > Duration::from_millis(400)));
    assert_eq!(
        p.delay(0, Some(Duration::from_secs(7))),
        Some(Duration::from_secs(7))
    );
    assert_eq!(p.delay(0, Some(Duration::from_secs(11))), None);
}

#[tokio::test(start_paused = true)]
async fn rate_limiter_spaces_requests() {
    let limiter = Arc::new(RateLimiter::new("vk:test", RateLimit::VK_USER));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let l = Arc::clone(&limiter);
        tasks.push(tokio::spawn(async move {
            l.acquire().await;
            Instant::now() - start
        }));
    }
    let mut times = Vec::new();
    for t in tasks {
        times.push(t.await.expect("task"));
    }
    times.sort();
    // Any half-open one-second window holds at most 3 requests.
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|u| **u < *t + Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 3,
            "{in_window} requests within a second after {t:?}"
        );
    }
    let last = *times.last().expect("times");
    assert!(last >= Duration::from_millis(9_600), "{last:?}");
    assert!(last <= Duration::from_millis(10_000), "{last:?}");
}

#[tokio::test(start_paused = true)]
async fn group_token_rate_and_bursts() {
    let limiter = RateLimiter::new("vk:group", RateLimit::VK_GROUP);
    let start = Instant::now();
    for _ in 0..41 {
        limiter.acquire().await;
    }
    // 41 requests at 20/s: the 41st at 2 s.
    let e = start.elapsed();
    assert!(
        e >= Duration::from_millis(1_990) && e <= Duration::from_millis(2_010),
        "{e:?}"
    );

    let bursty = RateLimiter::new(
        "burst",
        RateLimit {
            per_second: 2.0,
            burst: 3,
        },
    );
    let start = Instant::now();
    for _ in 0..3 {
        bursty.acquire().await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "a burst of 3 goes at once");
    bursty.acquire().await;
    assert!(start.elapsed() >= Duration::from_millis(499));
}

#[test]
fn limiters_are_shared_per_key() {
    let http = fast_http();
    let a = http.limiter("vk:abc", RateLimit::VK_USER);
    let b = http.limiter("vk:abc", RateLimit::VK_GROUP);
    let c = http.limiter("vk:def", RateLimit::VK_USER);
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &c));
}

#[tokio::test(start_paused = true)]
async fn breaker_opens_half_opens_and_closes() {
    let b = CircuitBreaker::new(
        "vk.example:443",
        BreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(30),
        },
    );
    for _ in 0..2 {
        assert!(b.try_acquire().is_ok());
        b.record_failure();
    }
    b.record_success(); // a success resets the count
    for _ in 0..3 {
        assert!(b.try_acquire().is_ok());
        b.record_failure();
    }
    assert!(b.is_open());
    let wait = b.try_acquire().expect_err("open");
    assert!(wait <= Duration::from_secs(30) && wait > Duration::from_secs(29));

    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(b.try_acquire().is_ok(), "half-open: one probe");
    assert!(b.try_acquire().is_err(), "only one probe at a time");
    b.record_failure();
    assert!(b.is_open(), "failed probe opens again");

    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(b.try_acquire().is_ok());
    b.record_success();
    assert!(!b.is_open());
    assert!(b.try_acquire().is_ok() && b.try_acquire().is_ok());
}

// ---- against fake servers ----------------------------------------------------------------

#[derive(Clone, Default)]
struct Faults {
    hits: Counter,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

async fn flaky_429(State(f): State<Faults>) -> Response {
    if f.hits.hit() == 0 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "помедленнее",
        )
            .into_response();
    }
    "ok".into_response()
}

async fn flaky_429_date(State(f): State<Faults>) -> Response {
    if f.hits.hit() == 0 {
        let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, at)],
            "",
        )
            .into_response();
    }
    "ok".into_response()
}

async fn flaky_5xx(State(f): State<Faults>) -> Response {
    match f.hits.hit() {
        0 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        1 => StatusCode::BAD_GATEWAY.into_response(),
        _ => "ok".into_response(),
    }
}

async fn slow_once(State(f): State<Faults>) -> Response {
    if f.hits.hit() == 0 {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    "ok".into_response()
}

async fn always_503(State(f): State<Faults>) -> Response {
    f.hits.hit();
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

async fn tracked(State(f): State<Faults>) -> Response {
    f.hits.hit();
    let now = f.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    f.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(60)).await;
    f.in_flight.fetch_sub(1, Ordering::SeqCst);
    "ok".into_response()
}

fn cp1251(text: &str) -> Vec<u8> {
    encoding_rs::WINDOWS_1251.encode(text).0.into_owned()
}

async fn fault_server(f: &Faults) -> FakeServer {
    let router = Router::new()
        .route("/429", get(flaky_429))
        .route("/429-date", get(flaky_429_date))
        .route("/5xx", get(flaky_5xx))
        .route("/slow", get(slow_once))
        .route("/503", get(always_503))
        .route("/tracked", get(tracked))
        .route("/big", get(|| async { "я".repeat(5 * 1024 * 1024) }))
        .route(
            "/cp1251",
            get(|| async {
                let mut h = HeaderMap::new();
                h.insert(header::CONTENT_TYPE, "text/html; charset=windows-1251".parse().expect("hv"));
                (h, cp1251("<p>Жалоба на яму во дворе</p>"))
            }),
        )
        .route(
            "/cp1251-meta",
            get(|| async {
                let mut body = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head>".to_vec();
                body.extend(cp1251("<body>Новости района</body></html>"));
                ([(header::CONTENT_TYPE, "text/html")], body)
            }),
        )
        .with_state(f.clone());
    FakeServer::start(router).await
}

fn url(server: &FakeServer, path: &str) -> Url {
    Url::parse(&format!(
        "{}{}",
        server.base(),
        path.trim_start_matches('/')
    ))
    .expect("url")
}

#[tokio::test]
async fn retry_after_429_is_honoured() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let http = fast_http();
    let started = std::time::Instant::now();
    let page = http
        .fetch_retrying(&url(&server, "/429"), &FetchOptions::default())
        .await
        .expect("second attempt succeeds");
    assert_eq!(page.text, "ok");
    assert_eq!(f.hits.get(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );

    // A single attempt reports the 429 with its Retry-After.
    let f2 = Faults::default();
    let server2 = fault_server(&f2).await;
    let err = http
        .fetch(&url(&server2, "/429"), &FetchOptions::default())
        .await
        .expect_err("429");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn retry_after_as_http_date() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let err = fast_http()
        .fetch(&url(&server, "/429-date"), &FetchOptions::default())
        .await
        .expect_err("429");
    let ra = err.retry_after().expect("retry after");
    assert!(
        ra <= Duration::from_secs(2) && ra >= Duration::from_millis(500),
        "{ra:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let page = fast_http()
        .fetch_retrying(&url(&server, "/5xx"), &FetchOptions::default())
        .await
        .expect("third attempt succeeds");
    assert_eq!(page.text, "ok");
    assert_eq!(f.hits.get(), 3);
}

#[tokio::test]
async fn timeouts_are_retryable_and_retried() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let mut cfg = fast_config();
    cfg.request_timeout = Duration::from_millis(300);
    let http = HttpClient::new(cfg).expect("client");
    let err = http
        .fetch(&url(&server, "/slow"), &FetchOptions::default())
        .await
        .expect_err("times out");
    assert!(matches!(err, CollectError::Timeout { .. }), "{err}");
    assert!(err.is_retryable());
    // Second request is fast.
    assert_eq!(
        http.fetch_retrying(&url(&server, "/slow"), &FetchOptions::default())
            .await
            .expect("fast now")
            .text,
        "ok"
    );
}

#[tokio::test]
async fn retries_run_out_and_the_last_error_is_returned() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let err = fast_http()
        .fetch_retrying(&url(&server, "/503"), &FetchOptions::default())
        .await
        .expect_err("always 503");
    assert!(
        matches!(err, CollectError::Http { status: 503, .. }),
        "{err}"
    );
    assert_eq!(f.hits.get(), 5, "1 attempt + 4 retries");
}

#[tokio::test]
async fn breaker_stops_hammering_a_failing_host() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let mut cfg = fast_config();
    cfg.breaker = BreakerConfig {
        failure_threshold: 3,
        cool_down: Duration::from_millis(300),
    };
    let http = HttpClient::new(cfg).expect("client");
    let err = http
        .fetch_retrying(&url(&server, "/503"), &FetchOptions::default())
        .await
        .expect_err("fails");
    assert!(matches!(err, CollectError::CircuitOpen { .. }), "{err}");
    assert_eq!(f.hits.get(), 3, "the breaker opened after 3 failures");
    assert!(http.is_circuit_open(&url(&server, "/503")));
    // Other paths of the same host are refused too, without a request.
    let err = http
        .fetch(&url(&server, "/5xx"), &FetchOptions::default())
        .await
        .expect_err("open");
    assert!(matches!(err, CollectError::CircuitOpen { .. }));
    assert_eq!(f.hits.get(), 3);
    // After the cool-down a probe goes through; a success closes the breaker.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let ok = http
        .fetch(&url(&server, "/tracked"), &FetchOptions::default())
        .await
        .expect("probe");
    assert_eq!(ok.text, "ok");
    assert!(!http.is_circuit_open(&url(&server, "/503")));
}

#[tokio::test]
async fn per_host_concurrency_is_limited() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let http = fast_http(); // 2 per host
    let u = url(&server, "/tracked");
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let http = http.clone();
        let u = u.clone();
        tasks.push(tokio::spawn(async move {
            http.fetch(&u, &FetchOptions::default())
                .await
                .map(|p| p.text)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task").expect("fetch"), "ok");
    }
    assert_eq!(f.hits.get(), 6);
    assert_eq!(f.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn rate_limited_requests_against_a_server() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let http = fast_http();
    let opts = FetchOptions {
        limiter: Some(http.limiter("test", RateLimit::per_second(20.0))),
        ..FetchOptions::default()
    };
    let started = std::time::Instant::now();
    for _ in 0..11 {
        http.fetch(&url(&server, "/5xx"), &opts).await.ok();
    }
    // 11 requests at 20/s: at least 500 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn big_bodies_are_refused() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let mut cfg = fast_config();
    cfg.max_body_bytes = 1024 * 1024;
    let http = HttpClient::new(cfg).expect("client");
    // Declared Content-Length over the cap.
    let err = http
        .fetch(&url(&server, "/big"), &FetchOptions::default())
        .await
        .expect_err("too big");
    assert!(
        matches!(
            err,
            CollectError::BodyTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_retryable());
}

/// A raw HTTP/1.1 server answering every connection with `head` and then `body_len` bytes of
/// `fill` (or just `head`), then closing.
async fn raw_server(head: &'static str, body_len: usize) -> FakeRaw {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'a'; 64 * 1024];
                let mut sent = 0;
                while sent < body_len {
                    let n = chunk.len().min(body_len - sent);
                    if sock.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    sent += n;
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    FakeRaw { addr, handle }
}

struct FakeRaw {
    addr: std::net::SocketAddr,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRaw {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[tokio::test]
async fn a_ten_megabyte_stream_without_length_is_cut_off_at_the_cap() {
    let raw = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n",
        10 * 1024 * 1024,
    )
    .await;
    let http = fast_http(); // 5 MiB cap
    let u = Url::parse(&format!("http://{}/s/big", raw.addr)).expect("url");
    let err = http
        .fetch(&u, &FetchOptions::default())
        .await
        .expect_err("too big");
    assert!(matches!(err, CollectError::BodyTooLarge { .. }), "{err}");
}

#[tokio::test]
async fn a_truncated_body_is_a_retryable_error() {
    let raw = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"response\":{\"items\":[",
        0,
    )
    .await;
    let u = Url::parse(&format!("http://{}/method/wall.get", raw.addr)).expect("url");
    let err = fast_http()
        .fetch(&u, &FetchOptions::default())
        .await
        .expect_err("truncated");
    assert!(matches!(err, CollectError::Truncated { .. }), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn connection_refused_is_a_retryable_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let mut cfg = fast_config();
    cfg.retry.max_retries = 1;
    let err = HttpClient::new(cfg)
        .expect("client")
        .fetch_retrying(
            &Url::parse(&format!("http://{addr}/")).expect("url"),
            &FetchOptions::default(),
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, CollectError::Transport { .. }), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn windows_1251_pages_are_decoded() {
    let f = Faults::default();
    let server = fault_server(&f).await;
    let http = fast_http();
    let page = http
        .fetch(&url(&server, "/cp1251"), &FetchOptions::default())
        .await
        .expect("page");
    assert_eq!(page.text, "<p>Жалоба на яму во дворе</p>");
    assert_eq!(page.encoding, "windows-1251");
    let page = http
        .fetch(&url(&server, "/cp1251-meta"), &FetchOptions::default())
        .await
        .expect("page");
    assert!(
        page.text.contains("<body>Новости района</body>"),
        "{}",
        page.text
    );
}
