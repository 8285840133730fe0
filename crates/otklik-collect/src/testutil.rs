//! Test helpers: fake servers on loopback and a fast-retrying client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::http::{BreakerConfig, HttpClient, HttpConfig, RetryConfig};
use crate::{Batch, Cursor, Item, PollContext, Source};

/// A server on 127.0.0.1 with a random port; aborted when dropped.
pub struct FakeServer {
    pub addr: SocketAddr,
    handle: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(router: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let handle = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
        Self { addr, handle }
    }

    /// `http://127.0.0.1:PORT/`
    pub fn base(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// A shared request counter for handlers.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// Increments and returns the previous value (0 for the first request).
    pub fn hit(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Test settings: tiny backoff delays, short timeouts, a breaker that does not get in the way.
pub fn fast_config() -> HttpConfig {
    HttpConfig {
        request_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        retry: RetryConfig {
            max_retries: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(3),
        },
        breaker: BreakerConfig {
            failure_threshold: 100,
            cool_down: Duration::from_millis(200),
        },
        ..HttpConfig::default()
    }
}

pub fn fast_http() -> HttpClient {
    HttpClient::new(fast_config()).expect("client")
}

/// Polls until `done` (at most `max_polls` times), committing each batch's cursor.
pub async fn drain(
    source: &dyn Source,
    mut cursor: Option<Cursor>,
    ctx: &PollContext,
    max_polls: usize,
) -> (Vec<Item>, Option<Cursor>, usize) {
    let mut items = Vec::new();
    for polls in 1..=max_polls {
        let Batch {
            items: got,
            next_cursor,
            done,
        } = source.poll(cursor.clone(), ctx).await.expect("poll");
        items.extend(got);
        cursor = Some(next_cursor);
        if done {
            return (items, cursor, polls);
        }
    }
    panic!("source not done after {max_polls} polls");
}

/// Asserts no external id appears twice.
pub fn assert_unique(items: &[Item]) {
    let mut ids: Vec<&str> = items.iter().map(|i| i.external_id.as_str()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "duplicate external ids");
}
