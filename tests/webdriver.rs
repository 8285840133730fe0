//! A small W3C WebDriver client for the browser tests: Debian's headless `chromium` driven
//! through `chromedriver` on loopback, over plain HTTP with reqwest (no browser download, no
//! extra dependency).
//!
//! [`Browser::start`] returns `None` (after a loud `SKIPPED browser` line) when chromedriver is
//! not installed, unless `OTKLIK_REQUIRE_BROWSER=1` (set by `scripts/test.sh` once it installed
//! the packages), when it panics instead. Screenshots go to `target/browser-artifacts/`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one headless chromium session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
    /// How long [`Browser::find`] and the other waits wait (10 s unless
    /// [`Browser::set_patience`]).
    patience: Duration,
}

/// A located element.
#[derive(Debug, Clone)]
pub struct Element(String);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Browser {
    /// Starts chromedriver and a headless chromium session, or `None` when the browser is not
    /// installed and not required.
    pub async fn start() -> Option<Browser> {
        let driver_bin = std::env::var("OTKLIK_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        let chromium =
            std::env::var("OTKLIK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        if !std::path::Path::new(&driver_bin).exists() || !std::path::Path::new(&chromium).exists()
        {
            assert!(
                std::env::var("OTKLIK_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "OTKLIK_REQUIRE_BROWSER=1 but {driver_bin} or {chromium} is missing"
            );
            eprintln!("SKIPPED browser: {driver_bin} or {chromium} not installed");
            return None;
        }
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--disable-dev-shm-usage", "--window-size=1280,900",
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                }
            }}
        });
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            http,
            _profile: profile,
            patience: Duration::from_secs(10),
        };
        let v = browser.call("POST", "/session", caps).await;
        browser.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_owned();
        Some(browser)
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let res = req.send().await.expect("webdriver request");
        let status = res.status();
        let v: Value = res.json().await.expect("webdriver json");
        assert!(
            status.is_success(),
            "webdriver {method} {path}: {status} {v}"
        );
        v["value"].clone()
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens a URL.
    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), json!({ "url": url }))
            .await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.call("GET", &self.s("/url"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page title.
    pub async fn title(&self) -> String {
        self.call("GET", &self.s("/title"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's HTML source.
    pub async fn source(&self) -> String {
        self.call("GET", &self.s("/source"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector, waiting up to 10 s for it.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + self.patience;
        loop {
            let url = format!("{}{}", self.base, self.s("/element"));
            let res = self
                .http
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .expect("webdriver request");
            if res.status().is_success() {
                let v: Value = res.json().await.expect("json");
                let id = v["value"][ELEMENT]
                    .as_str()
                    .unwrap_or_else(|| panic!("no element id in {v}"));
                return Element(id.to_owned());
            }
            assert!(
                Instant::now() < deadline,
                "no element {css:?} on {}:\n{}",
                self.url().await,
                self.source().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks an element.
    pub async fn click(&self, e: &Element) {
        self.call(
            "POST",
            &self.s(&format!("/element/{}/click", e.0)),
            json!({}),
        )
        .await;
    }

    /// Types text into an element.
    pub async fn type_text(&self, e: &Element, text: &str) {
        self.call(
            "POST",
            &self.s(&format!("/element/{}/value", e.0)),
            json!({ "text": text }),
        )
        .await;
    }

    /// Waits (up to the patience) until the first element matching `css` shows a text that
    /// contains `needle`, and returns that text. Reads through a script, so an element of the
    /// previous page replaced by a navigation in flight is never read stale.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + self.patience;
        let js = format!(
            "const e = document.querySelector({}); return e ? e.innerText : null;",
            serde_json::to_string(css).expect("css as JSON")
        );
        loop {
            let res = self
                .http
                .post(format!("{}{}", self.base, self.s("/execute/sync")))
                .json(&json!({ "script": js, "args": [] }))
                .send()
                .await;
            let seen = match res {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|v| v["value"].as_str().map(str::to_owned)),
                Err(_) => None,
            };
            if let Some(text) = seen.as_deref()
                && text.contains(needle)
            {
                return text.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no {css} containing {needle:?} (last seen: {seen:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of an element.
    pub async fn text(&self, e: &Element) -> String {
        self.call(
            "GET",
            &self.s(&format!("/element/{}/text", e.0)),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Switches into an iframe element (`None`: back to the top page).
    pub async fn frame(&self, e: Option<&Element>) {
        let id = match e {
            Some(e) => json!({ ELEMENT: e.0 }),
            None => Value::Null,
        };
        self.call("POST", &self.s("/frame"), json!({ "id": id }))
            .await;
    }

    /// Runs a script in the page and returns its value.
    pub async fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            json!({ "script": js, "args": [] }),
        )
        .await
    }

    /// Waits up to `patience` for elements, windows and URLs (long scenarios on a loaded
    /// machine).
    pub fn set_patience(&mut self, patience: Duration) {
        self.patience = patience;
    }

    /// The handle of the current window.
    pub async fn window(&self) -> String {
        self.call("GET", &self.s("/window"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The handles of every open window.
    pub async fn windows(&self) -> Vec<String> {
        self.call("GET", &self.s("/window/handles"), Value::Null)
            .await
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Switches to the window `handle`.
    pub async fn switch_to_window(&self, handle: &str) {
        self.call("POST", &self.s("/window"), json!({ "handle": handle }))
            .await;
    }

    /// Waits up to 10 s for a window not among `known` to open and switches to it.
    pub async fn switch_to_new_window(&self, known: &[String]) -> String {
        let deadline = Instant::now() + self.patience;
        loop {
            if let Some(h) = self
                .windows()
                .await
                .into_iter()
                .find(|h| !known.contains(h))
            {
                self.switch_to_window(&h).await;
                return h;
            }
            assert!(Instant::now() < deadline, "no new window opened");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to 10 s until the current URL contains `part`; the URL.
    pub async fn wait_for_url(&self, part: &str) -> String {
        let deadline = Instant::now() + self.patience;
        loop {
            let url = self.url().await;
            if url.contains(part) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the URL never contained {part:?}; at {url}:\n{}",
                self.source().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG screenshot as `target/browser-artifacts/NAME.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine as _;
        let v = self.call("GET", &self.s("/screenshot"), Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("screenshot base64");
        let dir = crate::support::root()
            .join("target")
            .join("browser-artifacts");
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the session so chromedriver closes chromium (a killed driver would orphan it).
        use std::io::{Read as _, Write as _};
        let addr = self.base.trim_start_matches("http://").to_owned();
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
                self.session
            );
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A tiny HTTP server on another loopback port serving `html` for every request: the site of
/// another origin that embeds a widget (an organisation's own site).
pub async fn host_site(html: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind host site");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tokio::io::AsyncReadExt::read(&mut conn, &mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let res = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = tokio::io::AsyncWriteExt::write_all(&mut conn, res.as_bytes()).await;
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut conn).await;
            });
        }
    });
    (format!("http://{addr}/"), task)
}
