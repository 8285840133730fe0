//! The citizens' side of «Голосования»: the list of polls, a poll's page with its ballot, the
//! framable widget page (`/widget/poll/{id}`) and its script (`/polls/widget.js`), and the
//! public results.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otklik_domain::{PollKind, PollOptionId, PollStatus, TerritoryId};
use otklik_polls::{
    Ballot, PollDetails, PollsError, StoredBallot, TerritoryTree, VoteMeta, VoteOutcome,
    group_digits,
};

use super::{PollsWeb, charts, fmt_time, now, poll_id};
use crate::AppState;
use crate::auth::{client_ip, internal, origin_ok, random_token};
use crate::citizen::{Citizen, citizen_page, notice};
use crate::html::escape;

/// Where a poll is shown: its own page or the framed widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Page,
    Widget,
}

impl Place {
    fn path(self, id: otklik_domain::PollId) -> String {
        match self {
            Self::Page => format!("/polls/{id}"),
            Self::Widget => format!("/widget/poll/{id}"),
        }
    }

    /// Links leave the frame.
    fn target(self) -> &'static str {
        match self {
            Self::Page => "",
            Self::Widget => " target=\"_blank\" rel=\"noopener\"",
        }
    }
}

fn unavailable() -> Response {
    notice(
        StatusCode::SERVICE_UNAVAILABLE,
        "Голосования недоступны",
        "Модуль голосований на этом сервере не настроен.",
        &[],
    )
}

fn not_found() -> Response {
    notice(
        StatusCode::NOT_FOUND,
        "Голосование не найдено",
        "Такого голосования нет или оно ещё не опубликовано.",
        &[("/polls", "Все голосования")],
    )
}

/// A published or closed poll (drafts and polls on moderation are not public).
async fn public_poll(pw: &PollsWeb, raw: &str) -> Result<PollDetails, Response> {
    let id = poll_id(raw).ok_or_else(not_found)?;
    match pw.polls.details(id).await {
        Ok(d) if matches!(d.poll.status, PollStatus::Published | PollStatus::Closed) => Ok(d),
        Ok(_) | Err(PollsError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(internal(&e)),
    }
}

/// Is the poll taking votes now?
fn is_open(d: &PollDetails, at: otklik_domain::Timestamp) -> bool {
    d.poll.status == PollStatus::Published && at >= d.poll.starts_at && at < d.poll.ends_at
}

/// `GET /polls`: published polls and the recently closed ones.
pub(crate) async fn list(State(state): State<AppState>) -> Response {
    let Some(pw) = state.polls_web() else {
        return unavailable();
    };
    let store = pw.polls.store();
    let (open, closed, orgs) = match (
        store.polls_in_status(PollStatus::Published).await,
        store.polls_in_status(PollStatus::Closed).await,
        store.organisations().await,
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return internal(&e),
    };
    let org_name = |id| {
        orgs.iter()
            .find(|o| o.id == id)
            .map_or_else(String::new, |o| {
                o.short_name.clone().unwrap_or_else(|| o.name.clone())
            })
    };
    let t = now();
    let mut body = String::from("<h1>Голосования</h1>");
    let mut section = |title: &str, polls: Vec<&otklik_domain::Poll>| {
        body.push_str(&format!("<h2>{}</h2>", escape(title)));
        if polls.is_empty() {
            body.push_str("<p>Нет.</p>");
            return;
        }
        body.push_str("<ul class=\"polls\">");
        for p in polls {
            body.push_str(&format!(
                "<li><a href=\"/polls/{id}\">{title}</a> — {org}, до {to}</li>",
                id = p.id,
                title = escape(&p.title),
                org = escape(&org_name(p.organisation)),
                to = fmt_time(p.ends_at),
            ));
        }
        body.push_str("</ul>");
    };
    let mut current: Vec<_> = open.iter().filter(|p| t < p.ends_at).collect();
    current.sort_by_key(|p| p.ends_at);
    let mut done: Vec<_> = open
        .iter()
        .filter(|p| t >= p.ends_at)
        .chain(closed.iter())
        .collect();
    done.sort_by_key(|p| std::cmp::Reverse(p.ends_at));
    done.truncate(50);
    section("Идут сейчас", current);
    section("Завершены", done);
    citizen_page(StatusCode::OK, "Голосования", &body)
}

/// `GET /polls/widget.js`: the snippet's script.
pub(crate) async fn script() -> Response {
    let mut res = POLL_WIDGET_JS.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    res
}

const POLL_WIDGET_JS: &str = r##"/* Отклик: виджет голосования. Вставьте на сайт:
   <script src="https://OTKLIK/polls/widget.js" data-poll="НОМЕР" async></script> */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var id = script.getAttribute("data-poll") || "";
  if (!/^[0-9]{1,18}$/.test(id)) {
    if (window.console) { console.warn("Отклик: неверный атрибут data-poll"); }
    return;
  }
  var base = new URL(script.src, document.baseURI).origin;
  var url = base + "/widget/poll/" + id;
  var box = document.createElement("div");
  box.className = "otklik-poll";
  var frame = document.createElement("iframe");
  frame.src = url;
  frame.title = script.getAttribute("data-title") || "Голосование";
  frame.className = "otklik-poll-frame";
  var height = parseInt(script.getAttribute("data-height") || "620", 10);
  frame.style.border = "1px solid #d0d5dc"; frame.style.borderRadius = "6px";
  frame.style.width = "100%"; frame.style.maxWidth = "760px";
  frame.style.height = (height > 200 && height < 3000 ? height : 620) + "px";
  var link = document.createElement("a");
  link.href = url; link.target = "_blank"; link.rel = "noopener";
  link.className = "otklik-poll-newwindow";
  link.textContent = "Открыть голосование в новом окне";
  box.appendChild(frame);
  var p = document.createElement("p");
  p.appendChild(link);
  box.appendChild(p);
  if (script.parentNode && script.parentNode !== document.head) {
    script.parentNode.insertBefore(box, script.nextSibling);
  } else {
    document.body.appendChild(box);
  }
})();
"##;

