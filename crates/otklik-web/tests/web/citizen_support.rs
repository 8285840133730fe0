//! The citizen side's test bench: the server of [`crate::support`]'s region with the fake OIDC
//! provider, rating links and an attachments folder, and an HTTP agent that keeps cookies per
//! host (our server and the provider) and follows redirects only when told.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use otklik_domain::{Channel, MessageId, OrganisationId, SubcategoryId, TerritoryId, Timestamp};
use otklik_notify::RatingLinks;
use otklik_store::{AttachmentFiles, AttachmentLimits, Store, sqlite_url};
use otklik_web::oidc::OidcClient;
use otklik_web::oidc::testing::FakeProvider;
use otklik_web::{AppState, ServerInfo};
use otklik_workflow::{Action, Notifications, Submission, Workflow};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::support::{ROADS, RegionWorkflow, now, region_batch, region_workflow};

/// The largest attachment in these tests (small, to keep them fast).
pub const MAX_FILE: u64 = 64 * 1024;
pub const RATING_KEY: [u8; 32] = [42u8; 32];

#[allow(dead_code)]
pub struct CitizenServer {
    pub base: String,
    pub store: Store,
    pub wf: Arc<Workflow>,
    pub provider: FakeProvider,
    pub links: RatingLinks,
    pub files: AttachmentFiles,
    pub orgs: HashMap<String, OrganisationId>,
    pub territories: HashMap<String, TerritoryId>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for CitizenServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn citizen_server() -> CitizenServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir.path().join("otklik.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .import_directory(&region_batch(), None, now())
        .await
        .unwrap();
    let RegionWorkflow {
        workflow,
        tree,
        orgs,
        territories,
        ..
    } = region_workflow(&store).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let links = RatingLinks::new(&RATING_KEY, format!("{base}/rate")).unwrap();
    let wf = Arc::new(workflow.with_notifications(Notifications::new(links.clone(), vec![])));
    let provider = FakeProvider::start().await;
    let oidc = OidcClient::connect(provider.settings(&format!("{base}/citizen/callback")))
        .await
        .unwrap();
    let files =
        AttachmentFiles::new(dir.path().join("attachments")).with_limits(AttachmentLimits {
            max_bytes: MAX_FILE,
            ..AttachmentLimits::default()
        });
    let info = ServerInfo {
        region: Some("Тестовая область".into()),
        tree,
        ..ServerInfo::default()
    };
    let state = AppState::new(store.clone(), info)
        .unwrap()
        .with_workflow(wf.clone())
        .with_oidc(oidc)
        .with_rating_links(links.clone())
        .with_attachments(files.clone())
        .with_widget_max_files(3);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        otklik_web::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    CitizenServer {
        base,
        store,
        wf,
        provider,
        links,
        files,
        orgs,
        territories,
        shutdown: Some(tx),
        _dir: dir,
    }
}

impl CitizenServer {
    pub fn agent(&self) -> Agent {
        Agent::new(&self.base)
    }

    /// An agent signed in through the provider as its current citizen.
    pub async fn citizen(&self) -> Agent {
        let mut a = self.agent();
        let page = a.sign_in("/my/messages").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        a
    }

    /// A portal message of the account `author`, taken by adm1 through to the answer.
    pub async fn answered_message(&self, author: otklik_domain::UserId) -> MessageId {
        let s = Submission {
            channel: Channel::Portal,
            text: "Не горит фонарь у дома 5".into(),
            category_hint: Some(SubcategoryId(ROADS.into())),
            territory: Some(self.territories["town1"]),
            address: None,
            submitted_via: None,
            author: Some(author),
            contact: Some("maria.ivanova@example.ru".into()),
            attachments: vec![],
        };
        let id = self
            .wf
            .submit(&s, &format!("answered-{}", author.get()), now())
            .await
            .unwrap()
            .record
            .message
            .id;
        for (login, action) in [
            ("moderator-adm1", Action::Accept),
            ("coordinator-adm1", Action::SendToExecution),
            (
                "executor-adm1",
                Action::SubmitForApproval {
                    answer: "Фонарь заменён. <b>Спасибо</b> за сообщение.".into(),
                },
            ),
            ("head-adm1", Action::Approve),
        ] {
            let user = self.store.user_by_login(login).await.unwrap().unwrap();
            let version = self.wf.message(id).await.unwrap().message.version;
            self.wf
                .act(&user, id, version, action, &format!("{login}-{id}"), now())
                .await
                .unwrap();
        }
        id
    }

