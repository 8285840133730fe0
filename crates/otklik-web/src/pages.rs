//! Server-rendered pages (Russian).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::AppState;
use crate::html::{escape, page};

/// `/`: the region at a glance.
pub async fn home(State(state): State<AppState>) -> Response {
    let counts = match state.store().counts().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "status page: cannot read counts");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(page("Ошибка", "<h1>База данных недоступна</h1>")),
            )
                .into_response();
        }
    };
    let region = state
        .inner
        .info
        .region
        .as_deref()
        .unwrap_or("Регион не загружен");
    let mut body = format!("<h1>{}</h1><div class=\"grid\">", escape(region));
    body.push_str("<section><h2>Справочники</h2><table>");
    for (label, n) in counts.rows_ru() {
        body.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{n}</td></tr>",
            escape(&label)
        ));
    }
    body.push_str("</table></section><section><h2>Классификатор и маршрутизация</h2><table>");
    for (label, n) in &state.inner.info.rules {
        body.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{n}</td></tr>",
            escape(label)
        ));
    }
    body.push_str("</table></section><section><h2>Сообщения по статусам</h2><table>");
    for (label, n) in counts.messages_ru() {
        body.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{n}</td></tr>",
            escape(&label)
        ));
    }
    body.push_str("</table></section></div>");
    match sources_section(&state).await {
        Ok(html) => body.push_str(&html),
        Err(e) => tracing::error!(error = %e, "status page: cannot read sources"),
    }
    match recent_messages(&state).await {
        Ok(html) => body.push_str(&html),
        Err(e) => tracing::error!(error = %e, "status page: cannot list messages"),
    }
    body.push_str(
        "<p>Служебные адреса: <a href=\"/healthz\">/healthz</a>, <a href=\"/version\">/version</a>, \
<a href=\"/metrics\">/metrics</a>.</p>",
    );
    Html(page(region, &body)).into_response()
}

/// Anything else: a Russian 404.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page("Не найдено", "<h1>Страница не найдена</h1>")),
    )
        .into_response()
}

/// The latest messages with their executor, as a table.
async fn recent_messages(state: &AppState) -> Result<String, otklik_store::StoreError> {
    let store = state.store();
    let messages = store
        .list_messages(otklik_store::MessageFilter {
            limit: Some(20),
            ..Default::default()
        })
        .await?;
    if messages.is_empty() {
        return Ok(String::new());
    }
    let orgs: std::collections::HashMap<_, _> = store
        .organisations()
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut html = String::from(
        "<section><h2>Последние сообщения</h2><table><thead><tr><th scope=\"col\">№</th>\
<th scope=\"col\">Канал</th><th scope=\"col\">Подкатегория</th><th scope=\"col\">Текст</th>\
<th scope=\"col\">Исполнитель</th><th scope=\"col\">Статус</th></tr></thead><tbody>",
    );
    for m in messages {
        let sub = state
            .inner
            .info
            .tree
            .subcategory(&m.subcategory)
            .map_or_else(|| m.subcategory.0.clone(), |s| s.name.clone());
        let executor = m.executor.and_then(|id| orgs.get(&id)).map_or_else(
            || "—".to_owned(),
            |o| o.short_name.clone().unwrap_or_else(|| o.name.clone()),
        );
        let text: String = m.text.chars().take(120).collect();
        html.push_str(&format!(
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.id,
            escape(m.channel.label_ru()),
            escape(&sub),
            escape(&text),
            escape(&executor),
            escape(m.status.label_ru()),
        ));
    }
    html.push_str("</tbody></table></section>");
    Ok(html)
}

fn format_time(t: Option<otklik_domain::Timestamp>) -> String {
    t.and_then(|t| jiff::Timestamp::from_millisecond(t.millis()).ok())
        .map_or_else(
            || "—".to_owned(),
            |ts| ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// Collector sources with their health: what the monitoring pipeline is doing.
async fn sources_section(state: &AppState) -> Result<String, otklik_store::StoreError> {
    let health = state.store().source_health().await?;
    if health.is_empty() {
        return Ok(String::new());
    }
    let collected: i64 = health.iter().map(|h| h.items_total).sum();
    let mut html = format!(
        "<section><h2>Мониторинг источников</h2><p>Собрано публикаций: \
<strong id=\"posts-collected\">{collected}</strong></p><table><thead><tr>\
<th scope=\"col\">Источник</th><th scope=\"col\">Сеть</th><th scope=\"col\">Собрано</th>\
<th scope=\"col\">Последний успех</th><th scope=\"col\">Состояние</th></tr></thead><tbody>"
    );
    for h in health {
        let state_text = if !h.source.enabled {
            "отключён".to_owned()
        } else if let Some(e) = h
            .last_error
            .as_deref()
            .filter(|_| h.consecutive_failures > 0)
        {
            let e: String = e.chars().take(120).collect();
            format!("ошибка ({}): {e}", h.circuit.label_ru())
        } else if h.last_success_at.is_some() {
            "работает".to_owned()
        } else {
            "ещё не опрашивался".to_owned()
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&h.source.name),
            escape(h.source.network.label_ru()),
            h.items_total,
            escape(&format_time(h.last_success_at)),
            escape(&state_text),
        ));
    }
    html.push_str("</tbody></table></section>");
    Ok(html)
}
