//! The dashboard and the work queues.
//!
//! Queue pages are fetched by keyset (`?after=` / `?before=` cursors of `(deadline, id)`, see
//! [`otklik_store::QueueFilter`]) over the indexes of migration 0011, at most [`PAGE`] rows,
//! and the total is counted only up to [`COUNT_LIMIT`]: a page costs the same at 100,000
//! messages as at 100. A bare `?page=N` (old links) still works through an offset.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use otklik_domain::{CategoryId, Channel, MessageRecord, MessageStatus, Role, Transition};
use otklik_store::{QueueCursor, QueueFilter, QueuePage};
use otklik_workflow::DeadlineStatus;
use serde::Deserialize;

use super::card::action_form;
use super::{Ctx, fmt_time, layout, office_error};
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::html::escape;

/// Rows per page.
const PAGE: i64 = 25;
/// The total is counted up to this many («более 10 000» beyond).
const COUNT_LIMIT: i64 = 10_000;

/// A queue: who sees it, which statuses, which channel.
struct QueueDef {
    code: &'static str,
    title: &'static str,
    roles: &'static [Role],
    statuses: &'static [MessageStatus],
    channel: Option<Channel>,
}

const QUEUES: [QueueDef; 4] = [
    QueueDef {
        code: "moderation",
        title: "Модерация",
        roles: &[Role::Moderator],
        statuses: &[MessageStatus::Moderation],
        channel: None,
    },
    QueueDef {
        code: "incidents",
        title: "Инциденты из социальных сетей",
        roles: &[Role::Moderator],
        statuses: &[MessageStatus::Moderation],
        channel: Some(Channel::SocialNetwork),
    },
    QueueDef {
        code: "work",
        title: "Сообщения организации",
        roles: &[Role::Coordinator, Role::Executor, Role::Head],
        statuses: &[
            MessageStatus::Coordination,
            MessageStatus::Execution,
            MessageStatus::Clarification,
            MessageStatus::Approval,
        ],
        channel: None,
    },
    QueueDef {
        code: "approval",
        title: "На согласование",
        roles: &[Role::Head],
        statuses: &[MessageStatus::Approval],
        channel: None,
    },
];

#[derive(Debug, Default, Deserialize)]
pub(crate) struct QueueQuery {
    status: Option<String>,
    category: Option<String>,
    q: Option<String>,
    page: Option<String>,
    done: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

/// «28» or «более 10 000».
fn total_text(total: i64, capped: bool) -> String {
    let digits = total.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    if capped {
        format!("более {grouped}")
    } else {
        grouped
    }
}

/// `GET /office`.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<QueueQuery>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut body = format!(
        "<h1>Рабочий кабинет</h1><p>{}{}</p>",
        escape(ctx.staff.full_name()),
        roles_text(&ctx)
    );
    if let Some(done) = query.done.as_deref() {
        body.push_str(&format!(
            "<p class=\"ok\" role=\"status\">Выполнено: {}</p>",
            escape(done_label(done))
        ));
    }
    body.push_str("<h2>Очереди</h2><ul>");
    let mut any = false;
    for def in &QUEUES {
        if !def.roles.iter().any(|r| ctx.staff.has_role(*r)) {
            continue;
        }
        any = true;
        let total = match count(&ctx, def).await {
            Ok(n) => n,
            Err(r) => return r,
        };
        body.push_str(&format!(
            "<li><a href=\"/office/queue/{}\">{}</a>: {}</li>",
            def.code,
            def.title,
            total_text(total.0, total.1)
        ));
    }
    if ctx.staff.has_role(Role::Curator) {
        any = true;
        body.push_str("<li><a href=\"/office/queue/control\">Контроль сроков (просроченные и под угрозой)</a></li>");
    }
    if !any {
        body.push_str("<li>Для ваших ролей очередей сообщений нет.</li>");
    }
    body.push_str("</ul>");
    // Onboarding reminders of the user's organisations.
    let mut reminders = String::new();
    let mut seen = std::collections::HashSet::new();
    for g in ctx.staff.grants() {
        if !seen.insert(g.organisation) {
            continue;
        }
        if let Some(o) = ctx.org(g.organisation)
            && (!o.onboarding.account_ready || !o.onboarding.training_done)
        {
            reminders.push_str(&format!(
                "<li>{}: требуется подтверждение готовности ({}%)</li>",
                escape(&o.name),
                o.onboarding.percent()
            ));
        }
    }
    if !reminders.is_empty() {
        body.push_str(&format!(
            "<h2>Требуется подтверждение</h2><ul>{reminders}</ul><p><a href=\"/office/organisation\">Подтвердить</a></p>"
        ));
    }
    layout(&ctx.staff, "Рабочий кабинет", &body)
}

