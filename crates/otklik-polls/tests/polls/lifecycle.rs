//! The life cycle: draft → review → published → closed, who may move it, and voting refused
//! outside the published window.

use otklik_domain::{EntityKind, PollKind, PollOptionId, PollStatus, Timestamp};
use otklik_polls::{Ballot, PollsError};
use otklik_store::Store;

use crate::fixtures::{NOW, meta, world};

both_backends!(
    draft_review_publish_close,
    voting_refused_outside_the_published_window,
    who_may_do_what,
    invalid_definitions_are_refused,
    polls_close_at_their_end_time
);

fn single(option: PollOptionId) -> Ballot {
    Ballot::Single { option }
}

async fn draft_review_publish_close(store: Store) {
    let w = world(store).await;
    let manager = w.user("manager1");
    let moderator = w.user("moderator");
    let draft = w.draft(PollKind::SingleChoice, 3);
    let poll = w.polls.create(&draft, manager, NOW).await.unwrap();
    let id = poll.poll.id;
    assert_eq!(poll.poll.status, PollStatus::Draft);
    assert_eq!(poll.options.len(), 3);
    assert_eq!(poll.created_by, Some(manager.id));
    assert_eq!(poll.topic.as_deref(), Some("improvement"));

    // Drafts can be edited; options are replaced.
    let mut edited = draft.clone();
    edited.title = "Какой двор благоустроить первым?".into();
    edited.options.pop();
    let poll = w.polls.update(id, &edited, manager, NOW).await.unwrap();
    assert_eq!(poll.options.len(), 2);
    assert_eq!(poll.poll.title, "Какой двор благоустроить первым?");

    let poll = w.polls.submit(id, manager, NOW).await.unwrap();
    assert_eq!(poll.poll.status, PollStatus::Review);
    assert_eq!(poll.submitted_at, Some(NOW));
    // Under moderation it can no longer be edited.
    assert!(matches!(
        w.polls.update(id, &edited, manager, NOW).await,
        Err(PollsError::WrongStatus {
            status: PollStatus::Review,
            action: "edit",
            ..
        })
    ));

    // The moderator returns it with a note; the manager fixes and resubmits.
    assert!(matches!(
        w.polls.return_to_draft(id, moderator, "  ", NOW).await,
        Err(PollsError::Invalid(_))
    ));
    let poll = w
        .polls
        .return_to_draft(id, moderator, "Уточните формулировку", NOW)
        .await
        .unwrap();
    assert_eq!(poll.poll.status, PollStatus::Draft);
    assert_eq!(poll.review_note.as_deref(), Some("Уточните формулировку"));
    w.polls.submit(id, manager, NOW).await.unwrap();

    let poll = w.polls.approve(id, moderator, NOW).await.unwrap();
    assert_eq!(poll.poll.status, PollStatus::Published);
    assert_eq!(poll.reviewed_by, Some(moderator.id));
    assert_eq!(poll.published_at, Some(NOW));
    // Approving twice is a status error, not a second publication.
    assert!(matches!(
        w.polls.approve(id, moderator, NOW).await,
        Err(PollsError::WrongStatus {
            status: PollStatus::Published,
            ..
        })
    ));

    let poll = w.polls.close(id, manager, NOW.plus_days(1)).await.unwrap();
    assert_eq!(poll.poll.status, PollStatus::Closed);
    assert_eq!(poll.closed_at, Some(NOW.plus_days(1)));

    let actions: Vec<String> = w
        .store
        .audit_trail(EntityKind::Poll, id.get())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.action)
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "updated",
            "submitted",
            "returned",
            "submitted",
            "approved",
            "closed"
        ]
    );
}

