//! The back-office pages of «Голосования»: the list, the draft form (create and edit), the
//! poll's card with its life-cycle steps and anomaly report, and the results with charts and
//! CSV/XLSX downloads.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use otklik_domain::{
    Organisation, OrganisationId, PollId, PollKind, PollStatus, ResultsVisibility, Role,
    TerritoryId, Timestamp,
};
use otklik_polls::lifecycle::{holds_role_for, may};
use otklik_polls::{
    NewPollOption, OrgTree, PollAction, PollDetails, PollDraft, PollsError, draft_of, group_digits,
    validate_draft_ru,
};
use serde::Deserialize;

use super::{PollsWeb, charts, fmt_time, now, poll_id};
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::backoffice::{csrf_field, layout, office_error};
use crate::html::escape;

use super::STAFF_ROLES as SEEING_ROLES;

/// What one staff request needs.
struct Office {
    staff: Staff,
    pw: PollsWeb,
    orgs: Vec<Organisation>,
    tree: OrgTree,
    now: Timestamp,
}

impl Office {
    async fn load(state: &AppState, staff: Staff) -> Result<Self, Response> {
        let Some(pw) = state.polls_web().cloned() else {
            return Err(office_error(
                &staff,
                StatusCode::SERVICE_UNAVAILABLE,
                "Голосования не настроены",
                "Сервер запущен без модуля голосований.",
            ));
        };
        let orgs = state
            .store()
            .organisations()
            .await
            .map_err(|e| internal(&e))?;
        let tree = OrgTree::new(&orgs);
        Ok(Self {
            staff,
            pw,
            orgs,
            tree,
            now: now(),
        })
    }

    fn org_name(&self, id: OrganisationId) -> String {
        self.orgs.iter().find(|o| o.id == id).map_or_else(
            || id.to_string(),
            |o| o.short_name.clone().unwrap_or_else(|| o.name.clone()),
        )
    }

    /// Does the user see polls at all?
    fn is_poll_staff(&self) -> bool {
        self.staff
            .grants()
            .iter()
            .any(|g| SEEING_ROLES.contains(&g.role))
    }

    /// May the user see the polls of `org`?
    fn sees(&self, org: OrganisationId) -> bool {
        SEEING_ROLES
            .iter()
            .any(|r| holds_role_for(&self.staff.user, *r, org, &self.tree))
    }

    fn may(&self, action: PollAction, d: &PollDetails) -> bool {
        may(
            &self.staff.user,
            action,
            d.poll.organisation,
            d.created_by,
            &self.tree,
        )
        .is_ok()
    }

    /// Organisations the user may create polls for.
    fn managed(&self) -> Vec<&Organisation> {
        self.orgs
            .iter()
            .filter(|o| holds_role_for(&self.staff.user, Role::PollManager, o.id, &self.tree))
            .collect()
    }

    /// The poll, if it exists and the user sees it (else 404).
    /// [`Office::load`], then [`Office::poll`]: the handlers of one poll.
    async fn load_poll(
        state: &AppState,
        staff: Staff,
        raw: &str,
    ) -> Result<(Self, PollDetails), Response> {
        let o = Self::load(state, staff).await?;
        let d = o.poll(raw).await?;
        Ok((o, d))
    }

    async fn poll(&self, raw: &str) -> Result<PollDetails, Response> {
        let not_found = || {
            office_error(
                &self.staff,
                StatusCode::NOT_FOUND,
                "Голосование не найдено",
                "Такого голосования нет или оно вам недоступно.",
            )
        };
        let id = poll_id(raw).ok_or_else(not_found)?;
        match self.pw.polls.details(id).await {
            Ok(d) if self.sees(d.poll.organisation) => Ok(d),
            Ok(_) | Err(PollsError::NotFound(_)) => Err(not_found()),
            Err(e) => Err(internal(&e)),
        }
    }

    fn error(&self, status: StatusCode, title: &str, text: &str) -> Response {
        office_error(&self.staff, status, title, text)
    }
}

fn see_other(to: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    *res.status_mut() = StatusCode::SEE_OTHER;
    res
}

fn status_badge(s: PollStatus) -> String {
    format!(
        "<span class=\"badge status-{}\">{}</span>",
        s.code(),
        escape(s.label_ru())
    )
}

