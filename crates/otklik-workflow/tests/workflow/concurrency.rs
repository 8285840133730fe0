//! 50 concurrent actors on one message: exactly one step wins; the audit trail is complete.

use std::sync::Arc;

use otklik_domain::{MessageStatus, SubcategoryId};
use otklik_store::Store;
use otklik_workflow::{Action, WorkflowError};
use tokio::sync::Barrier;

use crate::fixtures::{FAST, NOW, ROADS, world};

both_backends!(fifty_actors_one_winner);

async fn fifty_actors_one_winner(store: Store) {
    let w = world(store).await;
    let id = w.submit("Провал асфальта у остановки", ROADS, "c-1").await;
    const ACTORS: usize = 50;
    let barrier = Arc::new(Barrier::new(ACTORS));
    let mut tasks = Vec::new();
    for i in 0..ACTORS {
        let w = w.clone();
        let barrier = Arc::clone(&barrier);
        let (login, action) = contender(i);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            w.wf.act(w.user(login), id, 1, action, &format!("race-{i}"), NOW)
                .await
        }));
    }
    let mut wins = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(outcome) => wins.push(outcome),
            Err(WorkflowError::Conflict { .. }) => conflicts += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins.len(), 1, "exactly one winner");
    assert_eq!(conflicts, ACTORS - 1);
    let winner = &wins[0];
    assert!(!winner.replayed);
    let stored = w.wf.message(id).await.unwrap();
    assert_eq!(stored, winner.record);
    assert_eq!(stored.message.version, 2);
    // The trail: creation and the one winning step, nothing else.
    let actions = w.actions(id).await;
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(actions[0], "created");
    let expected = match stored.message.status {
        MessageStatus::Coordination => "transition:accept",
        MessageStatus::Rejected => "transition:reject",
        MessageStatus::Moderation => "transition:recategorise",
        other => panic!("unexpected status {other}"),
    };
    assert_eq!(actions[1], expected);
    // Retries with the same keys: the winner's is replayed, the losers' were never stored.
    let mut replayed = 0;
    for i in 0..ACTORS {
        let (login, action) = contender(i);
        match w
            .wf
            .act(w.user(login), id, 1, action, &format!("race-{i}"), NOW)
            .await
        {
            Ok(o) => {
                assert!(o.replayed);
                assert_eq!(o.record, winner.record);
                replayed += 1;
            }
            Err(WorkflowError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected error on retry: {e}"),
        }
    }
    assert_eq!(replayed, 1);
    assert_eq!(w.actions(id).await.len(), 2);
}

/// Contender `i`: two moderators racing with different decisions on version 1.
fn contender(i: usize) -> (&'static str, Action) {
    match i % 3 {
        0 => ("moderator", Action::Accept),
        1 => (
            "moderator-adm1",
            Action::Reject {
                reason: "duplicate".into(),
                comment: None,
            },
        ),
        _ => (
            "moderator",
            Action::Recategorise {
                subcategory: Some(SubcategoryId(FAST.into())),
                executor: None,
                comment: None,
            },
        ),
    }
}
