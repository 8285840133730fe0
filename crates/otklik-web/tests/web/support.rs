//! A small region with staff in every role, a workflow over the real rules, the web server on
//! loopback over a real SQLite file, and a browser-like HTTP client with its own cookie jar.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use otklik_calendar::Calendar;
use otklik_domain::directory::{
    DirectoryBatch, NewOrganisation, NewRoleGrant, NewSource, NewTerritory, NewUser,
};
use otklik_domain::{
    CategoryId, Channel, MessageId, Network, Onboarding, OrgKind, OrganisationId, Role,
    SubcategoryId, TerritoryKind, Timestamp,
};
use otklik_route::{Directory, Router};
use otklik_rules::{load_category_tree, load_reject_reasons, parse_routing_rules};
use otklik_store::{NewPost, Store, sqlite_url};
use otklik_web::auth::{AuthConfig, hash_password};
use otklik_web::{AppState, ServerInfo};
use otklik_workflow::{Incident, Submission, Workflow, WorkflowConfig};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The password of every test account.
pub const PASSWORD: &str = "пароль-для-тестов";
/// An ordinary subcategory routed to the district's administration.
pub const ROADS: &str = "roads.infrastructure";

pub fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp(i64::try_from(ms).unwrap())
}

fn territory(code: &str, kind: TerritoryKind, parent: Option<&str>) -> NewTerritory {
    NewTerritory {
        code: code.into(),
        kind,
        name: format!("Территория {code}"),
        parent_code: parent.map(Into::into),
        name_variants: vec![],
    }
}

fn organisation(
    code: &str,
    kind: OrgKind,
    territory: &str,
    parent: Option<&str>,
) -> NewOrganisation {
    NewOrganisation {
        code: code.into(),
        kind,
        name: format!("Организация {code}"),
        short_name: None,
        parent_code: parent.map(Into::into),
        territory_code: territory.into(),
        competences: vec![CategoryId("roads".into())],
        onboarding: Onboarding::default(),
        site_url: None,
    }
}

fn user(login: &str, org: Option<&str>, roles: &[(Role, &str)], confirmed: bool) -> NewUser {
    NewUser {
        login: login.into(),
        full_name: format!("Сотрудник {login}"),
        email: Some(format!("{login}@example.ru")),
        organisation_code: org.map(Into::into),
        confirmed,
        roles: roles
            .iter()
            .map(|(role, org)| NewRoleGrant {
                role: *role,
                organisation_code: (*org).into(),
            })
            .collect(),
    }
}

/// government → ЦУР «tsur» (oversight), government → ministry; districts «adm1», «adm2» with no
/// parent, each with a moderator, coordinator, executor, head and curator («moderator-adm1»…);
/// the ЦУР's moderator and curator; a regional administrator; a citizen; an unconfirmed
/// executor of adm1 («newbie-adm1»).
pub fn region_batch() -> DirectoryBatch {
    let mut users = vec![
        user(
            "moderator",
            Some("tsur"),
            &[(Role::Moderator, "tsur")],
            true,
        ),
        user("curator", Some("tsur"), &[(Role::Curator, "tsur")], true),
        user(
            "admin",
            Some("government"),
            &[(Role::RegionAdmin, "government")],
            true,
        ),
        user("citizen", None, &[], true),
        user(
            "newbie-adm1",
            Some("adm1"),
            &[(Role::Executor, "adm1")],
            false,
        ),
    ];
    for org in ["adm1", "adm2"] {
        for role in [
            Role::Moderator,
            Role::Coordinator,
            Role::Executor,
            Role::Head,
            Role::Curator,
        ] {
            users.push(user(
                &format!("{}-{org}", role.code()),
                Some(org),
                &[(role, org)],
                true,
            ));
        }
    }
    DirectoryBatch {
        territories: vec![
            territory("region", TerritoryKind::Region, None),
            territory(
                "district1",
                TerritoryKind::MunicipalDistrict,
                Some("region"),
            ),
            territory("town1", TerritoryKind::Settlement, Some("district1")),
            territory(
                "district2",
                TerritoryKind::MunicipalDistrict,
                Some("region"),
            ),
        ],
        organisations: vec![
            organisation("government", OrgKind::Other, "region", None),
            organisation("tsur", OrgKind::Other, "region", Some("government")),
            organisation("mintrans", OrgKind::Roiv, "region", Some("government")),
            organisation("adm1", OrgKind::Omsu, "district1", None),
            organisation("adm2", OrgKind::Omsu, "district2", None),
        ],
        users,
        communities: vec![],
        sources: vec![NewSource {
            name: "vk-search".into(),
            network: Network::Vk,
            target: "search".into(),
            schedule: "0 */10 * * * *".into(),
            territory_code: Some("region".into()),
            enabled: true,
        }],
    }
}

