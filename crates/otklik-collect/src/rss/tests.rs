use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::*;
use crate::item::AttachmentKind;
use crate::testutil::{Counter, FakeServer, fast_http};

const RSS: &str = include_str!("fixtures/city-news.xml");
const ATOM: &str = include_str!("fixtures/ministry.atom");
const NOW: i64 = 1_741_100_000_000;

fn items(xml: &str) -> Vec<crate::Item> {
    parse_feed(xml, "http://fixture/")
        .expect("feed parses")
        .into_iter()
        .map(|e| e.into_item(NOW, true).expect("usable entry"))
        .collect()
}

#[test]
fn rss_items_are_parsed() {
    let items = items(RSS);
    assert_eq!(items.len(), 3);

    let a = &items[0];
    assert_eq!(a.external_id, "news-1001", "guid wins");
    assert_eq!(
        a.url.as_deref(),
        Some("https://severgorod.example.invalid/news/1001/")
    );
    assert_eq!(
        a.text,
        "Открыт приём заявок на ремонт дворов по программе «Комфортная среда»\n\n\
         Жители могут подать заявку до 31 марта. Заявки принимают управляющие компании и МФЦ. \
         Подробности — на портале госуслуг.",
        "title, then the full text"
    );
    assert_eq!(a.author.as_deref(), Some("Пресс-служба администрации"));
    assert_eq!(a.published_at_ms, 1_741_000_000_000);
    assert_eq!(a.attachments, [AttachmentKind::Photo]);
    assert_eq!(a.network, Network::Rss);

    let b = &items[1];
    assert_eq!(
        b.external_id, "https://severgorod.example.invalid/news/1002/",
        "link as id"
    );
    assert!(
        b.text
            .starts_with("График вывоза крупногабаритного мусора & ТКО на март\n\n")
    );
    assert!(
        b.text
            .ends_with("Вывоз по «Северному» району — по вторникам и пятницам.")
    );
    assert_eq!(b.author.as_deref(), Some("Отдел ЖКХ"));
    assert_eq!(b.published_at_ms, 1_740_996_000_000);
    assert_eq!(
        b.attachments,
        [AttachmentKind::Video, AttachmentKind::Document]
    );

    let c = &items[2];
    assert_eq!(
        c.text,
        "Мэр провёл приём граждан\n\nНа приём пришли 14 человек.\nремонт дорог\nосвещение во дворах",
        "content:encoded preferred to description"
    );
    assert_eq!(c.url, None);
    assert_eq!(c.published_at_ms, 1_740_929_400_000);
}

#[test]
fn atom_entries_are_parsed() {
    let items = items(ATOM);
    assert_eq!(items.len(), 2);
    let a = &items[0];
    assert_eq!(a.external_id, "tag:minzdrav.example.invalid,2025:news-77");
    assert_eq!(
        a.url.as_deref(),
        Some("https://minzdrav.example.invalid/news/77")
    );
    assert_eq!(
        a.text,
        "Вакцинация от гриппа: пункты работают до 20:00\n\nПункты вакцинации работают в поликлиниках №1 и №4."
    );
    assert_eq!(a.author.as_deref(), Some("Пресс-служба минздрава"));
    assert_eq!(a.published_at_ms, 1_740_978_000_000);
    assert!(a.edited);
    assert_eq!(a.edited_at_ms, Some(1_740_990_600_000));
    assert_eq!(a.attachments, [AttachmentKind::Photo]);

    let b = &items[1];
    assert_eq!(
        b.url.as_deref(),
        Some("https://minzdrav.example.invalid/news/76")
    );
    assert_eq!(
        b.text,
        "Горячая линия по лекарственному обеспечению\n\nТелефон горячей линии: 8-800-000-00-03."
    );
    assert_eq!(
        b.published_at_ms, 1_740_906_900_000,
        "updated when no published"
    );
    assert!(!b.edited);
}

#[test]
fn broken_feeds_are_errors() {
    let cut = &RSS[..RSS.len() / 2];
    let err = parse_feed(cut, "u").expect_err("truncated");
    assert!(matches!(err, CollectError::Truncated { .. }), "{err}");
    assert!(err.is_retryable());

    let err = parse_feed("<html><body>Сайт на обслуживании</body></html>", "u").expect_err("html");
    assert!(matches!(err, CollectError::Format { .. }), "{err}");
    assert!(!err.is_retryable());

    let err = parse_feed("", "u").expect_err("empty");
    assert!(matches!(err, CollectError::Format { .. }), "{err}");

    let bad_nesting = "<rss><channel><item><title>x</link></item></channel></rss>";
    assert!(parse_feed(bad_nesting, "u").is_err());
}

