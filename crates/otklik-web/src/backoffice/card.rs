//! The message card and its actions.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use otklik_domain::{
    EntityKind, MessageId, MessageRecord, OrganisationId, SubcategoryId, Timestamp, Transition,
    UserId,
};
use otklik_store::PostDetails;
use otklik_workflow::{Action, DeadlineStatus, WorkflowError};
use serde::Deserialize;

use super::{Ctx, csrf_field, fmt_time, layout, office_error};
use crate::AppState;
use crate::auth::{Staff, internal, random_token};
use crate::html::escape;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CardQuery {
    done: Option<String>,
}

/// A link to the source post, when its address is a web address.
pub(crate) fn post_link(r: &MessageRecord, post: Option<&PostDetails>) -> Option<String> {
    let url = r
        .source_url
        .clone()
        .or_else(|| post.and_then(|p| p.post.url.clone()))?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Some(escape(&url));
    }
    Some(format!(
        "<a href=\"{u}\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">{u}</a>",
        u = escape(&url)
    ))
}

fn textarea(id: &str, name: &str, label: &str, value: &str, required: bool) -> String {
    format!(
        "<p><label for=\"{id}\">{label}</label><br><textarea id=\"{id}\" name=\"{name}\"{req} maxlength=\"20000\">{v}</textarea></p>",
        req = if required { " required" } else { "" },
        v = escape(value),
    )
}

fn org_options(ctx: &Ctx, skip: Option<OrganisationId>) -> String {
    let mut html = String::from("<option value=\"\">— не менять —</option>");
    for o in ctx.orgs.iter().filter(|o| Some(o.id) != skip) {
        html.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            o.id,
            escape(&o.name)
        ));
    }
    html
}

/// The form of one action on `r` (the caller checked that the user may take it).
pub(crate) fn action_form(ctx: &Ctx, r: &MessageRecord, t: Transition) -> String {
    let m = &r.message;
    let key = random_token().map_or_else(
        |_| format!("web-{}-{}", m.id, ctx.now.millis()),
        |k| format!("web-{k}"),
    );
    let uid = format!("{}-{}", t.code(), m.id);
    let mut fields = String::new();
    match t {
        Transition::Recategorise => {
            let mut subs = String::from("<option value=\"\">— не менять —</option>");
            let tree = &ctx.state.inner.info.tree;
            for c in tree.categories() {
                subs.push_str(&format!("<optgroup label=\"{}\">", escape(&c.name)));
                for s in tree.subcategories().iter().filter(|s| s.category == c.id) {
                    let sel = if s.id == m.subcategory {
                        " selected"
                    } else {
                        ""
                    };
                    subs.push_str(&format!(
                        "<option value=\"{}\"{sel}>{}</option>",
                        escape(&s.id.0),
                        escape(&s.name)
                    ));
                }
                subs.push_str("</optgroup>");
            }
            fields.push_str(&format!(
                "<p><label for=\"sub-{uid}\">Подкатегория</label><br><select id=\"sub-{uid}\" name=\"subcategory\">{subs}</select></p>\
<p><label for=\"exec-{uid}\">Исполнитель</label><br><select id=\"exec-{uid}\" name=\"executor\">{orgs}</select></p>",
                orgs = org_options(ctx, None),
            ));
            fields.push_str(&textarea(
                &format!("c-{uid}"),
                "comment",
                "Комментарий",
                "",
                false,
            ));
        }
        Transition::Reject => {
            let mut reasons = String::new();
            for reason in ctx.state.inner.office.reasons.all() {
                reasons.push_str(&format!(
                    "<option value=\"{}\">{}{}</option>",
                    escape(&reason.code),
                    escape(&reason.text),
                    if reason.requires_comment {
                        " (нужен комментарий)"
                    } else {
                        ""
                    }
                ));
            }
            if reasons.is_empty() {
                fields.push_str(&format!(
                    "<p><label for=\"r-{uid}\">Код причины</label><br><input id=\"r-{uid}\" name=\"reason\" required maxlength=\"100\"></p>"
                ));
            } else {
                fields.push_str(&format!(
                    "<p><label for=\"r-{uid}\">Причина отклонения</label><br><select id=\"r-{uid}\" name=\"reason\" required>{reasons}</select></p>"
                ));
            }
            fields.push_str(&textarea(
                &format!("c-{uid}"),
                "comment",
                "Комментарий",
                "",
                false,
            ));
        }
        Transition::Redirect => {
            fields.push_str(&format!(
                "<p><label for=\"to-{uid}\">Новый исполнитель</label><br><select id=\"to-{uid}\" name=\"to\" required>{}</select></p>",
                org_options(ctx, m.executor)
            ));
            fields.push_str(&textarea(
                &format!("c-{uid}"),
                "comment",
                "Комментарий",
                "",
                false,
            ));
        }
        Transition::RequestClarification => {
            fields.push_str(&textarea(
                &format!("q-{uid}"),
                "question",
                "Вопрос заявителю",
                "",
                true,
            ));
        }
        Transition::ProvideClarification => {
            fields.push_str(&textarea(
                &format!("t-{uid}"),
                "text",
                "Уточнение заявителя",
                "",
                true,
            ));
        }
        Transition::Postpone => {
            fields.push_str(&format!(
                "<p><label for=\"u-{uid}\">Новый срок</label><br><input type=\"date\" id=\"u-{uid}\" name=\"until\" required></p>"
            ));
            fields.push_str(&textarea(
                &format!("p-{uid}"),
                "reason",
                "Причины переноса срока",
                "",
                true,
            ));
        }
        Transition::SubmitForApproval => {
            fields.push_str(&textarea(
                &format!("a-{uid}"),
                "answer",
                "Проект ответа",
                r.answer_text.as_deref().unwrap_or(""),
                true,
            ));
        }
        Transition::ReturnForRevision => {
            fields.push_str(&textarea(
                &format!("c-{uid}"),
                "comment",
                "Что доработать",
                "",
                true,
            ));
        }
        Transition::Reopen => {
            fields.push_str(&textarea(
                &format!("c-{uid}"),
                "comment",
                "Причина возобновления",
                "",
                true,
            ));
        }
        _ => {}
    }
    format!(
        "<form method=\"post\" action=\"/office/messages/{id}/act\" class=\"action\" aria-label=\"{label}\">{csrf}\
<input type=\"hidden\" name=\"action\" value=\"{code}\"><input type=\"hidden\" name=\"version\" value=\"{version}\">\
<input type=\"hidden\" name=\"key\" value=\"{key}\">{fields}<button type=\"submit\">{label}</button></form>",
        id = m.id,
        label = escape(t.label_ru()),
        csrf = csrf_field(&ctx.staff),
        code = t.code(),
        version = m.version,
    )
}

