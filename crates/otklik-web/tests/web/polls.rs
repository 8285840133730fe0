//! «Голосования» over real HTTP on loopback: a poll manager writes a poll, a moderator approves
//! it, citizens signed in through the fake OIDC provider vote through the widget's form (double
//! votes refused, re-votes replace), results with charts, CSV and XLSX; role checks, escaping,
//! CSRF, and Russian errors for bad budgets and choice limits.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use otklik_domain::directory::{NewRoleGrant, NewUser};
use otklik_domain::{OrganisationId, PollId, Role};
use otklik_polls::{Polls, PollsConfig, VoterKey, load_poll_topics};
use otklik_store::{PollDetails, Store, sqlite_url};
use otklik_web::auth::hash_password;
use otklik_web::oidc::OidcClient;
use otklik_web::oidc::testing::{FakeCitizen, FakeProvider};
use otklik_web::{AppState, ServerInfo};
use reqwest::StatusCode;
use serde_json::Value;

use crate::citizen_support::Agent;
use crate::support::{
    Browser, PASSWORD, RegionWorkflow, hidden, now, pairs, region_batch, region_workflow, rules_dir,
};

struct PollServer {
    base: String,
    store: Store,
    provider: FakeProvider,
    orgs: HashMap<String, OrganisationId>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for PollServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn staff(login: &str, org: &str, roles: &[Role]) -> NewUser {
    NewUser {
        login: login.into(),
        full_name: format!("Сотрудник {login}"),
        email: None,
        organisation_code: Some(org.into()),
        confirmed: true,
        roles: roles
            .iter()
            .map(|r| NewRoleGrant {
                role: *r,
                organisation_code: org.into(),
            })
            .collect(),
    }
}

fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD).unwrap())
}

/// The test region plus poll managers of adm1 and adm2, the region's topics, the fake
/// identity provider.
async fn poll_server() -> PollServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir.path().join("otklik.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mut batch = region_batch();
    batch
        .users
        .push(staff("pollmgr-adm1", "adm1", &[Role::PollManager]));
    batch
        .users
        .push(staff("pollmgr-adm2", "adm2", &[Role::PollManager]));
    batch.users.push(staff(
        "pollmod-adm2",
        "adm2",
        &[Role::Moderator, Role::PollManager],
    ));
    let t0 = now();
    store.import_directory(&batch, None, t0).await.unwrap();
    for u in store.users().await.unwrap() {
        store
            .set_password_hash(u.id, Some(password_hash()), None, t0)
            .await
            .unwrap();
    }
    let RegionWorkflow {
        workflow,
        tree,
        reasons,
        orgs,
        ..
    } = region_workflow(&store).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let provider = FakeProvider::start().await;
    let oidc = OidcClient::connect(provider.settings(&format!("{base}/citizen/callback")))
        .await
        .unwrap();
    let mut config = PollsConfig::new(VoterKey::new(vec![9u8; 32]).unwrap());
    config.topics = load_poll_topics(rules_dir().join("poll-topics.toml")).unwrap();
    let polls = Polls::new(store.clone(), config);
    let info = ServerInfo {
        region: Some("Тестовая область".into()),
        tree,
        ..ServerInfo::default()
    };
    let state = AppState::new(store.clone(), info)
        .unwrap()
        .with_workflow(Arc::new(workflow))
        .with_reject_reasons(reasons)
        .with_oidc(oidc)
        .with_polls(polls);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        otklik_web::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    PollServer {
        base,
        store,
        provider,
        orgs,
        shutdown: Some(tx),
        _dir: dir,
    }
}

/// `datetime-local` text in Moscow time, `minutes` from now.
fn local(minutes: i64) -> String {
    let t = jiff::Timestamp::from_millisecond(now().millis() + minutes * 60_000).unwrap();
    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(3)))
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

impl PollServer {
    async fn staff(&self, login: &str) -> Browser {
        let mut b = Browser::new(&self.base);
        assert_eq!(
            b.login(login, PASSWORD).await,
            StatusCode::SEE_OTHER,
            "{login}"
        );
        b
    }

