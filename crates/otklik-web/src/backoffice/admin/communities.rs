//! The Госпаблики registry: registering an official community by its link (normalised to
//! `(network, id)` by `otklik_import::parse_community_url`, as `otklik communities import`
//! does), linking it to an organisation, setting its verification, and the checks of
//! `otklik communities check`: organisations lacking a required VK/OK page, silent pages.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use otklik_domain::directory::NewCommunity;
use otklik_domain::{CommunityId, Network, OrganisationId, Verification};
use otklik_import::{CommunityUrlError, community_url, parse_community_url};
use otklik_store::StoreError;
use serde::Deserialize;

use super::form::{self, MAX_FIELD_CHARS, done_note, forbidden, not_found, refused};
use super::policy::{AdminScope, community_admin};
use super::see_other;
use super::users::org_options;
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::backoffice::{Ctx, csrf_field, fmt_time};
use crate::html::escape;

const BACK: &str = "/office/admin/communities";
/// Networks where the law requires official pages.
const REQUIRED_NETWORKS: [Network; 2] = [Network::Vk, Network::Ok];
/// A page without posts for this many days is reported silent.
const INACTIVE_DAYS: i64 = 30;

#[allow(clippy::result_large_err)] // axum's Response is the refusal itself
fn scope(ctx: &Ctx) -> Result<AdminScope, Response> {
    let s = community_admin(ctx.staff.grants(), &ctx.orgs, ctx.wf.organisations());
    if s.any() {
        Ok(s)
    } else {
        Err(forbidden(
            &ctx.staff,
            "Реестром госпабликов управляет администратор региона, организации или госпабликов.",
        ))
    }
}

fn url_error_ru(e: &CommunityUrlError) -> String {
    match e {
        CommunityUrlError::Empty => "Укажите адрес сообщества.".into(),
        CommunityUrlError::NotUrl(_) => {
            "Это не адрес: укажите полную ссылку, например https://vk.com/name.".into()
        }
        CommunityUrlError::Scheme(_) => "Адрес должен начинаться с https://.".into(),
        CommunityUrlError::UnsupportedHost(_) => {
            "Поддерживаются сообщества ВКонтакте (vk.com), Одноклассников (ok.ru) и каналы Telegram (t.me).".into()
        }
        CommunityUrlError::NotCommunity { .. } => {
            "Ссылка ведёт не на сообщество (на человека, запись или служебную страницу): укажите адрес самого сообщества.".into()
        }
        CommunityUrlError::BadName { .. } => {
            "Недопустимое имя сообщества в ссылке.".into()
        }
        _ => "Адрес сообщества не разобран.".into(),
    }
}

/// The registry with its checks and forms.
pub(crate) async fn page(ctx: &Ctx, done: Option<&str>) -> Result<String, Response> {
    let scope = scope(ctx)?;
    let store = ctx.state.store();
    let all = store.communities().await.map_err(|e| internal(&e))?;
    let csrf = csrf_field(&ctx.staff);
    let mut html = done_note(done);
    html.push_str(&format!(
        "<h2>Зарегистрировать сообщество</h2><form method=\"post\" action=\"/office/admin/communities/new\" class=\"action\">{csrf}\
<p><label for=\"c-url\">Адрес сообщества</label><br><input id=\"c-url\" name=\"url\" required maxlength=\"{MAX_FIELD_CHARS}\" placeholder=\"https://vk.com/name\"></p>\
<p><label for=\"c-title\">Название</label><br><input id=\"c-title\" name=\"title\" required maxlength=\"{MAX_FIELD_CHARS}\"></p>\
<p><label for=\"c-org\">Организация</label><br><select id=\"c-org\" name=\"organisation\">{orgs}</select></p>\
<p><input type=\"checkbox\" id=\"c-required\" name=\"required\" value=\"1\" checked> <label for=\"c-required\">Обязательная страница организации (ВКонтакте, Одноклассники)</label></p>\
<p><button type=\"submit\">Зарегистрировать</button></p></form>",
        orgs = org_options(ctx, &scope, None),
    ));
    html.push_str(
        "<h2>Сообщества</h2><table><thead><tr><th scope=\"col\">Сеть</th><th scope=\"col\">Название</th><th scope=\"col\">Адрес</th>\
<th scope=\"col\">Организация, проверка, обязательная</th></tr></thead><tbody>",
    );
    for c in all.iter().filter(|c| scope.org(c.organisation)) {
        let reg = store.community(c.id).await.map_err(|e| internal(&e))?;
        let required = reg.as_ref().is_some_and(|r| r.required);
        let mut verif = String::new();
        for v in Verification::ALL {
            let sel = if *v == c.verification {
                " selected"
            } else {
                ""
            };
            verif.push_str(&format!(
                "<option value=\"{}\"{sel}>{}</option>",
                v.code(),
                escape(v.label_ru())
            ));
        }
        html.push_str(&format!(
            "<tr><td>{net}</td><td>{title}</td><td>{url}</td><td>\
<form method=\"post\" action=\"/office/admin/communities/{id}/registry\" class=\"inline\">{csrf}\
<label for=\"c{id}-org\" class=\"skip\">Организация</label><select id=\"c{id}-org\" name=\"organisation\">{orgs}</select> \
<label for=\"c{id}-v\" class=\"skip\">Проверка</label><select id=\"c{id}-v\" name=\"verification\">{verif}</select> \
<input type=\"checkbox\" id=\"c{id}-r\" name=\"required\" value=\"1\"{req}> <label for=\"c{id}-r\">обязательная</label> \
<button type=\"submit\" aria-label=\"Сохранить: {title}\">Сохранить</button></form></td></tr>",
            id = c.id,
            net = escape(c.network.label_ru()),
            title = escape(&c.title),
            url = escape(&c.url),
            orgs = org_options(ctx, &scope, Some(c.organisation)),
            req = if required { " checked" } else { "" },
        ));
    }
    html.push_str("</tbody></table>");

    // Checks (as `otklik communities check`).
    let missing = store
        .organisations_missing_required_pages(&REQUIRED_NETWORKS)
        .await
        .map_err(|e| internal(&e))?;
    let missing: Vec<_> = missing.iter().filter(|(o, _)| scope.org(o.id)).collect();
    html.push_str(&format!(
        "<h2>Проверка: организации без обязательных страниц ({})</h2>",
        missing.len()
    ));
    if missing.is_empty() {
        html.push_str("<p>У всех организаций есть обязательные страницы.</p>");
    } else {
        html.push_str("<ul>");
        for (o, nets) in &missing {
            let nets: Vec<&str> = nets.iter().map(|n| n.label_ru()).collect();
            html.push_str(&format!(
                "<li>{}: нет страницы {}</li>",
                escape(&o.name),
                escape(&nets.join(", "))
            ));
        }
        html.push_str("</ul>");
    }
    let inactive = store
        .inactive_communities(INACTIVE_DAYS, ctx.now)
        .await
        .map_err(|e| internal(&e))?;
    let inactive: Vec<_> = inactive
        .iter()
        .filter(|c| scope.org(c.community.organisation))
        .collect();
    html.push_str(&format!(
        "<h2>Проверка: страницы без записей {INACTIVE_DAYS} дней ({})</h2>",
        inactive.len()
    ));
    if inactive.is_empty() {
        html.push_str("<p>Неактивных страниц нет.</p>");
    } else {
        html.push_str("<ul>");
        for c in &inactive {
            html.push_str(&format!(
                "<li>{} — {} ({}): последняя запись {}</li>",
                escape(&c.community.title),
                escape(&c.community.url),
                escape(&ctx.org_name(Some(c.community.organisation))),
                c.last_post_at
                    .map_or_else(|| "не встречалась".to_owned(), fmt_time)
            ));
        }
        html.push_str("</ul>");
    }
    Ok(html)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    required: String,
}

