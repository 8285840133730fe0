//! Intake from every channel: validation, routing by place of submission, integration ids,
//! attachments, the unclassified fallback.

use otklik_domain::{Channel, MessageStatus, SubcategoryId};
use otklik_store::Store;
use otklik_workflow::{IntegrationSubmission, WorkflowError};

use crate::fixtures::{NOW, ROADS, world};
use otklik_store::testing::rows_in;

both_backends!(
    widget_routes_by_place_of_submission,
    integration_is_deduplicated_by_external_id,
    bad_submissions_are_refused,
    batch_is_like_single_submissions
);

async fn widget_routes_by_place_of_submission(store: Store) {
    let w = world(store).await;
    let mut s = w.submission("Сломана скамейка в сквере", ROADS);
    s.channel = Channel::Widget;
    s.submitted_via = Some(w.org("adm2"));
    let dir = tempfile::tempdir().unwrap();
    let files = otklik_store::AttachmentFiles::new(dir.path());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7; 32]);
    let photo = w
        .store
        .save_attachment(&files, "скамейка.png", Some("image/png"), png, NOW)
        .await
        .unwrap();
    s.attachments = vec![photo.id.to_string()];
    let intake = w.wf.submit(&s, "widget-1", NOW).await.unwrap();
    let r = intake.record;
    // The territory is district 1, but the widget is adm2's: by place of submission.
    assert_eq!(r.message.executor, Some(w.org("adm2")));
    assert!(intake.note.unwrap().contains("по месту подачи"));
    assert_eq!(r.attachments, vec![photo.id.to_string()]);
    let linked = w.store.attachment(photo.id).await.unwrap().unwrap();
    assert_eq!(linked.message, Some(r.message.id));
    assert_eq!(r.citizen_contact.as_deref(), Some("citizen@example.ru"));
    // Stored as returned.
    assert_eq!(w.wf.message(r.message.id).await.unwrap(), r);
    // No category: the unclassified subcategory, waiting for the moderator.
    let mut s = w.submission("Просто вопрос", ROADS);
    s.category_hint = None;
    let intake = w.wf.submit(&s, "portal-2", NOW).await.unwrap();
    assert_eq!(intake.record.message.subcategory.0, "other.other");
    assert_eq!(intake.record.message.status, MessageStatus::Moderation);
    assert!(intake.note.unwrap().contains("категория не указана"));
}

async fn integration_is_deduplicated_by_external_id(store: Store) {
    let w = world(store).await;
    let s = IntegrationSubmission {
        system: "gosuslugi-pos".into(),
        external_id: "12345".into(),
        text: "Не убирают снег во дворе".into(),
        category_hint: Some(SubcategoryId(ROADS.into())),
        territory: Some(w.territory("district2")),
        address: None,
        contact: None,
        attachments: vec![],
    };
    let first = w.wf.intake_integration(&s, "pos:12345", NOW).await.unwrap();
    assert_eq!(first.record.message.channel, Channel::Integration);
    assert_eq!(first.record.message.executor, Some(w.org("adm2")));
    assert_eq!(first.record.external_id.as_deref(), Some("12345"));
    // Handed over again under another key: the same message.
    let again = w.wf.intake_integration(&s, "retry-key", NOW).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.record.message.id, first.record.message.id);
    // The same external id with another text: refused.
    let changed = IntegrationSubmission {
        text: "Другое".into(),
        ..s.clone()
    };
    let e = w.wf.intake_integration(&changed, "other-key", NOW).await;
    assert!(matches!(e, Err(WorkflowError::KeyReused { .. })), "{e:?}");
    assert_eq!(rows_in(&w.store, "messages").await, 1);
}

