use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::*;
use crate::item::AttachmentKind;
use crate::testutil::{Counter, FakeServer, assert_unique, drain, fast_http};

const FIXTURE: &str = include_str!("fixtures/channel-page.html");
const CHANNEL: &str = "severny_rayon_news";

fn parse_fixture() -> ChannelPage {
    parse_channel_page(FIXTURE, CHANNEL, "http://fixture/").expect("fixture parses")
}

#[test]
fn fixture_messages_are_parsed() {
    let page = parse_fixture();
    assert!(page.has_older);
    let ids: Vec<u64> = page.items.iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        [1201, 1202, 1206, 1207, 1209],
        "service message 1205 left out"
    );

    let first = &page.items[0].item;
    assert_eq!(first.external_id, "severny_rayon_news/1201");
    assert_eq!(
        first.url.as_deref(),
        Some("https://t.me/severny_rayon_news/1201")
    );
    assert_eq!(
        first.text,
        "На улице Гагарина начался ремонт теплотрассы, движение транспорта ограничено до пятницы.\n\
         Объезд по улице Школьной."
    );
    assert_eq!(first.views, Some(1200));
    assert_eq!(first.published_at_ms, 1_740_982_500_000);
    assert_eq!(first.attachments, [AttachmentKind::Photo]);
    assert_eq!(first.author.as_deref(), Some("Северный район | Новости"));
    assert!(!first.edited);
    assert_eq!(first.content_hash.len(), 64);

    let grouped = &page.items[1].item;
    assert_eq!(
        grouped.text,
        "Субботник в парке Победы: спасибо всем, кто пришёл! Высадили 40 молодых лип.",
        "nested message_text read once"
    );
    assert_eq!(
        grouped.attachments,
        [
            AttachmentKind::Photo,
            AttachmentKind::Photo,
            AttachmentKind::Video
        ]
    );
    assert_eq!(grouped.views, Some(987));

    let fwd = &page.items[2].item;
    assert_eq!(
        fwd.forwarded_from.as_deref(),
        Some("Администрация Северного района")
    );
    assert_eq!(
        fwd.text,
        "Приём граждан главой района переносится на 15 марта.\n\nЗапись по телефону 8 (800) 000-00-00."
    );
    assert_eq!(fwd.attachments, [AttachmentKind::Link]);
    assert_eq!(fwd.views, Some(15_300));

    let reply = &page.items[3].item;
    assert_eq!(
        reply.text, "Схема объезда — во вложении. Работы продлятся до 7 марта.",
        "the quoted reply's text is not the message's"
    );
    assert_eq!(
        reply.attachments,
        [AttachmentKind::Document],
        "quoted photo left out"
    );
    assert_eq!(
        reply.author.as_deref(),
        Some("Ирина Соколова"),
        "signature wins"
    );
    assert!(reply.edited);
    assert_eq!(reply.views, Some(2_500));

    let poll = &page.items[4].item;
    assert_eq!(poll.text, "Где установить новую детскую площадку?");
    assert_eq!(poll.attachments, [AttachmentKind::Poll]);
    assert_eq!(poll.views, Some(3_040_000));
}

#[test]
fn views_are_parsed() {
    assert_eq!(parse_views("37.2K"), Some(37_200));
    assert_eq!(parse_views("1.2K"), Some(1_200));
    assert_eq!(parse_views(" 950 "), Some(950));
    assert_eq!(parse_views("1,5M"), Some(1_500_000));
    assert_eq!(parse_views("12К"), Some(12_000), "Cyrillic К");
    assert_eq!(parse_views(""), None);
    assert_eq!(parse_views("много"), None);
}

