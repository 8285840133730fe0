//! The poll widget in a real browser against the real `otklik serve --demo` (with
//! `[citizen_oidc]` pointing at a fake OIDC provider in this process): a page of an
//! organisation's site on another loopback origin embeds `/polls/widget.js`; the citizen opens
//! the sign-in from the framed poll, signs in through the provider in the new window, votes
//! there; the framed poll then knows the vote, and the public results page shows it.
//! Screenshots go to `target/browser-artifacts/polls-*.png`.

use otklik_domain::directory::{DirectoryBatch, NewRoleGrant, NewUser};
use otklik_domain::{PollId, PollKind, ResultsVisibility, Role, Timestamp};
use otklik_polls::{Polls, PollsConfig, VoterKey};
use otklik_store::{NewPollOption, PollDraft, Store, sqlite_url};
use otklik_web::oidc::testing::{CLIENT_ID, CLIENT_SECRET, FakeProvider};

use crate::serve::start_on;
use crate::webdriver::{Browser, host_site};

/// The organisation whose site embeds the poll.
const ORG: &str = "adm-seversk";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    Timestamp(i64::try_from(ms).expect("ms"))
}

fn staff(login: &str, role: Role) -> NewUser {
    NewUser {
        login: login.into(),
        full_name: format!("Сотрудник {login}"),
        email: None,
        organisation_code: Some(ORG.into()),
        confirmed: true,
        roles: vec![NewRoleGrant {
            role,
            organisation_code: ORG.into(),
        }],
    }
}

