//! API tokens (hashed, scoped, revocable), the API's message listing and Open311 extras.

use otklik_domain::{MessageId, MessageStatus, SubcategoryId, Timestamp, Transition};
use otklik_store::{
    ApiMessageQuery, ApiScope, MessageChange, NewApiToken, Open311Extras, Store, StoreError,
    api_token_digest,
};

use crate::fixtures::{NOW, new_message, org_id, with_region};
use crate::harness::rows_in;

both_backends!(
    tokens_are_stored_hashed_and_authenticate,
    bad_tokens_are_refused,
    revoked_tokens_stop_working,
    last_use_is_recorded_at_most_once_a_minute,
    api_listing_filters_and_pages,
    open311_extras_are_kept_once,
);

fn new_token(name: &str, org: Option<otklik_domain::OrganisationId>) -> NewApiToken {
    NewApiToken {
        name: name.into(),
        organisation: org,
        scopes: vec![ApiScope::Read, ApiScope::Submit, ApiScope::Read],
        rate_per_minute: Some(120),
    }
}

async fn tokens_are_stored_hashed_and_authenticate(store: Store) {
    with_region(&store).await;
    let org = org_id(&store, "district-adm").await;
    let created = store
        .create_api_token(&new_token("mobile-app", Some(org)), None, NOW)
        .await
        .unwrap();
    let secret = created.secret.expose().to_owned();
    assert!(secret.starts_with("otk_"));
    assert_eq!(secret.len(), 4 + 43);
    assert!(!format!("{created:?}").contains(&secret[8..]));
    assert_eq!(created.token.scopes, vec![ApiScope::Submit, ApiScope::Read]);
    assert_eq!(created.token.prefix, &secret[..8]);

    // Only the digest is in the table.
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(stored, api_token_digest(&secret));
    let plain: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1")
        .bind(&secret)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(plain, 0);

    let found = store
        .authenticate_api_token(&secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, created.token);
    assert_eq!(found.organisation, Some(org));
    assert!(found.has_scope(ApiScope::Submit) && !found.has_scope(ApiScope::Integration));
    assert_eq!(
        store.api_tokens().await.unwrap(),
        vec![created.token.clone()]
    );
    assert_eq!(
        store.api_token(created.token.id).await.unwrap(),
        Some(created.token.clone())
    );
    // Audited.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'api_token:created' AND entity_id = $1",
    )
    .bind(org.get())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // A regional token.
    let regional = store
        .create_api_token(&new_token("region-portal", None), None, NOW)
        .await
        .unwrap();
    assert_eq!(regional.token.organisation, None);
    assert_ne!(regional.secret, created.secret);
}

async fn bad_tokens_are_refused(store: Store) {
    with_region(&store).await;
    let ok = store
        .create_api_token(&new_token("app", None), None, NOW)
        .await
        .unwrap();
    // Taken name, empty name, no scopes, bad rate, unknown organisation: nothing written.
    let before = rows_in(&store, "api_tokens").await;
    for bad in [
        new_token("app", None),
        new_token("   ", None),
        NewApiToken {
            scopes: vec![],
            ..new_token("x", None)
        },
        NewApiToken {
            rate_per_minute: Some(0),
            ..new_token("y", None)
        },
        new_token("z", Some(otklik_domain::OrganisationId(987_654))),
    ] {
        let e = store.create_api_token(&bad, None, NOW).await.unwrap_err();
        assert!(
            matches!(e, StoreError::Invalid(_) | StoreError::NotFound { .. }),
            "{e}"
        );
    }
    assert_eq!(rows_in(&store, "api_tokens").await, before);

    // Lookups of malformed or unknown tokens, including SQL metacharacters.
    let secret = ok.secret.expose();
    let mut other = secret.to_owned();
    other.replace_range(10..11, if &secret[10..11] == "A" { "B" } else { "A" });
    for t in [
        "",
        "otk_",
        "Bearer x",
        "otk_' OR '1'='1",
        &other,
        &secret.to_uppercase(),
    ] {
        assert_eq!(store.authenticate_api_token(t).await.unwrap(), None, "{t}");
    }
}