fn roles_text(ctx: &Ctx) -> String {
    let parts: Vec<String> = ctx
        .staff
        .grants()
        .iter()
        .map(|g| {
            format!(
                "{} — {}",
                g.role.label_ru(),
                ctx.org_name(Some(g.organisation))
            )
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", escape(&parts.join("; ")))
    }
}

fn done_label(code: &str) -> &'static str {
    Transition::ALL
        .iter()
        .find(|t| t.code() == code)
        .map_or("действие", |t| t.label_ru())
}

fn filter_of(ctx: &Ctx, def: &QueueDef) -> QueueFilter {
    let (executors, include_unrouted) = ctx.scope(def.roles);
    QueueFilter {
        statuses: def.statuses.to_vec(),
        executors,
        include_unrouted,
        channel: def.channel,
        limit: PAGE,
        count_limit: Some(COUNT_LIMIT),
        ..QueueFilter::default()
    }
}

/// The queue's total (up to [`COUNT_LIMIT`]) and whether it was capped.
async fn count(ctx: &Ctx, def: &QueueDef) -> Result<(i64, bool), Response> {
    let filter = QueueFilter {
        limit: 1,
        ..filter_of(ctx, def)
    };
    ctx.state
        .store()
        .message_queue(&filter)
        .await
        .map(|p| (p.total, p.total_capped))
        .map_err(|e| internal(&e))
}

/// `GET /office/queue/{queue}`.
pub(crate) async fn queue(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(query): Query<QueueQuery>,
) -> Response {
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let page: i64 = query
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    if code == "control" {
        return control(&ctx, page).await;
    }
    let Some(def) = QUEUES.iter().find(|d| d.code == code) else {
        return office_error(
            &ctx.staff,
            StatusCode::NOT_FOUND,
            "Очередь не найдена",
            "Такой очереди нет.",
        );
    };
    if !def.roles.iter().any(|r| ctx.staff.has_role(*r)) {
        return office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Эта очередь доступна другим ролям.",
        );
    }
    let mut filter = filter_of(&ctx, def);
    filter.after = query
        .after
        .as_deref()
        .and_then(|c| c.parse::<QueueCursor>().ok());
    filter.before = query
        .before
        .as_deref()
        .and_then(|c| c.parse::<QueueCursor>().ok());
    if filter.after.is_none() && filter.before.is_none() {
        // An old `?page=N` link without a cursor.
        filter.offset = (page - 1) * PAGE;
    }
    if let Some(s) = query
        .status
        .as_deref()
        .and_then(|s| s.parse::<MessageStatus>().ok())
        .filter(|s| def.statuses.contains(s))
    {
        filter.statuses = vec![s];
    }
    let tree = &ctx.state.inner.info.tree;
    if let Some(c) = query
        .category
        .as_deref()
        .filter(|c| tree.category(&CategoryId((*c).to_owned())).is_some())
    {
        filter.category = Some(CategoryId(c.to_owned()));
    }
    filter.text = query
        .q
        .as_deref()
        .map(|q| q.trim().chars().take(200).collect::<String>())
        .filter(|q| !q.is_empty());
    let result = match ctx.state.store().message_queue(&filter).await {
        Ok(r) => r,
        Err(e) => return internal(&e),
    };
    let mut body = format!("<h1>{}</h1>", def.title);
    if let Some(done) = query.done.as_deref() {
        body.push_str(&format!(
            "<p class=\"ok\" role=\"status\">Выполнено: {}</p>",
            escape(done_label(done))
        ));
    }
    body.push_str(&filters_form(&ctx, def, &query));
    body.push_str(&format!(
        "<p id=\"total\">Найдено: {}</p>",
        total_text(result.total, result.total_capped)
    ));
    if def.code == "incidents" {
        body.push_str(&incidents_list(&ctx, &result.records).await);
    } else {
        body.push_str(&table(&ctx, &result.records, None));
    }
    body.push_str(&pager(
        &format!("/office/queue/{}", def.code),
        &query,
        page,
        &result,
    ));
    layout(&ctx.staff, def.title, &body)
}

