//! Messages: creation, idempotency, transitions, conflicts, listing.

use std::sync::Arc;

use otklik_domain::{
    DomainError, EntityKind, MessageStatus, SubcategoryId, Timestamp, Transition, UserId,
};
use otklik_domain::{MessageId, MessageRecord, TerritoryId};
use otklik_store::{
    EscalationKind, Keyed, MessageChange, MessageFilter, NewRecord, StepWrite, Store, StoreError,
};

use crate::fixtures::{NOW, new_message, org_id, with_region};
use crate::harness::snapshot;

both_backends!(
    create_reads_back_and_audits,
    idempotency_key_returns_the_same_message,
    transition_happy_path_writes_audit,
    illegal_transition_writes_nothing,
    stale_version_is_a_conflict_and_writes_nothing,
    concurrent_transitions_have_one_winner,
    rating_is_checked,
    list_filters_and_pages,
    record_submission_is_keyed_by_payload,
    step_write_is_versioned_keyed_and_audited,
    duplicate_bands_and_escalations,
);

async fn create_reads_back_and_audits(store: Store) {
    with_region(&store).await;
    let executor = org_id(&store, "minzdrav").await;
    let created = store
        .create_message(
            &new_message(Some(executor), "Яма во дворе"),
            None,
            Some(UserId(3)),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(created.status, MessageStatus::Moderation);
    assert_eq!(created.version, 1);
    assert_eq!(created.created_at, NOW);
    assert_eq!(created.updated_at, NOW);
    assert_eq!(created.deadline_at, NOW.plus_days(30));
    assert_eq!(created.confidence_pm, Some(870));
    let stored = store.message(created.id).await.unwrap().unwrap();
    assert_eq!(stored, created);
    let trail = store
        .audit_trail(EntityKind::Message, created.id.get())
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].event.action, "created");
    assert_eq!(trail[0].event.actor, Some(UserId(3)));
    assert_eq!(trail[0].event.at, NOW);

    assert!(
        store
            .message(otklik_domain::MessageId(424_242))
            .await
            .unwrap()
            .is_none()
    );
    let err = store
        .create_message(&new_message(None, "   "), None, None, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let mut bad = new_message(None, "text");
    bad.confidence_pm = Some(1001);
    assert!(matches!(
        store
            .create_message(&bad, None, None, NOW)
            .await
            .unwrap_err(),
        StoreError::Invalid(_)
    ));
    // An unknown executor is refused by the foreign key.
    let unknown = new_message(Some(otklik_domain::OrganisationId(999_999)), "x");
    assert!(matches!(
        store
            .create_message(&unknown, None, None, NOW)
            .await
            .unwrap_err(),
        StoreError::Database(_)
    ));
}

