//! The citizen side: sign-in through the identity provider (OIDC, [`crate::oidc`]), the
//! embeddable widget of an organisation's site ([`widget`]), the citizen's own messages and the
//! rating page of the answer e-mail's signed link ([`pages`]).
//!
//! * **Sessions**: a citizen's session is a `sessions` row of kind `citizen` under its own
//!   cookie (`otklik_citizen`, `HttpOnly`; `SameSite=Lax`, or with
//!   [`crate::auth::AuthConfig::secure_cookies`] `__Host-` prefixed, `Secure` and
//!   `SameSite=None`, so that the widget also knows the citizen inside an organisation's page
//!   where the browser allows it). The [`Citizen`] extractor reads it; the session's CSRF
//!   token guards every citizen form.
//! * **Sign-in** (`GET /citizen/login?next=PATH`): a random `state` (also kept in a short-lived
//!   cookie bound to this browser), `nonce` and PKCE verifier are stored
//!   ([`otklik_store::Store::start_oidc_login`]) and the browser goes to the provider;
//!   `GET /citizen/callback` takes them once, exchanges the code and verifies the ID token,
//!   maps the subject (hashed) to an account ([`otklik_store::Store::sign_in_citizen`]) and
//!   opens the session. Any failure shows a Russian page and signs nobody in.
//! * **Framing**: only `/widget/…` pages may be shown inside other sites' pages (the
//!   server's security headers relax `frame-ancestors` there); no page has inline scripts.

pub mod pages;
pub mod widget;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use otklik_domain::{EntityKind, NewAuditEvent, User, UserId};
use otklik_store::{AttachmentFiles, NewCitizen, NewSession, OidcLogin, SessionKind};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{client_ip, cookie, now, origin_ok, random_token, same_secret};
use crate::html::escape;
use crate::oidc::OidcClient;

/// How long a sign-in may take at the provider (10 minutes).
pub const OIDC_LOGIN_MAX_AGE_MS: i64 = 10 * 60 * 1000;

/// Settings of the citizen side (see the `with_*` methods of [`AppState`]).
#[derive(Debug, Clone, Default)]
pub struct CitizenConfig {
    oidc: Option<OidcClient>,
    rating_links: Option<otklik_notify::RatingLinks>,
    attachments: Option<AttachmentFiles>,
    max_files: Option<usize>,
}

impl AppState {
    /// Citizens sign in through this identity provider (without one the citizen pages say
    /// that sign-in is not available).
    #[must_use]
    pub fn with_oidc(self, client: OidcClient) -> Self {
        self.map_citizen(|c| c.oidc = Some(client))
    }

    /// Verifies the signed rating links of answer e-mails with `links` (the same key as the
    /// workflow's notifications); without them `/rate` answers 503.
    #[must_use]
    pub fn with_rating_links(self, links: otklik_notify::RatingLinks) -> Self {
        self.map_citizen(|c| c.rating_links = Some(links))
    }

    /// Stores the widget's photos in `files` (normally `DATA_DIR/attachments`; its limits
    /// decide size and type); without it the widget takes no files.
    #[must_use]
    pub fn with_attachments(self, files: AttachmentFiles) -> Self {
        self.map_citizen(|c| c.attachments = Some(files))
    }

    /// At most `n` files per widget submission (default [`widget::DEFAULT_MAX_FILES`]).
    #[must_use]
    pub fn with_widget_max_files(self, n: usize) -> Self {
        self.map_citizen(|c| c.max_files = Some(n.min(otklik_workflow::MAX_ATTACHMENTS)))
    }

    fn map_citizen(self, f: impl FnOnce(&mut CitizenConfig)) -> Self {
        let mut inner = std::sync::Arc::unwrap_or_clone(self.inner);
        f(&mut inner.citizen);
        Self {
            inner: std::sync::Arc::new(inner),
        }
    }

    pub(crate) fn citizen_config(&self) -> &CitizenConfig {
        &self.inner.citizen
    }
}

/// The citizen routes without file uploads (merged under the server's 1 MiB body limit).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/citizen/login", get(login))
        .route("/citizen/callback", get(callback))
        .route("/citizen/logout", post(logout))
        .route("/my/messages", get(pages::my_messages))
        .route("/my/messages/{id}", get(pages::my_message))
        .route("/rate", get(pages::rate_form).post(pages::rate_submit))
        .route("/widget.js", get(widget::script))
        .route("/widget/{code}", get(widget::form))
        .route("/widget/{code}/sent/{id}", get(widget::sent))
}

