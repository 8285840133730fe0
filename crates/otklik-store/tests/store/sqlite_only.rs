//! SQLite specifics: first-run file creation, per-connection settings.

use otklik_store::{Backend, Store, sqlite_url};

async fn pragma(store: &Store, name: &str) -> String {
    use sqlx::Row;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
        .fetch_one(store.pool())
        .await
        .unwrap();
    // journal_mode answers text, the others integers.
    row.try_get::<String, _>(0)
        .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
        .unwrap()
}

#[tokio::test]
async fn first_run_creates_the_file_in_a_missing_folder_with_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("not/yet/there/otklik.db");
    assert!(!db.parent().unwrap().exists());
    let store = Store::connect(&sqlite_url(&db)).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(db.is_file(), "database file created on first run");
    store.migrate().await.unwrap();
    assert_eq!(pragma(&store, "journal_mode").await, "wal");
    assert_eq!(pragma(&store, "foreign_keys").await, "1");
    assert_eq!(pragma(&store, "synchronous").await, "1", "NORMAL");
    assert_eq!(pragma(&store, "busy_timeout").await, "5000");
    // Every pooled connection gets the settings, not just the first.
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(store.pool().acquire().await.unwrap());
    }
    for conn in &mut conns {
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(fk, 1);
    }
    drop(conns);
    store.close().await;

    // Second run: the same file, data kept, migrations a no-op.
    let store = Store::connect(&sqlite_url(&db)).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(pragma(&store, "journal_mode").await, "wal");
    store.close().await;
}

#[tokio::test]
async fn data_dir_holds_otklik_db() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data dir #1");
    let store = Store::open_data_dir(&data).await.unwrap();
    store.migrate().await.unwrap();
    crate::fixtures::with_region(&store).await;
    store.close().await;
    assert!(data.join("otklik.db").is_file());
    let store = Store::open_data_dir(&data).await.unwrap();
    assert_eq!(store.counts().await.unwrap().territories, 3);
    assert!(format!("{store:?}").contains("otklik.db"));
    store.close().await;
}

#[tokio::test]
async fn bad_urls_are_refused_without_leaking_passwords() {
    let err = Store::connect("mysql://root:hunter2@db/otklik")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"));
    // Nothing listens on port 1: the connection error names the server, not the password.
    let err = Store::connect_with(
        "postgres://otklik:hunter2@127.0.0.1:1/otklik",
        otklik_store::StoreOptions {
            acquire_timeout: std::time::Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    assert!(err.to_string().contains("otklik:***@127.0.0.1:1"), "{err}");
}
