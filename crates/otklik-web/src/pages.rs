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
