//! An organisation's name, short name, site and contacts, with its onboarding status.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use otklik_domain::OrganisationId;
use otklik_store::OrganisationDetails;
use serde::Deserialize;

use super::form::{self, MAX_FIELD_CHARS, done_note, forbidden, not_found, refused};
use super::policy::user_admin;
use super::{DoneQuery, FLAGS, see_other};
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::backoffice::{Ctx, csrf_field, layout};
use crate::html::escape;

/// The organisation `id` when the user administers it (403 for non-administrators, 404 for
/// organisations out of reach).
#[allow(clippy::result_large_err)] // axum's Response is the refusal itself
fn check(ctx: &Ctx, id: i64) -> Result<OrganisationId, Response> {
    let scope = user_admin(ctx.staff.grants(), &ctx.orgs, ctx.wf.organisations());
    if !scope.any() {
        return Err(forbidden(
            &ctx.staff,
            "Сведения об организации меняет администратор региона или организации.",
        ));
    }
    let org = OrganisationId(id);
    if ctx.org(org).is_none() || !scope.org(org) {
        return Err(not_found(
            &ctx.staff,
            "Организация не найдена",
            "Такой организации нет среди ваших.",
        ));
    }
    Ok(org)
}

/// `GET /office/admin/organisations/{id}`.
pub(crate) async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let org = match check(&ctx, id) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(o) = ctx.org(org) else {
        return internal(&"organisation vanished");
    };
    let d = match ctx.state.store().organisation_details(org).await {
        Ok(Some(d)) => d,
        Ok(None) => return internal(&"organisation vanished"),
        Err(e) => return internal(&e),
    };
    let mut flags = String::new();
    for (code, label) in FLAGS {
        let done = match code {
            "account_ready" => o.onboarding.account_ready,
            "training_done" => o.onboarding.training_done,
            _ => o.onboarding.widget_installed,
        };
        flags.push_str(&format!(
            "<li>{label}: {}</li>",
            if done {
                "<span class=\"ok\">подтверждено</span>"
            } else {
                "не подтверждено"
            }
        ));
    }
    let input = |id: &str, name: &str, label: &str, value: Option<&str>, kind: &str| {
        format!(
            "<p><label for=\"{id}\">{label}</label><br><input id=\"{id}\" name=\"{name}\" type=\"{kind}\" \
maxlength=\"{MAX_FIELD_CHARS}\" value=\"{}\"></p>",
            escape(value.unwrap_or(""))
        )
    };
    let body = format!(
        "<h1>{name}</h1>{done}<p>Код: {code}. Тип: {kind}. Вышестоящая: {parent}.</p>\
<h2>Готовность к работе: {percent}%</h2><ul>{flags}</ul>\
<h2>Сведения и контакты</h2>\
<form method=\"post\" action=\"/office/admin/organisations/{id}\" class=\"action\">{csrf}\
<p><label for=\"o-name\">Полное название</label><br><input id=\"o-name\" name=\"name\" required maxlength=\"{MAX_FIELD_CHARS}\" value=\"{name}\"></p>\
{short}{site}{email}{phone}{address}<p><button type=\"submit\">Сохранить</button></p></form>\
<p><small>Код, тип, вышестоящая организация, территория и компетенции задаются импортом справочника \
(<code>otklik import</code>); повторный импорт перезапишет название, краткое название и сайт.</small></p>\
<p><a href=\"/office/admin/organisations\">Все организации</a></p>",
        name = escape(&d.name),
        done = done_note(q.done.as_deref()),
        code = escape(&o.code),
        kind = escape(o.kind.label_ru()),
        parent = escape(
            &o.parent
                .map_or_else(|| "нет".to_owned(), |p| ctx.org_name(Some(p)))
        ),
        percent = o.onboarding.percent(),
        csrf = csrf_field(&ctx.staff),
        short = input(
            "o-short",
            "short_name",
            "Краткое название",
            d.short_name.as_deref(),
            "text"
        ),
        site = input("o-site", "site_url", "Сайт", d.site_url.as_deref(), "url"),
        email = input(
            "o-email",
            "contact_email",
            "Электронная почта",
            d.contact_email.as_deref(),
            "email"
        ),
        phone = input(
            "o-phone",
            "contact_phone",
            "Телефон",
            d.contact_phone.as_deref(),
            "tel"
        ),
        address = input(
            "o-address",
            "contact_address",
            "Почтовый адрес",
            d.contact_address.as_deref(),
            "text"
        ),
    );
    layout(&ctx.staff, "Организация", &body)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DetailsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    site_url: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    contact_address: String,
}

fn details(f: &DetailsForm) -> Result<OrganisationDetails, String> {
    let name = form::field("Полное название", &f.name, true, MAX_FIELD_CHARS)?.unwrap_or_default();
    let phone = form::field("Телефон", &f.contact_phone, false, 50)?;
    if phone.as_deref().is_some_and(|p| {
        !p.chars()
            .all(|c| c.is_ascii_digit() || " +()-.,доб".contains(c))
    }) {
        return Err(
            "Поле «Телефон»: только цифры, пробелы и знаки + ( ) - (пример: +7 (3952) 20-00-00)."
                .into(),
        );
    }
    Ok(OrganisationDetails {
        name,
        short_name: form::field("Краткое название", &f.short_name, false, MAX_FIELD_CHARS)?,
        site_url: form::site("Сайт", &f.site_url)?,
        contact_email: form::email("Электронная почта", &f.contact_email)?,
        contact_phone: phone,
        contact_address: form::field("Почтовый адрес", &f.contact_address, false, MAX_FIELD_CHARS)?,
    })
}

/// `POST /office/admin/organisations/{id}`.
pub(crate) async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<DetailsForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let org = match check(&ctx, id) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let back = format!("/office/admin/organisations/{id}");
    let d = match details(&f) {
        Ok(d) => d,
        Err(e) => return refused(&ctx.staff, &back, &e),
    };
    match ctx
        .state
        .store()
        .update_organisation_details(org, &d, Some(ctx.staff.id()), ctx.now)
        .await
    {
        Ok(()) => see_other(&format!("{back}?done=saved")),
        Err(otklik_store::StoreError::Invalid(_)) => {
            refused(&ctx.staff, &back, "Проверьте поля формы.")
        }
        Err(e) => internal(&e),
    }
}
