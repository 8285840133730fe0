use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::*;
use crate::testutil::{Counter, FakeServer, assert_unique, drain, fast_http};

const APP_KEY: &str = "CBATESTAPPKEY";
const APP_SECRET: &str = "SECRET0001";
const TOKEN: &str = "tkn.test-0001";
const GID: &str = "70000000000001";

#[test]
fn signature_matches_the_documented_algorithm() {
    let mut p = BTreeMap::new();
    p.insert("application_key".to_owned(), APP_KEY.to_owned());
    p.insert("method".to_owned(), "stream.get".to_owned());
    p.insert("format".to_owned(), "json".to_owned());
    p.insert("gid".to_owned(), GID.to_owned());
    p.insert("patterns".to_owned(), "POST".to_owned());
    // Computed independently: md5("application_key=…format=jsongid=…method=stream.getpatterns=POST"
    // + md5(token + secret)).
    assert_eq!(
        sign(&p, TOKEN, APP_SECRET),
        "1ad4ee58049dfe928eafb4b8deab17d0"
    );
    // The token itself is not part of the signed string.
    p.insert("access_token".to_owned(), TOKEN.to_owned());
    assert_eq!(
        sign(&p, TOKEN, APP_SECRET),
        "1ad4ee58049dfe928eafb4b8deab17d0"
    );
}

fn config(base: &str) -> OkConfig {
    let mut c = OkConfig::new(APP_KEY, Secret::new(APP_SECRET), Secret::new(TOKEN), GID);
    c.base_url = base.to_owned();
    c.requests_per_second = 1000.0;
    c
}

#[test]
fn signed_params_carry_sig_and_token() {
    let api = OkApi::new(config("https://api.ok.example.invalid/fb.do"), fast_http()).expect("api");
    let params = api.signed_params(
        "stream.get",
        &[("gid", GID.into()), ("patterns", "POST".into())],
    );
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("sig"), Some("1ad4ee58049dfe928eafb4b8deab17d0"));
    assert_eq!(get("access_token"), Some(TOKEN));
    assert_eq!(get("format"), Some("json"));
    assert!(!format!("{api:?}").contains(APP_SECRET) && !format!("{api:?}").contains(TOKEN));
}

#[test]
fn bad_config_is_refused() {
    let mut c = config("https://api.ok.example.invalid/fb.do");
    c.group_id = "lesnoe".into();
    assert!(matches!(
        OkGroupSource::new(c, fast_http()),
        Err(CollectError::Config(_))
    ));
    let mut c = config("https://api.ok.example.invalid/fb.do");
    c.access_token = Secret::new("");
    assert!(matches!(
        OkGroupSource::new(c, fast_http()),
        Err(CollectError::Config(_))
    ));
}

#[test]
fn fixtures_become_items() {
    let page: OkFeedPage =
        serde_json::from_str(include_str!("fixtures/stream.get.json")).expect("feed fixture");
    let topics = feed_items(&page, GID).expect("topics");
    assert_eq!(topics.len(), 2, "the photo entry is not a topic");
    let (id, item, comments) = &topics[0];
    assert_eq!((*id, *comments), (154_003, 2));
    assert_eq!(item.external_id, "70000000000001_154003");
    assert_eq!(item.network, Network::Ok);
    assert_eq!(
        item.text,
        "Уважаемые жители! 5 марта в Доме культуры пройдёт встреча с главой поселения.\n\n\
         Начало в 18:00. Вход свободный."
    );
    assert_eq!(item.attachments, [AttachmentKind::Photo]);
    assert_eq!(
        item.author.as_deref(),
        Some("Поселение Лесное — официальная группа")
    );
    assert_eq!(
        item.url.as_deref(),
        Some("https://ok.ru/group/70000000000001/topic/154003")
    );
    assert_eq!(item.published_at_ms, 1_741_000_000_000);
    let second = &topics[1].1;
    assert_eq!(second.text, "Голосуем за место новой остановки «Школа»");
    assert_eq!(second.attachments, [AttachmentKind::Poll]);
    assert_eq!(second.forwarded_from.as_deref(), Some("group_topic:1500"));

    let comments: OkCommentsPage =
        serde_json::from_str(include_str!("fixtures/discussions.getComments.json"))
            .expect("comments");
    let c = comment_item(GID, 154_003, &comments.comments[0]).expect("comment");
    assert_eq!(
        c.parent_external_id.as_deref(),
        Some("70000000000001_154003")
    );
    assert_eq!(
        c.external_id,
        "70000000000001_154003_MTc0MTAwMDEwMDAwMDoxMQ"
    );
    assert_eq!(c.author.as_deref(), Some("Галина Орлова"));
    assert_eq!(c.published_at_ms, 1_741_000_100_000);
}

// ---- a fake OK API ------------------------------------------------------------------------

#[derive(Clone, Default)]
struct FakeOk {
    /// Topic ids, ascending.
    topics: Arc<Mutex<Vec<u64>>>,
    /// Error codes to answer with next.
    faults: Arc<Mutex<Vec<i64>>>,
    hits: Counter,
}

const PAGE: usize = 20;

fn ok_error(code: i64, msg: &str) -> Response {
    axum::Json(json!({"error_code": code, "error_msg": msg, "error_data": null})).into_response()
}

