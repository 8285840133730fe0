//! The Госпаблики registry: registration, verification, activity, required pages, statistics.

use otklik_domain::directory::{DirectoryBatch, NewCommunity, NewSource};
use otklik_domain::{CommunityId, EntityKind, Network, OrgKind, PostId, Timestamp, Verification};
use otklik_store::{Classification, NewPost, PostKind, ResolvedCommunity, Store, StoreError};

use crate::fixtures::{NOW, org_id, organisation, post, with_region};
use crate::harness::snapshot;

both_backends!(
    communities_are_registered_verified_and_unique,
    missing_required_pages_follow_the_registry,
    activity_and_statistics_come_from_linked_posts,
    a_list_of_communities_registers_all_or_nothing,
    sources_match_communities_however_the_reference_is_written,
);

fn page(network: Network, external_id: &str, org: &str) -> NewCommunity {
    NewCommunity {
        network,
        external_id: external_id.into(),
        url: format!("https://{}.example/{external_id}", network.code()),
        title: format!("Страница {external_id}"),
        organisation_code: org.into(),
        verification: Verification::Pending,
    }
}

fn at(days: i64) -> Timestamp {
    NOW.plus_days(days)
}

async fn communities_are_registered_verified_and_unique(store: Store) {
    with_region(&store).await;
    let adm = org_id(&store, "district-adm").await;

    let id = store
        .register_community(
            &page(Network::Vk, "club100", "district-adm"),
            true,
            None,
            NOW,
        )
        .await
        .unwrap();
    let c = store.community(id).await.unwrap().unwrap();
    assert_eq!(c.community.organisation, adm);
    assert_eq!(c.community.external_id, "club100");
    assert_eq!(c.community.verification, Verification::Pending);
    assert!(c.required);
    assert_eq!(c.added_at, Some(NOW));
    assert_eq!(c.verified_at, None);
    assert_eq!(c.last_post_at, None);
    assert_eq!(store.communities_of(adm).await.unwrap(), vec![c.clone()]);
    let trail = store
        .audit_trail(EntityKind::Community, id.get())
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].event.action, "registered");

    // The imported page was marked required (VK) with its import time.
    let minzdrav = org_id(&store, "minzdrav").await;
    let imported = store.communities_of(minzdrav).await.unwrap();
    assert_eq!(imported.len(), 1);
    assert!(imported[0].required);
    assert_eq!(imported[0].added_at, Some(NOW));

    // Refusals write nothing: duplicate key (typed), unknown organisation, empty id.
    let before = snapshot(&store).await;
    let err = store
        .register_community(&page(Network::Vk, "club100", "school-1"), false, None, NOW)
        .await
        .unwrap_err();
    assert!(err.is_duplicate(), "{err:?}");
    assert!(
        matches!(&err, StoreError::Duplicate { entity: EntityKind::Community, key } if key == "vk:club100"),
        "{err:?}"
    );
    let err = store
        .register_community(&page(Network::Ok, "minzdrav38", "nobody"), false, None, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UnknownReference {
                kind: EntityKind::Organisation,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        store
            .register_community(&page(Network::Ok, " ", "minzdrav"), false, None, NOW)
            .await
            .is_err()
    );
    assert_eq!(snapshot(&store).await, before);
    // Same external id in another network is another page.
    store
        .register_community(
            &page(Network::Ok, "club100", "district-adm"),
            true,
            None,
            NOW,
        )
        .await
        .unwrap();

    // Verification: status, resolved fields, time; None keeps what was resolved before.
    let resolved = ResolvedCommunity {
        name: Some("Администрация района".into()),
        screen_name: Some("adm_district".into()),
        members: Some(1234),
    };
    let v = store
        .set_community_verification(id, Verification::Verified, &resolved, at(1))
        .await
        .unwrap();
    assert_eq!(v.community.verification, Verification::Verified);
    assert_eq!(v.resolved_name.as_deref(), Some("Администрация района"));
    assert_eq!(v.screen_name.as_deref(), Some("adm_district"));
    assert_eq!(v.members, Some(1234));
    assert_eq!(v.verified_at, Some(at(1)));
    let v = store
        .set_community_verification(
            id,
            Verification::Failed,
            &ResolvedCommunity {
                members: Some(1300),
                ..ResolvedCommunity::default()
            },
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(v.community.verification, Verification::Failed);
    assert_eq!(v.resolved_name.as_deref(), Some("Администрация района"));
    assert_eq!(v.members, Some(1300));
    assert_eq!(v.verified_at, Some(at(2)));
    assert_eq!(store.community(id).await.unwrap(), Some(v));
    let actions: Vec<String> = store
        .audit_trail(EntityKind::Community, id.get())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect();
    assert_eq!(actions, ["registered", "verification", "verification"]);
    let ghost = CommunityId(9_999);
    assert!(matches!(
        store
            .set_community_verification(ghost, Verification::Verified, &resolved, NOW)
            .await
            .unwrap_err(),
        StoreError::NotFound {
            entity: EntityKind::Community,
            ..
        }
    ));

    // Activity only moves forward.
    store.update_community_activity(id, at(3)).await.unwrap();
    store.update_community_activity(id, at(2)).await.unwrap();
    assert_eq!(
        store.community(id).await.unwrap().unwrap().last_post_at,
        Some(at(3))
    );
    assert!(store.update_community_activity(ghost, at(3)).await.is_err());
    assert_eq!(store.community(ghost).await.unwrap(), None);
}

async fn missing_required_pages_follow_the_registry(store: Store) {
    with_region(&store).await;
    // An «other» organisation is not obliged to keep pages.
    store
        .import_directory(
            &DirectoryBatch {
                organisations: vec![organisation("uk-1", OrgKind::Other, "town", None)],
                ..DirectoryBatch::default()
            },
            None,
            NOW,
        )
        .await
        .unwrap();
    let missing = |store: Store| async move {
        store
            .organisations_missing_required_pages(&[Network::Vk, Network::Ok, Network::Vk])
            .await
            .unwrap()
            .into_iter()
            .map(|(org, nets)| (org.code, nets))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        missing(store.clone()).await,
        vec![
            ("minzdrav".to_owned(), vec![Network::Ok]),
            ("district-adm".to_owned(), vec![Network::Vk, Network::Ok]),
            ("school-1".to_owned(), vec![Network::Vk, Network::Ok]),
        ]
    );

    // A required VK page for the district; a page not marked required does not count.
    store
        .register_community(&page(Network::Vk, "adm", "district-adm"), true, None, NOW)
        .await
        .unwrap();
    store
        .register_community(
            &page(Network::Ok, "school-fans", "school-1"),
            false,
            None,
            NOW,
        )
        .await
        .unwrap();
    // A page whose verification failed does not count either.
    let minzdrav_vk = store.communities().await.unwrap()[0].id;
    store
        .set_community_verification(
            minzdrav_vk,
            Verification::Failed,
            &ResolvedCommunity::default(),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        missing(store.clone()).await,
        vec![
            ("minzdrav".to_owned(), vec![Network::Vk, Network::Ok]),
            ("district-adm".to_owned(), vec![Network::Ok]),
            ("school-1".to_owned(), vec![Network::Vk, Network::Ok]),
        ]
    );
    // Only the networks asked about.
    let only_vk: Vec<String> = store
        .organisations_missing_required_pages(&[Network::Vk])
        .await
        .unwrap()
        .into_iter()
        .map(|(org, _)| org.code)
        .collect();
    assert_eq!(only_vk, ["minzdrav", "school-1"]);
    assert!(
        store
            .organisations_missing_required_pages(&[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn activity_and_statistics_come_from_linked_posts(store: Store) {
    with_region(&store).await;
    let src = store
        .source_by_name("vk-minzdrav-wall")
        .await
        .unwrap()
        .unwrap()
        .id;
    let minzdrav = store.communities().await.unwrap()[0].id;

    // Posts of the last two weeks: 3 posts, 2 comments (one a complaint), one deleted post,
    // one post older than the period.
    let mk = |id: &str, day: i64| {
        let mut p = post(id, &format!("текст {id}"));
        p.published_at = at(day);
        p
    };
    let batch = vec![
        mk("-1_1", -10),
        mk("-1_2", -5),
        mk("-1_3", -1),
        mk("-1_1_7", -9).with_parent("-1_1"),
        mk("-1_1_8", -2).with_parent("-1_1"),
        mk("-1_4", -3).with_deleted(true),
        mk("-1_0", -30),
    ];
    store
        .store_posts(src, &batch, Some("c"), NOW)
        .await
        .unwrap();
    let complaint = store
        .post_by_external_id(Network::Vk, "-1_1_8")
        .await
        .unwrap()
        .unwrap();
    store
        .record_classification(
            complaint.id,
            &Classification {
                kind: PostKind::Complaint,
                is_complaint: true,
                subcategory: None,
                confidence_pm: Some(900),
                territory: None,
                classified_at: NOW,
            },
            None,
        )
        .await
        .unwrap();
    let details = store.post_details(complaint.id).await.unwrap().unwrap();
    assert_eq!(details.community, Some(minzdrav));
    assert!(details.is_comment());

    // The newest non-comment post (deleted or not) is the community's last activity.
    let c = store.community(minzdrav).await.unwrap().unwrap();
    assert_eq!(c.last_post_at, Some(at(-1)));

    // Another community registered with no posts: inactive only after `days` from its
    // registration.
    let quiet = store
        .register_community(&page(Network::Vk, "quiet", "school-1"), true, None, NOW)
        .await
        .unwrap();
    let inactive = |days: i64, now: Timestamp| {
        let store = store.clone();
        async move {
            store
                .inactive_communities(days, now)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.community.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(inactive(30, NOW).await, Vec::<CommunityId>::new());
    assert_eq!(inactive(7, at(7)).await, vec![minzdrav]);
    assert_eq!(inactive(7, at(8)).await, vec![minzdrav, quiet]);
    assert!(store.inactive_communities(-1, NOW).await.is_err());

    // Statistics over the last 14 days.
    let stats = store.community_stats(at(-14), NOW).await.unwrap();
    assert_eq!(stats.len(), 2);
    let s = &stats[0];
    assert_eq!(s.community.id, minzdrav);
    assert_eq!((s.posts, s.comments, s.complaints), (3, 2, 1));
    assert!(
        (s.posts_per_week - 1.5).abs() < 1e-9,
        "{}",
        s.posts_per_week
    );
    let q = &stats[1];
    assert_eq!(q.community.id, quiet);
    assert_eq!((q.posts, q.comments, q.complaints), (0, 0, 0));
    assert!(q.posts_per_week.abs() < 1e-9);
    // A period shorter than a day counts as a day.
    let stats = store.community_stats(at(-1), at(-1)).await.unwrap();
    assert_eq!(stats[0].posts, 1);
    assert!((stats[0].posts_per_week - 7.0).abs() < 1e-9);

    // A source added before its community is linked when the community is registered, and
    // so are the posts already collected from it.
    let early = store
        .add_source(
            &NewSource {
                name: "ok-school".into(),
                network: Network::Ok,
                target: "school-ok".into(),
                schedule: "0 0 * * * *".into(),
                territory_code: None,
                enabled: true,
            },
            None,
            NOW,
        )
        .await
        .unwrap();
    let mut ok_post: NewPost = post("ok-1", "Пост школы");
    ok_post.network = Network::Ok;
    store
        .store_posts(early.id, &[ok_post], None, NOW)
        .await
        .unwrap();
    let ok_post_id: PostId = store
        .post_by_external_id(Network::Ok, "ok-1")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(
        store
            .post_details(ok_post_id)
            .await
            .unwrap()
            .unwrap()
            .community,
        None
    );
    let school_ok = store
        .register_community(&page(Network::Ok, "school-ok", "school-1"), true, None, NOW)
        .await
        .unwrap();
    assert_eq!(
        store.source_health_of(early.id).await.unwrap().community,
        Some(school_ok)
    );
    assert_eq!(
        store
            .post_details(ok_post_id)
            .await
            .unwrap()
            .unwrap()
            .community,
        Some(school_ok)
    );
    let stats = store.community_stats(at(-14), NOW).await.unwrap();
    assert_eq!(
        stats
            .iter()
            .find(|s| s.community.id == school_ok)
            .unwrap()
            .posts,
        1
    );
}

async fn a_list_of_communities_registers_all_or_nothing(store: Store) {
    with_region(&store).await;
    let before = snapshot(&store).await;
    // The third row names an unknown organisation: nothing of the list is registered.
    let bad = vec![
        (page(Network::Vk, "club501", "district-adm"), true),
        (
            page(Network::Telegram, "seversk_news", "district-adm"),
            false,
        ),
        (page(Network::Ok, "group502", "nobody"), true),
    ];
    let err = store
        .register_communities(&bad, None, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownReference { code, .. } if code == "nobody"),
        "{err:?}"
    );
    assert_eq!(
        snapshot(&store).await,
        before,
        "a failed list leaves no trace"
    );

    // A good list: all registered; again: all skipped; a list repeating a page: skipped once.
    let good = vec![
        (page(Network::Vk, "club501", "district-adm"), true),
        (
            page(Network::Telegram, "seversk_news", "district-adm"),
            false,
        ),
        (page(Network::Ok, "group502", "school-1"), true),
    ];
    let (added, skipped) = store.register_communities(&good, None, NOW).await.unwrap();
    assert_eq!((added.len(), skipped), (3, 0));
    let (added, skipped) = store.register_communities(&good, None, NOW).await.unwrap();
    assert_eq!((added.len(), skipped), (0, 3));
    let twice = vec![
        (page(Network::Vk, "club503", "district-adm"), true),
        (page(Network::Vk, "club503", "district-adm"), true),
    ];
    let (added, skipped) = store.register_communities(&twice, None, NOW).await.unwrap();
    assert_eq!((added.len(), skipped), (1, 1));
    let adm = org_id(&store, "district-adm").await;
    let pages = store.communities_of(adm).await.unwrap();
    assert!(
        pages
            .iter()
            .any(|c| c.community.external_id == "club503" && c.required)
    );
}

async fn sources_match_communities_however_the_reference_is_written(store: Store) {
    with_region(&store).await;
    let add = |name: &'static str, network: Network, target: &'static str| {
        let store = store.clone();
        async move {
            store
                .add_source(
                    &NewSource {
                        name: name.into(),
                        network,
                        target: target.into(),
                        schedule: "0 */10 * * * *".into(),
                        territory_code: None,
                        enabled: true,
                    },
                    None,
                    NOW,
                )
                .await
                .unwrap()
        }
    };
    // Sources first, communities registered later: linked on registration.
    let by_minus = add("vk-minus", Network::Vk, "-218004512").await;
    let by_link = add("vk-link", Network::Vk, "https://vk.ru/Zarechny_Rayon/").await;
    let by_at = add("tg-at", Network::Telegram, "@Seversk_News").await;
    let other = add("vk-other", Network::Vk, "club999").await;
    let club = store
        .register_community(
            &page(Network::Vk, "club218004512", "district-adm"),
            true,
            None,
            NOW,
        )
        .await
        .unwrap();
    let named = store
        .register_community(
            &page(Network::Vk, "zarechny_rayon", "district-adm"),
            true,
            None,
            NOW,
        )
        .await
        .unwrap();
    let tg = store
        .register_community(
            &page(Network::Telegram, "seversk_news", "district-adm"),
            false,
            None,
            NOW,
        )
        .await
        .unwrap();
    let community_of = |id| {
        let store = store.clone();
        async move { store.source_health_of(id).await.unwrap().community }
    };
    assert_eq!(community_of(by_minus.id).await, Some(club));
    assert_eq!(community_of(by_link.id).await, Some(named));
    assert_eq!(community_of(by_at.id).await, Some(tg));
    assert_eq!(community_of(other.id).await, None);
    // A source added after the community: linked on creation, written yet another way.
    let later = add(
        "vk-public",
        Network::Vk,
        "https://m.vk.com/public218004512?w=wall",
    )
    .await;
    assert_eq!(community_of(later.id).await, Some(club));
    // The same name on another network is not a match.
    let ok = add("ok-zarechny", Network::Ok, "zarechny_rayon").await;
    assert_eq!(community_of(ok.id).await, None);
}