#[test]
fn channel_names_are_normalised() {
    for raw in [
        "severny_rayon_news",
        "@severny_rayon_news",
        "t.me/severny_rayon_news",
        "https://t.me/s/severny_rayon_news",
        "https://t.me/severny_rayon_news/1201",
    ] {
        assert_eq!(channel_name(raw).expect(raw), CHANNEL);
    }
    for bad in ["", "abc", "1channel", "имя_канала", "https://t.me/"] {
        assert!(channel_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn changed_markup_is_an_error_not_an_empty_success() {
    // Message blocks without data-post ids.
    let no_ids = FIXTURE.replace("data-post=", "data-x=");
    let err = parse_channel_page(&no_ids, CHANNEL, "u").expect_err("no ids");
    assert!(matches!(err, CollectError::Format { .. }), "{err}");
    assert!(!err.is_retryable());

    // A message without its date.
    let no_date = FIXTURE.replacen("datetime=\"2025-03-03T08:40:12+00:00\"", "", 1);
    let err = parse_channel_page(&no_date, CHANNEL, "u").expect_err("no date");
    assert!(err.to_string().contains("1202"), "{err}");

    // A bad date.
    let bad_date = FIXTURE.replace("2025-03-03T06:15:00+00:00", "вчера");
    assert!(parse_channel_page(&bad_date, CHANNEL, "u").is_err());

    // Some other page.
    let err = parse_channel_page("<html><body><p>Привет</p></body></html>", CHANNEL, "u")
        .expect_err("not a preview");
    assert!(matches!(err, CollectError::Format { .. }), "{err}");

    // t.me/NAME of a channel without a preview.
    let private = "<html><body><div class=\"tgme_page\"><div class=\"tgme_page_title\">Закрытый канал</div></div></body></html>";
    let err = parse_channel_page(private, CHANNEL, "u").expect_err("private");
    assert!(matches!(err, CollectError::NotAccessible { .. }), "{err}");

    // An empty channel is a valid empty page.
    let empty = "<html><body><section class=\"tgme_channel_history js-message_history\"></section></body></html>";
    let page = parse_channel_page(empty, CHANNEL, "u").expect("empty channel");
    assert!(page.items.is_empty() && !page.has_older);
}

// ---- a fake t.me serving generated pages --------------------------------------------------

/// Renders a preview page in the same markup as the real one.
fn render(messages: &[(u64, String)], has_older: bool) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Тест</title></head><body>\
         <main class=\"tgme_main\"><section class=\"tgme_channel_history js-message_history\">",
    );
    if has_older && let Some((first, _)) = messages.first() {
        html.push_str(&format!(
            "<div class=\"tgme_widget_message_centered js-messages_more_wrap\"><a href=\"/s/{CHANNEL}?before={first}\" \
             class=\"tme_messages_more js-messages_more\" data-before=\"{first}\"></a></div>"
        ));
    }
    for (id, text) in messages {
        let edited = if text.contains("(испр.)") {
            "edited "
        } else {
            ""
        };
        html.push_str(&format!(
            "<div class=\"tgme_widget_message_wrap js-widget_message_wrap\">\
             <div class=\"tgme_widget_message js-widget_message\" data-post=\"{CHANNEL}/{id}\">\
             <div class=\"tgme_widget_message_bubble\">\
             <div class=\"tgme_widget_message_text js-message_text\" dir=\"auto\">{text}</div>\
             <div class=\"tgme_widget_message_footer\"><div class=\"tgme_widget_message_info\">\
             <span class=\"tgme_widget_message_views\">{id}</span>\
             <span class=\"tgme_widget_message_meta\">{edited}<a class=\"tgme_widget_message_date\" href=\"https://t.me/{CHANNEL}/{id}\">\
             <time datetime=\"2025-03-{day:02}T10:00:00+00:00\" class=\"time\">10:00</time></a></span>\
             </div></div></div></div></div>",
            day = 1 + id % 28,
        ));
    }
    html.push_str("</section></main></body></html>");
    html
}

#[derive(Clone, Default)]
struct Channel {
    /// Message ids and texts, ascending.
    messages: Arc<Mutex<Vec<(u64, String)>>>,
    /// While set, pages with `before` answer with broken markup.
    break_history: Arc<AtomicBool>,
    hits: Counter,
}

impl Channel {
    fn with_ids(ids: impl IntoIterator<Item = u64>) -> Self {
        let ch = Self::default();
        ch.add(ids);
        ch
    }

    fn add(&self, ids: impl IntoIterator<Item = u64>) {
        let mut m = self.messages.lock().expect("lock");
        m.extend(
            ids.into_iter()
                .map(|id| (id, format!("Сообщение номер {id} о работе служб района"))),
        );
    }

    fn edit(&self, id: u64, text: &str) {
        let mut m = self.messages.lock().expect("lock");
        for (mid, t) in m.iter_mut() {
            if *mid == id {
                *t = text.to_owned();
            }
        }
    }
}

const PAGE: usize = 20;

async fn preview(State(ch): State<Channel>, Query(q): Query<HashMap<String, String>>) -> Response {
    ch.hits.hit();
    let before: Option<u64> = q.get("before").and_then(|b| b.parse().ok());
    if before.is_some() && ch.break_history.load(Ordering::SeqCst) {
        let broken = "<html><body><section class=\"tgme_channel_history\">\
                      <div class=\"tgme_widget_message_wrap\"><div class=\"tgme_widget_message_v2\">?</div></div>\
                      </section></body></html>";
        return Html(broken).into_response();
    }
    let all = ch.messages.lock().expect("lock").clone();
    let eligible: Vec<(u64, String)> = all
        .into_iter()
        .filter(|(id, _)| before.is_none_or(|b| *id < b))
        .collect();
    let start = eligible.len().saturating_sub(PAGE);
    let page = &eligible[start..];
    Html(render(page, start > 0)).into_response()
}

async fn serve(ch: &Channel) -> FakeServer {
    let router = Router::new()
        .route("/s/{name}", get(preview))
        .route(
            "/huge/s/{name}",
            get(|| async { "x".repeat(10 * 1024 * 1024) }),
        )
        .route(
            "/gone/s/{name}",
            get(|| async { (StatusCode::NOT_FOUND, "нет такого") }),
        )
        .with_state(ch.clone());
    FakeServer::start(router).await
}

fn source(server: &FakeServer, backfill_pages: u32) -> TelegramSource {
    let mut cfg = TelegramConfig::new(format!("@{CHANNEL}"));
    cfg.base_url = server.base();
    cfg.backfill_pages = backfill_pages;
    TelegramSource::new(cfg, fast_http()).expect("source")
}

fn ids(items: &[Item]) -> Vec<u64> {
    let mut v: Vec<u64> = items
        .iter()
        .map(|i| {
            i.external_id
                .rsplit_once('/')
                .and_then(|(_, id)| id.parse().ok())
                .expect("id")
        })
        .collect();
    v.sort_unstable();
    v
}

/// 45 messages with gaps in the ids (deleted messages).
fn history() -> Vec<u64> {
    (1..=60).filter(|id| id % 4 != 0).collect()
}

#[tokio::test]
async fn paging_back_through_three_pages_yields_every_post_once() {
    let ch = Channel::with_ids(history());
    let server = serve(&ch).await;
    let src = source(&server, 10);
    let ctx = PollContext::at("tg-test", 0);
    let (items, cursor, polls) = drain(&src, None, &ctx, 10).await;
    assert_eq!(polls, 3, "latest page + 2 pages back");
    assert_unique(&items);
    assert_eq!(ids(&items), history());
    assert_eq!(ch.hits.get(), 3);

    // Caught up: the next poll finds nothing.
    let batch = src.poll(cursor.clone(), &ctx).await.expect("poll");
    assert!(batch.items.is_empty() && batch.done);

    // 30 new messages, more than a page: the gap is walked, each new one exactly once.
    ch.add(61..=90);
    let (items, _, polls) = drain(&src, Some(batch.next_cursor), &ctx, 10).await;
    assert_eq!(polls, 2);
    assert_unique(&items);
    assert_eq!(ids(&items), (61..=90).collect::<Vec<_>>());
}

#[tokio::test]
async fn resuming_from_a_mid_cursor_yields_the_rest_once() {
    let ch = Channel::with_ids(history());
    let server = serve(&ch).await;
    let src = source(&server, 10);
    let ctx = PollContext::at("tg-test", 0);
    let first = src.poll(None, &ctx).await.expect("first page");
    assert!(!first.done);
    assert_eq!(first.items.len(), PAGE);

    // "Restart": a new source instance continues from the committed cursor.
    let src2 = source(&server, 10);
    let (rest, _, _) = drain(&src2, Some(first.next_cursor), &ctx, 10).await;
    let mut all = first.items;
    all.extend(rest);
    assert_unique(&all);
    assert_eq!(ids(&all), history());
}

#[tokio::test]
async fn a_failed_page_keeps_the_old_cursor_valid() {
    let ch = Channel::with_ids(history());
    let server = serve(&ch).await;
    let src = source(&server, 10);
    let ctx = PollContext::at("tg-test", 0);
    let first = src.poll(None, &ctx).await.expect("first page");
    ch.break_history.store(true, Ordering::SeqCst);
    let err = src
        .poll(Some(first.next_cursor.clone()), &ctx)
        .await
        .expect_err("broken markup");
    assert!(matches!(err, CollectError::Format { .. }), "{err}");
    // Markup fixed; the same committed cursor continues.
    ch.break_history.store(false, Ordering::SeqCst);
    let (rest, _, _) = drain(&src, Some(first.next_cursor), &ctx, 10).await;
    let mut all = first.items;
    all.extend(rest);
    assert_unique(&all);
    assert_eq!(ids(&all), history());
}

#[tokio::test]
async fn first_poll_backfills_only_the_configured_pages() {
    let ch = Channel::with_ids(history());
    let server = serve(&ch).await;
    let ctx = PollContext::at("tg-test", 0);
    let (items, cursor, polls) = drain(&source(&server, 1), None, &ctx, 5).await;
    assert_eq!((polls, items.len()), (1, PAGE));
    // Later polls only bring newer messages, never the skipped history.
    ch.add([61]);
    let (items, _, _) = drain(&source(&server, 1), cursor, &ctx, 5).await;
    assert_eq!(ids(&items), [61]);
}

#[tokio::test]
async fn edited_post_is_returned_again_with_a_new_hash() {
    let ch = Channel::with_ids(1..=5);
    let server = serve(&ch).await;
    let mut cfg = TelegramConfig::new(CHANNEL);
    cfg.base_url = server.base();
    cfg.revisit_latest = true;
    let src = TelegramSource::new(cfg, fast_http()).expect("source");
    let ctx = PollContext::at("tg-test", 0);
    let first = src.poll(None, &ctx).await.expect("poll");
    let before = first
        .items
        .iter()
        .find(|i| i.external_id.ends_with("/3"))
        .expect("post 3")
        .clone();
    assert!(!before.edited);

    ch.edit(
        3,
        "Сообщение номер 3 о работе служб района (испр.): график изменён",
    );
    let second = src.poll(Some(first.next_cursor), &ctx).await.expect("poll");
    let after = second
        .items
        .iter()
        .find(|i| i.external_id.ends_with("/3"))
        .expect("post 3 again");
    assert!(after.edited);
    assert_ne!(before.content_hash, after.content_hash);
    let unchanged = second
        .items
        .iter()
        .find(|i| i.external_id.ends_with("/2"))
        .expect("post 2");
    assert_eq!(unchanged.content_hash, first.items[1].content_hash);
}

#[tokio::test]
async fn huge_and_missing_pages_fail_cleanly() {
    let ch = Channel::with_ids(1..=3);
    let server = serve(&ch).await;
    let ctx = PollContext::at("tg-test", 0);

    let mut cfg = TelegramConfig::new(CHANNEL);
    cfg.base_url = format!("{}huge/", server.base());
    let src = TelegramSource::new(cfg, fast_http()).expect("source");
    let err = src.poll(None, &ctx).await.expect_err("10 MB page");
    assert!(matches!(err, CollectError::BodyTooLarge { .. }), "{err}");

    let mut cfg = TelegramConfig::new(CHANNEL);
    cfg.base_url = format!("{}gone/", server.base());
    let src = TelegramSource::new(cfg, fast_http()).expect("source");
    let err = src.poll(None, &ctx).await.expect_err("404");
    assert!(
        matches!(err, CollectError::Http { status: 404, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_cursor_of_another_source_is_refused() {
    let ch = Channel::with_ids(1..=3);
    let server = serve(&ch).await;
    let src = source(&server, 1);
    let ctx = PollContext::at("tg-test", 0);
    let err = src
        .poll(Some(Cursor::new(r#"{"k":"rss","v":1,"s":{}}"#)), &ctx)
        .await
        .expect_err("foreign cursor");
    assert!(matches!(err, CollectError::Cursor(_)), "{err}");
    assert_eq!(ch.hits.get(), 0, "no request with a bad cursor");
}
