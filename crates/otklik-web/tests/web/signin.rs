//! Sign-in, sign-out, session rotation and expiry, throttling and lockout.

use std::time::Duration;

use otklik_store::{SessionLimits, ThrottlePolicy};
use otklik_web::auth::AuthConfig;
use reqwest::StatusCode;

use crate::support::{PASSWORD, pairs, server, server_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_rotates_the_session_and_sign_out_ends_it() {
    let s = server().await;
    let mut b = s.browser();
    // Without a session the back-office sends to the sign-in page.
    let p = b.get("/office/queue/moderation").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/login?next=/office/queue/moderation");

    let p = b.login_page("moderator-adm1", PASSWORD).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), "/office");
    let set_cookie: Vec<_> = p
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session_cookie = set_cookie
        .iter()
        .find(|c| c.starts_with("otklik_session="))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly"));
    assert!(session_cookie.contains("SameSite=Lax"));
    assert!(session_cookie.contains("Path=/"));
    let first = b.session().unwrap();
    assert_eq!(first.len(), 64);
    // Only the digest is stored.
    let stored: Vec<String> = sqlx_ids(&s).await;
    assert_eq!(stored, vec![otklik_store::session_digest(&first)]);

    let home = b.get("/office").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Сотрудник moderator-adm1"));
    assert!(home.body.contains("lang=\"ru\""));
    assert!(home.body.contains("Перейти к содержанию"));
    assert_eq!(home.headers["cache-control"], "no-store");
    assert_eq!(home.headers["x-frame-options"], "DENY");
    assert!(home.headers.contains_key("content-security-policy"));

    // Signing in again from the same browser rotates the id; the old one is dead.
    assert_eq!(
        b.login("moderator-adm1", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let second = b.session().unwrap();
    assert_ne!(first, second);
    let mut old = s.browser();
    old.cookies.insert("otklik_session".into(), first);
    assert_eq!(old.get("/office").await.status, StatusCode::SEE_OTHER);
    assert_eq!(sqlx_ids(&s).await.len(), 1);

    // Sign-out ends the session server-side and clears the cookie.
    let csrf = crate::support::hidden(&b.get("/office").await.body, "_csrf");
    let out = b.post("/logout", &pairs(&[("_csrf", &csrf)])).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    assert!(b.session().is_none());
    let mut replay = s.browser();
    replay.cookies.insert("otklik_session".into(), second);
    assert_eq!(replay.get("/office").await.status, StatusCode::SEE_OTHER);
    assert!(sqlx_ids(&s).await.is_empty());
}

/// The stored session keys.
async fn sqlx_ids(s: &crate::support::Server) -> Vec<String> {
    sqlx::query_scalar("SELECT id_hash FROM sessions ORDER BY id_hash")
        .fetch_all(s.store.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_and_unknown_logins_are_refused_alike() {
    let s = server().await;
    let mut b = s.browser();
    let bad = b.login_page("moderator-adm1", "неверный пароль").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.body.contains("Неверный логин или пароль."));
    let unknown = b.login_page("nobody", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("Неверный логин или пароль."));
    assert!(b.session().is_none());
    // A citizen account does not enter the back-office.
    assert_eq!(b.login("citizen", PASSWORD).await, StatusCode::UNAUTHORIZED);
    // The sign-in form needs its own CSRF cookie and token.
    let mut bare = s.browser();
    let p = bare
        .post(
            "/login",
            &pairs(&[
                ("_csrf", "x"),
                ("login", "moderator-adm1"),
                ("password", PASSWORD),
            ]),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Hostile input is refused, not a crash.
    let long = "л".repeat(5000);
    assert_eq!(b.login(&long, &long).await, StatusCode::UNAUTHORIZED);
    assert_eq!(b.login("' OR 1=1 --", "x").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_login() {
    let s = server().await;
    let mut b = s.browser();
    for _ in 0..5 {
        assert_eq!(
            b.login("head-adm1", "guess guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password is refused, with a clear message.
    let p = b.login_page("head-adm1", PASSWORD).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(p.body.contains("Вход временно заблокирован"), "{}", p.body);
    assert!(b.session().is_none());
    // Another account from the same address still signs in (the address limit is higher).
    assert_eq!(b.login("head-adm2", PASSWORD).await, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_guessing_many_logins_is_locked() {
    let s = server_with(AuthConfig {
        throttle: ThrottlePolicy {
            max_failures_per_ip: 3,
            ..ThrottlePolicy::default()
        },
        ..AuthConfig::default()
    })
    .await;
    let mut b = s.browser();
    for login in ["a1", "a2", "a3"] {
        assert_eq!(
            b.login(login, "guess guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        b.login("moderator", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_expire() {
    let s = server_with(AuthConfig {
        limits: SessionLimits {
            idle_ms: 1_000,
            absolute_ms: 60_000,
        },
        ..AuthConfig::default()
    })
    .await;
    let mut b = s.signed_in("moderator").await;
    assert_eq!(b.get("/office").await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let p = b.get("/office").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(p.location().starts_with("/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_at_the_absolute_timeout_however_busy() {
    let s = server_with(AuthConfig {
        limits: SessionLimits {
            idle_ms: 1_000,
            absolute_ms: 2_500,
        },
        ..AuthConfig::default()
    })
    .await;
    let mut b = s.signed_in("moderator").await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(b.get("/office").await.status, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(b.get("/office").await.status, StatusCode::SEE_OTHER);
}
