//! Saved searches: create, list, find, delete; one alert e-mail per key, committed with the
//! alert time; report paging of message records and the registry.

use std::collections::BTreeMap;

use otklik_domain::Timestamp;
use otklik_store::{EmailStatus, NewEmail, NewSavedSearch, SavedSearchId, Store};

use crate::fixtures::{NOW, new_message, region_batch};
use crate::harness::rows_in;

both_backends!(
    saved_searches_round_trip,
    alerts_are_queued_once_per_key,
    report_records_are_paged_by_period
);

fn search(name: &str) -> NewSavedSearch {
    NewSavedSearch {
        name: name.into(),
        query: "прорыв трубы".into(),
        filters: BTreeMap::from([("territory".to_owned(), vec!["1".to_owned(), "2".to_owned()])]),
        owner: None,
        email: "analyst@example.ru".into(),
        min_count: 5,
        min_ratio_pct: 300,
    }
}

async fn saved_searches_round_trip(store: Store) {
    store
        .import_directory(&region_batch(), None, NOW)
        .await
        .unwrap();
    let owner = store.user_by_login("moderator").await.unwrap().unwrap().id;
    let new = NewSavedSearch {
        owner: Some(owner),
        ..search("  Прорывы труб ")
    };
    let saved = store.create_saved_search(&new, NOW).await.unwrap();
    assert_eq!(saved.name, "Прорывы труб", "trimmed");
    assert_eq!(saved.owner, Some(owner));
    assert_eq!(saved.filters, new.filters);
    assert_eq!((saved.min_count, saved.min_ratio_pct), (5, 300));
    assert_eq!(saved.created_at, NOW);
    assert_eq!(saved.last_alert_at, None);
    assert_eq!(
        store.saved_search(saved.id).await.unwrap(),
        Some(saved.clone())
    );
    assert_eq!(
        store.saved_search_by_name("Прорывы труб").await.unwrap(),
        Some(saved.clone())
    );
    let other = store
        .create_saved_search(&search("Ямы"), NOW)
        .await
        .unwrap();
    let all = store.saved_searches().await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![saved.id, other.id]
    );

    // Refused: a taken name, a bad address, thresholds out of range, an empty filter value.
    for bad in [
        search("Ямы"),
        NewSavedSearch {
            email: "нет адреса".into(),
            ..search("a")
        },
        NewSavedSearch {
            min_count: 0,
            ..search("b")
        },
        NewSavedSearch {
            min_ratio_pct: 99,
            ..search("c")
        },
        NewSavedSearch {
            name: " ".into(),
            ..search("d")
        },
        NewSavedSearch {
            filters: BTreeMap::from([("category".to_owned(), vec![String::new()])]),
            ..search("e")
        },
    ] {
        let err = store.create_saved_search(&bad, NOW).await.unwrap_err();
        assert!(err.to_string().starts_with("invalid:"), "{err}");
    }
    assert_eq!(rows_in(&store, "saved_searches").await, 2);

    assert!(store.delete_saved_search(other.id).await.unwrap());
    assert!(!store.delete_saved_search(other.id).await.unwrap());
    assert_eq!(store.saved_search(SavedSearchId(999)).await.unwrap(), None);
    assert_eq!(store.saved_searches().await.unwrap().len(), 1);
}

fn alert(key: &str) -> NewEmail {
    NewEmail {
        idempotency_key: key.into(),
        message: None,
        template: "search_spike".into(),
        recipient: "analyst@example.ru".into(),
        subject: "Всплеск".into(),
        body_text: "Текст".into(),
        body_html: None,
        max_attempts: 3,
    }
}

async fn alerts_are_queued_once_per_key(store: Store) {
    let s = store
        .create_saved_search(&search("Трубы"), NOW)
        .await
        .unwrap();
    let first = store
        .record_saved_search_alert(s.id, &alert("saved-search:1:2024-03-01"), NOW)
        .await
        .unwrap()
        .expect("queued");
    assert_eq!(first.status, EmailStatus::Pending);
    let later = Timestamp(NOW.millis() + 60_000);
    assert!(
        store
            .record_saved_search_alert(s.id, &alert("saved-search:1:2024-03-01"), later)
            .await
            .unwrap()
            .is_none(),
        "the same day's key queues nothing"
    );
    let s1 = store.saved_search(s.id).await.unwrap().unwrap();
    assert_eq!(s1.last_alert_at, Some(NOW), "and changes nothing");
    // The next day: a new key, a new e-mail.
    store
        .record_saved_search_alert(s.id, &alert("saved-search:1:2024-03-02"), later)
        .await
        .unwrap()
        .expect("queued");
    assert_eq!(rows_in(&store, "email_outbox").await, 2);
    assert_eq!(
        store
            .saved_search(s.id)
            .await
            .unwrap()
            .unwrap()
            .last_alert_at,
        Some(later)
    );
    // An unknown search: refused, nothing queued.
    assert!(
        store
            .record_saved_search_alert(SavedSearchId(999), &alert("x"), NOW)
            .await
            .is_err()
    );
    assert_eq!(rows_in(&store, "email_outbox").await, 2);
}

async fn report_records_are_paged_by_period(store: Store) {
    store
        .import_directory(&region_batch(), None, NOW)
        .await
        .unwrap();
    let day = 86_400_000;
    for k in 0..5 {
        let at = Timestamp(NOW.millis() + k * day);
        store
            .create_message(
                &new_message(None, &format!("сообщение {k}")),
                None,
                None,
                at,
            )
            .await
            .unwrap();
    }
    let page = store
        .report_records_after(
            i64::MIN,
            Some(NOW.millis() + day),
            Some(NOW.millis() + 4 * day),
            2,
        )
        .await
        .unwrap();
    let texts: Vec<&str> = page.iter().map(|r| r.message.text.as_str()).collect();
    assert_eq!(texts, vec!["сообщение 1", "сообщение 2"]);
    let next = store
        .report_records_after(
            page[1].message.id.get(),
            Some(NOW.millis() + day),
            Some(NOW.millis() + 4 * day),
            2,
        )
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].message.text, "сообщение 3");
    assert_eq!(
        store
            .report_records_after(i64::MIN, None, None, 100)
            .await
            .unwrap()
            .len(),
        5
    );
    assert!(store.report_records_after(0, None, None, 0).await.is_err());
    let registry = store.registered_communities().await.unwrap();
    assert_eq!(registry.len(), 1);
    assert!(registry[0].required, "an imported VK page is required");
}
