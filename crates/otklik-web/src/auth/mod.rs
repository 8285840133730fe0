//! Staff sign-in: local accounts with argon2id password hashes, server-side sessions,
//! throttling and lockout of failed sign-ins, CSRF protection, and the [`Staff`] extractor.
//!
//! * **Sessions** live in the database (`otklik_store::Store::session`): the cookie carries a
//!   random 256-bit id, the table only its SHA-256. The cookie is `HttpOnly`, `SameSite=Lax`,
//!   and with [`AuthConfig::secure_cookies`] `Secure` with the `__Host-` prefix. The id rotates
//!   at sign-in (the browser's previous session is deleted); sessions end after
//!   [`SessionLimits::idle_ms`] without use and [`SessionLimits::absolute_ms`] after sign-in.
//! * **Throttle**: failures are counted per login and per client address in the database
//!   (every node sees the same lock); a locked login is refused without checking the
//!   password. Unknown logins cost the same argon2 work as known ones.
//! * **CSRF**: every session has a synchronizer token; every POST under `/office` and
//!   `/logout` must carry it in the `_csrf` form field ([`csrf_guard`]), and a present
//!   `Origin` must be this server's. The sign-in form itself uses a double-submit cookie.

mod password;
mod session;

pub use password::{
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, check_password_policy, hash_password, set_password,
    verify_password,
};
pub use session::{Staff, csrf_guard};

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use otklik_domain::{EntityKind, NewAuditEvent, Timestamp};
use otklik_store::{NewSession, SessionKind, SessionLimits, ThrottlePolicy};
use serde::Deserialize;

use crate::AppState;
use crate::html::escape;

/// Errors of sign-in and password management.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The password does not meet the policy.
    #[error("password refused: {0}")]
    WeakPassword(String),
    /// No account with this login.
    #[error("no account with login {0:?}")]
    UnknownLogin(String),
    /// Hashing failed (no randomness available).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] otklik_store::StoreError),
}

/// Settings of sign-in and sessions.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Served over HTTPS: cookies get `Secure` and the `__Host-` prefix (default false, for
    /// plain HTTP on loopback behind a TLS proxy set it true).
    pub secure_cookies: bool,
    /// Idle and absolute session timeouts (30 min, 12 h).
    pub limits: SessionLimits,
    /// Failed sign-in limits (5 per login, 20 per address, 15 min lock).
    pub throttle: ThrottlePolicy,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

impl AuthConfig {
    /// The session cookie's name.
    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-otklik_session"
        } else {
            "otklik_session"
        }
    }

    fn login_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-otklik_login"
        } else {
            "otklik_login"
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure_cookies {
            c.push_str("; Secure");
        }
        c
    }
}

impl AppState {
    /// Sign-in settings (cookies, timeouts, throttle).
    #[must_use]
    pub fn with_auth(self, auth: AuthConfig) -> Self {
        let inner = std::sync::Arc::unwrap_or_clone(self.inner);
        Self {
            inner: std::sync::Arc::new(crate::Inner { auth, ..inner }),
        }
    }

    /// The sign-in settings.
    pub fn auth(&self) -> &AuthConfig {
        &self.inner.auth
    }
}

/// The current time.
pub(crate) fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp(ms)
}

/// 32 random bytes as 64 hex digits.
pub(crate) fn random_token() -> Result<String, AuthError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equal strings, compared in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A present `Origin` header must name this server (its `Host`); a browser's
/// `Sec-Fetch-Site: cross-site` is refused too.
pub(crate) fn origin_ok(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// The client's address: the socket's peer, or the first `X-Forwarded-For` entry when
/// trusted.
pub(crate) fn client_ip(
    state: &AppState,
    headers: &HeaderMap,
    ext: &axum::http::Extensions,
) -> Option<String> {
    if state.auth().trust_forwarded_for
        && let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return Some(first.chars().take(64).collect());
    }
    ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// A small page in Russian for sign-in and errors.
pub(crate) fn plain_page(status: StatusCode, title: &str, body: &str) -> Response {
    let mut res = (status, Html(crate::html::page(title, body))).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// 403 with a Russian explanation.
pub(crate) fn forbidden(why: &str) -> Response {
    plain_page(
        StatusCode::FORBIDDEN,
        "Доступ запрещён",
        &format!(
            "<h1>Доступ запрещён</h1><p>{}</p><p><a href=\"/office\">В рабочий кабинет</a></p>",
            escape(why)
        ),
    )
}

/// The sign-in routes (`POST /logout` is a back-office route, behind the CSRF guard).
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/login", get(login_form).post(login_submit))
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/office") && !n.contains("//") && !n.contains('\\') => n,
        _ => "/office",
    }
}