/// The transitions `ctx`'s user may take on `r` now.
fn allowed(ctx: &Ctx, r: &MessageRecord) -> Vec<Transition> {
    Transition::ALL
        .iter()
        .copied()
        .filter(|t| *t != Transition::Rate)
        .filter(|t| r.message.status.apply(*t).is_ok())
        .filter(|t| {
            otklik_workflow::may_act(&ctx.staff.user, *t, &r.message, ctx.wf.organisations())
                .is_ok()
        })
        .collect()
}

async fn visible_record(ctx: &Ctx, id: i64) -> Result<MessageRecord, Response> {
    let not_found = || {
        office_error(
            &ctx.staff,
            StatusCode::NOT_FOUND,
            "Сообщение не найдено",
            "Такого сообщения нет или оно вне вашей организации.",
        )
    };
    let record = match ctx.wf.message(MessageId(id)).await {
        Ok(r) => r,
        Err(WorkflowError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(internal(&e)),
    };
    if !ctx.may_view(&record.message) {
        return Err(not_found());
    }
    Ok(record)
}

fn deadline_text(s: DeadlineStatus) -> &'static str {
    match s {
        DeadlineStatus::OnTime => "в срок",
        DeadlineStatus::AtRisk => "под угрозой срыва",
        DeadlineStatus::Overdue => "просрочено",
        DeadlineStatus::Paused => "срок приостановлен (ждём заявителя)",
    }
}

