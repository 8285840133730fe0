//! Staff accounts: the list (with confirmation), creating an account in one's organisations,
//! roles, blocking, and a one-time password shown once.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use otklik_domain::{EntityKind, OrganisationId, Role, RoleGrant, UserId};
use otklik_store::{NewStaffUser, StaffAccount, StoreError, is_valid_login};
use serde::Deserialize;

use super::form::{self, MAX_FIELD_CHARS, done_note, forbidden, not_found, refused};
use super::policy::{AdminScope, user_admin};
use super::{CONFIRMERS, DoneQuery, covers, see_other};
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::backoffice::{Ctx, csrf_field, fmt_time, layout};
use crate::html::escape;

/// Roles an administrator may grant (every staff role).
const STAFF_ROLES: [Role; 9] = [
    Role::Moderator,
    Role::Coordinator,
    Role::Executor,
    Role::Head,
    Role::Curator,
    Role::RegionAdmin,
    Role::Analyst,
    Role::CommunityAdmin,
    Role::PollManager,
];

fn scope_of(ctx: &Ctx) -> AdminScope {
    user_admin(ctx.staff.grants(), &ctx.orgs, ctx.wf.organisations())
}

/// `<option>`s of the organisations in scope.
pub(super) fn org_options(
    ctx: &Ctx,
    scope: &AdminScope,
    selected: Option<OrganisationId>,
) -> String {
    let mut html = String::new();
    for o in ctx.orgs.iter().filter(|o| scope.org(o.id)) {
        let sel = if Some(o.id) == selected {
            " selected"
        } else {
            ""
        };
        html.push_str(&format!(
            "<option value=\"{}\"{sel}>{}</option>",
            o.id,
            escape(&o.name)
        ));
    }
    html
}

fn role_options(with_none: bool) -> String {
    let mut html = String::new();
    if with_none {
        html.push_str("<option value=\"\">без роли</option>");
    }
    for r in STAFF_ROLES {
        html.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            r.code(),
            escape(r.label_ru())
        ));
    }
    html
}

