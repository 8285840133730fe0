//! The citizen's own messages (`/my/messages`, `/my/messages/{id}`: only one's own, others'
//! are 404) and the rating page of the signed link (`/rate?t=TOKEN`).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use otklik_domain::{MessageId, MessageRecord, MessageStatus, Timestamp};
use otklik_notify::RatingLinkError;
use serde::Deserialize;

use super::{Citizen, citizen_page, notice};
use crate::AppState;
use crate::auth::{internal, now, origin_ok};
use crate::html::escape;

/// Messages shown on `/my/messages`.
const MY_PAGE: i64 = 200;

/// «12.03.2025» in Moscow time.
pub(crate) fn date_ru(t: Timestamp) -> String {
    let z = jiff::Timestamp::from_millisecond(t.millis())
        .map(|ts| ts.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(3))));
    match z {
        Ok(z) => format!("{:02}.{:02}.{}", z.day(), z.month(), z.year()),
        Err(_) => "—".into(),
    }
}

fn subcategory_name(state: &AppState, r: &MessageRecord) -> String {
    state
        .inner
        .info
        .tree
        .subcategory(&r.message.subcategory)
        .map_or_else(|| r.message.subcategory.0.clone(), |s| s.name.clone())
}

fn answered(r: &MessageRecord) -> bool {
    matches!(
        r.message.status,
        MessageStatus::Answered | MessageStatus::Rated | MessageStatus::Closed
    )
}

fn logout_form(c: &Citizen) -> String {
    format!(
        "<form method=\"post\" action=\"/citizen/logout\" class=\"logout\">\
<input type=\"hidden\" name=\"_csrf\" value=\"{}\"><button type=\"submit\">Выйти</button></form>",
        escape(c.csrf_token())
    )
}

