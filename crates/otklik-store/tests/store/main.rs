//! Storage tests. ONE binary; every test in the modules below runs twice, as
//! `<module>::<test>::sqlite` (a fresh SQLite file in a temp folder) and
//! `<module>::<test>::postgres` (a fresh database created through `OTKLIK_TEST_POSTGRES_URL` and
//! dropped afterwards). Without that variable the PostgreSQL half prints a loud
//! `SKIPPED postgres` line and passes — unless `OTKLIK_REQUIRE_POSTGRES=1`, when it fails.
//! `scripts/test.sh` starts a private PostgreSQL and sets both.

#![allow(clippy::unwrap_used)]

#[macro_use]
extern crate otklik_store;

mod fixtures;
mod harness;

mod admin;
mod api_tokens;
mod attachments;
mod citizens;
mod communities;
mod directory;
mod health;
mod messages;
mod migrations;
mod notify;
mod outbox;
mod posts;
mod saved_searches;
mod search_feed;
mod sessions;
mod sqlite_only;