async fn fb_do(State(ok): State<FakeOk>, Query(q): Query<HashMap<String, String>>) -> Response {
    ok.hits.hit();
    let params: BTreeMap<String, String> = q
        .iter()
        .filter(|(k, _)| *k != "sig")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if q.get("sig") != Some(&sign(&params, TOKEN, APP_SECRET)) {
        return ok_error(104, "PARAM_SIGNATURE : Invalid signature");
    }
    if let Some(code) = ok.faults.lock().expect("lock").pop() {
        return ok_error(code, "SERVICE : temporarily unavailable");
    }
    match q.get("method").map(String::as_str) {
        Some("stream.get") => {
            let all = ok.topics.lock().expect("lock").clone();
            let before: Option<u64> = q.get("anchor").and_then(|a| a.parse().ok());
            let mut eligible: Vec<u64> = all
                .into_iter()
                .filter(|id| before.is_none_or(|b| *id < b))
                .collect();
            eligible.reverse(); // newest first
            let page: Vec<u64> = eligible.iter().take(PAGE).copied().collect();
            let has_more = eligible.len() > PAGE;
            let feeds: Vec<Value> = page
                .iter()
                .map(|id| json!({"pattern": "POST", "target_refs": [format!("group_topic:{id}")]}))
                .collect();
            let topics: Vec<Value> = page
                .iter()
                .map(|id| {
                    json!({"ref": format!("group_topic:{id}"), "id": id.to_string(),
                           "created_ms": 1_741_000_000_000_i64 + i64::try_from(*id).expect("id") * 1000,
                           "author_ref": format!("group:{GID}"),
                           "media": [{"type": "text", "text": format!("Тема {id}")}],
                           "discussion_summary": {"comments_count": u64::from(id % 10 == 0) * 2}})
                })
                .collect();
            axum::Json(json!({
                "anchor": page.last().map(|l| l.to_string()),
                "has_more": has_more,
                "feeds": feeds,
                "entities": {"media_topics": topics, "groups": [{"ref": format!("group:{GID}"), "name": "Лесное"}]}
            }))
            .into_response()
        }
        Some("discussions.getComments") => {
            let topic = q.get("entityId").cloned().unwrap_or_default();
            let first = !q.contains_key("anchor");
            let comments: Vec<Value> = if first {
                vec![
                    json!({"id": format!("{topic}-1"), "date": "2025-03-03 12:00:00", "text": "Первый"}),
                ]
            } else {
                vec![
                    json!({"id": format!("{topic}-2"), "date_ms": 1_741_003_600_000_i64, "text": "Второй"}),
                ]
            };
            axum::Json(json!({"comments": comments, "anchor": "next", "has_more": first}))
                .into_response()
        }
        _ => ok_error(3, "METHOD : unknown"),
    }
}

#[tokio::test]
async fn group_feed_and_comments_are_collected_once() {
    let ok = FakeOk::default();
    ok.topics.lock().expect("lock").extend(1..=45);
    ok.faults.lock().expect("lock").push(2); // one transient SERVICE error
    let server = FakeServer::start(
        Router::new()
            .route("/fb.do", get(fb_do))
            .with_state(ok.clone()),
    )
    .await;
    let mut cfg = config(&format!("{}fb.do", server.base()));
    cfg.backfill_pages = 10;
    cfg.comments = true;
    let src = OkGroupSource::new(cfg, fast_http()).expect("source");
    let ctx = PollContext::at("ok-test", 1_741_100_000_000);
    let (items, cursor, _) = drain(&src, None, &ctx, 30).await;
    assert_unique(&items);
    let topics: Vec<&Item> = items
        .iter()
        .filter(|i| i.parent_external_id.is_none())
        .collect();
    assert_eq!(topics.len(), 45);
    let comments: Vec<&Item> = items
        .iter()
        .filter(|i| i.parent_external_id.is_some())
        .collect();
    assert_eq!(
        comments.len(),
        8,
        "topics 10, 20, 30, 40: two comments each over two pages"
    );

    // New topics later: only they.
    ok.topics.lock().expect("lock").extend(46..=50);
    let (items, _, _) = drain(&src, cursor, &ctx, 10).await;
    let ids: Vec<&str> = items.iter().map(|i| i.external_id.as_str()).collect();
    assert_eq!(ids.len(), 7, "{ids:?}"); // 5 topics + 2 comments of topic 50
}

#[tokio::test]
async fn a_wrong_secret_is_a_permanent_error() {
    let ok = FakeOk::default();
    ok.topics.lock().expect("lock").extend(1..=3);
    let server = FakeServer::start(
        Router::new()
            .route("/fb.do", get(fb_do))
            .with_state(ok.clone()),
    )
    .await;
    let mut cfg = config(&format!("{}fb.do", server.base()));
    cfg.application_secret_key = Secret::new("wrong");
    let err = OkGroupSource::new(cfg, fast_http())
        .expect("source")
        .poll(None, &PollContext::at("ok-test", 0))
        .await
        .expect_err("bad signature");
    assert!(matches!(err, CollectError::Ok { code: 104, .. }), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(ok.hits.get(), 1);
}
