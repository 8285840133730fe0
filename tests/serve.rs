//! `otklik serve --demo`: real HTTP on loopback against a real SQLite file.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::support::otklik;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Server {
    let mut child = otklik(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--demo"])
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