async fn idempotency_key_returns_the_same_message(store: Store) {
    let new = new_message(None, "Не вывозят мусор");
    let first = store
        .create_message(&new, Some("portal-1"), None, NOW)
        .await
        .unwrap();
    let mut other_text = new.clone();
    other_text.text = "повторная отправка".into();
    let again = store
        .create_message(
            &other_text,
            Some("portal-1"),
            None,
            Timestamp(NOW.millis() + 5_000),
        )
        .await
        .unwrap();
    assert_eq!(again, first, "same key, same message");
    let different = store
        .create_message(&new, Some("portal-2"), None, NOW)
        .await
        .unwrap();
    assert_ne!(different.id, first.id);
    let unkeyed_a = store.create_message(&new, None, None, NOW).await.unwrap();
    let unkeyed_b = store.create_message(&new, None, None, NOW).await.unwrap();
    assert_ne!(unkeyed_a.id, unkeyed_b.id, "no key, no deduplication");
    assert_eq!(store.counts().await.unwrap().messages, 4);
    assert_eq!(
        store
            .audit_trail(EntityKind::Message, first.id.get())
            .await
            .unwrap()
            .len(),
        1
    );

    // Concurrent submissions with one key still make one message.
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let new = new.clone();
        tasks.push(tokio::spawn(async move {
            store.create_message(&new, Some("burst"), None, NOW).await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(store.counts().await.unwrap().messages, 5);
}

async fn transition_happy_path_writes_audit(store: Store) {
    with_region(&store).await;
    let minzdrav = org_id(&store, "minzdrav").await;
    let adm = org_id(&store, "district-adm").await;
    let m = store
        .create_message(&new_message(Some(minzdrav), "Яма"), None, None, NOW)
        .await
        .unwrap();
    let t = |n: i64| Timestamp(NOW.millis() + n * 1000);

    let m = store
        .transition_message(
            m.id,
            1,
            Transition::Recategorise,
            MessageChange {
                subcategory: Some(SubcategoryId("roads.signs".into())),
                executor: Some(adm),
                ..Default::default()
            },
            Some(UserId(1)),
            t(1),
        )
        .await
        .unwrap();
    assert_eq!((m.status, m.version), (MessageStatus::Moderation, 2));
    assert_eq!(m.executor, Some(adm));
    assert_eq!(m.subcategory.0, "roads.signs");
    assert_eq!(m.updated_at, t(1));

    let steps = [
        (
            Transition::Accept,
            MessageChange::default(),
            MessageStatus::Coordination,
        ),
        (
            Transition::SendToExecution,
            MessageChange::default(),
            MessageStatus::Execution,
        ),
        (
            Transition::Postpone,
            MessageChange {
                deadline_at: Some(NOW.plus_days(45)),
                reason: Some("нужен подрядчик".into()),
                ..Default::default()
            },
            MessageStatus::Execution,
        ),
        (
            Transition::SubmitForApproval,
            MessageChange {
                answer: Some("Яму заделают к 1 июня".into()),
                ..Default::default()
            },
            MessageStatus::Approval,
        ),
        (
            Transition::Approve,
            MessageChange::default(),
            MessageStatus::Answered,
        ),
        (
            Transition::Rate,
            MessageChange {
                rating: Some(4),
                ..Default::default()
            },
            MessageStatus::Rated,
        ),
        (
            Transition::Close,
            MessageChange::default(),
            MessageStatus::Closed,
        ),
    ];
    let mut m = m;
    for (i, (transition, change, expected)) in steps.into_iter().enumerate() {
        let version = m.version;
        m = store
            .transition_message(
                m.id,
                version,
                transition,
                change,
                Some(UserId(2)),
                t(2 + i as i64),
            )
            .await
            .unwrap_or_else(|e| panic!("{transition}: {e}"));
        assert_eq!(m.status, expected, "{transition}");
        assert_eq!(m.version, version + 1);
    }
    assert_eq!(m.version, 9);
    assert_eq!(m.rating, Some(4));
    assert_eq!(m.deadline_at, NOW.plus_days(45));
    assert_eq!(
        store.message(m.id).await.unwrap().unwrap(),
        m,
        "returned = stored"
    );
    let details = store.message_details(m.id).await.unwrap().unwrap();
    assert_eq!(
        details.answer_text.as_deref(),
        Some("Яму заделают к 1 июня")
    );
    assert_eq!(details.rejection_reason, None);

    let trail = store
        .audit_trail(EntityKind::Message, m.id.get())
        .await
        .unwrap();
    let actions: Vec<_> = trail.iter().map(|e| e.event.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "created",
            "transition:recategorise",
            "transition:accept",
            "transition:send_to_execution",
            "transition:postpone",
            "transition:submit_for_approval",
            "transition:approve",
            "transition:rate",
            "transition:close",
        ]
    );
    assert!(trail.windows(2).all(|w| w[0].id < w[1].id));
    let recat: serde_json::Value = serde_json::from_str(&trail[1].event.detail).unwrap();
    assert_eq!(recat["from"], "moderation");
    assert_eq!(recat["to"], "moderation");
    assert_eq!(recat["version"], 2);
    assert_eq!(recat["changes"]["executor"], adm.get());
    assert_eq!(recat["changes"]["subcategory"], "roads.signs");
    let postpone: serde_json::Value = serde_json::from_str(&trail[4].event.detail).unwrap();
    assert_eq!(postpone["changes"]["reason"], "нужен подрядчик");
    assert_eq!(trail[8].event.actor, Some(UserId(2)));

    // Rejection keeps its reason on the message.
    let r = store
        .create_message(&new_message(None, "спам"), None, None, NOW)
        .await
        .unwrap();
    let change = MessageChange {
        reason: Some("не по теме".into()),
        ..Default::default()
    };
    let r = store
        .transition_message(r.id, 1, Transition::Reject, change, None, NOW)
        .await
        .unwrap();
    assert_eq!(r.status, MessageStatus::Rejected);
    let details = store.message_details(r.id).await.unwrap().unwrap();
    assert_eq!(details.rejection_reason.as_deref(), Some("не по теме"));
}

async fn illegal_transition_writes_nothing(store: Store) {
    let m = store
        .create_message(&new_message(None, "текст"), None, None, NOW)
        .await
        .unwrap();
    let before = snapshot(&store).await;
    let err = store
        .transition_message(
            m.id,
            1,
            Transition::Approve,
            MessageChange::default(),
            None,
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Domain(DomainError::IllegalTransition {
                from: "moderation",
                transition: "approve"
            })
        ),
        "{err:?}"
    );
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(store.message(m.id).await.unwrap().unwrap(), m);
    assert_eq!(
        store
            .audit_trail(EntityKind::Message, m.id.get())
            .await
            .unwrap()
            .len(),
        1
    );

    let err = store
        .transition_message(
            otklik_domain::MessageId(9_999),
            1,
            Transition::Accept,
            Default::default(),
            None,
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::NotFound {
            entity: EntityKind::Message,
            ..
        }
    ));
}

