//! The role matrix: every (user, transition) that the role model forbids — wrong role, or the
//! right role in a foreign organisation — is refused and writes nothing.

use otklik_domain::{MessageId, MessageStatus, Role, SubcategoryId, Timestamp, Transition};
use otklik_store::Store;
use otklik_workflow::{Action, DenyReason, WorkflowError, may_act, role_for};

use crate::fixtures::{NOW, ROADS, World, world};

both_backends!(forbidden_actors_are_refused_and_nothing_is_written);

/// A representative action of each transition.
fn action(t: Transition, w: &World) -> Action {
    match t {
        Transition::Accept => Action::Accept,
        Transition::Recategorise => Action::Recategorise {
            subcategory: Some(SubcategoryId("roads.road_signs".into())),
            executor: None,
            comment: None,
        },
        Transition::Reject => Action::Reject {
            reason: "duplicate".into(),
            comment: None,
        },
        Transition::SendToExecution => Action::SendToExecution,
        Transition::Redirect => Action::Redirect {
            to: w.org("adm2"),
            comment: None,
        },
        Transition::RequestClarification => Action::RequestClarification {
            question: "?".into(),
        },
        Transition::ProvideClarification => Action::ProvideClarification { text: "!".into() },
        Transition::Postpone => Action::Postpone {
            until: Timestamp(NOW.millis() + 400 * Timestamp::DAY_MS),
            reason: "причина".into(),
        },
        Transition::SubmitForApproval => Action::SubmitForApproval {
            answer: "ответ".into(),
        },
        Transition::Approve => Action::Approve,
        Transition::ReturnForRevision => Action::ReturnForRevision {
            comment: "доработать".into(),
        },
        Transition::Rate => Action::Rate { rating: 1 },
        Transition::Reopen => Action::Reopen {
            comment: "плохо".into(),
        },
        Transition::Close => Action::Close,
    }
}

/// The steps (by their rightful actors) that bring a new message of adm1 to where `t` is
/// allowed.
fn path_to(t: Transition) -> Vec<(&'static str, Action)> {
    let mut path = Vec::new();
    let status = match t {
        Transition::Accept | Transition::Recategorise | Transition::Reject => {
            MessageStatus::Moderation
        }
        Transition::SendToExecution | Transition::Redirect => MessageStatus::Coordination,
        Transition::RequestClarification | Transition::Postpone | Transition::SubmitForApproval => {
            MessageStatus::Execution
        }
        Transition::ProvideClarification => MessageStatus::Clarification,
        Transition::Approve | Transition::ReturnForRevision => MessageStatus::Approval,
        Transition::Rate | Transition::Close => MessageStatus::Answered,
        Transition::Reopen => MessageStatus::Rated,
    };
    let order = [
        (MessageStatus::Coordination, "moderator", Action::Accept),
        (
            MessageStatus::Execution,
            "coordinator-adm1",
            Action::SendToExecution,
        ),
        (
            MessageStatus::Approval,
            "executor-adm1",
            Action::SubmitForApproval {
                answer: "ответ".into(),
            },
        ),
        (MessageStatus::Answered, "head-adm1", Action::Approve),
        (MessageStatus::Rated, "citizen", Action::Rate { rating: 2 }),
    ];
    if status == MessageStatus::Moderation {
        return path;
    }
    if status == MessageStatus::Clarification {
        path.push(("moderator", Action::Accept));
        path.push(("coordinator-adm1", Action::SendToExecution));
        path.push((
            "executor-adm1",
            Action::RequestClarification {
                question: "?".into(),
            },
        ));
        return path;
    }
    for (reached, login, a) in order {
        path.push((login, a));
        if reached == status {
            break;
        }
    }
    path
}

/// Is `login` (see the fixtures) allowed to perform `t` on a message of adm1 by `citizen`?
fn allowed(login: &str, t: Transition) -> bool {
    match role_for(t) {
        Role::Moderator => matches!(login, "moderator" | "moderator-adm1"),
        Role::Curator => matches!(login, "curator" | "curator-adm1"),
        Role::Citizen => login == "citizen",
        role => login == format!("{}-adm1", role.code()),
    }
}

async fn forbidden_actors_are_refused_and_nothing_is_written(store: Store) {
    let w = world(store).await;
    let mut logins: Vec<String> = w.users.keys().cloned().collect();
    logins.sort();
    let mut refused = 0;
    for (n, t) in Transition::ALL.iter().copied().enumerate() {
        let id: MessageId = w
            .submit("Яма во дворе дома", ROADS, &format!("m-{n}"))
            .await;
        for (i, (login, a)) in path_to(t).into_iter().enumerate() {
            w.act(login, id, a, &format!("p-{n}-{i}")).await;
        }
        let before = w.wf.message(id).await.unwrap();
        let events = w.actions(id).await.len();
        for login in &logins {
            let user = w.user(login);
            // The pure check agrees with the expected matrix…
            let pure = may_act(user, t, &before.message, w.wf.organisations());
            assert_eq!(pure.is_ok(), allowed(login, t), "{login} {t}: {pure:?}");
            if allowed(login, t) {
                continue;
            }
            // … and the service refuses, with the reason, writing nothing.
            let e =
                w.wf.act(
                    user,
                    id,
                    before.message.version,
                    action(t, &w),
                    &format!("deny-{n}-{login}"),
                    NOW,
                )
                .await;
            match e {
                Err(WorkflowError::Denied(d)) => {
                    assert_eq!(d.transition, t);
                    assert_eq!(d.user, user.id);
                    // Staff of the right role in a foreign organisation: out of scope.
                    if login.ends_with("-adm2") && login.starts_with(role_for(t).code()) {
                        assert!(
                            matches!(d.reason, DenyReason::OutOfScope { .. }),
                            "{login} {t}: {:?}",
                            d.reason
                        );
                    }
                }
                other => panic!("{login} {t}: expected Denied, got {other:?}"),
            }
            refused += 1;
        }
        let after = w.wf.message(id).await.unwrap();
        assert_eq!(after, before, "{t}: the message changed");
        assert_eq!(w.actions(id).await.len(), events, "{t}: audit written");
        // The rightful actors still can (the refusals left the message usable).
        let rightful = logins.iter().find(|l| allowed(l, t)).unwrap();
        w.act(rightful, id, action(t, &w), &format!("ok-{n}")).await;
    }
    // 14 transitions × (users − allowed ones): every forbidden pair was tried.
    assert!(refused >= 14 * 10, "{refused}");
}
