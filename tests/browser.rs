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

/// A demo moderator signs in, opens the moderation queue, opens the message and accepts it —
/// the form posts with its CSRF token and the page confirms; screenshots of each page.
#[tokio::test]
async fn moderator_signs_in_and_accepts_a_message_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_demo(dir.path());
    browser.goto(&format!("{}/office", server.base)).await;
    // Not signed in: the sign-in form.
    let login = browser.find("input#login").await;
    browser.screenshot("office-login").await;
    browser.type_text(&login, "kuznetsov.dv").await;
    let password = browser.find("input#password").await;
    browser.type_text(&password, "otklik-demo-2026").await;
    browser
        .click(&browser.find("button[type=submit]").await)
        .await;
    let h1 = browser.find("main h1, h1").await;
    assert!(!browser.text(&h1).await.is_empty());
    assert!(
        browser.url().await.contains("/office"),
        "{}",
        browser.url().await
    );
    browser.screenshot("office-dashboard").await;

    browser
        .goto(&format!("{}/office/queue/moderation", server.base))
        .await;
    let first = browser.find("a[href^='/office/messages/']").await;
    browser.screenshot("office-moderation-queue").await;
    browser.click(&first).await;
    let accept = browser
        .find("form.action input[name=action][value=accept] ~ button[type=submit]")
        .await;
    browser.screenshot("office-message-card").await;
    browser.click(&accept).await;
    let done = browser.find("p.ok[role=status]").await;
    assert!(browser.text(&done).await.contains("Выполнено"));
    browser.screenshot("office-message-accepted").await;
}
