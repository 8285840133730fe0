//! The curator's control: at-risk and overdue messages per organisation, escalation notices.

use otklik_domain::{Channel, EntityKind, Network, SubcategoryId, Timestamp};
use otklik_store::{EscalationKind, Store};
use otklik_workflow::{ControlDeadline, DeadlineStatus, Incident};

use crate::fixtures::{FAST, NOW, ROADS, world};

both_backends!(
    at_risk_and_overdue_per_organisation_with_escalations,
    first_public_reply_deadline_is_controlled
);

async fn at_risk_and_overdue_per_organisation_with_escalations(store: Store) {
    let w = world(store).await;
    // adm1: a fast-track (due Monday 8 December) and an ordinary one (due 22 January).
    let fast = w.submit("Стёрлась разметка", FAST, "c1").await;
    let slow = w.submit("Разбита дорога", ROADS, "c2").await;
    // adm2 (by its widget): a fast-track too.
    let mut s = w.submission("Нет разметки у школы", FAST);
    s.channel = Channel::Widget;
    s.submitted_via = Some(w.org("adm2"));
    let other = w.wf.submit(&s, "c3", NOW).await.unwrap().record.message.id;

    // Monday 8 December 10:00, the last working day of the fast-tracks: at risk.
    let monday = Timestamp(NOW.millis() + 7 * Timestamp::DAY_MS);
    let items = w.wf.control(Some(w.org("adm1")), monday).await.unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].record.message.id, fast);
    assert_eq!(items[0].status, DeadlineStatus::AtRisk);
    assert!(items[0].remaining_ms > 0);
    let all = w.wf.control(None, monday).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|i| i.record.message.id != slow));

    // Tuesday 9 December: both fast-tracks overdue, listed first.
    let tuesday = Timestamp(monday.millis() + Timestamp::DAY_MS);
    let all = w.wf.control(None, tuesday).await.unwrap();
    assert!(all.iter().all(|i| i.status == DeadlineStatus::Overdue));
    assert_eq!(all.len(), 2);
    let adm2 = w.wf.control(Some(w.org("adm2")), tuesday).await.unwrap();
    assert_eq!(adm2.len(), 1);
    assert_eq!(adm2[0].record.message.id, other);

    // Escalation notices: recorded once per message, kind and deadline, with audit events.
    let first = w.wf.escalate(monday).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|e| e.kind == EscalationKind::AtRisk));
    assert!(w.wf.escalate(monday).await.unwrap().is_empty(), "not twice");
    let overdue = w.wf.escalate(tuesday).await.unwrap();
    assert_eq!(overdue.len(), 2);
    assert!(overdue.iter().all(|e| e.kind == EscalationKind::Overdue));
    let pending = w
        .store
        .escalations(Some(w.org("adm1")), true)
        .await
        .unwrap();
    assert_eq!(pending.len(), 2);
    assert!(
        w.store
            .mark_escalation_notified(pending[0].id, tuesday)
            .await
            .unwrap()
    );
    assert!(
        !w.store
            .mark_escalation_notified(pending[0].id, tuesday)
            .await
            .unwrap()
    );
    assert_eq!(
        w.store
            .escalations(Some(w.org("adm1")), true)
            .await
            .unwrap()
            .len(),
        1
    );
    let trail = w
        .store
        .audit_trail(EntityKind::Message, fast.get())
        .await
        .unwrap();
    let actions: Vec<_> = trail.iter().map(|e| e.event.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["created", "escalation:at_risk", "escalation:overdue"]
    );
}

async fn first_public_reply_deadline_is_controlled(store: Store) {
    let w = world(store).await;
    let post = w.post("-1_200", "Разбита дорога у школы, яма на яме").await;
    let incident = Incident {
        post,
        source_url: None,
        author_handle: Some("id1".into()),
        text: "Разбита дорога у школы, яма на яме".into(),
        territory: Some(w.territory("town1")),
        address: None,
        subcategory: SubcategoryId(ROADS.into()),
        confidence_pm: 900,
    };
    let record =
        w.wf.intake_incident_batch(&[(incident, "post:200".into())], NOW)
            .await
            .unwrap()
            .remove(0)
            .unwrap()
            .record;
    let id = record.message.id;
    let due = record.first_reply_due_at.unwrap();
    assert!(due > NOW && due < record.message.deadline_at);
    // A direct submission has no first-reply deadline.
    let direct = w.submit("Разбита дорога", ROADS, "d1").await;

    // Just registered: 8 working hours left, nothing to control.
    let soon = Timestamp(NOW.millis() + 60_000);
    assert!(w.wf.control(None, soon).await.unwrap().is_empty());
    // Ten minutes before the first reply is due: at risk, while the answer is far away.
    let risky = Timestamp(due.millis() - 10 * 60_000);
    let items = w.wf.control(Some(w.org("adm1")), risky).await.unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].record.message.id, id);
    assert_eq!(items[0].deadline, ControlDeadline::FirstReply);
    assert_eq!(items[0].deadline_at, due);
    assert_eq!(items[0].status, DeadlineStatus::AtRisk);
    assert!(items[0].remaining_ms > 0 && items[0].remaining_ms <= 10 * 60_000);
    assert!(
        w.wf.control(Some(w.org("adm2")), risky)
            .await
            .unwrap()
            .is_empty()
    );
    // Past it: overdue.
    let late = Timestamp(due.millis() + 60_000);
    let items = w.wf.control(None, late).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].status, DeadlineStatus::Overdue);
    assert!(items.iter().all(|i| i.record.message.id != direct));
    // Escalated on its own deadline.
    let notices = w.wf.escalate(late).await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].deadline_at, due);
    assert_eq!(notices[0].kind, EscalationKind::Overdue);
    let topics: Vec<String> = w
        .store
        .emails_of(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.template == "escalation")
        .map(|e| e.body_text)
        .collect();
    assert!(!topics.is_empty());
    assert!(
        topics
            .iter()
            .all(|t| t.contains("нет первого публичного ответа"))
    );
    // A public reply queued under the post meets it.
    w.store
        .enqueue_reply(
            id,
            Network::Vk,
            "-1_200",
            "Приняли в работу",
            "first-reply-200",
            late,
        )
        .await
        .unwrap();
    assert!(w.wf.control(None, late).await.unwrap().is_empty());
}
