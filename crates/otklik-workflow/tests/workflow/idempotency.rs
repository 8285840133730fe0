//! Idempotency keys: the same key with the same payload returns the first result; with another
//! payload it is refused; nothing is written twice.

use otklik_store::Store;
use otklik_workflow::{Action, WorkflowError};

use crate::fixtures::{NOW, ROADS, world};
use otklik_store::testing::rows_in;

both_backends!(submissions_are_idempotent, steps_are_idempotent);

async fn submissions_are_idempotent(store: Store) {
    let w = world(store).await;
    let s = w.submission("Не горит фонарь у подъезда", ROADS);
    let first = w.wf.submit(&s, "form-1", NOW).await.unwrap();
    assert!(!first.replayed);
    let again = w.wf.submit(&s, "form-1", NOW).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.record, first.record);
    assert_eq!(rows_in(&w.store, "messages").await, 1);
    // Same key, different payload: refused, nothing written.
    let mut other = s.clone();
    other.text = "Совсем другой текст".into();
    let e = w.wf.submit(&other, "form-1", NOW).await;
    match e {
        Err(WorkflowError::KeyReused { message, .. }) => {
            assert_eq!(message, first.record.message.id)
        }
        other => panic!("expected KeyReused, got {other:?}"),
    }
    assert_eq!(rows_in(&w.store, "messages").await, 1);
    // An empty key is refused.
    assert!(matches!(
        w.wf.submit(&s, " ", NOW).await,
        Err(WorkflowError::Invalid(_))
    ));
    assert_eq!(
        w.actions(first.record.message.id).await,
        vec!["created".to_owned()]
    );
}

async fn steps_are_idempotent(store: Store) {
    let w = world(store).await;
    let id = w.submit("Яма у школы", ROADS, "form-2").await;
    let moderator = w.user("moderator");
    let first =
        w.wf.act(moderator, id, 1, Action::Accept, "step-1", NOW)
            .await
            .unwrap();
    assert!(!first.replayed);
    // The message moves on…
    w.act("coordinator-adm1", id, Action::SendToExecution, "step-2")
        .await;
    // … and a retry of the first step still gets its own result, writing nothing.
    let retry =
        w.wf.act(moderator, id, 1, Action::Accept, "step-1", NOW)
            .await
            .unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.record, first.record);
    // The same key for another call is refused.
    let e =
        w.wf.act(
            moderator,
            id,
            1,
            Action::Reject {
                reason: "duplicate".into(),
                comment: None,
            },
            "step-1",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::KeyReused { .. })), "{e:?}");
    // … also by another actor with the same action.
    let e =
        w.wf.act(
            w.user("moderator-adm1"),
            id,
            1,
            Action::Accept,
            "step-1",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::KeyReused { .. })), "{e:?}");
    // A stale version without a stored key is a conflict.
    let e =
        w.wf.act(
            w.user("coordinator-adm1"),
            id,
            2,
            Action::SendToExecution,
            "step-3",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::Conflict { .. })), "{e:?}");
    assert_eq!(
        w.actions(id).await,
        vec![
            "created",
            "transition:accept",
            "transition:send_to_execution"
        ]
    );
    assert_eq!(rows_in(&w.store, "workflow_requests").await, 2);
}