/// `GET /office/polls`.
pub(crate) async fn list(State(state): State<AppState>, staff: Staff) -> Response {
    let o = match Office::load(&state, staff).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    if !o.is_poll_staff() {
        return o.error(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Раздел «Голосования» доступен менеджерам голосований, модераторам, администраторам и аналитикам.",
        );
    }
    let mut polls = match o.pw.polls.store().polls().await {
        Ok(p) => p,
        Err(e) => return internal(&e),
    };
    polls.retain(|p| o.sees(p.organisation));
    polls.sort_by_key(|p| std::cmp::Reverse(p.id));
    let mut body = String::from("<h1>Голосования</h1>");
    if !o.managed().is_empty() {
        body.push_str(
            "<p><a class=\"button\" href=\"/office/polls/new\">Создать голосование</a></p>",
        );
    }
    let waiting = polls
        .iter()
        .filter(|p| p.status == PollStatus::Review)
        .count();
    if waiting > 0 && o.staff.has_role(Role::Moderator) {
        body.push_str(&format!(
            "<p class=\"badge\" role=\"status\">Ждут модерации: {waiting}</p>"
        ));
    }
    if polls.is_empty() {
        body.push_str("<p>Голосований пока нет.</p>");
    } else {
        body.push_str(
            "<table><caption>Голосования организаций</caption><thead><tr><th scope=\"col\">№</th>\
<th scope=\"col\">Вопрос</th><th scope=\"col\">Вид</th><th scope=\"col\">Состояние</th>\
<th scope=\"col\">Организация</th><th scope=\"col\">Сроки</th></tr></thead><tbody>",
        );
        for p in &polls {
            body.push_str(&format!(
                "<tr><td class=\"n\">{id}</td><td><a href=\"/office/polls/{id}\">{title}</a></td><td>{kind}</td>\
<td>{status}</td><td>{org}</td><td>{from} — {to}</td></tr>",
                id = p.id,
                title = escape(&p.title),
                kind = escape(p.kind.label_ru()),
                status = status_badge(p.status),
                org = escape(&o.org_name(p.organisation)),
                from = fmt_time(p.starts_at),
                to = fmt_time(p.ends_at),
            ));
        }
        body.push_str("</tbody></table>");
    }
    layout(&o.staff, "Голосования", &body)
}

/// The draft form's fields, as typed (strings, so that a bad value comes back for fixing).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PollForm {
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    territory: String,
    #[serde(default)]
    min_age: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    min_choices: String,
    #[serde(default)]
    max_choices: String,
    #[serde(default)]
    budget_cap: String,
    #[serde(default)]
    max_text_chars: String,
    #[serde(default)]
    allow_revote: Option<String>,
    #[serde(default)]
    results: String,
    #[serde(default)]
    options: String,
}

const MSK: jiff::tz::Offset = jiff::tz::Offset::constant(3);