async fn stale_version_is_a_conflict_and_writes_nothing(store: Store) {
    let m = store
        .create_message(&new_message(None, "текст"), None, None, NOW)
        .await
        .unwrap();
    let moved = store
        .transition_message(
            m.id,
            1,
            Transition::Accept,
            MessageChange::default(),
            None,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(moved.version, 2);
    let before = snapshot(&store).await;
    // Someone still holding version 1 tries to reject it.
    let err = store
        .transition_message(
            m.id,
            1,
            Transition::Reject,
            MessageChange::default(),
            None,
            NOW,
        )
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert!(matches!(err, StoreError::Conflict { id, expected_version: 1 } if id == m.id));
    // A version from the future is stale too.
    let err = store
        .transition_message(
            m.id,
            7,
            Transition::SendToExecution,
            MessageChange::default(),
            None,
            NOW,
        )
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(store.message(m.id).await.unwrap().unwrap(), moved);
}

async fn concurrent_transitions_have_one_winner(store: Store) {
    let m = store
        .create_message(&new_message(None, "гонка"), None, None, NOW)
        .await
        .unwrap();
    let store = Arc::new(store);
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = Arc::clone(&store);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .transition_message(
                    m.id,
                    1,
                    Transition::Accept,
                    MessageChange::default(),
                    Some(UserId(i)),
                    NOW,
                )
                .await
        }));
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(msg) => winners.push(msg),
            Err(StoreError::Conflict { .. }) => conflicts += 1,
            Err(other) => panic!("only conflicts may fail, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner");
    assert_eq!(conflicts, 19);
    let stored = store.message(m.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.status, MessageStatus::Coordination);
    let trail = store
        .audit_trail(EntityKind::Message, m.id.get())
        .await
        .unwrap();
    let accepts: Vec<_> = trail
        .iter()
        .filter(|e| e.event.action == "transition:accept")
        .collect();
    assert_eq!(accepts.len(), 1, "one audit event for the one transition");
    assert_eq!(trail.len(), 2);
}

async fn rating_is_checked(store: Store) {
    let m = store
        .create_message(&new_message(None, "оценка"), None, None, NOW)
        .await
        .unwrap();
    let mut v = 1;
    for t in [
        Transition::Accept,
        Transition::SendToExecution,
        Transition::SubmitForApproval,
        Transition::Approve,
    ] {
        v = store
            .transition_message(m.id, v, t, Default::default(), None, NOW)
            .await
            .unwrap()
            .version;
    }
    let before = snapshot(&store).await;
    let err = store
        .transition_message(m.id, v, Transition::Rate, Default::default(), None, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let change = MessageChange {
        rating: Some(6),
        ..Default::default()
    };
    let err = store
        .transition_message(m.id, v, Transition::Rate, change, None, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::BadRating(6))),
        "{err:?}"
    );
    assert_eq!(snapshot(&store).await, before);
    let change = MessageChange {
        rating: Some(1),
        ..Default::default()
    };
    let rated = store
        .transition_message(m.id, v, Transition::Rate, change, None, NOW)
        .await
        .unwrap();
    assert_eq!(rated.rating, Some(1));
}

