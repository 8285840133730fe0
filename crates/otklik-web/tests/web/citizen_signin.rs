//! Citizens sign in through the (fake) OIDC provider over real HTTP on loopback: the whole
//! authorization-code flow with PKCE, and every way a callback must be refused.

use otklik_domain::EntityKind;
use otklik_store::SessionKind;
use otklik_store::testing::rows_in;
use otklik_web::oidc::testing::{FakeCitizen, Misbehave};
use reqwest::StatusCode;

use crate::citizen_support::citizen_server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_signs_in_through_the_provider() {
    let s = citizen_server().await;
    let users = rows_in(&s.store, "users").await;
    let mut a = s.agent();
    // Without a session the citizen pages go to the sign-in.
    let p = a.get("/my/messages").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        p.location().starts_with("/citizen/login?next="),
        "{}",
        p.location()
    );

    let (page, hops) = a.follow("/my/messages").await;
    assert_eq!(page.status, StatusCode::OK, "{hops:?} {}", page.body);
    assert!(page.body.contains("Мои сообщения"));
    assert!(page.body.contains("Иванова Мария Петровна"));
    assert!(hops[2].starts_with(s.provider.issuer()), "{hops:?}");
    assert!(hops[3].contains("/citizen/callback?code="), "{hops:?}");
    assert_eq!(s.provider.tokens_issued(), 1);
    // The account: no roles, no organisation, the e-mail of the claims; the subject hashed.
    assert_eq!(rows_in(&s.store, "users").await, users + 1);
    let hash: String = sqlx::query_scalar("SELECT subject_hash FROM citizen_identities")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    assert_ne!(hash, "1000001");
    assert_eq!(hash.len(), 64);
    let user = s
        .store
        .citizen_by_identity("test", &hash)
        .await
        .unwrap()
        .unwrap();
    assert!(user.roles.is_empty());
    assert_eq!(user.email.as_deref(), Some("maria.ivanova@example.ru"));
    // The session is a citizen's, under its own cookie; the state cookie is gone.
    let token = a.cookie("otklik_citizen").expect("citizen cookie");
    assert!(a.cookie("otklik_oidc").is_none());
    let session = s
        .store
        .session(
            &token,
            otklik_store::SessionLimits::default(),
            crate::support::now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.kind, SessionKind::Citizen);
    assert_eq!(session.user, user.id);
    let trail = s
        .store
        .audit_trail(EntityKind::User, user.id.get())
        .await
        .unwrap();
    assert!(trail.iter().any(|e| e.event.action == "citizen_sign_in"));
    // A citizen session opens no back-office.
    let office = a.get("/office").await;
    assert_ne!(office.status, StatusCode::OK);

    // Signing in again (another browser) finds the same account.
    let mut b = s.agent();
    let page = b.sign_in("/my/messages").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(rows_in(&s.store, "users").await, users + 1);
    assert_ne!(b.cookie("otklik_citizen"), a.cookie("otklik_citizen"));

    // Sign-out ends the session.
    let csrf = crate::citizen_support::hidden(&page.body, "_csrf");
    let out = b.post_form("/citizen/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(b.cookie("otklik_citizen").is_none());
    let again = b.get("/my/messages").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_or_replayed_state_is_refused() {
    let s = citizen_server().await;
    let mut a = s.agent();
    let callback = a.callback_url().await;
    // Another state than the one this browser started with.
    let state = callback.split("state=").nth(1).unwrap().to_owned();
    let forged = callback.replace(&state, &"f".repeat(64));
    let p = a.get(&forged).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("Вход не выполнен"), "{}", p.body);
    assert!(p.body.contains("state"), "{}", p.body);
    assert!(a.cookie("otklik_citizen").is_none());

    // The right callback in another browser (no state cookie): refused too.
    let mut a = s.agent();
    let callback = a.callback_url().await;
    let mut thief = s.agent();
    let p = thief.get(&callback).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(thief.cookie("otklik_citizen").is_none());
    // In its own browser it works once; replayed, it is refused.
    let p = a.get(&callback).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(a.cookie("otklik_citizen").is_some());
    let mut replay = s.agent();
    replay.jar = a.jar.clone();
    replay
        .jar
        .get_mut(&s.base["http://".len()..])
        .unwrap()
        .insert("otklik_oidc".into(), state_of(&callback));
    replay
        .jar
        .get_mut(&s.base["http://".len()..])
        .unwrap()
        .remove("otklik_citizen");
    let p = replay.get(&callback).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(replay.cookie("otklik_citizen").is_none());

    // The provider's own refusal.
    let p = s
        .agent()
        .get("/citizen/callback?error=access_denied&state=x")
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("не подтвердила вход"));
}

fn state_of(callback: &str) -> String {
    callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoiled_id_tokens_are_refused() {
    let s = citizen_server().await;
    let users = rows_in(&s.store, "users").await;
    for (how, says) in [
        (Misbehave::BadSignature, "не прошло проверку подлинности"),
        (
            Misbehave::Expired,
            "Срок действия подтверждения входа истёк",
        ),
        (Misbehave::WrongNonce, "не относится к этой попытке входа"),
        (Misbehave::WrongAudience, "не прошло проверку подлинности"),
        (Misbehave::WrongIssuer, "не прошло проверку подлинности"),
        (Misbehave::AlgNone, "не прошло проверку подлинности"),
    ] {
        s.provider.misbehave(how);
        let mut a = s.agent();
        let callback = a.callback_url().await;
        let p = a.get(&callback).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{how:?}: {}", p.body);
        assert!(p.body.contains("Вход не выполнен"), "{how:?}");
        assert!(p.body.contains(says), "{how:?}: {}", p.body);
        assert!(a.cookie("otklik_citizen").is_none(), "{how:?}");
    }
    assert_eq!(
        rows_in(&s.store, "users").await,
        users,
        "nobody was created"
    );
    assert_eq!(rows_in(&s.store, "citizen_identities").await, 0);
    assert_eq!(rows_in(&s.store, "sessions").await, 0);
    // And a correct token afterwards works.
    s.provider.misbehave(Misbehave::Nothing);
    s.provider.set_citizen(FakeCitizen {
        sub: "2000002".into(),
        name: "Петров Иван".into(),
        email: None,
    });
    let mut a = s.agent();
    let page = a.sign_in("/my/messages").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Петров Иван"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_only_returns_to_local_citizen_pages() {
    let s = citizen_server().await;
    let mut a = s.agent();
    let (page, hops) = a.follow("/citizen/login?next=https://evil.example/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(hops.last().unwrap().ends_with("/my/messages"), "{hops:?}");
    let (_, hops) = a.follow("/citizen/login?next=/widget/adm1").await;
    assert!(hops.last().unwrap().ends_with("/widget/adm1"), "{hops:?}");
}
