//! The back-office: server-rendered Russian pages for staff, under `/office`.
//!
//! * queues per role — moderation, the monitoring centre's incoming social-network incidents,
//!   my organisations' messages, approvals for heads, the curator's overdue and at-risk list —
//!   with filters (status, category, text) and paging;
//! * the message card: details, the source post, the classifier's confidence and the routing
//!   explanation, the full audit history, and the actions this user may take as forms; every
//!   action goes through [`otklik_workflow::Workflow::act`] with the form's idempotency key and
//!   the version the page showed (a stale version gets a clear message);
//! * onboarding confirmations of the organisation («ЛКО готов к работе», «Мной пройдено
//!   обучение», widget installed) and confirmation of staff accounts;
//! * administration ([`admin`]): staff accounts and roles, organisations' details, sources and
//!   collector health, the Госпаблики registry (territories, categories and deadlines are
//!   shown read-only: they live in `rules/` and the directory import).
//!
//! Every page needs a signed-in [`Staff`]; every POST passes [`crate::auth::csrf_guard`].
//! A message is visible to a user when one of the user's grants covers it (the same scope
//! rules as [`otklik_workflow::may_act`]); others get 404.

mod admin;
mod card;
mod queues;
mod reports;
mod search;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use otklik_domain::{Message, Organisation, OrganisationId, Role, SubcategoryId, Timestamp};
use otklik_rules::RejectReasons;
use otklik_workflow::Workflow;

use crate::AppState;
use crate::auth::{Staff, csrf_guard, internal};
use crate::html::escape;

/// Settings of the back-office.
#[derive(Debug, Clone, Default)]
pub(crate) struct OfficeConfig {
    /// The configured reject reasons (`rules/reject-reasons.toml`) offered to moderators.
    reasons: RejectReasons,
}

impl AppState {
    /// The reject reasons offered to moderators (`rules/reject-reasons.toml`, the same list the
    /// workflow was built with).
    #[must_use]
    pub fn with_reject_reasons(self, reasons: RejectReasons) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(crate::Inner {
                office: OfficeConfig { reasons },
                ..inner
            }),
        }
    }
}

/// The back-office routes, every POST behind the CSRF guard.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/office", get(queues::dashboard))
        .route("/office/queue/{queue}", get(queues::queue))
        .route("/office/messages/{id}", get(card::card))
        .route("/office/messages/{id}/act", post(card::act))
        .merge(admin::routes())
        .route("/office/reports", get(reports::index))
        .route("/office/reports/{name}", get(reports::report))
        .route("/office/search", get(search::search))
        .route("/logout", post(crate::auth::logout))
        .layer(middleware::from_fn_with_state(state.clone(), csrf_guard))
}

/// Staff roles that see messages.
const WORK_ROLES: [Role; 5] = [
    Role::Moderator,
    Role::Coordinator,
    Role::Executor,
    Role::Head,
    Role::Curator,
];

/// What one request needs: the user, the workflow, the directory snapshot.
pub(crate) struct Ctx {
    pub staff: Staff,
    pub state: AppState,
    pub wf: Arc<Workflow>,
    pub orgs: Vec<Organisation>,
    pub by_id: HashMap<OrganisationId, usize>,
    pub now: Timestamp,
}

