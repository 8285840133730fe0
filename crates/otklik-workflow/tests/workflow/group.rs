//! Group commit of concurrent submissions, batched incident intake, the «принято» e-mail and
//! attachments looked up in the attachments store.

use std::collections::HashMap;
use std::sync::Arc;

use otklik_domain::{Channel, EntityKind, MessageId, MessageStatus, SubcategoryId};
use otklik_store::{AttachmentFiles, AttachmentId, Backend, Store};
use otklik_workflow::{Incident, Intake, Submission, WorkflowError};
use tokio::sync::Barrier;

use crate::fixtures::{FAST, NOW, ROADS, World, world};
use otklik_store::testing::rows_in;

both_backends!(
    concurrent_submits_share_transactions,
    a_bad_item_fails_alone_in_a_batch,
    same_key_twice_in_a_batch_is_sequential,
    received_email_is_queued_with_the_message,
    attachments_are_looked_up_and_linked,
    incident_batch_is_like_one_by_one
);

/// A text unlike the others (no duplicate groups among the concurrent ones).
fn unique_text(i: usize) -> String {
    const WORDS: &[&str] = &[
        "яма",
        "фонарь",
        "мусор",
        "крыша",
        "подъезд",
        "лифт",
        "снег",
        "лёд",
        "автобус",
        "парк",
        "скамейка",
        "забор",
        "люк",
        "двор",
        "вода",
        "свет",
    ];
    let mut words = vec![format!("Обращение{i}")];
    let mut x = i * 7 + 3;
    for _ in 0..6 {
        words.push(WORDS[x % WORDS.len()].to_owned());
        x = x / WORDS.len() + i + 11;
    }
    words.push(format!("дом {i}"));
    words.join(" ")
}

enum Call {
    Good(usize),
    Retry(usize),
    Contested(usize, usize),
    Empty,
    UnknownAttachment,
}

async fn concurrent_submits_share_transactions(store: Store) {
    let w = world(store).await;
    const GOOD: usize = 200;
    let mut calls: Vec<Call> = (0..GOOD).map(Call::Good).collect();
    // The same call again (a retried form): the same message.
    calls.extend((0..20).map(Call::Retry));
    // The same key with another payload, twice: one wins, the other is refused.
    for j in 0..5 {
        calls.push(Call::Contested(j, 0));
        calls.push(Call::Contested(j, 1));
    }
    calls.push(Call::Empty);
    calls.push(Call::UnknownAttachment);
    let n = calls.len();
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::with_capacity(n);
    for call in calls {
        let w = w.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            let (s, key) = match &call {
                Call::Good(i) | Call::Retry(i) => {
                    (w.submission(&unique_text(*i), ROADS), format!("form-{i}"))
                }
                Call::Contested(j, v) => (
                    w.submission(&unique_text(1000 + j * 2 + v), ROADS),
                    format!("contested-{j}"),
                ),
                Call::Empty => (w.submission("   ", ROADS), "empty".to_owned()),
                Call::UnknownAttachment => {
                    let mut s = w.submission(&unique_text(5000), ROADS);
                    s.attachments = vec!["999999".into()];
                    (s, "attachment".to_owned())
                }
            };
            barrier.wait().await;
            let result = w.wf.submit(&s, &key, NOW).await;
            (call, key, result)
        }));
    }
    let mut by_key: HashMap<String, Vec<Result<Intake, WorkflowError>>> = HashMap::new();
    let mut invalid = 0;
    for t in tasks {
        let (call, key, result) = t.await.unwrap();
        match call {
            Call::Empty | Call::UnknownAttachment => {
                assert!(
                    matches!(result, Err(WorkflowError::Invalid(_))),
                    "{key}: {result:?}"
                );
                invalid += 1;
            }
            _ => by_key.entry(key).or_default().push(result),
        }
    }
    assert_eq!(invalid, 2);
    for i in 0..GOOD {
        let results = &by_key[&format!("form-{i}")];
        let ok: Vec<&Intake> = results.iter().map(|r| r.as_ref().unwrap()).collect();
        assert!(
            ok.iter()
                .all(|o| o.record.message.id == ok[0].record.message.id)
        );
        assert_eq!(ok.iter().filter(|o| !o.replayed).count(), 1, "form-{i}");
        assert_eq!(ok.len(), if i < 20 { 2 } else { 1 });
        let stored = w.wf.message(ok[0].record.message.id).await.unwrap();
        assert_eq!(stored, ok[0].record);
        assert_eq!(stored.message.text, unique_text(i));
    }
    for j in 0..5 {
        let results = &by_key[&format!("contested-{j}")];
        let won: Vec<&Intake> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "contested-{j}: {results:?}");
        let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        match refused {
            WorkflowError::KeyReused { message, .. } => {
                assert_eq!(*message, won[0].record.message.id)
            }
            other => panic!("expected KeyReused, got {other}"),
        }
    }
    // One message per key, each with exactly one `created` event; nothing for the refused.
    assert_eq!(rows_in(&w.store, "messages").await, (GOOD + 5) as i64);
    let created: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE entity = 'message' AND action = 'created'",
    )
    .fetch_one(w.store.pool())
    .await
    .unwrap();
    assert_eq!(created, (GOOD + 5) as i64);
    let distinct: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT entity_id) FROM audit_events WHERE entity = 'message' \
         AND action = 'created'",
    )
    .fetch_one(w.store.pool())
    .await
    .unwrap();
    assert_eq!(distinct, (GOOD + 5) as i64);
    // Every citizen left an e-mail: one «принято» each.
    assert_eq!(rows_in(&w.store, "email_outbox").await, (GOOD + 5) as i64);
}

