//! # otklik-web
//!
//! Otklik's HTTP server (axum): the last stage of the pipeline, where people and integrations meet
//! the platform. Today it serves the health, version and Prometheus metrics endpoints and a Russian
//! status page of the region; the back-office, citizen widgets and the JSON/Open311 APIs grow here.
//!
//! ```no_run
//! # async fn run(store: otklik_store::Store) -> Result<(), otklik_web::WebError> {
//! let state = otklik_web::AppState::new(store, otklik_web::ServerInfo::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! otklik_web::serve(listener, state, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod api;
pub mod auth;
mod backoffice;
pub mod citizen;
mod files;
mod html;
pub mod oidc;
mod open311;
mod pages;
mod polls;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use otklik_store::Store;
use serde::Serialize;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use api::limit::DEFAULT_WRITES_PER_MINUTE;
pub use api::openapi::document as openapi_document;
pub use api::{API_BODY_LIMIT, route_table as api_route_table};
pub use html::escape;

/// Errors of the web crate.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Socket errors.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The metrics recorder could not be installed.
    #[error("metrics: {0}")]
    Metrics(String),
}

/// Facts about this server shown on the status page and `/version`.
#[derive(Debug, Clone, Default)]
pub struct ServerInfo {
    /// Name of the region served («Северная область»), if known.
    pub region: Option<String>,
    /// Counts from the rules directory: (label, value).
    pub rules: Vec<(String, usize)>,
    /// The category tree, for names of subcategories.
    pub tree: otklik_domain::CategoryTree,
}

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    store: Store,
    info: ServerInfo,
    metrics: PrometheusHandle,
    started: Instant,
    feeds: Option<PathBuf>,
    workflow: Option<Arc<otklik_workflow::Workflow>>,
    auth: auth::AuthConfig,
    office: backoffice::OfficeConfig,
    citizen: citizen::CitizenConfig,
    rate: api::limit::RateLimits,
    /// The archive search index (`/office/search`); `None`: the page answers 503.
    search: Option<otklik_search::SearchIndex>,
    /// «Голосования» (`/office/polls`, `/polls`, `/widget/poll`); `None`: they answer 503.
    polls: Option<polls::PollsWeb>,
}

impl AppState {
    /// Build the state; installs the process-wide Prometheus recorder on first call.
    pub fn new(store: Store, info: ServerInfo) -> Result<Self, WebError> {
        let metrics = prometheus_handle()?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                info,
                metrics,
                started: Instant::now(),
                feeds: None,
                workflow: None,
                auth: auth::AuthConfig::default(),
                office: backoffice::OfficeConfig::default(),
                citizen: citizen::CitizenConfig::default(),
                rate: api::limit::RateLimits::default(),
                search: None,
                polls: None,
            }),
        })
    }

    /// Also serves the files of `dir` under `/demo/feeds/` (the demo region's own RSS feeds,
    /// which `serve --demo` collects from itself).
    #[must_use]
    pub fn with_feeds(self, dir: impl Into<PathBuf>) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                feeds: Some(dir.into()),
                ..inner
            }),
        }
    }

    /// Takes messages through `workflow` (the JSON API and Open311 answer 503 without one).
    #[must_use]
    pub fn with_workflow(self, workflow: Arc<otklik_workflow::Workflow>) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                workflow: Some(workflow),
                ..inner
            }),
        }
    }

    /// Searches `index` on `/office/search` (kept in step with the store by the caller, e.g.
    /// `otklik serve`'s index sync).
    #[must_use]
    pub fn with_search(self, index: otklik_search::SearchIndex) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(Inner {
                search: Some(index),
                ..inner
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}

fn prometheus_handle() -> Result<PrometheusHandle, WebError> {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = match PrometheusBuilder::new().install_recorder() {
        Ok(h) => h,
        // Another recorder (e.g. a second server in the same test process) won the race:
        // build a detached one so this server still answers `/metrics`.
        Err(_) => PrometheusBuilder::new().build_recorder().handle(),
    };
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The Prometheus text of the process's metrics (the same as `/metrics`).
pub fn metrics_render() -> Result<String, WebError> {
    Ok(prometheus_handle()?.render())
}

/// A server answering only `/metrics` (for `otklik collect --metrics-listen`): installs the
/// process-wide recorder, then serves until `shutdown` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let handle = prometheus_handle()?;
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let h = handle.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        h.render(),
                    )
                }
            }),
        )
        .fallback(pages::not_found)
        .layer(middleware::from_fn(security_headers));
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "metrics listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Installs the process-wide Prometheus recorder (idempotent), so that counters recorded
/// from now on are exported.
pub fn install_metrics() -> Result<(), WebError> {
    prometheus_handle().map(|_| ())
}

/// The application's routes with every middleware applied.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(healthz))
        .route("/version", get(version))
        .route("/metrics", get(metrics_text))
        .route("/demo/feeds/{*path}", get(files::demo_feed))
        .merge(api::router(&state))
        .merge(auth::router())
        .merge(backoffice::router(&state))
        .merge(citizen::router())
        .merge(polls::router(&state))
        // 1 MiB bodies everywhere but the widget's uploads (their own limit).
        .layer(RequestBodyLimitLayer::new(1024 * 1024))
        .merge(citizen::upload_router())
        // Form submissions of the back-office and citizen pages: per client address.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            api::limit::limit_writes,
        ))
        .fallback(pages::not_found)
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(track_metrics))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    // The peer address feeds the sign-in throttle (per client address).
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
    uptime_seconds: u64,
}

async fn healthz(State(state): State<AppState>) -> Response {
    let uptime_seconds = state.inner.started.elapsed().as_secs();
    match state.store().ping().await {
        Ok(()) => Json(Health {
            status: "ok",
            database: "ok",
            uptime_seconds,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    database: "error",
                    uptime_seconds,
                }),
            )
                .into_response()
        }
    }
}

#[derive(Serialize)]
struct Version {
    name: &'static str,
    version: &'static str,
    backend: String,
}

async fn version(State(state): State<AppState>) -> Json<Version> {
    Json(Version {
        name: "otklik",
        version: env!("CARGO_PKG_VERSION"),
        backend: format!("{:?}", state.store().backend()).to_lowercase(),
    })
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.inner.metrics.render(),
    )
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("otklik_http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("otklik_http_request_duration_seconds", "method" => method, "path" => path)
        .record(start.elapsed().as_secs_f64());
    res
}

async fn security_headers(req: Request, next: Next) -> Response {
    // The widget's pages are the only ones other sites may frame.
    let framable = citizen::widget::framable(req.uri().path());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let pairs: [(&str, &str); 5] = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    for (k, v) in pairs {
        h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    if framable {
        h.remove("x-frame-options");
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(citizen::widget::WIDGET_CSP),
        );
    }
    res
}
