//! `otklik collect`, `otklik sources`: a fake RSS feed and Telegram channel preview on
//! loopback, polled by the real binary into a temp SQLite store.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use otklik_store::{MessageFilter, PostFilter, Store};

use crate::support::{data, otklik, run, text};

/// A tiny HTTP/1.1 server: path → (status, body), changeable while it runs.
#[derive(Clone)]
struct FakeServer {
    port: u16,
    routes: Arc<Mutex<HashMap<String, (u16, String)>>>,
    /// (request line, body) of every request.
    log: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let routes: Arc<Mutex<HashMap<String, (u16, String)>>> = Arc::default();
        let shared = Arc::clone(&routes);
        let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let log_shared = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body_in = vec![0u8; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut body_in);
                log_shared.lock().expect("lock").push((
                    line.trim().to_owned(),
                    String::from_utf8_lossy(&body_in).into_owned(),
                ));
                let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let path = target.split('?').next().unwrap_or("/").to_owned();
                let (status, body) = shared
                    .lock()
                    .expect("lock")
                    .get(&path)
                    .cloned()
                    .unwrap_or((404, "not found".into()));
                let ctype = if path.ends_with(".xml") {
                    "application/rss+xml; charset=utf-8"
                } else {
                    "text/html; charset=utf-8"
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body.as_bytes());
            }
        });
        Self { port, routes, log }
    }

    fn set(&self, path: &str, status: u16, body: &str) {
        self.routes
            .lock()
            .expect("lock")
            .insert(path.to_owned(), (status, body.to_owned()));
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(data("collect").join(name)).expect("fixture")
}

/// A data dir with the demo territories and organisations and a collect.toml.
fn setup(server: &FakeServer) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    for (kind, file) in [
        ("territories", "demo/territories.csv"),
        ("organisations", "demo/organisations.csv"),
    ] {
        let o = run(otklik(dir.path()).args(["import", kind, file]));
        assert!(o.status.success(), "{}", text(&o));
    }
    let toml = format!(
        "[http]\nretry = {{ max_retries = 0 }}\n\n[[source]]\nname = \"tg-seversk\"\nkind = \"telegram\"\nchannel = \"seversk_gorod\"\nbase_url = \"{}\"\n",
        server.url("/tg/")
    );
    std::fs::write(dir.path().join("collect.toml"), toml).expect("write collect.toml");
    dir
}

fn add_rss(dir: &Path, server: &FakeServer) {
    let o = run(otklik(dir).args([
        "sources",
        "add",
        "rss-seversk",
        "--network",
        "rss",
        "--target",
        &server.url("/feed.xml"),
        "--schedule",
        "0 */10 * * * *",
        "--territory",
        "seversk-okrug",
    ]));
    assert!(o.status.success(), "{}", text(&o));
}

fn collect(dir: &Path) -> std::process::Output {
    run(otklik(dir).args(["collect", "--once", "--routing", "demo/routing.toml"]))
}

struct Snapshot {
    posts: usize,
    messages: Vec<otklik_domain::Message>,
    territories: HashMap<otklik_domain::TerritoryId, (String, Option<otklik_domain::TerritoryId>)>,
}

fn snapshot(dir: &Path) -> Snapshot {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let store = Store::open_data_dir(dir).await.expect("open");
        let posts = store
            .search_posts(&PostFilter::default())
            .await
            .expect("posts")
            .len();
        let messages = store
            .list_messages(MessageFilter::default())
            .await
            .expect("messages");
        let territories = store
            .territories()
            .await
            .expect("territories")
            .into_iter()
            .map(|t| (t.id, (t.code, t.parent)))
            .collect();
        Snapshot {
            posts,
            messages,
            territories,
        }
    })
}

impl Snapshot {
    /// Is `t` the territory `code` or inside it?
    fn within(&self, t: Option<otklik_domain::TerritoryId>, code: &str) -> bool {
        let mut cur = t;
        while let Some(id) = cur {
            let Some((c, parent)) = self.territories.get(&id) else {
                return false;
            };
            if c == code {
                return true;
            }
            cur = *parent;
        }
        false
    }
}