/// `GET /office/messages/{id}`.
pub(crate) async fn card(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(query): Query<CardQuery>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let r = match visible_record(&ctx, id).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let store = ctx.state.store();
    let m = &r.message;
    let post = match m.source_post {
        Some(p) => match store.post_details(p).await {
            Ok(p) => p,
            Err(e) => return internal(&e),
        },
        None => None,
    };
    let trail = match store.audit_trail(EntityKind::Message, m.id.get()).await {
        Ok(t) => t,
        Err(e) => return internal(&e),
    };
    let mut body = format!("<h1>Сообщение № {}</h1>", m.id);
    if let Some(done) = query.done.as_deref() {
        let label = Transition::ALL
            .iter()
            .find(|t| t.code() == done)
            .map_or("действие", |t| t.label_ru());
        body.push_str(&format!(
            "<p class=\"ok\" role=\"status\">Выполнено: {}</p>",
            escape(label)
        ));
    }
    let tree = &ctx.state.inner.info.tree;
    let category = tree
        .subcategory(&m.subcategory)
        .and_then(|s| tree.category(&s.category))
        .map_or_else(String::new, |c| c.name.clone());
    body.push_str("<dl class=\"facts\">");
    let mut fact = |k: &str, v: String| {
        body.push_str(&format!("<dt>{k}</dt><dd>{v}</dd>"));
    };
    fact("Статус", escape(m.status.label_ru()));
    fact("Канал", escape(m.channel.label_ru()));
    fact("Категория", escape(&category));
    fact(
        "Подкатегория",
        format!(
            "{}{}",
            escape(&ctx.sub_name(&m.subcategory)),
            if r.fast_track {
                " <span class=\"badge\">быстрое решение</span>"
            } else {
                ""
            }
        ),
    );
    fact("Исполнитель", escape(&ctx.org_name(m.executor)));
    fact("Поступило", fmt_time(m.created_at));
    fact(
        "Срок",
        format!(
            "{} ({})",
            fmt_time(m.deadline_at),
            deadline_text(ctx.wf.deadline_status(&r, ctx.now))
        ),
    );
    if let Some(a) = &m.address {
        fact("Адрес", escape(a));
    }
    if let Some(h) = &m.author_handle {
        fact("Автор в соцсети", escape(h));
    }
    if let Some(c) = &r.citizen_contact {
        fact("Контакт заявителя", escape(c));
    }
    if !r.attachments.is_empty() {
        fact("Вложения", r.attachments.len().to_string());
    }
    fact("Версия", m.version.to_string());
    body.push_str("</dl>");
    body.push_str(&format!(
        "<h2>Текст сообщения</h2><div class=\"text\" id=\"message-text\">{}</div>",
        escape(&m.text)
    ));

    // The classifier and the router.
    body.push_str("<h2>Классификация и маршрутизация</h2><dl class=\"facts\">");
    if let Some(c) = m.confidence_pm {
        body.push_str(&format!(
            "<dt>Уверенность классификатора</dt><dd>{:.1} %</dd>",
            c as f64 / 10.0
        ));
    }
    if let Some(note) = &r.moderation_note {
        body.push_str(&format!("<dt>Пояснение</dt><dd>{}</dd>", escape(note)));
    }
    if let Some(c) = post.as_ref().and_then(|p| p.classification.as_ref()) {
        body.push_str(&format!(
            "<dt>Публикация распознана как</dt><dd>{}{}</dd>",
            escape(&format!("{:?}", c.kind)),
            if c.is_complaint {
                " — жалоба"
            } else {
                ""
            }
        ));
    }
    body.push_str("</dl>");

    if m.source_post.is_some() || r.source_url.is_some() {
        body.push_str("<h2>Исходная публикация</h2><dl class=\"facts\">");
        if let Some(link) = post_link(&r, post.as_ref()) {
            body.push_str(&format!("<dt>Ссылка</dt><dd>{link}</dd>"));
        }
        if let Some(p) = &post {
            if let Some(a) = &p.post.author {
                body.push_str(&format!("<dt>Автор</dt><dd>{}</dd>", escape(a)));
            }
            body.push_str(&format!(
                "<dt>Опубликовано</dt><dd>{}</dd><dt>Сеть</dt><dd>{}</dd>",
                fmt_time(p.post.published_at),
                escape(p.post.network.label_ru())
            ));
            if p.deleted {
                body.push_str("<dt>Состояние</dt><dd>удалена в соцсети</dd>");
            }
        }
        body.push_str("</dl>");
        if let Some(p) = &post {
            body.push_str(&format!(
                "<div class=\"text\" id=\"post-text\">{}</div>",
                escape(&p.post.text)
            ));
        }
    }

    let mut notes = String::new();
    for (label, v) in [
        ("Проект ответа", &r.answer_text),
        ("Замечания руководителя", &r.revision_comment),
        ("Причина отклонения", &r.rejection_reason),
        ("Причина переноса срока", &r.postpone_reason),
    ] {
        if let Some(v) = v {
            notes.push_str(&format!(
                "<h3>{label}</h3><div class=\"text\">{}</div>",
                escape(v)
            ));
        }
    }
    if !notes.is_empty() {
        body.push_str(&format!("<h2>Ответ и решения</h2>{notes}"));
    }

    let actions = allowed(&ctx, &r);
    body.push_str("<h2>Действия</h2>");
    if actions.is_empty() {
        body.push_str("<p>Для вашей роли действий с сообщением в этом статусе нет.</p>");
    }
    for t in actions {
        body.push_str(&action_form(&ctx, &r, t));
    }

    // History.
    let mut names: HashMap<UserId, String> = HashMap::new();
    for e in &trail {
        if let Some(a) = e.event.actor
            && !names.contains_key(&a)
        {
            let name = match store.user(a).await {
                Ok(Some(u)) => u.full_name,
                _ => format!("пользователь {a}"),
            };
            names.insert(a, name);
        }
    }
    body.push_str(
        "<h2>История</h2><table><thead><tr><th scope=\"col\">Когда</th><th scope=\"col\">Кто</th>\
<th scope=\"col\">Действие</th><th scope=\"col\">Подробности</th></tr></thead><tbody>",
    );
    for e in &trail {
        let action = e
            .event
            .action
            .strip_prefix("transition:")
            .and_then(|c| Transition::ALL.iter().find(|t| t.code() == c))
            .map_or_else(
                || match e.event.action.as_str() {
                    "created" => "Зарегистрировано".to_owned(),
                    other => other.to_owned(),
                },
                |t| t.label_ru().to_owned(),
            );
        let who = e
            .event
            .actor
            .and_then(|a| names.get(&a).cloned())
            .unwrap_or_else(|| "система".to_owned());
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fmt_time(e.event.at),
            escape(&who),
            escape(&action),
            escape(&detail_text(&ctx, &e.event.detail)),
        ));
    }
    body.push_str("</tbody></table>");
    layout(&ctx.staff, &format!("Сообщение № {}", m.id), &body)
}

