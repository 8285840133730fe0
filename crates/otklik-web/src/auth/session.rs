//! The signed-in staff member of a request ([`Staff`]) and the CSRF guard of every
//! back-office POST ([`csrf_guard`]).

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use otklik_domain::{Role, RoleGrant, User, UserId};
use otklik_store::SessionKind;

use super::{cookie, forbidden, internal, now, origin_ok, same_secret};
use crate::AppState;

/// Largest back-office form accepted (bytes).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The signed-in staff member. As an extractor it reads the session cookie, checks the
/// session (idle and absolute timeouts) and loads the account with its role grants; without
/// a valid staff session a page request is redirected to `/login`.
#[derive(Clone)]
pub struct Staff {
    /// The account with its roles (what the workflow checks).
    pub user: User,
    csrf: String,
}

impl std::fmt::Debug for Staff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staff")
            .field("user", &self.user.id)
            .field("login", &self.user.login)
            .field("csrf", &"***")
            .finish()
    }
}

impl Staff {
    /// The user's id.
    pub fn id(&self) -> UserId {
        self.user.id
    }

    /// The login.
    pub fn login(&self) -> &str {
        &self.user.login
    }

    /// The full name.
    pub fn full_name(&self) -> &str {
        &self.user.full_name
    }

    /// Role grants: (role, organisation).
    pub fn grants(&self) -> &[RoleGrant] {
        &self.user.roles
    }

    /// Holds `role` somewhere?
    pub fn has_role(&self, role: Role) -> bool {
        self.user.has_role(role)
    }

    /// The session's CSRF token, for the hidden `_csrf` field of forms.
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }
}

enum Refused {
    /// No (valid) session: sign in.
    SignIn,
    /// Signed in, but not as staff.
    NotStaff,
    /// The store failed.
    Failed(otklik_store::StoreError),
}

async fn authenticate(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Staff, Refused> {
    let cfg = state.auth();
    let token = cookie(headers, cfg.session_cookie()).ok_or(Refused::SignIn)?;
    if token.len() != 64 {
        return Err(Refused::SignIn);
    }
    let session = state
        .store()
        .session(token, cfg.limits, now())
        .await
        .map_err(Refused::Failed)?
        .ok_or(Refused::SignIn)?;
    if session.kind != SessionKind::Staff {
        return Err(Refused::NotStaff);
    }
    let user = state
        .store()
        .user(session.user)
        .await
        .map_err(Refused::Failed)?
        .ok_or(Refused::SignIn)?;
    if !user.roles.iter().any(|g| g.role != Role::Citizen) {
        return Err(Refused::NotStaff);
    }
    Ok(Staff {
        user,
        csrf: session.csrf_token,
    })
}

fn to_login(path: &str) -> Response {
    let next: String = path
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "/-_".contains(*c))
        .take(200)
        .collect();
    let mut res = Redirect::to(&format!("/login?next={next}")).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    res
}

fn refusal(r: Refused, path: &str) -> Response {
    match r {
        Refused::SignIn => to_login(path),
        Refused::NotStaff => forbidden("Рабочий кабинет доступен только сотрудникам организаций."),
        Refused::Failed(e) => internal(&e),
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(staff) = parts.extensions.get::<Staff>() {
            return Ok(staff.clone());
        }
        let staff = authenticate(state, &parts.headers)
            .await
            .map_err(|r| refusal(r, parts.uri.path()))?;
        parts.extensions.insert(staff.clone());
        Ok(staff)
    }
}

/// Middleware of the back-office: every request other than GET/HEAD must come from this
/// site (`Origin`), from a signed-in staff member, and carry the session's CSRF token in the
/// `_csrf` field of its form; otherwise 403 (or the sign-in page without a session). The
/// checked [`Staff`] is handed to the handler.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    if !origin_ok(req.headers()) {
        tracing::warn!(path = %req.uri().path(), "cross-site POST refused");
        return forbidden("Запрос отправлен с другого сайта.");
    }
    let path = req.uri().path().to_owned();
    let staff = match authenticate(&state, req.headers()).await {
        Ok(s) => s,
        Err(r) => return refusal(r, &path),
    };
    let (mut parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return super::plain_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Слишком большой запрос",
                "<h1>Слишком большой запрос</h1>",
            );
        }
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let sent = fields
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if sent.is_empty() || !same_secret(sent, staff.csrf_token()) {
        tracing::warn!(path = %path, user = %staff.id(), "CSRF token missing or wrong");
        return forbidden(
            "Форма устарела или отправлена не из рабочего кабинета (неверный CSRF-токен). Обновите страницу и повторите.",
        );
    }
    parts.extensions.insert(staff);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
