//! HTTP tests of the sign-in and the back-office: the real server on loopback over a real
//! SQLite file, driven like a browser (cookies, forms, no JavaScript). Storage of sessions and
//! the throttle is tested on both backends in otklik-store's `sessions` tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod citizen_rating;
mod citizen_signin;
mod citizen_support;
mod citizen_widget;

mod api;
mod api_open311;
mod api_support;

mod access;
mod admin;
mod csrf;
mod office;
mod polls;
mod reports;
mod scenario;
mod search;
mod signin;