fn roles_text(ctx: &Ctx, roles: &[RoleGrant]) -> String {
    roles
        .iter()
        .map(|g| {
            format!(
                "{} ({})",
                g.role.label_ru(),
                ctx.org_name(Some(g.organisation))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /office/users`: accounts of the organisations the user administers or heads, with
/// their confirmation; the form creating an account for administrators.
pub(crate) async fn users(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = scope_of(&ctx);
    if !scope.any() && !CONFIRMERS.iter().any(|r| ctx.staff.has_role(*r)) {
        return forbidden(
            &ctx.staff,
            "Список пользователей доступен руководителям и администраторам.",
        );
    }
    let all = match ctx.state.store().staff_accounts().await {
        Ok(u) => u,
        Err(e) => return internal(&e),
    };
    let mine: Vec<&StaffAccount> = all
        .iter()
        .filter(|a| {
            scope.sees_user(&a.user)
                || a.user
                    .organisation
                    .is_some_and(|o| covers(&ctx, &CONFIRMERS, o))
        })
        .collect();
    let confirmed = mine.iter().filter(|a| a.user.confirmed).count();
    let mut body = format!(
        "<h1>Пользователи</h1>{}<p>Подтверждённых пользователей: {confirmed} из {}</p>",
        done_note(q.done.as_deref()),
        mine.len()
    );
    if scope.any() {
        body.push_str(&format!(
            "<details><summary>Создать пользователя</summary>\
<form method=\"post\" action=\"/office/users/new\" class=\"action\">{csrf}\
<p><label for=\"u-login\">Логин</label><br><input id=\"u-login\" name=\"login\" required maxlength=\"64\" pattern=\"[A-Za-z0-9._\\-]+\" autocomplete=\"off\"> \
<small>латинские буквы, цифры, точка, дефис, подчёркивание</small></p>\
<p><label for=\"u-name\">ФИО</label><br><input id=\"u-name\" name=\"full_name\" required maxlength=\"{MAX_FIELD_CHARS}\"></p>\
<p><label for=\"u-email\">Электронная почта</label><br><input id=\"u-email\" name=\"email\" type=\"email\" maxlength=\"{MAX_FIELD_CHARS}\"></p>\
<p><label for=\"u-org\">Организация</label><br><select id=\"u-org\" name=\"organisation\">{orgs}</select></p>\
<p><label for=\"u-role\">Роль в этой организации</label><br><select id=\"u-role\" name=\"role\">{roles}</select></p>\
<p><input type=\"checkbox\" id=\"u-confirmed\" name=\"confirmed\" value=\"1\"> <label for=\"u-confirmed\">Подтверждённый пользователь</label></p>\
<p><button type=\"submit\">Создать</button></p></form></details>",
            csrf = csrf_field(&ctx.staff),
            orgs = org_options(&ctx, &scope, None),
            roles = role_options(true),
        ));
    }
    body.push_str(
        "<table><thead><tr><th scope=\"col\">Логин</th><th scope=\"col\">ФИО</th><th scope=\"col\">Организация</th>\
<th scope=\"col\">Роли</th><th scope=\"col\">Подтверждён</th><th scope=\"col\">Состояние</th></tr></thead><tbody>",
    );
    for a in &mine {
        let u = &a.user;
        let may_confirm =
            u.organisation.is_some_and(|o| covers(&ctx, &CONFIRMERS, o)) || scope.manages_user(u);
        let action = match (u.confirmed, may_confirm && u.id != ctx.staff.id()) {
            (true, true) => format!(
                "да <form method=\"post\" action=\"/office/users/{id}/confirm\" class=\"inline\">{csrf}\
<input type=\"hidden\" name=\"confirmed\" value=\"0\"><button type=\"submit\" aria-label=\"Снять подтверждение: {name}\">Снять</button></form>",
                id = u.id,
                csrf = csrf_field(&ctx.staff),
                name = escape(&u.full_name),
            ),
            (false, true) => format!(
                "нет <form method=\"post\" action=\"/office/users/{id}/confirm\" class=\"inline\">{csrf}\
<input type=\"hidden\" name=\"confirmed\" value=\"1\"><button type=\"submit\" aria-label=\"Подтвердить: {name}\">Подтвердить</button></form>",
                id = u.id,
                csrf = csrf_field(&ctx.staff),
                name = escape(&u.full_name),
            ),
            (c, false) => (if c { "да" } else { "нет" }).to_owned(),
        };
        let login = if scope.sees_user(u) {
            format!(
                "<a href=\"/office/users/{}\">{}</a>",
                u.id,
                escape(&u.login)
            )
        } else {
            escape(&u.login)
        };
        let state_text = match (a.blocked_at, a.has_password) {
            (Some(_), _) => "заблокирован",
            (None, true) => "активен",
            (None, false) => "пароль не задан",
        };
        body.push_str(&format!(
            "<tr><td>{login}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td><td>{state_text}</td></tr>",
            escape(&u.full_name),
            escape(&ctx.org_name(u.organisation)),
            escape(&roles_text(&ctx, &u.roles)),
        ));
    }
    body.push_str("</tbody></table>");
    layout(&ctx.staff, "Пользователи", &body)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CreateForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    confirmed: String,
}

fn parse_org(raw: &str) -> Option<OrganisationId> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .map(OrganisationId)
}

fn parse_role(raw: &str) -> Option<Role> {
    raw.trim()
        .parse::<Role>()
        .ok()
        .filter(|r| STAFF_ROLES.contains(r))
}

/// `POST /office/users/new`: creates an account in an organisation in scope.
pub(crate) async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<CreateForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = scope_of(&ctx);
    if !scope.any() {
        return forbidden(
            &ctx.staff,
            "Создавать пользователей может администратор региона или организации.",
        );
    }
    let back = "/office/users";
    let login = f.login.trim();
    if !is_valid_login(login) {
        return refused(
            &ctx.staff,
            back,
            "Логин: от 1 до 64 символов — латинские буквы, цифры, точка, дефис или подчёркивание.",
        );
    }
    let full_name = match form::field("ФИО", &f.full_name, true, MAX_FIELD_CHARS) {
        Ok(Some(v)) => v,
        Ok(None) => return refused(&ctx.staff, back, "Заполните поле «ФИО»."),
        Err(e) => return refused(&ctx.staff, back, &e),
    };
    let email = match form::email("Электронная почта", &f.email) {
        Ok(v) => v,
        Err(e) => return refused(&ctx.staff, back, &e),
    };
    let Some(org) = parse_org(&f.organisation).filter(|o| ctx.org(*o).is_some()) else {
        return refused(&ctx.staff, back, "Выберите организацию из списка.");
    };
    if !scope.org(org) {
        return forbidden(
            &ctx.staff,
            "Создавать пользователей можно только в своей организации.",
        );
    }
    let roles = if f.role.trim().is_empty() {
        vec![]
    } else {
        match parse_role(&f.role) {
            Some(role) => vec![RoleGrant {
                role,
                organisation: org,
            }],
            None => return refused(&ctx.staff, back, "Выберите роль из списка."),
        }
    };
    let new = NewStaffUser {
        login: login.to_owned(),
        full_name,
        email,
        organisation: org,
        confirmed: f.confirmed == "1",
        roles,
    };
    match ctx
        .state
        .store()
        .create_staff_user(&new, Some(ctx.staff.id()), ctx.now)
        .await
    {
        Ok(u) => see_other(&format!("/office/users/{}?done=created", u.id)),
        Err(StoreError::Duplicate { .. }) => refused(
            &ctx.staff,
            back,
            "Пользователь с таким логином уже есть. Выберите другой логин.",
        ),
        Err(StoreError::Invalid(_)) => refused(&ctx.staff, back, "Проверьте поля формы."),
        Err(e) => internal(&e),
    }
}

/// The account `id` when the user may change it: 404 when out of sight, 403 when it reaches
/// beyond the user's organisations or (for changes) is the user's own.
async fn managed(
    ctx: &Ctx,
    scope: &AdminScope,
    id: i64,
    write: bool,
) -> Result<StaffAccount, Response> {
    if !scope.any() {
        return Err(forbidden(
            &ctx.staff,
            "Управлять пользователями может администратор региона или организации.",
        ));
    }
    let account = ctx
        .state
        .store()
        .staff_account(UserId(id))
        .await
        .map_err(|e| internal(&e))?;
    let Some(account) = account.filter(|a| scope.sees_user(&a.user)) else {
        return Err(not_found(
            &ctx.staff,
            "Пользователь не найден",
            "Такого пользователя нет в ваших организациях.",
        ));
    };
    if !scope.manages_user(&account.user) {
        return Err(forbidden(
            &ctx.staff,
            "У этого пользователя есть роли вне ваших организаций: его меняет администратор региона.",
        ));
    }
    if write && account.user.id == ctx.staff.id() {
        return Err(forbidden(
            &ctx.staff,
            "Свою учётную запись здесь менять нельзя: обратитесь к другому администратору.",
        ));
    }
    Ok(account)
}

/// `GET /office/users/{id}`: the account, its roles, blocking and password reset.
pub(crate) async fn user_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = scope_of(&ctx);
    let a = match managed(&ctx, &scope, id, false).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let u = &a.user;
    let own = u.id == ctx.staff.id();
    let csrf = csrf_field(&ctx.staff);
    let mut body = format!(
        "<h1>Пользователь {login}</h1>{done}<dl class=\"facts\"><dt>ФИО</dt><dd>{name}</dd>\
<dt>Электронная почта</dt><dd>{email}</dd><dt>Организация</dt><dd>{org}</dd>\
<dt>Подтверждён</dt><dd>{confirmed}</dd><dt>Состояние</dt><dd>{blocked}</dd><dt>Пароль</dt><dd>{pw}</dd></dl>",
        login = escape(&u.login),
        done = done_note(q.done.as_deref()),
        name = escape(&u.full_name),
        email = escape(u.email.as_deref().unwrap_or("—")),
        org = escape(&ctx.org_name(u.organisation)),
        confirmed = if u.confirmed { "да" } else { "нет" },
        blocked = a.blocked_at.map_or_else(
            || "активен".to_owned(),
            |t| format!("заблокирован с {}", fmt_time(t))
        ),
        pw = if a.has_password {
            "задан"
        } else {
            "не задан"
        },
    );
    body.push_str("<h2>Роли</h2>");
    if u.roles.is_empty() {
        body.push_str("<p>Ролей нет.</p>");
    } else {
        body.push_str("<ul>");
        for g in &u.roles {
            let label = format!(
                "{} ({})",
                g.role.label_ru(),
                ctx.org_name(Some(g.organisation))
            );
            body.push_str(&format!("<li>{}", escape(&label)));
            if !own {
                body.push_str(&format!(
                    " <form method=\"post\" action=\"/office/users/{id}/roles/remove\" class=\"inline\">{csrf}\
<input type=\"hidden\" name=\"role\" value=\"{role}\"><input type=\"hidden\" name=\"organisation\" value=\"{org}\">\
<button type=\"submit\" aria-label=\"Снять роль: {label}\">Снять</button></form>",
                    id = u.id,
                    role = g.role.code(),
                    org = g.organisation,
                    label = escape(&label),
                ));
            }
            body.push_str("</li>");
        }
        body.push_str("</ul>");
    }
    if own {
        body.push_str(
            "<p>Это ваша учётная запись: роли, блокировку и пароль меняет другой администратор.</p>",
        );
    } else {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/office/users/{id}/roles\" class=\"action\">{csrf}\
<label for=\"r-role\">Назначить роль</label> <select id=\"r-role\" name=\"role\">{roles}</select> \
<label for=\"r-org\">в организации</label> <select id=\"r-org\" name=\"organisation\">{orgs}</select> \
<button type=\"submit\">Назначить</button></form>",
            id = u.id,
            roles = role_options(false),
            orgs = org_options(&ctx, &scope, u.organisation),
        ));
        let (value, label) = if a.blocked_at.is_some() {
            ("0", "Разблокировать")
        } else {
            ("1", "Заблокировать")
        };
        body.push_str(&format!(
            "<h2>Доступ</h2><form method=\"post\" action=\"/office/users/{id}/block\" class=\"action\">{csrf}\
<input type=\"hidden\" name=\"blocked\" value=\"{value}\"><button type=\"submit\">{label}</button> \
<small>Заблокированный пользователь не может войти; его открытые сеансы завершаются.</small></form>\
<form method=\"post\" action=\"/office/users/{id}/password\" class=\"action\">{csrf}\
<button type=\"submit\">Задать одноразовый пароль</button> \
<small>Пароль будет показан один раз; открытые сеансы пользователя завершатся.</small></form>",
            id = u.id,
        ));
    }
    let trail = match ctx
        .state
        .store()
        .audit_trail(EntityKind::User, u.id.get())
        .await
    {
        Ok(t) => t,
        Err(e) => return internal(&e),
    };
    body.push_str("<h2>Журнал изменений</h2><ul>");
    for e in trail.iter().rev().take(20) {
        body.push_str(&format!(
            "<li>{} — {}</li>",
            fmt_time(e.event.at),
            escape(action_label(&e.event.action))
        ));
    }
    body.push_str("</ul><p><a href=\"/office/users\">Все пользователи</a></p>");
    layout(&ctx.staff, "Пользователь", &body)
}

fn action_label(action: &str) -> &str {
    match action {
        "created" => "создан",
        "role_granted" => "назначена роль",
        "role_revoked" => "снята роль",
        "block" => "заблокирован",
        "unblock" => "разблокирован",
        "password" => "задан пароль",
        "confirm" => "подтверждён",
        "unconfirm" => "подтверждение снято",
        "sign_in" => "вход",
        other => other,
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    organisation: String,
}

async fn change_role(state: AppState, staff: Staff, id: i64, f: RoleForm, grant: bool) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = scope_of(&ctx);
    let a = match managed(&ctx, &scope, id, true).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let back = format!("/office/users/{id}");
    let (Some(role), Some(org)) = (
        parse_role(&f.role),
        parse_org(&f.organisation).filter(|o| ctx.org(*o).is_some()),
    ) else {
        return refused(&ctx.staff, &back, "Выберите роль и организацию из списков.");
    };
    let g = RoleGrant {
        role,
        organisation: org,
    };
    if !scope.grants(g) {
        return forbidden(
            &ctx.staff,
            "Назначать и снимать роли можно только в своей организации.",
        );
    }
    let store = ctx.state.store();
    let changed = if grant {
        store
            .grant_role(a.user.id, g, Some(ctx.staff.id()), ctx.now)
            .await
    } else {
        store
            .revoke_role(a.user.id, g, Some(ctx.staff.id()), ctx.now)
            .await
    };
    match changed {
        Ok(true) if grant => see_other(&format!("{back}?done=role_granted")),
        Ok(true) => see_other(&format!("{back}?done=role_revoked")),
        Ok(false) => see_other(&format!("{back}?done=role_kept")),
        Err(e) => internal(&e),
    }
}

/// `POST /office/users/{id}/roles`: grants a role.
pub(crate) async fn grant_role(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Response {
    change_role(state, staff, id, f, true).await
}

/// `POST /office/users/{id}/roles/remove`: takes a role away.
pub(crate) async fn revoke_role(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Response {
    change_role(state, staff, id, f, false).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BlockForm {
    #[serde(default)]
    blocked: String,
}

/// `POST /office/users/{id}/block`: blocks (`blocked=1`) or unblocks (`0`) an account.
pub(crate) async fn block(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<BlockForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = scope_of(&ctx);
    let a = match managed(&ctx, &scope, id, true).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let blocked = match f.blocked.as_str() {
        "1" => true,
        "0" => false,
        _ => {
            return refused(
                &ctx.staff,
                &format!("/office/users/{id}"),
                "Неизвестное действие.",
            );
        }
    };
    match ctx
        .state
        .store()
        .set_user_blocked(a.user.id, blocked, Some(ctx.staff.id()), ctx.now)
        .await
    {
        Ok(_) => see_other(&format!(
            "/office/users/{id}?done={}",
            if blocked { "blocked" } else { "unblocked" }
        )),
        Err(e) => internal(&e),
    }
}

/// `POST /office/users/{id}/password`: sets a fresh one-time password and shows it once (it is
/// stored only as its argon2id hash; the account's sessions end).
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = scope_of(&ctx);
    let a = match managed(&ctx, &scope, id, true).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(password) = form::one_time_password() else {
        return internal(&"no randomness for a one-time password");
    };
    let copy = password.clone();
    let hash = match tokio::task::spawn_blocking(move || crate::auth::hash_password(&copy)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return internal(&e),
        Err(e) => return internal(&e),
    };
    if let Err(e) = ctx
        .state
        .store()
        .set_password_hash(a.user.id, Some(&hash), Some(ctx.staff.id()), ctx.now)
        .await
    {
        return internal(&e);
    }
    let blocked_note = if a.blocked_at.is_some() {
        "<p class=\"error\">Учётная запись заблокирована: войти можно будет после разблокировки.</p>"
    } else {
        ""
    };
    let mut res = layout(
        &ctx.staff,
        "Одноразовый пароль",
        &format!(
            "<h1>Одноразовый пароль</h1><p role=\"status\">Пароль пользователя {login} задан. \
Передайте его пользователю лично; он показан только сейчас и больше нигде не хранится.</p>\
<p><output id=\"one-time-password\" class=\"text\">{pw}</output></p>{blocked_note}\
<p><a href=\"/office/users/{id}\">Вернуться к пользователю</a></p>",
            login = escape(&a.user.login),
            pw = escape(&password),
            id = a.user.id,
        ),
    );
    *res.status_mut() = StatusCode::OK;
    res
}