/// A message above the ballot.
enum Note {
    Ok(String),
    Error(String),
}

/// The poll's page (or widget): description, schedule, the ballot or why there is none.
#[allow(clippy::too_many_arguments)]
async fn view(
    state: &AppState,
    pw: &PollsWeb,
    d: &PollDetails,
    citizen: Option<&Citizen>,
    place: Place,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    let id = d.poll.id;
    let t = now();
    let org = match state.store().organisation(d.poll.organisation).await {
        Ok(Some(o)) => o.short_name.unwrap_or(o.name),
        Ok(None) => String::new(),
        Err(e) => return internal(&e),
    };
    let mut body = format!(
        "<h1>{}</h1><p>Проводит: <strong>{}</strong>. Голосование с {} по {} (московское время).</p>",
        escape(&d.poll.title),
        escape(&org),
        fmt_time(d.poll.starts_at),
        fmt_time(d.poll.ends_at),
    );
    if !d.description.is_empty() {
        body.push_str(&format!(
            "<p class=\"answer\">{}</p>",
            escape(&d.description)
        ));
    }
    match &note {
        Some(Note::Ok(text)) => body.push_str(&format!(
            "<p class=\"ok\" role=\"status\" id=\"vote-result\">{}</p>",
            escape(text)
        )),
        Some(Note::Error(text)) => body.push_str(&format!(
            "<p class=\"notice\" role=\"alert\" id=\"vote-error\">{}</p>",
            escape(text)
        )),
        None => {}
    }
    let results_visible =
        d.results == otklik_domain::ResultsVisibility::Live || otklik_polls::results::is_over(d, t);
    let results_link = format!(
        "<p><a href=\"/polls/{id}/results\" id=\"results-link\"{}>{}</a></p>",
        place.target(),
        if results_visible {
            "Итоги голосования"
        } else {
            "Итоги (будут показаны после завершения)"
        }
    );
    if !is_open(d, t) {
        let why = if d.poll.status == PollStatus::Published && t < d.poll.starts_at {
            format!("Голосование начнётся {}.", fmt_time(d.poll.starts_at))
        } else {
            "Голосование завершено.".to_owned()
        };
        body.push_str(&format!("<p role=\"status\">{}</p>", escape(&why)));
        body.push_str(&results_link);
        return citizen_page(status, &d.poll.title, &body);
    }
    let Some(citizen) = citizen else {
        let next = place.path(id);
        let q = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
        let refresh = if place == Place::Widget {
            format!(
                "<p>Вход откроется в новом окне: проголосовать можно там же, или вернитесь сюда и <a href=\"{}\">обновите форму</a>.</p>",
                escape(&next)
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<p>Чтобы проголосовать, войдите через Госуслуги (ЕСИА): один голос на одного человека.</p>\
<p><a class=\"button\" id=\"sign-in\" href=\"/citizen/login?{q}\"{target}>Войти через Госуслуги</a></p>{refresh}",
            q = escape(&q),
            target = place.target(),
        ));
        body.push_str(&results_link);
        return citizen_page(status, &d.poll.title, &body);
    };
    let existing = match pw.polls.ballot_of(id, &citizen.user.login).await {
        Ok(b) => b,
        Err(e) => return internal(&e),
    };
    if let Some(b) = &existing {
        if d.allow_revote {
            body.push_str(&format!(
                "<p role=\"status\" id=\"voted\">Вы уже проголосовали ({}). Ответ можно изменить до {}.</p>",
                fmt_time(b.updated_at),
                fmt_time(d.poll.ends_at)
            ));
        } else {
            body.push_str(&format!(
                "<p role=\"status\" id=\"voted\">Вы проголосовали {}. Спасибо! Изменить ответ в этом голосовании нельзя.</p>",
                fmt_time(b.cast_at)
            ));
            body.push_str(&results_link);
            return citizen_page(status, &d.poll.title, &body);
        }
    }
    match ballot_form(state, d, citizen, place, existing.as_ref()).await {
        Ok(form) => body.push_str(&form),
        Err(r) => return r,
    }
    body.push_str(&results_link);
    citizen_page(status, &d.poll.title, &body)
}

