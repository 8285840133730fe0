//! Administration from the back-office (staff accounts, roles, blocking, organisation details,
//! community registry fields) and the queue's keyset paging.

use otklik_domain::{
    CommunityId, EntityKind, MessageStatus, Role, RoleGrant, Timestamp, UserId, Verification,
};
use otklik_store::{
    NewSession, NewStaffUser, OrganisationDetails, QueueCursor, QueueFilter, SessionKind, Store,
    StoreError,
};

use crate::fixtures::{NOW, new_message, org_id, with_region};

const TOKEN: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

async fn actions(store: &Store, entity: EntityKind, id: i64) -> Vec<String> {
    store
        .audit_trail(entity, id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect()
}

async fn staff_users_are_created_granted_and_blocked(store: Store) {
    with_region(&store).await;
    let adm = org_id(&store, "district-adm").await;
    let school = org_id(&store, "school-1").await;
    let admin = store.user_by_login("head").await.unwrap().unwrap().id;
    let new = NewStaffUser {
        login: "ivanova.mp".into(),
        full_name: "  Иванова <b>Мария</b> O'Neil  ".into(),
        email: Some("ivanova@example.ru".into()),
        organisation: school,
        confirmed: false,
        roles: vec![
            RoleGrant {
                role: Role::Executor,
                organisation: school,
            },
            RoleGrant {
                role: Role::Executor,
                organisation: school,
            },
        ],
    };
    let u = store
        .create_staff_user(&new, Some(admin), NOW)
        .await
        .unwrap();
    assert_eq!(u.full_name, "Иванова <b>Мария</b> O'Neil");
    assert_eq!(u.roles.len(), 1, "duplicate grants collapse");
    let stored = store.user(u.id).await.unwrap().unwrap();
    assert_eq!(stored, u);
    // Stored verbatim (escaping is the page's job), no password yet, not blocked.
    let acc = store.staff_account(u.id).await.unwrap().unwrap();
    assert!(!acc.has_password);
    assert_eq!(acc.blocked_at, None);
    assert!(
        store
            .staff_accounts()
            .await
            .unwrap()
            .iter()
            .all(|a| a.user.login != "citizen"),
        "citizens are not staff accounts"
    );
    // Taken login, bad login, citizen role, unknown organisation.
    assert!(matches!(
        store.create_staff_user(&new, None, NOW).await,
        Err(StoreError::Duplicate { .. })
    ));
    for login in ["", "x'; DROP TABLE users; --", "иванова", &"a".repeat(65)] {
        let bad = NewStaffUser {
            login: login.into(),
            ..new.clone()
        };
        assert!(matches!(
            store.create_staff_user(&bad, None, NOW).await,
            Err(StoreError::Invalid(_))
        ));
    }
    let long_name = NewStaffUser {
        login: "long".into(),
        full_name: "я".repeat(301),
        ..new.clone()
    };
    assert!(
        store
            .create_staff_user(&long_name, None, NOW)
            .await
            .is_err()
    );
    let citizen = NewStaffUser {
        login: "c1".into(),
        roles: vec![RoleGrant {
            role: Role::Citizen,
            organisation: school,
        }],
        ..new.clone()
    };
    assert!(store.create_staff_user(&citizen, None, NOW).await.is_err());
    let nowhere = NewStaffUser {
        login: "n1".into(),
        organisation: otklik_domain::OrganisationId(9999),
        ..new.clone()
    };
    assert!(matches!(
        store.create_staff_user(&nowhere, None, NOW).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.user_by_login("n1").await.unwrap().is_none());

    // Roles: grant, grant again (no-op), revoke, revoke again (no-op).
    let head = RoleGrant {
        role: Role::Head,
        organisation: adm,
    };
    assert!(
        store
            .grant_role(u.id, head, Some(admin), NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .grant_role(u.id, head, Some(admin), NOW)
            .await
            .unwrap()
    );
    assert!(
        store
            .user(u.id)
            .await
            .unwrap()
            .unwrap()
            .has_role_in(Role::Head, adm)
    );
    assert!(
        store
            .revoke_role(u.id, head, Some(admin), NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_role(u.id, head, Some(admin), NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .user(u.id)
            .await
            .unwrap()
            .unwrap()
            .has_role(Role::Head)
    );
    assert!(
        store
            .grant_role(
                u.id,
                RoleGrant {
                    role: Role::Citizen,
                    organisation: adm
                },
                None,
                NOW
            )
            .await
            .is_err()
    );
    assert!(matches!(
        store.grant_role(UserId(9999), head, None, NOW).await,
        Err(StoreError::NotFound { .. })
    ));

    // Blocking: no hash for sign-in, sessions end; unblocking gives the hash back.
    store
        .set_password_hash(u.id, Some("$argon2id$fake"), None, NOW)
        .await
        .unwrap();
    store
        .create_session(
            TOKEN,
            &NewSession {
                user: u.id,
                kind: SessionKind::Staff,
                csrf_token: "c",
                ip: None,
                user_agent: None,
            },
            None,
            NOW,
        )
        .await
        .unwrap();
    assert!(
        store
            .set_user_blocked(u.id, true, Some(admin), NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_user_blocked(u.id, true, Some(admin), NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        store.password_hash("ivanova.mp").await.unwrap(),
        Some((u.id, None))
    );
    assert!(store.user_sessions(u.id).await.unwrap().is_empty());
    let acc = store.staff_account(u.id).await.unwrap().unwrap();
    assert_eq!(acc.blocked_at, Some(NOW));
    assert!(acc.has_password);
    assert!(
        store
            .set_user_blocked(u.id, false, Some(admin), NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        store.password_hash("ivanova.mp").await.unwrap(),
        Some((u.id, Some("$argon2id$fake".into())))
    );
    assert_eq!(
        actions(&store, EntityKind::User, u.id.get()).await,
        [
            "created",
            "role_granted",
            "role_revoked",
            "password",
            "block",
            "unblock"
        ]
    );
    let trail = store
        .audit_trail(EntityKind::User, u.id.get())
        .await
        .unwrap();
    assert!(
        trail
            .iter()
            .all(|e| e.event.actor.is_none() || e.event.actor == Some(admin))
    );
}

async fn organisation_details_and_community_registry(store: Store) {
    with_region(&store).await;
    let minzdrav = org_id(&store, "minzdrav").await;
    let school = org_id(&store, "school-1").await;
    let details = OrganisationDetails {
        name: " Министерство здравоохранения '; DELETE FROM organisations; -- ".into(),
        short_name: Some("Минздрав".into()),
        site_url: Some("  ".into()),
        contact_email: Some("info@minzdrav.example.ru".into()),
        contact_phone: Some("+7 (3952) 00-00-00".into()),
        contact_address: Some("<script>alert(1)</script>".into()),
    };
    store
        .update_organisation_details(minzdrav, &details, None, NOW)
        .await
        .unwrap();
    let got = store.organisation_details(minzdrav).await.unwrap().unwrap();
    assert_eq!(
        got.name,
        "Министерство здравоохранения '; DELETE FROM organisations; --"
    );
    assert_eq!(got.site_url, None, "blank optional fields are cleared");
    assert_eq!(
        got.contact_address.as_deref(),
        Some("<script>alert(1)</script>")
    );
    assert_eq!(store.organisations().await.unwrap().len(), 3);
    assert_eq!(
        store.organisation(minzdrav).await.unwrap().unwrap().name,
        got.name
    );
    for bad in [
        OrganisationDetails {
            name: " ".into(),
            ..details.clone()
        },
        OrganisationDetails {
            contact_phone: Some("1".repeat(301)),
            ..details.clone()
        },
    ] {
        assert!(matches!(
            store
                .update_organisation_details(minzdrav, &bad, None, NOW)
                .await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(matches!(
        store
            .update_organisation_details(otklik_domain::OrganisationId(9999), &details, None, NOW)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        actions(&store, EntityKind::Organisation, minzdrav.get()).await,
        ["details"]
    );

    // The registry fields of a community.
    let c = store.communities().await.unwrap()[0].clone();
    store
        .set_community_registry(c.id, school, Verification::Verified, false, None, NOW)
        .await
        .unwrap();
    let r = store.community(c.id).await.unwrap().unwrap();
    assert_eq!(r.community.organisation, school);
    assert_eq!(r.community.verification, Verification::Verified);
    assert!(!r.required);
    assert!(matches!(
        store
            .set_community_registry(
                CommunityId(9999),
                school,
                Verification::Failed,
                true,
                None,
                NOW
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        actions(&store, EntityKind::Community, c.id.get())
            .await
            .contains(&"registry".to_owned())
    );
}

async fn queue_pages_by_keyset(store: Store) {
    with_region(&store).await;
    let adm = org_id(&store, "district-adm").await;
    // 23 messages, some sharing a deadline (ties broken by id).
    for i in 0..23i64 {
        let mut m = new_message(Some(adm), &format!("Сообщение {i}"));
        m.deadline_at = Timestamp(NOW.millis() + (i / 3) * 1000);
        store.create_message(&m, None, None, NOW).await.unwrap();
    }
    let base = QueueFilter {
        statuses: vec![MessageStatus::Moderation],
        executors: Some(vec![adm]),
        limit: 5,
        count_limit: Some(10),
        ..QueueFilter::default()
    };
    // Forwards through every page.
    let mut seen = Vec::new();
    let mut filter = base.clone();
    let mut pages = 0;
    loop {
        let page = store.message_queue(&filter).await.unwrap();
        assert_eq!(page.total, 10, "counted up to the limit");
        assert!(page.total_capped);
        assert_eq!(page.prev.is_some(), pages > 0);
        seen.extend(page.records.iter().map(QueueCursor::of));
        pages += 1;
        match page.next {
            Some(next) => {
                filter.after = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "queue order, no repeats");
    // Backwards from the last page gives the same pages.
    let before_last = QueueFilter {
        before: Some(seen[20]),
        ..base.clone()
    };
    let page = store.message_queue(&before_last).await.unwrap();
    assert_eq!(
        page.records.iter().map(QueueCursor::of).collect::<Vec<_>>(),
        seen[15..20]
    );
    assert_eq!(page.next, Some(seen[19]));
    assert_eq!(page.prev, Some(seen[15]));
    let first = store
        .message_queue(&QueueFilter {
            before: Some(seen[5]),
            ..base.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        first
            .records
            .iter()
            .map(QueueCursor::of)
            .collect::<Vec<_>>(),
        seen[0..5]
    );
    assert_eq!(first.prev, None, "nothing before the first page");
    // An exact count without a limit.
    let exact = store
        .message_queue(&QueueFilter {
            count_limit: None,
            ..base.clone()
        })
        .await
        .unwrap();
    assert_eq!((exact.total, exact.total_capped), (23, false));
    assert!(
        store
            .message_queue(&QueueFilter {
                count_limit: Some(0),
                ..base.clone()
            })
            .await
            .is_err()
    );
}

both_backends!(
    staff_users_are_created_granted_and_blocked,
    organisation_details_and_community_registry,
    queue_pages_by_keyset,
);
