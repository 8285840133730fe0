use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::types::{Names, comment_item, post_item};
use super::*;
use crate::item::AttachmentKind;
use crate::testutil::{FakeServer, assert_unique, drain, fast_http};
use crate::{Cursor, Item, PollContext, Source};

const TOKEN: &str = "test-token";
const OWNER: i64 = -210_000_001;

fn response_of<T: serde::de::DeserializeOwned>(raw: &str) -> T {
    let v: Value = serde_json::from_str(raw).expect("fixture JSON");
    serde_json::from_value(v["response"].clone()).expect("fixture shape")
}

// ---- fixtures -----------------------------------------------------------------------------

#[test]
fn wall_fixture_converts_to_items() {
    let page: VkWallPage = response_of(include_str!("fixtures/wall.get.json"));
    let names = Names::new(&page.profiles, &page.groups);
    let items: Vec<Item> = page.items.iter().map(|p| post_item(p, &names)).collect();
    assert_eq!(page.count, 412);
    assert!(page.items[0].is_pinned);

    let pinned = &items[0];
    assert_eq!(pinned.external_id, "-210000001_1750");
    assert_eq!(pinned.author.as_deref(), Some("severny_adm"));
    assert!(pinned.text.contains("\nДежурная часть"));

    let edited = &items[1];
    assert_eq!(
        edited.url.as_deref(),
        Some("https://vk.com/wall-210000001_2412")
    );
    assert_eq!(
        edited.text,
        "На улице Гагарина продолжается ремонт теплотрассы.\nОбъезд по улице Школьной — до пятницы."
    );
    assert_eq!(edited.author.as_deref(), Some("i.sokolova"), "the signer");
    assert_eq!(
        edited.attachments,
        [AttachmentKind::Photo, AttachmentKind::Photo]
    );
    assert_eq!(edited.views, Some(2310));
    assert_eq!(edited.published_at_ms, 1_741_000_200_000);
    assert!(edited.edited);
    assert_eq!(edited.edited_at_ms, Some(1_741_003_800_000));

    assert_eq!(
        items[2].attachments,
        [AttachmentKind::Poll, AttachmentKind::Geo]
    );

    let repost = &items[3];
    assert_eq!(repost.forwarded_from.as_deref(), Some("severenergo"));
    assert!(repost.text.starts_with("Внимание! 5 марта"));
    assert_eq!(repost.attachments, [AttachmentKind::Document]);

    let user_post = &items[4];
    assert_eq!(user_post.author.as_deref(), Some("id5000003"));
    assert_eq!(
        user_post.text,
        "Когда уберут снег во дворе дома 14 по улице Мира? Не пройти!\nФото прилагаю."
    );
    assert_eq!(
        user_post.attachments,
        [
            AttachmentKind::Video,
            AttachmentKind::Link,
            AttachmentKind::Other
        ]
    );
    assert!(!user_post.edited);
}

#[test]
fn comments_fixture_converts_to_items() {
    let page: VkCommentsPage = response_of(include_str!("fixtures/wall.getComments.json"));
    let names = Names::new(&page.profiles, &page.groups);
    let items: Vec<Item> = page
        .items
        .iter()
        .map(|c| comment_item(OWNER, 2412, c, &names))
        .collect();
    assert_eq!(items[0].external_id, "-210000001_2412_9101");
    assert_eq!(
        items[0].parent_external_id.as_deref(),
        Some("-210000001_2412")
    );
    assert_eq!(
        items[0].url.as_deref(),
        Some("https://vk.com/wall-210000001_2412?reply=9101")
    );
    assert_eq!(
        items[0].text,
        "Спасибо за информацию!\nА горячую воду когда дадут?"
    );
    assert_eq!(items[1].author.as_deref(), Some("severny_adm"));
    assert!(items[2].deleted && items[2].text.is_empty());
    assert_eq!(items[3].author.as_deref(), Some("anna_k"));
    assert_eq!(items[3].attachments, [AttachmentKind::Photo]);
}