async fn revoked_tokens_stop_working(store: Store) {
    with_region(&store).await;
    let t = store
        .create_api_token(&new_token("app", None), None, NOW)
        .await
        .unwrap();
    let later = Timestamp(NOW.millis() + 1000);
    assert!(
        store
            .revoke_api_token(t.token.id, None, later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_api_token(t.token.id, None, later)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .authenticate_api_token(t.secret.expose())
            .await
            .unwrap(),
        None
    );
    let stored = store.api_token(t.token.id).await.unwrap().unwrap();
    assert_eq!(stored.revoked_at, Some(later));
    assert!(!stored.is_active());
    assert!(
        store
            .revoke_api_token(otklik_store::ApiTokenId(424_242), None, later)
            .await
            .is_err()
    );
}

async fn last_use_is_recorded_at_most_once_a_minute(store: Store) {
    let t = store
        .create_api_token(&new_token("app", None), None, NOW)
        .await
        .unwrap();
    let id = t.token.id;
    assert!(store.touch_api_token(id, NOW).await.unwrap());
    assert!(
        !store
            .touch_api_token(id, Timestamp(NOW.millis() + 30_000))
            .await
            .unwrap()
    );
    let later = Timestamp(NOW.millis() + 61_000);
    assert!(store.touch_api_token(id, later).await.unwrap());
    assert_eq!(
        store.api_token(id).await.unwrap().unwrap().last_used_at,
        Some(later)
    );
}

async fn api_listing_filters_and_pages(store: Store) {
    with_region(&store).await;
    let adm = org_id(&store, "district-adm").await;
    let minzdrav = org_id(&store, "minzdrav").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let exec = if i % 2 == 0 { adm } else { minzdrav };
        let new = new_message(
            Some(exec),
            &format!("Сообщение {i}'; DROP TABLE messages; --"),
        );
        let m = store
            .create_message(
                &new,
                Some(&format!("k{i}")),
                None,
                Timestamp(NOW.millis() + i),
            )
            .await
            .unwrap();
        ids.push(m.id);
    }
    // Move one of the district's messages on.
    let m = store.message(ids[2]).await.unwrap().unwrap();
    store
        .transition_message(
            m.id,
            m.version,
            Transition::Accept,
            MessageChange::default(),
            None,
            NOW,
        )
        .await
        .unwrap();

    let q = |f: fn(&mut ApiMessageQuery)| {
        let mut q = ApiMessageQuery {
            limit: 100,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let got =
        |v: Vec<otklik_domain::MessageRecord>| v.iter().map(|r| r.message.id).collect::<Vec<_>>();

    let all = store.api_messages(&q(|_| {})).await.unwrap();
    assert_eq!(got(all.clone()), ids);
    assert!(all[0].message.text.contains("DROP TABLE"));

    let mut by_org = q(|_| {});
    by_org.organisation = Some(adm);
    assert_eq!(
        got(store.api_messages(&by_org).await.unwrap()),
        vec![ids[0], ids[2], ids[4]]
    );

    by_org.statuses = vec![MessageStatus::Coordination];
    assert_eq!(
        got(store.api_messages(&by_org).await.unwrap()),
        vec![ids[2]]
    );

    // Cursor paging, both directions.
    let mut page = q(|q| q.limit = 2);
    assert_eq!(
        got(store.api_messages(&page).await.unwrap()),
        vec![ids[0], ids[1]]
    );
    page.after = Some(ids[1]);
    assert_eq!(
        got(store.api_messages(&page).await.unwrap()),
        vec![ids[2], ids[3]]
    );
    page.after = Some(ids[4]);
    assert!(store.api_messages(&page).await.unwrap().is_empty());
    let mut newest = q(|q| q.newest_first = true);
    newest.limit = 2;
    newest.after = Some(ids[3]);
    assert_eq!(
        got(store.api_messages(&newest).await.unwrap()),
        vec![ids[2], ids[1]]
    );

    // Ids, subcategories, time window.
    let mut by_ids = q(|_| {});
    by_ids.ids = vec![ids[3], ids[1], MessageId(999_999)];
    assert_eq!(
        got(store.api_messages(&by_ids).await.unwrap()),
        vec![ids[1], ids[3]]
    );
    let mut by_sub = q(|_| {});
    by_sub.subcategories = vec![SubcategoryId("health.other".into())];
    assert!(store.api_messages(&by_sub).await.unwrap().is_empty());
    let mut window = q(|_| {});
    window.created_from = Some(Timestamp(NOW.millis() + 1));
    window.created_to = Some(Timestamp(NOW.millis() + 3));
    assert_eq!(
        got(store.api_messages(&window).await.unwrap()),
        vec![ids[1], ids[2], ids[3]]
    );

    for bad in [0, -1, 1001] {
        let mut b = q(|_| {});
        b.limit = bad;
        assert!(store.api_messages(&b).await.is_err());
    }
}

async fn open311_extras_are_kept_once(store: Store) {
    with_region(&store).await;
    let t = store
        .create_api_token(&new_token("open311", None), None, NOW)
        .await
        .unwrap();
    let m = store
        .create_message(&new_message(None, "Яма"), Some("o1"), None, NOW)
        .await
        .unwrap();
    let extras = Open311Extras {
        lat: Some("55.7512".into()),
        lon: Some("37.6184".into()),
        media_url: Some("https://example.ru/p.jpg".into()),
        first_name: Some("Иван".into()),
        ..Default::default()
    };
    store
        .record_open311_request(m.id, t.token.id, &extras, NOW)
        .await
        .unwrap();
    // A replay keeps the first row.
    let other = Open311Extras {
        lat: Some("1".into()),
        ..Default::default()
    };
    store
        .record_open311_request(m.id, t.token.id, &other, NOW)
        .await
        .unwrap();
    let got = store
        .open311_extras(&[m.id, MessageId(12345)])
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[&m.id], extras);
    assert!(store.open311_extras(&[]).await.unwrap().is_empty());
}
