//! Messages driven through every path of the workflow, each step by the right role.

use otklik_domain::{MessageStatus, SubcategoryId, Timestamp};
use otklik_store::Store;
use otklik_workflow::{Action, Incident, WorkflowError};

use crate::fixtures::{FAST, NOW, ROADS, world};

both_backends!(
    full_path_with_clarification_postponement_revision_rating_and_reopen,
    recategorise_and_redirect,
    rejection_with_configured_reasons,
    incident_answer_goes_under_the_post,
);

async fn full_path_with_clarification_postponement_revision_rating_and_reopen(store: Store) {
    let w = world(store).await;
    let id = w
        .submit("Разбита дорога на улице Садовой", ROADS, "s-1")
        .await;
    let m = w.wf.message(id).await.unwrap();
    assert_eq!(m.message.status, MessageStatus::Moderation);
    assert_eq!(
        m.message.executor,
        Some(w.org("adm1")),
        "routed to the territory's ОМСУ"
    );
    assert!(
        m.moderation_note
            .as_deref()
            .unwrap()
            .contains("местного самоуправления")
    );

    let step = |login: &'static str, action: Action, key: &'static str| {
        let w = w.clone();
        async move { w.act(login, id, action, key).await.record }
    };
    assert_eq!(
        step("moderator", Action::Accept, "k1").await.message.status,
        MessageStatus::Coordination
    );
    assert_eq!(
        step("coordinator-adm1", Action::SendToExecution, "k2")
            .await
            .message
            .status,
        MessageStatus::Execution
    );
    let paused = step(
        "executor-adm1",
        Action::RequestClarification {
            question: "Уточните номер дома".into(),
        },
        "k3",
    )
    .await;
    assert_eq!(paused.message.status, MessageStatus::Clarification);
    assert_eq!(paused.clock_paused_at, Some(NOW));
    let resumed = step(
        "citizen",
        Action::ProvideClarification {
            text: "Дом 12".into(),
        },
        "k4",
    )
    .await;
    assert_eq!(resumed.message.status, MessageStatus::Execution);
    assert_eq!(resumed.clock_paused_at, None);
    let until = Timestamp(resumed.message.deadline_at.millis() + 10 * Timestamp::DAY_MS);
    let postponed = step(
        "executor-adm1",
        Action::Postpone {
            until,
            reason: "Ремонт возможен только после схода снега".into(),
        },
        "k5",
    )
    .await;
    assert_eq!(postponed.message.status, MessageStatus::Execution);
    assert_eq!(postponed.message.deadline_at, until);
    assert_eq!(postponed.postponements, 1);
    assert_eq!(
        postponed.postpone_reason.as_deref(),
        Some("Ремонт возможен только после схода снега")
    );
    let draft = step(
        "executor-adm1",
        Action::SubmitForApproval {
            answer: "Ремонт запланирован".into(),
        },
        "k6",
    )
    .await;
    assert_eq!(draft.message.status, MessageStatus::Approval);
    let returned = step(
        "head-adm1",
        Action::ReturnForRevision {
            comment: "Укажите сроки".into(),
        },
        "k7",
    )
    .await;
    assert_eq!(returned.message.status, MessageStatus::Execution);
    assert_eq!(returned.revision_comment.as_deref(), Some("Укажите сроки"));
    step(
        "executor-adm1",
        Action::SubmitForApproval {
            answer: "Ремонт запланирован на май".into(),
        },
        "k8",
    )
    .await;
    let answered = step("head-adm1", Action::Approve, "k9").await;
    assert_eq!(answered.message.status, MessageStatus::Answered);
    assert_eq!(
        answered.answer_text.as_deref(),
        Some("Ремонт запланирован на май")
    );
    assert_eq!(answered.answered_at, Some(NOW));
    let rated = step("citizen", Action::Rate { rating: 2 }, "k10").await;
    assert_eq!(rated.message.status, MessageStatus::Rated);
    assert_eq!(rated.message.rating, Some(2));
    let reopened = step(
        "curator",
        Action::Reopen {
            comment: "Ответ не по существу".into(),
        },
        "k11",
    )
    .await;
    assert_eq!(reopened.message.status, MessageStatus::Execution);
    assert_eq!(reopened.reopened, 1);
    assert!(reopened.message.deadline_at > NOW);
    step(
        "executor-adm1",
        Action::SubmitForApproval {
            answer: "Ремонт выполнен 10 мая".into(),
        },
        "k12",
    )
    .await;
    step("head-adm1", Action::Approve, "k13").await;
    step("citizen", Action::Rate { rating: 5 }, "k14").await;
    // A good rating is not reopened.
    let e =
        w.wf.act(
            w.user("curator"),
            id,
            15,
            Action::Reopen {
                comment: "ещё раз".into(),
            },
            "k15x",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::Invalid(_))), "{e:?}");
    let closed = step("curator", Action::Close, "k15").await;
    assert_eq!(closed.message.status, MessageStatus::Closed);
    assert_eq!(closed.message.version, 16);

    let expected: Vec<&str> = vec![
        "created",
        "transition:accept",
        "transition:send_to_execution",
        "transition:request_clarification",
        "transition:provide_clarification",
        "transition:postpone",
        "transition:submit_for_approval",
        "transition:return_for_revision",
        "transition:submit_for_approval",
        "transition:approve",
        "transition:rate",
        "transition:reopen",
        "transition:submit_for_approval",
        "transition:approve",
        "transition:rate",
        "transition:close",
    ];
    assert_eq!(w.actions(id).await, expected);
    // Every step's event names its actor and the version it produced.
    let trail = w
        .store
        .audit_trail(otklik_domain::EntityKind::Message, id.get())
        .await
        .unwrap();
    assert_eq!(trail[1].event.actor, Some(w.user("moderator").id));
    assert_eq!(trail[15].event.actor, Some(w.user("curator").id));
    for (i, e) in trail.iter().enumerate().skip(1) {
        let detail: serde_json::Value = serde_json::from_str(&e.event.detail).unwrap();
        assert_eq!(
            detail["version"],
            serde_json::json!(i as i64 + 1),
            "{detail}"
        );
    }
}