/// The ballot of the poll's kind, filled with the voter's current ballot.
async fn ballot_form(
    state: &AppState,
    d: &PollDetails,
    citizen: &Citizen,
    place: Place,
    existing: Option<&StoredBallot>,
) -> Result<String, Response> {
    let key = random_token().map_err(|e| internal(&e))?[..32].to_owned();
    let chosen =
        |o: PollOptionId| existing.is_some_and(|b| b.choices.iter().any(|c| c.option == o));
    let mut f = format!(
        "<form method=\"post\" action=\"{action}\" class=\"poll-ballot\">\
<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"key\" value=\"{key}\">",
        action = escape(&place.path(d.poll.id)),
        csrf = escape(citizen.csrf_token()),
    );
    let (min, max) =
        otklik_polls::choice_bounds(d.poll.kind, d.min_choices, d.max_choices, d.options.len());
    match d.poll.kind {
        PollKind::SingleChoice => {
            f.push_str("<fieldset><legend>Выберите один вариант</legend>");
            for o in &d.options {
                f.push_str(&format!(
                    "<label><input type=\"radio\" name=\"option\" value=\"{}\" required{}> {}</label>",
                    o.id,
                    if chosen(o.id) { " checked" } else { "" },
                    escape(&o.label)
                ));
            }
            f.push_str("</fieldset>");
        }
        PollKind::MultipleChoice | PollKind::Budget => {
            let legend = if d.poll.kind == PollKind::Budget {
                format!(
                    "Выберите проекты (от {min} до {max}) на сумму не больше {} руб.",
                    group_digits(d.budget_cap.unwrap_or(0))
                )
            } else {
                format!("Выберите от {min} до {max} вариантов")
            };
            f.push_str(&format!("<fieldset><legend>{}</legend>", escape(&legend)));
            for o in &d.options {
                let cost = o
                    .cost
                    .map_or_else(String::new, |c| format!(" — {} руб.", group_digits(c)));
                f.push_str(&format!(
                    "<label><input type=\"checkbox\" name=\"option\" value=\"{}\"{}> {}{cost}</label>",
                    o.id,
                    if chosen(o.id) { " checked" } else { "" },
                    escape(&o.label)
                ));
            }
            f.push_str("</fieldset>");
        }
        PollKind::Ranking => {
            f.push_str(&format!(
                "<fieldset><legend>Расставьте варианты по местам: 1 — самый важный (нужно мест: от {min} до {max})</legend>"
            ));
            let n = d.options.len();
            for o in &d.options {
                let current = existing
                    .and_then(|b| b.choices.iter().find(|c| c.option == o.id))
                    .and_then(|c| c.rank);
                f.push_str(&format!(
                    "<label for=\"rank-{id}\">{label}</label><select id=\"rank-{id}\" name=\"rank_{id}\"><option value=\"\">— без места —</option>",
                    id = o.id,
                    label = escape(&o.label)
                ));
                for r in 1..=n {
                    let r = u32::try_from(r).unwrap_or(u32::MAX);
                    f.push_str(&format!(
                        "<option value=\"{r}\"{}>{r}</option>",
                        if current == Some(r) { " selected" } else { "" }
                    ));
                }
                f.push_str("</select>");
            }
            f.push_str("</fieldset>");
        }
        PollKind::FreeText => {
            let max = d
                .max_text_chars
                .unwrap_or(otklik_polls::definition::DEFAULT_TEXT_CHARS);
            f.push_str(&format!(
                "<p><label for=\"answer\">Ваш ответ (до {max} знаков)</label>\
<textarea id=\"answer\" name=\"text\" rows=\"5\" required maxlength=\"{max}\">{}</textarea></p>",
                escape(existing.and_then(|b| b.text.as_deref()).unwrap_or(""))
            ));
        }
    }
    if let Some(area) = d.poll.territory {
        let all = state
            .store()
            .territories()
            .await
            .map_err(|e| internal(&e))?;
        let tree = TerritoryTree::new(&all);
        let mut within: Vec<_> = all.iter().filter(|t| tree.is_within(t.id, area)).collect();
        within.sort_by(|a, b| a.name.cmp(&b.name));
        f.push_str("<p><label for=\"territory\">Где вы живёте</label><select id=\"territory\" name=\"territory\" required><option value=\"\">— выберите —</option>");
        for t in within {
            f.push_str(&format!(
                "<option value=\"{}\">{}</option>",
                t.id.get(),
                escape(&t.name)
            ));
        }
        f.push_str("</select></p>");
    }
    if let Some(age) = d.min_age {
        f.push_str(&format!(
            "<p><label><input type=\"checkbox\" name=\"age_ok\" value=\"1\" required> Мне исполнилось {age} лет</label></p>"
        ));
    }
    let button = if existing.is_some() {
        "Изменить ответ"
    } else {
        "Проголосовать"
    };
    f.push_str(&format!(
        "<p><button type=\"submit\" id=\"vote\">{button}</button></p></form>"
    ));
    Ok(f)
}