    /// A citizen signed in through the provider as `sub`, landing on `next`.
    async fn citizen(&self, sub: &str, next: &str) -> (Agent, String) {
        self.provider.set_citizen(FakeCitizen {
            sub: sub.into(),
            name: format!("Житель {sub}"),
            email: Some(format!("{sub}@example.ru")),
        });
        let mut a = Agent::new(&self.base);
        let page = a.sign_in(next).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        (a, page.body)
    }

    async fn details(&self, id: PollId) -> PollDetails {
        self.store.poll_details(id).await.unwrap().unwrap()
    }

    async fn poll_count(&self) -> usize {
        self.store.polls().await.unwrap().len()
    }
}

/// The create form of `org` with `fields` over sensible defaults (single choice, now → +7 d).
fn poll_form(csrf: &str, org: OrganisationId, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let org = org.get().to_string();
    let (start, end) = (local(-2), local(7 * 24 * 60));
    let mut map: Vec<(&str, &str)> = vec![
        ("_csrf", csrf),
        ("organisation", &org),
        ("title", "Какой двор благоустроить первым?"),
        ("description", ""),
        ("kind", "single"),
        ("topic", "improvement"),
        ("territory", ""),
        ("min_age", ""),
        ("starts_at", &start),
        ("ends_at", &end),
        ("min_choices", ""),
        ("max_choices", ""),
        ("budget_cap", ""),
        ("max_text_chars", ""),
        ("results", "live"),
        (
            "options",
            "Двор на Ленина, 5\nДвор на Мира, 12\nСквер у школы",
        ),
    ];
    for (k, v) in fields {
        map.retain(|(key, _)| key != k);
        map.push((k, v));
    }
    pairs(&map)
}

