//! E-mails through the outbox of otklik-notify: queued in the step's transaction, once; the
//! signed rating link rates the answer once.

use otklik_domain::{MessageStatus, Timestamp};
use otklik_store::Store;
use otklik_workflow::{Action, WorkflowError};

use crate::fixtures::{FAST, NOW, ROADS, token_of, world};
use otklik_store::testing::rows_in;

both_backends!(
    answer_email_and_rating_link,
    escalation_emails_go_to_responsible_staff
);

async fn answer_email_and_rating_link(store: Store) {
    let w = world(store).await;
    let id = w.submit("Яма у подъезда", ROADS, "n1").await;
    w.act("moderator", id, Action::Accept, "n2").await;
    w.act("coordinator-adm1", id, Action::SendToExecution, "n3")
        .await;
    let question = Action::RequestClarification {
        question: "Какой подъезд?".into(),
    };
    w.act("executor-adm1", id, question.clone(), "n4").await;
    let emails = w.store.emails_of(id).await.unwrap();
    // «Принято» at registration, then the question.
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[0].template, "received");
    assert_eq!(emails[1].template, "clarification");
    assert_eq!(emails[1].recipient, "citizen@example.ru");
    assert!(emails[1].body_text.contains("Какой подъезд?"));
    // A retried step queues nothing more.
    let again =
        w.wf.act(w.user("executor-adm1"), id, 3, question, "n4", NOW)
            .await
            .unwrap();
    assert!(again.replayed);
    assert_eq!(w.store.emails_of(id).await.unwrap().len(), 2);

    w.act(
        "citizen",
        id,
        Action::ProvideClarification {
            text: "Второй".into(),
        },
        "n5",
    )
    .await;
    w.act(
        "executor-adm1",
        id,
        Action::SubmitForApproval {
            answer: "Яму заделали".into(),
        },
        "n6",
    )
    .await;
    w.act("head-adm1", id, Action::Approve, "n7").await;
    let emails = w.store.emails_of(id).await.unwrap();
    assert_eq!(emails.len(), 3);
    let answer = emails
        .iter()
        .find(|e| e.template == "answer_ready")
        .unwrap();
    assert!(answer.body_text.contains("Яму заделали"));
    // The rating link in the e-mail rates the answer.
    let url = answer
        .body_text
        .split_whitespace()
        .find(|t| t.starts_with("https://otklik.example/rate"))
        .unwrap()
        .to_owned();
    let token = token_of(&url).trim_end_matches(['.', ',', ')']);
    let rated = w.wf.rate_with_link(token, 2, NOW).await.unwrap();
    assert_eq!(rated.record.message.status, MessageStatus::Rated);
    assert_eq!(rated.record.message.rating, Some(2));
    // The same click again: the same result; another rating with it: refused.
    let again = w.wf.rate_with_link(token, 2, NOW).await.unwrap();
    assert!(again.replayed);
    let e = w.wf.rate_with_link(token, 5, NOW).await;
    assert!(matches!(e, Err(WorkflowError::KeyReused { .. })), "{e:?}");
    assert_eq!(rows_in(&w.store, "rating_link_uses").await, 1);
    // A forged or expired link is refused.
    assert!(matches!(
        w.wf.rate_with_link("forged", 5, NOW).await,
        Err(WorkflowError::Invalid(_))
    ));
    let id2 = w.submit("Ещё яма", ROADS, "n8").await;
    let expired = w.links.link(id2, NOW);
    let e =
        w.wf.rate_with_link(token_of(&expired), 5, Timestamp(NOW.millis() + 1))
            .await;
    assert!(matches!(e, Err(WorkflowError::Invalid(_))), "{e:?}");
    let actions = w.actions(id).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "transition:rate").count(),
        1
    );
}

async fn escalation_emails_go_to_responsible_staff(store: Store) {
    let w = world(store).await;
    let id = w.submit("Стёрлась разметка", FAST, "e1").await;
    let monday = Timestamp(NOW.millis() + 7 * Timestamp::DAY_MS);
    let notices = w.wf.escalate(monday).await.unwrap();
    assert_eq!(notices.len(), 1);
    let mut to: Vec<String> = w
        .store
        .emails_of(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.template == "escalation")
        .map(|e| e.recipient)
        .collect();
    to.sort();
    // The region's curator, adm1's curator and head; not adm2's, not moderators.
    assert_eq!(
        to,
        vec![
            "curator-adm1@example.ru",
            "curator@example.ru",
            "head-adm1@example.ru"
        ]
    );
    // Recorded once: a second run queues nothing.
    assert!(w.wf.escalate(monday).await.unwrap().is_empty());
    assert_eq!(
        w.store.emails_of(id).await.unwrap().len(),
        4,
        "3 + «принято»"
    );
}
