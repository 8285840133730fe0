//! The reply outbox: deduplication, leases, retries, delivery once, concurrent claimers.

use std::collections::HashSet;

use otklik_domain::{EntityKind, MessageId, Network, Timestamp};
use otklik_store::{ReplyId, ReplyStatus, Store, StoreError};

use crate::fixtures::{NOW, new_message, with_region};
use crate::harness::snapshot;

both_backends!(
    replies_are_deduplicated_leased_and_delivered_once,
    concurrent_claimers_never_share_a_reply,
    replies_are_listed_newest_first_by_status,
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

async fn claim(store: &Store, now: Timestamp, limit: i64) -> Vec<ReplyId> {
    store
        .claim_due_replies(now, limit, LEASE)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

async fn replies_are_deduplicated_leased_and_delivered_once(store: Store) {
    let msg = message(&store).await;
    let first = store
        .enqueue_reply(
            msg,
            Network::Vk,
            "-1_1",
            "Яму заделаем до пятницы",
            "answer:1",
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(first.status, ReplyStatus::Pending);
    assert_eq!(first.attempts, 0);
    assert_eq!(first.next_attempt_at, NOW);
    assert_eq!(first.message, msg);
    // The same key again: the first reply, nothing new (even with another text).
    let again = store
        .enqueue_reply(msg, Network::Vk, "-1_1", "другой текст", "answer:1", at(1))
        .await
        .unwrap();
    assert_eq!(again, first);
    let second = store
        .enqueue_reply(msg, Network::Vk, "-1_2", "Второй ответ", "answer:2", at(1))
        .await
        .unwrap();
    assert_eq!(
        store.replies_of(msg).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    // Refusals write nothing.
    let before = snapshot(&store).await;
    let err = store
        .enqueue_reply(MessageId(777), Network::Vk, "-1_1", "x", "k", NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: EntityKind::Message,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        store
            .enqueue_reply(msg, Network::Vk, "-1_1", "x", " ", NOW)
            .await
            .is_err()
    );
    assert!(
        store
            .enqueue_reply(msg, Network::Vk, "", "x", "k", NOW)
            .await
            .is_err()
    );
    assert!(
        store
            .enqueue_reply(msg, Network::Vk, "-1_1", " ", "k", NOW)
            .await
            .is_err()
    );
    assert!(store.claim_due_replies(NOW, 1, 0).await.is_err());
    assert_eq!(snapshot(&store).await, before);

    // Only what is due: at NOW just the first; it is leased.
    let claimed = store.claim_due_replies(NOW, 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, first.id);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(
        claimed[0].lease_until,
        Some(Timestamp(NOW.millis() + LEASE))
    );
    // While leased, nobody else gets it; the second is due now.
    assert_eq!(claim(&store, at(2), 10).await, vec![second.id]);
    assert_eq!(claim(&store, at(3), 10).await, Vec::<ReplyId>::new());
    // A worker that never reported: the lease expires and the reply comes back.
    assert_eq!(claim(&store, at(60), 1).await, vec![first.id]);
    assert_eq!(store.reply(first.id).await.unwrap().unwrap().attempts, 2);

    // A failed send comes back after its next attempt time, not before.
    store
        .mark_reply_failed(first.id, "VK error 9: flood control", Some(at(600)), at(61))
        .await
        .unwrap();
    let r = store.reply(first.id).await.unwrap().unwrap();
    assert_eq!(r.status, ReplyStatus::Pending);
    assert_eq!(r.lease_until, None);
    assert_eq!(r.last_error.as_deref(), Some("VK error 9: flood control"));
    assert_eq!(claim(&store, at(599), 10).await, vec![second.id]);
    assert_eq!(claim(&store, at(600), 10).await, vec![first.id]);

    // Delivered: never handed out again, a late failure report does not undo it.
    store
        .mark_reply_delivered(first.id, "comment-555", at(601))
        .await
        .unwrap();
    store
        .mark_reply_delivered(first.id, "comment-555", at(602))
        .await
        .unwrap();
    store
        .mark_reply_failed(first.id, "late", Some(at(700)), at(603))
        .await
        .unwrap();
    let r = store.reply(first.id).await.unwrap().unwrap();
    assert_eq!(r.status, ReplyStatus::Delivered);
    assert_eq!(r.remote_id.as_deref(), Some("comment-555"));
    assert_eq!(r.delivered_at, Some(at(601)));
    assert_eq!(r.lease_until, None);
    assert_eq!(r.attempts, 3);

    // Given up: never handed out again either.
    store
        .mark_reply_failed(second.id, "post deleted", None, at(604))
        .await
        .unwrap();
    assert_eq!(
        store.reply(second.id).await.unwrap().unwrap().status,
        ReplyStatus::Failed
    );
    assert_eq!(claim(&store, at(100_000), 10).await, Vec::<ReplyId>::new());

    let ghost = ReplyId(123_456);
    assert!(store.mark_reply_delivered(ghost, "x", NOW).await.is_err());
    assert!(
        store
            .mark_reply_failed(ghost, "x", None, NOW)
            .await
            .is_err()
    );
    assert_eq!(store.reply(ghost).await.unwrap(), None);
}

async fn concurrent_claimers_never_share_a_reply(store: Store) {
    const REPLIES: usize = 40;
    let msg = message(&store).await;
    for i in 0..REPLIES {
        store
            .enqueue_reply(
                msg,
                Network::Vk,
                &format!("-1_{i}"),
                "Ответ",
                &format!("k{i}"),
                NOW,
            )
            .await
            .unwrap();
    }
    // Two workers claim (small batches) until nothing is left; neither reports back, so every
    // reply stays leased and must have been handed out exactly once.
    let mut workers = Vec::new();
    for _ in 0..2 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = store.claim_due_replies(at(1), 3, LEASE).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                got.extend(batch.into_iter().map(|r| r.id));
                tokio::task::yield_now().await;
            }
            got
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: HashSet<ReplyId> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "a reply was handed to two workers: {all:?}"
    );
    assert_eq!(all.len(), REPLIES);
    for r in store.replies_of(msg).await.unwrap() {
        assert_eq!(r.attempts, 1, "{r:?}");
    }
}

async fn replies_are_listed_newest_first_by_status(store: Store) {
    let msg = message(&store).await;
    assert!(store.replies(None, 10).await.unwrap().is_empty());
    for i in 1..=3 {
        store
            .enqueue_reply(
                msg,
                Network::Vk,
                "-1_1",
                "Ответ",
                &format!("answer:{i}"),
                NOW,
            )
            .await
            .unwrap();
    }
    let claimed = claim(&store, NOW, 1).await;
    store
        .mark_reply_delivered(claimed[0], "777", at(1))
        .await
        .unwrap();
    let all = store.replies(None, 10).await.unwrap();
    let keys: Vec<&str> = all.iter().map(|r| r.idempotency_key.as_str()).collect();
    assert_eq!(keys, ["answer:3", "answer:2", "answer:1"]);
    let delivered = store
        .replies(Some(ReplyStatus::Delivered), 10)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].id, claimed[0]);
    assert_eq!(delivered[0].remote_id.as_deref(), Some("777"));
    assert_eq!(
        store
            .replies(Some(ReplyStatus::Pending), 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.replies(None, 1).await.unwrap().len(), 1);
    assert!(store.replies(None, -1).await.is_err());
}
