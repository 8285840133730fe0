//! Administration in the back-office: staff accounts (create, roles, block, one-time
//! password), organisations' details, sources, the Госпаблики registry — each action for the
//! region's administrator, refused for other roles (403) and for another organisation's
//! administrator (403/404), hostile input escaped or refused in Russian, CSRF enforced.

use otklik_domain::directory::{DirectoryBatch, NewRoleGrant, NewUser};
use otklik_domain::{EntityKind, Network, Role, UserId, Verification};
use reqwest::StatusCode;

use crate::support::{Browser, PASSWORD, Server, hidden, now, pairs, server};

const XSS: &str = "<script>alert('x')</script>";

/// An administrator of the organisation adm1 only («orgadmin-adm1»: RegionAdmin in adm1).
async fn with_org_admin(s: &Server) -> Browser {
    let batch = DirectoryBatch {
        users: vec![NewUser {
            login: "orgadmin-adm1".into(),
            full_name: "Администратор района один".into(),
            email: None,
            organisation_code: Some("adm1".into()),
            confirmed: true,
            roles: vec![NewRoleGrant {
                role: Role::RegionAdmin,
                organisation_code: "adm1".into(),
            }],
        }],
        ..DirectoryBatch::default()
    };
    s.store.import_directory(&batch, None, now()).await.unwrap();
    let id = user_id(s, "orgadmin-adm1").await;
    let hash = otklik_web::auth::hash_password(PASSWORD).unwrap();
    s.store
        .set_password_hash(id, Some(&hash), None, now())
        .await
        .unwrap();
    s.signed_in("orgadmin-adm1").await
}

async fn user_id(s: &Server, login: &str) -> UserId {
    s.store.user_by_login(login).await.unwrap().unwrap().id
}

/// The CSRF token of the browser's session.
async fn csrf(b: &mut Browser) -> String {
    let p = b.get("/office").await;
    assert_eq!(p.status, StatusCode::OK);
    hidden(&p.body, "_csrf")
}

async fn post(b: &mut Browser, path: &str, fields: &[(&str, &str)]) -> crate::support::Page {
    let token = csrf(b).await;
    let mut form = pairs(fields);
    form.push(("_csrf".into(), token));
    b.post(path, &form).await
}

