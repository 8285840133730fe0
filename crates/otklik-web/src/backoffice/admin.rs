//! Onboarding confirmations, confirmation of staff accounts, read-only administration lists.

use std::collections::{BTreeSet, HashMap};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use otklik_domain::{OrganisationId, Role, UserId};
use serde::Deserialize;

use super::{Ctx, csrf_field, fmt_time, layout, office_error};
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::html::escape;

fn see_other(to: &str) -> Response {
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
fn covers(ctx: &Ctx, roles: &[Role], org: OrganisationId) -> bool {
    let tree = ctx.wf.organisations();
    ctx.staff
        .grants()
        .iter()
        .any(|g| roles.contains(&g.role) && tree.covers(g.organisation, org))
}

const FLAGS: [(&str, &str); 3] = [
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
    for id in own_orgs(&ctx) {
        let Some(o) = ctx.org(id) else { continue };
        body.push_str(&format!(
            "<section aria-labelledby=\"org-{id}\"><h2 id=\"org-{id}\">{}</h2><p>Готовность к работе: {}%</p><ul>",
            escape(&o.name),
            o.onboarding.percent()
        ));
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
const CONFIRMERS: [Role; 2] = [Role::RegionAdmin, Role::Head];

/// `GET /office/users`: accounts of the organisations the user administers, with their
/// confirmation.
pub(crate) async fn users(State(state): State<AppState>, staff: Staff) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !CONFIRMERS.iter().any(|r| ctx.staff.has_role(*r)) {
        return office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Список пользователей доступен руководителям и администраторам.",
        );
    }
    let all = match ctx.state.store().users().await {
        Ok(u) => u,
        Err(e) => return internal(&e),
    };
    let mine: Vec<_> = all
        .into_iter()
        .filter(|u| u.organisation.is_some_and(|o| covers(&ctx, &CONFIRMERS, o)))
        .collect();
    let confirmed = mine.iter().filter(|u| u.confirmed).count();
    let mut body = format!(
        "<h1>Пользователи</h1><p>Подтверждённых пользователей: {confirmed} из {}</p>\
<table><thead><tr><th scope=\"col\">Логин</th><th scope=\"col\">ФИО</th><th scope=\"col\">Организация</th>\
<th scope=\"col\">Роли</th><th scope=\"col\">Подтверждён</th></tr></thead><tbody>",
        mine.len()
    );
    for u in &mine {
        let roles: Vec<String> = u
            .roles
            .iter()
            .map(|g| {
                format!(
                    "{} ({})",
                    g.role.label_ru(),
                    ctx.org_name(Some(g.organisation))
                )
            })
            .collect();
        let action = if u.confirmed {
            format!(
                "да <form method=\"post\" action=\"/office/users/{id}/confirm\" class=\"inline\">{csrf}\
<input type=\"hidden\" name=\"confirmed\" value=\"0\"><button type=\"submit\" aria-label=\"Снять подтверждение: {name}\">Снять</button></form>",
                id = u.id,
                csrf = csrf_field(&ctx.staff),
                name = escape(&u.full_name),
            )
        } else {
            format!(
                "нет <form method=\"post\" action=\"/office/users/{id}/confirm\" class=\"inline\">{csrf}\
<input type=\"hidden\" name=\"confirmed\" value=\"1\"><button type=\"submit\" aria-label=\"Подтвердить: {name}\">Подтвердить</button></form>",
                id = u.id,
                csrf = csrf_field(&ctx.staff),
                name = escape(&u.full_name),
            )
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            escape(&u.login),
            escape(&u.full_name),
            escape(&ctx.org_name(u.organisation)),
            escape(&roles.join(", ")),
        ));
    }
    body.push_str("</tbody></table>");
    layout(&ctx.staff, "Пользователи", &body)
}

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
    let Some(user) = user.filter(|u| u.organisation.is_some_and(|o| covers(&ctx, &CONFIRMERS, o)))
    else {
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
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !ctx.staff.has_role(Role::RegionAdmin) {
        return office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Администрирование доступно администратору региона.",
        );
    }
    let store = ctx.state.store();
    let tabs = "<p><a href=\"/office/admin/organisations\">Организации</a> · \
<a href=\"/office/admin/territories\">Территории</a> · <a href=\"/office/admin/categories\">Категории и сроки</a> · \
<a href=\"/office/admin/sources\">Источники</a> · <a href=\"/office/admin/communities\">Госпаблики</a></p>";
    let (title, table) = match list.as_str() {
        "organisations" => {
            let mut t = String::from(
                "<table><thead><tr><th scope=\"col\">Код</th><th scope=\"col\">Название</th><th scope=\"col\">Тип</th>\
<th scope=\"col\">Вышестоящая</th><th scope=\"col\">ЛКО готов</th><th scope=\"col\">Обучение</th><th scope=\"col\">Виджет</th></tr></thead><tbody>",
            );
            let yes = |b: bool| if b { "да" } else { "нет" };
            for o in &ctx.orgs {
                t.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&o.code),
                    escape(&o.name),
                    escape(o.kind.label_ru()),
                    escape(&o.parent.map_or_else(String::new, |p| ctx.org_name(Some(p)))),
                    yes(o.onboarding.account_ready),
                    yes(o.onboarding.training_done),
                    yes(o.onboarding.widget_installed),
                ));
            }
            ("Организации", t)
        }
        "territories" => {
            let territories = match store.territories().await {
                Ok(t) => t,
                Err(e) => return internal(&e),
            };
            let names: HashMap<_, _> = territories.iter().map(|t| (t.id, t.name.clone())).collect();
            let mut t = String::from(
                "<table><thead><tr><th scope=\"col\">Код</th><th scope=\"col\">Название</th><th scope=\"col\">Тип</th><th scope=\"col\">Входит в</th></tr></thead><tbody>",
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
            ("Территории", t)
        }
        "categories" => {
            let tree = &ctx.state.inner.info.tree;
            let mut t = String::from(
                "<table><thead><tr><th scope=\"col\">Категория</th><th scope=\"col\">Подкатегория</th>\
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
            ("Категории и сроки", t)
        }
        "sources" => {
            let health = match store.source_health().await {
                Ok(h) => h,
                Err(e) => return internal(&e),
            };
            let mut t = String::from(
                "<table><thead><tr><th scope=\"col\">Источник</th><th scope=\"col\">Сеть</th><th scope=\"col\">Включён</th>\
<th scope=\"col\">Собрано</th><th scope=\"col\">Последний успех</th><th scope=\"col\">Ошибок подряд</th><th scope=\"col\">Последняя ошибка</th></tr></thead><tbody>",
            );
            for h in &health {
                t.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                    escape(&h.source.name),
                    escape(h.source.network.label_ru()),
                    if h.source.enabled { "да" } else { "нет" },
                    h.items_total,
                    h.last_success_at.map_or_else(|| "—".to_owned(), fmt_time),
                    h.consecutive_failures,
                    escape(&h.last_error.as_deref().unwrap_or("").chars().take(200).collect::<String>()),
                ));
            }
            ("Источники и состояние сборщиков", t)
        }
        "communities" => {
            let communities = match store.communities().await {
                Ok(c) => c,
                Err(e) => return internal(&e),
            };
            let mut t = String::from(
                "<table><thead><tr><th scope=\"col\">Сеть</th><th scope=\"col\">Название</th><th scope=\"col\">Адрес</th>\
<th scope=\"col\">Организация</th><th scope=\"col\">Проверка</th></tr></thead><tbody>",
            );
            for c in &communities {
                t.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(c.network.label_ru()),
                    escape(&c.title),
                    escape(&c.url),
                    escape(&ctx.org_name(Some(c.organisation))),
                    escape(c.verification.label_ru()),
                ));
            }
            ("Реестр госпабликов", t)
        }
        _ => {
            return office_error(
                &ctx.staff,
                StatusCode::NOT_FOUND,
                "Раздел не найден",
                "Такого раздела нет.",
            );
        }
    };
    let body = format!("<h1>{title}</h1>{tabs}{table}</tbody></table>");
    layout(&ctx.staff, title, &body)
}
