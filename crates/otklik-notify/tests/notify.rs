//! The outbox sender against a fake SMTP server on loopback, and rating links against the
//! database — every store-backed test on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

#[macro_use]
extern crate otklik_store;

use std::collections::HashSet;
use std::time::Duration;

use otklik_domain::{Channel, MessageId, NewMessage, SubcategoryId, Timestamp};
use otklik_notify::testing::{FakeSmtp, Mode};
use otklik_notify::{
    AnswerReady, Backoff, Mailer, MessageReceived, OutboxSender, RatingLinkError, RatingLinks,
    Secret, SmtpConfig, SmtpSecurity,
};
use otklik_store::{EmailStatus, NewEmail, Store};

const NOW: Timestamp = Timestamp(1_741_964_400_000);

// The two-backend harness: `otklik_store::testing` (`both_backends!`).

// ---- helpers ----

fn at(secs: i64) -> Timestamp {
    Timestamp(NOW.millis() + secs * 1_000)
}

fn mailer(smtp: &FakeSmtp, timeout: Duration) -> Mailer {
    let mut config = SmtpConfig::plain("127.0.0.1", smtp.port(), "Отклик <noreply@otklik.test>");
    config.timeout = timeout;
    Mailer::new(&config).unwrap()
}

fn no_jitter() -> Backoff {
    Backoff {
        base: Duration::from_secs(60),
        max: Duration::from_secs(600),
        jitter_percent: 0,
    }
}

fn email(key: &str, recipient: &str) -> NewEmail {
    MessageReceived {
        citizen_name: Some("Мария"),
        message: MessageId(1),
        text: "Яма <во дворе> & лужа",
        deadline: NOW.plus_days(30),
        utc_offset_minutes: 180,
        status_url: Some("https://otklik.test/m/1"),
    }
    .render()
    .into_new_email(key, None, recipient, 3)
}

async fn message(store: &Store) -> MessageId {
    let new = NewMessage {
        channel: Channel::Widget,
        subcategory: SubcategoryId("roads.potholes".into()),
        territory: None,
        executor: None,
        submitted_via: None,
        author: None,
        author_handle: None,
        source_post: None,
        text: "Яма во дворе".into(),
        address: None,
        confidence_pm: None,
        deadline_at: NOW.plus_days(30),
    };
    store
        .create_message(&new, None, None, NOW)
        .await
        .unwrap()
        .id
}

both_backends!(
    due_emails_are_sent_once_and_recorded,
    transient_failures_retry_with_backoff,
    a_hanging_server_times_out_and_is_retried,
    permanent_failures_become_dead_letters,
    exhausted_attempts_become_dead_letters,
    two_concurrent_senders_send_each_email_once,
    rating_links_are_redeemed_once,
);

async fn due_emails_are_sent_once_and_recorded(store: Store) {
    let smtp = FakeSmtp::start(Mode::Accept).await;
    let sender = OutboxSender::new(store.clone(), mailer(&smtp, Duration::from_secs(5)), "s1");
    let mut ids = Vec::new();
    for i in 0..3 {
        let e = store
            .enqueue_email(&email(&format!("k{i}"), &format!("c{i}@example.org")), NOW)
            .await
            .unwrap();
        ids.push(e.id);
    }
    let later = store
        .enqueue_email(&email("later", "later@example.org"), at(3_600))
        .await
        .unwrap();
    let report = sender.send_due(at(1)).await.unwrap();
    assert_eq!((report.sent, report.retried, report.dead), (3, 0, 0));
    let got = smtp.messages();
    assert_eq!(got.len(), 3);
    let rcpts: HashSet<_> = got.iter().map(|m| m.rcpt_to.clone()).collect();
    assert_eq!(
        rcpts,
        ["c0@example.org", "c1@example.org", "c2@example.org"]
            .map(String::from)
            .into()
    );
    for m in &got {
        assert_eq!(m.mail_from, "noreply@otklik.test");
        assert!(m.data.contains("Message-ID: <otklik."), "{}", m.data);
        assert!(m.data.contains("text/html"), "an HTML alternative");
        assert!(m.data.contains("text/plain"));
    }
    for id in ids {
        let e = store.email(id).await.unwrap().unwrap();
        assert_eq!(e.status, EmailStatus::Sent);
        assert!(e.sent_at.is_some());
    }
    // Nothing more is due; the later one waits for its time.
    assert_eq!(sender.send_due(at(2)).await.unwrap().sent, 0);
    assert_eq!(smtp.messages().len(), 3);
    assert_eq!(sender.send_due(at(3_600)).await.unwrap().sent, 1);
    assert_eq!(
        store.email(later.id).await.unwrap().unwrap().status,
        EmailStatus::Sent
    );
}