fn parse_org(ctx: &Ctx, raw: &str) -> Option<OrganisationId> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .map(OrganisationId)
        .filter(|o| ctx.org(*o).is_some())
}

/// `POST /office/admin/communities/new`.
pub(crate) async fn register(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<RegisterForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = match scope(&ctx) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (network, external_id) = match parse_community_url(&f.url) {
        Ok(x) => x,
        Err(e) => return refused(&ctx.staff, BACK, &url_error_ru(&e)),
    };
    let title = match form::field("Название", &f.title, true, MAX_FIELD_CHARS) {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => return refused(&ctx.staff, BACK, &e),
    };
    let Some(org) = parse_org(&ctx, &f.organisation) else {
        return refused(&ctx.staff, BACK, "Выберите организацию из списка.");
    };
    if !scope.org(org) {
        return forbidden(
            &ctx.staff,
            "Регистрировать сообщества можно только для своей организации.",
        );
    }
    let Some(code) = ctx.org(org).map(|o| o.code.clone()) else {
        return refused(&ctx.staff, BACK, "Выберите организацию из списка.");
    };
    let url = community_url(network, &external_id).unwrap_or_else(|| f.url.trim().to_owned());
    let new = NewCommunity {
        network,
        external_id,
        url,
        title,
        organisation_code: code,
        verification: Verification::Pending,
    };
    let required = f.required == "1" && REQUIRED_NETWORKS.contains(&network);
    match ctx
        .state
        .store()
        .register_community(&new, required, Some(ctx.staff.id()), ctx.now)
        .await
    {
        Ok(_) => see_other(&format!("{BACK}?done=community_registered")),
        Err(StoreError::Duplicate { .. }) => refused(
            &ctx.staff,
            BACK,
            "Это сообщество уже зарегистрировано в реестре.",
        ),
        Err(e) => internal(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegistryForm {
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    verification: String,
    #[serde(default)]
    required: String,
}

/// `POST /office/admin/communities/{id}/registry`: organisation, verification, required page.
pub(crate) async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<RegistryForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = match scope(&ctx) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let current = match ctx.state.store().community(CommunityId(id)).await {
        Ok(c) => c,
        Err(e) => return internal(&e),
    };
    let Some(current) = current.filter(|c| scope.org(c.community.organisation)) else {
        return not_found(
            &ctx.staff,
            "Сообщество не найдено",
            "Такого сообщества нет среди сообществ ваших организаций.",
        );
    };
    let Some(org) = parse_org(&ctx, &f.organisation) else {
        return refused(&ctx.staff, BACK, "Выберите организацию из списка.");
    };
    if !scope.org(org) {
        return forbidden(
            &ctx.staff,
            "Передать сообщество можно только своей организации.",
        );
    }
    let Ok(verification) = f.verification.parse::<Verification>() else {
        return refused(&ctx.staff, BACK, "Выберите состояние проверки из списка.");
    };
    match ctx
        .state
        .store()
        .set_community_registry(
            current.community.id,
            org,
            verification,
            f.required == "1",
            Some(ctx.staff.id()),
            ctx.now,
        )
        .await
    {
        Ok(()) => see_other(&format!("{BACK}?done=community_saved")),
        Err(e) => internal(&e),
    }
}
