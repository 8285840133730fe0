//! Migrations: idempotent, same tables on both backends.

use otklik_store::Store;

use crate::harness::rows_in;

both_backends!(migrations_run_twice, polls_round_trip);

/// How many migration files the workspace has for this store's backend (every one must be
/// applied exactly once).
fn migration_files(store: &Store) -> i64 {
    let flavour = match store.backend() {
        otklik_store::Backend::Sqlite => "sqlite",
        otklik_store::Backend::Postgres => "postgres",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(flavour);
    let n = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".sql")
        })
        .count();
    assert!(n >= 2, "at least 0001 and 0002");
    i64::try_from(n).unwrap()
}

async fn migrations_run_twice(store: Store) {
    // The harness migrated once already; twice more must be no-ops.
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        rows_in(&store, "_sqlx_migrations").await,
        migration_files(&store)
    );
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
        "outbound_replies",
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

both_backends_unmigrated!(upgrade_from_0001_backfills_links);

/// A database at migration 0001 with a directory and posts is upgraded: VK/OK pages become
/// required, sources and their posts get linked to the community their target names.
async fn upgrade_from_0001_backfills_links(store: Store) {
    use otklik_domain::Network;
    use otklik_store::Backend;

    // Apply only 0001, from a copy of the workspace's file (same checksum as the embedded one).
    let flavour = match store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(flavour)
        .join("0001_init.sql");
    std::fs::copy(&src, dir.path().join("0001_init.sql")).unwrap();
    let first = sqlx::migrate::Migrator::new(dir.path().to_path_buf())
        .await
        .unwrap();
    first.run(store.pool()).await.unwrap();
    assert_eq!(rows_in(&store, "_sqlx_migrations").await, 1);

    for sql in [
        "INSERT INTO territories (id, code, kind, name) VALUES (1, 'r', 'region', 'Регион')",
        "INSERT INTO organisations (id, code, kind, name, territory_id) \
         VALUES (1, 'o', 'roiv', 'Орган', 1)",
        "INSERT INTO communities (id, network, external_id, url, title, organisation_id, \
         verification) VALUES (1, 'vk', 'club1', 'https://vk.com/club1', 'VK', 1, 'verified')",
        "INSERT INTO communities (id, network, external_id, url, title, organisation_id, \
         verification) VALUES (2, 'telegram', 'chan', 'https://t.me/chan', 'TG', 1, 'pending')",
        "INSERT INTO sources (id, name, network, target, schedule) \
         VALUES (1, 'by-url', 'vk', 'https://vk.com/club1', '0 * * * * *')",
        "INSERT INTO sources (id, name, network, target, schedule) \
         VALUES (2, 'elsewhere', 'vk', 'club2', '0 * * * * *')",
        "INSERT INTO posts (id, source_id, network, external_id, text, published_at, \
         collected_at, updated_at, content_hash) VALUES (1, 1, 'vk', '-1_1', 't', 1, 1, 1, 'h')",
        "INSERT INTO posts (id, source_id, network, external_id, text, published_at, \
         collected_at, updated_at, content_hash) VALUES (2, 2, 'vk', '-2_1', 't', 1, 1, 1, 'h')",
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(store.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    store.migrate().await.unwrap();
    assert_eq!(
        rows_in(&store, "_sqlx_migrations").await,
        migration_files(&store)
    );
    assert_eq!(rows_in(&store, "outbound_replies").await, 0);

    let vk = store
        .community(otklik_domain::CommunityId(1))
        .await
        .unwrap()
        .unwrap();
    assert!(vk.required);
    assert_eq!(vk.added_at, None);
    assert!(
        !store
            .community(otklik_domain::CommunityId(2))
            .await
            .unwrap()
            .unwrap()
            .required
    );
    let health = store.source_health().await.unwrap();
    assert_eq!(health[0].community, Some(vk.community.id));
    assert_eq!(health[1].community, None);
    assert_eq!(health[0].items_total, 0);
    let linked = store
        .post_by_external_id(Network::Vk, "-1_1")
        .await
        .unwrap()
        .unwrap();
    let details = store.post_details(linked.id).await.unwrap().unwrap();
    assert_eq!(details.community, Some(vk.community.id));
    assert_eq!(details.attachments, Vec::<String>::new());
    assert_eq!(details.classification, None);
    let other = store
        .post_by_external_id(Network::Vk, "-2_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .post_details(other.id)
            .await
            .unwrap()
            .unwrap()
            .community,
        None
    );
}
