//! The whole way through HTML forms: the moderator accepts, the coordinator sends to
//! execution, the executor drafts the answer, the head returns it once and then approves.
//! A stale form gets a clear conflict message.

use otklik_domain::MessageStatus;
use reqwest::StatusCode;

use crate::support::{act, action_fields, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_goes_from_moderation_to_the_answer_through_forms() {
    let s = server().await;
    let id = s.submit("Яма на дороге у школы № 3", "town1").await;

    let mut moderator = s.signed_in("moderator-adm1").await;
    let card = moderator.get(&format!("/office/messages/{id}")).await;
    // Both forms read at version 1.
    let stale_reject = action_fields(&card.body, "reject");
    let accept = action_fields(&card.body, "accept");
    let p = moderator
        .post(&format!("/office/messages/{id}/act"), &accept)
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), format!("/office/messages/{id}?done=accept"));
    assert_eq!(s.status(id).await, MessageStatus::Coordination);
    // The same form sent twice (a double click) is answered from the first result.
    let again = moderator
        .post(&format!("/office/messages/{id}/act"), &accept)
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    // The other form of the old page is stale now.
    let mut stale = stale_reject.clone();
    stale.push(("reason".into(), "no_problem".into()));
    let p = moderator
        .post(&format!("/office/messages/{id}/act"), &stale)
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("Сообщение уже изменено"), "{}", p.body);
    assert!(p.body.contains("Откройте карточку заново"));
    assert_eq!(s.status(id).await, MessageStatus::Coordination);

    let mut coordinator = s.signed_in("coordinator-adm1").await;
    let work = coordinator.get("/office/queue/work").await;
    assert!(work.body.contains("школы № 3"));
    let p = act(&mut coordinator, id, "send_to_execution", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(s.status(id).await, MessageStatus::Execution);

    let mut executor = s.signed_in("executor-adm1").await;
    // An empty answer is refused with a message, nothing changes.
    let p = act(
        &mut executor,
        id,
        "submit_for_approval",
        &[("answer", "   ")],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("Проект ответа"));
    let p = act(
        &mut executor,
        id,
        "submit_for_approval",
        &[("answer", "Яма будет заделана до пятницы.")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(s.status(id).await, MessageStatus::Approval);

    let mut head = s.signed_in("head-adm1").await;
    let queue = head.get("/office/queue/approval").await;
    assert!(queue.body.contains("школы № 3"));
    let p = act(
        &mut head,
        id,
        "return_for_revision",
        &[("comment", "Укажите дату")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(s.status(id).await, MessageStatus::Execution);
    let p = act(
        &mut executor,
        id,
        "submit_for_approval",
        &[("answer", "Яма будет заделана 5 декабря.")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = act(&mut head, id, "approve", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let record = s.wf.message(id).await.unwrap();
    assert_eq!(record.message.status, MessageStatus::Answered);
    assert_eq!(
        record.answer_text.as_deref(),
        Some("Яма будет заделана 5 декабря.")
    );

    // The card's history names every step and who took it.
    let card = head.get(&format!("/office/messages/{id}")).await;
    for text in [
        "Зарегистрировано",
        "Принять",
        "Направить на исполнение",
        "На согласование",
        "Вернуть на доработку",
        "Утвердить",
        "Сотрудник moderator-adm1",
        "Сотрудник head-adm1",
        "комментарий: Укажите дату",
    ] {
        assert!(card.body.contains(text), "history lacks {text}");
    }
    // Postponement and clarification forms exist for the executor of a message in execution.
    let other = s.submit("Не горит фонарь", "town1").await;
    assert_eq!(
        act(&mut moderator, other, "accept", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(&mut coordinator, other, "send_to_execution", &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let p = act(
        &mut executor,
        other,
        "postpone",
        &[
            ("until", "2099-01-15"),
            ("reason", "Нужна подрядная организация"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = act(
        &mut executor,
        other,
        "postpone",
        &[("until", "не дата"), ("reason", "x")],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = act(
        &mut executor,
        other,
        "request_clarification",
        &[("question", "Какой дом?")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(s.status(other).await, MessageStatus::Clarification);

    // The curator's control list answers.
    let mut curator = s.signed_in("curator").await;
    let control = curator.get("/office/queue/control").await;
    assert_eq!(control.status, StatusCode::OK);
    assert!(control.body.contains("Контроль сроков"));
}
