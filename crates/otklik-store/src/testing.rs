//! Test support for crates whose tests need a real database (feature `testing`): run one
//! async test body on a fresh, migrated SQLite file and on a fresh PostgreSQL database.
//!
//! ```ignore
//! #[macro_use]
//! extern crate otklik_store;
//!
//! async fn inserts_and_reads(store: otklik_store::Store) { /* … */ }
//! both_backends!(inserts_and_reads); // → inserts_and_reads::sqlite, inserts_and_reads::postgres
//! ```
//!
//! PostgreSQL comes from `OTKLIK_TEST_POSTGRES_URL` (an admin URL: a database is created per
//! test and dropped afterwards). Without it the PostgreSQL half prints a loud `SKIPPED postgres`
//! line and passes, unless `OTKLIK_REQUIRE_POSTGRES=1`, when it fails. `scripts/test.sh` sets
//! both.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{AnyConnection, AssertSqlSafe, Connection};

use crate::{Store, StoreOptions, redact_url, sqlite_url};

/// Admin URL of a PostgreSQL server where tests may create and drop databases.
pub const POSTGRES_URL_VAR: &str = "OTKLIK_TEST_POSTGRES_URL";
/// When "1", a missing PostgreSQL fails the tests instead of skipping them.
pub const REQUIRE_POSTGRES_VAR: &str = "OTKLIK_REQUIRE_POSTGRES";

/// Generates `mod NAME { fn sqlite(); fn postgres(); }` for each async `fn NAME(Store)` in
/// the calling module (the caller needs tokio with the `macros` feature).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::testing::on_sqlite(module_path!(), super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::testing::on_postgres(module_path!(), super::$name).await;
            }
        }
    )+};
}

/// [`both_backends!`] for bodies that get an empty, NOT migrated store (upgrade tests).
#[macro_export]
macro_rules! both_backends_unmigrated {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::testing::on_sqlite_with(module_path!(), false, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::testing::on_postgres_with(module_path!(), false, super::$name).await;
            }
        }
    )+};
}

fn test_options() -> StoreOptions {
    StoreOptions {
        // Tests run in parallel; keep each one's share of PostgreSQL connections small.
        max_connections: 5,
        ..StoreOptions::default()
    }
}

/// Runs `body` on a migrated store over a new SQLite file in a temp folder.
pub async fn on_sqlite<F, Fut>(name: &str, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_sqlite_with(name, true, body).await;
}

/// Runs `body` on a store over a new SQLite file, migrated when `migrate`.
pub async fn on_sqlite_with<F, Fut>(_name: &str, migrate: bool, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(&dir.path().join("otklik.db"));
    let store = Store::connect_with(&url, test_options())
        .await
        .expect("open sqlite");
    if migrate {
        store.migrate().await.expect("migrate sqlite");
    }
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await;
    drop(dir);
    rethrow(outcome);
}

/// Runs `body` on a migrated store over a new PostgreSQL database, dropped afterwards.
pub async fn on_postgres<F, Fut>(name: &str, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_postgres_with(name, true, body).await;
}

/// Runs `body` on a store over a new PostgreSQL database (migrated when `migrate`), dropped
/// afterwards.
pub async fn on_postgres_with<F, Fut>(name: &str, migrate: bool, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if std::env::var(REQUIRE_POSTGRES_VAR).as_deref() == Ok("1") {
                panic!("{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set");
            }
            // Written straight to stderr so that the test harness does not capture it.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED postgres: {name} ({POSTGRES_URL_VAR} is not set; run scripts/test.sh)"
            );
            return;
        }
    };
    sqlx::any::install_default_drivers();
    let db = unique_db_name();
    let mut admin = AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", redact_url(&admin_url)));
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("create database {db}: {e}"));

    let url = with_database(&admin_url, &db);
    let outcome = match Store::connect_with(&url, test_options()).await {
        Ok(store) => {
            let migrated = if migrate {
                store.migrate().await
            } else {
                Ok(())
            };
            let outcome = match migrated {
                Ok(()) => tokio::spawn(body(store.clone())).await,
                Err(e) => tokio::spawn(async move { panic!("migrate postgres: {e}") }).await,
            };
            store.close().await;
            outcome
        }
        Err(e) => tokio::spawn(async move { panic!("open postgres: {e}") }).await,
    };
    let dropped = sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    let _ = admin.close().await;
    rethrow(outcome);
    dropped.unwrap_or_else(|e| panic!("drop database {db}: {e}"));
}

fn rethrow(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

fn unique_db_name() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "otklik_t_{:x}_{:x}_{}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff,
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// The same server URL with another database name.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    // The authority ends at the first '/' after the userinfo (which ends at the last '@').
    let search_from = rest.rfind('@').map_or(0, |at| at + 1);
    let authority_end = rest[search_from..]
        .find('/')
        .map_or(rest.len(), |i| search_from + i);
    let mut out = format!("{scheme}://{}/{db}", &rest[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Rows in a table (for "nothing was written" checks).
pub async fn rows_in(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:55432/postgres", "x"),
            "postgres://u:p@127.0.0.1:55432/x"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_database("postgresql://u:a/b@h:1/db?sslmode=disable", "x"),
            "postgresql://u:a/b@h:1/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres:///db?host=/run/postgresql", "x"),
            "postgres:///x?host=/run/postgresql"
        );
    }
}