#[test]
fn search_fixture_converts_to_items() {
    let page: VkSearchPage = response_of(include_str!("fixtures/newsfeed.search.json"));
    assert_eq!(page.total_count, Some(57));
    assert_eq!(page.next_from.as_deref(), Some("2/-210000020_5120"));
    let names = Names::new(&page.profiles, &page.groups);
    let first = post_item(&page.items[0], &names);
    assert_eq!(first.external_id, "5000010_7781");
    assert_eq!(first.author.as_deref(), Some("oleg_iv"));
    assert!(first.text.contains("районе ❗ Куда"));
    let second = post_item(&page.items[1], &names);
    assert_eq!(second.author.as_deref(), Some("severny_news"));
}

#[test]
fn groups_fixture_in_both_answer_shapes() {
    let answer: GroupsAnswer = response_of(include_str!("fixtures/groups.getById.json"));
    let groups = answer.into_groups();
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0].screen_name.as_deref(), Some("severny_adm"));
    assert_eq!(groups[0].inaccessible_reason(false), None);
    assert_eq!(
        groups[1].inaccessible_reason(false).as_deref(),
        Some("community is closed")
    );
    assert_eq!(
        groups[1].inaccessible_reason(true),
        None,
        "a member token may read it"
    );
    assert_eq!(
        groups[2].inaccessible_reason(true).as_deref(),
        Some("community is deleted")
    );

    let old: GroupsAnswer = serde_json::from_str(
        r#"[{"id": 5, "name": "Старый ответ", "screen_name": "old", "is_closed": 2}]"#,
    )
    .expect("bare array");
    let old = old.into_groups();
    assert_eq!(
        old[0].inaccessible_reason(true).as_deref(),
        Some("community is private")
    );
}