fn poll_of(location: &str) -> PollId {
    PollId(
        location
            .trim_start_matches("/office/polls/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
    )
}

/// Creates a poll of adm1 as its manager and has it approved; its id.
async fn published(s: &PollServer, fields: &[(&str, &str)]) -> PollId {
    let mut m = s.staff("pollmgr-adm1").await;
    let form = m.get("/office/polls/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = hidden(&form.body, "_csrf");
    let created = m
        .post(
            "/office/polls/new",
            &poll_form(&csrf, s.orgs["adm1"], fields),
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let id = poll_of(created.location());
    let sent = m
        .post(
            &format!("/office/polls/{id}/step"),
            &pairs(&[("_csrf", &csrf), ("action", "submit")]),
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let mut moderator = s.staff("moderator-adm1").await;
    let card = moderator.get(&format!("/office/polls/{id}")).await;
    assert!(
        card.body.contains("Одобрить и опубликовать"),
        "{}",
        card.body
    );
    let mcsrf = hidden(&card.body, "_csrf");
    let ok = moderator
        .post(
            &format!("/office/polls/{id}/step"),
            &pairs(&[("_csrf", &mcsrf), ("action", "approve")]),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    id
}

/// Votes through the widget form already open in `page`, with `choice` fields.
async fn vote(
    a: &mut Agent,
    page: &str,
    id: PollId,
    choice: &[(&str, &str)],
) -> crate::citizen_support::Page {
    let csrf = hidden(page, "_csrf");
    let key = hidden(page, "key");
    let mut form = vec![("_csrf", csrf.as_str()), ("key", key.as_str())];
    form.extend_from_slice(choice);
    a.post_form(&format!("/widget/poll/{id}"), &form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_vote_through_the_widget_results_and_exports() {
    let s = poll_server().await;
    // The manager writes a draft; the moderator sees it waiting and approves it.
    let id = published(&s, &[]).await;
    let d = s.details(id).await;
    assert_eq!(d.poll.status, otklik_domain::PollStatus::Published);
    assert_eq!(d.topic.as_deref(), Some("improvement"));
    let [o1, o2, _o3] = [d.options[0].id, d.options[1].id, d.options[2].id];

    // The script and the framable widget page.
    let mut anon = Agent::new(&s.base);
    let js = anon.get("/polls/widget.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.body.contains("/widget/poll/") && js.body.contains("data-poll"));
    let w = anon.get(&format!("/widget/poll/{id}")).await;
    assert_eq!(w.status, StatusCode::OK);
    assert!(
        w.header("content-security-policy")
            .contains("frame-ancestors http: https:")
    );
    assert!(w.headers.get("x-frame-options").is_none());
    assert!(w.body.contains("Войти через Госуслуги") && w.body.contains("target=\"_blank\""));
    assert!(
        !w.body.contains("name=\"option\""),
        "no ballot before sign-in"
    );
    let page = anon.get(&format!("/polls/{id}")).await;
    assert_eq!(page.header("x-frame-options"), "DENY");

    // A citizen signs in from the widget and votes.
    let (mut a, form) = s.citizen("esia-1001", &format!("/widget/poll/{id}")).await;
    assert!(form.contains("name=\"option\""), "{form}");
    let o1s = o1.to_string();
    let first = vote(&mut a, &form, id, &[("option", &o1s)]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(first.body.contains("Ваш голос учтён"), "{}", first.body);
    // The same form again (a retry): the first vote, nothing new.
    let again = vote(&mut a, &form, id, &[("option", &o1s)]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert!(again.body.contains("Ваш голос уже учтён"), "{}", again.body);
    // A new form: no re-vote in this poll.
    let fresh = a.get(&format!("/widget/poll/{id}")).await;
    assert!(
        fresh
            .body
            .contains("Изменить ответ в этом голосовании нельзя"),
        "{}",
        fresh.body
    );
    assert!(!fresh.body.contains("name=\"option\""));
    let o2s = o2.to_string();
    let twice = vote(
        &mut a,
        &form.replace(&hidden(&form, "key"), "ffffffffffffffffffffffffffffffff"),
        id,
        &[("option", &o2s)],
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert!(
        twice.body.contains("Вы уже проголосовали"),
        "{}",
        twice.body
    );
    // Another citizen votes for option 2 from the public page.
    let (mut b, bpage) = s.citizen("esia-1002", &format!("/polls/{id}")).await;
    let csrf = hidden(&bpage, "_csrf");
    let key = hidden(&bpage, "key");
    let res = b
        .post_form(
            &format!("/polls/{id}"),
            &[("_csrf", &csrf), ("key", &key), ("option", &o2s)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Two ballots; no subject or account login is stored raw, only keyed hashes.
    assert_eq!(
        otklik_store::testing::rows_in(&s.store, "poll_ballots").await,
        2
    );
    let hashes: Vec<String> = sqlx::query_scalar("SELECT voter_hash FROM poll_ballots")
        .fetch_all(s.store.pool())
        .await
        .unwrap();
    for h in &hashes {
        assert_eq!(h.len(), 64, "{h}");
        assert!(!h.contains("esia") && !h.contains("test:"), "{h}");
    }

    // Results: public page, staff page with chart and table, CSV, XLSX, JSON.
    let pr = anon.get(&format!("/polls/{id}/results")).await;
    assert_eq!(pr.status, StatusCode::OK);
    assert!(
        pr.body.contains("<strong id=\"turnout\">2</strong>"),
        "{}",
        pr.body
    );
    let mut m = s.staff("pollmgr-adm1").await;
    let r = m.get(&format!("/office/polls/{id}/results")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("<svg") && r.body.contains("role=\"img\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("<table class=\"results-table\">"));
    assert!(!r.body.contains("<script"));
    let csv = m.get(&format!("/office/polls/{id}/results.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    assert!(
        csv.body.starts_with("Место,Вариант,Голосов"),
        "{}",
        csv.body
    );
    assert!(
        csv.body.contains("Двор на Ленина, 5\",1,50"),
        "{}",
        csv.body
    );
    let xlsx = reqwest::Client::new()
        .get(format!("{}/office/polls/{id}/results.xlsx", s.base))
        .header("cookie", format!("otklik_session={}", m.session().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), StatusCode::OK);
    let bytes = xlsx.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK\x03\x04"), "a ZIP");
    assert!(
        bytes.windows(24).any(|w| w == b"xl/worksheets/sheet1.xml"),
        "with the sheet"
    );
    let list: Value = reqwest::get(format!("{}/api/v1/polls", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], id.get());
    assert_eq!(list[0]["open"], true);
    let json: Value = reqwest::get(format!("{}/api/v1/polls/{id}/results", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["ballots"], 2);

    // A poll with re-votes: the second answer replaces the first.
    let rid = published(
        &s,
        &[
            ("kind", "multiple"),
            ("max_choices", "2"),
            ("allow_revote", "on"),
            ("title", "Что добавить в парк?"),
            ("options", "Скамейки\nФонари\nУрны"),
        ],
    )
    .await;
    let rd = s.details(rid).await;
    let ids: Vec<String> = rd.options.iter().map(|o| o.id.to_string()).collect();
    let form = a.get(&format!("/widget/poll/{rid}")).await.body;
    let v1 = vote(
        &mut a,
        &form,
        rid,
        &[("option", &ids[0]), ("option", &ids[1])],
    )
    .await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.body);
    let form = a.get(&format!("/widget/poll/{rid}")).await.body;
    assert!(form.contains("Ответ можно изменить"), "{form}");
    assert!(form.contains("checked"), "the ballot is shown: {form}");
    let v2 = vote(&mut a, &form, rid, &[("option", &ids[2])]).await;
    assert_eq!(v2.status, StatusCode::OK, "{}", v2.body);
    assert!(v2.body.contains("Ваш ответ изменён"), "{}", v2.body);
    let json: Value = reqwest::get(format!("{}/api/v1/polls/{rid}/results", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["ballots"], 1);
    let votes_of = |label: &str| {
        json["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["label"] == label)
            .unwrap()["votes"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((votes_of("Скамейки"), votes_of("Урны")), (0, 1));

    // The manager closes the first poll: the page says so, no ballot.
    let card = m.get(&format!("/office/polls/{id}")).await;
    let csrf = hidden(&card.body, "_csrf");
    let closed = m
        .post(
            &format!("/office/polls/{id}/step"),
            &pairs(&[("_csrf", &csrf), ("action", "close")]),
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    let after = b.get(&format!("/polls/{id}")).await;
    assert!(
        after.body.contains("Голосование завершено"),
        "{}",
        after.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_hidden_until_close_stay_hidden() {
    let s = poll_server().await;
    let id = published(&s, &[("results", "after_close")]).await;
    let d = s.details(id).await;
    let (mut a, form) = s.citizen("esia-2001", &format!("/widget/poll/{id}")).await;
    let o = d.options[0].id.to_string();
    assert_eq!(
        vote(&mut a, &form, id, &[("option", &o)]).await.status,
        StatusCode::OK
    );
    let pr = a.get(&format!("/polls/{id}/results")).await;
    assert!(
        pr.body.contains("Итоги будут показаны после завершения"),
        "{}",
        pr.body
    );
    assert!(pr.body.contains("<strong id=\"turnout\">1</strong>"));
    assert!(!pr.body.contains("<svg"));
    let api = reqwest::get(format!("{}/api/v1/polls/{id}/results", s.base))
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    let mut m = s.staff("pollmgr-adm1").await;
    let csv = m.get(&format!("/office/polls/{id}/results.csv")).await;
    assert_eq!(csv.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_organisations_managers_and_moderators_manage_polls() {
    let s = poll_server().await;
    let id = published(&s, &[]).await;
    let before = s.poll_count().await;

    // Staff without a polls role.
    let mut executor = s.staff("executor-adm1").await;
    assert_eq!(
        executor.get("/office/polls").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        executor.get(&format!("/office/polls/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        executor.get("/office/polls/new").await.status,
        StatusCode::FORBIDDEN
    );

    // Another organisation's manager: does not see adm1's poll, cannot write for adm1.
    let mut other = s.staff("pollmgr-adm2").await;
    let list = other.get("/office/polls").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains(&format!("/office/polls/{id}\"")));
    assert_eq!(
        other.get(&format!("/office/polls/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let csrf = hidden(&other.get("/office/polls/new").await.body, "_csrf");
    let forged = other
        .post("/office/polls/new", &poll_form(&csrf, s.orgs["adm1"], &[]))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let close = other
        .post(
            &format!("/office/polls/{id}/step"),
            &pairs(&[("_csrf", &csrf), ("action", "close")]),
        )
        .await;
    assert_eq!(close.status, StatusCode::NOT_FOUND);
    // Another organisation's moderator cannot approve adm1's polls.
    let mut m1 = s.staff("pollmgr-adm1").await;
    let csrf1 = hidden(&m1.get("/office/polls/new").await.body, "_csrf");
    let draft = m1
        .post("/office/polls/new", &poll_form(&csrf1, s.orgs["adm1"], &[]))
        .await;
    let draft_id = poll_of(draft.location());
    m1.post(
        &format!("/office/polls/{draft_id}/step"),
        &pairs(&[("_csrf", &csrf1), ("action", "submit")]),
    )
    .await;
    // The manager may not approve (moderators do).
    let own = m1
        .post(
            &format!("/office/polls/{draft_id}/step"),
            &pairs(&[("_csrf", &csrf1), ("action", "approve")]),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    let mut mod2 = s.staff("pollmod-adm2").await;
    let csrf2 = hidden(&mod2.get("/office/polls").await.body, "_csrf");
    let foreign = mod2
        .post(
            &format!("/office/polls/{draft_id}/step"),
            &pairs(&[("_csrf", &csrf2), ("action", "approve")]),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.details(draft_id).await.poll.status,
        otklik_domain::PollStatus::Review
    );

    // A signed-in citizen is no staff member: sent to the staff sign-in, nothing written.
    let (mut c, _) = s.citizen("esia-3001", &format!("/polls/{id}")).await;
    let page = c.get("/office/polls").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/login"));
    let csrf = c.cookie("otklik_citizen").unwrap_or_default();
    let forged = c
        .post_form(
            "/office/polls/new",
            &[
                ("_csrf", &csrf),
                ("organisation", &s.orgs["adm1"].to_string()),
                ("title", "x"),
            ],
        )
        .await;
    assert!(
        forged.status == StatusCode::SEE_OTHER || forged.status == StatusCode::FORBIDDEN,
        "{}",
        forged.status
    );
    assert_eq!(
        s.poll_count().await,
        before + 1,
        "only the manager's draft was added"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_titles_are_escaped_everywhere() {
    let s = poll_server().await;
    let id = published(
        &s,
        &[
            ("title", "Опрос <img src=x onerror=alert(1)>"),
            ("options", "<script>alert('x')</script>\n\"Двор\" & сквер"),
        ],
    )
    .await;
    let mut m = s.staff("pollmgr-adm1").await;
    let (mut c, widget) = s.citizen("esia-4001", &format!("/widget/poll/{id}")).await;
    let o = s.details(id).await.options[0].id.to_string();
    vote(&mut c, &widget, id, &[("option", &o)]).await;
    let pages = [
        m.get(&format!("/office/polls/{id}")).await.body,
        m.get(&format!("/office/polls/{id}/results")).await.body,
        m.get("/office/polls").await.body,
        c.get(&format!("/polls/{id}")).await.body,
        c.get(&format!("/polls/{id}/results")).await.body,
        c.get("/polls").await.body,
        widget,
    ];
    for body in &pages {
        assert!(!body.contains("<script>alert"), "{body}");
        assert!(!body.contains("<img src=x"), "{body}");
    }
    assert!(pages[1].contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(pages[6].contains("&quot;Двор&quot; &amp; сквер"));
    assert!(pages[0].contains("Опрос &lt;img src=x onerror=alert(1)&gt;"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_csrf_token_or_from_another_site_are_refused() {
    let s = poll_server().await;
    let before = s.poll_count().await;
    let mut m = s.staff("pollmgr-adm1").await;
    let mut form = poll_form("", s.orgs["adm1"], &[]);
    form.retain(|(k, _)| k != "_csrf");
    let res = m.post("/office/polls/new", &form).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("CSRF"), "{}", res.body);
    assert_eq!(s.poll_count().await, before);

    let id = published(&s, &[]).await;
    let (mut c, page) = s.citizen("esia-5001", &format!("/widget/poll/{id}")).await;
    let o = s.details(id).await.options[0].id.to_string();
    let key = hidden(&page, "key");
    let res = c
        .post_form(
            &format!("/widget/poll/{id}"),
            &[("key", &key), ("option", &o)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("CSRF"), "{}", res.body);
    let wrong = c
        .post_form(
            &format!("/polls/{id}"),
            &[
                ("_csrf", "0".repeat(64).as_str()),
                ("key", &key),
                ("option", &o),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    c.origin = Some("http://evil.example".into());
    let cross = vote(&mut c, &page, id, &[("option", &o)]).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert_eq!(
        otklik_store::testing::rows_in(&s.store, "poll_ballots").await,
        0,
        "no ballot was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_caps_and_choice_limits_get_russian_errors() {
    let s = poll_server().await;
    let before = s.poll_count().await;
    let mut m = s.staff("pollmgr-adm1").await;
    let csrf = hidden(&m.get("/office/polls/new").await.body, "_csrf");
    // Every project costs more than the cap; min above max.
    let bad = m
        .post(
            "/office/polls/new",
            &poll_form(
                &csrf,
                s.orgs["adm1"],
                &[
                    ("kind", "budget"),
                    ("topic", "budget"),
                    ("budget_cap", "100 000"),
                    ("min_choices", "3"),
                    ("options", "Сквер | 300 000\nПлощадка | 200 000"),
                ],
            ),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("role=\"alert\""));
    assert!(
        bad.body.contains("Каждый проект дороже всего бюджета"),
        "{}",
        bad.body
    );
    assert!(
        bad.body
            .contains("Наименьшее число вариантов (3) больше наибольшего (2)"),
        "{}",
        bad.body
    );
    // What was typed comes back for fixing.
    assert!(bad.body.contains("Сквер | 300 000"), "{}", bad.body);
    let no_cost = m
        .post(
            "/office/polls/new",
            &poll_form(
                &csrf,
                s.orgs["adm1"],
                &[
                    ("kind", "budget"),
                    ("budget_cap", "5"),
                    ("options", "Сквер"),
                ],
            ),
        )
        .await;
    assert!(
        no_cost.body.contains("Проект 1: укажите стоимость"),
        "{}",
        no_cost.body
    );
    assert_eq!(s.poll_count().await, before);

    // A valid budget poll: a ballot over the cap is refused in Russian.
    let id = published(
        &s,
        &[
            ("kind", "budget"),
            ("topic", "budget"),
            ("budget_cap", "500 000"),
            (
                "options",
                "Сквер | 300 000\nПлощадка | 250 000\nФонари | 100 000",
            ),
        ],
    )
    .await;
    let d = s.details(id).await;
    let ids: Vec<String> = d.options.iter().map(|o| o.id.to_string()).collect();
    let (mut c, page) = s.citizen("esia-6001", &format!("/widget/poll/{id}")).await;
    let over = vote(
        &mut c,
        &page,
        id,
        &[("option", &ids[0]), ("option", &ids[1])],
    )
    .await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert!(
        over.body.contains("больше бюджета 500\u{a0}000 руб."),
        "{}",
        over.body
    );
    let ok = vote(
        &mut c,
        &page,
        id,
        &[("option", &ids[0]), ("option", &ids[2])],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // Multiple choice with at most 2: three are refused.
    let mid = published(
        &s,
        &[
            ("kind", "multiple"),
            ("max_choices", "2"),
            ("options", "А\nБ\nВ"),
        ],
    )
    .await;
    let md = s.details(mid).await;
    let mids: Vec<String> = md.options.iter().map(|o| o.id.to_string()).collect();
    let page = c.get(&format!("/widget/poll/{mid}")).await.body;
    let many = vote(
        &mut c,
        &page,
        mid,
        &[
            ("option", &mids[0]),
            ("option", &mids[1]),
            ("option", &mids[2]),
        ],
    )
    .await;
    assert_eq!(many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        many.body
            .contains("Выберите не больше 2 вариант(ов): выбрано 3"),
        "{}",
        many.body
    );
    let none = vote(&mut c, &page, mid, &[]).await;
    assert!(none.body.contains("Выберите не меньше 1"), "{}", none.body);
}
