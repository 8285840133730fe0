//! Saved searches: a spike in the archive queues exactly one alert e-mail a day.

use std::collections::BTreeMap;

use otklik_domain::{Channel, NewMessage, SubcategoryId, Timestamp};
use otklik_reports::alerts::{AlertOptions, check_saved_searches};
use otklik_search::SearchIndex;
use otklik_search::sync::{SyncOptions, sync};
use otklik_store::{EmailStatus, NewSavedSearch, Store};

both_backends!(a_spike_queues_one_alert_a_day, saved_searches_are_validated);

const DAY: i64 = 86_400_000;
/// 2026-10-15T10:00Z.
const NOW: i64 = 1_792_022_400_000 + 10 * 3_600_000;

async fn message(store: &Store, text: &str, sub: &str, at: i64) {
    let new = NewMessage {
        channel: Channel::SocialNetwork,
        subcategory: SubcategoryId(sub.into()),
        territory: None,
        executor: None,
        submitted_via: None,
        author: None,
        author_handle: None,
        source_post: None,
        text: text.into(),
        address: None,
        confidence_pm: None,
        deadline_at: Timestamp(at + 30 * DAY),
    };
    store
        .create_message(&new, None, None, Timestamp(at))
        .await
        .unwrap();
}

fn search(name: &str, query: &str, filters: &[(&str, &str)]) -> NewSavedSearch {
    let mut f: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in filters {
        f.entry((*k).to_owned()).or_default().push((*v).to_owned());
    }
    NewSavedSearch {
        name: name.into(),
        query: query.into(),
        filters: f,
        owner: None,
        email: "analyst@example.ru".into(),
        min_count: 5,
        min_ratio_pct: 300,
    }
}

async fn a_spike_queues_one_alert_a_day(store: Store) {
    // The trailing weeks: one burst pipe every other day, and potholes every day.
    for d in 1..=28 {
        let at = NOW - d * DAY;
        if d % 2 == 0 {
            message(
                &store,
                "Прорыв трубы во дворе, течёт вода",
                "water.leaks",
                at,
            )
            .await;
        }
        message(&store, "Яма на дороге у остановки", "roads.potholes", at).await;
    }
    // Today: twelve burst pipes (a spike), one pothole as usual.
    for k in 0..12 {
        let text = format!("Прорыв трубы на улице Садовой, дом {k}, нет воды");
        message(&store, &text, "water.leaks", NOW - k * 60_000).await;
    }
    message(&store, "Яма на дороге у школы", "roads.potholes", NOW).await;
    let index = SearchIndex::in_ram().unwrap();
    let mut indexer = index.indexer(Default::default()).unwrap();
    sync(&store, &mut indexer, SyncOptions::default())
        .await
        .unwrap();
    indexer.finish().unwrap();
    let now = Timestamp(NOW);
    let pipes = store
        .create_saved_search(&search("Прорывы труб", "прорыв трубы", &[]), now)
        .await
        .unwrap();
    store
        .create_saved_search(&search("Ямы", "яма", &[("category", "roads")]), now)
        .await
        .unwrap();
    let options = AlertOptions::default();
    let outcomes = check_saved_searches(&store, &index, now, &options)
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 2);
    let first = &outcomes[0];
    assert_eq!(first.search.id, pipes.id);
    assert_eq!(first.stats.today, 12);
    assert!((first.stats.mean - 0.5).abs() < 1e-9, "{:?}", first.stats);
    assert!(first.spiking);
    let email_id = first.queued.expect("an alert is queued");
    let second = &outcomes[1];
    assert_eq!(second.stats.today, 1);
    assert!(!second.spiking);
    assert_eq!(second.queued, None);

    let pending = store
        .emails_with_status(EmailStatus::Pending, 100)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "exactly one alert e-mail");
    let email = &pending[0];
    assert_eq!(email.id, email_id);
    assert_eq!(email.template, "search_spike");
    assert_eq!(email.recipient, "analyst@example.ru");
    assert_eq!(
        email.idempotency_key,
        format!("saved-search:{}:2026-10-15", pipes.id)
    );
    assert!(email.subject.contains("Прорывы труб"), "{}", email.subject);
    assert!(
        email.body_text.contains("найдено 12"),
        "{}",
        email.body_text
    );
    assert!(email.body_text.contains("Садовой"), "{}", email.body_text);
    let saved = store.saved_search(pipes.id).await.unwrap().unwrap();
    assert_eq!(saved.last_alert_at, Some(now));

    // Later the same day: still spiking, nothing more queued.
    let later = Timestamp(NOW + 3_600_000);
    let again = check_saved_searches(&store, &index, later, &options)
        .await
        .unwrap();
    assert!(again[0].spiking);
    assert_eq!(again[0].queued, None);
    assert_eq!(
        store
            .emails_with_status(EmailStatus::Pending, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    let saved = store.saved_search(pipes.id).await.unwrap().unwrap();
    assert_eq!(
        saved.last_alert_at,
        Some(now),
        "the alert time is the first one's"
    );
}

async fn saved_searches_are_validated(store: Store) {
    let now = Timestamp(NOW);
    let ok = search("Ямы", "яма", &[("territory", "7")]);
    let saved = store.create_saved_search(&ok, now).await.unwrap();
    assert_eq!(saved.filters.get("territory"), Some(&vec!["7".to_owned()]));
    assert!(
        store.create_saved_search(&ok, now).await.is_err(),
        "name taken"
    );
    let bad_email = NewSavedSearch {
        name: "x".into(),
        email: "not an address".into(),
        ..ok.clone()
    };
    assert!(store.create_saved_search(&bad_email, now).await.is_err());
    // An unknown facet is reported by the check, not a panic.
    let odd = NewSavedSearch {
        name: "odd".into(),
        filters: BTreeMap::from([("colour".to_owned(), vec!["red".to_owned()])]),
        ..ok.clone()
    };
    store.create_saved_search(&odd, now).await.unwrap();
    let index = SearchIndex::in_ram().unwrap();
    let err = check_saved_searches(&store, &index, now, &AlertOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}