fn shared_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD).unwrap())
}

/// A running server and what the tests need around it.
#[allow(dead_code)]
pub struct Server {
    pub base: String,
    pub store: Store,
    pub wf: Arc<Workflow>,
    pub orgs: HashMap<String, OrganisationId>,
    pub territories: HashMap<String, otklik_domain::TerritoryId>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a server over a fresh SQLite file with [`region_batch`].
pub async fn server() -> Server {
    server_with(AuthConfig::default()).await
}

pub async fn server_with(auth: AuthConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir.path().join("otklik.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let t0 = now();
    store
        .import_directory(&region_batch(), None, t0)
        .await
        .unwrap();
    for u in store.users().await.unwrap() {
        store
            .set_password_hash(u.id, Some(shared_hash()), None, t0)
            .await
            .unwrap();
    }
    let RegionWorkflow {
        workflow,
        tree,
        reasons,
        orgs,
        territories,
    } = region_workflow(&store).await;
    let wf = Arc::new(workflow);
    let info = ServerInfo {
        region: Some("Тестовая область".into()),
        tree,
        ..ServerInfo::default()
    };
    let state = AppState::new(store.clone(), info)
        .unwrap()
        .with_workflow(wf.clone())
        .with_reject_reasons(reasons)
        .with_auth(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        otklik_web::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server {
        base,
        store,
        wf,
        orgs,
        territories,
        shutdown: Some(tx),
        _dir: dir,
    }
}

/// The test region's workflow over `store` (with [`region_batch`] imported): the real
/// category tree and reject reasons, municipal routing by place of submission with the ЦУР as
/// fallback and oversight, the embedded calendar.
pub struct RegionWorkflow {
    pub workflow: Workflow,
    pub tree: otklik_domain::CategoryTree,
    pub reasons: otklik_rules::RejectReasons,
    pub orgs: HashMap<String, OrganisationId>,
    pub territories: HashMap<String, otklik_domain::TerritoryId>,
}

pub async fn region_workflow(store: &Store) -> RegionWorkflow {
    let tree = load_category_tree(rules_dir().join("categories.toml")).unwrap();
    let routing = parse_routing_rules(
        "[defaults]\nlevel = \"municipal\"\nby_place_of_submission = true\nfallback_executor = \"tsur\"\n",
        "routing.toml",
    )
    .unwrap();
    let reasons = load_reject_reasons(rules_dir().join("reject-reasons.toml")).unwrap();
    let organisations = store.organisations().await.unwrap();
    let territories = store.territories().await.unwrap();
    let router = Router::new(
        &routing,
        &tree,
        Directory::new(territories.clone(), organisations.clone()),
    )
    .unwrap();
    let orgs: HashMap<String, OrganisationId> = organisations
        .iter()
        .map(|o| (o.code.clone(), o.id))
        .collect();
    let config = WorkflowConfig {
        oversight: vec![orgs["tsur"]],
        ..WorkflowConfig::default()
    };
    let workflow = Workflow::new(
        store.clone(),
        router,
        tree.clone(),
        &organisations,
        reasons.clone(),
        Calendar::embedded(),
        config,
    )
    .unwrap();
    RegionWorkflow {
        workflow,
        tree,
        reasons,
        orgs,
        territories: territories.into_iter().map(|t| (t.code, t.id)).collect(),
    }
}

impl Server {
    /// A portal submission about `town` ("town1" → adm1, "district2" → adm2); its id.
    pub async fn submit(&self, text: &str, town: &str) -> MessageId {
        self.submit_with(text, town, None).await
    }

    pub async fn submit_with(&self, text: &str, town: &str, address: Option<&str>) -> MessageId {
        let citizen = self.store.user_by_login("citizen").await.unwrap().unwrap();
        let s = Submission {
            channel: Channel::Portal,
            text: text.into(),
            category_hint: Some(SubcategoryId(ROADS.into())),
            territory: Some(self.territories[town]),
            address: address.map(Into::into),
            submitted_via: None,
            author: Some(citizen.id),
            contact: Some("citizen@example.ru".into()),
            attachments: vec![],
        };
        let key = format!("test-{}-{}", text.len(), now().millis());
        let key = format!("{key}-{}", fastrand_suffix());
        self.wf
            .submit(&s, &key, now())
            .await
            .unwrap()
            .record
            .message
            .id
    }

    /// A collected post turned into an incident waiting for the moderator (low confidence).
    pub async fn incident(&self, external_id: &str, text: &str) -> MessageId {
        let t = now();
        store_vk_post(&self.store, external_id, text, t).await;
        let post = self
            .store
            .post_by_external_id(Network::Vk, external_id)
            .await
            .unwrap()
            .unwrap();
        let incident = Incident {
            post: post.id,
            source_url: Some(format!("https://vk.com/wall{external_id}")),
            author_handle: Some("id1".into()),
            text: text.into(),
            territory: Some(self.territories["town1"]),
            address: None,
            subcategory: SubcategoryId(ROADS.into()),
            confidence_pm: 420,
        };
        self.wf
            .intake_incident(&incident, &format!("incident-{external_id}"), t)
            .await
            .unwrap()
            .record
            .message
            .id
    }

    pub async fn status(&self, id: MessageId) -> otklik_domain::MessageStatus {
        self.wf.message(id).await.unwrap().message.status
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// A browser signed in as `login`.
    pub async fn signed_in(&self, login: &str) -> Browser {
        let mut b = self.browser();
        let status = b.login(login, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "sign-in of {login}");
        b
    }
}

fn fastrand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// What a response brought.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// An HTTP client keeping cookies like a browser (no redirects followed).
pub struct Browser {
    client: reqwest::Client,
    base: String,
    pub cookies: HashMap<String, String>,
    pub origin: Option<String>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: HashMap::new(),
            origin: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, headers: &HeaderMap) {
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let first = v.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(String, String)]) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form);
        if let Some(o) = &self.origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        self.finish(res).await
    }

