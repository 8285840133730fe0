//! Near-duplicates: same territory, similar text, within the window; one answer closes the
//! group.

use otklik_domain::{MessageStatus, Timestamp};
use otklik_store::Store;
use otklik_workflow::Action;

use crate::fixtures::{NOW, ROADS, world};

both_backends!(similar_messages_are_grouped, one_answer_closes_the_group);

const TEXT_A: &str = "Огромная яма на дороге по улице Ленина возле дома 5, машины ломают колёса";
const TEXT_B: &str = "На улице Ленина у дома 5 огромная яма на дороге, машины ломают колеса!";

async fn similar_messages_are_grouped(store: Store) {
    let w = world(store).await;
    let a = w.submit(TEXT_A, ROADS, "g1").await;
    let b = w.submit(TEXT_B, ROADS, "g2").await;
    assert_eq!(w.wf.message(a).await.unwrap().duplicate_group, None);
    assert_eq!(w.wf.message(b).await.unwrap().duplicate_group, Some(a));
    // A third one joins the same group (its first message).
    let c = w
        .submit(
            "Яма на дороге по улице Ленина возле дома 5, ломают колёса машины",
            ROADS,
            "g3",
        )
        .await;
    assert_eq!(w.wf.message(c).await.unwrap().duplicate_group, Some(a));
    // Unrelated text: no group.
    let d = w
        .submit(
            "Не вывозят мусор с контейнерной площадки во дворе",
            ROADS,
            "g4",
        )
        .await;
    assert_eq!(w.wf.message(d).await.unwrap().duplicate_group, None);
    // Another territory: no group.
    let mut s = w.submission(TEXT_B, ROADS);
    s.territory = Some(w.territory("district2"));
    let e = w.wf.submit(&s, "g5", NOW).await.unwrap().record;
    assert_eq!(e.duplicate_group, None);
    // Past the window (14 days): no group.
    let late = Timestamp(NOW.millis() + 15 * Timestamp::DAY_MS);
    let f =
        w.wf.submit(&w.submission(TEXT_B, ROADS), "g6", late)
            .await
            .unwrap()
            .record;
    assert_eq!(f.duplicate_group, None);
    assert_eq!(w.store.group_records(a).await.unwrap().len(), 3);
}

async fn one_answer_closes_the_group(store: Store) {
    let w = world(store).await;
    let a = w.submit(TEXT_A, ROADS, "h1").await;
    let b = w.submit(TEXT_B, ROADS, "h2").await;
    for (id, k) in [(a, "a"), (b, "b")] {
        w.act("moderator", id, Action::Accept, &format!("{k}1"))
            .await;
        w.act(
            "coordinator-adm1",
            id,
            Action::SendToExecution,
            &format!("{k}2"),
        )
        .await;
    }
    w.act(
        "executor-adm1",
        a,
        Action::SubmitForApproval {
            answer: "Яму заделают до 10 декабря".into(),
        },
        "a3",
    )
    .await;
    let approved = w.act("head-adm1", a, Action::Approve, "a4").await;
    assert_eq!(approved.also.len(), 1);
    let member = w.wf.message(b).await.unwrap();
    assert_eq!(member.message.status, MessageStatus::Answered);
    assert_eq!(
        member.answer_text.as_deref(),
        Some("Яму заделают до 10 декабря")
    );
    assert_eq!(approved.also[0], member);
    let actions = w.actions(b).await;
    assert_eq!(
        actions.last().map(String::as_str),
        Some("transition:approve")
    );
    // Each citizen rates their own.
    let rated = w.act("citizen", b, Action::Rate { rating: 5 }, "b3").await;
    assert_eq!(rated.record.message.status, MessageStatus::Rated);
}