async fn transient_failures_retry_with_backoff(store: Store) {
    let smtp = FakeSmtp::start(Mode::Accept).await;
    smtp.plan([Mode::FailTransient]);
    let sender = OutboxSender::new(store.clone(), mailer(&smtp, Duration::from_secs(5)), "s1")
        .with_backoff(no_jitter());
    let e = store
        .enqueue_email(&email("k", "c@example.org"), NOW)
        .await
        .unwrap();
    let r = sender.send_due(NOW).await.unwrap();
    assert_eq!((r.sent, r.retried), (0, 1));
    let stored = store.email(e.id).await.unwrap().unwrap();
    assert_eq!(stored.status, EmailStatus::Pending);
    assert!(
        stored.last_error.as_deref().unwrap().contains("451"),
        "{stored:?}"
    );
    // First retry after the base delay (60 s) from the failure.
    assert!(stored.next_attempt_at.millis() >= NOW.millis() + 60_000);
    assert_eq!(sender.send_due(at(30)).await.unwrap().sent, 0);
    let r = sender.send_due(stored.next_attempt_at).await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(
        smtp.messages().len(),
        1,
        "the failed transfer was not recorded"
    );
    let stored = store.email(e.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.attempts), (EmailStatus::Sent, 2));
}

async fn a_hanging_server_times_out_and_is_retried(store: Store) {
    let smtp = FakeSmtp::start(Mode::Accept).await;
    smtp.plan([Mode::Hang]);
    let sender = OutboxSender::new(
        store.clone(),
        mailer(&smtp, Duration::from_millis(500)),
        "s1",
    )
    .with_backoff(no_jitter());
    let e = store
        .enqueue_email(&email("k", "c@example.org"), NOW)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let r = sender.send_due(NOW).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.retried, 1);
    let stored = store.email(e.id).await.unwrap().unwrap();
    assert_eq!(stored.status, EmailStatus::Pending);
    assert!(
        stored.last_error.as_deref().unwrap().contains("no answer"),
        "{stored:?}"
    );
    let r = sender.send_due(stored.next_attempt_at).await.unwrap();
    assert_eq!(r.sent, 1);
}

async fn permanent_failures_become_dead_letters(store: Store) {
    let smtp = FakeSmtp::start(Mode::RejectRecipient).await;
    let sender = OutboxSender::new(store.clone(), mailer(&smtp, Duration::from_secs(5)), "s1");
    let e = store
        .enqueue_email(&email("k", "nobody@example.org"), NOW)
        .await
        .unwrap();
    let r = sender.send_due(NOW).await.unwrap();
    assert_eq!((r.sent, r.retried, r.dead), (0, 0, 1));
    let stored = store.email(e.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.attempts), (EmailStatus::Dead, 1));
    assert!(stored.last_error.unwrap().contains("550"));
    assert_eq!(
        sender.send_due(at(100_000)).await.unwrap(),
        Default::default()
    );
}

async fn exhausted_attempts_become_dead_letters(store: Store) {
    let smtp = FakeSmtp::start(Mode::FailTransient).await;
    let sender = OutboxSender::new(store.clone(), mailer(&smtp, Duration::from_secs(5)), "s1")
        .with_backoff(no_jitter());
    let e = store
        .enqueue_email(&email("k", "c@example.org"), NOW)
        .await
        .unwrap();
    let mut now = NOW;
    for attempt in 1..=3 {
        let r = sender.send_due(now).await.unwrap();
        let stored = store.email(e.id).await.unwrap().unwrap();
        assert_eq!(stored.attempts, attempt);
        if attempt < 3 {
            assert_eq!(r.retried, 1);
            assert_eq!(stored.status, EmailStatus::Pending);
            // 60 s, then 120 s.
            assert!(
                stored.next_attempt_at.millis() - now.millis() >= 60_000 * (1 << (attempt - 1))
            );
            now = stored.next_attempt_at;
        } else {
            assert_eq!(r.dead, 1);
            assert_eq!(stored.status, EmailStatus::Dead);
        }
    }
    assert!(smtp.messages().is_empty());
    assert_eq!(smtp.connections(), 3);
}

async fn two_concurrent_senders_send_each_email_once(store: Store) {
    const EMAILS: usize = 30;
    let smtp = FakeSmtp::start(Mode::Accept).await;
    for i in 0..EMAILS {
        store
            .enqueue_email(&email(&format!("k{i}"), &format!("c{i}@example.org")), NOW)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for s in 0..2 {
        let sender = OutboxSender::new(
            store.clone(),
            mailer(&smtp, Duration::from_secs(5)),
            format!("sender-{s}"),
        )
        .with_batch(2);
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let r = sender.send_due(at(1)).await.unwrap();
                assert_eq!(r.lost_lease, 0);
                if r.sent == 0 {
                    break sent;
                }
                sent += r.sent;
            }
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, EMAILS);
    let got = smtp.messages();
    assert_eq!(got.len(), EMAILS, "each e-mail reached the server once");
    let distinct: HashSet<_> = got.iter().map(|m| m.rcpt_to.clone()).collect();
    assert_eq!(distinct.len(), EMAILS);
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.sent, counts.pending), (EMAILS as i64, 0));
}