/// The widget's submission route with its own, larger body limit (photos).
pub(crate) fn upload_router() -> Router<AppState> {
    widget::upload_router()
}

/// A signed-in citizen (session of kind `citizen`).
#[derive(Clone)]
pub struct Citizen {
    /// The account (no roles).
    pub user: User,
    csrf: String,
}

impl std::fmt::Debug for Citizen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Citizen")
            .field("user", &self.user.id)
            .field("csrf", &"***")
            .finish()
    }
}

impl Citizen {
    /// The account id.
    pub fn id(&self) -> UserId {
        self.user.id
    }

    /// The session's CSRF token for the hidden `_csrf` field.
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// Does `sent` match the session's CSRF token?
    pub fn csrf_ok(&self, sent: &str) -> bool {
        !sent.is_empty() && same_secret(sent, &self.csrf)
    }

    /// The citizen of the request's session, if any (`Err` only when the store fails).
    pub async fn of_request(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Option<Self>, Response> {
        let Some(token) = cookie(headers, citizen_cookie(state)) else {
            return Ok(None);
        };
        if token.len() != 64 {
            return Ok(None);
        }
        let session = match state
            .store()
            .session(token, state.auth().limits, now())
            .await
        {
            Ok(Some(s)) if s.kind == SessionKind::Citizen => s,
            Ok(_) => return Ok(None),
            Err(e) => return Err(crate::auth::internal(&e)),
        };
        match state.store().user(session.user).await {
            Ok(Some(user)) => Ok(Some(Self {
                user,
                csrf: session.csrf_token,
            })),
            Ok(None) => Ok(None),
            Err(e) => Err(crate::auth::internal(&e)),
        }
    }
}

impl axum::extract::FromRequestParts<AppState> for Citizen {
    type Rejection = Response;

    /// Without a citizen session a page request goes to the sign-in.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        if let Some(c) = parts.extensions.get::<Citizen>() {
            return Ok(c.clone());
        }
        match Self::of_request(state, &parts.headers).await? {
            Some(c) => {
                parts.extensions.insert(c.clone());
                Ok(c)
            }
            None => {
                let target = parts
                    .uri
                    .path_and_query()
                    .map_or("/my/messages", |p| p.as_str());
                Err(to_sign_in(target))
            }
        }
    }
}

/// The citizen session cookie's name.
pub fn citizen_cookie(state: &AppState) -> &'static str {
    if state.auth().secure_cookies {
        "__Host-otklik_citizen"
    } else {
        "otklik_citizen"
    }
}

fn oidc_cookie(state: &AppState) -> &'static str {
    if state.auth().secure_cookies {
        "__Host-otklik_oidc"
    } else {
        "otklik_oidc"
    }
}

