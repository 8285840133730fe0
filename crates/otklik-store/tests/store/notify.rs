//! The e-mail outbox (dedupe, enqueue in a transaction, leases, retries, dead letters,
//! concurrent senders) and single-use rating links.

use std::collections::HashSet;

use otklik_domain::{MessageId, Timestamp};
use otklik_store::{
    EmailStatus, NewEmail, OutboundEmail, RatingLinkUse, Store, StoreError, consume_rating_link_in,
    enqueue_email_in,
};

use crate::fixtures::{NOW, new_message, with_region};
use crate::harness::rows_in;

both_backends!(
    emails_are_deduplicated_and_validated,
    enqueue_commits_and_rolls_back_with_the_callers_transaction,
    leases_retries_and_dead_letters,
    a_stale_lease_cannot_report,
    concurrent_senders_claim_each_email_once,
    rating_links_work_once,
    rating_link_use_joins_the_callers_transaction,
    concurrent_rating_link_uses_one_wins,
);

const LEASE: i64 = 60_000;

fn at(secs: i64) -> Timestamp {
    Timestamp(NOW.millis() + secs * 1_000)
}

async fn message(store: &Store) -> MessageId {
    with_region(store).await;
    store
        .create_message(&new_message(None, "Яма во дворе"), None, None, NOW)
        .await
        .unwrap()
        .id
}

fn new_email(key: &str, message: Option<MessageId>) -> NewEmail {
    NewEmail {
        idempotency_key: key.into(),
        message,
        template: "received".into(),
        recipient: "citizen@example.org".into(),
        subject: "Ваше сообщение принято".into(),
        body_text: "Здравствуйте!".into(),
        body_html: Some("<p>Здравствуйте!</p>".into()),
        max_attempts: 3,
    }
}

async fn claim(store: &Store, worker: &str, now: Timestamp) -> Vec<OutboundEmail> {
    store
        .claim_due_emails(worker, now, 10, LEASE)
        .await
        .unwrap()
}

async fn emails_are_deduplicated_and_validated(store: Store) {
    let msg = message(&store).await;
    let first = store
        .enqueue_email(&new_email("received:1", Some(msg)), NOW)
        .await
        .unwrap();
    assert_eq!(first.status, EmailStatus::Pending);
    assert_eq!((first.attempts, first.max_attempts), (0, 3));
    assert_eq!(first.next_attempt_at, NOW);
    assert_eq!(first.message, Some(msg));
    assert_eq!(first.body_html.as_deref(), Some("<p>Здравствуйте!</p>"));
    let mut other = new_email("received:1", Some(msg));
    other.subject = "другое".into();
    assert_eq!(store.enqueue_email(&other, at(5)).await.unwrap(), first);
    let plain = store
        .enqueue_email(&new_email("no-message", None), NOW)
        .await
        .unwrap();
    assert_eq!(plain.message, None);
    assert_eq!(store.emails_of(msg).await.unwrap(), vec![first.clone()]);

    for bad in [
        NewEmail {
            idempotency_key: " ".into(),
            ..new_email("x", None)
        },
        NewEmail {
            recipient: "not-an-address".into(),
            ..new_email("x", None)
        },
        NewEmail {
            recipient: "a@b.ru\r\nBcc: all@b.ru".into(),
            ..new_email("x", None)
        },
        NewEmail {
            subject: "line\r\nBcc: x@y.z".into(),
            ..new_email("x", None)
        },
        NewEmail {
            max_attempts: 0,
            ..new_email("x", None)
        },
        new_email("x", Some(MessageId(999_999))),
    ] {
        assert!(store.enqueue_email(&bad, NOW).await.is_err(), "{bad:?}");
    }
    assert_eq!(rows_in(&store, "email_outbox").await, 2);
    assert!(store.claim_due_emails("w", NOW, 1, 0).await.is_err());
    assert!(store.claim_due_emails(" ", NOW, 1, LEASE).await.is_err());
}

async fn enqueue_commits_and_rolls_back_with_the_callers_transaction(store: Store) {
    let msg = message(&store).await;
    let mut tx = store.begin_outbox_transaction().await.unwrap();
    enqueue_email_in(&mut tx, &new_email("rolled-back", Some(msg)), NOW)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(rows_in(&store, "email_outbox").await, 0);

    let mut tx = store.begin_outbox_transaction().await.unwrap();
    sqlx::query("UPDATE messages SET text = $1 WHERE id = $2")
        .bind("Яма во дворе (уточнено)")
        .bind(msg.get())
        .execute(&mut *tx)
        .await
        .unwrap();
    let queued = enqueue_email_in(&mut tx, &new_email("committed", Some(msg)), NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.email(queued.id).await.unwrap(), Some(queued));
}

