//! Crash safety of `otklik collect`: the real binary is killed with SIGKILL at random moments
//! (at least 20 times) while it ingests 10,000 posts from a fake VK community wall on
//! loopback (`groups.getById` + `wall.get` JSON in the API's format, paged by `offset`/`count`);
//! after the restarts the stored posts are exactly the wall's posts — none lost, none twice,
//! no spurious edits, one message per complaint.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use otklik_store::{PostFilter, Store};

use crate::support::{otklik, run, text};

const POSTS: u64 = 10_000;
const GROUP: i64 = 210_000_001;
const TOKEN: &str = "vk1.a.fake-community-token";
/// Publication time of post `id`: one a minute.
const BASE: i64 = 1_741_000_000;

/// Every 50th post is a complaint, the others are news.
fn post_text(id: u64) -> String {
    if id.is_multiple_of(50) {
        format!(
            "Обращение {id}: огромные ямы на дороге по улице Ленина в Северске, когда отремонтируют?"
        )
    } else {
        format!("Новость {id}: в районе прошёл субботник, жители убрали сквер у Дворца культуры.")
    }
}

fn wall_page(offset: usize, count: usize) -> String {
    let ids = (1..=POSTS).rev().skip(offset).take(count.min(100));
    let items: Vec<serde_json::Value> = ids
        .map(|id| {
            serde_json::json!({
                "id": id, "owner_id": -GROUP, "from_id": -GROUP,
                "date": BASE + i64::try_from(id).expect("id") * 60,
                "post_type": "post", "text": post_text(id),
                "comments": {"count": 0}, "likes": {"count": 3}, "reposts": {"count": 0},
                "views": {"count": 120}, "attachments": []
            })
        })
        .collect();
    serde_json::json!({"response": {
        "count": POSTS, "items": items, "profiles": [],
        "groups": [{"id": GROUP, "name": "Администрация Северска", "screen_name": "adm_seversk", "is_closed": 0}]
    }})
    .to_string()
}

fn groups_answer() -> String {
    serde_json::json!({"response": {"groups": [
        {"id": GROUP, "name": "Администрация Северска", "screen_name": "adm_seversk",
         "is_closed": 0, "type": "page"}
    ], "profiles": []}})
    .to_string()
}

fn query_param(target: &str, key: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

/// A fake VK API: one thread per connection, `Connection: close`.
struct FakeVk {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl FakeVk {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
                            break;
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let path = target.split('?').next().unwrap_or("/");
                    let body = if query_param(&target, "access_token").as_deref() != Some(TOKEN) {
                        r#"{"error":{"error_code":5,"error_msg":"User authorization failed"}}"#
                            .to_owned()
                    } else if path.ends_with("/groups.getById") {
                        groups_answer()
                    } else if path.ends_with("/wall.get") {
                        let offset = query_param(&target, "offset")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let count = query_param(&target, "count")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(20);
                        wall_page(offset, count)
                    } else {
                        r#"{"error":{"error_code":3,"error_msg":"Unknown method passed"}}"#
                            .to_owned()
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body.as_bytes());
                });
            }
        });
        Self { port, requests }
    }
}

fn setup(vk: &FakeVk) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    for (kind, file) in [
        ("territories", "demo/territories.csv"),
        ("organisations", "demo/organisations.csv"),
    ] {
        let o = run(otklik(dir.path()).args(["import", kind, file]));
        assert!(o.status.success(), "{}", text(&o));
    }
    // 10 requests a second: a run reads a few pages before it is killed.
    let toml = format!(
        "[http]\nretry = {{ max_retries = 0 }}\n\n[[source]]\nname = \"vk-adm-seversk\"\nkind = \"vk_wall\"\n\
         owners = [\"adm_seversk\"]\npage_size = 100\nbackfill_pages = 500\n\
         api = {{ base_url = \"http://127.0.0.1:{}/method/\", token = \"{TOKEN}\", token_kind = \"group\", requests_per_second = 10.0 }}\n",
        vk.port
    );
    std::fs::write(dir.path().join("collect.toml"), toml).expect("collect.toml");
    let o = run(otklik(dir.path()).args([
        "sources",
        "add",
        "vk-adm-seversk",
        "--network",
        "vk",
        "--target",
        "adm_seversk",
        "--territory",
        "seversk-okrug",
    ]));
    assert!(o.status.success(), "{}", text(&o));
    dir
}