async fn recategorise_and_redirect(store: Store) {
    let w = world(store).await;
    let id = w
        .submit("Стёрлась разметка на переходе", ROADS, "s-2")
        .await;
    let before = w.wf.message(id).await.unwrap();
    assert!(!before.fast_track);
    // The moderator changes the category to a fast-track one: a shorter term.
    let recat = w
        .act(
            "moderator",
            id,
            Action::Recategorise {
                subcategory: Some(SubcategoryId(FAST.into())),
                executor: None,
                comment: Some("Это разметка".into()),
            },
            "r1",
        )
        .await
        .record;
    assert_eq!(recat.message.status, MessageStatus::Moderation);
    assert_eq!(recat.message.subcategory.0, FAST);
    assert!(recat.fast_track);
    assert!(recat.message.deadline_at < before.message.deadline_at);
    // … and the executor.
    let moved = w
        .act(
            "moderator",
            id,
            Action::Recategorise {
                subcategory: None,
                executor: Some(w.org("adm2")),
                comment: None,
            },
            "r2",
        )
        .await
        .record;
    assert_eq!(moved.message.executor, Some(w.org("adm2")));
    w.act("moderator", id, Action::Accept, "r3").await;
    // adm2's coordinator redirects it back to adm1, whose coordinator sends it on.
    let redirected = w
        .act(
            "coordinator-adm2",
            id,
            Action::Redirect {
                to: w.org("adm1"),
                comment: Some("Территория района 1".into()),
            },
            "r4",
        )
        .await
        .record;
    assert_eq!(redirected.message.status, MessageStatus::Coordination);
    assert_eq!(redirected.message.executor, Some(w.org("adm1")));
    // adm2 no longer may act on it.
    let e =
        w.wf.act(
            w.user("coordinator-adm2"),
            id,
            redirected.message.version,
            Action::SendToExecution,
            "r5x",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::Denied(_))), "{e:?}");
    // … but its retry of the redirect still gets the first result.
    let retry =
        w.wf.act(
            w.user("coordinator-adm2"),
            id,
            redirected.message.version - 1,
            Action::Redirect {
                to: w.org("adm1"),
                comment: Some("Территория района 1".into()),
            },
            "r4",
            NOW,
        )
        .await
        .unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.record, redirected);
    let sent = w
        .act("coordinator-adm1", id, Action::SendToExecution, "r5")
        .await
        .record;
    assert_eq!(sent.message.status, MessageStatus::Execution);
    // Redirecting to the same organisation is refused.
    let id2 = w.submit("Нет знака у школы", ROADS, "s-2b").await;
    w.act("moderator", id2, Action::Accept, "r6").await;
    let e =
        w.wf.act(
            w.user("coordinator-adm1"),
            id2,
            2,
            Action::Redirect {
                to: w.org("adm1"),
                comment: None,
            },
            "r7",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::Invalid(_))), "{e:?}");
    assert_eq!(
        w.actions(id).await,
        vec![
            "created",
            "transition:recategorise",
            "transition:recategorise",
            "transition:accept",
            "transition:redirect",
            "transition:send_to_execution",
        ]
    );
}