#[test]
fn entries_without_dates_or_ids() {
    let xml = "<rss><channel>\
               <item><title>Без даты</title><link>https://x.example.invalid/1</link></item>\
               <item><description>Ни заголовка, ни ссылки</description></item>\
               <item><title>Только заголовок</title><pubDate>вчера</pubDate></item>\
               </channel></rss>";
    let entries = parse_feed(xml, "u").expect("parses");
    let first = entries[0].clone().into_item(NOW, true).expect("usable");
    assert_eq!(first.published_at_ms, NOW, "no date: the time it was found");
    assert!(entries[1].clone().into_item(NOW, true).is_err());
    let third = entries[2].clone().into_item(NOW, true).expect("title-only");
    assert!(third.external_id.starts_with("urn:sha256:"));
    assert_eq!(third.published_at_ms, NOW);
}

// ---- against a fake server ----------------------------------------------------------------

#[derive(Clone, Default)]
struct Feed {
    body: Arc<Mutex<Vec<u8>>>,
    content_type: Arc<Mutex<String>>,
    hits: Counter,
}

impl Feed {
    fn set(&self, body: impl Into<Vec<u8>>, content_type: &str) {
        *self.body.lock().expect("lock") = body.into();
        *self.content_type.lock().expect("lock") = content_type.to_owned();
    }
}

async fn feed(State(f): State<Feed>) -> impl IntoResponse {
    f.hits.hit();
    let body = f.body.lock().expect("lock").clone();
    let ct = f.content_type.lock().expect("lock").clone();
    ([(header::CONTENT_TYPE, ct)], body)
}

async fn serve(f: &Feed) -> FakeServer {
    FakeServer::start(
        Router::new()
            .route("/rss.xml", get(feed))
            .with_state(f.clone()),
    )
    .await
}

fn source(server: &FakeServer) -> RssSource {
    RssSource::new(
        RssConfig::new(format!("{}rss.xml", server.base())),
        fast_http(),
    )
    .expect("source")
}

#[tokio::test]
async fn new_and_edited_items_only() {
    let f = Feed::default();
    f.set(RSS, "application/rss+xml; charset=utf-8");
    let server = serve(&f).await;
    let src = source(&server);
    let ctx = PollContext::at("rss-test", NOW);

    let first = src.poll(None, &ctx).await.expect("poll");
    assert!(first.done);
    assert_eq!(first.items.len(), 3);
    let second = src.poll(Some(first.next_cursor), &ctx).await.expect("poll");
    assert!(second.items.is_empty(), "nothing new");

    // An edit and a new item.
    let edited = RSS
        .replace("по вторникам и пятницам", "по вторникам, четвергам и пятницам")
        .replacen(
            "<item>",
            "<item><title>Новая новость</title><guid>news-1004</guid><pubDate>Tue, 04 Mar 2025 09:00:00 +0300</pubDate></item><item>",
            1,
        );
    f.set(edited, "application/rss+xml");
    let third = src
        .poll(Some(second.next_cursor), &ctx)
        .await
        .expect("poll");
    let mut ids: Vec<&str> = third.items.iter().map(|i| i.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["https://severgorod.example.invalid/news/1002/", "news-1004"]
    );
    let old_hash = &first.items[1].content_hash;
    let new = third
        .items
        .iter()
        .find(|i| i.external_id.ends_with("/1002/"))
        .expect("edited");
    assert_ne!(&new.content_hash, old_hash);
}

#[tokio::test]
async fn windows_1251_feed() {
    let f = Feed::default();
    let xml = "<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"><channel><title>Район</title>\
               <item><title>Отключение горячей воды</title><guid>w-1</guid>\
               <description>С 10 по 24 июня — профилактика.</description>\
               <pubDate>Mon, 03 Mar 2025 14:06:40 +0300</pubDate></item></channel></rss>";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(xml);
    f.set(bytes.into_owned(), "text/xml");
    let server = serve(&f).await;
    let batch = source(&server)
        .poll(None, &PollContext::at("rss-1251", NOW))
        .await
        .expect("poll");
    assert_eq!(
        batch.items[0].text,
        "Отключение горячей воды\n\nС 10 по 24 июня — профилактика."
    );
}

#[tokio::test]
async fn a_truncated_feed_is_retried_then_reported() {
    let f = Feed::default();
    f.set(&RSS.as_bytes()[..RSS.len() / 3], "application/rss+xml");
    let server = serve(&f).await;
    let err = source(&server)
        .poll(None, &PollContext::at("rss-cut", NOW))
        .await
        .expect_err("cut");
    assert!(matches!(err, CollectError::Truncated { .. }), "{err}");
    assert_eq!(f.hits.get(), 5, "retried as a transient failure");
}

#[test]
fn bad_urls_are_refused() {
    for bad in ["", "ftp://x.example.invalid/rss", "не адрес"] {
        assert!(matches!(
            RssSource::new(RssConfig::new(bad), fast_http()),
            Err(CollectError::Config(_))
        ));
    }
}
