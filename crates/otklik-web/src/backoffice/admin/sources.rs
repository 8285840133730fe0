//! Collector sources and their health: last success, last error, lag, circuit; switching a
//! source on or off and adding one (the same store calls as `otklik sources add|enable|disable`).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use otklik_collect::schedule::Schedule;
use otklik_domain::directory::NewSource;
use otklik_domain::{Network, SourceId};
use otklik_store::StoreError;
use serde::Deserialize;

use super::form::{self, done_note, forbidden, not_found, refused};
use super::policy::user_admin;
use super::see_other;
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::backoffice::{Ctx, csrf_field, fmt_time};
use crate::html::escape;

const BACK: &str = "/office/admin/sources";

/// Only the region's administrator manages sources.
#[allow(clippy::result_large_err)] // axum's Response is the refusal itself
fn check(ctx: &Ctx) -> Result<(), Response> {
    if user_admin(ctx.staff.grants(), &ctx.orgs, ctx.wf.organisations()).region {
        Ok(())
    } else {
        Err(forbidden(
            &ctx.staff,
            "Источниками сбора управляет администратор региона.",
        ))
    }
}

/// A duration as «3 ч 20 мин».
fn human_ms(ms: i64) -> String {
    let min = ms / 60_000;
    match min {
        m if m < 1 => "меньше минуты".to_owned(),
        m if m < 60 => format!("{m} мин"),
        m if m < 48 * 60 => format!("{} ч {} мин", m / 60, m % 60),
        m => format!("{} дн.", m / (24 * 60)),
    }
}

/// The table of sources with health and switches, and the form adding one.
pub(crate) async fn page(ctx: &Ctx, done: Option<&str>) -> Result<String, Response> {
    check(ctx)?;
    let store = ctx.state.store();
    let health = store.source_health().await.map_err(|e| internal(&e))?;
    let territories = store.territories().await.map_err(|e| internal(&e))?;
    let csrf = csrf_field(&ctx.staff);
    let mut t = format!(
        "{}<table><thead><tr><th scope=\"col\">Источник</th><th scope=\"col\">Сеть</th><th scope=\"col\">Цель</th>\
<th scope=\"col\">Расписание</th><th scope=\"col\">Включён</th><th scope=\"col\">Собрано</th>\
<th scope=\"col\">Последний успех</th><th scope=\"col\">Отставание</th><th scope=\"col\">Ошибок подряд</th>\
<th scope=\"col\">Последняя ошибка</th><th scope=\"col\">Сборщик</th></tr></thead><tbody>",
        done_note(done)
    );
    for h in &health {
        let (value, label) = if h.source.enabled {
            ("0", "Выключить")
        } else {
            ("1", "Включить")
        };
        t.push_str(&format!(
            "<tr><td>{name}</td><td>{net}</td><td>{target}</td><td><code>{schedule}</code></td>\
<td>{enabled} <form method=\"post\" action=\"/office/admin/sources/{id}/enabled\" class=\"inline\">{csrf}\
<input type=\"hidden\" name=\"enabled\" value=\"{value}\"><button type=\"submit\" aria-label=\"{label}: {name}\">{label}</button></form></td>\
<td class=\"n\">{items}</td><td>{success}</td><td>{lag}</td><td class=\"n\">{failures}</td><td>{error}</td><td>{circuit}</td></tr>",
            id = h.source.id,
            name = escape(&h.source.name),
            net = escape(h.source.network.label_ru()),
            target = escape(&h.source.target),
            schedule = escape(&h.source.schedule),
            enabled = if h.source.enabled { "да" } else { "нет" },
            items = h.items_total,
            success = h.last_success_at.map_or_else(|| "—".to_owned(), fmt_time),
            lag = h.lag_ms(ctx.now).map_or_else(|| "—".to_owned(), human_ms),
            failures = h.consecutive_failures,
            error = escape(
                &h.last_error
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
            circuit = escape(h.circuit.label_ru()),
        ));
    }
    t.push_str("</tbody></table>");
    let mut networks = String::new();
    for n in Network::ALL {
        networks.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            n.code(),
            escape(n.label_ru())
        ));
    }
    let mut terr = String::from("<option value=\"\">не задана</option>");
    for x in &territories {
        terr.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            escape(&x.code),
            escape(&x.name)
        ));
    }
    t.push_str(&format!(
        "<h2>Добавить источник</h2><form method=\"post\" action=\"/office/admin/sources/new\" class=\"action\">{csrf}\
<p><label for=\"s-name\">Название (уникальное)</label><br><input id=\"s-name\" name=\"name\" required maxlength=\"100\"></p>\
<p><label for=\"s-network\">Сеть</label><br><select id=\"s-network\" name=\"network\">{networks}</select></p>\
<p><label for=\"s-target\">Цель</label><br><input id=\"s-target\" name=\"target\" required maxlength=\"300\"> \
<small>сообщество (vk.com/name), канал, адрес ленты RSS или страницы; для поиска VK — search</small></p>\
<p><label for=\"s-schedule\">Расписание</label><br><input id=\"s-schedule\" name=\"schedule\" value=\"0 */10 * * * *\" required maxlength=\"100\"> \
<small>cron с секундами: «сек мин час день месяц день_недели»</small></p>\
<p><label for=\"s-territory\">Территория</label><br><select id=\"s-territory\" name=\"territory\">{terr}</select></p>\
<p><input type=\"checkbox\" id=\"s-enabled\" name=\"enabled\" value=\"1\" checked> <label for=\"s-enabled\">Включить сразу</label></p>\
<p><button type=\"submit\">Добавить</button></p></form>"
    ));
    Ok(t)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    network: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    schedule: String,
    #[serde(default)]
    territory: String,
    #[serde(default)]
    enabled: String,
}