fn login_page(state: &AppState, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let token = match random_token() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "no randomness for the sign-in form");
            return plain_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Ошибка",
                "<h1>Внутренняя ошибка</h1>",
            );
        }
    };
    let error_html = error.map_or_else(String::new, |e| {
        format!(
            "<p class=\"error\" role=\"alert\" id=\"login-error\">{}</p>",
            escape(e)
        )
    });
    let body = format!(
        "<h1>Вход для сотрудников</h1>{error_html}\
<form method=\"post\" action=\"/login\" class=\"login\">\
<input type=\"hidden\" name=\"_csrf\" value=\"{token}\">\
<input type=\"hidden\" name=\"next\" value=\"{next}\">\
<p><label for=\"login\">Логин</label><br><input id=\"login\" name=\"login\" autocomplete=\"username\" required maxlength=\"200\"></p>\
<p><label for=\"password\">Пароль</label><br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"256\"></p>\
<p><button type=\"submit\">Войти</button></p></form>",
        next = escape(next),
    );
    let mut res = plain_page(status, "Вход", &body);
    let cookie = state
        .auth()
        .cookie(state.auth().login_cookie(), &token, Some(3600));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_form(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    login_page(&state, safe_next(q.next.as_deref()), None, StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

const BAD_CREDENTIALS: &str = "Неверный логин или пароль.";

async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_owned();
    let cfg = state.auth().clone();
    // Login CSRF: the form's token must match the cookie set with the form.
    let cookie_token = cookie(&headers, cfg.login_cookie()).unwrap_or("");
    if !origin_ok(&headers) || cookie_token.is_empty() || !same_secret(cookie_token, &form.csrf) {
        return forbidden(
            "Форма входа устарела или отправлена с другого сайта. Откройте страницу входа заново.",
        );
    }
    let login = form.login.trim().to_owned();
    if login.is_empty() || login.chars().count() > 200 || form.password.is_empty() {
        return login_page(
            &state,
            &next,
            Some(BAD_CREDENTIALS),
            StatusCode::UNAUTHORIZED,
        );
    }
    let ip = client_ip(&state, &headers, &ext);
    let store = state.store().clone();
    let now = now();
    match store.login_locked_until(&login, ip.as_deref(), now).await {
        Ok(Some(until)) => {
            let minutes = (until.millis() - now.millis()).div_euclid(60_000) + 1;
            return login_page(
                &state,
                &next,
                Some(&format!(
                    "Слишком много неудачных попыток входа. Вход временно заблокирован, попробуйте через {minutes} мин."
                )),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Ok(None) => {}
        Err(e) => return internal(&e),
    }
    let account = match store.password_hash(&login).await {
        Ok(a) => a,
        Err(e) => return internal(&e),
    };
    let phc = account
        .as_ref()
        .and_then(|(_, h)| h.clone())
        .unwrap_or_else(|| password::decoy_hash().to_owned());
    let password = form.password;
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    let user = match (verified, account) {
        (true, Some((id, Some(_)))) => store.user(id).await.ok().flatten(),
        _ => None,
    };
    let Some(user) = user.filter(|u| {
        u.roles
            .iter()
            .any(|g| g.role != otklik_domain::Role::Citizen)
    }) else {
        match store
            .record_login_failure(&login, ip.as_deref(), &cfg.throttle, now)
            .await
        {
            Ok(Some(_)) => {
                tracing::warn!(login = %login, ip = ?ip, "sign-in locked after repeated failures");
            }
            Ok(None) => {}
            Err(e) => return internal(&e),
        }
        tracing::info!(login = %login, ip = ?ip, "sign-in refused");
        return login_page(
            &state,
            &next,
            Some(BAD_CREDENTIALS),
            StatusCode::UNAUTHORIZED,
        );
    };
    if let Err(e) = store.clear_login_failures(&login).await {
        return internal(&e);
    }
    let (token, csrf) = match (random_token(), random_token()) {
        (Ok(t), Ok(c)) => (t, c),
        _ => {
            return plain_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Ошибка",
                "<h1>Внутренняя ошибка</h1>",
            );
        }
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let previous = cookie(&headers, cfg.session_cookie());
    let new = NewSession {
        user: user.id,
        kind: SessionKind::Staff,
        csrf_token: &csrf,
        ip: ip.as_deref(),
        user_agent,
    };
    if let Err(e) = store.create_session(&token, &new, previous, now).await {
        return internal(&e);
    }
    let event = NewAuditEvent {
        actor: Some(user.id),
        entity: EntityKind::User,
        entity_id: user.id.get(),
        action: "sign_in".into(),
        detail: serde_json::json!({ "ip": ip }).to_string(),
        at: now,
    };
    if let Err(e) = store.record_audit(&event).await {
        tracing::warn!(error = %e, "cannot audit a sign-in");
    }
    tracing::info!(user = %user.id, "signed in");
    let mut res = Redirect::to(&next).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    for c in [
        cfg.cookie(cfg.session_cookie(), &token, None),
        cfg.cookie(cfg.login_cookie(), "", Some(0)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `POST /logout` (behind [`csrf_guard`]): ends the session and clears the cookie.
pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let cfg = state.auth();
    if let Some(token) = cookie(&headers, cfg.session_cookie())
        && let Err(e) = state.store().end_session(token).await
    {
        return internal(&e);
    }
    let mut res = Redirect::to("/login").into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(&cfg.cookie(cfg.session_cookie(), "", Some(0))) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub(crate) fn internal(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "request failed");
    plain_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Ошибка",
        "<h1>Внутренняя ошибка</h1><p>Попробуйте повторить позже.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_origins() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; otklik_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, "otklik_session"), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(origin_ok(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(origin_ok(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!origin_ok(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!origin_ok(&h));
    }

    #[test]
    fn only_local_back_office_paths_are_followed() {
        assert_eq!(
            safe_next(Some("/office/queue/moderation")),
            "/office/queue/moderation"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/office");
        assert_eq!(safe_next(Some("/office//evil.example")), "/office");
        assert_eq!(safe_next(None), "/office");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        let t = random_token().expect("random");
        assert_eq!(t.len(), 64);
        assert_ne!(t, random_token().expect("random"));
    }

    #[test]
    fn secure_cookies_use_the_host_prefix() {
        let cfg = AuthConfig {
            secure_cookies: true,
            ..AuthConfig::default()
        };
        let c = cfg.cookie(cfg.session_cookie(), "x", None);
        assert!(c.starts_with("__Host-otklik_session=x; Path=/; HttpOnly; SameSite=Lax"));
        assert!(c.ends_with("; Secure"));
        assert!(
            !AuthConfig::default()
                .cookie("a", "b", None)
                .contains("Secure")
        );
    }
}
