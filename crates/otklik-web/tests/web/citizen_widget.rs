//! The widget: the script, the framable form, submissions with photos through the workflow,
//! and refusals (oversize, wrong type, CSRF, another site) that store nothing.

use otklik_domain::{Channel, MessageId};
use otklik_store::testing::rows_in;
use otklik_web::oidc::testing::FakeCitizen;
use reqwest::StatusCode;

use crate::citizen_support::{Agent, CitizenServer, MAX_FILE, citizen_server, hidden, jpeg, png};

/// A citizen on the widget form of adm1: (agent, csrf, key).
async fn on_form(s: &CitizenServer) -> (Agent, String, String) {
    let mut a = s.agent();
    let page = a.sign_in("/widget/adm1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    let csrf = hidden(&page.body, "_csrf");
    let key = hidden(&page.body, "key");
    (a, csrf, key)
}

fn fields<'a>(
    csrf: &'a str,
    key: &'a str,
    text: &'a str,
    territory: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("_csrf", csrf),
        ("key", key),
        ("subcategory", crate::support::ROADS),
        ("text", text),
        ("territory", territory),
        ("address", "ул. Ленина, 5"),
    ]
}

fn sent_id(location: &str) -> MessageId {
    MessageId(location.rsplit('/').next().unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_and_the_framable_form() {
    let s = citizen_server().await;
    let mut a = s.agent();
    let js = a.get("/widget.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.body.contains("data-organisation"));
    assert!(js.body.contains("/widget/"));
    // Only the widget's pages may be framed by other sites; no page allows inline scripts.
    let form = a.get("/widget/adm1").await;
    assert_eq!(form.status, StatusCode::OK);
    let csp = form.header("content-security-policy");
    assert!(csp.contains("frame-ancestors http: https:"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"));
    assert!(form.headers.get("x-frame-options").is_none());
    assert!(!form.body.contains("<script"), "no scripts in the page");
    for path in ["/my/messages", "/citizen/login", "/", "/login", "/rate?t=x"] {
        let p = a.get(path).await;
        assert!(
            p.header("content-security-policy")
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(p.header("x-frame-options"), "DENY", "{path}");
    }
    // Signed out: the invitation to sign in (in a new window), not the form.
    assert!(form.body.contains("Войти через Госуслуги"));
    assert!(form.body.contains("/citizen/login?next=%2Fwidget%2Fadm1"));
    assert!(form.body.contains("target=\"_blank\""));
    assert!(!form.body.contains("name=\"text\""));
    // Unknown and hostile widget codes.
    assert_eq!(a.get("/widget/nobody").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.get("/widget/%3Cscript%3E").await.status,
        StatusCode::NOT_FOUND
    );

    // Signed in: the category picker with the fast-track badge.
    let (mut a, _, _) = on_form(&s).await;
    let form = a.get("/widget/adm1").await;
    assert!(form.body.contains("быстрое решение"), "fast-track badge");
    assert!(form.body.contains("<details><summary>"));
    assert!(form.body.contains("name=\"photos\""));
    assert!(form.body.contains("Иванова Мария Петровна"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_submission_with_photos_becomes_a_message() {
    let s = citizen_server().await;
    let (mut a, csrf, key) = on_form(&s).await;
    let town = s.territories["town1"].get().to_string();
    let p = a
        .post_multipart(
            "/widget/adm1/submit",
            &fields(
                &csrf,
                &key,
                "Яма во дворе дома 5, машины ломают подвеску",
                &town,
            ),
            &[
                ("photos", "яма.png", "image/png", png(2000)),
                ("photos", "IMG_0001.JPG", "image/jpeg", jpeg(3000)),
                ("photos", "", "application/octet-stream", vec![]),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(
        p.location().starts_with("/widget/adm1/sent/"),
        "{}",
        p.location()
    );
    let id = sent_id(p.location());
    let r = s.wf.message(id).await.unwrap();
    assert_eq!(r.message.channel, Channel::Widget);
    assert_eq!(r.message.submitted_via, Some(s.orgs["adm1"]));
    assert_eq!(r.message.executor, Some(s.orgs["adm1"]));
    assert_eq!(r.message.address.as_deref(), Some("ул. Ленина, 5"));
    assert_eq!(
        r.citizen_contact.as_deref(),
        Some("maria.ivanova@example.ru")
    );
    let author = s
        .store
        .user(r.message.author.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(author.full_name, "Иванова Мария Петровна");
    let files = s.store.attachments_of(id).await.unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].media_type, otklik_store::MediaType::Png);
    assert_eq!(files[1].file_name, "IMG_0001.jpg");
    for f in &files {
        assert!(s.files.path_of(&f.sha256).unwrap().is_file(), "on disk");
    }
    // The confirmation page (framable) and the status page.
    let sent = a.get(p.location()).await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(sent.body.contains(&format!("№ {id}")));
    let mine = a.get(&format!("/my/messages/{id}")).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.body.contains("Яма во дворе"));
    assert!(mine.body.contains("яма.png"));
    // The same form sent again (double click): the same message, no second one.
    let messages = rows_in(&s.store, "messages").await;
    let again = a
        .post_multipart(
            "/widget/adm1/submit",
            &fields(
                &csrf,
                &key,
                "Яма во дворе дома 5, машины ломают подвеску",
                &town,
            ),
            &[("photos", "яма.png", "image/png", png(2000))],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(sent_id(again.location()), id);
    assert_eq!(rows_in(&s.store, "messages").await, messages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_and_wrong_files_are_refused_and_nothing_is_stored() {
    let s = citizen_server().await;
    let (mut a, csrf, key) = on_form(&s).await;
    let town = s.territories["town1"].get().to_string();
    let form = fields(&csrf, &key, "Текст", &town);
    let before = rows_in(&s.store, "messages").await;
    // One good file and one a byte over the limit: 413, neither stored.
    let p = a
        .post_multipart(
            "/widget/adm1/submit",
            &form,
            &[
                ("photos", "ok.png", "image/png", png(100)),
                ("photos", "big.png", "image/png", png(MAX_FILE as usize)),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", p.body);
    assert!(p.body.contains("big.png"), "{}", p.body);
    assert!(p.body.contains("больше"));
    // A body announced over the whole limit is refused before it is read.
    let head = raw_post_head(
        &s.base,
        &a,
        otklik_web::citizen::widget::MAX_UPLOAD_BYTES + 1,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("Слишком большой"), "{head}");
    // More files than allowed (3 in this server).
    let many: Vec<_> = (0..4)
        .map(|i| ("photos", "p.png", "image/png", png(10 + i)))
        .collect();
    let p = a.post_multipart("/widget/adm1/submit", &form, &many).await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(p.body.contains("не больше 3 файлов"), "{}", p.body);
    // Not an image whatever its name and declared type: 415.
    let p = a
        .post_multipart(
            "/widget/adm1/submit",
            &form,
            &[
                ("photos", "ok.png", "image/png", png(100)),
                (
                    "photos",
                    "photo.jpg",
                    "image/jpeg",
                    b"#!/bin/sh\nrm -rf /\n".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", p.body);
    assert!(p.body.contains("photo.jpg"));
    assert!(p.body.contains("JPEG, PNG, WebP"));
    let p = a
        .post_multipart(
            "/widget/adm1/submit",
            &form,
            &[(
                "photos",
                "page.html",
                "text/html",
                b"<html><script>x</script>".to_vec(),
            )],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(!p.body.contains("<script>x"));
    assert_eq!(rows_in(&s.store, "attachments").await, 0);
    assert_eq!(rows_in(&s.store, "messages").await, before);
    assert!(
        !s.files.root().exists() || walk(s.files.root()) == 0,
        "no file written"
    );
}

/// Sends only the head of a POST announcing `length` bytes (and a few of them); the answer.
async fn raw_post_head(base: &str, a: &Agent, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = &base["http://".len()..];
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let cookies: Vec<String> = a
        .jar
        .get(host)
        .map(|c| c.iter().map(|(k, v)| format!("{k}={v}")).collect())
        .unwrap_or_default();
    let head = format!(
        "POST /widget/adm1/submit HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n\r\n--b\r\n",
        cookies.join("; ")
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&got).contains("</html>") {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_sign_in_and_bad_fields_are_checked() {
    let s = citizen_server().await;
    let (mut a, csrf, key) = on_form(&s).await;
    let town = s.territories["town1"].get().to_string();
    // No or another CSRF token.
    for bad in [
        "",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let p = a
            .post_multipart(
                "/widget/adm1/submit",
                &fields(bad, &key, "Текст", &town),
                &[],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{bad:?}");
        assert!(p.body.contains("CSRF"));
    }
    // Posted from another site.
    a.origin = Some("http://evil.example".into());
    let p = a
        .post_multipart(
            "/widget/adm1/submit",
            &fields(&csrf, &key, "Текст", &town),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    a.origin = Some(s.base.clone());
    // Not signed in.
    let mut stranger = s.agent();
    let p = stranger
        .post_multipart(
            "/widget/adm1/submit",
            &fields(&csrf, &key, "Текст", &town),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("Войти через Госуслуги"));
    // Bad fields.
    for (form, says) in [
        (fields(&csrf, &key, "   ", &town), "текст сообщения пуст"),
        (
            {
                let mut f = fields(&csrf, &key, "Текст", "");
                f[5] = ("address", "  ");
                f
            },
            "Укажите населённый пункт",
        ),
        (
            fields(&csrf, &key, "Текст", "999999"),
            "Такой территории нет",
        ),
        (
            fields(&csrf, &key, "Текст", "1; DROP TABLE messages"),
            "Такой территории нет",
        ),
        (fields(&csrf, "short", "Текст", &town), "Форма повреждена"),
    ] {
        let p = a.post_multipart("/widget/adm1/submit", &form, &[]).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{says}: {}", p.body);
        assert!(p.body.contains(says), "{says}: {}", p.body);
    }
    let mut unknown_category = fields(&csrf, &key, "Текст", &town);
    unknown_category[2] = ("subcategory", "roads.nothing");
    let p = a
        .post_multipart("/widget/adm1/submit", &unknown_category, &[])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(rows_in(&s.store, "messages").await, 0);
    // «Не знаю» leaves the category to the moderator.
    let mut no_category = fields(&csrf, &key, "Что-то сломалось", &town);
    no_category[2] = ("subcategory", "");
    let p = a
        .post_multipart("/widget/adm1/submit", &no_category, &[])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_escaped_and_others_messages_are_404() {
    let s = citizen_server().await;
    let (mut maria, csrf, key) = on_form(&s).await;
    let town = s.territories["town1"].get().to_string();
    let hostile = "<script>alert('xss')</script><img src=x onerror=alert(1)> ' OR 1=1 --";
    let mut form = fields(&csrf, &key, hostile, &town);
    form[5] = ("address", "\"><svg onload=alert(2)>");
    let p = maria
        .post_multipart("/widget/adm1/submit", &form, &[])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let id = sent_id(p.location());
    for path in ["/my/messages".to_owned(), format!("/my/messages/{id}")] {
        let page = maria.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(!page.body.contains("<img src=x"), "{path}");
        assert!(!page.body.contains("<svg"), "{path}");
        assert!(
            page.body.contains("&lt;script&gt;alert(&#39;xss&#39;)"),
            "{path}"
        );
    }
    // Another citizen sees none of it.
    s.provider.set_citizen(FakeCitizen {
        sub: "3000003".into(),
        name: "Сидоров Пётр".into(),
        email: Some("petr@example.ru".into()),
    });
    let mut petr = s.citizen().await;
    let list = petr.get("/my/messages").await;
    assert!(!list.body.contains("alert("), "{}", list.body);
    assert!(list.body.contains("Вы ещё не отправляли сообщений"));
    let p = petr.get(&format!("/my/messages/{id}")).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(!p.body.contains("alert("));
    let p = petr.get(&format!("/widget/adm1/sent/{id}")).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    for bad in ["999999", "abc", "-1", "1%20OR%201=1"] {
        assert_eq!(
            petr.get(&format!("/my/messages/{bad}")).await.status,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}
