//! Migrations: idempotent, same tables on both backends.

use otklik_store::Store;

use crate::harness::rows_in;

both_backends!(migrations_run_twice, polls_round_trip);

async fn migrations_run_twice(store: Store) {
    // The harness migrated once already; twice more must be no-ops.
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(rows_in(&store, "_sqlx_migrations").await, 1);
    // Every table the store uses exists and starts empty.
    for table in [
        "territories",
        "organisations",
        "users",
        "user_roles",
        "sources",
        "source_state",
        "posts",
        "post_versions",
        "communities",
        "messages",
        "polls",
        "audit_events",
    ] {
        assert_eq!(rows_in(&store, table).await, 0, "{table}");
    }
}

async fn polls_round_trip(store: Store) {
    use otklik_domain::{EntityKind, PollKind, PollStatus, Timestamp};
    crate::fixtures::with_region(&store).await;
    let org = crate::fixtures::org_id(&store, "district-adm").await;
    let new = otklik_store::NewPoll {
        organisation: org,
        title: "Какой двор благоустроить?".into(),
        kind: PollKind::SingleChoice,
        status: PollStatus::Draft,
        territory: None,
        starts_at: crate::fixtures::NOW,
        ends_at: crate::fixtures::NOW.plus_days(14),
    };
    let poll = store
        .create_poll(&new, None, crate::fixtures::NOW)
        .await
        .unwrap();
    assert_eq!(store.poll(poll.id).await.unwrap(), Some(poll.clone()));
    assert_eq!(store.polls().await.unwrap(), vec![poll.clone()]);
    assert_eq!(
        store
            .audit_trail(EntityKind::Poll, poll.id.get())
            .await
            .unwrap()
            .len(),
        1
    );
    let bad = otklik_store::NewPoll {
        ends_at: Timestamp(0),
        ..new
    };
    assert!(
        store
            .create_poll(&bad, None, crate::fixtures::NOW)
            .await
            .is_err()
    );
}
