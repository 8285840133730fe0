//! The acceptance scenario of the citizen side (issue 6) in a real browser against the real
//! `otklik serve --demo`: a page of an organisation's site on another origin embeds the widget
//! snippet; the citizen opens it, signs in through the identity provider (a fake OIDC provider
//! in this process) in the new window the widget opens, fills the form and sends it; the demo
//! staff take the message through the back-office (moderator accepts, coordinator sends to
//! execution, executor drafts the answer, head approves); the answer e-mail reaches the relay
//! (a fake SMTP server in this process) with its signed rating link, which the citizen opens
//! and rates 5. Screenshots of the key pages go to `target/browser-artifacts/scenario-*.png`.

use std::time::{Duration, Instant};

use otklik_domain::{MessageId, MessageStatus, Transition, User};
use otklik_notify::testing::{FakeSmtp, Mode};
use otklik_web::oidc::testing::{CLIENT_ID, CLIENT_SECRET, FakeProvider};

use crate::serve::{start_on, text_part};
use crate::webdriver::{Browser, host_site};

const DEMO_PASSWORD: &str = "otklik-demo-2026";
/// The organisation whose site embeds the widget.
const WIDGET_ORG: &str = "adm-seversk";
const COMPLAINT: &str = "Во дворе дома 12 на улице Ленина глубокая яма на проезде, машины повреждают колёса, просим заделать";
const ANSWER: &str = "Яма во дворе дома 12 по ул. Ленина заделана асфальтобетоном 25 ноября.";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Signs `login` in to the back-office (signing out whoever was signed in).
async fn office_sign_in(browser: &Browser, base: &str, login: &str) {
    browser.goto(&format!("{base}/office")).await;
    if browser
        .script("return !!document.querySelector(\"form[action='/logout'] button\")")
        .await
        == serde_json::Value::Bool(true)
    {
        browser
            .click(&browser.find("form[action='/logout'] button").await)
            .await;
        // The sign-out's navigation may still be in flight: ask for /office until it shows
        // the sign-in form.
        let started = std::time::Instant::now();
        loop {
            browser.goto(&format!("{base}/office")).await;
            if browser
                .script("return !!document.querySelector('input#login')")
                .await
                == serde_json::Value::Bool(true)
            {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "could not sign out before signing {login} in"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    browser
        .type_text(&browser.find("input#login").await, login)
        .await;
    browser
        .type_text(&browser.find("input#password").await, DEMO_PASSWORD)
        .await;
    browser
        .click(&browser.find("button[type=submit]").await)
        .await;
    // Wait for the signed-in page itself: an element found before the navigation finished
    // would be the sign-in page's (and stale when read).
    let started = std::time::Instant::now();
    while browser
        .script(
            "return document.readyState === 'complete' && !document.querySelector('input#login')",
        )
        .await
        != serde_json::Value::Bool(true)
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{login} could not sign in: {}",
            browser.source().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let h1 = browser.find("main h1, h1").await;
    assert!(!browser.text(&h1).await.is_empty());
    let page = browser.source().await;
    assert!(
        !page.contains("id=\"login\""),
        "{login} could not sign in: {page}"
    );
}

/// Opens the message's card and takes `action` through its form; the confirmation text.
async fn office_act(
    browser: &Browser,
    base: &str,
    id: MessageId,
    action: &str,
    fill: Option<(&str, &str)>,
    shot: &str,
) -> String {
    browser
        .goto(&format!("{base}/office/messages/{}", id.get()))
        .await;
    let form = format!("form.action input[name=action][value={action}]");
    browser.find(&form).await;
    if let Some((field, text)) = fill {
        let area = browser
            .find(&format!(
                "form.action input[name=action][value={action}] ~ p textarea[name={field}]"
            ))
            .await;
        browser.type_text(&area, text).await;
    }
    browser.screenshot(&format!("{shot}-card")).await;
    browser
        .click(&browser.find(&format!("{form} ~ button[type=submit]")).await)
        .await;
    let done = browser.find("p.ok[role=status]").await;
    let text = browser.text(&done).await;
    assert!(text.contains("Выполнено"), "{action}: {text}");
    browser.screenshot(shot).await;
    text
}

/// The demo account that may take `t` on the message now: preferring staff of its executor.
async fn actor(store: &otklik_store::Store, id: MessageId, t: Transition) -> (User, MessageStatus) {
    let record = store
        .message_record(id)
        .await
        .expect("record")
        .expect("the message");
    let organisations = store.organisations().await.expect("organisations");
    let tsur = organisations
        .iter()
        .find(|o| o.code == "tsur")
        .expect("the ЦУР")
        .id;
    let orgs = otklik_workflow::OrgTree::new(&organisations).with_oversight([tsur]);
    let users = store.users().await.expect("users");
    let allowed =
        |u: &&User| u.confirmed && otklik_workflow::may_act(u, t, &record.message, &orgs).is_ok();
    let user = users
        .iter()
        .filter(allowed)
        .find(|u| u.organisation.is_some() && u.organisation == record.message.executor)
        .or_else(|| users.iter().find(allowed))
        .unwrap_or_else(|| panic!("no demo user may {t} message {id}: {record:#?}"))
        .clone();
    (user, record.message.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_widget_to_rating_in_chromium() {
    let Some(mut browser) = Browser::start().await else {
        return;
    };
    // Sign-in round trips and e-mails on a loaded machine: wait longer than page tests do.
    browser.set_patience(Duration::from_secs(30));
    let provider = FakeProvider::start().await;
    let smtp = FakeSmtp::start(Mode::Accept).await;
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("otklik.toml");
    std::fs::write(
        &config,
        format!(
            "[notify]\npublic_url = \"{base}\"\nsend_every_seconds = 1\n\
             [notify.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"plain\"\n\
             from = \"Отклик <noreply@otklik.example>\"\n\
             [citizen_oidc]\nprovider = \"test\"\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\n\
             redirect_url = \"{base}/citizen/callback\"\n",
            smtp_port = smtp.port(),
            issuer = provider.issuer(),
        ),
    )
    .expect("config");
    let config = config.to_string_lossy().into_owned();
    // The client secret comes from the environment, as in production.
    let server = start_on(
        dir.path(),
        &["--config", &config],
        &format!("127.0.0.1:{port}"),
        &[("OTKLIK_CITIZEN_OIDC__CLIENT_SECRET", CLIENT_SECRET)],
    );
    assert_eq!(server.base, base);

    // 1. The organisation's site, on another origin, embeds the snippet.
    let (site, _site_task) = host_site(format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\">\
         <title>Администрация города Северска</title></head><body>\
         <h1>Администрация города Северска</h1><p>Есть проблема в городе? Сообщите нам:</p>\
         <script src=\"{base}/widget.js\" data-organisation=\"{WIDGET_ORG}\" async></script>\
         </body></html>"
    ))
    .await;
    assert!(!site.starts_with(&base));
    browser.goto(&site).await;
    let button = browser.find("button.otklik-widget-button").await;
    assert_eq!(browser.text(&button).await, "Сообщить о проблеме");
    browser.screenshot("scenario-01-site-with-widget").await;
    browser.click(&button).await;
    let frame = browser.find("iframe.otklik-widget-frame").await;
    browser.screenshot("scenario-02-widget-open").await;
    browser.frame(Some(&frame)).await;
    let sign_in = browser.find("a#sign-in").await;
    assert_eq!(browser.text(&sign_in).await, "Войти через Госуслуги");

    // 2. The sign-in opens in a new window: provider → callback → the form.
    let site_window = browser.window().await;
    let known = browser.windows().await;
    browser.click(&sign_in).await;
    let form_window = browser.switch_to_new_window(&known).await;
    assert_ne!(form_window, site_window);
    browser
        .wait_for_url(&format!("{base}/widget/{WIDGET_ORG}"))
        .await;
    let form = browser.find("form.widget-form").await;
    let who = browser.text(&browser.find("main p").await).await;
    assert!(who.contains("Иванова Мария Петровна"), "{who}");
    assert_eq!(provider.tokens_issued(), 1);
    let _ = form;

    // 3. The form: subcategory (inside its category's disclosure), text, territory, address.
    let nth = browser
        .script(
            "const i = document.querySelector(\"input[name=subcategory][value='roads.potholes']\");\
             return Array.from(document.querySelectorAll('fieldset details')).indexOf(i.closest('details')) + 1;",
        )
        .await
        .as_i64()
        .expect("the category's position");
    assert!(nth >= 1);
    browser
        .click(
            &browser
                .find(&format!("fieldset details:nth-of-type({nth}) > summary"))
                .await,
        )
        .await;
    browser
        .click(
            &browser
                .find("input[name=subcategory][value='roads.potholes']")
                .await,
        )
        .await;
    browser
        .type_text(&browser.find("textarea#text").await, COMPLAINT)
        .await;
    let territory = browser
        .script(
            "const o = Array.from(document.querySelectorAll('select#territory option'))\
             .find(o => o.textContent === 'Центральный район города Северска'); return o ? o.value : '';",
        )
        .await;
    let territory = territory.as_str().expect("territory id").to_owned();
    assert!(!territory.is_empty(), "the demo territory is offered");
    browser
        .click(
            &browser
                .find(&format!("select#territory option[value='{territory}']"))
                .await,
        )
        .await;
    browser
        .type_text(&browser.find("input#address").await, "ул. Ленина, 12")
        .await;
    browser.screenshot("scenario-03-form-filled").await;
    browser
        .click(&browser.find("form.widget-form button[type=submit]").await)
        .await;
    let sent_url = browser
        .wait_for_url(&format!("/widget/{WIDGET_ORG}/sent/"))
        .await;
    let ok = browser.find("p.ok[role=status]").await;
    let ok_text = browser.text(&ok).await;
    assert!(ok_text.contains("зарегистрировано"), "{ok_text}");
    let id: i64 = sent_url
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id in {sent_url}"));
    let id = MessageId(id);
    assert!(ok_text.contains(&format!("№ {}", id.get())), "{ok_text}");
    browser.screenshot("scenario-04-sent").await;

    // The message is the citizen's, from the widget of the site's organisation.
    let store = otklik_store::Store::open_data_dir(dir.path())
        .await
        .expect("open the store");
    let record = store
        .message_record(id)
        .await
        .expect("record")
        .expect("registered");
    assert_eq!(record.message.status, MessageStatus::Moderation);
    assert_eq!(record.message.subcategory.0, "roads.potholes");
    assert_eq!(record.message.text, COMPLAINT);
    let via = store
        .organisation_by_code(WIDGET_ORG)
        .await
        .expect("org")
        .expect("exists");
    assert_eq!(record.message.submitted_via, Some(via.id));

    // The citizen sees it on their own page.
    browser.goto(&format!("{base}/my/messages")).await;
    let mine = browser.source().await;
    assert!(
        mine.contains(&format!("/my/messages/{}", id.get())),
        "{mine}"
    );
    browser.screenshot("scenario-05-my-messages").await;

    // 4. Moderation by the demo moderator and curator of the ЦУР.
    let moderator = "kuznetsov.dv";
    office_sign_in(&browser, &base, moderator).await;
    browser.screenshot("scenario-06-office-dashboard").await;
    office_act(&browser, &base, id, "accept", None, "scenario-07-accepted").await;

    // 5. Coordination, if the workflow asks for it, by the executor's coordinator.
    let status = store
        .message_record(id)
        .await
        .expect("record")
        .expect("exists")
        .message
        .status;
    if status == MessageStatus::Coordination {
        let (coordinator, _) = actor(&store, id, Transition::SendToExecution).await;
        office_sign_in(&browser, &base, &coordinator.login).await;
        office_act(
            &browser,
            &base,
            id,
            "send_to_execution",
            None,
            "scenario-08-sent-to-execution",
        )
        .await;
    }
    let status = store
        .message_record(id)
        .await
        .expect("record")
        .expect("exists")
        .message
        .status;
    assert_eq!(status, MessageStatus::Execution);

    // 6. The executor drafts the answer.
    let (executor, _) = actor(&store, id, Transition::SubmitForApproval).await;
    office_sign_in(&browser, &base, &executor.login).await;
    office_act(
        &browser,
        &base,
        id,
        "submit_for_approval",
        Some(("answer", ANSWER)),
        "scenario-09-answer-drafted",
    )
    .await;

    // 7. The head approves: the answer goes to the citizen.
    let (head, status) = actor(&store, id, Transition::Approve).await;
    assert_eq!(status, MessageStatus::Approval);
    office_sign_in(&browser, &base, &head.login).await;
    office_act(&browser, &base, id, "approve", None, "scenario-10-approved").await;
    let record = store
        .message_record(id)
        .await
        .expect("record")
        .expect("exists");
    assert_eq!(record.message.status, MessageStatus::Answered);

    // 8. The answer e-mail with the signed rating link reaches the citizen's address.
    let deadline = Instant::now() + Duration::from_secs(60);
    let link = loop {
        let found = smtp.messages().into_iter().find_map(|m| {
            let text = text_part(&m.data);
            if !m.rcpt_to.contains("maria.ivanova@example.ru") || !text.contains(ANSWER) {
                return None;
            }
            text.split_whitespace()
                .find(|w| w.starts_with(&format!("{base}/rate?t=")))
                .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
        });
        if let Some(l) = found {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "no answer e-mail with a rating link: {:#?}",
            smtp.messages()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // 9. The citizen opens the link and rates 5.
    browser.goto(&link).await;
    let h1 = browser.text(&browser.find("h1").await).await;
    assert!(h1.contains(&format!("№ {}", id.get())), "{h1}");
    assert!(browser.source().await.contains(ANSWER));
    browser.screenshot("scenario-11-rating-form").await;
    browser
        .click(&browser.find("input[name=rating][value='5']").await)
        .await;
    browser
        .click(
            &browser
                .find("form[action='/rate'] button[type=submit]")
                .await,
        )
        .await;
    let thanks = browser.wait_text("h1", "Спасибо за оценку").await;
    assert_eq!(thanks, "Спасибо за оценку");
    let note = browser.wait_text("p.notice", "5 из 5").await;
    assert!(note.contains("5 из 5"), "{note}");
    browser.screenshot("scenario-12-rated").await;

    // The citizen's page shows the answer and the rating; the store agrees.
    browser
        .goto(&format!("{base}/my/messages/{}", id.get()))
        .await;
    let page = browser.source().await;
    assert!(page.contains(ANSWER), "{page}");
    assert!(page.contains("5 из 5"), "{page}");
    browser.screenshot("scenario-13-my-message-rated").await;
    let record = store
        .message_record(id)
        .await
        .expect("record")
        .expect("exists");
    assert_eq!(record.message.status, MessageStatus::Rated);
    assert_eq!(record.message.rating, Some(5));
    // The link works once.
    browser.goto(&link).await;
    let again = browser.text(&browser.find("p.notice").await).await;
    assert!(again.contains("уже использована"), "{again}");
    store.close().await;
}