    async fn finish(&mut self, res: reqwest::Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        self.absorb(&headers);
        Page {
            status,
            headers,
            body: res.text().await.unwrap(),
        }
    }

    /// Opens the sign-in form and submits it; the response status.
    pub async fn login(&mut self, login: &str, password: &str) -> StatusCode {
        self.login_page(login, password).await.status
    }

    pub async fn login_page(&mut self, login: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = hidden(&form.body, "_csrf");
        self.post(
            "/login",
            &pairs(&[("_csrf", &csrf), ("login", login), ("password", password)]),
        )
        .await
    }

    pub fn session(&self) -> Option<String> {
        self.cookies.get("otklik_session").cloned()
    }
}

pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The value of the first hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + needle.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// The hidden fields of the form of action `code` in `html` (to submit it as a browser would).
pub fn action_fields(html: &str, code: &str) -> Vec<(String, String)> {
    let marker = format!("name=\"action\" value=\"{code}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no form for {code}"));
    let start = html[..at].rfind("<form").unwrap();
    let end = at + html[at..].find("</form>").unwrap();
    let form = &html[start..end];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[i + "<input type=\"hidden\" name=\"".len()..];
        let name_end = rest.find('"').unwrap();
        let name = rest[..name_end].to_owned();
        let v = rest.find("value=\"").unwrap() + "value=\"".len();
        let v_end = rest[v..].find('"').unwrap() + v;
        out.push((name, rest[v..v_end].replace("&amp;", "&")));
    }
    out
}

/// Submits the form of action `code` from the card of `id`, with `extra` fields.
pub async fn act(b: &mut Browser, id: MessageId, code: &str, extra: &[(&str, &str)]) -> Page {
    let card = b.get(&format!("/office/messages/{id}")).await;
    assert_eq!(card.status, StatusCode::OK, "card {id}: {}", card.body);
    let mut form = action_fields(&card.body, code);
    form.extend(pairs(extra));
    b.post(&format!("/office/messages/{id}/act"), &form).await
}

/// Stores a post of the region-wide VK search source (`vk-search`), collected at `t` and
/// published a minute before.
pub async fn store_vk_post(store: &Store, external_id: &str, text: &str, t: Timestamp) {
    let source = store.source_by_name("vk-search").await.unwrap().unwrap().id;
    let post = NewPost::new(
        Network::Vk,
        external_id,
        text,
        Timestamp(t.millis() - 60_000),
        format!("h:{external_id}"),
    )
    .with_url(format!("https://vk.com/wall{external_id}"))
    .with_author("id1");
    store.store_posts(source, &[post], None, t).await.unwrap();
}
