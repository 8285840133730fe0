//! Telemetry: the typed events reach `tracing` with their field names, and never carry a token.
//! (Its own test binary: tracing's per-callsite interest cache is process-wide, so a subscriber
//! set for one test while others run in parallel threads would be unreliable.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use otklik_collect::http::{FetchOptions, HttpClient, HttpConfig, RetryConfig};
use reqwest::Url;

#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn events_are_structured_and_never_show_the_token() {
    let logs = LogBuf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    let hits = Arc::new(Mutex::new(0u32));
    let router = Router::new().route(
        "/method/wall.get",
        get(move || {
            let hits = Arc::clone(&hits);
            async move {
                let mut n = hits.lock().expect("lock");
                *n += 1;
                if *n < 3 {
                    StatusCode::BAD_GATEWAY.into_response()
                } else {
                    "{\"response\":{}}".into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });

    let http = HttpClient::new(HttpConfig {
        retry: RetryConfig {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    })
    .expect("client");
    let url = Url::parse(&format!(
        "http://{addr}/method/wall.get?owner_id=-1&access_token=SECRET-TOKEN-123&v=5.199"
    ))
    .expect("url");
    http.fetch_retrying(&url, &FetchOptions::default())
        .await
        .expect("third attempt succeeds");

    let out = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf-8");
    for event in [
        "\"request_failed\"",
        "\"retry_scheduled\"",
        "\"request_completed\"",
    ] {
        assert!(out.contains(event), "{event} missing in {out}");
    }
    assert!(out.contains("\"error_kind\":\"http_status\""), "{out}");
    assert!(out.contains("access_token=***"), "{out}");
    assert!(!out.contains("SECRET-TOKEN-123"), "the token leaked: {out}");
    server.abort();
}