/// `datetime-local` text («2025-12-01T10:00», Moscow time) of a timestamp.
fn local_value(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.millis())
        .map(|ts| {
            ts.to_zoned(jiff::tz::TimeZone::fixed(MSK))
                .strftime("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// A `datetime-local` value in Moscow time.
fn parse_local(s: &str) -> Option<Timestamp> {
    let dt: jiff::civil::DateTime = s.trim().parse().ok()?;
    let z = dt.to_zoned(jiff::tz::TimeZone::fixed(MSK)).ok()?;
    Some(Timestamp(z.timestamp().as_millisecond()))
}

/// Digits with optional spaces («5 000 000»); `Ok(None)` when empty.
fn parse_number<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ()> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    if cleaned.is_empty() {
        return Ok(None);
    }
    cleaned.parse::<T>().map(Some).map_err(|_| ())
}

impl PollForm {
    /// The form of a stored poll (to edit it).
    fn of(d: &PollDetails) -> Self {
        let num = |v: Option<u32>| v.map_or_else(String::new, |n| n.to_string());
        Self {
            organisation: d.poll.organisation.get().to_string(),
            title: d.poll.title.clone(),
            description: d.description.clone(),
            kind: d.poll.kind.code().into(),
            topic: d.topic.clone().unwrap_or_default(),
            territory: d
                .poll
                .territory
                .map_or_else(String::new, |t| t.get().to_string()),
            min_age: num(d.min_age),
            starts_at: local_value(d.poll.starts_at),
            ends_at: local_value(d.poll.ends_at),
            min_choices: num(d.min_choices),
            max_choices: num(d.max_choices),
            budget_cap: d.budget_cap.map_or_else(String::new, |c| c.to_string()),
            max_text_chars: num(d.max_text_chars),
            allow_revote: d.allow_revote.then(|| "on".into()),
            results: d.results.code().into(),
            options: d
                .options
                .iter()
                .map(|o| match o.cost {
                    Some(c) => format!("{} | {c}", o.label),
                    None => o.label.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// A fresh form: single choice, from tomorrow for two weeks.
    fn fresh(now: Timestamp, kind: Option<&str>) -> Self {
        let start = Timestamp((now.millis() / 3_600_000 + 24) * 3_600_000);
        Self {
            kind: kind
                .and_then(|k| k.parse::<PollKind>().ok())
                .unwrap_or(PollKind::SingleChoice)
                .code()
                .into(),
            starts_at: local_value(start),
            ends_at: local_value(start.plus_days(14)),
            results: ResultsVisibility::Live.code().into(),
            allow_revote: Some("on".into()),
            ..Self::default()
        }
    }

    /// The draft, or every problem of the typed values (in Russian).
    fn draft(&self) -> Result<PollDraft, Vec<String>> {
        let mut errors = Vec::new();
        let kind = match self.kind.parse::<PollKind>() {
            Ok(k) => k,
            Err(_) => {
                errors.push("Выберите вид голосования.".to_owned());
                PollKind::SingleChoice
            }
        };
        let organisation = match parse_number::<i64>(&self.organisation) {
            Ok(Some(n)) => OrganisationId(n),
            _ => {
                errors.push("Выберите организацию, которая проводит голосование.".to_owned());
                OrganisationId(0)
            }
        };
        let mut u32_field = |value: &str, what: &str| match parse_number::<u32>(value) {
            Ok(v) => v,
            Err(()) => {
                errors.push(format!("{what}: нужно целое неотрицательное число."));
                None
            }
        };
        let min_age = u32_field(&self.min_age, "Минимальный возраст");
        let min_choices = u32_field(&self.min_choices, "Наименьшее число вариантов");
        let max_choices = u32_field(&self.max_choices, "Наибольшее число вариантов");
        let max_text_chars = u32_field(&self.max_text_chars, "Наибольшая длина ответа");
        let budget_cap = match parse_number::<i64>(&self.budget_cap) {
            Ok(v) => v,
            Err(()) => {
                errors.push("Бюджет: нужна сумма в рублях, целым числом.".to_owned());
                None
            }
        };
        let territory = match parse_number::<i64>(&self.territory) {
            Ok(v) => v.map(TerritoryId),
            Err(()) => {
                errors.push("Выберите территорию из списка.".to_owned());
                None
            }
        };
        let starts_at = parse_local(&self.starts_at).unwrap_or_else(|| {
            errors.push("Укажите дату и время начала.".to_owned());
            Timestamp(0)
        });
        let ends_at = parse_local(&self.ends_at).unwrap_or_else(|| {
            errors.push("Укажите дату и время окончания.".to_owned());
            Timestamp(0)
        });
        let results = self
            .results
            .parse::<ResultsVisibility>()
            .unwrap_or(ResultsVisibility::Live);
        let mut options = Vec::new();
        for (line, n) in self
            .options
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .zip(1..)
        {
            if kind == PollKind::Budget {
                let Some((label, cost)) = line.rsplit_once('|') else {
                    errors.push(format!(
                        "Проект {n}: укажите стоимость через черту: «Название | 1 500 000»."
                    ));
                    continue;
                };
                match parse_number::<i64>(cost) {
                    Ok(Some(c)) => options.push(NewPollOption {
                        label: label.trim().to_owned(),
                        description: String::new(),
                        cost: Some(c),
                    }),
                    _ => errors.push(format!(
                        "Проект {n}: стоимость «{}» — не сумма в рублях.",
                        cost.trim()
                    )),
                }
            } else {
                options.push(NewPollOption {
                    label: line.to_owned(),
                    description: String::new(),
                    cost: None,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let topic = Some(self.topic.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Ok(PollDraft {
            organisation,
            title: self.title.trim().to_owned(),
            description: self.description.trim().to_owned(),
            kind,
            topic,
            territory,
            min_age: min_age.filter(|a| *a > 0),
            starts_at,
            ends_at,
            min_choices,
            max_choices,
            budget_cap,
            max_text_chars,
            allow_revote: self.allow_revote.is_some(),
            results,
            settings: "{}".into(),
            options,
        })
    }
}

fn selected(a: &str, b: &str) -> &'static str {
    if a == b { " selected" } else { "" }
}

/// The draft form (create or edit), with the problems of the last attempt on top.
async fn form_page(
    state: &AppState,
    o: &Office,
    action: &str,
    heading: &str,
    f: &PollForm,
    errors: &[String],
    status: StatusCode,
) -> Response {
    let mut body = format!("<h1>{}</h1>", escape(heading));
    if !errors.is_empty() {
        body.push_str(
            "<div class=\"error\" role=\"alert\" id=\"form-errors\"><p>Голосование не сохранено:</p><ul>",
        );
        for e in errors {
            body.push_str(&format!("<li>{}</li>", escape(e)));
        }
        body.push_str("</ul></div>");
    }
    match form_html(state, o, action, f).await {
        Ok(form) => body.push_str(&form),
        Err(r) => return r,
    }
    let mut res = layout(&o.staff, heading, &body);
    *res.status_mut() = status;
    res
}

/// The draft form itself.
async fn form_html(
    state: &AppState,
    o: &Office,
    action: &str,
    f: &PollForm,
) -> Result<String, Response> {
    let territories = state
        .store()
        .territories()
        .await
        .map_err(|e| internal(&e))?;
    let mut body = String::new();
    body.push_str(&format!(
        "<form method=\"post\" action=\"{}\" class=\"action poll-form\">{}",
        escape(action),
        csrf_field(&o.staff)
    ));
    // Organisation.
    body.push_str("<p><label for=\"organisation\">Организация</label><br><select id=\"organisation\" name=\"organisation\" required>");
    for org in o.managed() {
        let v = org.id.get().to_string();
        body.push_str(&format!(
            "<option value=\"{v}\"{}>{}</option>",
            selected(&v, &f.organisation),
            escape(&o.org_name(org.id))
        ));
    }
    body.push_str("</select></p>");
    body.push_str(&format!(
        "<p><label for=\"title\">Вопрос (заголовок)</label><br><input id=\"title\" name=\"title\" required maxlength=\"300\" size=\"80\" value=\"{}\"></p>\
<p><label for=\"description\">Описание</label><br><textarea id=\"description\" name=\"description\" rows=\"3\">{}</textarea></p>",
        escape(&f.title),
        escape(&f.description)
    ));
    body.push_str(
        "<p><label for=\"kind\">Вид голосования</label><br><select id=\"kind\" name=\"kind\">",
    );
    for k in PollKind::ALL {
        body.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            k.code(),
            selected(k.code(), &f.kind),
            escape(k.label_ru())
        ));
    }
    body.push_str("</select></p>");
    // Topic from the region's list.
    let topics = o.pw.polls.topics();
    body.push_str("<p><label for=\"topic\">Тема (из перечня региона)</label><br><select id=\"topic\" name=\"topic\">");
    if topics.is_empty() {
        body.push_str("<option value=\"\">— без темы —</option>");
    }
    for t in topics.all() {
        body.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            escape(&t.code),
            selected(&t.code, &f.topic),
            escape(&t.name)
        ));
    }
    body.push_str("</select></p>");
    // Audience.
    body.push_str("<fieldset><legend>Кто голосует</legend><p><label for=\"territory\">Территория</label><br><select id=\"territory\" name=\"territory\"><option value=\"\">— все жители —</option>");
    let mut sorted: Vec<_> = territories.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for t in sorted {
        let v = t.id.get().to_string();
        body.push_str(&format!(
            "<option value=\"{v}\"{}>{}</option>",
            selected(&v, &f.territory),
            escape(&t.name)
        ));
    }
    body.push_str(&format!(
        "</select></p><p><label for=\"min_age\">Минимальный возраст, лет</label><br>\
<input id=\"min_age\" name=\"min_age\" inputmode=\"numeric\" size=\"4\" value=\"{}\"></p></fieldset>",
        escape(&f.min_age)
    ));
    body.push_str(&format!(
        "<fieldset><legend>Сроки (московское время)</legend>\
<p><label for=\"starts_at\">Начало</label><br><input type=\"datetime-local\" id=\"starts_at\" name=\"starts_at\" required value=\"{}\"></p>\
<p><label for=\"ends_at\">Окончание</label><br><input type=\"datetime-local\" id=\"ends_at\" name=\"ends_at\" required value=\"{}\"></p></fieldset>",
        escape(&f.starts_at),
        escape(&f.ends_at)
    ));
    body.push_str(&format!(
        "<fieldset><legend>Варианты ответа</legend>\
<p><label for=\"options\">По одному на строке; для голосования о бюджете — «Название проекта | стоимость в рублях»</label><br>\
<textarea id=\"options\" name=\"options\" rows=\"6\" aria-describedby=\"options-hint\">{}</textarea></p>\
<p id=\"options-hint\">В голосовании со свободным ответом вариантов нет.</p>\
<p><label for=\"min_choices\">Наименьшее число выбираемых вариантов</label><br><input id=\"min_choices\" name=\"min_choices\" inputmode=\"numeric\" size=\"4\" value=\"{}\"></p>\
<p><label for=\"max_choices\">Наибольшее число выбираемых вариантов</label><br><input id=\"max_choices\" name=\"max_choices\" inputmode=\"numeric\" size=\"4\" value=\"{}\"></p>\
<p><label for=\"budget_cap\">Бюджет, руб. (только для распределения бюджета)</label><br><input id=\"budget_cap\" name=\"budget_cap\" inputmode=\"numeric\" size=\"16\" value=\"{}\"></p>\
<p><label for=\"max_text_chars\">Наибольшая длина свободного ответа, знаков</label><br><input id=\"max_text_chars\" name=\"max_text_chars\" inputmode=\"numeric\" size=\"6\" value=\"{}\"></p></fieldset>",
        escape(&f.options),
        escape(&f.min_choices),
        escape(&f.max_choices),
        escape(&f.budget_cap),
        escape(&f.max_text_chars)
    ));
    body.push_str(&format!(
        "<p><label><input type=\"checkbox\" name=\"allow_revote\" value=\"on\"{}> Можно изменить ответ до окончания</label></p>\
<p><label for=\"results\">Итоги</label><br><select id=\"results\" name=\"results\">",
        if f.allow_revote.is_some() { " checked" } else { "" }
    ));
    for r in ResultsVisibility::ALL {
        body.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            r.code(),
            selected(r.code(), &f.results),
            escape(r.label_ru())
        ));
    }
    body.push_str("</select></p><p><button type=\"submit\">Сохранить черновик</button></p></form>");
    Ok(body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewQuery {
    kind: Option<String>,
}

/// `GET /office/polls/new`.
pub(crate) async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NewQuery>,
) -> Response {
    let o = match Office::load(&state, staff).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    if o.managed().is_empty() {
        return o.error(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Создавать голосования могут только менеджеры голосований.",
        );
    }
    let f = PollForm::fresh(o.now, q.kind.as_deref());
    form_page(
        &state,
        &o,
        "/office/polls/new",
        "Новое голосование",
        &f,
        &[],
        StatusCode::OK,
    )
    .await
}

/// Checks the form; `Err` is the page to show.
async fn checked_draft(
    state: &AppState,
    o: &Office,
    action: &str,
    heading: &str,
    f: &PollForm,
) -> Result<PollDraft, Response> {
    let draft = match f.draft() {
        Ok(d) => d,
        Err(errors) => {
            return Err(form_page(
                state,
                o,
                action,
                heading,
                f,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await);
        }
    };
    if let Err(errors) = validate_draft_ru(&draft, o.pw.polls.topics()) {
        return Err(form_page(
            state,
            o,
            action,
            heading,
            f,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await);
    }
    Ok(draft)
}

fn refused(o: &Office, e: &PollsError) -> Response {
    match e {
        PollsError::Forbidden(why) => {
            tracing::info!(user = %o.staff.id(), %why, "poll action refused");
            o.error(
                StatusCode::FORBIDDEN,
                "Доступ запрещён",
                "У вас нет прав на это действие: нужна роль менеджера голосований (или модератора) в этой организации или выше.",
            )
        }
        PollsError::WrongStatus { .. } => {
            o.error(StatusCode::CONFLICT, "Действие недоступно", &e.message_ru())
        }
        PollsError::InvalidPoll(_) | PollsError::Invalid(_) => o.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Голосование заполнено неверно",
            &e.message_ru(),
        ),
        PollsError::NotFound(_) => o.error(
            StatusCode::NOT_FOUND,
            "Голосование не найдено",
            "Такого голосования нет или оно вам недоступно.",
        ),
        other => internal(other),
    }
}

/// `POST /office/polls/new`.
pub(crate) async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<PollForm>,
) -> Response {
    let o = match Office::load(&state, staff).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let heading = "Новое голосование";
    let draft = match checked_draft(&state, &o, "/office/polls/new", heading, &f).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match o.pw.polls.create(&draft, &o.staff.user, o.now).await {
        Ok(d) => {
            tracing::info!(poll = %d.poll.id, user = %o.staff.id(), "poll draft created");
            see_other(&format!("/office/polls/{}", d.poll.id))
        }
        Err(e) => refused(&o, &e),
    }
}

/// `POST /office/polls/{id}/edit`.
pub(crate) async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<PollForm>,
) -> Response {
    let (o, current) = match Office::load_poll(&state, staff, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let action = format!("/office/polls/{}/edit", current.poll.id);
    let heading = format!("Голосование № {}: черновик", current.poll.id);
    let draft = match checked_draft(&state, &o, &action, &heading, &f).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match o
        .pw
        .polls
        .update(current.poll.id, &draft, &o.staff.user, o.now)
        .await
    {
        Ok(_) => see_other(&format!("/office/polls/{}?done=saved", current.poll.id)),
        Err(e) => refused(&o, &e),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

/// `GET /office/polls/{id}`: the card.
pub(crate) async fn card(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let (o, d) = match Office::load_poll(&state, staff, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let id = d.poll.id;
    let mut body = format!("<h1>Голосование № {id}: {}</h1>", escape(&d.poll.title));
    if let Some(done) = q.done.as_deref() {
        let text = match done {
            "saved" => "Черновик сохранён.",
            "submit" => "Голосование отправлено на модерацию.",
            "approve" => "Голосование одобрено и опубликовано.",
            "return" => "Голосование возвращено менеджеру на доработку.",
            "close" => "Голосование завершено.",
            _ => "",
        };
        if !text.is_empty() {
            body.push_str(&format!("<p class=\"ok\" role=\"status\">{text}</p>"));
        }
    }
    let topic = d.topic.as_deref().map_or_else(
        || "—".to_owned(),
        |c| {
            o.pw.polls
                .topics()
                .get(c)
                .map_or_else(|| c.to_owned(), |t| t.name.clone())
        },
    );
    let territory = match d.poll.territory {
        Some(t) => match state.store().territories().await {
            Ok(all) => all
                .iter()
                .find(|x| x.id == t)
                .map_or_else(|| t.to_string(), |x| x.name.clone()),
            Err(e) => return internal(&e),
        },
        None => "все жители".to_owned(),
    };
    let bounds = match d.poll.kind {
        PollKind::MultipleChoice | PollKind::Ranking | PollKind::Budget => {
            let (min, max) = otklik_polls::choice_bounds(
                d.poll.kind,
                d.min_choices,
                d.max_choices,
                d.options.len(),
            );
            format!("<dt>Выбор</dt><dd>от {min} до {max} вариантов</dd>")
        }
        _ => String::new(),
    };
    body.push_str(&format!(
        "<dl class=\"facts\"><dt>Состояние</dt><dd>{status}</dd><dt>Вид</dt><dd>{kind}</dd>\
<dt>Организация</dt><dd>{org}</dd><dt>Тема</dt><dd>{topic}</dd><dt>Территория</dt><dd>{territory}</dd>\
<dt>Возраст</dt><dd>{age}</dd><dt>Сроки</dt><dd>{from} — {to}</dd>{bounds}{budget}\
<dt>Повторное голосование</dt><dd>{revote}</dd><dt>Итоги</dt><dd>{results}</dd></dl>",
        status = status_badge(d.poll.status),
        kind = escape(d.poll.kind.label_ru()),
        org = escape(&o.org_name(d.poll.organisation)),
        topic = escape(&topic),
        territory = escape(&territory),
        age = d
            .min_age
            .map_or_else(|| "без ограничения".to_owned(), |a| format!("от {a} лет")),
        from = fmt_time(d.poll.starts_at),
        to = fmt_time(d.poll.ends_at),
        budget = d.budget_cap.map_or_else(String::new, |c| format!(
            "<dt>Бюджет</dt><dd>{} руб.</dd>",
            group_digits(c)
        )),
        revote = if d.allow_revote {
            "разрешено до окончания"
        } else {
            "нельзя"
        },
        results = escape(d.results.label_ru()),
    ));
    if !d.description.is_empty() {
        body.push_str(&format!(
            "<div class=\"text\">{}</div>",
            escape(&d.description)
        ));
    }
    if let Some(note) = &d.review_note
        && d.poll.status == PollStatus::Draft
    {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">Замечание модератора: {}</p>",
            escape(note)
        ));
    }
    if !d.options.is_empty() {
        body.push_str("<h2>Варианты</h2><ol class=\"options\">");
        for opt in &d.options {
            let cost = opt
                .cost
                .map_or_else(String::new, |c| format!(" — {} руб.", group_digits(c)));
            body.push_str(&format!("<li>{}{cost}</li>", escape(&opt.label)));
        }
        body.push_str("</ol>");
    }
    // Life-cycle steps this user may take.
    let csrf = csrf_field(&o.staff);
    let step = |action: &str, label: &str, extra: &str| {
        format!(
            "<form method=\"post\" action=\"/office/polls/{id}/step\" class=\"action\">{csrf}\
<input type=\"hidden\" name=\"action\" value=\"{action}\">{extra}<button type=\"submit\">{label}</button></form>"
        )
    };
    let mut actions = String::new();
    match d.poll.status {
        PollStatus::Draft if o.may(PollAction::Submit, &d) => {
            actions.push_str(&step("submit", "Отправить на модерацию", ""));
        }
        PollStatus::Review => {
            if o.may(PollAction::Approve, &d) {
                actions.push_str(&step("approve", "Одобрить и опубликовать", ""));
            }
            if o.may(PollAction::Return, &d) {
                actions.push_str(&step(
                    "return",
                    "Вернуть на доработку",
                    "<p><label for=\"note\">Что исправить</label><br><textarea id=\"note\" name=\"note\" required maxlength=\"2000\"></textarea></p>",
                ));
            }
        }
        PollStatus::Published if o.may(PollAction::Close, &d) => {
            actions.push_str(&step("close", "Завершить досрочно", ""));
        }
        _ => {}
    }
    if !actions.is_empty() {
        body.push_str(&format!("<h2>Действия</h2>{actions}"));
    }
    if matches!(d.poll.status, PollStatus::Published | PollStatus::Closed) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("АДРЕС-ПОРТАЛА");
        let scheme = if state.auth().secure_cookies {
            "https"
        } else {
            "http"
        };
        body.push_str(&format!(
            "<h2>Итоги и публикация</h2><p><a href=\"/office/polls/{id}/results\">Итоги голосования</a> · \
<a href=\"/polls/{id}\">Страница для граждан</a></p>\
<p><label for=\"snippet\">Код виджета для сайта организации</label><br>\
<textarea id=\"snippet\" readonly rows=\"2\">{}</textarea></p>",
            escape(&format!(
                "<script src=\"{scheme}://{host}/polls/widget.js\" data-poll=\"{id}\" async></script>"
            ))
        ));
        match o.pw.polls.anomaly_report(id, Timestamp(0)).await {
            Ok(rep) => {
                body.push_str(&format!(
                    "<h2>Проверка на накрутку</h2><p>Принято голосов (с повторными): {}. \
Всплеском считается {} голосов из одной сети или {} с одной территории за {} с.</p>",
                    rep.votes,
                    rep.rules.network_votes,
                    rep.rules.territory_votes,
                    rep.rules.window_ms / 1000
                ));
                if rep.bursts.is_empty() {
                    body.push_str("<p class=\"ok\">Всплесков не найдено.</p>");
                } else {
                    body.push_str("<table><caption>Всплески голосов</caption><thead><tr><th scope=\"col\">Источник</th><th scope=\"col\">С</th><th scope=\"col\">По</th><th scope=\"col\">Голосов</th></tr></thead><tbody>");
                    for b in &rep.bursts {
                        let source = match &b.source {
                            otklik_polls::BurstSource::Network(h) => format!("сеть {h}"),
                            otklik_polls::BurstSource::Territory(t) => format!("территория {t}"),
                        };
                        body.push_str(&format!(
                            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                            escape(&source),
                            fmt_time(b.from),
                            fmt_time(b.to),
                            b.votes
                        ));
                    }
                    body.push_str("</tbody></table>");
                }
            }
            Err(e) => return internal(&e),
        }
    }
    if d.poll.status == PollStatus::Draft && o.may(PollAction::Edit, &d) {
        let f = PollForm::of(&d);
        match form_html(&state, &o, &format!("/office/polls/{id}/edit"), &f).await {
            Ok(form) => {
                body.push_str("<h2>Изменить черновик</h2>");
                body.push_str(&form);
            }
            Err(r) => return r,
        }
    }
    layout(&o.staff, &format!("Голосование № {id}"), &body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct StepForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
}

/// `POST /office/polls/{id}/step`: submit, approve, return, close.
pub(crate) async fn step(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<StepForm>,
) -> Response {
    let (o, d) = match Office::load_poll(&state, staff, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let id: PollId = d.poll.id;
    let polls = &o.pw.polls;
    let user = &o.staff.user;
    let done = match f.action.as_str() {
        "submit" => polls.submit(id, user, o.now).await,
        "approve" => polls.approve(id, user, o.now).await,
        "return" => {
            if f.note.trim().is_empty() {
                return o.error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Голосование не возвращено",
                    "Напишите, что нужно исправить.",
                );
            }
            polls.return_to_draft(id, user, &f.note, o.now).await
        }
        "close" => polls.close(id, user, o.now).await,
        _ => {
            return o.error(
                StatusCode::BAD_REQUEST,
                "Неизвестное действие",
                "Обновите страницу и повторите.",
            );
        }
    };
    match done {
        Ok(_) => {
            tracing::info!(poll = %id, user = %o.staff.id(), action = %f.action, "poll step");
            see_other(&format!("/office/polls/{id}?done={}", f.action))
        }
        Err(PollsError::InvalidPoll(_)) => {
            let problems = validate_draft_ru(&draft_of(&d), polls.topics())
                .err()
                .unwrap_or_else(|| {
                    vec!["Время окончания голосования уже прошло: измените сроки.".to_owned()]
                });
            o.error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Голосование заполнено неверно",
                &problems.join(" "),
            )
        }
        Err(e) => refused(&o, &e),
    }
}

/// `GET /office/polls/{id}/results`.
pub(crate) async fn results(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let (o, d) = match Office::load_poll(&state, staff, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let id = d.poll.id;
    let mut body = format!(
        "<h1>Итоги: {}</h1><p><a href=\"/office/polls/{id}\">К голосованию № {id}</a></p>",
        escape(&d.poll.title)
    );
    match o.pw.polls.results(id, o.now).await {
        Ok(r) => {
            body.push_str(&charts::results_html(&r));
            body.push_str(&format!(
                "<p>Скачать: <a href=\"/office/polls/{id}/results.csv\" download>CSV</a> · \
<a href=\"/office/polls/{id}/results.xlsx\" download>XLSX</a></p>"
            ));
        }
        Err(PollsError::ResultsHidden(_)) => {
            let turnout = match o.pw.polls.turnout(id).await {
                Ok(n) => n,
                Err(e) => return internal(&e),
            };
            body.push_str(&format!(
                "<p role=\"status\">Итоги скрыты до завершения голосования ({}). Проголосовали: <strong id=\"turnout\">{turnout}</strong>.</p>",
                fmt_time(d.poll.ends_at)
            ));
        }
        Err(e) => return internal(&e),
    }
    layout(&o.staff, "Итоги голосования", &body)
}

async fn download(state: AppState, staff: Staff, id: String, xlsx: bool) -> Response {
    let (o, d) = match Office::load_poll(&state, staff, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let id = d.poll.id;
    let exported = if xlsx {
        o.pw.polls.export_xlsx(id, o.now).await
    } else {
        o.pw.polls.export_csv(id, o.now).await
    };
    let bytes = match exported {
        Ok(b) => b,
        Err(PollsError::ResultsHidden(_)) => {
            return o.error(
                StatusCode::FORBIDDEN,
                "Итоги скрыты",
                "Итоги этого голосования будут доступны после его завершения.",
            );
        }
        Err(e) => return internal(&e),
    };
    let (mime, ext) = if xlsx {
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    } else {
        ("text/csv; charset=utf-8", "csv")
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"poll-{id}-results.{ext}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /office/polls/{id}/results.csv`.
pub(crate) async fn results_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    download(state, staff, id, false).await
}

/// `GET /office/polls/{id}/results.xlsx`.
pub(crate) async fn results_xlsx(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    download(state, staff, id, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_round_trip_in_moscow_time() {
        let t = parse_local("2025-12-01T10:00").expect("parsed");
        assert_eq!(t, Timestamp(1_764_572_400_000));
        assert_eq!(local_value(t), "2025-12-01T10:00");
        assert!(parse_local("завтра").is_none());
    }

    #[test]
    fn forms_become_drafts_or_russian_problems() {
        let mut f = PollForm::fresh(Timestamp(1_764_572_400_000), Some("budget"));
        f.organisation = "3".into();
        f.title = "Проекты".into();
        f.budget_cap = "5 000 000".into();
        f.options = "Сквер | 3 000 000\n\nОсвещение | 1500000\n".into();
        let d = f.draft().expect("draft");
        assert_eq!(d.kind, PollKind::Budget);
        assert_eq!(d.budget_cap, Some(5_000_000));
        assert_eq!(d.options.len(), 2);
        assert_eq!(d.options[0].cost, Some(3_000_000));
        assert!(d.allow_revote);
        f.options = "Сквер\nПарк | много".into();
        f.min_choices = "два".into();
        let e = f.draft().expect_err("bad").join("\n");
        assert!(e.contains("Проект 1: укажите стоимость"), "{e}");
        assert!(e.contains("Проект 2: стоимость «много»"), "{e}");
        assert!(e.contains("Наименьшее число вариантов: нужно целое"), "{e}");
    }
}