async fn voting_refused_outside_the_published_window(store: Store) {
    let w = world(store).await;
    let manager = w.user("manager1");
    let mut draft = w.draft(PollKind::SingleChoice, 2);
    draft.starts_at = NOW.plus_days(1);
    draft.ends_at = NOW.plus_days(2);
    let poll = w.polls.create(&draft, manager, NOW).await.unwrap();
    let id = poll.poll.id;
    let b = single(poll.options[0].id);
    let m = meta(&w, None);
    let vote = |key: &'static str, at: Timestamp| {
        let (polls, b, m) = (w.polls.clone(), b.clone(), m.clone());
        async move { polls.vote(id, "esia:1", &b, key, &m, at).await }
    };

    // Draft and on moderation: not open.
    assert!(matches!(
        vote("k1", NOW.plus_days(1)).await,
        Err(PollsError::NotOpen {
            status: PollStatus::Draft,
            ..
        })
    ));
    w.polls.submit(id, manager, NOW).await.unwrap();
    assert!(matches!(
        vote("k1", NOW.plus_days(1)).await,
        Err(PollsError::NotOpen {
            status: PollStatus::Review,
            ..
        })
    ));
    w.polls.approve(id, w.user("moderator"), NOW).await.unwrap();
    // Published but before the start, and at the end time.
    assert!(matches!(
        vote("k1", NOW).await,
        Err(PollsError::NotStarted(_))
    ));
    assert!(matches!(
        vote("k1", NOW.plus_days(2)).await,
        Err(PollsError::Ended(_))
    ));
    let ok = vote("k1", NOW.plus_days(1)).await.unwrap();
    assert_eq!(ok.revision, 1);
    // Closed early: refused (the cached definition does not let it through).
    w.polls.close(id, manager, NOW.plus_days(1)).await.unwrap();
    let e = w
        .polls
        .vote(id, "esia:2", &b, "k2", &m, NOW.plus_days(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PollsError::NotOpen {
                status: PollStatus::Closed,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_refusal());
    assert_eq!(w.polls.turnout(id).await.unwrap(), 1);
    // A poll nobody created.
    assert!(matches!(
        w.polls
            .vote(otklik_domain::PollId(999), "esia:1", &b, "k", &m, NOW)
            .await,
        Err(PollsError::NotFound(_))
    ));
}

async fn who_may_do_what(store: Store) {
    let w = world(store).await;
    let draft = w.draft(PollKind::SingleChoice, 2);
    // A manager of another district may not create a poll for adm1; the regional one may.
    let e = w
        .polls
        .create(&draft, w.user("manager2"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, PollsError::Forbidden(_)), "{e}");
    assert!(matches!(
        w.polls.create(&draft, w.user("moderator"), NOW).await,
        Err(PollsError::Forbidden(_))
    ));
    let poll = w
        .polls
        .create(&draft, w.user("moderator-manager"), NOW)
        .await
        .unwrap();
    let id = poll.poll.id;
    w.polls
        .submit(id, w.user("moderator-manager"), NOW)
        .await
        .unwrap();
    // Four eyes: the creator may not approve; a moderator of another organisation may not;
    // a manager may not.
    let e = w
        .polls
        .approve(id, w.user("moderator-manager"), NOW)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot approve it too"), "{e}");
    assert!(matches!(
        w.polls.approve(id, w.user("moderator2"), NOW).await,
        Err(PollsError::Forbidden(_))
    ));
    assert!(matches!(
        w.polls.approve(id, w.user("manager1"), NOW).await,
        Err(PollsError::Forbidden(_))
    ));
    assert_eq!(
        w.polls.details(id).await.unwrap().poll.status,
        PollStatus::Review
    );
    w.polls.approve(id, w.user("moderator"), NOW).await.unwrap();
    // A manager of another district may not close it.
    assert!(matches!(
        w.polls.close(id, w.user("manager2"), NOW).await,
        Err(PollsError::Forbidden(_))
    ));
    // An unconfirmed manager may do nothing.
    let mut unconfirmed = w.user("manager1").clone();
    unconfirmed.confirmed = false;
    assert!(matches!(
        w.polls.create(&draft, &unconfirmed, NOW).await,
        Err(PollsError::Forbidden(_))
    ));
}

async fn invalid_definitions_are_refused(store: Store) {
    let w = world(store).await;
    let manager = w.user("manager1");
    let mut draft = w.draft(PollKind::Budget, 3);
    draft.budget_cap = None;
    draft.topic = Some("astrology".into());
    let e = w.polls.create(&draft, manager, NOW).await.unwrap_err();
    let PollsError::InvalidPoll(problems) = &e else {
        panic!("{e}")
    };
    assert!(
        problems.iter().any(|p| p.contains("budget cap")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("unknown topic")),
        "{problems:?}"
    );
    assert!(w.store.polls().await.unwrap().is_empty());
    // A draft whose end time has passed cannot go to moderation.
    let mut late = w.draft(PollKind::SingleChoice, 2);
    late.starts_at = Timestamp(NOW.millis() - 2 * Timestamp::DAY_MS);
    late.ends_at = Timestamp(NOW.millis() - Timestamp::DAY_MS);
    let poll = w.polls.create(&late, manager, NOW).await.unwrap();
    assert!(matches!(
        w.polls.submit(poll.poll.id, manager, NOW).await,
        Err(PollsError::InvalidPoll(_))
    ));
}

async fn polls_close_at_their_end_time(store: Store) {
    let w = world(store).await;
    let a = w.publish(&w.draft(PollKind::SingleChoice, 2)).await;
    let mut later = w.draft(PollKind::SingleChoice, 2);
    later.ends_at = NOW.plus_days(30);
    let b = w.publish(&later).await;
    assert!(
        w.polls
            .close_due(NOW.plus_days(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        w.polls.close_due(NOW.plus_days(14)).await.unwrap(),
        vec![a.poll.id]
    );
    assert_eq!(
        w.polls.details(a.poll.id).await.unwrap().poll.status,
        PollStatus::Closed
    );
    assert_eq!(
        w.polls.details(b.poll.id).await.unwrap().poll.status,
        PollStatus::Published
    );
    // Closing is idempotent.
    assert!(
        w.polls
            .close_due(NOW.plus_days(14))
            .await
            .unwrap()
            .is_empty()
    );
}