/// The audit detail in words: the known fields, in Russian.
fn detail_text(ctx: &Ctx, detail: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(detail)
    else {
        return String::new();
    };
    let mut parts = Vec::new();
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    for (key, label) in [
        ("text", "причина"),
        ("comment", "комментарий"),
        ("question", "вопрос"),
        ("clarification", "уточнение"),
        ("answer", "ответ"),
        ("reason", "основание"),
        ("route", "маршрутизация"),
    ] {
        if let Some(v) = map.get(key).and_then(text) {
            parts.push(format!("{label}: {v}"));
        }
    }
    if let Some(e) = map
        .get("executor")
        .and_then(|e| e.get("to"))
        .and_then(serde_json::Value::as_i64)
    {
        parts.push(format!(
            "исполнитель: {}",
            ctx.org_name(Some(OrganisationId(e)))
        ));
    }
    if let Some(s) = map
        .get("subcategory")
        .and_then(|s| s.get("to"))
        .and_then(serde_json::Value::as_str)
    {
        parts.push(format!(
            "подкатегория: {}",
            ctx.sub_name(&SubcategoryId(s.to_owned()))
        ));
    }
    if let Some(r) = map.get("rating").and_then(serde_json::Value::as_i64) {
        parts.push(format!("оценка: {r}"));
    }
    parts.join("; ")
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    form.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// The date `YYYY-MM-DD` at 18:00 Moscow time.
fn parse_date(s: &str) -> Option<Timestamp> {
    let date: jiff::civil::Date = s.parse().ok()?;
    let zoned = date
        .at(18, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(3)))
        .ok()?;
    Some(Timestamp(zoned.timestamp().as_millisecond()))
}

fn action_of(form: &HashMap<String, String>) -> Result<Action, String> {
    let code = field(form, "action").unwrap_or("");
    let text = |name: &str| field(form, name).map(str::to_owned);
    let required =
        |name: &str, what: &str| text(name).ok_or_else(|| format!("Заполните поле «{what}»."));
    let org = |name: &str| -> Result<Option<OrganisationId>, String> {
        match field(form, name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(|id| Some(OrganisationId(id)))
                .map_err(|_| "Неверный исполнитель.".to_owned()),
        }
    };
    Ok(match code {
        "accept" => Action::Accept,
        "recategorise" => Action::Recategorise {
            subcategory: text("subcategory").map(SubcategoryId),
            executor: org("executor")?,
            comment: text("comment"),
        },
        "reject" => Action::Reject {
            reason: required("reason", "Причина отклонения")?,
            comment: text("comment"),
        },
        "send_to_execution" => Action::SendToExecution,
        "redirect" => Action::Redirect {
            to: org("to")?.ok_or("Выберите нового исполнителя.")?,
            comment: text("comment"),
        },
        "request_clarification" => Action::RequestClarification {
            question: required("question", "Вопрос заявителю")?,
        },
        "provide_clarification" => Action::ProvideClarification {
            text: required("text", "Уточнение заявителя")?,
        },
        "postpone" => Action::Postpone {
            until: parse_date(&required("until", "Новый срок")?)
                .ok_or("Новый срок указан неверно (ожидается дата).")?,
            reason: required("reason", "Причины переноса срока")?,
        },
        "submit_for_approval" => Action::SubmitForApproval {
            answer: required("answer", "Проект ответа")?,
        },
        "approve" => Action::Approve,
        "return_for_revision" => Action::ReturnForRevision {
            comment: required("comment", "Что доработать")?,
        },
        "reopen" => Action::Reopen {
            comment: required("comment", "Причина возобновления")?,
        },
        "close" => Action::Close,
        _ => return Err("Неизвестное действие.".to_owned()),
    })
}