/// Uploads a small PNG and returns its id.
async fn upload(w: &World, files: &AttachmentFiles, n: u8) -> AttachmentId {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[n; 64]);
    w.store
        .save_attachment(files, "фото.png", Some("image/png"), png, NOW)
        .await
        .unwrap()
        .id
}

async fn a_bad_item_fails_alone_in_a_batch(store: Store) {
    let w = world(store).await;
    let dir = tempfile::tempdir().unwrap();
    let files = AttachmentFiles::new(dir.path());
    let photo = upload(&w, &files, 1).await;
    // The photo goes with a first message…
    let mut first = w.submission(&unique_text(1), ROADS);
    first.attachments = vec![photo.to_string()];
    w.wf.submit(&first, "first", NOW).await.unwrap();
    // … and a batch names it again for another one: found at the check, refused inside the
    // transaction. The batch is rolled back and written item by item: only that one fails.
    let mut items: Vec<(Submission, String)> = (2..8)
        .map(|i| (w.submission(&unique_text(i), ROADS), format!("b-{i}")))
        .collect();
    let mut thief = w.submission(&unique_text(100), ROADS);
    thief.attachments = vec![photo.to_string()];
    items.insert(3, (thief, "thief".into()));
    let out = w.wf.submit_batch(&items, NOW).await.unwrap();
    assert_eq!(out.len(), 7);
    for (i, r) in out.iter().enumerate() {
        if i == 3 {
            match r {
                Err(WorkflowError::Invalid(why)) => assert!(why.contains("attach"), "{why}"),
                other => panic!("expected Invalid, got {other:?}"),
            }
        } else {
            assert!(!r.as_ref().unwrap().replayed);
        }
    }
    assert_eq!(rows_in(&w.store, "messages").await, 7);
    let owner = w.store.attachment(photo).await.unwrap().unwrap().message;
    let first_id = w.wf.submit(&first, "first", NOW).await.unwrap();
    assert!(first_id.replayed);
    assert_eq!(owner, Some(first_id.record.message.id));
}

async fn same_key_twice_in_a_batch_is_sequential(store: Store) {
    let w = world(store).await;
    let a = w.submission(&unique_text(1), ROADS);
    let b = w.submission(&unique_text(2), ROADS);
    let c = w.submission(&unique_text(3), ROADS);
    let items = vec![
        (a.clone(), "k-a".to_owned()),
        (b.clone(), "k-b".to_owned()),
        (a.clone(), "k-a".to_owned()),
        (c, "k-b".to_owned()),
    ];
    let out = w.wf.submit_batch(&items, NOW).await.unwrap();
    let first = out[0].as_ref().unwrap();
    assert!(!first.replayed);
    assert!(!out[1].as_ref().unwrap().replayed);
    let again = out[2].as_ref().unwrap();
    assert!(again.replayed);
    assert_eq!(again.record, first.record);
    match &out[3] {
        Err(WorkflowError::KeyReused { message, .. }) => {
            assert_eq!(*message, out[1].as_ref().unwrap().record.message.id)
        }
        other => panic!("expected KeyReused, got {other:?}"),
    }
    assert_eq!(rows_in(&w.store, "messages").await, 2);
}