async fn leases_retries_and_dead_letters(store: Store) {
    let a = store
        .enqueue_email(&new_email("a", None), NOW)
        .await
        .unwrap();
    let b = store
        .enqueue_email(&new_email("b", None), at(10))
        .await
        .unwrap();

    // Only what is due, leased to the caller.
    let got = claim(&store, "w1", NOW).await;
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), vec![a.id]);
    assert_eq!(got[0].attempts, 1);
    assert_eq!(got[0].lease_token.as_deref(), Some("w1"));
    assert_eq!(got[0].lease_until, Some(Timestamp(NOW.millis() + LEASE)));
    // Leased: nobody else gets it; b is due at 10 s.
    let got_b = claim(&store, "w2", at(10)).await;
    assert_eq!(got_b.iter().map(|e| e.id).collect::<Vec<_>>(), vec![b.id]);
    assert!(claim(&store, "w2", at(11)).await.is_empty());
    assert!(store.mark_email_sent(&got_b[0], at(11)).await.unwrap());

    // A failure with a retry time: back at that time, not before.
    let status = store
        .mark_email_failed(&got[0], "421 try later", Some(at(300)), at(12))
        .await
        .unwrap();
    assert_eq!(status, Some(EmailStatus::Pending));
    let e = store.email(a.id).await.unwrap().unwrap();
    assert_eq!(e.last_error.as_deref(), Some("421 try later"));
    assert_eq!((e.lease_until, e.lease_token), (None, None));
    assert!(claim(&store, "w1", at(299)).await.is_empty());
    let again = claim(&store, "w1", at(300)).await;
    assert_eq!(again[0].attempts, 2);

    // Sent: never handed out again; late reports change nothing.
    assert!(store.mark_email_sent(&again[0], at(301)).await.unwrap());
    assert!(!store.mark_email_sent(&again[0], at(302)).await.unwrap());
    assert_eq!(
        store
            .mark_email_failed(&again[0], "late", Some(at(400)), at(303))
            .await
            .unwrap(),
        None
    );
    let e = store.email(a.id).await.unwrap().unwrap();
    assert_eq!(
        (e.status, e.sent_at, e.attempts),
        (EmailStatus::Sent, Some(at(301)), 2)
    );
    assert!(claim(&store, "w3", at(200_000)).await.is_empty());

    // c: a permanent failure makes a dead letter at once.
    let c = store
        .enqueue_email(&new_email("c", None), NOW)
        .await
        .unwrap();
    let got_c = claim(&store, "w4", at(300_000)).await;
    let got_c = got_c.into_iter().find(|e| e.id == c.id).unwrap();
    assert_eq!(
        store
            .mark_email_failed(&got_c, "550 no such user", None, at(300_001))
            .await
            .unwrap(),
        Some(EmailStatus::Dead)
    );

    // d: every attempt fails with a retry; after max_attempts (3) it is dead.
    let d = store
        .enqueue_email(&new_email("d", None), NOW)
        .await
        .unwrap();
    let mut now = at(400_000);
    for attempt in 1..=3 {
        let got = claim(&store, "w5", now).await;
        let e = got.into_iter().find(|e| e.id == d.id).unwrap();
        assert_eq!(e.attempts, attempt);
        let status = store
            .mark_email_failed(&e, "timeout", Some(Timestamp(now.millis() + 1_000)), now)
            .await
            .unwrap();
        let expected = if attempt < 3 {
            EmailStatus::Pending
        } else {
            EmailStatus::Dead
        };
        assert_eq!(status, Some(expected));
        now = Timestamp(now.millis() + 2_000);
    }
    assert!(
        claim(&store, "w5", at(10_000_000))
            .await
            .iter()
            .all(|e| e.id != d.id)
    );
    let dead = store
        .emails_with_status(EmailStatus::Dead, 10)
        .await
        .unwrap();
    let dead_ids: HashSet<_> = dead.iter().map(|e| e.id).collect();
    assert!(dead_ids.contains(&c.id) && dead_ids.contains(&d.id));

    // An operator puts a dead letter back.
    assert!(
        store
            .requeue_dead_email(d.id, 2, at(10_000_001))
            .await
            .unwrap()
    );
    assert!(
        !store
            .requeue_dead_email(a.id, 2, at(10_000_001))
            .await
            .unwrap()
    );
    let back = claim(&store, "w6", at(10_000_002)).await;
    assert!(back.iter().any(|e| e.id == d.id && e.attempts == 1));
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.sent, counts.dead, counts.pending), (2, 1, 1));
}

async fn a_stale_lease_cannot_report(store: Store) {
    let mut new = new_email("stale", None);
    new.max_attempts = 2;
    let e = store.enqueue_email(&new, NOW).await.unwrap();
    let first = claim(&store, "slow", NOW).await.remove(0);
    // The slow sender's lease expires and another sender takes the e-mail over.
    let second = claim(&store, "fast", at(61)).await.remove(0);
    assert_eq!(second.attempts, 2);
    assert!(!store.mark_email_sent(&first, at(62)).await.unwrap());
    assert_eq!(
        store
            .mark_email_failed(&first, "x", Some(at(70)), at(62))
            .await
            .unwrap(),
        None
    );
    assert!(store.mark_email_sent(&second, at(63)).await.unwrap());
    assert_eq!(
        store.email(e.id).await.unwrap().unwrap().status,
        EmailStatus::Sent
    );

    // The last allowed attempt's lease expires without a report: a dead letter.
    let f = store
        .enqueue_email(&new_email("f", None), NOW)
        .await
        .unwrap();
    let mut now = at(100);
    for _ in 0..3 {
        assert_eq!(claim(&store, "crashy", now).await.len(), 1);
        now = Timestamp(now.millis() + LEASE);
    }
    assert!(claim(&store, "crashy", now).await.is_empty());
    let f = store.email(f.id).await.unwrap().unwrap();
    assert_eq!(f.status, EmailStatus::Dead);
    assert!(f.last_error.is_some());
}

