//! The JSON API `/api/v1` for integrations (external feedback systems) and mobile
//! applications, and the shared machinery of the Open311 endpoints.
//!
//! * **Authentication**: `Authorization: Bearer otk_…` API tokens (see
//!   [`otklik_store::ApiToken`]), each with scopes (`submit`, `read`, `integration`) and an
//!   organisation scope: an organisation's token reaches the messages that organisation
//!   executes or received (its widget, its tokens); a regional token reaches every message.
//!   A missing, malformed, unknown or revoked token is `401`; a missing scope `403`; a message
//!   out of the token's reach `404`, as if it did not exist.
//! * **Errors** are problem objects (`application/problem+json`): `{status, code, message,
//!   errors?}` with a stable `code` and a Russian `message`; validation errors are `422` with
//!   one entry per field. Unknown JSON members are rejected, bodies above
//!   [`API_BODY_LIMIT`] are `413`, write endpoints are rate-limited per token (`429` with
//!   `Retry-After`).
//! * **Writes** go through the single [`otklik_workflow::Workflow`]: `POST /api/v1/messages`
//!   needs an `Idempotency-Key` header (a retry with the same key and payload returns the first
//!   message, `200` instead of `201`; another payload is `409`). Without a configured workflow
//!   they answer `503`.
//! * The OpenAPI 3.1 document is at `/api/v1/openapi.json` ([`openapi::document`]); every route
//!   registered here appears in it (see [`route_table`]).

mod directory;
mod fields;
pub(crate) mod limit;
mod messages;
pub mod openapi;
pub(crate) mod problem;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, header};
use axum::routing::{MethodRouter, any, get, post};
use otklik_domain::{OrganisationId, Territory, TerritoryId, Timestamp};
use otklik_store::{ApiScope, ApiToken, ApiTokenId};

use crate::AppState;
pub(crate) use fields::{Fields, json_object};
pub(crate) use messages::intake_problem;
use problem::Problem;

/// Largest request body the API reads (a message of 20,000 Cyrillic characters with its JSON
/// fits with room to spare).
pub const API_BODY_LIMIT: usize = 256 * 1024;

/// How long the cached directory (territory and organisation names) is reused.
const DIRECTORY_TTL: Duration = Duration::from_secs(30);

/// A list of routes with their methods, kept beside the router it builds so that the OpenAPI
/// document can be checked against what is really served.
pub(crate) struct Routes<S> {
    pub router: Router<S>,
    pub listed: Vec<(&'static str, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            listed: Vec::new(),
        }
    }

    /// Adds `path` served by `handler` for `methods` (upper-case names, as documented).
    pub fn add(
        mut self,
        path: &'static str,
        methods: &[&'static str],
        handler: MethodRouter<S>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        for m in methods {
            self.listed.push((m, path));
        }
        self
    }
}

/// Shared state of the API and Open311 handlers.
#[derive(Debug)]
pub(crate) struct ApiCtx {
    pub app: AppState,
    pub limiter: limit::Limiter,
    touched: Mutex<HashMap<ApiTokenId, Instant>>,
    directory: Mutex<Option<(Instant, Arc<DirectoryCache>)>>,
}

pub(crate) type Ctx = Arc<ApiCtx>;

/// Names of territories and organisations for the answers.
#[derive(Debug, Default)]
pub(crate) struct DirectoryCache {
    pub territories: HashMap<TerritoryId, Territory>,
    pub territory_codes: HashMap<String, TerritoryId>,
    /// id → (code, display name).
    pub organisations: HashMap<OrganisationId, (String, String)>,
}

impl ApiCtx {
    pub fn new(app: AppState) -> Self {
        Self {
            limiter: limit::Limiter::new(app.rate_clock()),
            app,
            touched: Mutex::new(HashMap::new()),
            directory: Mutex::new(None),
        }
    }

