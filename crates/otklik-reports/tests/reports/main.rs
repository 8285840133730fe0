//! otklik-reports against a real store: every test runs on SQLite and on PostgreSQL
//! (`<test>::sqlite`, `<test>::postgres`; see `otklik_store::testing`).

#![allow(clippy::unwrap_used)]

#[macro_use]
extern crate otklik_store;

mod alerts;
mod store;
mod xlsx;