fn filters_form(ctx: &Ctx, def: &QueueDef, query: &QueueQuery) -> String {
    let mut statuses = String::from("<option value=\"\">все</option>");
    for s in def.statuses {
        let sel = if query.status.as_deref() == Some(s.code()) {
            " selected"
        } else {
            ""
        };
        statuses.push_str(&format!(
            "<option value=\"{}\"{sel}>{}</option>",
            s.code(),
            escape(s.label_ru())
        ));
    }
    let mut categories = String::from("<option value=\"\">все</option>");
    for c in ctx.state.inner.info.tree.categories() {
        let sel = if query.category.as_deref() == Some(c.id.0.as_str()) {
            " selected"
        } else {
            ""
        };
        categories.push_str(&format!(
            "<option value=\"{}\"{sel}>{}</option>",
            escape(&c.id.0),
            escape(&c.name)
        ));
    }
    format!(
        "<form method=\"get\" class=\"action\" role=\"search\" aria-label=\"Фильтры\">\
<label for=\"f-status\">Статус</label> <select id=\"f-status\" name=\"status\">{statuses}</select> \
<label for=\"f-category\">Категория</label> <select id=\"f-category\" name=\"category\">{categories}</select> \
<label for=\"f-q\">Поиск</label> <input id=\"f-q\" name=\"q\" value=\"{q}\" maxlength=\"200\"> \
<button type=\"submit\">Показать</button></form>",
        q = escape(query.q.as_deref().unwrap_or("")),
    )
}

/// Links to the previous and next pages (keyset cursors; `page` only numbers them).
fn pager(base: &str, query: &QueueQuery, page: i64, result: &QueuePage) -> String {
    let pages = ((result.total + PAGE - 1) / PAGE).max(1);
    if result.next.is_none() && result.prev.is_none() && page <= 1 {
        return String::new();
    }
    let mut params = Vec::new();
    for (k, v) in [
        ("status", &query.status),
        ("category", &query.category),
        ("q", &query.q),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            params.push(format!("{k}={}", url_encode(v)));
        }
    }
    let link = |extra: &[String]| {
        let mut ps = params.clone();
        ps.extend_from_slice(extra);
        if ps.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", ps.join("&amp;"))
        }
    };
    let of = if result.total_capped {
        format!("многих (найдено {})", total_text(result.total, true))
    } else {
        pages.to_string()
    };
    let mut html = format!("<nav aria-label=\"Страницы\"><p>Страница {page} из {of}. ");
    if page > 2 {
        html.push_str(&format!("<a href=\"{}\">« В начало</a> ", link(&[])));
    }
    if let Some(prev) = result.prev {
        html.push_str(&format!(
            "<a href=\"{}\" rel=\"prev\">← Предыдущая</a> ",
            link(&[
                format!("before={prev}"),
                format!("page={}", (page - 1).max(1))
            ])
        ));
    }
    if let Some(next) = result.next {
        html.push_str(&format!(
            "<a href=\"{}\" rel=\"next\">Следующая →</a>",
            link(&[format!("after={next}"), format!("page={}", page + 1)])
        ));
    }
    html.push_str("</p></nav>");
    html
}

/// Percent-encoding of a query value.
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The messages as a table (with the deadline status when given).
fn table(ctx: &Ctx, records: &[MessageRecord], deadline: Option<&[DeadlineStatus]>) -> String {
    if records.is_empty() {
        return "<p>Сообщений нет.</p>".to_owned();
    }
    let mut html = String::from(
        "<table><caption class=\"skip\">Сообщения</caption><thead><tr><th scope=\"col\">№</th><th scope=\"col\">Поступило</th>\
<th scope=\"col\">Канал</th><th scope=\"col\">Подкатегория</th><th scope=\"col\">Текст</th>\
<th scope=\"col\">Исполнитель</th><th scope=\"col\">Статус</th><th scope=\"col\">Срок</th></tr></thead><tbody>",
    );
    for (i, r) in records.iter().enumerate() {
        let m = &r.message;
        let text: String = m.text.chars().take(140).collect();
        let more = if m.text.chars().count() > 140 {
            "…"
        } else {
            ""
        };
        let fast = if r.fast_track {
            " <span class=\"badge\">быстрое решение</span>"
        } else {
            ""
        };
        let state = deadline.and_then(|d| d.get(i)).map_or("", |s| match s {
            DeadlineStatus::Overdue => " <strong class=\"error\">просрочено</strong>",
            DeadlineStatus::AtRisk => " <strong>под угрозой</strong>",
            _ => "",
        });
        html.push_str(&format!(
            "<tr><td class=\"n\"><a href=\"/office/messages/{id}\">{id}</a></td><td>{created}</td><td>{channel}</td>\
<td>{sub}{fast}</td><td>{text}{more}</td><td>{executor}</td><td>{status}</td><td>{deadline}{state}</td></tr>",
            id = m.id,
            created = fmt_time(m.created_at),
            channel = escape(m.channel.label_ru()),
            sub = escape(&ctx.sub_name(&m.subcategory)),
            text = escape(&text),
            executor = escape(&ctx.org_name(m.executor)),
            status = escape(m.status.label_ru()),
            deadline = fmt_time(m.deadline_at),
        ));
    }
    html.push_str("</tbody></table>");
    html
}