async fn rejection_with_configured_reasons(store: Store) {
    let w = world(store).await;
    let id = w.submit("Купите наши окна недорого", ROADS, "s-3").await;
    let e =
        w.wf.act(
            w.user("moderator"),
            id,
            1,
            Action::Reject {
                reason: "no_such_reason".into(),
                comment: None,
            },
            "j1",
            NOW,
        )
        .await;
    assert!(
        matches!(e, Err(WorkflowError::UnknownRejectReason(_))),
        "{e:?}"
    );
    // «other» needs a comment.
    let e =
        w.wf.act(
            w.user("moderator"),
            id,
            1,
            Action::Reject {
                reason: "other".into(),
                comment: Some("  ".into()),
            },
            "j2",
            NOW,
        )
        .await;
    assert!(matches!(e, Err(WorkflowError::Invalid(_))), "{e:?}");
    let rejected = w
        .act(
            "moderator",
            id,
            Action::Reject {
                reason: "no_problem".into(),
                comment: Some("реклама".into()),
            },
            "j3",
        )
        .await
        .record;
    assert_eq!(rejected.message.status, MessageStatus::Rejected);
    assert_eq!(rejected.reject_reason_code.as_deref(), Some("no_problem"));
    assert_eq!(
        rejected.rejection_reason.as_deref(),
        Some("Сообщение не содержит описания проблемы: реклама")
    );
    // Nothing follows a rejection.
    let e =
        w.wf.act(w.user("moderator"), id, 2, Action::Accept, "j4", NOW)
            .await;
    assert!(matches!(e, Err(WorkflowError::Domain(_))), "{e:?}");
    assert_eq!(w.actions(id).await, vec!["created", "transition:reject"]);
    // The store's details agree.
    let details = w.store.message_details(id).await.unwrap().unwrap();
    assert_eq!(details.rejection_reason, rejected.rejection_reason);
}

async fn incident_answer_goes_under_the_post(store: Store) {
    let w = world(store).await;
    let post = w
        .post("-1_100", "Яма на дороге в посёлке, никто не ремонтирует")
        .await;
    let incident = Incident {
        post,
        source_url: Some("https://vk.com/wall-1_100".into()),
        author_handle: Some("id1".into()),
        text: "Яма на дороге в посёлке, никто не ремонтирует".into(),
        territory: Some(w.territory("town1")),
        address: None,
        subcategory: SubcategoryId(ROADS.into()),
        confidence_pm: 900,
    };
    let intake =
        w.wf.intake_incident(&incident, "post:1", NOW)
            .await
            .unwrap();
    // Confident: accepted automatically (no actor), on to coordination.
    assert_eq!(intake.record.message.status, MessageStatus::Coordination);
    assert!(intake.record.first_reply_due_at.is_some_and(|t| t > NOW));
    let id = intake.record.message.id;
    assert_eq!(w.actions(id).await, vec!["created", "transition:accept"]);
    let trail = w
        .store
        .audit_trail(otklik_domain::EntityKind::Message, id.get())
        .await
        .unwrap();
    assert_eq!(trail[1].event.actor, None);
    // Retrying the intake changes nothing.
    let again =
        w.wf.intake_incident(&incident, "post:1", NOW)
            .await
            .unwrap();
    assert!(again.replayed);
    assert_eq!(again.record.message.id, id);
    assert_eq!(w.actions(id).await.len(), 2);

    w.act("coordinator-adm1", id, Action::SendToExecution, "i1")
        .await;
    // The citizen's details come in the comments: the executor records them.
    w.act(
        "executor-adm1",
        id,
        Action::RequestClarification {
            question: "Где именно?".into(),
        },
        "i2",
    )
    .await;
    w.act(
        "executor-adm1",
        id,
        Action::ProvideClarification {
            text: "У магазина (из комментария)".into(),
        },
        "i3",
    )
    .await;
    w.act(
        "executor-adm1",
        id,
        Action::SubmitForApproval {
            answer: "Яму заделают до пятницы".into(),
        },
        "i4",
    )
    .await;
    let approved = w.act("head-adm1", id, Action::Approve, "i5").await;
    assert_eq!(approved.replies.len(), 1);
    let due = w.store.claim_due_replies(NOW, 10, 60_000).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message, id);
    assert_eq!(due[0].target_external_id, "-1_100");
    assert_eq!(due[0].text, "Яму заделают до пятницы");
    // No e-mail for a social-network author; the rating comes through a signed link.
    assert!(w.store.emails_of(id).await.unwrap().is_empty());
    let link = w.links.link(id, NOW.plus_days(30));
    let rated =
        w.wf.rate_with_link(crate::fixtures::token_of(&link), 4, NOW)
            .await
            .unwrap();
    assert_eq!(rated.record.message.rating, Some(4));

    // Unsure classification: the moderator decides.
    let post2 = w.post("-1_101", "Что-то непонятное про дорогу").await;
    let unsure =
        w.wf.intake_incident(
            &Incident {
                post: post2,
                confidence_pm: 300,
                text: "Что-то непонятное про дорогу".into(),
                ..incident.clone()
            },
            "post:2",
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(unsure.record.message.status, MessageStatus::Moderation);
    assert!(unsure.note.unwrap().contains("низкая уверенность"));
}
