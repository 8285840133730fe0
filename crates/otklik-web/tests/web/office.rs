//! Back-office pages: stored XSS, filters and search, the monitoring centre's incidents,
//! onboarding confirmations, user confirmation, administration lists.

use otklik_domain::MessageStatus;
use reqwest::StatusCode;

use crate::support::{action_fields, hidden, pairs, server};

const XSS: &str = "<script>alert('x')</script><img src=x onerror=alert(1)>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_markup_is_escaped_on_the_card_and_the_queue() {
    let s = server().await;
    let id = s
        .submit_with(
            &format!("Яма {XSS}"),
            "town1",
            Some("\"><script>alert(2)</script>"),
        )
        .await;
    let mut b = s.signed_in("moderator-adm1").await;
    let card = b.get(&format!("/office/messages/{id}")).await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(!card.body.contains("<script>"), "raw markup on the card");
    assert!(!card.body.contains("<img src=x"));
    assert!(
        card.body
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
    );
    assert!(card.body.contains("&quot;&gt;&lt;script&gt;alert(2)"));
    let queue = b.get("/office/queue/moderation").await;
    assert!(!queue.body.contains("<script>"));
    assert!(queue.body.contains("&lt;script&gt;"));
    // Markup in a search query is escaped when echoed.
    let q = b.get("/office/queue/moderation?q=%3Cscript%3E").await;
    assert_eq!(q.status, StatusCode::OK);
    assert!(!q.body.contains("value=\"<script>"));
    // A draft answer with markup stays text in the history and the answer block.
    let mut m = s.signed_in("moderator-adm1").await;
    assert_eq!(
        crate::support::act(
            &mut m,
            id,
            "reject",
            &[("reason", "no_problem"), ("comment", XSS)]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let card = b.get(&format!("/office/messages/{id}")).await;
    assert!(!card.body.contains("<script>"));
    assert!(card.body.contains("Отклонить"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_filter_search_and_page() {
    let s = server().await;
    for i in 0..27 {
        s.submit(&format!("Обращение номер {i} про дорогу"), "town1")
            .await;
    }
    s.submit("Особая жалоба 50%_ про мост", "town1").await;
    let mut b = s.signed_in("moderator-adm1").await;
    let first = b.get("/office/queue/moderation").await;
    assert!(first.body.contains("Найдено: 28"), "{}", first.body);
    assert!(first.body.contains("Страница 1 из 2"));
    let second = b.get("/office/queue/moderation?page=2").await;
    assert!(second.body.contains("Страница 2 из 2"));
    let found = b.get("/office/queue/moderation?q=50%25_").await;
    assert!(found.body.contains("Найдено: 1"), "{}", found.body);
    let sql = b
        .get("/office/queue/moderation?q=%27%20OR%201%3D1%20--")
        .await;
    assert_eq!(sql.status, StatusCode::OK);
    assert!(sql.body.contains("Найдено: 0"));
    let other_category = b.get("/office/queue/moderation?category=education").await;
    assert_eq!(other_category.status, StatusCode::OK);
    let roads = b
        .get("/office/queue/moderation?category=roads&status=moderation")
        .await;
    assert!(roads.body.contains("Найдено: 28"));
    // Garbage parameters are ignored, not errors.
    let junk = b.get("/office/queue/moderation?page=-5&status=zzz").await;
    assert_eq!(junk.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitoring_centre_decides_incidents_in_one_click() {
    let s = server().await;
    let a = s
        .incident("-1_100", "На улице Мира огромная яма, машины ломаются")
        .await;
    let b_id = s.incident("-1_101", "Реклама: продам гараж").await;
    assert_eq!(s.status(a).await, MessageStatus::Moderation);
    let mut m = s.signed_in("moderator").await;
    let page = m.get("/office/queue/incidents").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("огромная яма"));
    assert!(page.body.contains("href=\"https://vk.com/wall-1_100\""));
    assert!(page.body.contains("rel=\"noopener noreferrer nofollow\""));
    assert!(page.body.contains("42.0 %"));
    // Accept the first straight from the list.
    let at = page.body.find("Инцидент № ".to_owned().as_str()).unwrap();
    let _ = at;
    let section_a = section(&page.body, &a.to_string());
    let accept = action_fields(section_a, "accept");
    let p = m.post(&format!("/office/messages/{a}/act"), &accept).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(s.status(a).await, MessageStatus::Coordination);
    // Reject the advert with a reason from the list.
    let page = m.get("/office/queue/incidents").await;
    let mut reject = action_fields(section(&page.body, &b_id.to_string()), "reject");
    reject.push(("reason".into(), "no_problem".into()));
    let p = m
        .post(&format!("/office/messages/{b_id}/act"), &reject)
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(s.status(b_id).await, MessageStatus::Rejected);
    // The card shows the source post.
    let card = m.get(&format!("/office/messages/{a}")).await;
    assert!(card.body.contains("Исходная публикация"));
    assert!(card.body.contains("id=\"post-text\""));
    assert!(card.body.contains("низкая уверенность классификатора"));
}

/// The part of the incidents page about message `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"inc-{id}\""))
        .unwrap_or_else(|| panic!("no incident {id}"));
    let end = html[start..].find("</section>").unwrap() + start;
    &html[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_and_user_confirmation() {
    let s = server().await;
    let mut head = s.signed_in("head-adm1").await;
    let home = head.get("/office").await;
    assert!(home.body.contains("Требуется подтверждение"));
    let page = head.get("/office/organisation").await;
    assert!(page.body.contains("ЛКО готов к работе"));
    assert!(page.body.contains("Мной пройдено обучение"));
    let csrf = hidden(&page.body, "_csrf");
    let adm1 = s.orgs["adm1"];
    for flag in ["account_ready", "training_done"] {
        let p = head
            .post(
                &format!("/office/organisation/{adm1}/onboarding"),
                &pairs(&[("_csrf", &csrf), ("flag", flag)]),
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    }
    let org = s.store.organisation(adm1).await.unwrap().unwrap();
    assert!(org.onboarding.account_ready && org.onboarding.training_done);
    assert!(!org.onboarding.widget_installed);
    // Not for another organisation, not an unknown flag.
    let adm2 = s.orgs["adm2"];
    let p = head
        .post(
            &format!("/office/organisation/{adm2}/onboarding"),
            &pairs(&[("_csrf", &csrf), ("flag", "account_ready")]),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = head
        .post(
            &format!("/office/organisation/{adm1}/onboarding"),
            &pairs(&[("_csrf", &csrf), ("flag", "everything")]),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The head confirms the new executor of adm1.
    let users = head.get("/office/users").await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("newbie-adm1"));
    assert!(!users.body.contains("executor-adm2"));
    let newbie = s.store.user_by_login("newbie-adm1").await.unwrap().unwrap();
    assert!(!newbie.confirmed);
    let p = head
        .post(
            &format!("/office/users/{}/confirm", newbie.id),
            &pairs(&[("_csrf", &csrf), ("confirmed", "1")]),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(s.store.user(newbie.id).await.unwrap().unwrap().confirmed);
    // Not a user of another organisation.
    let foreign = s
        .store
        .user_by_login("executor-adm2")
        .await
        .unwrap()
        .unwrap();
    let p = head
        .post(
            &format!("/office/users/{}/confirm", foreign.id),
            &pairs(&[("_csrf", &csrf), ("confirmed", "0")]),
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(s.store.user(foreign.id).await.unwrap().unwrap().confirmed);

    // The regional administrator's lists.
    let mut admin = s.signed_in("admin").await;
    for (path, text) in [
        ("/office/admin/organisations", "Организация adm1"),
        ("/office/admin/territories", "Территория town1"),
        ("/office/admin/categories", "Категории и сроки"),
        ("/office/admin/sources", "vk-search"),
        ("/office/admin/communities", "Реестр госпабликов"),
    ] {
        let p = admin.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(p.body.contains(text), "{path}");
    }
    assert_eq!(
        admin.get("/office/admin/nothing").await.status,
        StatusCode::NOT_FOUND
    );
}