/// The monitoring centre's view: each incident with its post and one-click decisions.
async fn incidents_list(ctx: &Ctx, records: &[MessageRecord]) -> String {
    if records.is_empty() {
        return "<p>Новых инцидентов нет.</p>".to_owned();
    }
    let mut html = String::new();
    for r in records {
        let m = &r.message;
        html.push_str(&format!(
            "<section class=\"incident\" aria-labelledby=\"inc-{id}\"><h2 id=\"inc-{id}\"><a href=\"/office/messages/{id}\">Инцидент № {id}</a></h2><dl class=\"facts\">",
            id = m.id
        ));
        html.push_str(&format!(
            "<dt>Подкатегория</dt><dd>{}</dd><dt>Уверенность классификатора</dt><dd>{}</dd><dt>Исполнитель</dt><dd>{}</dd>",
            escape(&ctx.sub_name(&m.subcategory)),
            m.confidence_pm.map_or_else(|| "—".to_owned(), |c| format!("{:.1} %", c as f64 / 10.0)),
            escape(&ctx.org_name(m.executor)),
        ));
        if let Some(handle) = &m.author_handle {
            html.push_str(&format!("<dt>Автор</dt><dd>{}</dd>", escape(handle)));
        }
        if let Some(link) = super::card::post_link(r, None) {
            html.push_str(&format!("<dt>Публикация</dt><dd>{link}</dd>"));
        }
        html.push_str("</dl>");
        html.push_str(&format!("<div class=\"text\">{}</div>", escape(&m.text)));
        for t in [
            Transition::Accept,
            Transition::Reject,
            Transition::Recategorise,
        ] {
            if m.status.apply(t).is_ok()
                && otklik_workflow::may_act(&ctx.staff.user, t, m, ctx.wf.organisations()).is_ok()
            {
                html.push_str(&action_form(ctx, r, t));
            }
        }
        html.push_str("</section>");
    }
    html
}

/// Page links of the curator's control list (numbered pages: the list is computed whole).
fn control_pager(page: i64, total: i64) -> String {
    let pages = ((total + PAGE - 1) / PAGE).max(1);
    if pages <= 1 {
        return String::new();
    }
    let mut html = format!("<nav aria-label=\"Страницы\"><p>Страница {page} из {pages}. ");
    if page > 1 {
        html.push_str(&format!(
            "<a href=\"/office/queue/control?page={}\" rel=\"prev\">← Предыдущая</a> ",
            page - 1
        ));
    }
    if page < pages {
        html.push_str(&format!(
            "<a href=\"/office/queue/control?page={}\" rel=\"next\">Следующая →</a>",
            page + 1
        ));
    }
    html.push_str("</p></nav>");
    html
}

/// The curator's control list.
async fn control(ctx: &Ctx, page: i64) -> Response {
    if !ctx.staff.has_role(Role::Curator) {
        return office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Контроль сроков доступен кураторам.",
        );
    }
    let items = match ctx.wf.control(None, ctx.now).await {
        Ok(i) => i,
        Err(e) => return internal(&e),
    };
    let (scope, unrouted) = ctx.scope(&[Role::Curator]);
    let mine: Vec<_> = items
        .into_iter()
        .filter(|i| match (&scope, i.record.message.executor) {
            (None, _) => true,
            (Some(_), None) => unrouted,
            (Some(list), Some(e)) => list.contains(&e),
        })
        .collect();
    let total = i64::try_from(mine.len()).unwrap_or(i64::MAX);
    let from = usize::try_from((page - 1) * PAGE).unwrap_or(usize::MAX);
    let shown: Vec<_> = mine.iter().skip(from).take(PAGE as usize).collect();
    let records: Vec<MessageRecord> = shown.iter().map(|i| i.record.clone()).collect();
    let statuses: Vec<DeadlineStatus> = shown.iter().map(|i| i.status).collect();
    let overdue = mine
        .iter()
        .filter(|i| i.status == DeadlineStatus::Overdue)
        .count();
    let mut body = format!(
        "<h1>Контроль сроков</h1><p id=\"total\">Просрочено: {overdue}; всего под контролем: {total}</p>"
    );
    body.push_str(&table(ctx, &records, Some(&statuses)));
    body.push_str(&control_pager(page, total));
    layout(&ctx.staff, "Контроль сроков", &body)
}
