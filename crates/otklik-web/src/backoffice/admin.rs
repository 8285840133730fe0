//! Administration: onboarding confirmations, staff accounts and roles, organisations,
//! sources and collector health, the Госпаблики registry; territories, categories and
//! deadlines read-only (they are changed in `rules/` and by the directory import).
//!
//! Who may do what is decided by the plain functions of [`policy`]; every POST passes the
//! CSRF guard of the back-office router, every change is audited by the store.

mod communities;
mod form;
mod orgs;
mod policy;
mod sources;
mod users;

use std::collections::{BTreeSet, HashMap};

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use otklik_domain::{OrganisationId, Role, UserId};
use serde::Deserialize;

use super::{Ctx, csrf_field, layout, office_error};
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::html::escape;

/// The administration routes (merged into the back-office router, behind its CSRF guard).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/office/organisation", get(organisation))
        .route(
            "/office/organisation/{id}/onboarding",
            post(confirm_onboarding),
        )
        .route("/office/users", get(users::users))
        .route("/office/users/new", post(users::create))
        .route("/office/users/{id}", get(users::user_page))
        .route("/office/users/{id}/confirm", post(confirm_user))
        .route("/office/users/{id}/roles", post(users::grant_role))
        .route("/office/users/{id}/roles/remove", post(users::revoke_role))
        .route("/office/users/{id}/block", post(users::block))
        .route("/office/users/{id}/password", post(users::reset_password))
        .route("/office/admin/{list}", get(list))
        .route(
            "/office/admin/organisations/{id}",
            get(orgs::edit).post(orgs::save),
        )
        .route("/office/admin/sources/new", post(sources::add))
        .route("/office/admin/sources/{id}/enabled", post(sources::switch))
        .route("/office/admin/communities/new", post(communities::register))
        .route(
            "/office/admin/communities/{id}/registry",
            post(communities::save),
        )
}

/// `?done=CODE` after a change.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

pub(crate) fn see_other(to: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    res
}

/// Organisations where the user holds any grant.
fn own_orgs(ctx: &Ctx) -> BTreeSet<OrganisationId> {
    ctx.staff
        .grants()
        .iter()
        .filter(|g| g.role != Role::Citizen)
        .map(|g| g.organisation)
        .collect()
}

/// Does one of the user's grants of `roles` cover `org` (the organisation or a parent)?
pub(crate) fn covers(ctx: &Ctx, roles: &[Role], org: OrganisationId) -> bool {
    let tree = ctx.wf.organisations();
    ctx.staff
        .grants()
        .iter()
        .any(|g| roles.contains(&g.role) && tree.covers(g.organisation, org))
}

pub(crate) const FLAGS: [(&str, &str); 3] = [
    ("account_ready", "ЛКО готов к работе"),
    ("training_done", "Мной пройдено обучение"),
    ("widget_installed", "Виджет установлен на сайте"),
];

