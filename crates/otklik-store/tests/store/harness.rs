//! The two-backend harness is `otklik_store::testing` (shared with other crates' tests); this
//! module adds what only the storage suite needs.

use otklik_store::Store;
pub use otklik_store::testing::rows_in;

/// Row counts of every table, to compare before and after a refused change.
pub async fn snapshot(store: &Store) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "territories",
        "organisations",
        "users",
        "user_roles",
        "communities",
        "sources",
        "source_state",
        "posts",
        "post_versions",
        "messages",
        "polls",
        "audit_events",
        "outbound_replies",
    ] {
        out.push((table, rows_in(store, table).await));
    }
    out
}