/// `GET /my/messages`.
pub(crate) async fn my_messages(State(state): State<AppState>, citizen: Citizen) -> Response {
    let list = match state
        .store()
        .messages_of_author(citizen.id(), MY_PAGE)
        .await
    {
        Ok(l) => l,
        Err(e) => return internal(&e),
    };
    let mut body = format!(
        "<h1>Мои сообщения</h1><p>{}</p>",
        escape(&citizen.user.full_name)
    );
    if list.is_empty() {
        body.push_str("<p>Вы ещё не отправляли сообщений.</p>");
    } else {
        body.push_str(
            "<table><caption class=\"visually-hidden\">Ваши сообщения и их состояние</caption>\
<thead><tr><th scope=\"col\">№</th><th scope=\"col\">Дата</th><th scope=\"col\">Тема</th>\
<th scope=\"col\">Состояние</th><th scope=\"col\">Ответ</th></tr></thead><tbody>",
        );
        for r in &list {
            let m = &r.message;
            let answer = if answered(r) {
                r.answer_text.as_deref().map_or_else(String::new, |a| {
                    format!("<div class=\"answer\">{}</div>", escape(a))
                })
            } else if m.status == MessageStatus::Rejected {
                r.rejection_reason
                    .as_deref()
                    .map_or_else(String::new, |a| format!("Причина: {}", escape(a)))
            } else {
                format!("ожидается до {}", date_ru(m.deadline_at))
            };
            body.push_str(&format!(
                "<tr><td><a href=\"/my/messages/{id}\">{id}</a></td><td>{date}</td>\
<td>{topic}<br><small>{text}</small></td><td>{status}</td><td>{answer}</td></tr>",
                id = m.id,
                date = date_ru(m.created_at),
                topic = escape(&subcategory_name(&state, r)),
                text = escape(&m.text.chars().take(160).collect::<String>()),
                status = escape(m.status.label_ru()),
            ));
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(&logout_form(&citizen));
    citizen_page(StatusCode::OK, "Мои сообщения", &body)
}

fn not_found() -> Response {
    notice(
        StatusCode::NOT_FOUND,
        "Сообщение не найдено",
        "Такого сообщения нет среди ваших.",
        &[("/my/messages", "Мои сообщения")],
    )
}

/// `GET /my/messages/{id}`: one's own message; anyone else's is 404.
pub(crate) async fn my_message(
    State(state): State<AppState>,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let r = match state.store().message_record(MessageId(id)).await {
        Ok(Some(r)) if r.message.author == Some(citizen.id()) => r,
        Ok(_) => return not_found(),
        Err(e) => return internal(&e),
    };
    let m = &r.message;
    let mut facts = vec![
        ("Тема", subcategory_name(&state, &r)),
        ("Состояние", m.status.label_ru().to_owned()),
        ("Отправлено", date_ru(m.created_at)),
        ("Срок ответа", date_ru(m.deadline_at)),
    ];
    if let Some(a) = &m.address {
        facts.push(("Адрес", a.clone()));
    }
    if let Some(rating) = m.rating {
        facts.push(("Ваша оценка", format!("{rating} из 5")));
    }
    let mut body = format!("<h1>Сообщение № {}</h1><table>", m.id);
    for (k, v) in facts {
        body.push_str(&format!(
            "<tr><th scope=\"row\">{k}</th><td>{}</td></tr>",
            escape(&v)
        ));
    }
    body.push_str(&format!(
        "</table><h2>Текст</h2><div class=\"answer\">{}</div>",
        escape(&m.text)
    ));
    match state.store().attachments_of(m.id).await {
        Ok(files) if !files.is_empty() => {
            body.push_str("<h2>Вложения</h2><ul>");
            for f in files {
                body.push_str(&format!(
                    "<li>{} ({} КБ)</li>",
                    escape(&f.file_name),
                    (f.size_bytes + 1023) / 1024
                ));
            }
            body.push_str("</ul>");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot list attachments"),
    }
    if answered(&r)
        && let Some(a) = &r.answer_text
    {
        body.push_str(&format!(
            "<h2>Ответ</h2><div class=\"answer\">{}</div>",
            escape(a)
        ));
    }
    if m.status == MessageStatus::Rejected
        && let Some(reason) = &r.rejection_reason
    {
        body.push_str(&format!(
            "<h2>Сообщение отклонено</h2><p>{}</p>",
            escape(reason)
        ));
    }
    body.push_str("<p><a href=\"/my/messages\">Все мои сообщения</a></p>");
    citizen_page(StatusCode::OK, &format!("Сообщение № {}", m.id), &body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RateQuery {
    #[serde(default)]
    t: String,
}

fn link_refused(e: &RatingLinkError) -> Response {
    let (status, text) = match e {
        RatingLinkError::Expired => (
            StatusCode::GONE,
            "Срок действия ссылки для оценки истёк. Оценить ответ по ней уже нельзя.",
        ),
        RatingLinkError::AlreadyUsed => (
            StatusCode::CONFLICT,
            "Эта ссылка уже использована: ответ оценён. Спасибо!",
        ),
        RatingLinkError::BadRating(_) => {
            (StatusCode::BAD_REQUEST, "Выберите оценку от 1 до 5 звёзд.")
        }
        _ => (
            StatusCode::BAD_REQUEST,
            "Ссылка для оценки недействительна: она повреждена или подделана. Откройте ссылку из письма целиком.",
        ),
    };
    notice(status, "Оценка ответа", text, &[])
}

fn links_unavailable() -> Response {
    notice(
        StatusCode::SERVICE_UNAVAILABLE,
        "Оценка ответа",
        "Оценка ответов по ссылке на этом сервере не настроена.",
        &[],
    )
}

/// Verifies the token and checks it was not used; the message to rate.
async fn rateable(state: &AppState, token: &str) -> Result<MessageRecord, Response> {
    let Some(links) = state.citizen_config().rating_links.as_ref() else {
        return Err(links_unavailable());
    };
    let verified = links.verify(token, now()).map_err(|e| link_refused(&e))?;
    match state.store().rating_link_use(&verified.token_digest).await {
        Ok(Some(_)) => return Err(link_refused(&RatingLinkError::AlreadyUsed)),
        Ok(None) => {}
        Err(e) => return Err(internal(&e)),
    }
    match state.store().message_record(verified.message).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(link_refused(&RatingLinkError::Malformed)),
        Err(e) => Err(internal(&e)),
    }
}

/// `GET /rate?t=TOKEN`: the answer and five accessible radio buttons.
pub(crate) async fn rate_form(
    State(state): State<AppState>,
    Query(q): Query<RateQuery>,
) -> Response {
    let r = match rateable(&state, &q.t).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    if r.message.status != MessageStatus::Answered {
        return notice(
            StatusCode::CONFLICT,
            "Оценка ответа",
            "Этот ответ уже оценён или сообщение закрыто.",
            &[],
        );
    }
    let mut body = format!(
        "<h1>Оцените ответ на сообщение № {}</h1><h2>Ваше сообщение</h2><div class=\"answer\">{}</div>",
        r.message.id,
        escape(&r.message.text)
    );
    if let Some(a) = &r.answer_text {
        body.push_str(&format!(
            "<h2>Ответ</h2><div class=\"answer\">{}</div>",
            escape(a)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/rate\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
<fieldset class=\"stars\"><legend>Насколько ответ решил вашу проблему?</legend>",
        escape(&q.t)
    ));
    let labels = [
        "очень плохо",
        "плохо",
        "удовлетворительно",
        "хорошо",
        "отлично",
    ];
    for (i, label) in labels.iter().enumerate() {
        let n = i + 1;
        let stars = "★".repeat(n);
        body.push_str(&format!(
            "<label><input type=\"radio\" name=\"rating\" value=\"{n}\" required> \
<span aria-hidden=\"true\">{stars}</span> {n} — {label}</label>"
        ));
    }
    body.push_str("</fieldset><p><button type=\"submit\">Отправить оценку</button></p></form>");
    citizen_page(StatusCode::OK, "Оценка ответа", &body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RateForm {
    #[serde(default)]
    t: String,
    #[serde(default)]
    rating: String,
}

/// `POST /rate`: redeems the link once through the workflow.
pub(crate) async fn rate_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<RateForm>,
) -> Response {
    if !origin_ok(&headers) {
        return notice(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Запрос отправлен с другого сайта.",
            &[],
        );
    }
    let rating = match f.rating.trim().parse::<i64>() {
        Ok(n) if (1..=5).contains(&n) => n,
        _ => return link_refused(&RatingLinkError::BadRating(0)),
    };
    if let Err(res) = rateable(&state, &f.t).await {
        return res;
    }
    let Some(wf) = state.inner.workflow.clone() else {
        return notice(
            StatusCode::SERVICE_UNAVAILABLE,
            "Оценка ответа",
            "Сервис временно недоступен.",
            &[],
        );
    };
    match wf.rate_with_link(&f.t, rating, now()).await {
        Ok(o) if o.replayed => link_refused(&RatingLinkError::AlreadyUsed),
        Ok(o) => {
            tracing::info!(message = %o.record.message.id, rating, "rated through the link");
            notice(
                StatusCode::OK,
                "Спасибо за оценку",
                &format!("Ваша оценка «{rating} из 5» сохранена."),
                &[],
            )
        }
        Err(otklik_workflow::WorkflowError::KeyReused { .. }) => {
            link_refused(&RatingLinkError::AlreadyUsed)
        }
        Err(otklik_workflow::WorkflowError::Invalid(msg)) if msg.starts_with("rating link") => {
            link_refused(&RatingLinkError::BadSignature)
        }
        Err(otklik_workflow::WorkflowError::Domain(_))
        | Err(otklik_workflow::WorkflowError::Conflict { .. }) => notice(
            StatusCode::CONFLICT,
            "Оценка ответа",
            "Этот ответ уже оценён или сообщение закрыто.",
            &[],
        ),
        Err(e) => internal(&e),
    }
}
