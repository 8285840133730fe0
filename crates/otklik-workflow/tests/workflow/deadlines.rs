//! Deadlines on the working-day calendar: weekends, holidays, fast-tracks, pauses while
//! waiting for the citizen, postponements.

use otklik_domain::{MessageId, Timestamp};
use otklik_store::Store;
use otklik_workflow::{Action, DeadlineStatus, WorkflowError};

use crate::fixtures::{FAST, NOW, ROADS, World, world};

both_backends!(
    terms_count_working_days_and_fast_tracks,
    weekends_and_new_year_holidays_are_skipped,
    clarification_pauses_the_clock,
    postponement_moves_the_deadline_with_its_reason
);

/// Saturday 6 December 2025, 10:00 Moscow.
const SATURDAY: Timestamp = Timestamp(1_765_004_400_000);
/// Tuesday 30 December 2025, 10:00 Moscow (31 December and 1–9 January are days off).
const NEW_YEAR_EVE: Timestamp = Timestamp(1_767_078_000_000);
const HOUR: i64 = Timestamp::HOUR_MS;

fn date(w: &World, t: Timestamp) -> String {
    w.wf.calendar().local_date(t).to_string()
}

async fn submit_at(w: &World, sub: &str, key: &str, at: Timestamp) -> MessageId {
    w.wf.submit(&w.submission("Стёрлась разметка", sub), key, at)
        .await
        .unwrap()
        .record
        .message
        .id
}

async fn terms_count_working_days_and_fast_tracks(store: Store) {
    let w = world(store).await;
    // Monday 1 December: 5 working days (fast-track) → Monday 8 December, end of the day.
    let fast =
        w.wf.message(submit_at(&w, FAST, "d1", NOW).await)
            .await
            .unwrap();
    assert!(fast.fast_track);
    assert_eq!(date(&w, fast.message.deadline_at), "2025-12-08");
    assert_eq!(
        fast.message.deadline_at,
        w.wf.calendar().add_working_days(NOW, 5)
    );
    // An ordinary subcategory: 30 working days, crossing the New Year holidays → 22 January.
    let slow =
        w.wf.message(submit_at(&w, ROADS, "d2", NOW).await)
            .await
            .unwrap();
    assert!(!slow.fast_track);
    assert_eq!(date(&w, slow.message.deadline_at), "2026-01-22");
    // Not calendar days.
    assert!(slow.message.deadline_at > NOW.plus_days(30));
}

async fn weekends_and_new_year_holidays_are_skipped(store: Store) {
    let w = world(store).await;
    // Registered on Saturday: day 1 is Monday 8 December, day 5 Friday 12 December.
    let sat =
        w.wf.message(submit_at(&w, FAST, "w1", SATURDAY).await)
            .await
            .unwrap();
    assert_eq!(date(&w, sat.message.deadline_at), "2025-12-12");
    // Registered on 30 December: 31 Dec and 1–11 January are off; day 5 is Friday 16 January.
    let ny =
        w.wf.message(submit_at(&w, FAST, "w2", NEW_YEAR_EVE).await)
            .await
            .unwrap();
    assert_eq!(date(&w, ny.message.deadline_at), "2026-01-16");
    assert_eq!(
        w.wf.deadline_status(
            &ny,
            Timestamp(NEW_YEAR_EVE.millis() + 10 * Timestamp::DAY_MS)
        ),
        DeadlineStatus::OnTime,
        "the holidays do not eat the term"
    );
}

async fn clarification_pauses_the_clock(store: Store) {
    let w = world(store).await;
    let id = submit_at(&w, FAST, "p1", NOW).await;
    w.act("moderator", id, Action::Accept, "p2").await;
    w.act("coordinator-adm1", id, Action::SendToExecution, "p3")
        .await;
    let before = w.wf.message(id).await.unwrap();
    // Tuesday 2 December 10:00: the executor asks; 4 working days and 8 hours are left.
    let asked_at = Timestamp(NOW.millis() + 24 * HOUR);
    let paused = w
        .act_at(
            "executor-adm1",
            id,
            Action::RequestClarification {
                question: "Какой перекрёсток?".into(),
            },
            "p4",
            asked_at,
        )
        .await
        .record;
    // Long after the old deadline the paused message is neither overdue nor listed.
    let much_later = Timestamp(NOW.millis() + 20 * Timestamp::DAY_MS);
    assert_eq!(
        w.wf.deadline_status(&paused, much_later),
        DeadlineStatus::Paused
    );
    assert!(w.wf.control(None, much_later).await.unwrap().is_empty());
    // The citizen answers on Monday 15 December 10:00: the same working time is left from
    // then — 4 days and 8 hours → Friday 19 December, end of the day.
    let answered_at = Timestamp(NOW.millis() + 14 * Timestamp::DAY_MS);
    let resumed = w
        .act_at(
            "citizen",
            id,
            Action::ProvideClarification {
                text: "Ленина — Мира".into(),
            },
            "p5",
            answered_at,
        )
        .await
        .record;
    assert_eq!(date(&w, before.message.deadline_at), "2025-12-08");
    assert_eq!(date(&w, resumed.message.deadline_at), "2025-12-19");
    assert_eq!(resumed.paused_ms, answered_at.millis() - asked_at.millis());
    assert_eq!(
        w.wf.calendar()
            .working_ms_between(answered_at, resumed.message.deadline_at),
        w.wf.calendar()
            .working_ms_between(asked_at, before.message.deadline_at),
    );
    assert_eq!(
        w.wf.deadline_status(&resumed, answered_at),
        DeadlineStatus::OnTime
    );
}

async fn postponement_moves_the_deadline_with_its_reason(store: Store) {
    let w = world(store).await;
    let id = submit_at(&w, FAST, "q1", NOW).await;
    w.act("moderator", id, Action::Accept, "q2").await;
    w.act("coordinator-adm1", id, Action::SendToExecution, "q3")
        .await;
    let m = w.wf.message(id).await.unwrap();
    // Not later than the current deadline: refused.
    let e =
        w.wf.act(
            w.user("executor-adm1"),
            id,
            m.message.version,
            Action::Postpone {
                until: NOW,
                reason: "нет подрядчика".into(),
            },
            "q4",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::Invalid(_))), "{e:?}");
    // No reason: refused.
    let later = w.wf.calendar().add_working_days(m.message.deadline_at, 10);
    let e =
        w.wf.act(
            w.user("executor-adm1"),
            id,
            m.message.version,
            Action::Postpone {
                until: later,
                reason: " ".into(),
            },
            "q5",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::Invalid(_))), "{e:?}");
    let postponed = w
        .act(
            "executor-adm1",
            id,
            Action::Postpone {
                until: later,
                reason: "Нужна закупка материалов".into(),
            },
            "q6",
        )
        .await
        .record;
    assert_eq!(postponed.message.deadline_at, later);
    // Past the original deadline, but not overdue: the term was postponed.
    let after_original = Timestamp(m.message.deadline_at.millis() + 24 * HOUR);
    assert_ne!(
        w.wf.deadline_status(&postponed, after_original),
        DeadlineStatus::Overdue
    );
    assert_eq!(
        w.wf.deadline_status(&postponed, Timestamp(later.millis() + HOUR)),
        DeadlineStatus::Overdue
    );
    let trail = w
        .store
        .audit_trail(otklik_domain::EntityKind::Message, id.get())
        .await
        .unwrap();
    let last = trail.last().unwrap();
    assert_eq!(last.event.action, "transition:postpone");
    assert!(last.event.detail.contains("Нужна закупка материалов"));
}
