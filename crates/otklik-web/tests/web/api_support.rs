//! A real server for the API tests: a SQLite file in a temp folder, a small region with two
//! district administrations, the real category tree and reject reasons, the workflow, and
//! `otklik_web::serve` on a loopback port. Tokens of every kind are created up front.

use std::path::PathBuf;
use std::sync::Arc;

use otklik_calendar::Calendar;
use otklik_domain::directory::{DirectoryBatch, NewOrganisation, NewTerritory};
use otklik_domain::{CategoryId, Onboarding, OrgKind, OrganisationId, TerritoryKind, Timestamp};
use otklik_route::{Directory, Router};
use otklik_rules::{load_category_tree, load_reject_reasons, parse_routing_rules};
use otklik_store::{ApiScope, ApiTokenId, NewApiToken, Store, sqlite_url};
use otklik_workflow::{Workflow, WorkflowConfig};

/// An ordinary subcategory and a fast-track one of the real tree.
pub const ROADS: &str = "roads.infrastructure";
pub const FAST: &str = "roads.road_marking";

pub struct Token {
    pub id: ApiTokenId,
    pub secret: String,
}

pub struct TestServer {
    pub base: String,
    pub store: Store,
    pub client: reqwest::Client,
    /// Organisation A's token (submit + read).
    pub a: Token,
    /// Organisation B's token (submit + read).
    pub b: Token,
    /// A regional token (every scope).
    pub region: Token,
    /// An external system's token (integration only).
    pub integration: Token,
    /// A read-only regional token.
    pub reader: Token,
    /// Organisation A's slow token: 6 writes a minute (a burst of one).
    pub slow: Token,
    pub org_a: OrganisationId,
    pub org_b: OrganisationId,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules")
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

fn organisation(code: &str, territory: &str) -> NewOrganisation {
    NewOrganisation {
        code: code.into(),
        kind: OrgKind::Omsu,
        name: format!("Администрация {code}"),
        short_name: None,
        parent_code: None,
        territory_code: territory.into(),
        competences: vec![CategoryId("roads".into())],
        onboarding: Onboarding::default(),
        site_url: None,
    }
}

async fn token(
    store: &Store,
    name: &str,
    org: Option<OrganisationId>,
    scopes: &[ApiScope],
    rate: Option<i64>,
) -> Token {
    let created = store
        .create_api_token(
            &NewApiToken {
                name: name.into(),
                organisation: org,
                scopes: scopes.to_vec(),
                rate_per_minute: rate,
            },
            None,
            Timestamp(1_764_572_400_000),
        )
        .await
        .expect("create token");
    Token {
        id: created.token.id,
        secret: created.secret.expose().to_owned(),
    }
}

impl TestServer {
    /// Starts a server; `with_workflow: false` leaves the workflow out (writes answer 503).
    pub async fn start_with(with_workflow: bool) -> Self {
        Self::start_adjusted(with_workflow, |s| s).await
    }

    /// Like [`TestServer::start_with`], with `adjust` applied to the state before serving.
    pub async fn start_adjusted(
        with_workflow: bool,
        adjust: impl FnOnce(otklik_web::AppState) -> otklik_web::AppState,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&sqlite_url(&dir.path().join("otklik.db")))
            .await
            .expect("open sqlite");
        store.migrate().await.expect("migrate");
        store
            .import_directory(
                &DirectoryBatch {
                    territories: vec![
                        territory("region", TerritoryKind::Region, None),
                        territory("north", TerritoryKind::MunicipalDistrict, Some("region")),
                        territory("south", TerritoryKind::MunicipalDistrict, Some("region")),
                    ],
                    organisations: vec![
                        organisation("adm-a", "north"),
                        organisation("adm-b", "south"),
                    ],
                    users: vec![],
                    communities: vec![],
                    sources: vec![],
                },
                None,
                Timestamp(0),
            )
            .await
            .expect("import directory");
        let tree = load_category_tree(rules_dir().join("categories.toml")).expect("tree");
        let reasons =
            load_reject_reasons(rules_dir().join("reject-reasons.toml")).expect("reasons");
        let routing = parse_routing_rules("[defaults]\nlevel = \"municipal\"\n", "routing.toml")
            .expect("routing");
        let organisations = store.organisations().await.expect("organisations");
        let router = Router::new(
            &routing,
            &tree,
            Directory::new(
                store.territories().await.expect("territories"),
                organisations.clone(),
            ),
        )
        .expect("router");
        let info = otklik_web::ServerInfo {
            region: Some("Тестовая область".into()),
            rules: vec![],
            tree: tree.clone(),
        };
        let mut state = otklik_web::AppState::new(store.clone(), info).expect("state");
        if with_workflow {
            let workflow = Workflow::new(
                store.clone(),
                router,
                tree,
                &organisations,
                reasons,
                Calendar::embedded(),
                WorkflowConfig::default(),
            )
            .expect("workflow");
            state = state.with_workflow(Arc::new(workflow));
        }
        let org_a = store
            .organisation_by_code("adm-a")
            .await
            .unwrap()
            .unwrap()
            .id;
        let org_b = store
            .organisation_by_code("adm-b")
            .await
            .unwrap()
            .unwrap()
            .id;
        use ApiScope::{Integration, Read, Submit};
        let a = token(&store, "app-a", Some(org_a), &[Submit, Read], None).await;
        let b = token(&store, "app-b", Some(org_b), &[Submit, Read], None).await;
        let region = token(
            &store,
            "region-app",
            None,
            &[Submit, Read, Integration],
            None,
        )
        .await;
        let integration = token(&store, "gosuslugi-pos", None, &[Integration], None).await;
        let reader = token(&store, "reader", None, &[Read], None).await;
        let slow = token(&store, "slow-app", Some(org_a), &[Submit, Read], Some(6)).await;

        let state = adjust(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            otklik_web::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        Self {
            base: format!("http://{addr}"),
            store,
            client: reqwest::Client::new(),
            a,
            b,
            region,
            integration,
            reader,
            slow,
            org_a,
            org_b,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    pub async fn start() -> Self {
        Self::start_with(true).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /api/v1/messages` with `token`, `key` and a JSON `body`.
    pub async fn submit(
        &self,
        token: &Token,
        key: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/messages"))
            .bearer_auth(&token.secret)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("send")
    }

    /// `GET path` with `token`.
    pub async fn get(&self, token: &Token, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&token.secret)
            .send()
            .await
            .expect("send")
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
        self.store.close().await;
    }
}

/// The JSON problem of a response, checking its status and content type.
pub async fn problem(res: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: serde_json::Value = res.json().await.expect("problem json");
    assert_eq!(body["status"], status);
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message
            .chars()
            .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c))),
        "message in Russian: {message}"
    );
    body
}
