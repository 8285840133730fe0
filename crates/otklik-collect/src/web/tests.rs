use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::*;
use crate::testutil::{FakeServer, fast_http};

const PAGE: &str = include_str!("fixtures/district-news.html");
const NOW: i64 = 1_741_100_000_000;

fn config(url: &str) -> WebConfig {
    let mut c = WebConfig::new(url, ".news-list .news-item");
    c.title_selector = Some("h3".into());
    c.text_selector = Some(".news-text".into());
    c.date_selector = Some(".news-date".into());
    c.date_format = Some("%d %B %Y, %H:%M".into());
    c.author_selector = Some(".news-author".into());
    c
}

fn base() -> Url {
    Url::parse("https://zarechny.example.invalid/news/").expect("url")
}

#[test]
fn items_are_found_with_selectors() {
    let page = parse_web_page(PAGE, &base(), &config(base().as_str()), NOW).expect("parses");
    assert!(page.skipped.is_empty(), "{:?}", page.skipped);
    assert_eq!(page.items.len(), 3);

    let a = &page.items[0];
    assert_eq!(
        a.external_id, "https://zarechny.example.invalid/news/2025/03/otoplenie.html",
        "relative link resolved"
    );
    assert_eq!(a.url.as_deref(), Some(a.external_id.as_str()));
    assert_eq!(
        a.text,
        "Отопление в школе №5 восстановлено\n\nАварийная бригада устранила порыв на тепловом вводе.\n\
         Занятия проходят в обычном режиме."
    );
    assert_eq!(a.published_at_ms, 1_740_999_960_000, "14:06 Moscow time");
    assert_eq!(a.author.as_deref(), Some("Отдел образования"));
    assert_eq!(a.network, Network::Web);

    let b = &page.items[1];
    assert!(
        b.text
            .ends_with("на ул. Речной и Полевой будут обслуживаться ежедневно.")
    );
    assert_eq!(b.author, None);

    let c = &page.items[2];
    assert!(
        c.external_id.starts_with("urn:sha256:"),
        "no link: a hash id"
    );
    assert_eq!(c.url, None);
}

#[test]
fn defaults_take_the_whole_item_and_its_first_link() {
    let c = WebConfig::new(base().as_str(), ".news-item");
    let page = parse_web_page(PAGE, &base(), &c, NOW).expect("parses");
    assert_eq!(page.items.len(), 3);
    assert!(
        page.items[0]
            .text
            .starts_with("Отопление в школе №5 восстановлено\n3 марта 2025, 14:06\n")
    );
    assert_eq!(page.items[0].published_at_ms, NOW, "no date selector: now");
}

#[test]
fn a_changed_layout_is_an_error() {
    let mut c = config(base().as_str());
    c.item_selector = ".news-feed article".into();
    let err = parse_web_page(PAGE, &base(), &c, NOW).expect_err("nothing matched");
    assert!(matches!(err, CollectError::Format { .. }), "{err}");
    assert!(err.to_string().contains("layout"), "{err}");
    c.allow_empty = true;
    assert!(
        parse_web_page(PAGE, &base(), &c, NOW)
            .expect("allowed")
            .items
            .is_empty()
    );
}

#[test]
fn unparseable_dates_skip_the_item_only() {
    let broken = PAGE.replace("2 марта 2025, 09:30", "вчера, 09:30");
    let page = parse_web_page(&broken, &base(), &config(base().as_str()), NOW).expect("parses");
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.skipped.len(), 1);
    assert!(page.skipped[0].contains("musor"), "{:?}", page.skipped);
}

#[test]
fn bad_configuration_is_refused() {
    let http = fast_http();
    let mut c = config("https://zarechny.example.invalid/");
    c.item_selector = "div[[".into();
    assert!(matches!(
        WebSource::new(c, http.clone()),
        Err(CollectError::Config(_))
    ));
    let mut c = config("https://zarechny.example.invalid/");
    c.date_format = Some("день месяц год".into());
    assert!(matches!(
        WebSource::new(c, http.clone()),
        Err(CollectError::Config(_))
    ));
    let mut c = config("https://zarechny.example.invalid/");
    c.date_selector = None;
    c.date_attribute = Some("datetime".into());
    assert!(matches!(
        WebSource::new(c, http.clone()),
        Err(CollectError::Config(_))
    ));
    assert!(WebSource::new(config("file:///etc/passwd"), http).is_err());
}

#[test]
fn dates_from_attributes() {
    let html = "<ul><li class=n><a href=/a>Объявление</a><time datetime=\"2025-03-03T11:06:40Z\">сегодня</time></li></ul>";
    let mut c = WebConfig::new(base().as_str(), "li.n");
    c.date_selector = Some("time".into());
    c.date_attribute = Some("datetime".into());
    let page = parse_web_page(html, &base(), &c, NOW).expect("parses");
    assert_eq!(page.items[0].published_at_ms, 1_741_000_000_000);
    assert_eq!(
        page.items[0].external_id,
        "https://zarechny.example.invalid/a"
    );
}

// ---- against a fake server ----------------------------------------------------------------

#[derive(Clone, Default)]
struct Site(Arc<Mutex<String>>);

async fn news(State(site): State<Site>) -> impl IntoResponse {
    let html = site.0.lock().expect("lock").clone();
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&html);
    // The charset is only in the page's <meta>.
    ([(header::CONTENT_TYPE, "text/html")], bytes.into_owned())
}

#[tokio::test]
async fn a_windows_1251_page_new_and_edited_items() {
    let site = Site(Arc::new(Mutex::new(PAGE.to_owned())));
    let server = FakeServer::start(
        Router::new()
            .route("/news/", get(news))
            .with_state(site.clone()),
    )
    .await;
    let src =
        WebSource::new(config(&format!("{}news/", server.base())), fast_http()).expect("source");
    let ctx = PollContext::at("web-test", NOW);

    let first = src.poll(None, &ctx).await.expect("poll");
    assert!(first.done);
    assert_eq!(first.items.len(), 3);
    assert!(
        first.items[0].text.starts_with("Отопление в школе №5"),
        "decoded from windows-1251"
    );
    let again = src.poll(Some(first.next_cursor), &ctx).await.expect("poll");
    assert!(again.items.is_empty());

    let edited = PAGE.replace("каб. 12", "каб. 14");
    *site.0.lock().expect("lock") = edited;
    let third = src.poll(Some(again.next_cursor), &ctx).await.expect("poll");
    // No link: the id comes from the title, so the edited announcement is an edit.
    assert_eq!(third.items.len(), 1);
    assert!(third.items[0].text.ends_with("каб. 14."));
    assert_eq!(third.items[0].external_id, first.items[2].external_id);
    assert_ne!(third.items[0].content_hash, first.items[2].content_hash);
}