    /// A rating token of `id` valid for `valid_ms` from now (negative: expired).
    pub fn rating_token(&self, id: MessageId, valid_ms: i64) -> String {
        self.links.token(id, Timestamp(now().millis() + valid_ms))
    }
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

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser-like client: cookies per host:port, redirects followed only by [`Agent::follow`].
pub struct Agent {
    client: reqwest::Client,
    pub base: String,
    pub jar: HashMap<String, HashMap<String, String>>,
    pub origin: Option<String>,
}

fn authority(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

impl Agent {
    pub fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            jar: HashMap::new(),
            origin: None,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn cookie_header(&self, url: &str) -> String {
        self.jar
            .get(&authority(url))
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    fn absorb(&mut self, url: &str, headers: &HeaderMap) {
        let jar = self.jar.entry(authority(url)).or_default();
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let first = v.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if v.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.get(&authority(&self.base))?.get(name).cloned()
    }

    async fn finish(&mut self, url: &str, res: reqwest::Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        self.absorb(url, &headers);
        Page {
            status,
            headers,
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = self.url(path);
        let res = self
            .client
            .get(&url)
            .header("cookie", self.cookie_header(&url))
            .send()
            .await
            .unwrap();
        self.finish(&url, res).await
    }

    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let url = self.url(path);
        let mut req = self
            .client
            .post(&url)
            .header("cookie", self.cookie_header(&url))
            .form(form);
        if let Some(o) = &self.origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        self.finish(&url, res).await
    }

    /// A multipart form: text fields and files (field, file name, MIME type, content).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, Vec<u8>)],
    ) -> Page {
        let boundary = "----otklik-test-boundary-7d1f";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (field, name, mime, content) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let url = self.url(path);
        let mut req = self
            .client
            .post(&url)
            .header("cookie", self.cookie_header(&url))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(o) = &self.origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        self.finish(&url, res).await
    }

    /// GETs `path` and follows redirects (at most 10), across hosts; every hop's URL.
    pub async fn follow(&mut self, path: &str) -> (Page, Vec<String>) {
        let mut url = self.url(path);
        let mut hops = vec![url.clone()];
        for _ in 0..10 {
            let page = self.get(&url).await;
            if !page.status.is_redirection() {
                return (page, hops);
            }
            let next = page.location().to_owned();
            url = if next.starts_with('/') {
                format!("http://{}{next}", authority(&url))
            } else {
                next
            };
            hops.push(url.clone());
        }
        panic!("too many redirects: {hops:?}");
    }

    /// Signs in through the provider and lands on `next`.
    pub async fn sign_in(&mut self, next: &str) -> Page {
        let q = serde_urlencoded::to_string([("next", next)]).unwrap();
        let (page, hops) = self.follow(&format!("/citizen/login?{q}")).await;
        assert!(
            hops.iter().any(|h| h.contains("/authorize?")),
            "went through the provider: {hops:?}"
        );
        page
    }

    /// Starts a sign-in and stops at the callback URL the provider sends the browser to.
    pub async fn callback_url(&mut self) -> String {
        let start = self.get("/citizen/login?next=/my/messages").await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        let authorize = start.location().to_owned();
        assert!(
            authorize.contains("code_challenge_method=S256"),
            "{authorize}"
        );
        assert!(authorize.contains("nonce="), "{authorize}");
        assert!(authorize.contains("state="), "{authorize}");
        let at_provider = self.get(&authorize).await;
        assert_eq!(
            at_provider.status,
            StatusCode::SEE_OTHER,
            "{}",
            at_provider.body
        );
        at_provider.location().to_owned()
    }
}

/// The value of the first hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> String {
    crate::support::hidden(html, name)
}

/// A tiny valid PNG header (enough for the type check) followed by `n` bytes.
pub fn png(n: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(8 + n, 7);
    v
}

pub fn jpeg(n: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.resize(4 + n, 1);
    v
}

#[allow(dead_code)]
pub fn attachments_root(s: &CitizenServer) -> PathBuf {
    s.files.root().to_path_buf()
}
