//! CSRF: every back-office POST needs the session's token; foreign origins are refused.

use otklik_domain::MessageStatus;
use reqwest::StatusCode;

use crate::support::{action_fields, pairs, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_right_token_are_forbidden() {
    let s = server().await;
    let id = s.submit("Яма на дороге у школы", "town1").await;
    let mut b = s.signed_in("moderator-adm1").await;
    let card = b.get(&format!("/office/messages/{id}")).await;
    assert_eq!(card.status, StatusCode::OK);
    let good = action_fields(&card.body, "accept");
    let path = format!("/office/messages/{id}/act");

    // Missing token.
    let no_token: Vec<_> = good.iter().filter(|(k, _)| k != "_csrf").cloned().collect();
    let p = b.post(&path, &no_token).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("CSRF"));
    // Wrong token (another session's).
    let other = s.signed_in("moderator").await;
    let _ = other;
    let mut wrong = no_token.clone();
    wrong.push(("_csrf".into(), "0".repeat(64)));
    assert_eq!(b.post(&path, &wrong).await.status, StatusCode::FORBIDDEN);
    // The right token from a foreign origin.
    b.origin = Some("https://evil.example".into());
    assert_eq!(b.post(&path, &good).await.status, StatusCode::FORBIDDEN);
    assert_eq!(s.status(id).await, MessageStatus::Moderation);
    // The right token from our own origin works.
    b.origin = Some(s.base.clone());
    let p = b.post(&path, &good).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(s.status(id).await, MessageStatus::Coordination);

    // Sign-out is a POST too.
    assert_eq!(
        b.post("/logout", &pairs(&[("_csrf", "nope")])).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(b.get("/office").await.status, StatusCode::OK);
    // Without any session a POST goes to the sign-in page and changes nothing.
    let mut anon = s.browser();
    let p = anon.post(&path, &good).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(p.location().starts_with("/login"));
}
