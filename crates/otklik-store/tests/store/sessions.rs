//! Web sign-in state: sessions (hashed ids, rotation, idle and absolute expiry), the failed
//! sign-in throttle, password hashes; and the back-office queue query.

use otklik_domain::{
    CategoryId, EntityKind, MessageStatus, OrganisationId, SubcategoryId, Timestamp, UserId,
};
use otklik_store::testing::rows_in;
use otklik_store::{
    NewSession, QueueFilter, SessionKind, SessionLimits, Store, ThrottlePolicy, session_digest,
};

use crate::fixtures::{NOW, new_message, org_id, with_region};

const TOKEN_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

const LIMITS: SessionLimits = SessionLimits {
    idle_ms: 60_000,
    absolute_ms: 600_000,
};

async fn user_id(store: &Store, login: &str) -> UserId {
    store.user_by_login(login).await.unwrap().unwrap().id
}

fn staff(user: UserId) -> NewSession<'static> {
    NewSession {
        user,
        kind: SessionKind::Staff,
        csrf_token: "csrf-1",
        ip: Some("127.0.0.1"),
        user_agent: Some("test"),
    }
}

async fn sessions_store_only_digests(store: Store) {
    with_region(&store).await;
    let u = user_id(&store, "moderator").await;
    let s = store
        .create_session(TOKEN_A, &staff(u), None, NOW)
        .await
        .unwrap();
    assert_eq!(s.user, u);
    assert_eq!(s.kind, SessionKind::Staff);
    let stored: String = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(stored, session_digest(TOKEN_A));
    assert_ne!(stored, TOKEN_A);
    let found = store.session(TOKEN_A, LIMITS, NOW).await.unwrap().unwrap();
    assert_eq!(found.csrf_token, "csrf-1");
    assert_eq!(found.ip.as_deref(), Some("127.0.0.1"));
    // An unknown id, or the digest itself presented as an id, finds nothing.
    assert!(store.session(TOKEN_B, LIMITS, NOW).await.unwrap().is_none());
    assert!(store.session(&stored, LIMITS, NOW).await.unwrap().is_none());
    // Short ids and empty CSRF tokens are refused.
    assert!(
        store
            .create_session("short", &staff(u), None, NOW)
            .await
            .is_err()
    );
    let mut no_csrf = staff(u);
    no_csrf.csrf_token = "";
    assert!(
        store
            .create_session(TOKEN_B, &no_csrf, None, NOW)
            .await
            .is_err()
    );
}

async fn sessions_rotate_and_end(store: Store) {
    with_region(&store).await;
    let u = user_id(&store, "moderator").await;
    store
        .create_session(TOKEN_A, &staff(u), None, NOW)
        .await
        .unwrap();
    // Signing in again from the same browser replaces its session.
    store
        .create_session(TOKEN_B, &staff(u), Some(TOKEN_A), NOW)
        .await
        .unwrap();
    assert!(store.session(TOKEN_A, LIMITS, NOW).await.unwrap().is_none());
    assert!(store.session(TOKEN_B, LIMITS, NOW).await.unwrap().is_some());
    assert_eq!(rows_in(&store, "sessions").await, 1);
    assert!(store.end_session(TOKEN_B).await.unwrap());
    assert!(!store.end_session(TOKEN_B).await.unwrap());
    assert!(store.session(TOKEN_B, LIMITS, NOW).await.unwrap().is_none());
    // Every session of a user ends at once.
    store
        .create_session(TOKEN_A, &staff(u), None, NOW)
        .await
        .unwrap();
    store
        .create_session(TOKEN_B, &staff(u), None, NOW)
        .await
        .unwrap();
    assert_eq!(store.user_sessions(u).await.unwrap().len(), 2);
    assert_eq!(store.end_user_sessions(u).await.unwrap(), 2);
    assert_eq!(rows_in(&store, "sessions").await, 0);
}