/// `GET /office/organisation`: the onboarding confirmations of the user's organisations.
pub(crate) async fn organisation(State(state): State<AppState>, staff: Staff) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut body = String::from("<h1>Организация</h1>");
    let scope = policy::user_admin(ctx.staff.grants(), &ctx.orgs, ctx.wf.organisations());
    for id in own_orgs(&ctx) {
        let Some(o) = ctx.org(id) else { continue };
        body.push_str(&format!(
            "<section aria-labelledby=\"org-{id}\"><h2 id=\"org-{id}\">{}</h2><p>Готовность к работе: {}%</p>",
            escape(&o.name),
            o.onboarding.percent()
        ));
        if scope.org(id) {
            body.push_str(&format!(
                "<p><a href=\"/office/admin/organisations/{id}\">Изменить название и контакты</a></p>"
            ));
        }
        body.push_str("<ul>");
        for (code, label) in FLAGS {
            let done = match code {
                "account_ready" => o.onboarding.account_ready,
                "training_done" => o.onboarding.training_done,
                _ => o.onboarding.widget_installed,
            };
            if done {
                body.push_str(&format!(
                    "<li>{label}: <span class=\"ok\">подтверждено</span></li>"
                ));
            } else {
                body.push_str(&format!(
                    "<li>{label}: требуется подтверждение \
<form method=\"post\" action=\"/office/organisation/{id}/onboarding\" class=\"inline\">{csrf}\
<input type=\"hidden\" name=\"flag\" value=\"{code}\"><button type=\"submit\" aria-label=\"Подтверждаю: {label}\">Подтверждаю</button></form></li>",
                    csrf = csrf_field(&ctx.staff),
                ));
            }
        }
        body.push_str("</ul></section>");
    }
    layout(&ctx.staff, "Организация", &body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct FlagForm {
    #[serde(default)]
    flag: String,
}

/// `POST /office/organisation/{id}/onboarding`: confirm one flag. Staff of the organisation
/// (or of a parent, or the regional administrator) may.
pub(crate) async fn confirm_onboarding(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<FlagForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let org = OrganisationId(id);
    let Some(o) = ctx.org(org) else {
        return office_error(
            &ctx.staff,
            StatusCode::NOT_FOUND,
            "Организация не найдена",
            "Такой организации нет.",
        );
    };
    let staff_roles = [
        Role::Moderator,
        Role::Coordinator,
        Role::Executor,
        Role::Head,
        Role::Curator,
        Role::RegionAdmin,
        Role::CommunityAdmin,
        Role::PollManager,
    ];
    if !covers(&ctx, &staff_roles, org) {
        return office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Подтверждать готовность может только сотрудник этой организации.",
        );
    }
    let mut onboarding = o.onboarding;
    match form.flag.as_str() {
        "account_ready" => onboarding.account_ready = true,
        "training_done" => onboarding.training_done = true,
        "widget_installed" => onboarding.widget_installed = true,
        _ => {
            return office_error(
                &ctx.staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Неизвестное подтверждение",
                "Такого подтверждения нет.",
            );
        }
    }
    if let Err(e) = ctx
        .state
        .store()
        .set_onboarding(org, onboarding, Some(ctx.staff.id()), ctx.now)
        .await
    {
        return internal(&e);
    }
    see_other("/office/organisation")
}

/// Roles that confirm users of the organisations they cover.
pub(crate) const CONFIRMERS: [Role; 2] = [Role::RegionAdmin, Role::Head];

#[derive(Debug, Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    confirmed: String,
}

/// `POST /office/users/{id}/confirm`.
pub(crate) async fn confirm_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let user = match ctx.state.store().user(UserId(id)).await {
        Ok(u) => u,
        Err(e) => return internal(&e),
    };
    let scope = policy::user_admin(ctx.staff.grants(), &ctx.orgs, ctx.wf.organisations());
    let Some(user) = user.filter(|u| {
        u.organisation.is_some_and(|o| covers(&ctx, &CONFIRMERS, o)) || scope.manages_user(u)
    }) else {
        return office_error(
            &ctx.staff,
            StatusCode::NOT_FOUND,
            "Пользователь не найден",
            "Такого пользователя нет в ваших организациях.",
        );
    };
    if user.id == ctx.staff.id() {
        return office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Свою учётную запись подтверждает руководитель или администратор.",
        );
    }
    let confirmed = form.confirmed == "1";
    if let Err(e) = ctx
        .state
        .store()
        .confirm_user(user.id, confirmed, Some(ctx.staff.id()), ctx.now)
        .await
    {
        return internal(&e);
    }
    if !confirmed && let Err(e) = ctx.state.store().end_user_sessions(user.id).await {
        return internal(&e);
    }
    see_other("/office/users")
}

