//! Collected posts: deduplication, edit history, cursor in the same transaction.

use otklik_domain::{EntityKind, MessageId, Network, PostId, SourceId, SubcategoryId, Timestamp};
use otklik_store::{Classification, PostFilter, PostKind, Store, StoreError, StorePostsOutcome};

use crate::fixtures::{NOW, new_message, post, with_region};
use crate::harness::{rows_in, snapshot};

both_backends!(
    posts_are_deduplicated_and_edits_kept,
    cursor_commits_with_the_posts,
    collector_fields_and_deletions_are_kept,
    classification_is_recorded_idempotently,
    posts_are_searched_by_source_kind_and_period,
    large_pages_and_verdict_batches_are_stored_whole,
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

async fn post_id(store: &Store, external_id: &str) -> PostId {
    store
        .post_by_external_id(Network::Vk, external_id)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn collector_fields_and_deletions_are_kept(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    let community = store.communities().await.unwrap()[0].id;
    let wall = post("-1_1", "Пост")
        .with_views(10)
        .with_attachments(["photo", "video"]);
    let comment = post("-1_1_5", "Комментарий").with_parent("-1_1");
    store
        .store_posts(src, &[wall, comment], None, NOW)
        .await
        .unwrap();
    let d = store
        .post_details(post_id(&store, "-1_1").await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.views, Some(10));
    assert_eq!(d.attachments, ["photo", "video"]);
    assert_eq!(d.parent_external_id, None);
    assert!(!d.is_comment());
    assert!(!d.deleted);
    assert_eq!(d.deleted_at, None);
    assert_eq!(d.community, Some(community));
    assert_eq!(d.classification, None);
    assert_eq!(d.message, None);
    assert_eq!(d.updated_at, NOW);
    assert_eq!(d.post.text, "Пост");
    let c = store
        .post_details(post_id(&store, "-1_1_5").await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.parent_external_id.as_deref(), Some("-1_1"));
    assert!(c.is_comment());
    assert_eq!(c.attachments, Vec::<String>::new());
    assert_eq!(c.views, None);

    // Seen again unchanged: the view counter is refreshed, nothing else.
    let later = Timestamp(NOW.millis() + 1_000);
    let out = store
        .store_posts(src, &[post("-1_1", "Пост").with_views(25)], None, later)
        .await
        .unwrap();
    assert_eq!(out.unchanged, 1);
    let d2 = store.post_details(d.post.id).await.unwrap().unwrap();
    assert_eq!(d2.views, Some(25));
    assert_eq!(d2.attachments, ["photo", "video"]);
    assert_eq!(d2.updated_at, NOW);

    // Deleted: reported by the collector in a batch, or directly; the first time is kept.
    store
        .store_posts(
            src,
            &[post("-1_1_5", "Комментарий").with_deleted(true)],
            None,
            later,
        )
        .await
        .unwrap();
    let c = store.post_details(c.post.id).await.unwrap().unwrap();
    assert!(c.deleted);
    assert_eq!(c.deleted_at, Some(later));
    assert!(
        store
            .mark_post_deleted(Network::Vk, "-1_1", later)
            .await
            .unwrap()
    );
    assert!(
        store
            .mark_post_deleted(Network::Vk, "-1_1", Timestamp(later.millis() + 5))
            .await
            .unwrap()
    );
    let d3 = store.post_details(d.post.id).await.unwrap().unwrap();
    assert!(d3.deleted);
    assert_eq!(d3.deleted_at, Some(later));
    assert!(
        !store
            .mark_post_deleted(Network::Vk, "-9_9", later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_post_deleted(Network::Telegram, "-1_1", later)
            .await
            .unwrap()
    );
    // Deleted posts are not offered for classification.
    assert!(store.posts_to_classify(10).await.unwrap().is_empty());
    // A post first seen already deleted.
    store
        .store_posts(
            src,
            &[post("-1_2", "удалён").with_deleted(true)],
            None,
            later,
        )
        .await
        .unwrap();
    let gone = store
        .post_details(post_id(&store, "-1_2").await)
        .await
        .unwrap()
        .unwrap();
    assert!(gone.deleted);
    assert_eq!(gone.deleted_at, Some(later));
}

fn verdict(kind: PostKind, at: Timestamp) -> Classification {
    Classification {
        kind,
        is_complaint: kind == PostKind::Complaint,
        subcategory: (kind == PostKind::Complaint).then(|| SubcategoryId("roads.potholes".into())),
        confidence_pm: Some(870),
        territory: None,
        classified_at: at,
    }
}

async fn classification_is_recorded_idempotently(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    let town = store.territory_by_code("town").await.unwrap().unwrap().id;
    let mut older = post("-1_1", "Яма на дороге");
    older.published_at = Timestamp(NOW.millis() - 120_000);
    let newer = post("-1_2", "С праздником!");
    store
        .store_posts(src, &[newer, older], None, NOW)
        .await
        .unwrap();
    let todo = store.posts_to_classify(10).await.unwrap();
    let ids: Vec<&str> = todo.iter().map(|p| p.post.external_id.as_str()).collect();
    assert_eq!(ids, ["-1_1", "-1_2"], "oldest first");
    assert_eq!(store.posts_to_classify(1).await.unwrap().len(), 1);
    assert!(store.posts_to_classify(-1).await.is_err());

    let pothole = todo[0].post.id;
    let mut v = verdict(PostKind::Complaint, NOW);
    v.territory = Some(town);
    store
        .record_classification(pothole, &v, None)
        .await
        .unwrap();
    store
        .record_classification(pothole, &v, None)
        .await
        .unwrap();
    let d = store.post_details(pothole).await.unwrap().unwrap();
    assert_eq!(d.classification.as_ref(), Some(&v));
    assert_eq!(d.message, None);
    let left = store.posts_to_classify(10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].post.external_id, "-1_2");

    // Linking the message it became; recording again (with or without it) keeps the link.
    let mut new = new_message(None, "Яма на дороге");
    new.source_post = Some(pothole);
    let msg = store
        .create_message(&new, None, None, NOW)
        .await
        .unwrap()
        .id;
    store
        .record_classification(pothole, &v, Some(msg))
        .await
        .unwrap();
    store
        .record_classification(pothole, &v, Some(msg))
        .await
        .unwrap();
    store
        .record_classification(pothole, &v, None)
        .await
        .unwrap();
    let d = store.post_details(pothole).await.unwrap().unwrap();
    assert_eq!(d.message, Some(msg));
    assert_eq!(d.classification.as_ref(), Some(&v));
    // Another message for the same post is refused, and so is a bad confidence or post.
    let other = store
        .create_message(&new_message(None, "другое"), None, None, NOW)
        .await
        .unwrap()
        .id;
    let err = store
        .record_classification(pothole, &v, Some(other))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let mut bad = v.clone();
    bad.confidence_pm = Some(1001);
    assert!(
        store
            .record_classification(pothole, &bad, None)
            .await
            .is_err()
    );
    assert!(
        store
            .record_classification(PostId(99_999), &v, None)
            .await
            .is_err()
    );
    assert!(
        store
            .record_classification(pothole, &v, Some(MessageId(99_999)))
            .await
            .is_err()
    );
    assert_eq!(
        store.post_details(pothole).await.unwrap().unwrap().message,
        Some(msg)
    );

    // A later verdict replaces the earlier one.
    let greeting = left[0].post.id;
    store
        .record_classification(greeting, &verdict(PostKind::Other, NOW), None)
        .await
        .unwrap();
    let later = Timestamp(NOW.millis() + 10);
    store
        .record_classification(greeting, &verdict(PostKind::Greeting, later), None)
        .await
        .unwrap();
    let g = store.post_details(greeting).await.unwrap().unwrap();
    assert_eq!(g.classification, Some(verdict(PostKind::Greeting, later)));
    assert!(store.posts_to_classify(10).await.unwrap().is_empty());

    // An edit of a post not yet turned into a message sends it back for classification; an
    // edit of one that became a message keeps its verdict.
    let edit_at = Timestamp(NOW.millis() + 1_000);
    store
        .store_posts(
            src,
            &[
                post("-1_2", "С праздником! Но дорогу так и не починили"),
                post("-1_1", "Яма на дороге, уже месяц"),
            ],
            None,
            edit_at,
        )
        .await
        .unwrap();
    let g = store.post_details(greeting).await.unwrap().unwrap();
    assert_eq!(g.classification, None);
    assert_eq!(g.updated_at, edit_at);
    let todo = store.posts_to_classify(10).await.unwrap();
    assert_eq!(todo.len(), 1);
    assert_eq!(todo[0].post.id, greeting);
    let d = store.post_details(pothole).await.unwrap().unwrap();
    assert_eq!(d.classification, Some(v));
    assert_eq!(d.post.text, "Яма на дороге, уже месяц");
}

async fn posts_are_searched_by_source_kind_and_period(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    let other = store
        .add_source(
            &otklik_domain::directory::NewSource {
                name: "tg-city".into(),
                network: Network::Telegram,
                target: "city".into(),
                schedule: "0 * * * * *".into(),
                territory_code: None,
                enabled: true,
            },
            None,
            NOW,
        )
        .await
        .unwrap()
        .id;
    let minute = |m: i64| Timestamp(NOW.millis() - m * 60_000);
    let mk = |id: &str, m: i64| {
        let mut p = post(id, id);
        p.published_at = minute(m);
        p
    };
    store
        .store_posts(
            src,
            &[mk("a", 50), mk("b", 40), mk("c", 30), mk("d", 20)],
            None,
            NOW,
        )
        .await
        .unwrap();
    let mut tg = mk("t", 10);
    tg.network = Network::Telegram;
    store.store_posts(other, &[tg], None, NOW).await.unwrap();
    for (id, kind) in [
        ("a", PostKind::Complaint),
        ("b", PostKind::News),
        ("c", PostKind::Complaint),
    ] {
        store
            .record_classification(post_id(&store, id).await, &verdict(kind, NOW), None)
            .await
            .unwrap();
    }
    store
        .mark_post_deleted(Network::Vk, "c", NOW)
        .await
        .unwrap();

    let ids = |found: Vec<otklik_store::PostDetails>| {
        found
            .into_iter()
            .map(|p| p.post.external_id)
            .collect::<Vec<_>>()
    };
    let search = |filter: PostFilter| {
        let store = store.clone();
        async move { ids(store.search_posts(&filter).await.unwrap()) }
    };
    assert_eq!(
        search(PostFilter::default()).await,
        ["t", "d", "b", "a"],
        "newest first, no deleted"
    );
    assert_eq!(
        search(PostFilter {
            include_deleted: true,
            ..PostFilter::default()
        })
        .await,
        ["t", "d", "c", "b", "a"]
    );
    assert_eq!(
        search(PostFilter {
            source: Some(other),
            ..PostFilter::default()
        })
        .await,
        ["t"]
    );
    assert_eq!(
        search(PostFilter {
            network: Some(Network::Vk),
            ..PostFilter::default()
        })
        .await,
        ["d", "b", "a"]
    );
    assert_eq!(
        search(PostFilter {
            kind: Some(PostKind::Complaint),
            include_deleted: true,
            ..PostFilter::default()
        })
        .await,
        ["c", "a"]
    );
    assert_eq!(
        search(PostFilter {
            is_complaint: Some(true),
            ..PostFilter::default()
        })
        .await,
        ["a"]
    );
    assert_eq!(
        search(PostFilter {
            is_complaint: Some(false),
            ..PostFilter::default()
        })
        .await,
        ["b"]
    );
    assert_eq!(
        search(PostFilter {
            since: Some(minute(40)),
            until: Some(minute(10)),
            ..PostFilter::default()
        })
        .await,
        ["d", "b"]
    );
    let community = store.communities().await.unwrap()[0].id;
    assert_eq!(
        search(PostFilter {
            community: Some(community),
            limit: Some(2),
            offset: Some(1),
            ..PostFilter::default()
        })
        .await,
        ["b", "a"]
    );
    assert!(
        store
            .search_posts(&PostFilter {
                limit: Some(-1),
                ..PostFilter::default()
            })
            .await
            .is_err()
    );
}

/// Pages and verdict batches larger than one multi-row statement: every post stored once,
/// edits versioned, views refreshed, each verdict on its own post; a bad verdict anywhere
/// in a batch writes none of it.
async fn large_pages_and_verdict_batches_are_stored_whole(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    let town = store.territory_by_code("town").await.unwrap().unwrap().id;
    let page: Vec<_> = (0..450)
        .map(|i| post(&format!("-1_{i}"), &format!("пост {i}")).with_views(i))
        .collect();
    let out = store
        .store_posts(src, &page, Some("big-1"), NOW)
        .await
        .unwrap();
    assert_eq!(out.inserted, 450);
    assert_eq!(rows_in(&store, "posts").await, 450);

    // The same page again: every tenth edited, every third with more views, 50 new ones.
    let later = Timestamp(NOW.millis() + 1_000);
    let again: Vec<_> = (0..500)
        .map(|i| {
            let text = if i % 10 == 0 {
                format!("пост {i}, исправлен")
            } else {
                format!("пост {i}")
            };
            let views = if i % 3 == 0 { i + 1_000 } else { i };
            post(&format!("-1_{i}"), &text).with_views(views)
        })
        .collect();
    let out = store
        .store_posts(src, &again, Some("big-2"), later)
        .await
        .unwrap();
    assert_eq!(
        out,
        StorePostsOutcome {
            inserted: 50,
            updated: 45,
            unchanged: 405
        }
    );
    assert_eq!(rows_in(&store, "posts").await, 500);
    assert_eq!(rows_in(&store, "post_versions").await, 45);
    assert_eq!(
        store.source_cursor(src).await.unwrap().as_deref(),
        Some("big-2")
    );
    for i in [0_i64, 3, 7, 30, 449, 499] {
        let id = post_id(&store, &format!("-1_{i}")).await;
        let d = store.post_details(id).await.unwrap().unwrap();
        let views = if i % 3 == 0 { i + 1_000 } else { i };
        assert_eq!(d.views, Some(views), "views of post {i}");
        let edited = i % 10 == 0 && i < 450;
        assert_eq!(d.updated_at, if edited || i >= 450 { later } else { NOW });
        let versions = store.post_versions(id).await.unwrap();
        assert_eq!(versions.len(), usize::from(edited), "versions of post {i}");
        if edited {
            assert_eq!(versions[0].text, format!("пост {i}"));
            assert_eq!(versions[0].seen_at, NOW);
        }
    }

    // 500 verdicts in one batch, complaints in a town, the others with nothing optional.
    let todo = store.posts_to_classify(1_000).await.unwrap();
    assert_eq!(todo.len(), 500);
    let verdicts: Vec<_> = todo
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut v = if i % 2 == 0 {
                verdict(PostKind::Complaint, later)
            } else {
                verdict(PostKind::Other, later)
            };
            if i % 2 == 0 {
                v.territory = Some(town);
            } else {
                v.confidence_pm = None;
            }
            (p.post.id, v, None)
        })
        .collect();

    // One bad verdict (a post that does not exist) at the end: nothing is recorded.
    let mut broken = verdicts.clone();
    broken.push((PostId(99_999), verdict(PostKind::Other, later), None));
    assert!(store.record_classifications(&broken).await.is_err());
    assert_eq!(store.posts_to_classify(1_000).await.unwrap().len(), 500);

    store.record_classifications(&verdicts).await.unwrap();
    assert!(store.posts_to_classify(1_000).await.unwrap().is_empty());
    for (post, v, _) in verdicts.iter().step_by(37) {
        let d = store.post_details(*post).await.unwrap().unwrap();
        assert_eq!(d.classification.as_ref(), Some(v));
        assert_eq!(d.message, None);
    }
    // A message linked in a batch is kept by a later batch without one; another message
    // for the same post is refused, for the whole batch.
    let first = verdicts[0].0;
    let msg = store
        .create_message(&new_message(None, "Яма"), None, None, NOW)
        .await
        .unwrap()
        .id;
    let linked = [(first, verdicts[0].1.clone(), Some(msg))];
    store.record_classifications(&linked).await.unwrap();
    store.record_classifications(&verdicts).await.unwrap();
    assert_eq!(
        store.post_details(first).await.unwrap().unwrap().message,
        Some(msg)
    );
    let other = store
        .create_message(&new_message(None, "другое"), None, None, NOW)
        .await
        .unwrap()
        .id;
    let mut relinked = verdicts.clone();
    relinked[0].2 = Some(other);
    relinked[1].1 = verdict(PostKind::Greeting, later);
    let err = store.record_classifications(&relinked).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(
        store
            .post_details(relinked[1].0)
            .await
            .unwrap()
            .unwrap()
            .classification,
        Some(verdicts[1].1.clone())
    );
}
