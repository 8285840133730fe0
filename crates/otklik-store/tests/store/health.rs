//! Source health: failures in a row, the circuit, lag; adding and switching sources.

use otklik_domain::directory::NewSource;
use otklik_domain::{EntityKind, Network, SourceId, Timestamp};
use otklik_store::{CIRCUIT_OPEN_AFTER, CircuitState, SourceHealth, Store, StoreError};

use crate::fixtures::{NOW, post, with_region};
use crate::harness::snapshot;

both_backends!(
    poll_outcomes_drive_health,
    store_posts_counts_as_success,
    sources_are_added_linked_and_switched,
);

async fn source(store: &Store) -> SourceId {
    store
        .source_by_name("vk-minzdrav-wall")
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn health(store: &Store, src: SourceId) -> SourceHealth {
    let one = store.source_health_of(src).await.unwrap();
    let all = store.source_health().await.unwrap();
    assert_eq!(all.iter().find(|h| h.source.id == src), Some(&one));
    one
}

fn at(minutes: i64) -> Timestamp {
    Timestamp(NOW.millis() + minutes * 60_000)
}

async fn poll_outcomes_drive_health(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;

    // Never polled: zero counters, closed, due.
    let h = health(&store, src).await;
    assert_eq!(h.source.name, "vk-minzdrav-wall");
    assert_eq!(h.source.network, Network::Vk);
    assert_eq!(h.source.target, "minzdrav38");
    assert_eq!(h.consecutive_failures, 0);
    assert_eq!(h.circuit, CircuitState::Closed);
    assert_eq!(h.items_total, 0);
    assert_eq!(h.last_published_at, None);
    assert_eq!(h.lag_ms(NOW), None);
    assert!(h.is_due(NOW));

    // Failures below the threshold keep the circuit closed and reschedule.
    for i in 1..CIRCUIT_OPEN_AFTER {
        let h = store
            .record_poll_failure(src, &format!("HTTP 503 #{i}"), at(i), at(i - 1))
            .await
            .unwrap();
        assert_eq!(h.consecutive_failures, i);
        assert_eq!(h.circuit, CircuitState::Closed);
        assert_eq!(h.open_until, None);
        assert_eq!(h.next_run_at, Some(at(i)));
        assert_eq!(
            h.last_error.as_deref(),
            Some(format!("HTTP 503 #{i}").as_str())
        );
        assert_eq!(h.last_error_at, Some(at(i - 1)));
        assert!(!h.is_due(at(i - 1)));
        assert!(h.is_due(at(i)));
    }
    // The one that reaches the threshold opens it until the retry time.
    let h = store
        .record_poll_failure(src, "HTTP 503", at(60), at(10))
        .await
        .unwrap();
    assert_eq!(h.consecutive_failures, CIRCUIT_OPEN_AFTER);
    assert_eq!(h.circuit, CircuitState::Open);
    assert_eq!(h.open_until, Some(at(60)));
    assert!(!h.is_due(at(59)));
    assert!(h.is_due(at(60)));
    assert_eq!(health(&store, src).await, h);

    // The scheduler half-opens it; the probe fails: open again at once.
    store
        .set_source_circuit(src, CircuitState::HalfOpen, Some(at(1000)))
        .await
        .unwrap();
    let h = health(&store, src).await;
    assert_eq!(h.circuit, CircuitState::HalfOpen);
    assert_eq!(h.open_until, None, "open_until only for an open circuit");
    let h = store
        .record_poll_failure(src, "timeout", at(120), at(61))
        .await
        .unwrap();
    assert_eq!(h.circuit, CircuitState::Open);
    assert_eq!(h.consecutive_failures, CIRCUIT_OPEN_AFTER + 1);
    assert_eq!(h.open_until, Some(at(120)));

    // The next probe succeeds: closed, failures reset, poll figures recorded.
    store
        .set_source_circuit(src, CircuitState::HalfOpen, None)
        .await
        .unwrap();
    store
        .record_poll_success(src, 7, Some(at(100)), at(121))
        .await
        .unwrap();
    let h = health(&store, src).await;
    assert_eq!(h.circuit, CircuitState::Closed);
    assert_eq!(h.consecutive_failures, 0);
    assert_eq!(h.open_until, None);
    assert_eq!(h.items_last_poll, 7);
    assert_eq!(h.last_success_at, Some(at(121)));
    assert_eq!(h.last_poll_at, Some(at(121)));
    assert_eq!(h.last_published_at, Some(at(100)));
    assert_eq!(h.lag_ms(at(130)), Some(30 * 60_000));
    assert_eq!(h.last_error.as_deref(), Some("timeout"), "last error kept");

    // The newest publication time never goes back; an empty poll keeps it.
    store
        .record_poll_success(src, 2, Some(at(50)), at(122))
        .await
        .unwrap();
    store
        .record_poll_success(src, 0, None, at(123))
        .await
        .unwrap();
    let h = health(&store, src).await;
    assert_eq!(h.last_published_at, Some(at(100)));
    assert_eq!(h.items_last_poll, 0);

    // Scheduling.
    store.set_source_next_run(src, Some(at(200))).await.unwrap();
    assert!(!health(&store, src).await.is_due(at(199)));
    store.set_source_next_run(src, None).await.unwrap();
    assert!(health(&store, src).await.is_due(at(124)));

    // Unknown sources are refused and nothing is written.
    let before = snapshot(&store).await;
    let ghost = SourceId(424_242);
    let err = store
        .record_poll_failure(ghost, "x", at(1), NOW)
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
    assert!(
        store
            .record_poll_success(ghost, 1, None, NOW)
            .await
            .is_err()
    );
    assert!(store.source_health_of(ghost).await.is_err());
    assert!(
        store
            .set_source_circuit(ghost, CircuitState::Open, None)
            .await
            .is_err()
    );
    assert_eq!(snapshot(&store).await, before);
}

async fn store_posts_counts_as_success(store: Store) {
    with_region(&store).await;
    let src = source(&store).await;
    store
        .record_source_error(src, "HTTP 500", NOW)
        .await
        .unwrap();
    store
        .record_poll_failure(src, "HTTP 500", at(5), at(1))
        .await
        .unwrap();
    assert_eq!(health(&store, src).await.consecutive_failures, 2);

    let mut newer = post("-1_2", "два");
    newer.published_at = at(3);
    store
        .store_posts(src, &[post("-1_1", "раз"), newer], Some("c1"), at(4))
        .await
        .unwrap();
    let h = health(&store, src).await;
    assert_eq!(h.consecutive_failures, 0);
    assert_eq!(h.circuit, CircuitState::Closed);
    assert_eq!(h.items_total, 2);
    assert_eq!(h.last_success_at, Some(at(4)));
    assert_eq!(h.last_published_at, Some(at(3)));
    assert_eq!(h.cursor.as_deref(), Some("c1"));
    assert_eq!(h.last_error.as_deref(), Some("HTTP 500"));
}

fn new_source(name: &str, target: &str, territory: Option<&str>) -> NewSource {
    NewSource {
        name: name.into(),
        network: Network::Vk,
        target: target.into(),
        schedule: "0 */5 * * * *".into(),
        territory_code: territory.map(Into::into),
        enabled: true,
    }
}

async fn sources_are_added_linked_and_switched(store: Store) {
    with_region(&store).await;
    let minzdrav = store.communities().await.unwrap()[0].id;
    // The imported source reads the imported community.
    let src = source(&store).await;
    assert_eq!(health(&store, src).await.community, Some(minzdrav));

    // A new source by the community's URL is linked too; one reading elsewhere is not.
    let by_url = store
        .add_source(
            &new_source(
                "vk-minzdrav-comments",
                "https://vk.com/minzdrav38",
                Some("district"),
            ),
            None,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(by_url.name, "vk-minzdrav-comments");
    assert!(by_url.territory.is_some());
    assert_eq!(
        store.source_by_name("vk-minzdrav-comments").await.unwrap(),
        Some(by_url.clone())
    );
    assert_eq!(health(&store, by_url.id).await.community, Some(minzdrav));
    let other = store
        .add_source(&new_source("vk-city", "club999", None), None, NOW)
        .await
        .unwrap();
    assert_eq!(health(&store, other.id).await.community, None);
    let trail = store
        .audit_trail(EntityKind::Source, other.id.get())
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].event.action, "created");

    // Refusals write nothing.
    let before = snapshot(&store).await;
    let err = store
        .add_source(&new_source("vk-city", "club1", None), None, NOW)
        .await
        .unwrap_err();
    assert!(err.is_duplicate(), "{err:?}");
    assert!(
        matches!(&err, StoreError::Duplicate { entity: EntityKind::Source, key } if key == "vk-city"),
        "{err:?}"
    );
    let err = store
        .add_source(&new_source("vk-x", "club1", Some("atlantis")), None, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UnknownReference {
                kind: EntityKind::Territory,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        store
            .add_source(&new_source(" ", "club1", None), None, NOW)
            .await
            .is_err()
    );
    let err = store
        .set_source_enabled("nope", false, None, NOW)
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
    assert_eq!(snapshot(&store).await, before);

    // Switching off: not due any more, audited.
    let off = store
        .set_source_enabled("vk-city", false, None, at(1))
        .await
        .unwrap();
    assert!(!off.enabled);
    let h = health(&store, other.id).await;
    assert!(!h.source.enabled);
    assert!(!h.is_due(at(2)));
    let on = store
        .set_source_enabled("vk-city", true, None, at(2))
        .await
        .unwrap();
    assert!(on.enabled);
    let actions: Vec<String> = store
        .audit_trail(EntityKind::Source, other.id.get())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect();
    assert_eq!(actions, ["created", "disable", "enable"]);
}
