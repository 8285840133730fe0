//! Citizens of an identity provider: accounts made at the first sign-in, identities kept as
//! hashes, sign-ins under way taken once, a citizen's own messages.

use otklik_domain::{EntityKind, Timestamp};
use otklik_store::testing::rows_in;
use otklik_store::{NewCitizen, OidcLogin, Store};

use crate::fixtures::{NOW, new_message, org_id, with_region};

const HASH_A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const HASH_B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const STATE: &str = "state-0123456789abcdef0123456789abcdef";
const VERIFIER: &str = "verifier-0123456789abcdef0123456789abcdef0123456789";

fn citizen<'a>(provider: &'a str, hash: &'a str, name: &'a str) -> NewCitizen<'a> {
    NewCitizen {
        provider,
        subject_hash: hash,
        full_name: name,
        email: Some("maria@example.ru"),
    }
}

async fn first_sign_in_creates_the_account(store: Store) {
    with_region(&store).await;
    let users_before = rows_in(&store, "users").await;
    let first = store
        .sign_in_citizen(&citizen("esia", HASH_A, "Иванова Мария Петровна"), NOW)
        .await
        .unwrap();
    assert!(first.created);
    let u = &first.user;
    assert_eq!(u.full_name, "Иванова Мария Петровна");
    assert_eq!(u.email.as_deref(), Some("maria@example.ru"));
    assert!(u.roles.is_empty(), "a citizen holds no organisation role");
    assert_eq!(u.organisation, None);
    assert!(u.login.starts_with("esia:"));
    assert!(
        !u.login.contains(&HASH_A[30..]),
        "the login keeps only a prefix"
    );
    assert_eq!(rows_in(&store, "users").await, users_before + 1);
    let trail = store
        .audit_trail(EntityKind::User, u.id.get())
        .await
        .unwrap();
    assert!(trail.iter().any(|e| e.event.action == "citizen_registered"));

    // The second sign-in finds the same account and refreshes the name from the claims.
    let later = Timestamp(NOW.millis() + 60_000);
    let again = store
        .sign_in_citizen(
            &NewCitizen {
                email: None,
                ..citizen("esia", HASH_A, "Иванова-Петрова Мария")
            },
            later,
        )
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.user.id, u.id);
    assert_eq!(again.user.full_name, "Иванова-Петрова Мария");
    assert_eq!(
        again.user.email.as_deref(),
        Some("maria@example.ru"),
        "kept"
    );
    assert_eq!(rows_in(&store, "users").await, users_before + 1);
    assert_eq!(
        store
            .citizen_by_identity("esia", HASH_A)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(u.id)
    );

    // Another subject, or the same hash at another provider, is another citizen.
    let other = store
        .sign_in_citizen(&citizen("esia", HASH_B, ""), NOW)
        .await
        .unwrap();
    assert!(other.created);
    assert_ne!(other.user.id, u.id);
    assert_eq!(other.user.full_name, "Гражданин", "no name in the claims");
    let elsewhere = store
        .sign_in_citizen(&citizen("test", HASH_A, "Мария"), NOW)
        .await
        .unwrap();
    assert!(elsewhere.created);
    assert_ne!(elsewhere.user.id, u.id);
    assert!(
        store
            .citizen_by_identity("esia", "c".repeat(64).as_str())
            .await
            .unwrap()
            .is_none()
    );
    // The subject itself is nowhere: only its hash.
    let stored: Vec<String> = sqlx::query_scalar("SELECT subject_hash FROM citizen_identities")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
}

async fn bad_identities_are_refused(store: Store) {
    with_region(&store).await;
    for (provider, hash) in [
        ("esia", "short"),
        ("esia", &"A".repeat(64)[..]),
        ("", HASH_A),
        ("es ia", HASH_A),
        ("esia'; DROP TABLE users; --", HASH_A),
    ] {
        assert!(
            store
                .sign_in_citizen(&citizen(provider, hash, "Имя"), NOW)
                .await
                .is_err(),
            "{provider:?} {hash:?}"
        );
    }
    assert_eq!(rows_in(&store, "citizen_identities").await, 0);
    // Hostile text in the claims is stored as text, cut to the limit.
    let long = "<script>alert(1)</script>".repeat(20);
    let s = store
        .sign_in_citizen(&citizen("esia", HASH_A, &long), NOW)
        .await
        .unwrap();
    assert_eq!(
        s.user.full_name.chars().count(),
        otklik_store::MAX_CLAIM_CHARS
    );
    assert!(s.user.full_name.starts_with("<script>"));
}