async fn received_email_is_queued_with_the_message(store: Store) {
    let w = world(store).await;
    let s = w.submission("Яма на дороге у школы", ROADS);
    let intake = w.wf.submit(&s, "mail-1", NOW).await.unwrap();
    let id = intake.record.message.id;
    let emails = w.store.emails_of(id).await.unwrap();
    assert_eq!(emails.len(), 1);
    let e = &emails[0];
    assert_eq!(e.template, "received");
    assert_eq!(e.recipient, "citizen@example.ru");
    assert_eq!(e.subject, format!("Ваше сообщение № {id} принято"));
    assert!(e.body_text.contains("Яма на дороге у школы"));
    // A retry queues nothing more.
    assert!(w.wf.submit(&s, "mail-1", NOW).await.unwrap().replayed);
    assert_eq!(w.store.emails_of(id).await.unwrap().len(), 1);
    // A phone number, or no contact: no e-mail.
    let mut phone = w.submission("Не горит фонарь", ROADS);
    phone.contact = Some("+7 900 000-00-00".into());
    let p = w.wf.submit(&phone, "mail-2", NOW).await.unwrap();
    assert!(
        w.store
            .emails_of(p.record.message.id)
            .await
            .unwrap()
            .is_empty()
    );
    // In a batch too, each with its own.
    let items: Vec<(Submission, String)> = (0..3)
        .map(|i| {
            let mut s = w.submission(&unique_text(i), FAST);
            s.contact = Some(format!("c{i}@example.ru"));
            (s, format!("mail-b{i}"))
        })
        .collect();
    for (i, r) in
        w.wf.submit_batch(&items, NOW)
            .await
            .unwrap()
            .iter()
            .enumerate()
    {
        let id = r.as_ref().unwrap().record.message.id;
        let emails = w.store.emails_of(id).await.unwrap();
        assert_eq!(emails.len(), 1);
        assert_eq!(emails[0].recipient, format!("c{i}@example.ru"));
    }
    assert_eq!(rows_in(&w.store, "email_outbox").await, 4);
}

async fn attachments_are_looked_up_and_linked(store: Store) {
    let w = world(store).await;
    let dir = tempfile::tempdir().unwrap();
    let files = AttachmentFiles::new(dir.path());
    let a = upload(&w, &files, 1).await;
    let b = upload(&w, &files, 2).await;
    let mut s = w.submission("Яма, фото прилагаю", ROADS);
    s.attachments = vec![a.to_string(), b.to_string()];
    let intake = w.wf.submit(&s, "att-1", NOW).await.unwrap();
    let id = intake.record.message.id;
    assert_eq!(
        intake.record.attachments,
        vec![a.to_string(), b.to_string()]
    );
    let linked: Vec<AttachmentId> = w
        .store
        .attachments_of(id)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(linked, vec![a, b]);
    // A retry is answered from the stored message.
    assert!(w.wf.submit(&s, "att-1", NOW).await.unwrap().replayed);
    // An unknown id, a malformed one, and one attached to another message: refused, nothing
    // written.
    let before = rows_in(&w.store, "messages").await;
    for (bad, expect) in [
        (vec!["424242".to_owned()], "unknown attachment id 424242"),
        (vec!["sha256:abc".to_owned()], "bad attachment id"),
        (vec![a.to_string()], "attach"),
    ] {
        let mut s = w.submission("Другая яма", ROADS);
        s.attachments = bad.clone();
        match w.wf.submit(&s, &format!("att-bad-{}", bad[0]), NOW).await {
            Err(WorkflowError::Invalid(why)) => assert!(why.contains(expect), "{why}"),
            other => panic!("{bad:?}: expected Invalid, got {other:?}"),
        }
    }
    assert_eq!(rows_in(&w.store, "messages").await, before);
    assert_eq!(w.store.attachments_of(id).await.unwrap().len(), 2);
}