async fn bad_submissions_are_refused(store: Store) {
    let w = world(store).await;
    let ok = w.submission("Яма", ROADS);
    let cases = [
        {
            let mut s = ok.clone();
            s.text = "   ".into();
            s
        },
        {
            let mut s = ok.clone();
            s.category_hint = Some(SubcategoryId("roads.nothing".into()));
            s
        },
        {
            let mut s = ok.clone();
            s.channel = Channel::SocialNetwork;
            s
        },
        {
            let mut s = ok.clone();
            s.channel = Channel::Widget;
            s
        },
        {
            let mut s = ok.clone();
            s.attachments = vec!["../../etc/passwd".into()];
            s
        },
    ];
    for (i, s) in cases.iter().enumerate() {
        let e = w.wf.submit(s, &format!("bad-{i}"), NOW).await;
        assert!(
            matches!(e, Err(WorkflowError::Invalid(_))),
            "case {i}: {e:?}"
        );
    }
    let e =
        w.wf.intake_integration(
            &IntegrationSubmission {
                system: " ".into(),
                external_id: "1".into(),
                text: "т".into(),
                category_hint: None,
                territory: None,
                address: None,
                contact: None,
                attachments: vec![],
            },
            "bad-int",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::Invalid(_))), "{e:?}");
    assert_eq!(rows_in(&w.store, "messages").await, 0);
    assert_eq!(
        rows_in(&w.store, "audit_events").await,
        1,
        "only the import"
    );
}

async fn batch_is_like_single_submissions(store: Store) {
    let w = world(store).await;
    let a = "Огромная яма на дороге по улице Ленина возле дома 5, машины ломают колёса";
    let b = "На улице Ленина у дома 5 огромная яма на дороге, машины ломают колеса!";
    // Stored before: one message, then its duplicate comes in the batch.
    let first =
        w.wf.submit(&w.submission(a, ROADS), "single-1", NOW)
            .await
            .unwrap();
    let c = "Не вывозят мусор с контейнерной площадки во дворе уже неделю";
    let d = "Во дворе уже неделю не вывозят мусор с контейнерной площадки";
    let mut empty = w.submission("x", ROADS);
    empty.text = " ".into();
    let mut changed = w.submission(a, ROADS);
    changed.text = "другой текст".into();
    let items = vec![
        (w.submission(b, ROADS), "batch-1".to_owned()),
        (w.submission(c, ROADS), "batch-2".to_owned()),
        (empty, "batch-3".to_owned()),
        (w.submission(d, ROADS), "batch-4".to_owned()),
        (w.submission(a, ROADS), "single-1".to_owned()),
        (changed, "single-1x".to_owned()),
    ];
    let out = w.wf.submit_batch(&items, NOW).await.unwrap();
    assert_eq!(out.len(), 6);
    let r1 = out[0].as_ref().unwrap();
    assert!(!r1.replayed);
    assert_eq!(r1.record.duplicate_group, Some(first.record.message.id));
    let r2 = out[1].as_ref().unwrap();
    assert_eq!(r2.record.duplicate_group, None);
    assert!(matches!(out[2], Err(WorkflowError::Invalid(_))));
    // Grouped with an earlier message of the same batch.
    let r4 = out[3].as_ref().unwrap();
    assert_eq!(r4.record.duplicate_group, Some(r2.record.message.id));
    // The key seen before with the same payload: replayed.
    let r5 = out[4].as_ref().unwrap();
    assert!(r5.replayed);
    assert_eq!(r5.record, first.record);
    let r6 = out[5].as_ref().unwrap();
    assert!(!r6.replayed, "another key: a new message");
    // Stored as returned, each with its audit event by its author.
    for r in [r1, r2, r4, r6] {
        let stored = w.wf.message(r.record.message.id).await.unwrap();
        assert_eq!(stored, r.record);
        let trail = w
            .store
            .audit_trail(
                otklik_domain::EntityKind::Message,
                r.record.message.id.get(),
            )
            .await
            .unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].event.action, "created");
        assert_eq!(trail[0].event.actor, Some(w.user("citizen").id));
    }
    assert_eq!(rows_in(&w.store, "messages").await, 5);
    // The same batch again: everything replayed, nothing new.
    let again = w.wf.submit_batch(&items, NOW).await.unwrap();
    assert!(again[0].as_ref().unwrap().replayed);
    assert!(again[3].as_ref().unwrap().replayed);
    assert_eq!(rows_in(&w.store, "messages").await, 5);
    // Same key, other payload inside a batch: refused for that item only.
    let mut other = w.submission(c, ROADS);
    other.text = "совсем не то".into();
    let out =
        w.wf.submit_batch(&[(other, "batch-2".to_owned())], NOW)
            .await
            .unwrap();
    assert!(matches!(out[0], Err(WorkflowError::KeyReused { .. })));
}