impl Ctx {
    pub async fn load(state: &AppState, staff: Staff) -> Result<Self, Response> {
        let Some(wf) = state.inner.workflow.clone() else {
            return Err(page_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Рабочий процесс не настроен",
                "Сервер запущен без обработки сообщений.",
            ));
        };
        let orgs = state
            .store()
            .organisations()
            .await
            .map_err(|e| internal(&e))?;
        let by_id = orgs.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
        Ok(Self {
            staff,
            state: state.clone(),
            wf,
            orgs,
            by_id,
            now: crate::auth::now(),
        })
    }

    pub fn org(&self, id: OrganisationId) -> Option<&Organisation> {
        self.by_id.get(&id).map(|i| &self.orgs[*i])
    }

    pub fn org_name(&self, id: Option<OrganisationId>) -> String {
        id.and_then(|o| self.org(o)).map_or_else(
            || "не назначен".to_owned(),
            |o| o.short_name.clone().unwrap_or_else(|| o.name.clone()),
        )
    }

    pub fn sub_name(&self, sub: &SubcategoryId) -> String {
        self.state
            .inner
            .info
            .tree
            .subcategory(sub)
            .map_or_else(|| sub.0.clone(), |s| s.name.clone())
    }

    fn is_top_level(&self, org: OrganisationId) -> bool {
        self.org(org).is_some_and(|o| o.parent.is_none())
    }

    /// Executor organisations the user's grants of `roles` cover (`None`: all), and whether
    /// messages without an executor are included.
    pub fn scope(&self, roles: &[Role]) -> (Option<Vec<OrganisationId>>, bool) {
        let tree = self.wf.organisations();
        let mut set: HashSet<OrganisationId> = HashSet::new();
        let mut unrouted = false;
        for g in self
            .staff
            .grants()
            .iter()
            .filter(|g| roles.contains(&g.role))
        {
            let regional = matches!(g.role, Role::Moderator | Role::Curator);
            if regional && tree.is_oversight(g.organisation) {
                return (None, true);
            }
            if regional && self.is_top_level(g.organisation) {
                unrouted = true;
            }
            set.extend(
                self.orgs
                    .iter()
                    .filter(|o| tree.covers(g.organisation, o.id))
                    .map(|o| o.id),
            );
        }
        let mut list: Vec<OrganisationId> = set.into_iter().collect();
        list.sort();
        (Some(list), unrouted)
    }

    /// May the user see this message at all (any working role in scope, or a regional
    /// administrator or analyst)?
    pub fn may_view(&self, m: &Message) -> bool {
        if self.staff.grants().iter().any(|g| {
            matches!(g.role, Role::RegionAdmin | Role::Analyst) && self.is_top_level(g.organisation)
        }) {
            return true;
        }
        let (orgs, unrouted) = self.scope(&WORK_ROLES);
        match (orgs, m.executor) {
            (None, _) => true,
            (Some(_), None) => unrouted,
            (Some(list), Some(e)) => list.contains(&e),
        }
    }
}

/// A time as «2025-12-01 10:00» Moscow time (UTC+3).
pub(crate) fn fmt_time(t: Timestamp) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(t.millis()) else {
        return "—".to_owned();
    };
    let offset = jiff::tz::Offset::constant(3);
    ts.to_zoned(jiff::tz::TimeZone::fixed(offset))
        .strftime("%d.%m.%Y %H:%M")
        .to_string()
}