async fn show(state: AppState, headers: HeaderMap, raw: String, place: Place) -> Response {
    let Some(pw) = state.polls_web().cloned() else {
        return unavailable();
    };
    let d = match public_poll(&pw, &raw).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let citizen = match Citizen::of_request(&state, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    view(
        &state,
        &pw,
        &d,
        citizen.as_ref(),
        place,
        None,
        StatusCode::OK,
    )
    .await
}

/// `GET /polls/{id}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    show(state, headers, id, Place::Page).await
}

/// `GET /widget/poll/{id}` (framable).
pub(crate) async fn widget(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    show(state, headers, id, Place::Widget).await
}

/// The ballot of the form's fields (`Err`: what is wrong, in Russian).
fn ballot_of(d: &PollDetails, fields: &[(String, String)]) -> Result<Ballot, String> {
    let broken = || "Форма повреждена. Обновите страницу и ответьте заново.".to_owned();
    let ids = |name: &str| -> Result<Vec<PollOptionId>, String> {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| {
                v.trim()
                    .parse::<i64>()
                    .map(PollOptionId)
                    .map_err(|_| broken())
            })
            .collect()
    };
    match d.poll.kind {
        PollKind::SingleChoice => {
            let mut picked = ids("option")?;
            match picked.len() {
                0 => Err("Выберите вариант ответа.".into()),
                1 => Ok(Ballot::Single {
                    option: picked.remove(0),
                }),
                _ => Err("Выберите один вариант.".into()),
            }
        }
        PollKind::MultipleChoice => Ok(Ballot::Multiple {
            options: ids("option")?,
        }),
        PollKind::Budget => Ok(Ballot::Budget {
            projects: ids("option")?,
        }),
        PollKind::Ranking => {
            let mut ranked: Vec<(u32, PollOptionId)> = Vec::new();
            for (k, v) in fields {
                let Some(id) = k.strip_prefix("rank_") else {
                    continue;
                };
                if v.trim().is_empty() {
                    continue;
                }
                let id = id.parse::<i64>().map_err(|_| broken())?;
                let rank = v.trim().parse::<u32>().map_err(|_| broken())?;
                if ranked.iter().any(|(r, _)| *r == rank) {
                    return Err(format!(
                        "Место {rank} отдано двум вариантам: у каждого варианта своё место."
                    ));
                }
                ranked.push((rank, PollOptionId(id)));
            }
            ranked.sort_by_key(|(r, _)| *r);
            if ranked.iter().zip(1u32..).any(|((r, _), want)| *r != want) {
                return Err("Места должны идти подряд: 1, 2, 3…".into());
            }
            Ok(Ballot::Ranking {
                options: ranked.into_iter().map(|(_, id)| id).collect(),
            })
        }
        PollKind::FreeText => Ok(Ballot::FreeText {
            text: fields
                .iter()
                .find(|(k, _)| k == "text")
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        }),
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The HTTP status of a refused vote.
fn refusal_status(e: &PollsError) -> StatusCode {
    match e {
        PollsError::InvalidBallot(_) | PollsError::Audience(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PollsError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::CONFLICT,
    }
}

async fn vote(
    state: AppState,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    raw: String,
    fields: Vec<(String, String)>,
    place: Place,
) -> Response {
    if !origin_ok(&headers) {
        return notice(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Форма отправлена с другого сайта.",
            &[],
        );
    }
    let Some(pw) = state.polls_web().cloned() else {
        return unavailable();
    };
    let d = match public_poll(&pw, &raw).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let citizen = match Citizen::of_request(&state, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return view(&state, &pw, &d, None, place, None, StatusCode::FORBIDDEN).await;
        }
        Err(r) => return r,
    };
    if !citizen.csrf_ok(field(&fields, "_csrf")) {
        tracing::warn!(user = %citizen.id(), poll = %d.poll.id, "vote CSRF token missing or wrong");
        return notice(
            StatusCode::FORBIDDEN,
            "Доступ запрещён",
            "Форма устарела или отправлена не с нашей страницы (неверный CSRF-токен). Откройте голосование заново.",
            &[(place.path(d.poll.id).as_str(), "Открыть голосование")],
        );
    }
    let ip = client_ip(&state, &headers, &ext);
    if let Err(wait) = pw.limit(ip.as_deref()) {
        let mut res = view(
            &state,
            &pw,
            &d,
            Some(&citizen),
            place,
            Some(Note::Error(format!(
                "Слишком много голосов с вашего адреса. Повторите через {wait} с."
            ))),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    let key = field(&fields, "key");
    let key_ok = (16..=64).contains(&key.len())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !key_ok {
        return view(
            &state,
            &pw,
            &d,
            Some(&citizen),
            place,
            Some(Note::Error("Форма повреждена. Ответьте заново.".into())),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let ballot = match ballot_of(&d, &fields) {
        Ok(b) => b,
        Err(text) => {
            return view(
                &state,
                &pw,
                &d,
                Some(&citizen),
                place,
                Some(Note::Error(text)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let territory = match field(&fields, "territory").trim() {
        "" => None,
        t => t.parse::<i64>().ok().map(TerritoryId),
    };
    let meta = VoteMeta {
        territory,
        age: (field(&fields, "age_ok") == "1")
            .then_some(d.min_age)
            .flatten(),
        ip: ip.as_deref().and_then(|i| i.parse().ok()),
    };
    let vote_key = format!("web:{}:{key}", citizen.id());
    let result = pw
        .polls
        .vote(
            d.poll.id,
            &citizen.user.login,
            &ballot,
            &vote_key,
            &meta,
            now(),
        )
        .await;
    match result {
        Ok(receipt) => {
            tracing::info!(poll = %d.poll.id, outcome = ?receipt.outcome, "vote taken on the web");
            let text = match receipt.outcome {
                VoteOutcome::Recorded => "Спасибо! Ваш голос учтён.",
                VoteOutcome::Replaced => "Ваш ответ изменён.",
                VoteOutcome::Replayed => "Ваш голос уже учтён.",
            };
            view(
                &state,
                &pw,
                &d,
                Some(&citizen),
                place,
                Some(Note::Ok(text.into())),
                StatusCode::OK,
            )
            .await
        }
        Err(e) if e.is_refusal() => {
            tracing::info!(poll = %d.poll.id, error = %e, "vote refused");
            view(
                &state,
                &pw,
                &d,
                Some(&citizen),
                place,
                Some(Note::Error(e.message_ru())),
                refusal_status(&e),
            )
            .await
        }
        Err(PollsError::NotFound(_)) => not_found(),
        Err(e) => internal(&e),
    }
}

/// `POST /polls/{id}`: a vote from the poll's page.
pub(crate) async fn vote_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    vote(state, headers, ext, id, fields, Place::Page).await
}

/// `POST /widget/poll/{id}`: a vote from the widget.
pub(crate) async fn vote_widget(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    vote(state, headers, ext, id, fields, Place::Widget).await
}

/// `GET /polls/{id}/results`: charts and tables, or the turnout while results are hidden.
pub(crate) async fn results(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    let Some(pw) = state.polls_web().cloned() else {
        return unavailable();
    };
    let d = match public_poll(&pw, &raw).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let id = d.poll.id;
    let mut body = format!(
        "<h1>Итоги: {}</h1><p><a href=\"/polls/{id}\">К голосованию</a></p>",
        escape(&d.poll.title)
    );
    match pw.polls.results(id, now()).await {
        Ok(r) => body.push_str(&charts::results_html(&r)),
        Err(PollsError::ResultsHidden(_)) => match pw.polls.turnout(id).await {
            Ok(n) => body.push_str(&format!(
                "<p role=\"status\">Итоги будут показаны после завершения голосования ({}). Уже проголосовали: <strong id=\"turnout\">{n}</strong>.</p>",
                fmt_time(d.poll.ends_at)
            )),
            Err(e) => return internal(&e),
        },
        Err(e) => return internal(&e),
    }
    citizen_page(StatusCode::OK, "Итоги голосования", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(kind: PollKind) -> PollDetails {
        let opts = (1..=3)
            .map(|i| otklik_polls::PollOption {
                id: PollOptionId(i),
                position: 0,
                label: format!("В{i}"),
                description: String::new(),
                cost: None,
            })
            .collect();
        PollDetails {
            poll: otklik_domain::Poll {
                id: otklik_domain::PollId(1),
                organisation: otklik_domain::OrganisationId(1),
                title: "Опрос".into(),
                kind,
                status: PollStatus::Published,
                territory: None,
                starts_at: otklik_domain::Timestamp(0),
                ends_at: otklik_domain::Timestamp(10),
            },
            description: String::new(),
            topic: None,
            min_age: None,
            min_choices: None,
            max_choices: None,
            budget_cap: None,
            max_text_chars: None,
            allow_revote: false,
            results: otklik_domain::ResultsVisibility::Live,
            settings: "{}".into(),
            options: opts,
            created_by: None,
            created_at: otklik_domain::Timestamp(0),
            updated_at: otklik_domain::Timestamp(0),
            submitted_at: None,
            reviewed_by: None,
            reviewed_at: None,
            review_note: None,
            published_at: None,
            closed_at: None,
        }
    }

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn ballots_from_forms() {
        let single = poll(PollKind::SingleChoice);
        assert_eq!(
            ballot_of(&single, &f(&[("option", "2")])),
            Ok(Ballot::Single {
                option: PollOptionId(2)
            })
        );
        assert!(ballot_of(&single, &f(&[])).is_err());
        assert!(ballot_of(&single, &f(&[("option", "x")])).is_err());
        let multi = poll(PollKind::MultipleChoice);
        assert_eq!(
            ballot_of(&multi, &f(&[("option", "1"), ("option", "3")])),
            Ok(Ballot::Multiple {
                options: vec![PollOptionId(1), PollOptionId(3)]
            })
        );
        let rank = poll(PollKind::Ranking);
        assert_eq!(
            ballot_of(
                &rank,
                &f(&[("rank_1", "2"), ("rank_2", ""), ("rank_3", "1")])
            ),
            Ok(Ballot::Ranking {
                options: vec![PollOptionId(3), PollOptionId(1)]
            })
        );
        let e = ballot_of(&rank, &f(&[("rank_1", "1"), ("rank_3", "1")])).expect_err("twice");
        assert!(e.contains("Место 1 отдано двум"), "{e}");
        assert!(ballot_of(&rank, &f(&[("rank_1", "2")])).is_err());
    }
}