async fn oidc_logins_are_taken_once(store: Store) {
    let login = OidcLogin {
        nonce: "nonce-1".into(),
        code_verifier: VERIFIER.into(),
        return_to: "/my/messages".into(),
        created_at: NOW,
    };
    store
        .start_oidc_login(STATE, &login, 600_000, NOW)
        .await
        .unwrap();
    // Only the state's digest is the key.
    let key: String = sqlx::query_scalar("SELECT state_hash FROM oidc_logins")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_ne!(key, STATE);
    assert!(
        store
            .take_oidc_login("other-state", 600_000, NOW)
            .await
            .unwrap()
            .is_none()
    );
    let taken = store
        .take_oidc_login(STATE, 600_000, Timestamp(NOW.millis() + 1000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.nonce, "nonce-1");
    assert_eq!(taken.code_verifier, VERIFIER);
    assert_eq!(taken.return_to, "/my/messages");
    assert!(
        !format!("{taken:?}").contains(VERIFIER),
        "the verifier is hidden"
    );
    assert!(
        store
            .take_oidc_login(STATE, 600_000, NOW)
            .await
            .unwrap()
            .is_none(),
        "used once"
    );

    // Too old: refused, and purged by the next start.
    store
        .start_oidc_login(STATE, &login, 600_000, NOW)
        .await
        .unwrap();
    let late = Timestamp(NOW.millis() + 600_001);
    assert!(
        store
            .take_oidc_login(STATE, 600_000, late)
            .await
            .unwrap()
            .is_none()
    );
    store
        .start_oidc_login(STATE, &login, 600_000, NOW)
        .await
        .unwrap();
    store
        .start_oidc_login(&format!("{STATE}-2"), &login, 600_000, late)
        .await
        .unwrap();
    assert_eq!(
        rows_in(&store, "oidc_logins").await,
        1,
        "the stale one was purged"
    );
    // A short state or verifier is refused.
    assert!(
        store
            .start_oidc_login("short", &login, 600_000, NOW)
            .await
            .is_err()
    );
    let weak = OidcLogin {
        code_verifier: "short".into(),
        ..login
    };
    assert!(
        store
            .start_oidc_login(STATE, &weak, 600_000, NOW)
            .await
            .is_err()
    );
}

async fn a_citizen_lists_only_own_messages(store: Store) {
    with_region(&store).await;
    let adm = org_id(&store, "district-adm").await;
    let maria = store
        .sign_in_citizen(&citizen("esia", HASH_A, "Мария"), NOW)
        .await
        .unwrap()
        .user;
    let ivan = store
        .sign_in_citizen(&citizen("esia", HASH_B, "Иван"), NOW)
        .await
        .unwrap()
        .user;
    for (i, (who, text)) in [
        (maria.id, "первое"),
        (ivan.id, "чужое"),
        (maria.id, "второе"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut m = new_message(Some(adm), text);
        m.author = Some(who);
        store
            .create_message(&m, Some(&format!("key-{i}")), None, NOW)
            .await
            .unwrap();
    }
    let own = store.messages_of_author(maria.id, 50).await.unwrap();
    let texts: Vec<&str> = own.iter().map(|r| r.message.text.as_str()).collect();
    assert_eq!(texts, ["второе", "первое"], "newest first, only her own");
    assert_eq!(
        store.messages_of_author(maria.id, 1).await.unwrap().len(),
        1
    );
    assert!(store.messages_of_author(maria.id, 0).await.is_err());
    assert!(store.messages_of_author(maria.id, 501).await.is_err());
}

both_backends!(
    first_sign_in_creates_the_account,
    bad_identities_are_refused,
    oidc_logins_are_taken_once,
    a_citizen_lists_only_own_messages,
);