#[test]
fn owner_refs_are_parsed() {
    assert_eq!(
        OwnerRef::parse("-210000001").expect("id"),
        OwnerRef::Id(210_000_001)
    );
    assert_eq!(
        OwnerRef::parse("210000001").expect("id"),
        OwnerRef::Id(210_000_001)
    );
    assert_eq!(OwnerRef::parse("club42").expect("club"), OwnerRef::Id(42));
    assert_eq!(
        OwnerRef::parse("public42").expect("public"),
        OwnerRef::Id(42)
    );
    assert_eq!(
        OwnerRef::parse("https://vk.com/Severny_Adm").expect("link"),
        OwnerRef::Name("severny_adm".into())
    );
    assert_eq!(
        OwnerRef::parse("@mos.ru").expect("dotted"),
        OwnerRef::Name("mos.ru".into())
    );
    for bad in ["", "0", "адм", "a b", "vk.com/"] {
        assert!(OwnerRef::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_token_never_shows_in_debug() {
    let cfg = VkApiConfig::new(crate::http::Secret::new("vk1.a.SECRET"));
    let api = VkApi::new(cfg, fast_http()).expect("api");
    assert!(!format!("{api:?}").contains("SECRET"));
    let empty = VkApiConfig::new(crate::http::Secret::new(""));
    assert!(matches!(
        VkApi::new(empty, fast_http()),
        Err(CollectError::Config(_))
    ));
}

// ---- a fake VK API ------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Fault {
    Vk(i64),
    Status(u16),
    Truncated,
}

#[derive(Debug, Clone)]
struct FakePost {
    id: u64,
    date: i64,
    text: String,
    comments: Vec<(u64, String)>,
}

#[derive(Default)]
struct World {
    walls: HashMap<i64, Vec<FakePost>>,
    pinned: HashMap<i64, u64>,
    groups: Vec<Value>,
    /// Search corpus: (owner, id, date).
    corpus: Vec<(i64, u64, i64)>,
    faults: VecDeque<Fault>,
    /// (method, params, when).
    log: Vec<(String, HashMap<String, String>, Instant)>,
}

#[derive(Clone, Default)]
struct FakeVk(Arc<Mutex<World>>);

impl FakeVk {
    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().expect("lock")
    }

    fn add_posts(&self, owner: i64, ids: impl IntoIterator<Item = u64>) {
        let mut w = self.world();
        let wall = w.walls.entry(owner).or_default();
        for id in ids {
            wall.push(FakePost {
                id,
                date: BASE + i64::try_from(id).expect("id") * 60,
                text: format!("Пост {id}: новости района"),
                comments: Vec::new(),
            });
        }
    }

    fn add_comments(&self, owner: i64, post: u64, ids: impl IntoIterator<Item = u64>) {
        let mut w = self.world();
        let p = w
            .walls
            .get_mut(&owner)
            .and_then(|wall| wall.iter_mut().find(|p| p.id == post))
            .expect("post");
        for id in ids {
            p.comments.push((id, format!("Комментарий {id}")));
        }
    }

    fn fault(&self, f: Fault) {
        self.world().faults.push_back(f);
    }

    fn calls(&self, method: &str) -> usize {
        self.world()
            .log
            .iter()
            .filter(|(m, _, _)| m == method)
            .count()
    }
}

/// Dates of fake posts: BASE + id minutes.
const BASE: i64 = 1_741_000_000;

fn vk_error(code: i64, msg: &str) -> Response {
    axum::Json(json!({"error": {"error_code": code, "error_msg": msg, "request_params": []}}))
        .into_response()
}

fn param<T: std::str::FromStr>(q: &HashMap<String, String>, k: &str, default: T) -> T {
    q.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn method(
    State(vk): State<FakeVk>,
    Path(method): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut w = vk.world();
    w.log.push((method.clone(), q.clone(), Instant::now()));
    if q.get("access_token").map(String::as_str) != Some(TOKEN) {
        return vk_error(5, "User authorization failed: invalid access_token");
    }
    if q.get("v").map(String::as_str) != Some(DEFAULT_VERSION) {
        return vk_error(8, "Invalid request: wrong version");
    }
    match w.faults.pop_front() {
        Some(Fault::Vk(code)) => return vk_error(code, "fault"),
        Some(Fault::Status(s)) => {
            return StatusCode::from_u16(s).expect("status").into_response();
        }
        Some(Fault::Truncated) => {
            return "{\"response\":{\"count\":3,\"items\":[{\"id\":".into_response();
        }
        None => {}
    }
    let response = match method.as_str() {
        "groups.getById" => {
            let wanted: Vec<&str> = q
                .get("group_ids")
                .map(|s| s.split(',').collect())
                .unwrap_or_default();
            let groups: Vec<Value> = w
                .groups
                .iter()
                .filter(|g| {
                    wanted.iter().any(|x| {
                        g["id"].as_i64().is_some_and(|id| id.to_string() == *x)
                            || g["screen_name"].as_str() == Some(x)
                    })
                })
                .cloned()
                .collect();
            json!({"groups": groups, "profiles": []})
        }
        "wall.get" => {
            let owner: i64 = param(&q, "owner_id", 0);
            let (offset, count): (usize, usize) = (param(&q, "offset", 0), param(&q, "count", 20));
            let Some(wall) = w.walls.get(&owner) else {
                return vk_error(15, "Access denied: wall is disabled");
            };
            let pinned = w.pinned.get(&owner).copied();
            let mut list: Vec<&FakePost> = Vec::new();
            if let Some(pid) = pinned {
                list.extend(wall.iter().filter(|p| p.id == pid));
            }
            let mut rest: Vec<&FakePost> = wall.iter().filter(|p| Some(p.id) != pinned).collect();
            rest.sort_by_key(|p| std::cmp::Reverse(p.id));
            list.extend(rest);
            let items: Vec<Value> = list
                .iter()
                .skip(offset)
                .take(count)
                .map(|p| {
                    json!({
                        "id": p.id, "owner_id": owner, "from_id": owner, "date": p.date,
                        "text": p.text, "is_pinned": u8::from(Some(p.id) == pinned),
                        "comments": {"count": p.comments.len()}, "views": {"count": 10},
                        "attachments": []
                    })
                })
                .collect();
            json!({"count": list.len(), "items": items, "profiles": [], "groups": []})
        }
        "wall.getComments" => {
            let owner: i64 = param(&q, "owner_id", 0);
            let post: u64 = param(&q, "post_id", 0);
            let (offset, count): (usize, usize) = (param(&q, "offset", 0), param(&q, "count", 20));
            let Some(p) = w
                .walls
                .get(&owner)
                .and_then(|wall| wall.iter().find(|p| p.id == post))
            else {
                return vk_error(100, "post not found");
            };
            let items: Vec<Value> = p
                .comments
                .iter()
                .skip(offset)
                .take(count)
                .map(|(id, text)| {
                    if text.is_empty() {
                        json!({"id": id, "deleted": true, "date": p.date + 1, "text": ""})
                    } else {
                        json!({"id": id, "from_id": 5_000_000 + id, "date": p.date + 1, "text": text})
                    }
                })
                .collect();
            json!({"count": p.comments.len(), "items": items, "profiles": [], "groups": []})
        }
        "newsfeed.search" => {
            let (start, end): (i64, i64) =
                (param(&q, "start_time", 0), param(&q, "end_time", i64::MAX));
            let count: usize = param(&q, "count", 30);
            let from: usize = param(&q, "start_from", 0);
            let mut hits: Vec<&(i64, u64, i64)> = w
                .corpus
                .iter()
                .filter(|(_, _, d)| *d >= start && *d <= end)
                .collect();
            hits.sort_by_key(|(_, id, d)| (std::cmp::Reverse(*d), std::cmp::Reverse(*id)));
            let total = hits.len();
            let reachable = total.min(1000);
            let page: Vec<Value> = hits[from.min(reachable)..(from + count).min(reachable)]
                .iter()
                .map(|(owner, id, date)| {
                    json!({"id": id, "owner_id": owner, "from_id": owner, "date": date,
                           "text": format!("Жалоба {id}: нет горячей воды")})
                })
                .collect();
            let next = from + count;
            let mut r = json!({"items": page, "count": page_len(&page), "total_count": total});
            if next < reachable {
                r["next_from"] = json!(next.to_string());
            }
            r
        }
        _ => return vk_error(3, "Unknown method passed"),
    };
    axum::Json(json!({ "response": response })).into_response()
}

fn page_len(v: &[Value]) -> usize {
    v.len()
}

async fn serve(vk: &FakeVk) -> FakeServer {
    let router = Router::new()
        .route("/method/{method}", get(method))
        .with_state(vk.clone());
    FakeServer::start(router).await
}

fn group(id: i64, screen: &str, closed: u8, deactivated: Option<&str>) -> Value {
    let mut g = json!({"id": id, "name": format!("Сообщество {id}"), "screen_name": screen, "is_closed": closed});
    if let Some(d) = deactivated {
        g["deactivated"] = json!(d);
    }
    g
}

fn api_config(server: &FakeServer) -> VkApiConfig {
    let mut cfg = VkApiConfig::new(crate::http::Secret::new(TOKEN));
    cfg.base_url = format!("{}method", server.base());
    cfg.requests_per_second = Some(1000.0);
    cfg
}

fn wall_source(server: &FakeServer, owners: &[&str], backfill_pages: u32) -> VkWallSource {
    let mut cfg = VkWallConfig::new(
        api_config(server),
        owners.iter().map(|s| (*s).to_owned()).collect(),
    );
    cfg.backfill_pages = backfill_pages;
    VkWallSource::new(cfg, fast_http()).expect("source")
}

fn world_with_wall(ids: impl IntoIterator<Item = u64>) -> FakeVk {
    let vk = FakeVk::default();
    vk.world()
        .groups
        .push(group(210_000_001, "severny_adm", 0, None));
    vk.add_posts(OWNER, ids);
    vk
}

fn post_ids(items: &[Item]) -> Vec<u64> {
    let mut v: Vec<u64> = items
        .iter()
        .filter(|i| i.parent_external_id.is_none())
        .map(|i| {
            i.external_id
                .rsplit('_')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("id")
        })
        .collect();
    v.sort_unstable();
    v
}

fn ctx() -> PollContext {
    PollContext::at("vk-test", (BASE + 500 * 60) * 1000)
}

// ---- walls --------------------------------------------------------------------------------

#[tokio::test]
async fn wall_pages_yield_every_post_once_and_new_posts_later() {
    let vk = world_with_wall(1..=250);
    vk.world().pinned.insert(OWNER, 5);
    let server = serve(&vk).await;
    let src = wall_source(&server, &["severny_adm"], 10);
    let (items, cursor, polls) = drain(&src, None, &ctx(), 20).await;
    assert_unique(&items);
    assert_eq!(post_ids(&items), (1..=250).collect::<Vec<_>>());
    assert_eq!(polls, 3, "3 pages of 100 (with overlap)");
    assert_eq!(vk.calls("groups.getById"), 1);

    // Caught up.
    let batch = src.poll(cursor, &ctx()).await.expect("poll");
    assert!(batch.done && batch.items.is_empty());

    // 150 new posts: more than a page; the old pinned post is not returned again.
    vk.add_posts(OWNER, 251..=400);
    let (items, _, _) = drain(&src, Some(batch.next_cursor), &ctx(), 20).await;
    assert_unique(&items);
    assert_eq!(post_ids(&items), (251..=400).collect::<Vec<_>>());
    let first = vk
        .world()
        .log
        .iter()
        .find(|(m, _, _)| m == "wall.get")
        .map(|(_, q, _)| q.clone());
    let first = first.expect("a wall.get call");
    assert_eq!(
        first.get("owner_id").map(String::as_str),
        Some("-210000001")
    );
    assert_eq!(first.get("v").map(String::as_str), Some("5.199"));
}

#[tokio::test]
async fn resuming_a_wall_walk_from_a_mid_cursor() {
    let vk = world_with_wall(1..=250);
    let server = serve(&vk).await;
    let src = wall_source(&server, &["-210000001"], 10);
    let first = src.poll(None, &ctx()).await.expect("first");
    assert!(!first.done);
    let second = src
        .poll(Some(first.next_cursor), &ctx())
        .await
        .expect("second");
    let src2 = wall_source(&server, &["-210000001"], 10);
    let (rest, _, _) = drain(&src2, Some(second.next_cursor), &ctx(), 20).await;
    let mut all = first.items;
    all.extend(second.items);
    all.extend(rest);
    assert_unique(&all);
    assert_eq!(post_ids(&all), (1..=250).collect::<Vec<_>>());
}

#[tokio::test]
async fn transient_faults_are_retried_within_a_poll() {
    let vk = world_with_wall(1..=30);
    let server = serve(&vk).await;
    for f in [
        Fault::Vk(6),
        Fault::Status(500),
        Fault::Status(502),
        Fault::Truncated,
    ] {
        vk.fault(f);
    }
    let src = wall_source(&server, &["severny_adm"], 1);
    let (items, _, _) = drain(&src, None, &ctx(), 5).await;
    assert_eq!(post_ids(&items), (1..=30).collect::<Vec<_>>());
    assert_eq!(vk.calls("groups.getById"), 5, "4 faults, then success");
}

#[tokio::test]
async fn quota_error_29_defers_without_losing_the_cursor() {
    let vk = world_with_wall(1..=150);
    let server = serve(&vk).await;
    let src = wall_source(&server, &["severny_adm"], 10);
    let first = src.poll(None, &ctx()).await.expect("first page");
    vk.fault(Fault::Vk(29));
    let err = src
        .poll(Some(first.next_cursor.clone()), &ctx())
        .await
        .expect_err("rate limit reached");
    assert!(matches!(err, CollectError::Vk { code: 29, .. }), "{err}");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    // "An hour later": the same committed cursor continues.
    let (rest, _, _) = drain(&src, Some(first.next_cursor), &ctx(), 10).await;
    let mut all = first.items;
    all.extend(rest);
    assert_unique(&all);
    assert_eq!(post_ids(&all), (1..=150).collect::<Vec<_>>());
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let vk = world_with_wall(1..=3);
    let server = serve(&vk).await;
    let mut cfg = api_config(&server);
    cfg.token = crate::http::Secret::new("wrong-token");
    let src = VkWallSource::new(
        VkWallConfig::new(cfg, vec!["severny_adm".into()]),
        fast_http(),
    )
    .expect("source");
    let err = src.poll(None, &ctx()).await.expect_err("auth");
    assert!(matches!(err, CollectError::Vk { code: 5, .. }), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(vk.calls("groups.getById"), 1, "no retry");

    // Access denied on the wall.
    let vk = FakeVk::default();
    vk.world()
        .groups
        .push(group(210_000_005, "no_wall", 0, None));
    let server = serve(&vk).await;
    let err = wall_source(&server, &["no_wall"], 1)
        .poll(None, &ctx())
        .await
        .expect_err("access denied");
    assert!(matches!(err, CollectError::Vk { code: 15, .. }), "{err}");
    assert_eq!(vk.calls("wall.get"), 1);
}

#[tokio::test]
async fn communities_are_resolved_and_inaccessible_ones_skipped() {
    let vk = world_with_wall(1..=3);
    {
        let mut w = vk.world();
        w.groups.push(group(210_000_002, "club210000002", 1, None));
        w.groups
            .push(group(210_000_003, "club210000003", 0, Some("deleted")));
        w.groups.push(group(210_000_004, "severny_news", 0, None));
    }
    vk.add_posts(-210_000_004, 100..=101);
    let server = serve(&vk).await;
    let src = wall_source(
        &server,
        &[
            "https://vk.com/severny_adm",
            "club210000002",
            "-210000003",
            "severny_news",
            "nobody_here",
        ],
        1,
    );
    let (items, _, _) = drain(&src, None, &ctx(), 10).await;
    let mut ids: Vec<&str> = items.iter().map(|i| i.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "-210000001_1",
            "-210000001_2",
            "-210000001_3",
            "-210000004_100",
            "-210000004_101"
        ]
    );
    let walls: Vec<String> = vk
        .world()
        .log
        .iter()
        .filter(|(m, _, _)| m == "wall.get")
        .filter_map(|(_, q, _)| q.get("owner_id").cloned())
        .collect();
    assert_eq!(walls, ["-210000001", "-210000004"]);

    // Only inaccessible communities: a permanent error.
    let err = wall_source(&server, &["club210000002"], 1)
        .poll(None, &ctx())
        .await
        .expect_err("closed");
    assert!(matches!(err, CollectError::NotAccessible { .. }), "{err}");
    assert!(err.to_string().contains("closed"), "{err}");
}

#[tokio::test]
async fn comments_under_recent_posts_are_collected_once() {
    let vk = world_with_wall(1..=3);
    vk.add_comments(OWNER, 3, [10, 11, 12]);
    vk.add_comments(OWNER, 2, [20]);
    vk.add_comments(OWNER, 3, [13]);
    vk.world()
        .walls
        .get_mut(&OWNER)
        .and_then(|w| w.iter_mut().find(|p| p.id == 3))
        .expect("post 3")
        .comments[3]
        .1
        .clear(); // comment 13 deleted
    let server = serve(&vk).await;
    let mut cfg = VkWallConfig::new(api_config(&server), vec!["severny_adm".into()]);
    cfg.comments = Some(CommentsConfig {
        page_size: 2,
        ..CommentsConfig::default()
    });
    let src = VkWallSource::new(cfg, fast_http()).expect("source");
    let (items, cursor, _) = drain(&src, None, &ctx(), 20).await;
    assert_unique(&items);
    let comments: Vec<&Item> = items
        .iter()
        .filter(|i| i.parent_external_id.is_some())
        .collect();
    let mut ids: Vec<&str> = comments.iter().map(|i| i.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "-210000001_2_20",
            "-210000001_3_10",
            "-210000001_3_11",
            "-210000001_3_12",
            "-210000001_3_13"
        ]
    );
    assert!(comments.iter().any(|c| c.deleted));
    assert_eq!(post_ids(&items), [1, 2, 3]);

    // New comments: only they are fetched and returned; posts without changes are not asked.
    vk.add_comments(OWNER, 3, [14, 15, 16]);
    let before = vk.calls("wall.getComments");
    let (items, _, _) = drain(&src, cursor, &ctx(), 20).await;
    let mut ids: Vec<&str> = items.iter().map(|i| i.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["-210000001_3_14", "-210000001_3_15", "-210000001_3_16"]
    );
    assert!(
        vk.calls("wall.getComments") - before <= 3,
        "only post 3 is read again"
    );
}

#[tokio::test]
async fn user_token_rate_limit_is_honoured() {
    let vk = world_with_wall(1..=3);
    let server = serve(&vk).await;
    let mut cfg = api_config(&server);
    cfg.requests_per_second = None; // user token: 3/s
    let api = VkApi::new(cfg, fast_http()).expect("api");
    let started = Instant::now();
    let mut at = Vec::new();
    for _ in 0..7 {
        api.wall_get(OWNER, 0, 10).await.expect("wall");
        at.push(started.elapsed());
    }
    for (i, t) in at.iter().enumerate() {
        let n = at[i..]
            .iter()
            .take_while(|u| **u < *t + Duration::from_millis(950))
            .count();
        assert!(n <= 3, "{n} requests within a second");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
}

/// Several concurrent tasks — two wall sources, a search source and a bare API client — share
/// one community token (20 requests/s) through one [`HttpClient`]. The fake server records
/// when each request *arrives*; no sliding one-second window may hold more than 20 of them
/// (50 ms are allowed for delivery jitter between the limiter's grant and the arrival on a
/// loaded machine: the limiter spaces departures by exactly 50 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_sharing_a_token_never_exceed_its_rate_at_the_server() {
    let vk = world_with_wall(1..=400);
    vk.world()
        .groups
        .push(group(210_000_004, "kamensk_adm", 0, None));
    vk.add_posts(-210_000_004, 1..=400);
    let server = serve(&vk).await;
    let http = fast_http();
    let mut api_cfg = api_config(&server);
    api_cfg.requests_per_second = None;
    api_cfg.token_kind = TokenKind::Group; // 20 requests/s
    let limit = 20usize;
    let wall = |owner: &str| {
        let mut cfg = VkWallConfig::new(api_cfg.clone(), vec![owner.to_owned()]);
        cfg.page_size = 10;
        cfg.backfill_pages = 100;
        Arc::new(VkWallSource::new(cfg, http.clone()).expect("source"))
    };
    let walls = [wall("severny_adm"), wall("kamensk_adm")];
    let mut search_cfg = VkSearchConfig::new(api_cfg.clone(), vec!["горячая вода".into()]);
    search_cfg.backfill_hours = 12;
    search_cfg.index_lag_secs = 0;
    let search = Arc::new(VkSearchSource::new(search_cfg, http.clone()).expect("search"));
    let api = VkApi::new(api_cfg.clone(), http.clone()).expect("api");

    let started = Instant::now();
    let run_for = Duration::from_millis(2_600);
    let mut tasks = tokio::task::JoinSet::new();
    for src in walls {
        tasks.spawn(async move {
            let mut cursor = None;
            while started.elapsed() < run_for {
                let b = src.poll(cursor.take(), &ctx()).await.expect("poll");
                cursor = Some(b.next_cursor);
                // A poll with nothing to fetch returns without awaiting anything.
                tokio::task::yield_now().await;
            }
        });
    }
    tasks.spawn(async move {
        let mut cursor = None;
        while started.elapsed() < run_for {
            let b = search.poll(cursor.take(), &ctx()).await.expect("search");
            cursor = Some(b.next_cursor);
            tokio::task::yield_now().await;
        }
    });
    for _ in 0..2 {
        let api = api.clone();
        tasks.spawn(async move {
            while started.elapsed() < run_for {
                api.wall_get(OWNER, 0, 10).await.expect("wall.get");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }

    let mut at: Vec<Instant> = vk.world().log.iter().map(|(_, _, t)| *t).collect();
    at.sort();
    let methods: std::collections::BTreeSet<String> =
        vk.world().log.iter().map(|(m, _, _)| m.clone()).collect();
    assert!(
        methods.contains("wall.get") && methods.contains("newsfeed.search"),
        "{methods:?}"
    );
    let log: Vec<(String, Duration)> = vk
        .world()
        .log
        .iter()
        .map(|(m, _, t)| (m.clone(), t.duration_since(started)))
        .collect();
    assert!(at.len() >= 2 * limit, "only {} requests: {log:?}", at.len());
    let window = Duration::from_secs(1) - Duration::from_millis(50);
    let mut busiest = 0;
    for (i, t) in at.iter().enumerate() {
        let n = at[i..].iter().take_while(|u| **u < *t + window).count();
        busiest = busiest.max(n);
    }
    assert!(
        busiest <= limit,
        "{busiest} requests arrived within one second"
    );
    // And the limiter let the tasks use the rate (not far below it).
    assert!(busiest >= limit - 2, "busiest second held only {busiest}");
}

// ---- search -------------------------------------------------------------------------------

fn search_world(n: u64, span_secs: i64) -> FakeVk {
    let vk = FakeVk::default();
    let mut w = vk.world();
    for i in 0..n {
        let date = BASE + (i64::try_from(i).expect("i") * span_secs) / i64::try_from(n).expect("n");
        let owner = if i % 3 == 0 {
            -210_000_020
        } else {
            5_000_000 + i64::try_from(i % 50).expect("o")
        };
        w.corpus.push((owner, 10_000 + i, date));
    }
    drop(w);
    vk
}

fn search_source(server: &FakeServer) -> VkSearchSource {
    let mut cfg = VkSearchConfig::new(api_config(server), vec!["горячая вода".into()]);
    cfg.backfill_hours = 12;
    cfg.index_lag_secs = 0;
    VkSearchSource::new(cfg, fast_http()).expect("source")
}

#[tokio::test]
async fn search_over_the_cap_is_split_and_every_post_found_once() {
    let vk = search_world(2600, 10 * 3600);
    let server = serve(&vk).await;
    let src = search_source(&server);
    let ctx = PollContext::at("vk-search", (BASE + 11 * 3600) * 1000);
    let (items, cursor, polls) = drain(&src, None, &ctx, 200).await;
    assert_unique(&items);
    assert_eq!(items.len(), 2600);
    assert!(polls > 13, "windows were split: {polls} polls");
    let starts: Vec<i64> = vk
        .world()
        .log
        .iter()
        .filter_map(|(_, q, _)| q.get("start_time").and_then(|s| s.parse().ok()))
        .collect();
    assert!(
        starts.iter().any(|s| *s > BASE),
        "narrower windows were asked"
    );

    // Next pass: only what is new.
    vk.world()
        .corpus
        .push((5_000_001, 99_999, BASE + 11 * 3600 + 10));
    let later = PollContext::at("vk-search", (BASE + 12 * 3600) * 1000);
    let (items, _, _) = drain(&src, cursor, &later, 20).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].external_id, "5000001_99999");
}

#[tokio::test]
async fn search_resumes_from_a_mid_cursor() {
    let vk = search_world(1500, 6 * 3600);
    let server = serve(&vk).await;
    let src = search_source(&server);
    let ctx = PollContext::at("vk-search", (BASE + 7 * 3600) * 1000);
    let mut cursor: Option<Cursor> = None;
    let mut all = Vec::new();
    for _ in 0..4 {
        let b = src.poll(cursor.clone(), &ctx).await.expect("poll");
        assert!(!b.done);
        all.extend(b.items);
        cursor = Some(b.next_cursor);
    }
    // A fault mid-way keeps the cursor.
    vk.fault(Fault::Vk(10));
    vk.fault(Fault::Truncated);
    let src2 = search_source(&server);
    let (rest, _, _) = drain(&src2, cursor, &ctx, 200).await;
    all.extend(rest);
    assert_unique(&all);
    assert_eq!(all.len(), 1500);
}

#[tokio::test]
async fn bad_search_config_is_refused() {
    let server = serve(&FakeVk::default()).await;
    let cfg = VkSearchConfig::new(api_config(&server), vec!["  ".into()]);
    assert!(matches!(
        VkSearchSource::new(cfg, fast_http()),
        Err(CollectError::Config(_))
    ));
}