async fn sessions_expire_idle_and_absolute(store: Store) {
    with_region(&store).await;
    let u = user_id(&store, "moderator").await;
    store
        .create_session(TOKEN_A, &staff(u), None, NOW)
        .await
        .unwrap();
    // Used every 50 s: the idle limit (60 s) never hits…
    let mut t = NOW;
    for _ in 0..11 {
        t = Timestamp(t.millis() + 50_000);
        let s = store.session(TOKEN_A, LIMITS, t).await.unwrap();
        assert!(s.is_some(), "alive at {}", t.millis() - NOW.millis());
        assert_eq!(s.unwrap().last_seen_at, t);
    }
    // …but 600 s after sign-in the absolute limit does, and the row goes.
    let t = Timestamp(NOW.millis() + 600_001);
    assert!(store.session(TOKEN_A, LIMITS, t).await.unwrap().is_none());
    assert_eq!(rows_in(&store, "sessions").await, 0);

    // Idle: 60 s without use ends it.
    store
        .create_session(TOKEN_B, &staff(u), None, NOW)
        .await
        .unwrap();
    assert!(
        store
            .session(TOKEN_B, LIMITS, Timestamp(NOW.millis() + 60_000))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .session(TOKEN_B, LIMITS, Timestamp(NOW.millis() + 120_001))
            .await
            .unwrap()
            .is_none()
    );
    // Purging removes what expired without being met.
    store
        .create_session(TOKEN_A, &staff(u), None, NOW)
        .await
        .unwrap();
    assert_eq!(
        store
            .purge_expired_sessions(LIMITS, Timestamp(NOW.millis() + 1_000))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .purge_expired_sessions(LIMITS, Timestamp(NOW.millis() + 61_000))
            .await
            .unwrap(),
        1
    );
    let bad = SessionLimits {
        idle_ms: 0,
        absolute_ms: 1,
    };
    assert!(store.session(TOKEN_A, bad, NOW).await.is_err());
}

async fn citizen_sessions_need_a_user(store: Store) {
    with_region(&store).await;
    let u = user_id(&store, "citizen").await;
    let citizen = NewSession {
        kind: SessionKind::Citizen,
        ..staff(u)
    };
    store
        .create_session(TOKEN_A, &citizen, None, NOW)
        .await
        .unwrap();
    let s = store.session(TOKEN_A, LIMITS, NOW).await.unwrap().unwrap();
    assert_eq!(s.kind, SessionKind::Citizen);
    // Sessions refer to an existing user.
    let ghost = NewSession {
        user: UserId(999_999),
        ..staff(u)
    };
    assert!(
        store
            .create_session(TOKEN_B, &ghost, None, NOW)
            .await
            .is_err()
    );
}

async fn passwords_are_set_audited_and_end_sessions(store: Store) {
    with_region(&store).await;
    let u = user_id(&store, "moderator").await;
    assert_eq!(
        store.password_hash("moderator").await.unwrap(),
        Some((u, None))
    );
    assert_eq!(store.password_hash("nobody").await.unwrap(), None);
    store
        .create_session(TOKEN_A, &staff(u), None, NOW)
        .await
        .unwrap();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
    store
        .set_password_hash(u, Some(hash), None, NOW)
        .await
        .unwrap();
    assert_eq!(
        store.password_hash("moderator").await.unwrap(),
        Some((u, Some(hash.to_owned())))
    );
    assert_eq!(rows_in(&store, "sessions").await, 0);
    let trail = store.audit_trail(EntityKind::User, u.get()).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!(last.event.action, "password");
    assert!(
        !last.event.detail.contains("argon2"),
        "{}",
        last.event.detail
    );
    // Not a PHC string; an unknown user.
    assert!(
        store
            .set_password_hash(u, Some("plain"), None, NOW)
            .await
            .is_err()
    );
    assert!(
        store
            .set_password_hash(UserId(999_999), Some(hash), None, NOW)
            .await
            .is_err()
    );
    store
        .set_password_hash(u, None, Some(u), NOW)
        .await
        .unwrap();
    assert_eq!(
        store.password_hash("moderator").await.unwrap(),
        Some((u, None))
    );
}

