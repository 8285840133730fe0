//! `otklik serve --demo`: real HTTP on loopback against a real SQLite file.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::support::otklik;

pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Server {
    start_with(data_dir, &[])
}

/// `otklik serve --demo` on a free loopback port with its data in `data_dir`.
pub(crate) fn start_demo(data_dir: &std::path::Path) -> Server {
    start(data_dir)
}

pub(crate) fn start_with(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    start_on(data_dir, extra, "127.0.0.1:0", &[])
}

/// `otklik [EXTRA…] serve --listen LISTEN --demo` with its data in `data_dir` and `envs` in
/// its environment.
pub(crate) fn start_on(
    data_dir: &std::path::Path,
    extra: &[&str],
    listen: &str,
    envs: &[(&str, &str)],
) -> Server {
    let mut child = otklik(data_dir)
        .envs(envs.iter().copied())
        .args(extra)
        .args(["serve", "--listen", listen, "--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn otklik serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read banner");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in banner {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Server { child, base }
}

#[tokio::test]
async fn health_version_metrics_and_status_page() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(dir.path());
    let http = reqwest::Client::new();

    let health: serde_json::Value = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("healthz")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");

    let version: serde_json::Value = http
        .get(format!("{}/version", server.base))
        .send()
        .await
        .expect("version")
        .json()
        .await
        .expect("json");
    assert_eq!(version["name"], "otklik");
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["backend"], "sqlite");

    let res = http
        .get(format!("{}/", server.base))
        .send()
        .await
        .expect("home");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let page = res.text().await.expect("text");
    assert!(page.contains("Северная область"), "{page}");
    assert!(page.contains("Подкатегории"), "{page}");

    let missing = http
        .get(format!("{}/no/such/page", server.base))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);

    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("otklik_http_requests_total"), "{metrics}");

    // The SQLite file was created on first run, in WAL mode.
    assert!(dir.path().join("otklik.db").exists());
    assert!(dir.path().join("otklik.db-wal").exists() || dir.path().join("otklik.db-shm").exists());
}

#[tokio::test]
async fn restart_keeps_data_and_does_not_reload_demo() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let _s = start(dir.path());
    }
    let server = start(dir.path());
    let page = reqwest::get(format!("{}/", server.base))
        .await
        .expect("home")
        .text()
        .await
        .expect("text");
    assert!(page.contains("Северная область"), "{page}");
}

/// Sends SIGTERM and waits (up to `secs`) for the process to exit; its status.
fn terminate(server: &mut Server, secs: u64) -> Option<std::process::ExitStatus> {
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Some(status) = server.child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[tokio::test]
async fn serve_demo_collects_its_own_feeds_into_routed_messages() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut server = start(dir.path());
    let http = reqwest::Client::new();

    // The server serves the demo feeds itself…
    let feed = http
        .get(format!("{}/demo/feeds/seversk-online.xml", server.base))
        .send()
        .await
        .expect("feed");
    assert_eq!(feed.status(), 200);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .expect("ct")
            .contains("rss")
    );
    let escape = http
        .get(format!("{}/demo/feeds/..%2Fcollect.toml", server.base))
        .send()
        .await
        .expect("escape");
    assert_eq!(escape.status(), 404);

    // …and its scheduler collects them at once: 4 + 3 posts, complaints become messages.
    let store = otklik_store::Store::open_data_dir(dir.path())
        .await
        .expect("open");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let page = loop {
        let page = http
            .get(format!("{}/", server.base))
            .send()
            .await
            .expect("home")
            .text()
            .await
            .expect("text");
        let analysed = store
            .posts_to_classify(1)
            .await
            .expect("posts to classify")
            .is_empty();
        if page.contains("id=\"posts-collected\">7<") && page.contains("Ямы во дворе") && analysed
        {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo feeds were not collected in time: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(page.contains("Мониторинг источников"), "{page}");
    assert!(page.contains("rss-seversk-online"), "{page}");
    assert!(page.contains("Социальные сети"), "{page}");

    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("otklik_posts_collected_total{source=\"rss-seversk-online\"} 4"),
        "{metrics}"
    );
    assert!(metrics.contains("otklik_posts_analysed_total"), "{metrics}");
    assert!(
        metrics.contains("otklik_messages_created_total"),
        "{metrics}"
    );

    // The store: every collected complaint is a routed social-network message of its post.
    let messages = store
        .list_messages(otklik_store::MessageFilter::default())
        .await
        .expect("messages");
    let social: Vec<_> = messages
        .iter()
        .filter(|m| m.source_post.is_some())
        .collect();
    assert!(social.len() >= 3, "{social:?}");
    assert!(social.iter().all(|m| m.executor.is_some()), "{social:?}");
    let posts = store
        .search_posts(&otklik_store::PostFilter::default())
        .await
        .expect("posts");
    assert_eq!(posts.len(), 7);
    // Analysed once the page showed the messages: every post classified, complaints linked.
    assert!(
        posts.iter().all(|p| p.classification.is_some()),
        "{posts:?}"
    );
    for m in &social {
        let post = posts
            .iter()
            .find(|p| Some(p.post.id) == m.source_post)
            .expect("the message's post");
        assert_eq!(post.message, Some(m.id));
    }

    // Graceful shutdown on SIGTERM: the pipeline stops, the process exits 0.
    let status = terminate(&mut server, 20).expect("exited after SIGTERM");
    assert!(status.success(), "{status:?}");
}

