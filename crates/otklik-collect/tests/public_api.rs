//! The crate as the pipeline uses it: sources built from configuration, polled as `dyn Source`
//! until done, each batch "committed" with its cursor, then resumed from the committed cursor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use otklik_collect::http::{HttpClient, HttpConfig, RetryConfig};
use otklik_collect::schedule::Schedule;
use otklik_collect::{Cursor, Item, Network, PollContext, SourceConfig};

/// What the store keeps per post (the shape of `otklik_store::NewPost`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StoredPost {
    network: Network,
    external_id: String,
    url: Option<String>,
    author: Option<String>,
    text: String,
    published_at: otklik_domain::Timestamp,
    content_hash: String,
}

impl From<&Item> for StoredPost {
    fn from(i: &Item) -> Self {
        Self {
            network: i.network,
            external_id: i.external_id.clone(),
            url: i.url.clone(),
            author: i.author.clone(),
            text: i.text.clone(),
            published_at: i.published_at(),
            content_hash: i.content_hash.clone(),
        }
    }
}

/// A toy store: posts and the cursor committed together.
#[derive(Default)]
struct Store {
    posts: Vec<StoredPost>,
    cursor: Option<Cursor>,
}

fn feed(n: usize) -> String {
    let mut xml =
        String::from("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Лента</title>");
    for i in (1..=n).rev() {
        xml.push_str(&format!(
            "<item><title>Новость {i}</title><guid>n-{i}</guid>\
             <description>Текст новости {i} о ремонте дорог</description>\
             <pubDate>Mon, 03 Mar 2025 {:02}:00:00 +0300</pubDate></item>",
            i % 24
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

#[tokio::test]
async fn poll_commit_resume() {
    let body = Arc::new(Mutex::new(feed(3)));
    let router = Router::new()
        .route(
            "/rss.xml",
            get(|State(b): State<Arc<Mutex<String>>>| async move {
                let xml = b.lock().expect("lock").clone();
                ([(header::CONTENT_TYPE, "application/rss+xml")], xml).into_response()
            }),
        )
        .with_state(Arc::clone(&body));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });

    let http = HttpClient::new(HttpConfig {
        retry: RetryConfig {
            base_delay: Duration::from_millis(5),
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    })
    .expect("client");
    let cfg: SourceConfig = toml::from_str(&format!(
        "kind = \"rss\"\nurl = \"http://{addr}/rss.xml\"\n"
    ))
    .expect("config");
    let source = cfg.build(&http).expect("source");
    assert_eq!(source.network(), Network::Rss);
    let schedule = Schedule::parse("0 */15 * * * *").expect("cron");

    let mut store = Store::default();
    let ctx = PollContext::new("rss-city");
    for round in 0..2 {
        loop {
            let batch = source.poll(store.cursor.clone(), &ctx).await.expect("poll");
            store.posts.extend(batch.items.iter().map(StoredPost::from));
            store.cursor = Some(batch.next_cursor);
            if batch.done {
                break;
            }
        }
        if round == 0 {
            assert_eq!(store.posts.len(), 3);
            *body.lock().expect("lock") = feed(5);
        }
        assert!(
            schedule
                .next_run(ctx.now_ms)
                .is_some_and(|t| t > ctx.now_ms)
        );
    }
    let mut ids: Vec<&str> = store.posts.iter().map(|p| p.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["n-1", "n-2", "n-3", "n-4", "n-5"],
        "each item exactly once"
    );
    assert!(
        store
            .posts
            .iter()
            .all(|p| p.content_hash.len() == 64 && p.published_at.0 > 0)
    );

    // The committed cursor is a plain string the store can keep.
    let raw = store.cursor.expect("cursor").into_string();
    assert!(raw.starts_with('{'));
    server.abort();
}
