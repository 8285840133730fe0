//! The rating page of the answer e-mail's signed link: works once, then refuses; forged and
//! expired links are refused with a clear message.

use otklik_domain::MessageStatus;
use reqwest::StatusCode;

use crate::citizen_support::{citizen_server, hidden};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rating_link_works_once() {
    let s = citizen_server().await;
    let citizen = s.store.user_by_login("citizen").await.unwrap().unwrap();
    let id = s.answered_message(citizen.id).await;
    assert_eq!(
        s.wf.message(id).await.unwrap().message.status,
        MessageStatus::Answered
    );
    let token = s.rating_token(id, 86_400_000);
    let mut a = s.agent(); // no account needed
    let form = a.get(&format!("/rate?t={token}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body
            .contains("Фонарь заменён. &lt;b&gt;Спасибо&lt;/b&gt;")
    );
    assert!(form.body.contains("<fieldset class=\"stars\"><legend>"));
    assert_eq!(
        form.body.matches("type=\"radio\" name=\"rating\"").count(),
        5
    );
    assert_eq!(hidden(&form.body, "t"), token);

    // Out of range: refused, the link stays usable.
    let p = a
        .post_form("/rate", &[("t", &token), ("rating", "7")])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    let p = a
        .post_form("/rate", &[("t", &token), ("rating", "4")])
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("Спасибо за оценку"));
    let r = s.wf.message(id).await.unwrap();
    assert_eq!(r.message.status, MessageStatus::Rated);
    assert_eq!(r.message.rating, Some(4));

    // The second use — same or another rating — is refused; so is the form.
    for rating in ["4", "1"] {
        let p = a
            .post_form("/rate", &[("t", &token), ("rating", rating)])
            .await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
        assert!(p.body.contains("уже использована"), "{}", p.body);
    }
    let p = a.get(&format!("/rate?t={token}")).await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("уже использована"));
    assert_eq!(s.wf.message(id).await.unwrap().message.rating, Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_expired_links_are_refused() {
    let s = citizen_server().await;
    let citizen = s.store.user_by_login("citizen").await.unwrap().unwrap();
    let id = s.answered_message(citizen.id).await;
    let token = s.rating_token(id, 86_400_000);
    let mut a = s.agent();
    // One character changed in the signature; another message's id; garbage.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let other_key = otklik_notify::RatingLinks::new(&[9u8; 32], "http://x/rate").unwrap();
    let foreign = other_key.token(id, otklik_domain::Timestamp(i64::MAX / 2));
    for bad in [
        forged.as_str(),
        foreign.as_str(),
        "",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
    ] {
        let q = serde_urlencoded::to_string([("t", bad)]).unwrap();
        let p = a.get(&format!("/rate?{q}")).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(p.body.contains("недействительна"), "{bad}: {}", p.body);
        assert!(!p.body.contains("<script>alert"));
        let p = a.post_form("/rate", &[("t", bad), ("rating", "5")]).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let expired = s.rating_token(id, -1000);
    let p = a.get(&format!("/rate?t={expired}")).await;
    assert_eq!(p.status, StatusCode::GONE);
    assert!(p.body.contains("истёк"));
    let p = a
        .post_form("/rate", &[("t", &expired), ("rating", "5")])
        .await;
    assert_eq!(p.status, StatusCode::GONE);
    // Posted from another site.
    a.origin = Some("http://evil.example".into());
    let p = a
        .post_form("/rate", &[("t", &token), ("rating", "1")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        s.wf.message(id).await.unwrap().message.status,
        MessageStatus::Answered
    );
    assert_eq!(s.wf.message(id).await.unwrap().message.rating, None);
}