/// The demo messages go through the workflow: each step done by a demo user of the right role,
/// with a calendar deadline and an audit event per step.
#[tokio::test]
async fn serve_demo_moves_its_messages_through_the_workflow_by_role() {
    use otklik_domain::{Channel, EntityKind, MessageStatus, Role, Transition};

    let dir = tempfile::tempdir().expect("tmp");
    let _server = start(dir.path());
    let store = otklik_store::Store::open_data_dir(dir.path())
        .await
        .expect("open");
    let demo: Vec<_> = store
        .list_messages(otklik_store::MessageFilter::default())
        .await
        .expect("messages")
        .into_iter()
        .filter(|m| m.channel != Channel::SocialNetwork)
        .collect();
    let mut statuses: Vec<MessageStatus> = demo.iter().map(|m| m.status).collect();
    statuses.sort_by_key(|s| s.code());
    let mut expected = vec![
        MessageStatus::Execution,
        MessageStatus::Coordination,
        MessageStatus::Approval,
        MessageStatus::Answered,
        MessageStatus::Rated,
        MessageStatus::Rejected,
    ];
    expected.sort_by_key(|s| s.code());
    assert_eq!(statuses, expected, "{demo:#?}");
    let users = store.users().await.expect("users");
    let rated = demo
        .iter()
        .find(|m| m.status == MessageStatus::Rated)
        .expect("rated");
    let record = store
        .message_record(rated.id)
        .await
        .expect("record")
        .expect("exists");
    assert!(record.deadline_clock.is_some(), "calendar deadline");
    assert!(rated.author.is_some(), "a citizen's account");
    let trail = store
        .audit_trail(EntityKind::Message, rated.id.get())
        .await
        .expect("audit");
    let mut steps = Vec::new();
    for e in &trail {
        let Some(code) = e.event.action.strip_prefix("transition:") else {
            continue;
        };
        let t: Transition = code.parse().expect("transition code");
        let actor = e.event.actor.expect("every demo step has an actor");
        let user = users.iter().find(|u| u.id == actor).expect("a demo user");
        let role = otklik_workflow::role_for(t);
        if role == Role::Citizen {
            assert_eq!(rated.author, Some(actor), "the author rates");
        } else {
            assert!(user.has_role(role), "{} may {t}: {user:?}", user.login);
        }
        steps.push(t);
    }
    assert_eq!(
        steps,
        [
            Transition::Accept,
            Transition::SendToExecution,
            Transition::SubmitForApproval,
            Transition::Approve,
            Transition::Rate,
        ],
        "{trail:#?}"
    );
}

