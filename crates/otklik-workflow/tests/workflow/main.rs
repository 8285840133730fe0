//! Workflow tests. ONE binary; every test in the modules below runs twice, as
//! `<module>::<test>::sqlite` (a fresh SQLite file in a temp folder) and
//! `<module>::<test>::postgres` (a fresh database created through `OTKLIK_TEST_POSTGRES_URL` and
//! dropped afterwards). Without that variable the PostgreSQL half prints a loud
//! `SKIPPED postgres` line and passes — unless `OTKLIK_REQUIRE_POSTGRES=1`, when it fails.

#![allow(clippy::unwrap_used)]

#[macro_use]
extern crate otklik_store;

mod fixtures;

mod concurrency;
mod control;
mod deadlines;
mod duplicates;
mod group;
mod idempotency;
mod intake;
mod notifications;
mod roles;
mod scenario;
