//! Browser tests: Debian's headless chromium through chromedriver against `otklik serve`.

use crate::serve::start_demo;
use crate::webdriver::Browser;

/// The status page renders in a real browser in Russian, and the security headers do not
/// break it.
#[tokio::test]
async fn status_page_renders_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_demo(dir.path());
    browser.goto(&format!("{}/", server.base)).await;
    let title = browser.title().await;
    assert!(title.contains("Отклик"), "{title}");
    let lang = browser.script("return document.documentElement.lang").await;
    assert_eq!(lang, "ru");
    let h1 = browser.find("h1").await;
    assert!(!browser.text(&h1).await.is_empty());
    let shot = browser.screenshot("status-page").await;
    assert!(std::fs::metadata(&shot).expect("screenshot").len() > 1000);
}