/// The back-office layout: skip link, navigation by role, sign-out form.
pub(crate) fn layout(staff: &Staff, title: &str, body: &str) -> Response {
    let mut nav = String::from("<li><a href=\"/office\">Главная</a></li>");
    let links: [(&[Role], &str, &str); 6] = [
        (&[Role::Moderator], "/office/queue/moderation", "Модерация"),
        (
            &[Role::Moderator],
            "/office/queue/incidents",
            "Инциденты из соцсетей",
        ),
        (
            &[Role::Coordinator, Role::Executor, Role::Head],
            "/office/queue/work",
            "Сообщения организации",
        ),
        (&[Role::Head], "/office/queue/approval", "На согласование"),
        (&[Role::Curator], "/office/queue/control", "Контроль сроков"),
        (
            &[Role::RegionAdmin, Role::Head],
            "/office/users",
            "Пользователи",
        ),
    ];
    for (roles, href, label) in links {
        if roles.iter().any(|r| staff.has_role(*r)) {
            nav.push_str(&format!("<li><a href=\"{href}\">{label}</a></li>"));
        }
    }
    // Archive search and reports (super::search, super::reports decide the scope).
    if search::SEARCH_ROLES.iter().any(|r| staff.has_role(*r)) {
        nav.push_str("<li><a href=\"/office/search\">Поиск по архиву</a></li>");
    }
    if reports::REPORT_ROLES.iter().any(|r| staff.has_role(*r)) {
        nav.push_str("<li><a href=\"/office/reports\">Отчёты</a></li>");
    }
    if crate::polls::STAFF_ROLES.iter().any(|r| staff.has_role(*r)) {
        nav.push_str("<li><a href=\"/office/polls\">Голосования</a></li>");
    }
    nav.push_str("<li><a href=\"/office/organisation\">Организация</a></li>");
    if staff.has_role(Role::RegionAdmin) {
        nav.push_str("<li><a href=\"/office/admin/organisations\">Администрирование</a></li>");
    } else if staff.has_role(Role::CommunityAdmin) {
        nav.push_str("<li><a href=\"/office/admin/communities\">Госпаблики</a></li>");
    }
    let html = format!(
        "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — Отклик</title><style>{CSS}</style></head><body>\
<a class=\"skip\" href=\"#main\">Перейти к содержанию</a>\
<header><a href=\"/office\" class=\"brand\">Отклик</a> <span class=\"tag\">рабочий кабинет</span>\
<span class=\"who\">{name} ({login})</span>\
<form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
<button type=\"submit\">Выйти</button></form></header>\
<nav aria-label=\"Разделы\"><ul>{nav}</ul></nav>\
<main id=\"main\" tabindex=\"-1\">{body}</main>\
<footer>Otklik {version}</footer></body></html>",
        title = escape(title),
        name = escape(staff.full_name()),
        login = escape(staff.login()),
        csrf = escape(staff.csrf_token()),
        version = escape(env!("CARGO_PKG_VERSION")),
    );
    let mut res = Html(html).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// An error page outside the layout (no user known).
pub(crate) fn page_error(status: StatusCode, title: &str, text: &str) -> Response {
    crate::auth::plain_page(
        status,
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p><a href=\"/office\">В рабочий кабинет</a></p>",
            escape(title),
            escape(text)
        ),
    )
}

/// An error page in the layout.
pub(crate) fn office_error(staff: &Staff, status: StatusCode, title: &str, text: &str) -> Response {
    let mut res = layout(
        staff,
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>",
            escape(title),
            escape(text)
        ),
    );
    *res.status_mut() = status;
    res
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(staff: &Staff) -> String {
    format!(
        "<input type=\"hidden\" name=\"_csrf\" value=\"{}\">",
        escape(staff.csrf_token())
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9;line-height:1.45}\
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem}.skip:focus{left:.5rem;z-index:10}\
header{background:#0b5cad;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none;font-weight:700}.who{margin-left:auto}\
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:0;padding:.6rem 1.5rem;background:#e4ecf6}\
nav a{color:#0b3f7a}main{max-width:80rem;margin:1.2rem auto;padding:0 1.5rem}\
a:focus,button:focus,input:focus,select:focus,textarea:focus,main:focus{outline:3px solid #f0a500;outline-offset:2px}\
table{border-collapse:collapse;background:#fff;margin:.5rem 0 1.2rem;width:100%}th,td{border:1px solid #d0d5dc;padding:.35rem .6rem;text-align:left;vertical-align:top}\
th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}\
form.inline{display:inline}form.action{background:#fff;border:1px solid #d0d5dc;padding:.6rem .8rem;margin:.5rem 0}\
label{font-weight:600}textarea{width:100%;min-height:4rem}select{max-width:100%}\
button{background:#0b5cad;color:#fff;border:0;padding:.4rem .9rem;border-radius:3px;cursor:pointer}\
.error{color:#a00000;font-weight:600}.ok{color:#0a6b2a;font-weight:600}.badge{background:#ffe3a3;padding:0 .4rem;border-radius:3px}\
.text{white-space:pre-wrap;background:#fff;border:1px solid #d0d5dc;padding:.6rem}footer{color:#667;padding:1rem 1.5rem}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dt{font-weight:600}";