/// `GET /office/admin/{list}`: read-only lists for the regional administrator.
pub(crate) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Path(list): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let tree = ctx.wf.organisations();
    let users_scope = policy::user_admin(ctx.staff.grants(), &ctx.orgs, tree);
    let registry_scope = policy::community_admin(ctx.staff.grants(), &ctx.orgs, tree);
    if !users_scope.any() && !registry_scope.any() {
        return office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Администрирование доступно администраторам региона, организаций и госпабликов.",
        );
    }
    let store = ctx.state.store();
    let tabs = "<p><a href=\"/office/admin/organisations\">Организации</a> · \
<a href=\"/office/admin/territories\">Территории</a> · <a href=\"/office/admin/categories\">Категории и сроки</a> · \
<a href=\"/office/admin/sources\">Источники</a> · <a href=\"/office/admin/communities\">Госпаблики</a> · \
<a href=\"/office/users\">Пользователи</a></p>";
    let (title, html) = match list.as_str() {
        "organisations" => {
            let mut t = String::from(
                "<table><thead><tr><th scope=\"col\">Код</th><th scope=\"col\">Название</th><th scope=\"col\">Тип</th>\
<th scope=\"col\">Вышестоящая</th><th scope=\"col\">Готовность</th><th scope=\"col\">ЛКО готов</th><th scope=\"col\">Обучение</th>\
<th scope=\"col\">Виджет</th></tr></thead><tbody>",
            );
            let yes = |b: bool| if b { "да" } else { "нет" };
            for o in ctx.orgs.iter().filter(|o| users_scope.org(o.id)) {
                t.push_str(&format!(
                    "<tr><td>{}</td><td><a href=\"/office/admin/organisations/{}\">{}</a></td><td>{}</td><td>{}</td>\
<td class=\"n\">{}%</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&o.code),
                    o.id,
                    escape(&o.name),
                    escape(o.kind.label_ru()),
                    escape(&o.parent.map_or_else(String::new, |p| ctx.org_name(Some(p)))),
                    o.onboarding.percent(),
                    yes(o.onboarding.account_ready),
                    yes(o.onboarding.training_done),
                    yes(o.onboarding.widget_installed),
                ));
            }
            t.push_str("</tbody></table><p><small>Новые организации, их коды, типы и подчинённость \
задаются импортом справочника (<code>otklik import</code>); название и контакты меняются по ссылке.</small></p>");
            ("Организации", t)
        }
        "territories" => {
            let territories = match store.territories().await {
                Ok(t) => t,
                Err(e) => return internal(&e),
            };
            let names: HashMap<_, _> = territories.iter().map(|t| (t.id, t.name.clone())).collect();
            let mut t = String::from(
                "<p class=\"note\" role=\"note\">Только просмотр: территории задаются импортом справочника \
(<code>otklik import territories ФАЙЛ.csv</code>) и здесь не меняются.</p>\
<table><thead><tr><th scope=\"col\">Код</th><th scope=\"col\">Название</th><th scope=\"col\">Тип</th><th scope=\"col\">Входит в</th></tr></thead><tbody>",
            );
            for x in &territories {
                t.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&x.code),
                    escape(&x.name),
                    escape(x.kind.label_ru()),
                    escape(
                        &x.parent
                            .and_then(|p| names.get(&p).cloned())
                            .unwrap_or_default()
                    ),
                ));
            }
            t.push_str("</tbody></table>");
            ("Территории", t)
        }
        "categories" => {
            let tree = &ctx.state.inner.info.tree;
            let mut t = String::from(
                "<p class=\"note\" role=\"note\">Только просмотр: категории, подкатегории и сроки ответа задаются \
в файле правил <code>rules/categories.toml</code> (маршрутизация — <code>rules/routing.toml</code>, \
производственный календарь — <code>rules/calendar/</code>) и вступают в силу после перезапуска сервера.</p>\
<table><thead><tr><th scope=\"col\">Категория</th><th scope=\"col\">Подкатегория</th>\
<th scope=\"col\">Срок, раб. дней</th><th scope=\"col\">Быстрое решение</th></tr></thead><tbody>",
            );
            for c in tree.categories() {
                for s in tree.subcategories().iter().filter(|s| s.category == c.id) {
                    t.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                        escape(&c.name),
                        escape(&s.name),
                        s.deadline_days,
                        s.fast_track
                            .map_or_else(String::new, |f| format!("{} дн.", f.deadline_days)),
                    ));
                }
            }
            t.push_str("</tbody></table>");
            ("Категории и сроки", t)
        }
        "sources" => match sources::page(&ctx, q.done.as_deref()).await {
            Ok(t) => ("Источники и состояние сборщиков", t),
            Err(r) => return r,
        },
        "communities" => match communities::page(&ctx, q.done.as_deref()).await {
            Ok(t) => ("Реестр госпабликов", t),
            Err(r) => return r,
        },
        _ => {
            return office_error(
                &ctx.staff,
                StatusCode::NOT_FOUND,
                "Раздел не найден",
                "Такого раздела нет.",
            );
        }
    };
    let body = format!("<h1>{title}</h1>{tabs}{html}");
    layout(&ctx.staff, title, &body)
}