/// A `Set-Cookie` value; the citizen cookie may travel in other sites' frames over HTTPS.
fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    framed: bool,
) -> String {
    let secure = state.auth().secure_cookies;
    let same_site = if secure && framed { "None" } else { "Lax" };
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

fn append_cookie(res: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Only local citizen paths are followed after sign-in (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    let ok = |n: &str| {
        (n.starts_with("/my/")
            || n == "/my/messages"
            || n.starts_with("/widget/")
            || n.starts_with("/polls/")
            || n.starts_with("/rate?"))
            && !n.contains("//")
            && !n.contains('\\')
            && n.len() <= 300
            && n.chars().all(|c| c.is_ascii_graphic())
    };
    match next {
        Some(n) if ok(n) => n.to_owned(),
        _ => "/my/messages".to_owned(),
    }
}

fn to_sign_in(next: &str) -> Response {
    let q = serde_urlencoded::to_string([("next", safe_next(Some(next)))]).unwrap_or_default();
    let mut res = Redirect::to(&format!("/citizen/login?{q}")).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    res
}

/// A citizen page in the Otklik layout (no scripts).
pub(crate) fn citizen_page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — Отклик</title><style>{CSS}</style></head>\
<body><header><a href=\"/my/messages\" class=\"brand\">Отклик</a> \
<span class=\"tag\">обращения граждан</span></header>\
<main id=\"main\">{body}</main></body></html>",
        title = escape(title),
    );
    let mut res = (status, Html(html)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A short Russian page with a heading, a paragraph and links.
pub(crate) fn notice(
    status: StatusCode,
    title: &str,
    text: &str,
    links: &[(&str, &str)],
) -> Response {
    let mut body = format!(
        "<h1>{}</h1><p role=\"alert\" class=\"notice\">{}</p>",
        escape(title),
        escape(text)
    );
    if !links.is_empty() {
        body.push_str("<p>");
        for (href, label) in links {
            body.push_str(&format!(
                "<a href=\"{}\">{}</a> ",
                escape(href),
                escape(label)
            ));
        }
        body.push_str("</p>");
    }
    citizen_page(status, title, &body)
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9;font-size:1rem}\
header{background:#0b5cad;color:#fff;padding:.7rem 1.2rem}header a{color:#fff;text-decoration:none;font-weight:700}\
.tag{opacity:.85;margin-left:.5rem}main{max-width:48rem;margin:1rem auto;padding:0 1rem}\
table{border-collapse:collapse;background:#fff;width:100%}th,td{border:1px solid #d0d5dc;padding:.35rem .6rem;text-align:left;vertical-align:top}\
th{background:#eef1f5}.notice{background:#fff4e5;border-left:4px solid #e08a00;padding:.6rem .8rem}\
.ok{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.6rem .8rem}\
.badge{display:inline-block;background:#fff0f0;color:#a31515;border:1px solid #e7b4b4;border-radius:1rem;padding:0 .5rem;font-size:.85rem;margin-left:.4rem}\
details{background:#fff;border:1px solid #d0d5dc;border-radius:.3rem;margin:.3rem 0;padding:.3rem .6rem}summary{cursor:pointer;font-weight:600}\
label{display:block;margin:.25rem 0}textarea,input[type=text],select{width:100%;box-sizing:border-box;font:inherit;padding:.35rem}\
button,.button{background:#0b5cad;color:#fff;border:0;border-radius:.3rem;padding:.55rem 1.1rem;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}\
fieldset{border:1px solid #d0d5dc;background:#fff;margin:.8rem 0}legend{font-weight:600}\
.stars label{display:inline-block;margin-right:1rem}.answer{background:#fff;border:1px solid #d0d5dc;padding:.6rem .8rem;white-space:pre-wrap}\
:focus-visible{outline:3px solid #e08a00;outline-offset:2px}";

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// `GET /citizen/login?next=PATH`: to the identity provider.
async fn login(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let Some(oidc) = state.citizen_config().oidc.clone() else {
        return notice(
            StatusCode::SERVICE_UNAVAILABLE,
            "Вход недоступен",
            "Вход через Госуслуги на этом сервере не настроен. Обратитесь к администратору портала.",
            &[],
        );
    };
    let next = safe_next(q.next.as_deref());
    let (state_token, nonce, pkce) = match (
        random_token(),
        random_token(),
        crate::oidc::Pkce::generate(),
    ) {
        (Ok(s), Ok(n), Ok(p)) => (s, n, p),
        _ => return crate::auth::internal(&"no randomness for a sign-in"),
    };
    let t = now();
    let pending = OidcLogin {
        nonce: nonce.clone(),
        code_verifier: pkce.verifier.clone(),
        return_to: next,
        created_at: t,
    };
    if let Err(e) = state
        .store()
        .start_oidc_login(&state_token, &pending, OIDC_LOGIN_MAX_AGE_MS, t)
        .await
    {
        return crate::auth::internal(&e);
    }
    let mut res =
        Redirect::to(&oidc.authorization_url(&state_token, &nonce, &pkce)).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    let c = set_cookie(
        &state,
        oidc_cookie(&state),
        &state_token,
        Some(OIDC_LOGIN_MAX_AGE_MS / 1000),
        false,
    );
    append_cookie(&mut res, &c);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn sign_in_refused(text: &str) -> Response {
    notice(
        StatusCode::FORBIDDEN,
        "Вход не выполнен",
        text,
        &[("/citizen/login", "Войти заново")],
    )
}

/// `GET /citizen/callback?code&state`: finishes the sign-in.
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(oidc) = state.citizen_config().oidc.clone() else {
        return notice(
            StatusCode::SERVICE_UNAVAILABLE,
            "Вход недоступен",
            "Вход через Госуслуги на этом сервере не настроен.",
            &[],
        );
    };
    let mut res = callback_inner(&state, &oidc, &headers, &ext, q).await;
    // The state cookie is single-use whatever happened.
    append_cookie(
        &mut res,
        &set_cookie(&state, oidc_cookie(&state), "", Some(0), false),
    );
    res
}

async fn callback_inner(
    state: &AppState,
    oidc: &OidcClient,
    headers: &HeaderMap,
    ext: &axum::http::Extensions,
    q: CallbackQuery,
) -> Response {
    if let Some(err) = q.error {
        tracing::info!(error = %err.chars().take(60).collect::<String>(), "the provider refused the sign-in");
        return sign_in_refused("Служба ЕСИА не подтвердила вход (вход отменён или запрещён).");
    }
    let (Some(code), Some(sent_state)) = (q.code, q.state) else {
        return sign_in_refused("Ответ службы входа неполон: нет кода или параметра state.");
    };
    let bound = cookie(headers, oidc_cookie(state)).unwrap_or("");
    if bound.is_empty() || !same_secret(bound, &sent_state) {
        tracing::warn!("OIDC callback with a state not bound to this browser");
        return sign_in_refused(
            "Ответ службы входа не относится к попытке входа из этого браузера (неверный параметр state). Начните вход заново.",
        );
    }
    let t = now();
    let pending = match state
        .store()
        .take_oidc_login(&sent_state, OIDC_LOGIN_MAX_AGE_MS, t)
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => {
            return sign_in_refused(
                "Попытка входа не найдена, уже использована или устарела (неверный параметр state). Начните вход заново.",
            );
        }
        Err(e) => return crate::auth::internal(&e),
    };
    let claims = match oidc
        .finish(
            &code,
            &pending.code_verifier,
            &pending.nonce,
            t.millis() / 1000,
        )
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "citizen sign-in refused");
            return sign_in_refused(e.message_ru());
        }
    };
    let subject_hash = oidc.subject_hash(&claims.subject);
    let citizen = NewCitizen {
        provider: oidc.provider(),
        subject_hash: &subject_hash,
        full_name: &claims.full_name,
        email: claims.email.as_deref(),
    };
    let signed = match state.store().sign_in_citizen(&citizen, t).await {
        Ok(s) => s,
        Err(e) => return crate::auth::internal(&e),
    };
    let (token, csrf) = match (random_token(), random_token()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return crate::auth::internal(&"no randomness for a session"),
    };
    let ip = client_ip(state, headers, ext);
    let new = NewSession {
        user: signed.user.id,
        kind: SessionKind::Citizen,
        csrf_token: &csrf,
        ip: ip.as_deref(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    };
    let previous = cookie(headers, citizen_cookie(state));
    if let Err(e) = state
        .store()
        .create_session(&token, &new, previous, t)
        .await
    {
        return crate::auth::internal(&e);
    }
    let event = NewAuditEvent {
        actor: Some(signed.user.id),
        entity: EntityKind::User,
        entity_id: signed.user.id.get(),
        action: "citizen_sign_in".into(),
        detail: serde_json::json!({ "provider": oidc.provider(), "ip": ip }).to_string(),
        at: t,
    };
    if let Err(e) = state.store().record_audit(&event).await {
        tracing::warn!(error = %e, "cannot audit a citizen sign-in");
    }
    tracing::info!(user = %signed.user.id, created = signed.created, "citizen signed in");
    let mut res = Redirect::to(&safe_next(Some(&pending.return_to))).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    append_cookie(
        &mut res,
        &set_cookie(state, citizen_cookie(state), &token, None, true),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /citizen/logout` (CSRF token of the session): ends the citizen's session.
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LogoutForm>,
) -> Response {
    if !origin_ok(&headers) {
        return notice(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Запрос отправлен с другого сайта.",
            &[],
        );
    }
    let citizen = match Citizen::of_request(&state, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => return to_sign_in("/my/messages"),
        Err(res) => return res,
    };
    if !citizen.csrf_ok(&form.csrf) {
        return notice(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Форма устарела (неверный CSRF-токен). Обновите страницу и повторите.",
            &[],
        );
    }
    if let Some(token) = cookie(&headers, citizen_cookie(&state))
        && let Err(e) = state.store().end_session(token).await
    {
        return crate::auth::internal(&e);
    }
    let mut res = notice(StatusCode::OK, "Вы вышли", "Сеанс завершён.", &[]);
    append_cookie(
        &mut res,
        &set_cookie(&state, citizen_cookie(&state), "", Some(0), true),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_citizen_paths_are_followed() {
        assert_eq!(safe_next(Some("/widget/adm1")), "/widget/adm1");
        assert_eq!(safe_next(Some("/my/messages/5")), "/my/messages/5");
        assert_eq!(safe_next(Some("/rate?t=abc")), "/rate?t=abc");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/widget//evil.example",
            "/office",
            "/widget/\\evil",
            "/widget/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/my/messages", "{bad}");
        }
        assert_eq!(safe_next(None), "/my/messages");
    }
}