fn new_source(f: &AddForm) -> Result<NewSource, String> {
    let name = form::field("Название", &f.name, true, 100)?.unwrap_or_default();
    let Ok(network) = f.network.trim().parse::<Network>() else {
        return Err("Выберите сеть из списка.".into());
    };
    let target = form::field("Цель", &f.target, true, 300)?.unwrap_or_default();
    let schedule = form::field("Расписание", &f.schedule, true, 100)?.unwrap_or_default();
    if Schedule::parse(&schedule).is_err() {
        return Err(
            "Расписание не разобрано: нужно 6 полей «сек мин час день месяц день_недели», \
например «0 */10 * * * *»; дни недели пишутся названиями (Mon-Fri)."
                .into(),
        );
    }
    let territory_code = form::field("Территория", &f.territory, false, 100)?;
    Ok(NewSource {
        name,
        network,
        target,
        schedule,
        territory_code,
        enabled: f.enabled == "1",
    })
}

/// `POST /office/admin/sources/new`.
pub(crate) async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<AddForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check(&ctx) {
        return r;
    }
    let new = match new_source(&f) {
        Ok(n) => n,
        Err(e) => return refused(&ctx.staff, BACK, &e),
    };
    match ctx
        .state
        .store()
        .add_source(&new, Some(ctx.staff.id()), ctx.now)
        .await
    {
        Ok(_) => see_other(&format!("{BACK}?done=source_added")),
        Err(StoreError::Duplicate { .. }) => refused(
            &ctx.staff,
            BACK,
            "Источник с таким названием уже есть. Выберите другое название.",
        ),
        Err(StoreError::UnknownReference { .. }) => {
            refused(&ctx.staff, BACK, "Такой территории нет в справочнике.")
        }
        Err(StoreError::Invalid(_)) => refused(&ctx.staff, BACK, "Заполните название и цель."),
        Err(e) => internal(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EnabledForm {
    #[serde(default)]
    enabled: String,
}

/// `POST /office/admin/sources/{id}/enabled`: `enabled=1` or `0`.
pub(crate) async fn switch(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<EnabledForm>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check(&ctx) {
        return r;
    }
    let enabled = match f.enabled.as_str() {
        "1" => true,
        "0" => false,
        _ => return refused(&ctx.staff, BACK, "Неизвестное действие."),
    };
    let sources = match ctx.state.store().sources().await {
        Ok(s) => s,
        Err(e) => return internal(&e),
    };
    let Some(source) = sources.iter().find(|s| s.id == SourceId(id)) else {
        return not_found(&ctx.staff, "Источник не найден", "Такого источника нет.");
    };
    match ctx
        .state
        .store()
        .set_source_enabled(&source.name, enabled, Some(ctx.staff.id()), ctx.now)
        .await
    {
        Ok(_) => see_other(&format!(
            "{BACK}?done={}",
            if enabled {
                "source_enabled"
            } else {
                "source_disabled"
            }
        )),
        Err(e) => internal(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_checked_in_russian() {
        let ok = AddForm {
            name: "vk-adm".into(),
            network: "vk".into(),
            target: "https://vk.com/adm".into(),
            schedule: "0 */10 * * * *".into(),
            territory: String::new(),
            enabled: "1".into(),
        };
        assert!(new_source(&ok).is_ok());
        let five = AddForm {
            schedule: "*/10 * * * *".into(),
            ..AddForm::default()
        };
        assert!(
            new_source(&AddForm {
                name: "x".into(),
                network: "vk".into(),
                target: "t".into(),
                ..five
            })
            .expect_err("refused")
            .contains("Расписание")
        );
        assert!(
            new_source(&AddForm {
                network: "myspace".into(),
                name: "x".into(),
                ..AddForm::default()
            })
            .expect_err("refused")
            .contains("сеть")
        );
    }
}