/// Incidents over two districts, with near-duplicates, unsure ones, a refused one and the
/// same post twice.
async fn incidents(w: &World) -> Vec<(Incident, String)> {
    let texts = [
        (
            "-1_1",
            "Огромная яма на дороге у школы номер пять, машины бьют колёса",
            900,
            "town1",
        ),
        (
            "-1_2",
            "Огромная яма на дороге у школы номер пять, машины бьют колёса каждый день",
            950,
            "town1",
        ),
        (
            "-1_3",
            "Не вывозят мусор во дворе уже неделю, контейнеры переполнены",
            400,
            "district1",
        ),
        (
            "-1_4",
            "Огромная яма на дороге у школы номер пять, машины бьют колёса",
            800,
            "district2",
        ),
        (
            "-1_5",
            "Сломан светофор на перекрёстке Ленина и Мира",
            990,
            "district2",
        ),
        (
            "-1_6",
            "Нет освещения на улице Садовой по вечерам",
            700,
            "district1",
        ),
        (
            "-1_7",
            "Не вывозят мусор во дворе уже неделю, контейнеры переполнены совсем",
            720,
            "district1",
        ),
    ];
    let mut out = Vec::new();
    for (i, (ext, text, conf, territory)) in texts.into_iter().enumerate() {
        let post = w.post(ext, text).await;
        out.push((
            Incident {
                post,
                source_url: Some(format!("https://vk.com/wall{ext}")),
                author_handle: Some("id1".into()),
                text: text.into(),
                territory: Some(w.territory(territory)),
                address: None,
                subcategory: SubcategoryId(if i % 3 == 0 { FAST } else { ROADS }.into()),
                confidence_pm: conf,
            },
            format!("post:{}", post.get()),
        ));
    }
    // An unknown subcategory: refused by both.
    let mut bad = out[0].0.clone();
    bad.subcategory = SubcategoryId("no.such".into());
    out.insert(2, (bad, "post:bad".into()));
    // The same post again.
    out.push(out[1].clone());
    out
}

#[derive(Debug, PartialEq)]
struct Snapshot {
    results: Vec<Result<(MessageId, MessageStatus, bool), String>>,
    records: Vec<otklik_domain::MessageRecord>,
    audit: Vec<(i64, String, Option<i64>, String, i64)>,
    requests: Vec<(String, i64, String, String, String)>,
}

async fn snapshot(w: &World, results: Vec<Result<Intake, WorkflowError>>) -> Snapshot {
    let results = results
        .into_iter()
        .map(|r| {
            r.map(|i| (i.record.message.id, i.record.message.status, i.replayed))
                .map_err(|e| e.to_string())
        })
        .collect();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM messages ORDER BY id")
        .fetch_all(w.store.pool())
        .await
        .unwrap();
    let mut records = Vec::new();
    let mut audit = Vec::new();
    for id in ids {
        records.push(w.wf.message(MessageId(id)).await.unwrap());
        for e in w.store.audit_trail(EntityKind::Message, id).await.unwrap() {
            let ev = e.event;
            audit.push((
                ev.entity_id,
                ev.action,
                ev.actor.map(|a| a.get()),
                ev.detail,
                ev.at.millis(),
            ));
        }
    }
    let requests = sqlx::query_as::<_, (String, i64, String, String, String)>(
        "SELECT idempotency_key, message_id, operation, payload_hash, result \
         FROM workflow_requests ORDER BY idempotency_key",
    )
    .fetch_all(w.store.pool())
    .await
    .unwrap();
    Snapshot {
        results,
        records,
        audit,
        requests,
    }
}

async fn incident_batch_is_like_one_by_one(store: Store) {
    let backend = store.backend();
    // One by one, on this store.
    let w = world(store).await;
    let items = incidents(&w).await;
    let mut results = Vec::new();
    for (incident, key) in &items {
        results.push(w.wf.intake_incident(incident, key, NOW).await);
    }
    let sequential = snapshot(&w, results).await;
    assert_eq!(sequential.records.len(), 7);
    assert!(
        sequential
            .records
            .iter()
            .any(|r| r.message.status == MessageStatus::Coordination)
    );
    assert!(
        sequential
            .records
            .iter()
            .any(|r| r.message.status == MessageStatus::Moderation)
    );
    assert!(
        sequential
            .records
            .iter()
            .any(|r| r.duplicate_group.is_some())
    );
    assert!(!sequential.requests.is_empty());
    assert_eq!(
        sequential.records[0].message.channel,
        Channel::SocialNetwork
    );
    // The same in one batch, on a fresh store of the same backend.
    let body = move |store: Store| async move {
        let w = world(store).await;
        let items = incidents(&w).await;
        let batch = w.wf.intake_incident_batch(&items, NOW).await.unwrap();
        let batched = snapshot(&w, batch).await;
        assert_eq!(batched, sequential);
        // Again: every one replayed (or refused again), nothing more written.
        let again = w.wf.intake_incident_batch(&items, NOW).await.unwrap();
        assert!(again.iter().all(|r| match r {
            Ok(i) => i.replayed,
            Err(e) => matches!(e, WorkflowError::Invalid(_)),
        }));
        assert_eq!(rows_in(&w.store, "messages").await, 7);
    };
    match backend {
        Backend::Sqlite => otklik_store::testing::on_sqlite("incident_batch", body).await,
        Backend::Postgres => otklik_store::testing::on_postgres("incident_batch", body).await,
    }
}