async fn concurrent_senders_claim_each_email_once(store: Store) {
    const EMAILS: usize = 40;
    for i in 0..EMAILS {
        store
            .enqueue_email(&new_email(&format!("k{i}"), None), NOW)
            .await
            .unwrap();
    }
    // Two senders claim in small batches and report «sent» until nothing is left.
    let mut senders = Vec::new();
    for w in 0..2 {
        let store = store.clone();
        senders.push(tokio::spawn(async move {
            let token = format!("sender-{w}");
            let mut sent = Vec::new();
            loop {
                let got = store
                    .claim_due_emails(&token, at(1), 3, LEASE)
                    .await
                    .unwrap();
                if got.is_empty() {
                    break;
                }
                for e in got {
                    assert!(store.mark_email_sent(&e, at(2)).await.unwrap());
                    sent.push(e.id);
                }
            }
            sent
        }));
    }
    let mut all = Vec::new();
    for s in senders {
        all.extend(s.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().copied().collect();
    assert_eq!(all.len(), EMAILS, "every e-mail sent exactly once");
    assert_eq!(distinct.len(), EMAILS);
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.sent, counts.pending), (EMAILS as i64, 0));
}

fn link(msg: MessageId, digest_byte: char, rating: u8) -> RatingLinkUse {
    RatingLinkUse {
        token_digest: digest_byte.to_string().repeat(64),
        message: msg,
        rating,
        expires_at: at(3_600),
    }
}

async fn rating_links_work_once(store: Store) {
    let msg = message(&store).await;
    let l = link(msg, 'a', 5);
    store.consume_rating_link(&l, at(10)).await.unwrap();
    let used = store
        .rating_link_use(&l.token_digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((used.link.clone(), used.used_at), (l.clone(), at(10)));
    let again = store
        .consume_rating_link(&link(msg, 'a', 1), at(11))
        .await
        .unwrap_err();
    assert!(again.is_duplicate(), "{again:?}");
    assert_eq!(
        store
            .rating_link_use(&l.token_digest)
            .await
            .unwrap()
            .unwrap()
            .link
            .rating,
        5
    );
    // Another link for the same message is its own token.
    store
        .consume_rating_link(&link(msg, 'b', 4), at(12))
        .await
        .unwrap();
    // Refusals.
    assert!(matches!(
        store.consume_rating_link(&link(msg, 'c', 6), at(12)).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.consume_rating_link(&link(msg, 'c', 0), at(12)).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .consume_rating_link(&link(msg, 'c', 3), at(3_601))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let mut short = link(msg, 'c', 3);
    short.token_digest = "abc".into();
    assert!(store.consume_rating_link(&short, at(12)).await.is_err());
    assert!(matches!(
        store
            .consume_rating_link(&link(MessageId(987_654), 'd', 3), at(12))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(rows_in(&store, "rating_link_uses").await, 2);
    assert_eq!(store.rating_link_use(&"c".repeat(64)).await.unwrap(), None);
}

async fn rating_link_use_joins_the_callers_transaction(store: Store) {
    let msg = message(&store).await;
    let l = link(msg, 'e', 2);
    // The rating write fails after the link was consumed: both roll back, the link still works.
    let mut tx = store.begin_outbox_transaction().await.unwrap();
    consume_rating_link_in(&mut tx, &l, at(1)).await.unwrap();
    let failed = sqlx::query("UPDATE no_such_table SET x = 1")
        .execute(&mut *tx)
        .await;
    assert!(failed.is_err());
    drop(tx);
    assert_eq!(store.rating_link_use(&l.token_digest).await.unwrap(), None);
    let mut tx = store.begin_outbox_transaction().await.unwrap();
    consume_rating_link_in(&mut tx, &l, at(2)).await.unwrap();
    sqlx::query("UPDATE messages SET rating = $1 WHERE id = $2")
        .bind(2_i64)
        .bind(msg.get())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.message(msg).await.unwrap().unwrap().rating, Some(2));
    assert!(
        store
            .consume_rating_link(&l, at(3))
            .await
            .unwrap_err()
            .is_duplicate()
    );
}

async fn concurrent_rating_link_uses_one_wins(store: Store) {
    let msg = message(&store).await;
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .consume_rating_link(&link(msg, 'f', 1 + i % 5), at(1))
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => assert!(e.is_duplicate() || e.is_unique_violation(), "{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(rows_in(&store, "rating_link_uses").await, 1);
}