/// A published single-choice poll of [`ORG`], written through `otklik-polls` into the
/// server's database with the server's voter-hash key; its id and option ids.
async fn publish_poll(data_dir: &std::path::Path) -> (PollId, Vec<otklik_domain::PollOptionId>) {
    let store = Store::connect(&sqlite_url(&data_dir.join("otklik.db")))
        .await
        .expect("db");
    let batch = DirectoryBatch {
        users: vec![
            staff("poll-manager-test", Role::PollManager),
            staff("poll-moderator-test", Role::Moderator),
        ],
        ..DirectoryBatch::default()
    };
    store
        .import_directory(&batch, None, now())
        .await
        .expect("staff");
    let manager = store
        .user_by_login("poll-manager-test")
        .await
        .expect("q")
        .expect("manager");
    let moderator = store
        .user_by_login("poll-moderator-test")
        .await
        .expect("q")
        .expect("moderator");
    let org = store
        .organisation_by_code(ORG)
        .await
        .expect("q")
        .expect("the demo organisation")
        .id;
    let key = std::fs::read(data_dir.join("poll.key")).expect("serve created poll.key");
    let polls = Polls::new(
        store.clone(),
        PollsConfig::new(VoterKey::new(key).expect("key")),
    );
    let t = now();
    let draft = PollDraft {
        organisation: org,
        title: "Какой двор благоустроить в 2026 году?".into(),
        description: "Голосование жителей Северска.".into(),
        kind: PollKind::SingleChoice,
        topic: Some("improvement".into()),
        territory: None,
        min_age: None,
        starts_at: Timestamp(t.millis() - 60_000),
        ends_at: t.plus_days(7),
        min_choices: None,
        max_choices: None,
        budget_cap: None,
        max_text_chars: None,
        allow_revote: true,
        results: ResultsVisibility::Live,
        settings: "{}".into(),
        options: ["Двор на улице Ленина, 12", "Сквер у школы № 3"]
            .iter()
            .map(|l| NewPollOption {
                label: (*l).into(),
                description: String::new(),
                cost: None,
            })
            .collect(),
    };
    let poll = polls.create(&draft, &manager, t).await.expect("create");
    polls
        .submit(poll.poll.id, &manager, t)
        .await
        .expect("submit");
    polls
        .approve(poll.poll.id, &moderator, t)
        .await
        .expect("approve");
    let options = poll.options.iter().map(|o| o.id).collect();
    drop(polls);
    store.close().await;
    (poll.poll.id, options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_votes_through_the_embedded_poll_widget_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let provider = FakeProvider::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("otklik.toml");
    std::fs::write(
        &config,
        format!(
            "[citizen_oidc]\nprovider = \"test\"\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\n\
             redirect_url = \"{base}/citizen/callback\"\n",
            issuer = provider.issuer(),
        ),
    )
    .expect("config");
    let config = config.to_string_lossy().into_owned();
    let server = start_on(
        dir.path(),
        &["--config", &config],
        &format!("127.0.0.1:{port}"),
        &[("OTKLIK_CITIZEN_OIDC__CLIENT_SECRET", CLIENT_SECRET)],
    );
    assert_eq!(server.base, base);
    let (id, options) = publish_poll(dir.path()).await;

    // 1. The organisation's site on another origin embeds the poll.
    let (site, _site_task) = host_site(format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\">\
         <title>Администрация города Северска</title></head><body>\
         <h1>Администрация города Северска</h1><p>Примите участие в голосовании:</p>\
         <script src=\"{base}/polls/widget.js\" data-poll=\"{id}\" async></script>\
         </body></html>"
    ))
    .await;
    assert!(!site.starts_with(&base));
    browser.goto(&site).await;
    let frame = browser.find("iframe.otklik-poll-frame").await;
    browser.screenshot("polls-01-site-with-poll").await;
    browser.frame(Some(&frame)).await;
    let title = browser.text(&browser.find("main h1").await).await;
    assert_eq!(title, "Какой двор благоустроить в 2026 году?");
    let sign_in = browser.find("a#sign-in").await;
    assert_eq!(browser.text(&sign_in).await, "Войти через Госуслуги");

    // 2. Sign-in in a new window: provider → callback → the poll there.
    let site_window = browser.window().await;
    let known = browser.windows().await;
    browser.click(&sign_in).await;
    let poll_window = browser.switch_to_new_window(&known).await;
    assert_ne!(poll_window, site_window);
    browser
        .wait_for_url(&format!("{base}/widget/poll/{id}"))
        .await;
    browser.find("form.poll-ballot").await;
    assert_eq!(provider.tokens_issued(), 1);
    browser.screenshot("polls-02-ballot").await;

    // 3. The vote, with the keyboard-reachable radio and button.
    browser
        .click(
            &browser
                .find(&format!("input[name=option][value='{}']", options[1]))
                .await,
        )
        .await;
    browser.click(&browser.find("button#vote").await).await;
    let done = browser.find("p#vote-result[role=status]").await;
    assert!(
        browser.text(&done).await.contains("Ваш голос учтён"),
        "{}",
        browser.source().await
    );
    browser.screenshot("polls-03-voted").await;

    // 4. Back on the site: the framed poll, refreshed, knows the vote (re-vote allowed).
    browser.switch_to_window(&site_window).await;
    browser.goto(&site).await;
    let frame = browser.find("iframe.otklik-poll-frame").await;
    browser.frame(Some(&frame)).await;
    let voted = browser.find("p#voted").await;
    assert!(
        browser.text(&voted).await.contains("Вы уже проголосовали"),
        "{}",
        browser.source().await
    );
    browser.screenshot("polls-04-frame-after-vote").await;
    browser.frame(None).await;

    // 5. The public results page shows the vote, as a chart and as a table.
    browser.goto(&format!("{base}/polls/{id}/results")).await;
    let turnout = browser.find("strong#turnout").await;
    assert_eq!(browser.text(&turnout).await, "1");
    let page = browser.source().await;
    assert!(
        page.contains("<svg") && page.contains("role=\"img\""),
        "{page}"
    );
    let row = browser
        .script(
            "const r = Array.from(document.querySelectorAll('table.results-table tbody tr'))\
             .find(r => r.textContent.includes('Сквер у школы № 3'));\
             return r ? r.children[2].textContent : '';",
        )
        .await;
    assert_eq!(row, serde_json::Value::String("1".into()), "{page}");
    browser.screenshot("polls-05-results").await;
}