const POLICY: ThrottlePolicy = ThrottlePolicy {
    max_failures_per_login: 3,
    max_failures_per_ip: 5,
    window_ms: 60_000,
    lockout_ms: 120_000,
};

async fn failed_sign_ins_lock_the_login(store: Store) {
    let ip = Some("10.0.0.1");
    for i in 0..2 {
        assert_eq!(
            store
                .record_login_failure("Moderator", ip, &POLICY, Timestamp(NOW.millis() + i))
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store
            .login_locked_until("moderator", None, NOW)
            .await
            .unwrap(),
        None
    );
    // The third failure within the window locks the login (whatever its case).
    let until = store
        .record_login_failure(" moderator", ip, &POLICY, Timestamp(NOW.millis() + 10))
        .await
        .unwrap();
    assert_eq!(until, Some(Timestamp(NOW.millis() + 10 + 120_000)));
    assert_eq!(
        store
            .login_locked_until("MODERATOR", None, NOW)
            .await
            .unwrap(),
        until
    );
    // Another login from another address is free; the lock ends in time.
    assert_eq!(
        store
            .login_locked_until("head", Some("10.0.0.2"), NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .login_locked_until("moderator", None, Timestamp(NOW.millis() + 200_000))
            .await
            .unwrap(),
        None
    );
}

async fn failures_outside_the_window_start_over(store: Store) {
    for i in 0..2 {
        store
            .record_login_failure("head", None, &POLICY, Timestamp(NOW.millis() + i))
            .await
            .unwrap();
    }
    // After the window a failure counts as the first again.
    let later = Timestamp(NOW.millis() + 61_000);
    for i in 0..2 {
        assert_eq!(
            store
                .record_login_failure("head", None, &POLICY, Timestamp(later.millis() + i))
                .await
                .unwrap(),
            None
        );
    }
    // A success forgets the login's failures.
    store.clear_login_failures("HEAD").await.unwrap();
    for i in 0..2 {
        assert_eq!(
            store
                .record_login_failure("head", None, &POLICY, Timestamp(later.millis() + 10 + i))
                .await
                .unwrap(),
            None
        );
    }
}

async fn failures_from_one_address_lock_it(store: Store) {
    let ip = Some("192.0.2.7");
    let mut locked = None;
    // Five different logins from one address: the address locks (no login reaches 3).
    for i in 0..5 {
        locked = store
            .record_login_failure(&format!("user{i}"), ip, &POLICY, NOW)
            .await
            .unwrap();
    }
    assert!(locked.is_some());
    assert_eq!(
        store
            .login_locked_until("someone-else", ip, NOW)
            .await
            .unwrap(),
        locked
    );
    assert_eq!(
        store
            .login_locked_until("someone-else", Some("192.0.2.8"), NOW)
            .await
            .unwrap(),
        None
    );
    // Clearing a login does not clear the address.
    store.clear_login_failures("user0").await.unwrap();
    assert!(
        store
            .login_locked_until("user0", ip, NOW)
            .await
            .unwrap()
            .is_some()
    );
}

async fn queues_filter_and_page(store: Store) {
    with_region(&store).await;
    let adm = org_id(&store, "district-adm").await;
    let school = org_id(&store, "school-1").await;
    for i in 0..5 {
        let text = if i == 2 {
            "Сломан фонарь 50%_x".to_owned()
        } else {
            format!("Яма номер {i}")
        };
        let mut m = new_message(Some(if i % 2 == 0 { adm } else { school }), &text);
        m.deadline_at = Timestamp(NOW.millis() + (10 - i) * 1000);
        store.create_message(&m, None, None, NOW).await.unwrap();
    }
    store
        .create_message(&new_message(None, "Без исполнителя"), None, None, NOW)
        .await
        .unwrap();
    let all = QueueFilter {
        limit: 2,
        ..QueueFilter::default()
    };
    let page = store.message_queue(&all).await.unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(page.records.len(), 2);
    // Earliest deadline first.
    assert!(page.records[0].message.deadline_at <= page.records[1].message.deadline_at);
    let second = store
        .message_queue(&QueueFilter {
            offset: 2,
            ..all.clone()
        })
        .await
        .unwrap();
    assert_ne!(second.records[0].message.id, page.records[0].message.id);

    let of_adm = QueueFilter {
        executors: Some(vec![adm]),
        limit: 50,
        ..QueueFilter::default()
    };
    assert_eq!(store.message_queue(&of_adm).await.unwrap().total, 3);
    let with_unrouted = QueueFilter {
        include_unrouted: true,
        ..of_adm.clone()
    };
    assert_eq!(store.message_queue(&with_unrouted).await.unwrap().total, 4);
    let nobody = QueueFilter {
        executors: Some(vec![]),
        limit: 50,
        ..QueueFilter::default()
    };
    assert_eq!(store.message_queue(&nobody).await.unwrap().total, 0);
    let none_found = QueueFilter {
        executors: Some(vec![OrganisationId(999)]),
        limit: 50,
        ..QueueFilter::default()
    };
    assert_eq!(store.message_queue(&none_found).await.unwrap().total, 0);

    // Text search: literal wildcards, no SQL injection, ids.
    let search = |t: &str| QueueFilter {
        text: Some(t.into()),
        limit: 50,
        ..QueueFilter::default()
    };
    assert_eq!(store.message_queue(&search("50%_")).await.unwrap().total, 1);
    assert_eq!(store.message_queue(&search("%%")).await.unwrap().total, 0);
    assert_eq!(
        store
            .message_queue(&search("' OR 1=1 --"))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(store.message_queue(&search("Яма")).await.unwrap().total, 4);
    // Addresses match too (Cyrillic case folding depends on the backend: same case here).
    assert_eq!(
        store.message_queue(&search("Ленина")).await.unwrap().total,
        6
    );
    let first_id = page.records[0].message.id.get().to_string();
    assert!(store.message_queue(&search(&first_id)).await.unwrap().total >= 1);

    // Status, category and subcategory.
    let moderation = QueueFilter {
        statuses: vec![MessageStatus::Moderation],
        category: Some(CategoryId("roads".into())),
        subcategory: Some(SubcategoryId("roads.potholes".into())),
        limit: 50,
        ..QueueFilter::default()
    };
    assert_eq!(store.message_queue(&moderation).await.unwrap().total, 6);
    let other = QueueFilter {
        category: Some(CategoryId("road".into())),
        ..moderation.clone()
    };
    assert_eq!(store.message_queue(&other).await.unwrap().total, 0);
    let approval = QueueFilter {
        statuses: vec![MessageStatus::Approval],
        limit: 50,
        ..QueueFilter::default()
    };
    assert_eq!(store.message_queue(&approval).await.unwrap().total, 0);
    // Bad paging is refused.
    assert!(
        store
            .message_queue(&QueueFilter {
                limit: 0,
                ..QueueFilter::default()
            })
            .await
            .is_err()
    );
    assert!(
        store
            .message_queue(&QueueFilter {
                limit: 10,
                offset: -1,
                ..QueueFilter::default()
            })
            .await
            .is_err()
    );
}

both_backends!(
    sessions_store_only_digests,
    sessions_rotate_and_end,
    sessions_expire_idle_and_absolute,
    citizen_sessions_need_a_user,
    passwords_are_set_audited_and_end_sessions,
    failed_sign_ins_lock_the_login,
    failures_outside_the_window_start_over,
    failures_from_one_address_lock_it,
    queues_filter_and_page,
);
