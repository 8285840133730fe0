//! Role × page × foreign organisation: nobody sees or acts on another organisation's
//! messages; pages of other roles are refused.

use otklik_domain::MessageStatus;
use reqwest::StatusCode;

use crate::support::{action_fields, pairs, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_organisations_get_404_and_other_roles_403() {
    let s = server().await;
    let a = s.submit("Яма в районе один", "town1").await; // adm1
    let b_msg = s.submit("Яма в районе два", "district2").await; // adm2

    // Every staff role of adm1 sees adm1's message and not adm2's, card and action alike.
    for login in [
        "moderator-adm1",
        "coordinator-adm1",
        "executor-adm1",
        "head-adm1",
        "curator-adm1",
    ] {
        let mut br = s.signed_in(login).await;
        assert_eq!(
            br.get(&format!("/office/messages/{a}")).await.status,
            StatusCode::OK,
            "{login} on own"
        );
        let foreign = br.get(&format!("/office/messages/{b_msg}")).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{login} on foreign");
        assert!(!foreign.body.contains("районе два"));
        // A forged form for the foreign message (own CSRF token, guessed version).
        let csrf = crate::support::hidden(&br.get("/office").await.body, "_csrf");
        let forged = pairs(&[
            ("_csrf", &csrf),
            ("action", "accept"),
            ("version", "1"),
            ("key", &format!("forged-{login}")),
        ]);
        let p = br
            .post(&format!("/office/messages/{b_msg}/act"), &forged)
            .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{login} acting on foreign");
        // Unknown ids are the same 404.
        assert_eq!(
            br.get("/office/messages/999999").await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(s.status(b_msg).await, MessageStatus::Moderation);

    // Queues list only one's own organisation's messages.
    let mut m1 = s.signed_in("moderator-adm1").await;
    let q = m1.get("/office/queue/moderation").await;
    assert_eq!(q.status, StatusCode::OK);
    assert!(q.body.contains("районе один"));
    assert!(!q.body.contains("районе два"));
    // The ЦУР's moderator covers the whole region.
    let mut tsur = s.signed_in("moderator").await;
    let q = tsur.get("/office/queue/moderation").await;
    assert!(q.body.contains("районе один") && q.body.contains("районе два"));

    // In scope but the wrong role: the executor sees the card without moderation forms, and
    // a forged accept is refused by the workflow (403).
    let mut ex = s.signed_in("executor-adm1").await;
    let card = ex.get(&format!("/office/messages/{a}")).await;
    assert!(!card.body.contains("value=\"accept\""));
    let mut form = action_fields(
        &m1.get(&format!("/office/messages/{a}")).await.body,
        "accept",
    );
    let csrf = crate::support::hidden(&card.body, "_csrf");
    for f in &mut form {
        if f.0 == "_csrf" {
            f.1 = csrf.clone();
        }
    }
    let p = ex.post(&format!("/office/messages/{a}/act"), &form).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert_eq!(s.status(a).await, MessageStatus::Moderation);

    // Pages of other roles.
    for (login, path) in [
        ("executor-adm1", "/office/queue/moderation"),
        ("executor-adm1", "/office/queue/approval"),
        ("executor-adm1", "/office/queue/control"),
        ("moderator-adm1", "/office/queue/work"),
        ("head-adm1", "/office/admin/organisations"),
        ("executor-adm1", "/office/users"),
    ] {
        let mut br = s.signed_in(login).await;
        assert_eq!(
            br.get(path).await.status,
            StatusCode::FORBIDDEN,
            "{login} {path}"
        );
    }
    // Unknown queue.
    assert_eq!(
        m1.get("/office/queue/everything").await.status,
        StatusCode::NOT_FOUND
    );
}
