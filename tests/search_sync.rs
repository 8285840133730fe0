//! `otklik serve --demo` keeps the archive index in step with the store: a message submitted
//! through `/api/v1` is found on `/office/search` (signed in as the demo curator) within 2 s.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::serve::start_demo;
use crate::support::{otklik, run, text};

/// A browser-like client: keeps cookies, follows no redirects.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().expect("cookie");
            if let Some((name, value)) = v.split(';').next().and_then(|p| p.split_once('=')) {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("get");
        self.absorb(&res);
        (res.status().as_u16(), res.text().await.expect("body"))
    }

    async fn login(&mut self, login: &str, password: &str) {
        let (status, form) = self.get("/login").await;
        assert_eq!(status, 200);
        let needle = "name=\"_csrf\" value=\"";
        let start = form.find(needle).expect("csrf field") + needle.len();
        let csrf = &form[start..start + form[start..].find('"').expect("end")];
        let res = self
            .http
            .post(format!("{}/login", self.base))
            .header("cookie", self.cookie_header())
            .form(&[("_csrf", csrf), ("login", login), ("password", password)])
            .send()
            .await
            .expect("login");
        self.absorb(&res);
        assert_eq!(res.status().as_u16(), 303, "sign-in of {login}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_message_is_searchable_on_the_office_page_within_two_seconds() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_demo(dir.path());
    let out =
        run(otklik(dir.path()).args(["tokens", "create", "mobile-app", "--scope", "submit,read"]));
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();

    let mut curator = Browser::new(&server.base);
    curator.login("kuznetsov.dv", "otklik-demo-2026").await;
    // The demo archive is indexed at start: the search page answers with hits.
    let started = Instant::now();
    loop {
        let (status, page) = curator.get("/office/search?q=%D1%8F%D0%BC%D0%B0").await; // «яма»
        assert_eq!(status, 200, "{page}");
        if !page.contains("Найдено: 0 ") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the demo archive was not indexed: {page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A word no demo text has.
    let body = serde_json::json!({
        "text": "Прорвало трубу-водовод, затопило подвал: гидроудар и вода по щиколотку",
        "category": "roads.potholes",
        "territory": "seversk-tsentralny",
        "contact": "citizen@example.ru",
    });
    let (status, page) = curator.get("/office/search?q=гидроудар").await;
    assert_eq!(status, 200);
    assert!(page.contains("Найдено: 0 "), "not there before: {page}");
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/messages", server.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "search-sync-1")
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 201);
    let submitted = Instant::now();
    let created: serde_json::Value = res.json().await.expect("json");
    let id = created["id"].as_i64().expect("id");
    let card = format!("href=\"/office/messages/{id}\"");
    loop {
        // «гидроудара»: any word form.
        let (status, page) = curator.get("/office/search?q=гидроудара").await;
        assert_eq!(status, 200);
        if page.contains(&card) {
            assert!(page.contains("<mark>гидроудар</mark>"), "{page}");
            break;
        }
        assert!(
            submitted.elapsed() <= Duration::from_secs(2),
            "message {id} not searchable within 2 s: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = submitted.elapsed();
    assert!(took <= Duration::from_secs(2), "took {took:?}");
    eprintln!(
        "message {id} searchable {} ms after its submission",
        took.as_millis()
    );

    // Beside the running server (which holds the index writer), the CLI reads the index as the
    // server keeps it: `otklik search` finds the message, and a cron job's
    // `otklik searches check` works without `--no-sync`.
    let out = run(otklik(dir.path()).args(["search", "гидроудар"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("гидроудар"), "{}", text(&out));
    let out = run(otklik(dir.path()).args([
        "searches",
        "add",
        "водовод",
        "гидроудар",
        "--email",
        "analyst@example.ru",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(otklik(dir.path()).args(["searches", "check"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 saved searches checked"),
        "{}",
        text(&out)
    );
}