#[test]
fn collect_once_stores_posts_and_turns_complaints_into_routed_messages() {
    let server = FakeServer::start();
    server.set("/feed.xml", 200, &fixture("feed.xml"));
    server.set(
        "/tg/s/seversk_gorod",
        200,
        &fixture("tg-seversk_gorod.html"),
    );
    let dir = setup(&server);
    add_rss(dir.path(), &server);
    let o = run(otklik(dir.path()).args([
        "sources",
        "add",
        "tg-seversk",
        "--network",
        "telegram",
        "--target",
        "seversk_gorod",
        "--territory",
        "seversk-okrug",
    ]));
    assert!(o.status.success(), "{}", text(&o));
    let o = run(otklik(dir.path()).args(["sources", "check"]));
    assert!(o.status.success(), "{}", text(&o));

    let o = collect(dir.path());
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("rss-seversk"), "{out}");
    assert!(out.contains("complaints found 2"), "{out}");
    assert!(out.contains("messages created 2"), "{out}");

    let s = snapshot(dir.path());
    assert_eq!(s.posts, 5, "3 feed items + 2 channel messages");
    assert_eq!(s.messages.len(), 2, "{:#?}", s.messages);
    let garbage = s
        .messages
        .iter()
        .find(|m| m.text.contains("мусор"))
        .expect("the garbage complaint became a message");
    assert!(garbage.subcategory.0.starts_with("waste."), "{garbage:?}");
    assert!(s.within(garbage.territory, "seversk-okrug"), "{garbage:?}");
    assert!(garbage.executor.is_some(), "routed: {garbage:?}");
    assert_eq!(garbage.channel, otklik_domain::Channel::SocialNetwork);
    assert!(garbage.source_post.is_some());
    let water = s
        .messages
        .iter()
        .find(|m| m.text.contains("горячей воды"))
        .expect("the hot water complaint became a message");
    assert!(s.within(water.territory, "seversk-zavodskoy"), "{water:?}");
    assert!(
        !s.messages
            .iter()
            .any(|m| m.text.contains("сквер") || m.text.contains("Спасибо")),
        "news and thanks stay posts"
    );

    // Again: nothing new, no duplicates.
    let o = collect(dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let again = snapshot(dir.path());
    assert_eq!(again.posts, 5);
    assert_eq!(again.messages.len(), 2);

    // The archive search finds the collected posts and the messages by any word form.
    let o = run(otklik(dir.path()).args(["search", "мусором", "--facet", "kind", "--json"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let total = json["total"].as_u64().unwrap_or_default();
    assert!(total >= 2, "the garbage post and its message: {out}");
    assert!(out.contains("мусор"), "{out}");
    let o = run(otklik(dir.path()).args(["search", "абракадабра", "--json"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(json["total"].as_u64(), Some(0), "{out}");

    // Frequent problems over the same archive: a JSON report, and a clear error on a bad period.
    let o = run(otklik(dir.path()).args(["topics", "--json"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let _: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let o = run(otklik(dir.path()).args(["topics", "--period", "2026-13"]));
    assert!(!o.status.success(), "{}", text(&o));
}

#[test]
fn failing_source_is_recorded_and_the_next_poll_continues_from_the_cursor() {
    let server = FakeServer::start();
    server.set("/feed.xml", 200, &fixture("feed.xml"));
    let dir = setup(&server);
    // Only the RSS source: the telegram entry of collect.toml is not in the database.
    std::fs::write(
        dir.path().join("collect.toml"),
        "[http]\nretry = { max_retries = 0 }\n",
    )
    .expect("write");
    add_rss(dir.path(), &server);
    let o = collect(dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(snapshot(dir.path()).posts, 3);

    // The feed grows while the server fails.
    server.set("/feed.xml", 500, "boom");
    let o = collect(dir.path());
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("HTTP 500"), "{out}");
    let o = run(otklik(dir.path()).args(["sources", "list"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("rss-seversk") && out.contains("HTTP 500"),
        "{out}"
    );
    assert_eq!(snapshot(dir.path()).posts, 3, "nothing lost or half-stored");

    // Back: only the new item is added.
    server.set("/feed.xml", 200, &fixture("feed-more.xml"));
    let o = collect(dir.path());
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("complaints found 1"),
        "the pothole complaint: {out}"
    );
    let s = snapshot(dir.path());
    assert_eq!(s.posts, 4);
    assert_eq!(s.messages.len(), 2);
    let o = run(otklik(dir.path()).args(["sources", "list"]));
    let out = text(&o);
    assert!(out.contains("closed"), "{out}");
}

#[test]
fn sources_check_reports_bad_settings() {
    let server = FakeServer::start();
    let dir = setup(&server);
    std::fs::write(
        dir.path().join("collect.toml"),
        "[[source]]\nname = \"ghost\"\nkind = \"rss\"\nurl = \"http://127.0.0.1:1/x.xml\"\n\n[[source]]\nname = \"typo\"\nkind = \"rss\"\nurll = \"x\"\n",
    )
    .expect("write");
    let o = run(otklik(dir.path()).args(["sources", "check"]));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("«typo»"), "{out}");

    std::fs::write(
        dir.path().join("collect.toml"),
        "[[source]]\nname = \"ghost\"\nkind = \"rss\"\nurl = \"http://127.0.0.1:1/x.xml\"\n",
    )
    .expect("write");
    let o = run(otklik(dir.path()).args(["sources", "check"]));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("«ghost» is not in the database"), "{out}");

    let o = run(otklik(dir.path()).args([
        "sources",
        "add",
        "bad",
        "--network",
        "rss",
        "--target",
        "x",
        "--schedule",
        "*/5 * * * *",
    ]));
    assert!(!o.status.success(), "five-field cron refused: {}", text(&o));
}

#[test]
fn communities_import_list_check_export() {
    let server = FakeServer::start();
    let dir = setup(&server);
    let o = run(otklik(dir.path()).args(["communities", "import", "demo/communities.csv"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("communities registered:"), "{out}");
    let o = run(otklik(dir.path()).args(["communities", "import", "demo/communities.csv"]));
    assert!(text(&o).contains("registered: 0"), "{}", text(&o));
    let o = run(otklik(dir.path()).args(["communities", "list"]));
    assert!(
        text(&o).contains("severnaya_oblast_official"),
        "{}",
        text(&o)
    );
    let o = run(otklik(dir.path()).args(["communities", "check", "--inactive-days", "7"]));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("organisations lacking required pages"),
        "{out}"
    );
    assert!(out.contains("per-page statistics"), "{out}");
    let file = dir.path().join("export.csv");
    let o = run(otklik(dir.path())
        .args(["communities", "export"])
        .arg(&file));
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(&file).expect("export");
    assert!(
        csv.starts_with("url,organisation_code,title,verification"),
        "{csv}"
    );
    assert!(
        csv.contains("https://vk.com/severnaya_oblast_official"),
        "{csv}"
    );
}

/// A plain HTTP/1.0 GET of `http://host:port/path`; the whole response ("" on errors).
fn http_get(url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return String::new();
    };
    let _ = write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    let mut out = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut out);
    out
}

/// Reads stdout lines until one contains `needle`; that line.
fn read_until(reader: &mut impl std::io::BufRead, needle: &str) -> String {
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read stdout");
        assert!(n > 0, "stdout closed before «{needle}»");
        if line.contains(needle) {
            return line;
        }
    }
}

#[test]
fn scheduler_mode_serves_metrics_and_stops_gracefully_on_sigterm() {
    let server = FakeServer::start();
    server.set("/feed.xml", 200, &fixture("feed.xml"));
    let dir = setup(&server);
    add_rss(dir.path(), &server);
    let mut child = otklik(dir.path())
        .args([
            "collect",
            "--routing",
            "demo/routing.toml",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    read_until(&mut out, "collecting from");
    let line = read_until(&mut out, "metrics at ");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url")
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let metrics = loop {
        let body = http_get(&url);
        if body.contains("otklik_posts_collected_total{source=\"rss-seversk\"}")
            && body.contains("otklik_posts_analysed_total")
        {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pipeline metrics: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        metrics.contains("otklik_complaints_found_total"),
        "{metrics}"
    );
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    assert!(snapshot(dir.path()).posts > 0);
}

#[test]
fn replies_are_queued_listed_and_delivered_from_the_command_line() {
    let server = FakeServer::start();
    server.set(
        "/method/wall.createComment",
        200,
        r#"{"response":{"comment_id":4242}}"#,
    );
    let dir = setup(&server);
    // A complaint collected from a VK wall that became a message.
    let message = tokio::runtime::Runtime::new().expect("rt").block_on(async {
        let store = Store::open_data_dir(dir.path()).await.expect("open");
        let source = store
            .add_source(
                &otklik_domain::directory::NewSource {
                    name: "vk-adm".into(),
                    network: otklik_domain::Network::Vk,
                    target: "adm_seversk".into(),
                    schedule: "0 */10 * * * *".into(),
                    territory_code: None,
                    enabled: true,
                },
                None,
                otklik_domain::Timestamp(1_741_000_000_000),
            )
            .await
            .expect("source");
        let text = "Яма на улице Ленина";
        store
            .store_posts(
                source.id,
                &[otklik_store::NewPost::new(
                    otklik_domain::Network::Vk,
                    "-210000001_5",
                    text,
                    otklik_domain::Timestamp(1_741_000_000_000),
                    "hash-5",
                )],
                Some("c"),
                otklik_domain::Timestamp(1_741_000_000_000),
            )
            .await
            .expect("post");
        let post = store
            .post_by_external_id(otklik_domain::Network::Vk, "-210000001_5")
            .await
            .expect("get")
            .expect("post");
        store
            .create_message(
                &otklik_domain::NewMessage {
                    channel: otklik_domain::Channel::SocialNetwork,
                    subcategory: otklik_domain::SubcategoryId("roads.potholes".into()),
                    territory: None,
                    executor: None,
                    submitted_via: None,
                    author: None,
                    author_handle: None,
                    source_post: Some(post.id),
                    text: text.into(),
                    address: None,
                    confidence_pm: Some(900),
                    deadline_at: otklik_domain::Timestamp(1_742_000_000_000),
                },
                Some("post:1"),
                None,
                otklik_domain::Timestamp(1_741_000_000_000),
            )
            .await
            .expect("message")
            .id
    });
    let m = message.get().to_string();

    let o = run(otklik(dir.path()).args(["replies", "list"]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no replies"), "{}", text(&o));

    let queue = |dir: &Path| {
        run(otklik(dir).args([
            "replies",
            "queue",
            "--message",
            &m,
            "--text",
            "Яму заделают до пятницы",
        ]))
    };
    let o = queue(dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("-210000001_5"), "{}", text(&o));
    // Queued twice: still one reply (idempotency key answer:<message>).
    let o = queue(dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let o = run(otklik(dir.path()).args(["replies", "list", "--status", "pending"]));
    let listed = text(&o);
    assert_eq!(
        listed.lines().filter(|l| l.contains("pending")).count(),
        1,
        "{listed}"
    );

    // Without a token: refused, nothing sent.
    let o = run(otklik(dir.path())
        .args(["replies", "send"])
        .env_remove("OTKLIK_VK_TOKEN"));
    assert!(!o.status.success());
    assert!(text(&o).contains("OTKLIK_VK_TOKEN"), "{}", text(&o));

    let send = |dir: &Path| {
        run(otklik(dir)
            .args(["replies", "send"])
            .env("OTKLIK_VK_TOKEN", "vk1.a.reply-token")
            .env("OTKLIK_VK_API_URL", server.url("/method/")))
    };
    let o = send(dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("replies delivered: 1"), "{}", text(&o));
    // Delivered exactly once: a second send has nothing to do.
    let o = send(dir.path());
    assert!(text(&o).contains("replies delivered: 0"), "{}", text(&o));
    let calls: Vec<(String, String)> = server
        .log
        .lock()
        .expect("lock")
        .iter()
        .filter(|(l, _)| l.contains("wall.createComment"))
        .cloned()
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].0.starts_with("POST"), "{calls:?}");
    assert!(calls[0].1.contains("owner_id=-210000001"), "{calls:?}");
    assert!(
        calls[0].1.contains(&format!("guid=answer%3A{m}")),
        "{calls:?}"
    );

    let o = run(otklik(dir.path()).args(["replies", "list"]));
    let listed = text(&o);
    assert!(
        listed.contains("delivered") && listed.contains("4242"),
        "{listed}"
    );
}
