//! Collected posts: deduplication, edit history, cursor in the same transaction.

use otklik_domain::{EntityKind, Network, SourceId, Timestamp};
use otklik_store::{Store, StoreError, StorePostsOutcome};

use crate::fixtures::{NOW, post, with_region};
use crate::harness::{rows_in, snapshot};

both_backends!(
    posts_are_deduplicated_and_edits_kept,
    cursor_commits_with_the_posts,
);

async fn source(store: &Store) -> SourceId {
    store
        .source_by_name("vk-minzdrav-wall")
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn posts_are_deduplicated_and_edits_kept(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    let first = [
        post("-1_1", "Когда починят дорогу?"),
        post("-1_2", "Спасибо за ремонт"),
    ];
    let out = store
        .store_posts(src, &first, Some("c1"), NOW)
        .await
        .unwrap();
    assert_eq!(
        out,
        StorePostsOutcome {
            inserted: 2,
            updated: 0,
            unchanged: 0
        }
    );

    // The same posts again (another page overlap), one of them edited, plus a new one;
    // the same key twice within one batch is handled in order.
    let later = Timestamp(NOW.millis() + 600_000);
    let second = [
        post("-1_1", "Когда починят дорогу? Уже год жду"),
        post("-1_2", "Спасибо за ремонт"),
        post("-1_3", "Нет света"),
        post("-1_3", "Нет света"),
    ];
    let out = store
        .store_posts(src, &second, Some("c2"), later)
        .await
        .unwrap();
    assert_eq!(
        out,
        StorePostsOutcome {
            inserted: 1,
            updated: 1,
            unchanged: 2
        }
    );
    assert_eq!(rows_in(&store, "posts").await, 3);

    let edited = store
        .post_by_external_id(Network::Vk, "-1_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.text, "Когда починят дорогу? Уже год жду");
    assert_eq!(edited.content_hash, "h:Когда починят дорогу? Уже год жду");
    assert_eq!(edited.collected_at, NOW, "first collection time is kept");
    assert_eq!(edited.source, src);
    assert_eq!(store.post(edited.id).await.unwrap(), Some(edited.clone()));
    let versions = store.post_versions(edited.id).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].text, "Когда починят дорогу?");
    assert_eq!(versions[0].content_hash, "h:Когда починят дорогу?");
    assert_eq!(versions[0].seen_at, NOW);

    // Same external id in another network is another post.
    let mut tg = post("-1_1", "telegram");
    tg.network = Network::Telegram;
    let out = store.store_posts(src, &[tg], None, later).await.unwrap();
    assert_eq!(out.inserted, 1);
    assert_eq!(
        store.source_cursor(src).await.unwrap().as_deref(),
        Some("c2"),
        "None keeps the cursor"
    );

    // A second edit stacks up in history.
    let third = [post("-1_1", "Дорогу починили!")];
    store
        .store_posts(src, &third, None, Timestamp(later.millis() + 1))
        .await
        .unwrap();
    let versions = store.post_versions(edited.id).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.text.as_str()).collect::<Vec<_>>(),
        ["Когда починят дорогу?", "Когда починят дорогу? Уже год жду"]
    );
    assert_eq!(versions[1].seen_at, later);
    let items_total: i64 =
        sqlx::query_scalar("SELECT items_total FROM source_state WHERE source_id = $1")
            .bind(src.get())
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(items_total, 4);
}

async fn cursor_commits_with_the_posts(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    assert_eq!(store.source_cursor(src).await.unwrap(), None);
    store
        .store_posts(src, &[post("-1_1", "раз")], Some("page-1"), NOW)
        .await
        .unwrap();
    assert_eq!(
        store.source_cursor(src).await.unwrap().as_deref(),
        Some("page-1")
    );

    // A run whose LAST post is broken: neither its good posts nor its cursor are kept.
    let before = snapshot(&store).await;
    let mut broken = post("-1_9", "сломан");
    broken.content_hash = String::new();
    let batch = [post("-1_2", "два"), post("-1_1", "раз, изменён"), broken];
    let err = store
        .store_posts(src, &batch, Some("page-2"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(
        store.source_cursor(src).await.unwrap().as_deref(),
        Some("page-1")
    );
    assert!(
        store
            .post_by_external_id(Network::Vk, "-1_2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .post_by_external_id(Network::Vk, "-1_1")
            .await
            .unwrap()
            .unwrap()
            .text,
        "раз"
    );

    // Posts for a source that does not exist: refused, nothing stored, no cursor anywhere.
    let ghost = SourceId(987_654);
    let err = store
        .store_posts(ghost, &[post("-2_1", "x")], Some("g1"), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: EntityKind::Source,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.source_cursor(ghost).await.unwrap(), None);
    assert_eq!(snapshot(&store).await, before);

    // The retry succeeds and moves the cursor with its posts.
    let out = store
        .store_posts(src, &batch[..2], Some("page-2"), NOW)
        .await
        .unwrap();
    assert_eq!(
        out,
        StorePostsOutcome {
            inserted: 1,
            updated: 1,
            unchanged: 0
        }
    );
    assert_eq!(
        store.source_cursor(src).await.unwrap().as_deref(),
        Some("page-2")
    );

    // A failed run is noted without touching the cursor.
    store
        .record_source_error(src, "HTTP 500", NOW)
        .await
        .unwrap();
    assert_eq!(
        store.source_cursor(src).await.unwrap().as_deref(),
        Some("page-2")
    );
    assert!(store.record_source_error(ghost, "x", NOW).await.is_err());
}