async fn list_filters_and_pages(store: Store) {
    with_region(&store).await;
    let a = org_id(&store, "minzdrav").await;
    let b = org_id(&store, "district-adm").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let executor = if i % 2 == 0 { a } else { b };
        ids.push(
            store
                .create_message(
                    &new_message(Some(executor), &format!("m{i}")),
                    None,
                    None,
                    NOW,
                )
                .await
                .unwrap()
                .id,
        );
    }
    store
        .transition_message(ids[0], 1, Transition::Accept, Default::default(), None, NOW)
        .await
        .unwrap();

    let all = store.list_messages(MessageFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    let of_a = store
        .list_messages(MessageFilter {
            executor: Some(a),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(of_a.len(), 3);
    let moderation_of_a = store
        .list_messages(MessageFilter {
            executor: Some(a),
            status: Some(MessageStatus::Moderation),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        moderation_of_a.iter().map(|m| m.id).collect::<Vec<_>>(),
        [ids[2], ids[4]]
    );
    let coordination = store
        .list_messages(MessageFilter {
            status: Some(MessageStatus::Coordination),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(coordination.len(), 1);
    let page = store
        .list_messages(MessageFilter {
            limit: Some(2),
            offset: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|m| m.id).collect::<Vec<_>>(),
        [ids[1], ids[2]]
    );
    let err = store
        .list_messages(MessageFilter {
            limit: Some(-1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
}

fn new_record(text: &str, territory: Option<TerritoryId>, bands: Vec<i64>) -> NewRecord {
    let mut message = new_message(None, text);
    message.territory = territory;
    NewRecord {
        message,
        citizen_contact: Some("a@example.ru".into()),
        attachments: vec!["sha256-ab".into()],
        external_system: None,
        external_id: None,
        source_url: None,
        fast_track: true,
        moderation_note: Some("маршрут".into()),
        first_reply_due_at: None,
        duplicate_group: None,
        text_signature: Some("00ff".into()),
        bands,
        deadline_clock: Some("{}".into()),
    }
}

async fn record_submission_is_keyed_by_payload(store: Store) {
    let new = new_record("Яма", None, vec![]);
    let first = match store
        .submit_record(
            &new,
            "k1",
            "hash-a",
            None,
            serde_json::json!({"route": "r"}),
            None,
            |_| None,
            NOW,
        )
        .await
        .unwrap()
    {
        Keyed::Done(r) => r,
        other => panic!("expected Done, got {other:?}"),
    };
    assert_eq!(first.message.status, MessageStatus::Moderation);
    assert_eq!(first.attachments, vec!["sha256-ab".to_owned()]);
    assert!(first.fast_track);
    assert_eq!(
        store.message_record(first.message.id).await.unwrap(),
        Some(first.clone())
    );
    // Same key, same payload: the stored message; another payload: refused.
    let again = store
        .submit_record(
            &new,
            "k1",
            "hash-a",
            None,
            serde_json::json!({}),
            None,
            |_| None,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(again, Keyed::Replayed(first.clone()));
    let before = snapshot(&store).await;
    let reused = store
        .submit_record(
            &new,
            "k1",
            "hash-b",
            None,
            serde_json::json!({}),
            None,
            |_| None,
            NOW,
        )
        .await
        .unwrap();
    assert!(matches!(reused, Keyed::KeyReused { message, .. } if message == first.message.id));
    assert_eq!(snapshot(&store).await, before);
    // The audit event carries the caller's detail.
    let trail = store
        .audit_trail(EntityKind::Message, first.message.id.get())
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert!(trail[0].event.detail.contains("\"route\":\"r\""));
    // The older API still reads these rows.
    assert_eq!(
        store.message(first.message.id).await.unwrap(),
        Some(first.message)
    );
}

async fn step_write_is_versioned_keyed_and_audited(store: Store) {
    let first = store
        .submit_record(
            &new_record("Яма", None, vec![]),
            "k1",
            "h",
            None,
            serde_json::json!({}),
            None,
            |_| None,
            NOW,
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let mut next: MessageRecord = first.clone();
    next.message.status = MessageStatus::Coordination;
    next.moderation_note = Some("принято".into());
    let write = |key: &'static str, hash: &'static str, version: i64, next: MessageRecord| {
        let store = store.clone();
        async move {
            store
                .apply_step(&StepWrite {
                    expected_version: version,
                    next: &next,
                    transition: Transition::Accept,
                    actor: Some(UserId(7)),
                    detail: serde_json::json!({"note": "x"}),
                    key: Some((key, hash)),
                    also: &[],
                    emails: &[],
                    rating_link: None,
                    now: NOW,
                })
                .await
        }
    };
    let done = write("s1", "h1", 1, next.clone()).await.unwrap();
    let applied = match done {
        Keyed::Done(a) => a,
        other => panic!("expected Done, got {other:?}"),
    };
    assert_eq!(applied.record.message.version, 2);
    assert_eq!(
        store.message_record(first.message.id).await.unwrap(),
        Some(applied.record.clone())
    );
    // Replayed from the stored result; another payload under the key is refused.
    match write("s1", "h1", 1, next.clone()).await.unwrap() {
        Keyed::Replayed(a) => assert_eq!(a.record, applied.record),
        other => panic!("expected Replayed, got {other:?}"),
    }
    assert!(matches!(
        write("s1", "h2", 1, next.clone()).await.unwrap(),
        Keyed::KeyReused { .. }
    ));
    // A stale version with a new key: a conflict, nothing written.
    let before = snapshot(&store).await;
    let e = write("s2", "h", 1, next.clone()).await;
    assert!(matches!(e, Err(StoreError::Conflict { .. })), "{e:?}");
    assert_eq!(snapshot(&store).await, before);
    let trail = store
        .audit_trail(EntityKind::Message, first.message.id.get())
        .await
        .unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[1].event.action, "transition:accept");
    assert_eq!(trail[1].event.actor, Some(UserId(7)));
    assert!(trail[1].event.detail.contains("\"from\":\"moderation\""));
    assert!(trail[1].event.detail.contains("\"note\":\"x\""));
    let req = store.workflow_request("s1").await.unwrap().unwrap();
    assert_eq!(req.result, applied.record);
    assert_eq!(req.operation, "transition:accept");
}

async fn duplicate_bands_and_escalations(store: Store) {
    with_region(&store).await;
    let town = store.territory_by_code("town").await.unwrap().unwrap().id;
    let a = store
        .submit_record(
            &new_record("Яма", Some(town), vec![1, 2, 3]),
            "a",
            "h",
            None,
            serde_json::json!({}),
            None,
            |_| None,
            NOW,
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let found = store
        .duplicate_candidates(town, &[3, 9], Timestamp(NOW.millis() - 1))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, a.message.id);
    assert!(
        store
            .duplicate_candidates(town, &[9], NOW)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .duplicate_candidates(town, &[3], Timestamp(NOW.millis() + 1))
            .await
            .unwrap()
            .is_empty()
    );
    // The group is chosen inside the insert's transaction from the candidates.
    let member = store
        .submit_record(
            &new_record("Яма тоже", Some(town), vec![3]),
            "b",
            "h",
            None,
            serde_json::json!({}),
            Some(Timestamp(NOW.millis() - 1)),
            |candidates: &[otklik_store::DuplicateCandidate]| {
                assert_eq!(candidates.len(), 1);
                Some(candidates[0].id)
            },
            NOW,
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    assert_eq!(member.duplicate_group, Some(a.message.id));
    assert_eq!(
        store
            .message_record(member.message.id)
            .await
            .unwrap()
            .unwrap()
            .duplicate_group,
        Some(a.message.id)
    );
    assert_eq!(store.group_records(a.message.id).await.unwrap().len(), 2);
    assert!(
        store
            .group_records(MessageId(9999))
            .await
            .unwrap()
            .is_empty()
    );

    let e = store
        .record_escalation(
            a.message.id,
            None,
            EscalationKind::Overdue,
            a.message.deadline_at,
            &[],
            NOW,
        )
        .await
        .unwrap();
    assert!(e.is_some());
    let again = store
        .record_escalation(
            a.message.id,
            None,
            EscalationKind::Overdue,
            a.message.deadline_at,
            &[],
            NOW,
        )
        .await
        .unwrap();
    assert!(again.is_none());
    assert_eq!(store.escalations(None, true).await.unwrap().len(), 1);
    assert_eq!(
        store
            .count_message_events(a.message.id, "escalation:overdue")
            .await
            .unwrap(),
        1
    );
    let due = store
        .open_records_due(None, a.message.deadline_at)
        .await
        .unwrap();
    assert_eq!(due.len(), 2);
}