/// With a relay in `[notify.smtp]`, `serve` sends the e-mails the workflow queued (the demo's
/// answered messages carry rating links) and records them as sent; without one they wait.
#[tokio::test]
async fn serve_sends_queued_emails_through_the_configured_relay() {
    use otklik_notify::testing::{FakeSmtp, Mode};

    let smtp = FakeSmtp::start(Mode::Accept).await;
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("otklik.toml");
    std::fs::write(
        &config,
        format!(
            "[notify]\npublic_url = \"https://otklik.example\"\nsend_every_seconds = 1\n\
             [notify.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\n\
             from = \"Отклик <noreply@otklik.example>\"\n",
            smtp.port()
        ),
    )
    .expect("config");
    let config = config.to_string_lossy().into_owned();
    let server = start_with(dir.path(), &["--config", &config]);
    // The demo queues «received» notices and answers with rating links; wait for both kinds.
    let has_link = |got: &[otklik_notify::testing::Received]| {
        got.iter()
            .any(|m| text_part(&m.data).contains("https://otklik.example/rate?"))
    };
    let mut got = Vec::new();
    for _ in 0..200 {
        got = smtp.messages();
        if has_link(&got) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!got.is_empty(), "no e-mail reached the relay");
    let answer = got
        .iter()
        .find(|m| text_part(&m.data).contains("https://otklik.example/rate?"))
        .unwrap_or_else(|| panic!("no rating link in {got:#?}"));
    assert!(answer.rcpt_to.contains('@'));
    drop(server);
    // The key signing the links was created once, privately.
    assert!(dir.path().join("rating.key").exists());
    let out = crate::support::run(
        otklik(dir.path())
            .args(["--config", &config])
            .args(["mail", "status"]),
    );
    let text = crate::support::text(&out);
    assert!(out.status.success(), "{text}");
    let sent: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("sent"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(sent >= 1, "{text}");
}

/// The decoded text/plain part of a MIME e-mail as lettre writes it (base64).
pub(crate) fn text_part(data: &str) -> String {
    use base64::Engine as _;
    let Some((_, rest)) = data.split_once("Content-Type: text/plain; charset=utf-8\r\n") else {
        return String::new();
    };
    let body = rest.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let body: String = body
        .split("\r\n--")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The JSON API of the running server: a token made by `otklik tokens create` submits a
/// message (idempotent on its key), reads it back; a revoked token is refused.
#[tokio::test]
async fn api_token_from_the_cli_submits_through_the_running_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(dir.path());
    let out = crate::support::run(otklik(dir.path()).args([
        "tokens",
        "create",
        "mobile-app",
        "--scope",
        "submit,read",
    ]));
    assert!(out.status.success(), "{}", crate::support::text(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(token.starts_with("otk_"), "{token}");

    let http = reqwest::Client::new();
    let body = serde_json::json!({
        "text": "Яма на дороге во дворе, машины повреждают колёса",
        "category": "roads.potholes",
        "territory": "seversk-tsentralny",
        "contact": "citizen@example.ru",
    });
    let post = || {
        http.post(format!("{}/api/v1/messages", server.base))
            .bearer_auth(&token)
            .header("Idempotency-Key", "app-1")
            .json(&body)
            .send()
    };
    let res = post().await.expect("post");
    assert_eq!(res.status().as_u16(), 201);
    let created: serde_json::Value = res.json().await.expect("json");
    let id = created["id"].as_i64().expect("id");
    let again: serde_json::Value = post().await.expect("post").json().await.expect("json");
    assert_eq!(again["id"].as_i64(), Some(id), "same key, same message");
    let got = http
        .get(format!("{}/api/v1/messages/{id}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(got.status().as_u16(), 200);

    let out = crate::support::run(otklik(dir.path()).args(["tokens", "revoke", "1"]));
    assert!(out.status.success(), "{}", crate::support::text(&out));
    let res = post().await.expect("post");
    assert_eq!(res.status().as_u16(), 401);
}

/// Out of the box (`serve --demo`, no `[citizen_oidc]`) the citizen pages work and say plainly
/// that sign-in is not configured; the rating page and uploads are wired.
#[tokio::test]
async fn serve_demo_citizen_pages_without_a_sign_in_provider() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(dir.path());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let get = |path: &str| http.get(format!("{}{path}", server.base)).send();
    let res = get("/widget/adm-seversk").await.expect("widget");
    assert_eq!(res.status(), 200);
    let page = res.text().await.expect("text");
    assert!(
        page.contains("вход через Госуслуги (ЕСИА) на сервере не настроен"),
        "{page}"
    );
    assert!(!page.contains("Войти через Госуслуги"), "{page}");
    let res = get("/citizen/login?next=/widget/adm-seversk")
        .await
        .expect("login");
    assert_eq!(res.status(), 503);
    assert!(res.text().await.expect("text").contains("не настроен"));
    let script = get("/widget.js").await.expect("script");
    assert_eq!(script.status(), 200);
    // The rating links are verified with the notifications' key: a forged link is refused
    // (not «rating is not configured»).
    let res = get("/rate?t=forged").await.expect("rate");
    assert_eq!(res.status(), 400);
    assert!(res.text().await.expect("text").contains("недействительна"));
    assert!(dir.path().join("attachments").is_dir());
    assert!(dir.path().join("rating.key").exists());
}

/// `[server] write_rate_per_minute` limits form submissions per client address: `429` with
/// `Retry-After` and a Russian page (one a minute: the second is refused however slow the
/// machine).
#[tokio::test]
async fn serve_limits_form_submissions_per_address() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("otklik.toml");
    std::fs::write(&config, "[server]\nwrite_rate_per_minute = 1\n").expect("config");
    let config = config.to_string_lossy().into_owned();
    let server = start_with(dir.path(), &["--config", &config]);
    let http = reqwest::Client::new();
    let post = || {
        http.post(format!("{}/rate", server.base))
            .form(&[("t", "forged"), ("rating", "5")])
            .send()
    };
    let first = post().await.expect("first");
    assert_eq!(first.status(), 400, "reaches the rating page's own checks");
    let second = post().await.expect("second");
    assert_eq!(second.status(), 429);
    let wait: u64 = second.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let page = second.text().await.expect("text");
    assert!(page.contains("Слишком много запросов"), "{page}");
    // Pages are still read.
    let res = http
        .get(format!("{}/widget/adm-seversk", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
}

/// A configured identity provider that does not answer stops the start with a clear error
/// naming the section.
#[tokio::test]
async fn serve_refuses_to_start_with_an_unreachable_sign_in_provider() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let config = dir.path().join("otklik.toml");
    std::fs::write(
        &config,
        format!(
            "[citizen_oidc]\nissuer = \"http://127.0.0.1:{port}\"\nclient_id = \"otklik\"\n\
             client_secret = \"very-secret-value\"\n"
        ),
    )
    .expect("config");
    let out = crate::support::run(
        otklik(dir.path())
            .args(["--config", &config.to_string_lossy()])
            .args(["serve", "--listen", "127.0.0.1:0", "--no-collect"]),
    );
    let text = crate::support::text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("[citizen_oidc]"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("very-secret-value"), "{text}");

    // A malformed table is refused before anything starts.
    std::fs::write(&config, "[citizen_oidc]\nclient_id = \"otklik\"\n").expect("config");
    let out = crate::support::run(
        otklik(dir.path())
            .args(["--config", &config.to_string_lossy()])
            .args(["serve", "--listen", "127.0.0.1:0"]),
    );
    let text = crate::support::text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("citizen_oidc.issuer is required"), "{text}");
}