async fn rating_links_are_redeemed_once(store: Store) {
    let msg = message(&store).await;
    let links = RatingLinks::new(&[9u8; 32], "https://otklik.test/rate").unwrap();
    let expires = at(3_600);
    let token = links.token(msg, expires);

    // The answer e-mail carries the link.
    let answer = AnswerReady {
        citizen_name: None,
        message: msg,
        organisation: "Администрация",
        answer: "Сделано",
        rating_url: &links.link(msg, expires),
        rating_expires_at: expires,
        utc_offset_minutes: 180,
    }
    .render();
    assert!(answer.text.contains(&token));

    let used = links.redeem(&store, &token, 4, at(10)).await.unwrap();
    assert_eq!((used.message, used.rating), (msg, 4));
    let recorded = store
        .rating_link_use(&used.token_digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.link.rating, 4);
    assert!(matches!(
        links.redeem(&store, &token, 5, at(11)).await,
        Err(RatingLinkError::AlreadyUsed)
    ));
    // Expired, forged and out-of-range ratings write nothing.
    let old = links.token(msg, at(5));
    assert!(matches!(
        links.redeem(&store, &old, 5, at(6)).await,
        Err(RatingLinkError::Expired)
    ));
    let forged = RatingLinks::new(&[1u8; 32], "https://x")
        .unwrap()
        .token(msg, expires);
    assert!(matches!(
        links.redeem(&store, &forged, 5, at(6)).await,
        Err(RatingLinkError::BadSignature)
    ));
    let fresh = links.token(msg, at(7_200));
    assert!(matches!(
        links.redeem(&store, &fresh, 6, at(6)).await,
        Err(RatingLinkError::BadRating(6))
    ));
    // Concurrent uses of one link: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..6u8 {
        let store = store.clone();
        let links = links.clone();
        let fresh = fresh.clone();
        tasks.push(tokio::spawn(async move {
            links.redeem(&store, &fresh, 1 + i % 5, at(20)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(RatingLinkError::AlreadyUsed) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

#[test]
fn smtp_password_never_shows_in_debug() {
    let config = SmtpConfig {
        host: "smtp.example.org".into(),
        port: 587,
        security: SmtpSecurity::StartTls,
        username: Some("otklik".into()),
        password: Some(Secret::new("hunter2-very-secret")),
        from: "noreply@example.org".into(),
        timeout: Duration::from_secs(30),
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("***"));
    let mailer = Mailer::new(&config).unwrap();
    assert!(!format!("{mailer:?}").contains("hunter2"));
    // Half a login is refused; so is a bad sender.
    let mut half = config.clone();
    half.password = None;
    assert!(Mailer::new(&half).is_err());
    let mut bad = config;
    bad.from = "not an address".into();
    assert!(Mailer::new(&bad).is_err());
}

#[tokio::test]
async fn the_lease_covers_a_whole_batch() {
    otklik_store::testing::on_sqlite(module_path!(), |store| async move {
        let smtp = FakeSmtp::start(Mode::Accept).await;
        let m = mailer(&smtp, Duration::from_secs(20));
        let sender = OutboxSender::new(store.clone(), m.clone(), "s").with_batch(5);
        assert_eq!(sender.lease_for_batch(), Duration::from_secs(5 * 20 + 60));
        let longer = sender.clone().with_lease(Duration::from_secs(3_600));
        assert_eq!(longer.lease_for_batch(), Duration::from_secs(3_600));
        let shorter = sender.with_lease(Duration::from_secs(1));
        assert_eq!(shorter.lease_for_batch(), Duration::from_secs(160));
        // A send in progress holds the e-mail under that lease.
        let hanging = FakeSmtp::start(Mode::Hang).await;
        let sender =
            OutboxSender::new(store.clone(), mailer(&hanging, Duration::from_secs(1)), "s")
                .with_batch(5);
        let e = store
            .enqueue_email(&email("k", "c@example.org"), NOW)
            .await
            .unwrap();
        let round = tokio::spawn(async move { sender.send_due(NOW).await.unwrap() });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let leased = store.email(e.id).await.unwrap().unwrap();
        assert_eq!(leased.lease_token.as_deref(), Some("s"));
        assert_eq!(leased.lease_until, Some(Timestamp(NOW.millis() + 65_000)));
        assert_eq!(round.await.unwrap().retried, 1);
    })
    .await;
}

#[tokio::test]
async fn starttls_is_required_when_configured() {
    otklik_store::testing::on_sqlite(module_path!(), |store| async move {
        // The fake server does not offer STARTTLS: a StartTls mailer must not send in clear.
        let smtp = FakeSmtp::start(Mode::Accept).await;
        let mut config = SmtpConfig::plain("127.0.0.1", smtp.port(), "noreply@otklik.test");
        config.security = SmtpSecurity::StartTls;
        config.timeout = Duration::from_secs(5);
        let sender = OutboxSender::new(store.clone(), Mailer::new(&config).unwrap(), "tls")
            .with_backoff(no_jitter());
        store
            .enqueue_email(&email("k", "c@example.org"), NOW)
            .await
            .unwrap();
        let r = sender.send_due(NOW).await.unwrap();
        assert_eq!(r.sent, 0);
        assert_eq!(r.retried + r.dead, 1);
        assert!(smtp.messages().is_empty(), "nothing went out in clear text");
    })
    .await;
}