/// `POST /office/messages/{id}/act` (behind the CSRF guard).
pub(crate) async fn act(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Out of scope is «not found»: nothing about other organisations' messages leaks.
    let record = match visible_record(&ctx, id).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let bad = |text: &str| {
        office_error(
            &ctx.staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Действие не выполнено",
            text,
        )
    };
    let Some(version) = field(&form, "version").and_then(|v| v.parse::<i64>().ok()) else {
        return bad("В форме нет версии сообщения. Откройте карточку заново.");
    };
    let Some(key) = field(&form, "key").filter(|k| k.len() <= 100) else {
        return bad("В форме нет ключа повтора. Откройте карточку заново.");
    };
    let action = match action_of(&form) {
        Ok(a) => a,
        Err(text) => return bad(&text),
    };
    let transition = action.transition();
    let result = ctx
        .wf
        .act(
            &ctx.staff.user,
            record.message.id,
            version,
            action,
            key,
            ctx.now,
        )
        .await;
    match result {
        Ok(outcome) => {
            tracing::info!(message = id, transition = %transition, user = %ctx.staff.id(), "back-office action");
            let target = if ctx.may_view(&outcome.record.message) {
                format!("/office/messages/{id}?done={}", transition.code())
            } else {
                format!("/office?done={}", transition.code())
            };
            let mut res = Redirect::to(&target).into_response();
            *res.status_mut() = StatusCode::SEE_OTHER;
            res
        }
        Err(WorkflowError::Conflict { .. }) => office_error(
            &ctx.staff,
            StatusCode::CONFLICT,
            "Сообщение уже изменено",
            &format!(
                "Пока вы работали с карточкой, сообщение № {id} изменил другой пользователь \
(вы видели версию {version}, текущая — {}). Откройте карточку заново, проверьте текущее \
состояние и повторите действие, если оно ещё нужно.",
                record.message.version
            ),
        ),
        Err(WorkflowError::KeyReused { .. }) => office_error(
            &ctx.staff,
            StatusCode::CONFLICT,
            "Форма уже отправлена",
            "Эта форма уже была отправлена с другими данными. Откройте карточку заново.",
        ),
        Err(WorkflowError::Denied(d)) => office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            &format!("У вас нет права на это действие: {d}."),
        ),
        Err(WorkflowError::NotFound(_)) => office_error(
            &ctx.staff,
            StatusCode::NOT_FOUND,
            "Сообщение не найдено",
            "Такого сообщения нет.",
        ),
        Err(WorkflowError::Domain(e)) => bad(&format!(
            "Действие «{}» недоступно в текущем статусе сообщения ({e}).",
            transition.label_ru()
        )),
        Err(WorkflowError::UnknownRejectReason(code)) => bad(&format!(
            "Причина отклонения «{code}» не из утверждённого списка."
        )),
        Err(WorkflowError::Invalid(text)) => bad(&format!("Неверные данные: {text}.")),
        Err(e) => internal(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_the_end_of_the_working_day_in_moscow() {
        // 2025-12-10 18:00 +03:00 = 15:00 UTC.
        assert_eq!(parse_date("2025-12-10"), Some(Timestamp(1_765_378_800_000)));
        assert_eq!(parse_date("10.12.2025"), None);
    }

    #[test]
    fn forms_become_actions() {
        let form = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            action_of(&form(&[("action", "accept")])),
            Ok(Action::Accept)
        );
        assert!(action_of(&form(&[("action", "reject")])).is_err());
        assert!(action_of(&form(&[("action", "redirect"), ("to", "x")])).is_err());
        assert_eq!(
            action_of(&form(&[
                ("action", "submit_for_approval"),
                ("answer", " Ответ ")
            ])),
            Ok(Action::SubmitForApproval {
                answer: "Ответ".into()
            })
        );
        assert!(action_of(&form(&[("action", "drop_table")])).is_err());
    }
}