/// Posts stored so far (the count committed with the posts).
async fn stored(store: &Store) -> i64 {
    store
        .source_health()
        .await
        .expect("health")
        .iter()
        .map(|h| h.items_total)
        .sum()
}

/// xorshift64*: reproducible kill moments (`OTKLIK_KILL_SEED` picks another sequence).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn collect_cmd(dir: &Path) -> std::process::Command {
    let mut c = otklik(dir);
    c.args(["collect", "--once", "--routing", "demo/routing.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let vk = FakeVk::start();
    let dir = setup(&vk);
    let store = Store::open_data_dir(dir.path()).await.expect("open");
    let mut rng = Rng(std::env::var("OTKLIK_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_4b11));
    let started = Instant::now();
    let mut kills = 0;
    let mut mid_ingestion = 0;
    let mut finished_runs = 0;
    while kills < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "too slow: {kills} kills"
        );
        let before = stored(&store).await;
        let mut child = collect_cmd(dir.path()).spawn().expect("spawn collect");
        // Kill at a random moment: mostly once this run has stored something (mid-ingestion:
        // between pages, inside a transaction, during analysis), sometimes blindly (start-up).
        let blind = rng.below(4) == 0;
        let wait_until = Instant::now() + Duration::from_secs(20);
        if !blind {
            while stored(&store).await == before && Instant::now() < wait_until {
                if child.try_wait().expect("try_wait").is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        if child.try_wait().expect("try_wait").is_some() {
            finished_runs += 1;
            continue;
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "killed: {status:?}");
        kills += 1;
        let after = stored(&store).await;
        if after > before && after < i64::try_from(POSTS).expect("n") {
            mid_ingestion += 1;
        }
    }
    assert!(
        mid_ingestion >= 10,
        "{mid_ingestion} of {kills} kills landed mid-ingestion"
    );
    assert!(
        stored(&store).await < i64::try_from(POSTS).expect("n"),
        "the kills should come before the end; slow the fake source down"
    );

    // Restarts without kills until the wall is read to the end.
    for _ in 0..30 {
        if stored(&store).await >= i64::try_from(POSTS).expect("n") {
            break;
        }
        let o = collect_cmd(dir.path()).output().expect("collect");
        assert!(o.status.success(), "{}", text(&o));
    }
    // And once more: nothing new.
    let o = collect_cmd(dir.path()).output().expect("collect");
    assert!(o.status.success(), "{}", text(&o));

    let posts = store
        .search_posts(&PostFilter {
            limit: Some(2 * i64::try_from(POSTS).expect("n")),
            ..PostFilter::default()
        })
        .await
        .expect("posts");
    let ids: Vec<String> = posts.iter().map(|p| p.post.external_id.clone()).collect();
    let unique: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let expected: BTreeSet<String> = (1..=POSTS).map(|i| format!("-{GROUP}_{i}")).collect();
    let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(ids.len(), unique.len(), "duplicate posts");
    assert_eq!(unique, expected, "stored set differs from the source set");
    assert_eq!(stored(&store).await, i64::try_from(POSTS).expect("n"));
    for p in &posts {
        assert_eq!(
            p.post.text,
            post_text(
                p.post
                    .external_id
                    .rsplit('_')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("id")
            ),
        );
    }
    // No post was stored twice as an "edit".
    for p in posts.iter().step_by(97) {
        assert!(
            store
                .post_versions(p.post.id)
                .await
                .expect("versions")
                .is_empty()
        );
    }
    // Every post analysed; one message per complaint, none twice.
    assert!(
        posts.iter().all(|p| p.classification.is_some()),
        "unclassified posts left"
    );
    let messages = store
        .list_messages(otklik_store::MessageFilter::default())
        .await
        .expect("messages");
    let from_posts: Vec<_> = messages.iter().filter_map(|m| m.source_post).collect();
    let distinct: BTreeSet<_> = from_posts.iter().copied().collect();
    assert_eq!(
        from_posts.len(),
        distinct.len(),
        "a post became two messages"
    );
    let linked = posts.iter().filter(|p| p.message.is_some()).count();
    assert_eq!(linked, from_posts.len());
    eprintln!(
        "{kills} kills ({mid_ingestion} mid-ingestion, {finished_runs} runs finished first), \
         {} requests, {} messages, {:?}",
        vk.requests.load(Ordering::SeqCst),
        from_posts.len(),
        started.elapsed()
    );
}
