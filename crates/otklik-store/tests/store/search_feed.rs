//! The search feeds: rows changed after a watermark, in keyset pages; id-ordered pages; head.

use otklik_domain::{
    MessageId, Network, PostId, SubcategoryId, TerritoryId, Timestamp, Transition,
};
use otklik_store::search_feed::{FeedHead, FeedPosition};
use otklik_store::{Classification, MessageChange, PostKind, Store, StoreError};

use crate::fixtures::{NOW, new_message, org_id, post, with_region};

both_backends!(
    feed_pages_posts_by_change_time_without_gaps,
    classification_and_deletion_move_a_post_forward,
    messages_follow_updated_at_and_carry_the_post_network,
    id_pages_and_head_for_a_rebuild,
);

async fn source(store: &Store) -> otklik_domain::SourceId {
    store
        .source_by_name("vk-minzdrav-wall")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Reads the whole post feed after `from` in pages of `page`.
async fn all_posts_after(store: &Store, from: FeedPosition, page: i64) -> Vec<(i64, i64)> {
    let mut at = from;
    let mut out = Vec::new();
    loop {
        let rows = store.posts_changed_after(at, page).await.unwrap();
        if rows.is_empty() {
            return out;
        }
        assert!(rows.len() as i64 <= page);
        for r in &rows {
            assert!(r.position() > at, "keyset order");
            at = r.position();
            out.push((r.changed_at.millis(), r.details.post.id.get()));
        }
    }
}

async fn feed_pages_posts_by_change_time_without_gaps(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    // Five posts in one batch share a change time; two more come later.
    let batch: Vec<_> = (1..=5)
        .map(|i| post(&format!("-1_{i}"), &format!("Яма номер {i}")))
        .collect();
    store.store_posts(src, &batch, None, NOW).await.unwrap();
    let later = Timestamp(NOW.millis() + 1_000);
    store
        .store_posts(
            src,
            &[post("-1_6", "Нет света"), post("-1_7", "Нет воды")],
            None,
            later,
        )
        .await
        .unwrap();

    // Pages of 2 across the tie: every post exactly once, in (time, id) order.
    let seen = all_posts_after(&store, FeedPosition::START, 2).await;
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.iter().filter(|(t, _)| *t == NOW.millis()).count(), 5);
    assert_eq!(seen.iter().filter(|(t, _)| *t == later.millis()).count(), 2);

    // From the middle of the tie: only what follows.
    let third = seen[2];
    let rest = all_posts_after(
        &store,
        FeedPosition {
            changed_at: Timestamp(third.0),
            id: third.1,
        },
        100,
    )
    .await;
    assert_eq!(rest, seen[3..].to_vec());

    // The rows carry the post and its organisation (the source reads minzdrav's community).
    let rows = store
        .posts_changed_after(FeedPosition::START, 1)
        .await
        .unwrap();
    assert_eq!(rows[0].details.post.text, "Яма номер 1");
    assert_eq!(rows[0].details.post.network, Network::Vk);
    if rows[0].details.community.is_some() {
        assert_eq!(rows[0].organisation, Some(org_id(&store, "minzdrav").await));
    } else {
        assert_eq!(rows[0].organisation, None);
    }

    // A non-positive page is refused.
    assert!(matches!(
        store.posts_changed_after(FeedPosition::START, 0).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn classification_and_deletion_move_a_post_forward(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    store
        .store_posts(
            src,
            &[post("-1_1", "Яма"), post("-1_2", "Спасибо")],
            None,
            NOW,
        )
        .await
        .unwrap();
    let watermark = FeedPosition {
        changed_at: NOW,
        id: i64::MAX,
    };
    assert!(
        store
            .posts_changed_after(watermark, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let first = store
        .post_by_external_id(Network::Vk, "-1_1")
        .await
        .unwrap()
        .unwrap();
    let classified_at = Timestamp(NOW.millis() + 5_000);
    store
        .record_classification(
            first.id,
            &Classification {
                kind: PostKind::Complaint,
                is_complaint: true,
                subcategory: Some(SubcategoryId("roads.potholes".into())),
                confidence_pm: Some(900),
                territory: None::<TerritoryId>,
                classified_at,
            },
            None,
        )
        .await
        .unwrap();
    let changed = store.posts_changed_after(watermark, 10).await.unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].details.post.id, first.id);
    assert_eq!(changed[0].changed_at, classified_at);
    let class = changed[0].details.classification.as_ref().unwrap();
    assert_eq!(
        class.subcategory,
        Some(SubcategoryId("roads.potholes".into()))
    );

    // A deletion later still moves the other post past the new watermark.
    let deleted_at = Timestamp(NOW.millis() + 9_000);
    assert!(
        store
            .mark_post_deleted(Network::Vk, "-1_2", deleted_at)
            .await
            .unwrap()
    );
    let after = changed[0].position();
    let changed = store.posts_changed_after(after, 10).await.unwrap();
    assert_eq!(changed.len(), 1);
    assert!(changed[0].details.deleted);
    assert_eq!(changed[0].changed_at, deleted_at);
}

async fn messages_follow_updated_at_and_carry_the_post_network(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    store
        .store_posts(src, &[post("-1_1", "Яма во дворе")], None, NOW)
        .await
        .unwrap();
    let the_post = store
        .post_by_external_id(Network::Vk, "-1_1")
        .await
        .unwrap()
        .unwrap();
    let executor = Some(org_id(&store, "minzdrav").await);
    let plain = store
        .create_message(&new_message(executor, "Яма на Ленина"), None, None, NOW)
        .await
        .unwrap();
    let mut from_post = new_message(executor, "Яма во дворе");
    from_post.source_post = Some(the_post.id);
    let from_post = store
        .create_message(&from_post, None, None, Timestamp(NOW.millis() + 1))
        .await
        .unwrap();

    let all = store
        .messages_changed_after(FeedPosition::START, 10)
        .await
        .unwrap();
    let ids: Vec<MessageId> = all.iter().map(|m| m.message.id).collect();
    assert_eq!(ids, [plain.id, from_post.id]);
    assert_eq!(all[0].network, None);
    assert_eq!(all[1].network, Some(Network::Vk));
    assert_eq!(all[0].changed_at, NOW);

    // A workflow step moves the first message to the end of the feed.
    let step_at = Timestamp(NOW.millis() + 60_000);
    store
        .transition_message(
            plain.id,
            plain.version,
            Transition::Accept,
            MessageChange::default(),
            None,
            step_at,
        )
        .await
        .unwrap();
    let changed = store
        .messages_changed_after(all[1].position(), 10)
        .await
        .unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].message.id, plain.id);
    assert_eq!(changed[0].changed_at, step_at);
    assert_ne!(changed[0].message.status, all[0].message.status);
}

async fn id_pages_and_head_for_a_rebuild(store: Store) {
    with_region(&store).await;
    assert_eq!(store.search_feed_head().await.unwrap(), FeedHead::default());
    let src = source(&store).await;
    let batch: Vec<_> = (1..=5)
        .map(|i| post(&format!("-1_{i}"), &format!("Пост {i}")))
        .collect();
    store.store_posts(src, &batch, None, NOW).await.unwrap();
    let later = Timestamp(NOW.millis() + 7_000);
    store
        .mark_post_deleted(Network::Vk, "-1_3", later)
        .await
        .unwrap();
    store
        .create_message(&new_message(None, "Сообщение"), None, None, NOW)
        .await
        .unwrap();

    let mut after = 0;
    let mut ids: Vec<PostId> = Vec::new();
    loop {
        let page = store.posts_by_id_after(after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.details.post.id.get();
        ids.extend(page.iter().map(|p| p.details.post.id));
    }
    assert_eq!(ids.len(), 5);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let messages = store.messages_by_id_after(0, 10).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert!(
        store
            .messages_by_id_after(messages[0].message.id.get(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let head = store.search_feed_head().await.unwrap();
    assert_eq!(
        head,
        FeedHead {
            posts: Some(later),
            messages: Some(NOW),
        }
    );
}