    /// The token of `Authorization: Bearer …`, active, or `401`.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<ApiToken, Problem> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(Problem::unauthorized)?;
        let (scheme, token) = value
            .trim()
            .split_once(' ')
            .ok_or_else(Problem::unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Problem::unauthorized());
        }
        self.token(token.trim())
            .await?
            .ok_or_else(Problem::unauthorized)
    }

    /// The active token whose plaintext is `secret` (recording its use about once a minute).
    pub async fn token(&self, secret: &str) -> Result<Option<ApiToken>, Problem> {
        let token = match self.app.store().authenticate_api_token(secret).await {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::error!(error = %e, "API: cannot check a token");
                return Err(Problem::internal());
            }
        };
        self.touch(&token).await;
        Ok(Some(token))
    }

    async fn touch(&self, token: &ApiToken) {
        let due = {
            let mut touched = match self.touched.lock() {
                Ok(t) => t,
                Err(p) => p.into_inner(),
            };
            let now = Instant::now();
            match touched.get(&token.id) {
                Some(at) if now.duration_since(*at) < Duration::from_secs(60) => false,
                _ => {
                    touched.insert(token.id, now);
                    true
                }
            }
        };
        if due && let Err(e) = self.app.store().touch_api_token(token.id, now()).await {
            tracing::warn!(error = %e, token = %token.id, "API: cannot record a token's use");
        }
    }

    /// `403` unless the token has `scope`.
    pub fn require(&self, token: &ApiToken, scope: ApiScope) -> Result<(), Problem> {
        if token.has_scope(scope) {
            Ok(())
        } else {
            Err(Problem::forbidden(scope.code()))
        }
    }

    /// Takes one write from the token's bucket, or `429`.
    pub fn limit(&self, token: &ApiToken) -> Result<(), Problem> {
        self.limiter
            .check(token.id, token.rate_per_minute)
            .map_err(Problem::rate_limited)
    }

    /// The workflow, or `503`.
    pub fn workflow(&self) -> Result<&otklik_workflow::Workflow, Problem> {
        self.app
            .inner
            .workflow
            .as_deref()
            .ok_or_else(Problem::unavailable)
    }

    /// Territory and organisation names, reloaded every [`DIRECTORY_TTL`].
    pub async fn directory(&self) -> Result<Arc<DirectoryCache>, Problem> {
        {
            let cached = match self.directory.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            if let Some((at, dir)) = cached.as_ref()
                && at.elapsed() < DIRECTORY_TTL
            {
                return Ok(dir.clone());
            }
        }
        let store = self.app.store();
        let loaded = async {
            let territories = store.territories().await?;
            let organisations = store.organisations().await?;
            Ok::<_, otklik_store::StoreError>((territories, organisations))
        }
        .await;
        let (territories, organisations) = loaded.map_err(|e| {
            tracing::error!(error = %e, "API: cannot read the directory");
            Problem::internal()
        })?;
        let dir = Arc::new(DirectoryCache {
            territory_codes: territories.iter().map(|t| (t.code.clone(), t.id)).collect(),
            territories: territories.into_iter().map(|t| (t.id, t)).collect(),
            organisations: organisations
                .into_iter()
                .map(|o| {
                    let name = o.short_name.clone().unwrap_or_else(|| o.name.clone());
                    (o.id, (o.code, name))
                })
                .collect(),
        });
        let mut cached = match self.directory.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        *cached = Some((Instant::now(), dir.clone()));
        Ok(dir)
    }

    /// The territory with `code`: from the cache, else from the store (just imported).
    pub async fn territory_by_code(&self, code: &str) -> Result<Option<TerritoryId>, Problem> {
        if let Some(id) = self.directory().await?.territory_codes.get(code) {
            return Ok(Some(*id));
        }
        match self.app.store().territory_by_code(code).await {
            Ok(t) => Ok(t.map(|t| t.id)),
            Err(e) => {
                tracing::error!(error = %e, "API: cannot look a territory up");
                Err(Problem::internal())
            }
        }
    }
}

/// May `token` see a message executed by `executor` and received through `submitted_via`?
pub(crate) fn in_reach(
    token: &ApiToken,
    executor: Option<OrganisationId>,
    submitted_via: Option<OrganisationId>,
) -> bool {
    match token.organisation {
        None => true,
        Some(org) => executor == Some(org) || submitted_via == Some(org),
    }
}

/// Current wall-clock time.
pub(crate) fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// RFC 3339 text of a timestamp (UTC).
pub(crate) fn rfc3339(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.millis())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn api_routes() -> Routes<Ctx> {
    Routes::new()
        .add(
            "/api/v1/messages",
            &["GET", "POST"],
            get(messages::list).post(messages::submit),
        )
        .add("/api/v1/messages/{id}", &["GET"], get(messages::one))
        .add(
            "/api/v1/integrations/messages",
            &["POST"],
            post(messages::integration),
        )
        .add("/api/v1/categories", &["GET"], get(directory::categories))
        .add("/api/v1/territories", &["GET"], get(directory::territories))
        .add("/api/v1/openapi.json", &["GET"], get(openapi::serve))
}

/// Every (method, path) the API and Open311 routers serve: the OpenAPI document must describe
/// each of them.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    let mut all = api_routes().listed;
    all.extend(crate::open311::routes().listed);
    all.extend(crate::polls::api_routes_listed());
    all
}

async fn api_not_found() -> Problem {
    Problem::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "Нет такого метода API; см. /api/v1/openapi.json",
    )
}

/// The API and Open311 routes over `state`, to be merged into the application's router.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let ctx: Ctx = Arc::new(ApiCtx::new(state.clone()));
    let api = api_routes()
        .router
        .route("/api/v1", any(api_not_found))
        .route("/api/v1/{*rest}", any(api_not_found));
    let open311 = crate::open311::routes()
        .router
        .route("/open311/v2/{*rest}", any(crate::open311::not_found));
    api.merge(open311)
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .with_state(ctx)
}