/// The text of the one-time password on the page.
fn one_time_password(html: &str) -> String {
    let start = html
        .find("id=\"one-time-password\"")
        .expect("password shown");
    let from = start + html[start..].find('>').unwrap() + 1;
    let to = from + html[from..].find('<').unwrap();
    html[from..to].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_admin_manages_accounts() {
    let s = server().await;
    let adm1 = s.orgs["adm1"];
    let mut admin = s.signed_in("admin").await;
    let list = admin.get("/office/users").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Создать пользователя"));
    assert!(
        list.body.contains("executor-adm2"),
        "the region sees every account"
    );

    // Create, with a hostile name: stored as typed, shown escaped.
    let adm1_s = adm1.to_string();
    let p = post(
        &mut admin,
        "/office/users/new",
        &[
            ("login", "petrov.ii"),
            ("full_name", XSS),
            ("email", "petrov@example.ru"),
            ("organisation", &adm1_s),
            ("role", "executor"),
            ("confirmed", "1"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let id = user_id(&s, "petrov.ii").await;
    assert_eq!(p.location(), format!("/office/users/{id}?done=created"));
    let u = s.store.user(id).await.unwrap().unwrap();
    assert_eq!(u.full_name, XSS);
    assert!(u.has_role_in(Role::Executor, adm1) && u.confirmed);
    let page = admin.get(p.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Пользователь создан"));
    assert!(!page.body.contains("<script>alert"), "escaped");
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
    );
    let list = admin.get("/office/users").await;
    assert!(!list.body.contains("<script>alert"));

    // Roles.
    let p = post(
        &mut admin,
        &format!("/office/users/{id}/roles"),
        &[("role", "head"), ("organisation", &adm1_s)],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        s.store
            .user(id)
            .await
            .unwrap()
            .unwrap()
            .has_role_in(Role::Head, adm1)
    );
    let p = post(
        &mut admin,
        &format!("/office/users/{id}/roles/remove"),
        &[("role", "head"), ("organisation", &adm1_s)],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        !s.store
            .user(id)
            .await
            .unwrap()
            .unwrap()
            .has_role(Role::Head)
    );
    // A citizen role or an unknown organisation is refused in Russian.
    for (role, org) in [
        ("citizen", adm1_s.as_str()),
        ("head", "999999"),
        ("king", "1"),
    ] {
        let p = post(
            &mut admin,
            &format!("/office/users/{id}/roles"),
            &[("role", role), ("organisation", org)],
        )
        .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{role} {org}");
        assert!(p.body.contains("Выберите роль и организацию"));
    }

    // A one-time password, shown once; the user signs in with it.
    let p = post(&mut admin, &format!("/office/users/{id}/password"), &[]).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.headers["cache-control"], "no-store");
    let pw = one_time_password(&p.body);
    assert!(pw.len() >= 16);
    let mut petrov = s.browser();
    assert_eq!(petrov.login("petrov.ii", &pw).await, StatusCode::SEE_OTHER);
    assert_eq!(petrov.get("/office").await.status, StatusCode::OK);
    let again = admin.get(&format!("/office/users/{id}")).await;
    assert!(!again.body.contains(&pw), "shown only once");

    // Block: the session ends and sign-in fails; unblock: sign-in works again.
    let p = post(
        &mut admin,
        &format!("/office/users/{id}/block"),
        &[("blocked", "1")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let gone = petrov.get("/office").await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(gone.location().starts_with("/login"));
    assert_eq!(
        s.browser().login("petrov.ii", &pw).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        admin
            .get(&format!("/office/users/{id}"))
            .await
            .body
            .contains("заблокирован")
    );
    let p = post(
        &mut admin,
        &format!("/office/users/{id}/block"),
        &[("blocked", "0")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.browser().login("petrov.ii", &pw).await,
        StatusCode::SEE_OTHER
    );

    // Everything is in the audit trail, by the administrator.
    let admin_id = user_id(&s, "admin").await;
    let trail = s
        .store
        .audit_trail(EntityKind::User, id.get())
        .await
        .unwrap();
    let by_admin: Vec<&str> = trail
        .iter()
        .filter(|e| e.event.actor == Some(admin_id))
        .map(|e| e.event.action.as_str())
        .collect();
    assert_eq!(
        by_admin,
        [
            "created",
            "role_granted",
            "role_revoked",
            "password",
            "block",
            "unblock"
        ]
    );
    assert!(trail.iter().all(|e| !e.event.detail.contains(&pw)));

    // One's own account is not changed here.
    let p = post(
        &mut admin,
        &format!("/office/users/{admin_id}/block"),
        &[("blocked", "1")],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_account_input_is_refused_in_russian() {
    let s = server().await;
    let adm1 = s.orgs["adm1"].to_string();
    let mut admin = s.signed_in("admin").await;
    let users_before = s.store.users().await.unwrap().len();
    let long = "я".repeat(301);
    for (fields, reason) in [
        (
            vec![
                ("login", "x'; DROP TABLE users; --"),
                ("full_name", "Иванов"),
            ],
            "Логин",
        ),
        (vec![("login", "ivanov"), ("full_name", "   ")], "Заполните"),
        (
            vec![("login", "ivanov"), ("full_name", long.as_str())],
            "слишком длинное",
        ),
        (
            vec![
                ("login", "ivanov"),
                ("full_name", "Иванов"),
                ("email", "<a@b>"),
            ],
            "электронной почты",
        ),
        (
            vec![("login", "moderator"), ("full_name", "Двойник")],
            "уже есть",
        ),
    ] {
        let mut f = fields.clone();
        f.push(("organisation", &adm1));
        let p = post(&mut admin, "/office/users/new", &f).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(p.body.contains(reason), "{reason}: {}", p.body);
        assert!(p.body.contains("role=\"alert\""));
    }
    assert_eq!(s.store.users().await.unwrap().len(), users_before);
    // An oversize body is cut off before the handler.
    let huge = "a".repeat(2 * 1024 * 1024);
    let p = post(
        &mut admin,
        "/office/users/new",
        &[
            ("login", "big"),
            ("full_name", &huge),
            ("organisation", &adm1),
        ],
    )
    .await;
    assert!(p.status.is_client_error(), "{}", p.status);
    assert!(s.store.user_by_login("big").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_admin_stays_in_the_organisation() {
    let s = server().await;
    let (adm1, adm2) = (s.orgs["adm1"], s.orgs["adm2"]);
    let mut oa = with_org_admin(&s).await;
    let list = oa.get("/office/users").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("executor-adm1"));
    assert!(!list.body.contains("executor-adm2"));

    // Creates in its organisation; not in another.
    let p = post(
        &mut oa,
        "/office/users/new",
        &[
            ("login", "local.user"),
            ("full_name", "Местный сотрудник"),
            ("organisation", &adm1.to_string()),
            ("role", "executor"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let local = user_id(&s, "local.user").await;
    let p = post(
        &mut oa,
        "/office/users/new",
        &[
            ("login", "foreign.user"),
            ("full_name", "Чужой"),
            ("organisation", &adm2.to_string()),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(
        s.store
            .user_by_login("foreign.user")
            .await
            .unwrap()
            .is_none()
    );
    // No roles in another organisation, even for its own user.
    let p = post(
        &mut oa,
        &format!("/office/users/{local}/roles"),
        &[("role", "head"), ("organisation", &adm2.to_string())],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(
        !s.store
            .user(local)
            .await
            .unwrap()
            .unwrap()
            .has_role(Role::Head)
    );

    // Another organisation's accounts are not found; the region's are out of reach.
    let foreign = user_id(&s, "executor-adm2").await;
    assert_eq!(
        oa.get(&format!("/office/users/{foreign}")).await.status,
        StatusCode::NOT_FOUND
    );
    for action in ["block", "password"] {
        let p = post(
            &mut oa,
            &format!("/office/users/{foreign}/{action}"),
            &[("blocked", "1")],
        )
        .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{action}");
    }
    let p = post(
        &mut oa,
        &format!("/office/users/{foreign}/roles/remove"),
        &[("role", "executor"), ("organisation", &adm2.to_string())],
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(
        s.store
            .user(foreign)
            .await
            .unwrap()
            .unwrap()
            .has_role(Role::Executor)
    );
    assert!(
        s.store
            .password_hash("executor-adm2")
            .await
            .unwrap()
            .unwrap()
            .1
            .is_some()
    );

    // Organisations: its own yes, another no.
    assert_eq!(
        oa.get(&format!("/office/admin/organisations/{adm1}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        oa.get(&format!("/office/admin/organisations/{adm2}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let p = post(
        &mut oa,
        &format!("/office/admin/organisations/{adm2}"),
        &[("name", "Захвачено")],
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert_ne!(
        s.store.organisation(adm2).await.unwrap().unwrap().name,
        "Захвачено"
    );
    let orgs = oa.get("/office/admin/organisations").await;
    assert!(orgs.body.contains("Организация adm1") && !orgs.body.contains("Организация adm2"));

    // Sources are the region's.
    assert_eq!(
        oa.get("/office/admin/sources").await.status,
        StatusCode::FORBIDDEN
    );
    let p = post(
        &mut oa,
        "/office/admin/sources/new",
        &[
            ("name", "x"),
            ("network", "rss"),
            ("target", "https://x.example/rss"),
            ("schedule", "0 */10 * * * *"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // Communities: its own organisation only.
    let p = post(
        &mut oa,
        "/office/admin/communities/new",
        &[
            ("url", "https://vk.com/adm2_page"),
            ("title", "Чужая"),
            ("organisation", &adm2.to_string()),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = post(
        &mut oa,
        "/office/admin/communities/new",
        &[
            ("url", "https://vk.com/adm1_page"),
            ("title", "Своя"),
            ("organisation", &adm1.to_string()),
            ("required", "1"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_roles_may_not_administer() {
    let s = server().await;
    let adm1 = s.orgs["adm1"].to_string();
    let target = user_id(&s, "newbie-adm1").await;
    let source = s.store.sources().await.unwrap()[0].id;
    for login in ["executor-adm1", "moderator", "head-adm1", "curator"] {
        let mut b = s.signed_in(login).await;
        for (path, fields) in [
            (
                "/office/users/new".to_owned(),
                vec![
                    ("login", "sneaky"),
                    ("full_name", "Х"),
                    ("organisation", adm1.as_str()),
                ],
            ),
            (
                format!("/office/users/{target}/roles"),
                vec![("role", "head"), ("organisation", adm1.as_str())],
            ),
            (
                format!("/office/users/{target}/block"),
                vec![("blocked", "1")],
            ),
            (format!("/office/users/{target}/password"), vec![]),
            (
                format!("/office/admin/organisations/{adm1}"),
                vec![("name", "Х")],
            ),
            ("/office/admin/sources/new".to_owned(), vec![("name", "x")]),
            (
                format!("/office/admin/sources/{source}/enabled"),
                vec![("enabled", "0")],
            ),
            (
                "/office/admin/communities/new".to_owned(),
                vec![("url", "https://vk.com/x")],
            ),
        ] {
            let p = post(&mut b, &path, &fields).await;
            assert_eq!(
                p.status,
                StatusCode::FORBIDDEN,
                "{login} {path}: {}",
                p.body
            );
        }
        for path in [
            format!("/office/users/{target}"),
            format!("/office/admin/organisations/{adm1}"),
            "/office/admin/sources".to_owned(),
            "/office/admin/communities".to_owned(),
        ] {
            assert_eq!(
                b.get(&path).await.status,
                StatusCode::FORBIDDEN,
                "{login} {path}"
            );
        }
    }
    assert!(s.store.user_by_login("sneaky").await.unwrap().is_none());
    assert!(s.store.sources().await.unwrap()[0].enabled);
    assert!(
        s.store
            .password_hash("newbie-adm1")
            .await
            .unwrap()
            .unwrap()
            .1
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_writes_need_the_csrf_token() {
    let s = server().await;
    let adm1 = s.orgs["adm1"].to_string();
    let target = user_id(&s, "executor-adm1").await;
    let mut admin = s.signed_in("admin").await;
    let token = csrf(&mut admin).await;
    for (path, fields) in [
        (
            "/office/users/new".to_owned(),
            vec![
                ("login", "nocsrf"),
                ("full_name", "Х"),
                ("organisation", adm1.as_str()),
            ],
        ),
        (
            format!("/office/users/{target}/block"),
            vec![("blocked", "1")],
        ),
        (format!("/office/users/{target}/password"), vec![]),
        (
            format!("/office/admin/organisations/{adm1}"),
            vec![("name", "Без токена")],
        ),
        (
            "/office/admin/sources/new".to_owned(),
            vec![
                ("name", "nocsrf"),
                ("network", "rss"),
                ("target", "https://x.example/"),
                ("schedule", "0 */10 * * * *"),
            ],
        ),
        (
            "/office/admin/communities/new".to_owned(),
            vec![
                ("url", "https://vk.com/nocsrf"),
                ("title", "Х"),
                ("organisation", adm1.as_str()),
            ],
        ),
    ] {
        // No token, a wrong token, the right token from a foreign origin.
        let p = admin.post(&path, &pairs(&fields)).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        let mut wrong = pairs(&fields);
        wrong.push(("_csrf".into(), "0".repeat(64)));
        assert_eq!(
            admin.post(&path, &wrong).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        let mut right = pairs(&fields);
        right.push(("_csrf".into(), token.clone()));
        admin.origin = Some("https://evil.example".into());
        assert_eq!(
            admin.post(&path, &right).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        admin.origin = None;
    }
    assert!(s.store.user_by_login("nocsrf").await.unwrap().is_none());
    assert!(
        s.store
            .password_hash("executor-adm1")
            .await
            .unwrap()
            .unwrap()
            .1
            .is_some()
    );
    assert!(s.store.source_by_name("nocsrf").await.unwrap().is_none());
    assert!(s.store.communities().await.unwrap().is_empty());
    assert_ne!(
        s.store
            .organisation(s.orgs["adm1"])
            .await
            .unwrap()
            .unwrap()
            .name,
        "Без токена"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_sources_and_communities() {
    let s = server().await;
    let adm1 = s.orgs["adm1"];
    let mut admin = s.signed_in("admin").await;

    // Organisation details, hostile values kept verbatim and escaped.
    let sql = "Администрация'; DROP TABLE organisations; --";
    let p = post(
        &mut admin,
        &format!("/office/admin/organisations/{adm1}"),
        &[
            ("name", sql),
            ("short_name", XSS),
            ("site_url", "https://adm1.example.ru"),
            ("contact_email", "priemnaya@adm1.example.ru"),
            ("contact_phone", "+7 (3952) 20-00-00"),
            ("contact_address", "ул. Ленина, 1"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let d = s.store.organisation_details(adm1).await.unwrap().unwrap();
    assert_eq!(d.name, sql);
    assert_eq!(d.contact_phone.as_deref(), Some("+7 (3952) 20-00-00"));
    let page = admin
        .get(&format!("/office/admin/organisations/{adm1}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Готовность к работе"));
    assert!(!page.body.contains("<script>alert"));
    assert_eq!(s.store.organisations().await.unwrap().len(), 5);
    for (field, value, reason) in [
        ("site_url", "javascript:alert(1)", "https://"),
        ("contact_phone", "позвоните мне", "Телефон"),
        ("contact_email", "nobody", "электронной почты"),
        ("contact_address", &"д".repeat(301)[..], "слишком длинное"),
    ] {
        let p = post(
            &mut admin,
            &format!("/office/admin/organisations/{adm1}"),
            &[("name", "Администрация"), (field, value)],
        )
        .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(p.body.contains(reason), "{field}: {}", p.body);
    }
    assert_eq!(
        admin.get("/office/admin/organisations/999999").await.status,
        StatusCode::NOT_FOUND
    );
    let events = s
        .store
        .audit_trail(EntityKind::Organisation, adm1.get())
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.event.action == "details"));

    // Sources: the health columns; add (schedule checked), switch off.
    let page = admin.get("/office/admin/sources").await;
    assert!(page.body.contains("Отставание") && page.body.contains("Последняя ошибка"));
    let p = post(
        &mut admin,
        "/office/admin/sources/new",
        &[
            ("name", XSS),
            ("network", "rss"),
            ("target", "https://news.example.ru/rss"),
            ("schedule", "*/10 * * * *"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("Расписание"));
    let p = post(
        &mut admin,
        "/office/admin/sources/new",
        &[
            ("name", XSS),
            ("network", "rss"),
            ("target", "https://news.example.ru/rss"),
            ("schedule", "0 */15 * * * *"),
            ("territory", "district1"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let added = s.store.source_by_name(XSS).await.unwrap().unwrap();
    assert_eq!(added.network, Network::Rss);
    let page = admin.get("/office/admin/sources?done=source_added").await;
    assert!(page.body.contains("Источник добавлен"));
    assert!(!page.body.contains("<script>alert"));
    let p = post(
        &mut admin,
        "/office/admin/sources/new",
        &[
            ("name", XSS),
            ("network", "rss"),
            ("target", "https://other.example.ru/rss"),
            ("schedule", "0 */15 * * * *"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("уже есть"));
    let p = post(
        &mut admin,
        &format!("/office/admin/sources/{}/enabled", added.id),
        &[("enabled", "0")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(!s.store.source_by_name(XSS).await.unwrap().unwrap().enabled);
    assert_eq!(
        post(
            &mut admin,
            "/office/admin/sources/999999/enabled",
            &[("enabled", "1")]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // Communities: by link, normalised; duplicates and bad links refused in Russian.
    let p = post(
        &mut admin,
        "/office/admin/communities/new",
        &[
            ("url", "https://m.vk.com/Public123?w=wall-123_1"),
            ("title", XSS),
            ("organisation", &adm1.to_string()),
            ("required", "1"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let c = s.store.communities().await.unwrap()[0].clone();
    assert_eq!(
        (c.network, c.external_id.as_str()),
        (Network::Vk, "club123")
    );
    assert_eq!(c.url, "https://vk.com/club123");
    assert_eq!(c.organisation, adm1);
    assert!(s.store.community(c.id).await.unwrap().unwrap().required);
    for (url, reason) in [
        ("https://vk.com/club123", "уже зарегистрировано"),
        ("https://example.com/page", "Поддерживаются"),
        ("javascript:alert(1)", "Поддерживаются"),
        ("https://vk.com/id1/wall", "не на сообщество"),
    ] {
        let p = post(
            &mut admin,
            "/office/admin/communities/new",
            &[
                ("url", url),
                ("title", "Х"),
                ("organisation", &adm1.to_string()),
            ],
        )
        .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(p.body.contains(reason), "{url}: {}", p.body);
    }
    let page = admin.get("/office/admin/communities").await;
    assert!(!page.body.contains("<script>alert"));
    assert!(page.body.contains("без обязательных страниц"));
    assert!(
        page.body.contains("Организация adm2: нет страницы"),
        "{}",
        page.body
    );
    let p = post(
        &mut admin,
        &format!("/office/admin/communities/{}/registry", c.id),
        &[
            ("organisation", &s.orgs["adm2"].to_string()),
            ("verification", "verified"),
            ("required", "1"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let r = s.store.community(c.id).await.unwrap().unwrap();
    assert_eq!(r.community.verification, Verification::Verified);
    assert_eq!(r.community.organisation, s.orgs["adm2"]);
    assert!(
        s.store
            .audit_trail(EntityKind::Community, c.id.get())
            .await
            .unwrap()
            .iter()
            .any(|e| e.event.action == "registry")
    );

    // Territories and categories: read-only, with where they are changed.
    let t = admin.get("/office/admin/territories").await;
    assert!(t.body.contains("Только просмотр") && t.body.contains("otklik import"));
    let c = admin.get("/office/admin/categories").await;
    assert!(c.body.contains("rules/categories.toml"));
}
