//! Open311 GeoReport v2 under `/open311/v2`, so that existing Open311 clients work unchanged.
//!
//! * **Services** are the subcategories of the unified tree: `service_code` is the
//!   subcategory's id, `group` its category's name. No service has extra attributes
//!   (`metadata: false`); `services/{code}.json` answers an empty attribute list.
//! * **Requests** are messages. `POST requests.json` takes the form fields of the
//!   specification (`api_key` = an API token with the `submit` scope, `service_code`,
//!   `description`, `lat`/`long` or `address_string`, `email`, `first_name`, `last_name`,
//!   `phone`, `media_url`, `device_id`, `account_id`; `jurisdiction_id` and `attribute[…]` are
//!   accepted and ignored) and registers a mobile-app message through the workflow. A repeated
//!   identical request of the same day returns the first message. `GET requests.json` filters
//!   by `service_request_id`, `service_code`, `start_date`, `end_date` and `status`
//!   (open/closed; by default the last 90 days, newest first, at most 1000). Without an
//!   `api_key` requests are listed without their text, address, location and media; with one
//!   (scope `read`), in full, within the token's organisation.
//! * **Statuses**: moderation, coordination, execution, clarification and approval are `open`;
//!   answered, rated, closed and rejected are `closed`.
//! * **Errors** are Open311's: an array of `{code, description}` with the HTTP status.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use otklik_domain::{Channel, MessageId, MessageRecord, MessageStatus, SubcategoryId, Timestamp};
use otklik_store::{ApiMessageQuery, ApiScope, ApiToken, Open311Extras};
use otklik_workflow::{MAX_TEXT_CHARS, Submission, WorkflowError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::api::problem::Problem;
use crate::api::{Ctx, DirectoryCache, Routes, in_reach, now, rfc3339};

/// Most requests one `GET requests.json` returns.
pub const MAX_REQUESTS: i64 = 1000;
/// The default window of `GET requests.json` without dates, in days.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

/// An Open311 error answer.
#[derive(Debug)]
pub(crate) struct Open311Error {
    status: StatusCode,
    description: String,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorItem<'a> {
    code: u16,
    description: &'a str,
}

impl Open311Error {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
            retry_after: None,
        }
    }

    fn bad(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }
}

impl From<Problem> for Open311Error {
    fn from(p: Problem) -> Self {
        Self {
            status: p.status,
            description: p.message,
            retry_after: p.retry_after,
        }
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let body = [ErrorItem {
            code: self.status.as_u16(),
            description: &self.description,
        }];
        let mut res = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

type Result<T, E = Open311Error> = std::result::Result<T, E>;

pub(crate) fn routes() -> Routes<Ctx> {
    Routes::new()
        .add("/open311/v2/discovery.json", &["GET"], get(discovery))
        .add("/open311/v2/services.json", &["GET"], get(services))
        .add("/open311/v2/services/{code}", &["GET"], get(service))
        .add(
            "/open311/v2/requests.json",
            &["GET", "POST"],
            get(list_requests).post(post_request),
        )
        .add("/open311/v2/requests/{id}", &["GET"], get(one_request))
}

/// Anything else under `/open311/v2`.
pub(crate) async fn not_found(uri: axum::http::Uri) -> Open311Error {
    if uri.path().ends_with(".xml") {
        return Open311Error::new(
            StatusCode::NOT_FOUND,
            "Формат XML не поддерживается; используйте .json",
        );
    }
    Open311Error::new(StatusCode::NOT_FOUND, "Нет такого метода Open311")
}

/// `file` without its `.json` suffix; `.xml` and others are refused.
fn json_name(file: &str) -> Result<&str> {
    file.strip_suffix(".json").ok_or_else(|| {
        Open311Error::new(
            StatusCode::NOT_FOUND,
            "Поддерживается только формат JSON (…/{id}.json)",
        )
    })
}

#[derive(Serialize)]
struct Endpoint {
    specification: &'static str,
    url: String,
    changeset: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    formats: [&'static str; 1],
}

#[derive(Serialize)]
struct Discovery {
    changeset: &'static str,
    contact: &'static str,
    key_service: &'static str,
    endpoints: [Endpoint; 1],
}

async fn discovery() -> Json<Discovery> {
    Json(Discovery {
        changeset: "2025-01-01T00:00:00Z",
        contact: "Администратор платформы «Отклик» региона",
        key_service: "API-токен с правом submit выдаёт администратор (otklik tokens create)",
        endpoints: [Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: "/open311/v2".into(),
            changeset: "2025-01-01T00:00:00Z",
            kind: "production",
            formats: ["application/json"],
        }],
    })
}

#[derive(Serialize)]
struct Service<'a> {
    service_code: &'a str,
    service_name: &'a str,
    description: String,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: String,
    group: &'a str,
}

async fn services(State(ctx): State<Ctx>) -> Response {
    let tree = &ctx.app.inner.info.tree;
    let list: Vec<Service<'_>> = tree
        .subcategories()
        .iter()
        .map(|s| {
            let group = tree.category(&s.category).map_or("", |c| c.name.as_str());
            let days = s.effective_deadline_days();
            let description = match s.fast_track {
                Some(_) => format!("{group}: {}. Быстрое решение, срок {days} раб. дн.", s.name),
                None => format!("{group}: {}. Срок рассмотрения {days} дн.", s.name),
            };
            Service {
                service_code: &s.id.0,
                service_name: &s.name,
                description,
                metadata: false,
                kind: "realtime",
                keywords: s.category.0.clone(),
                group,
            }
        })
        .collect();
    Json(list).into_response()
}

#[derive(Serialize)]
struct Definition<'a> {
    service_code: &'a str,
    attributes: [(); 0],
}

async fn service(State(ctx): State<Ctx>, Path(file): Path<String>) -> Result<Response> {
    let code = json_name(&file)?;
    let tree = &ctx.app.inner.info.tree;
    let sub = tree
        .subcategory(&SubcategoryId(code.to_owned()))
        .ok_or_else(|| {
            Open311Error::new(StatusCode::NOT_FOUND, "Нет услуги с таким service_code")
        })?;
    Ok(Json(Definition {
        service_code: &sub.id.0,
        attributes: [],
    })
    .into_response())
}

/// The form (or query) as name → first value.
fn first_values(pairs: Vec<(String, String)>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in pairs {
        out.entry(k).or_insert(v);
    }
    out
}

/// A text parameter: trimmed, `None` when blank; too long or with NUL → `400`.
fn text(form: &HashMap<String, String>, name: &str, max_chars: usize) -> Result<Option<String>> {
    let Some(v) = form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.contains('\0') {
        return Err(Open311Error::bad(format!(
            "{name}: недопустимый символ NUL"
        )));
    }
    let n = v.chars().count();
    if n > max_chars {
        return Err(Open311Error::bad(format!(
            "{name}: не длиннее {max_chars} символов (получено {n})"
        )));
    }
    Ok(Some(v.to_owned()))
}

fn coordinate(form: &HashMap<String, String>, name: &str, bound: f64) -> Result<Option<String>> {
    let Some(v) = text(form, name, 32)? else {
        return Ok(None);
    };
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x.abs() <= bound => Ok(Some(v)),
        _ => Err(Open311Error::bad(format!(
            "{name}: ожидались десятичные градусы от -{bound} до {bound}"
        ))),
    }
}

/// The token named by `api_key` (form or query) or `Authorization: Bearer`.
async fn key_token(
    ctx: &Ctx,
    params: &HashMap<String, String>,
    headers: &axum::http::HeaderMap,
) -> Result<Option<ApiToken>> {
    if let Some(key) = params.get("api_key").map(|k| k.trim()) {
        if key.is_empty() {
            return Ok(None);
        }
        return match ctx.token(key).await? {
            Some(t) => Ok(Some(t)),
            None => Err(Open311Error::new(
                StatusCode::FORBIDDEN,
                "api_key недействителен или отозван",
            )),
        };
    }
    if headers.contains_key(header::AUTHORIZATION) {
        return Ok(Some(ctx.authenticate(headers).await.map_err(|_| {
            Open311Error::new(
                StatusCode::FORBIDDEN,
                "API-токен недействителен или отозван",
            )
        })?));
    }
    Ok(None)
}

#[derive(Serialize)]
struct Created {
    service_request_id: String,
    service_notice: Option<String>,
    account_id: Option<String>,
}

async fn post_request(
    State(ctx): State<Ctx>,
    headers: axum::http::HeaderMap,
    form: std::result::Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response> {
    let Form(pairs) = form.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Open311Error::new(StatusCode::PAYLOAD_TOO_LARGE, "Слишком большой запрос")
        } else {
            Open311Error::bad(
                "Ожидалась форма application/x-www-form-urlencoded (см. GeoReport v2)",
            )
        }
    })?;
    let form = first_values(pairs);
    let token = key_token(&ctx, &form, &headers)
        .await?
        .ok_or_else(|| Open311Error::bad("api_key не указан"))?;
    if !token.has_scope(ApiScope::Submit) {
        return Err(Open311Error::new(
            StatusCode::FORBIDDEN,
            "У api_key нет права подавать сообщения (submit)",
        ));
    }
    ctx.limit(&token)?;
    let workflow = ctx.workflow()?;
    let tree = &ctx.app.inner.info.tree;
    let code = text(&form, "service_code", 200)?
        .ok_or_else(|| Open311Error::bad("service_code не указан"))?;
    if tree.subcategory(&SubcategoryId(code.clone())).is_none() {
        return Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            "Нет услуги с таким service_code; см. services.json",
        ));
    }
    let description = text(&form, "description", MAX_TEXT_CHARS)?
        .ok_or_else(|| Open311Error::bad("description не указано: опишите проблему"))?;
    let lat = coordinate(&form, "lat", 90.0)?;
    let lon = coordinate(&form, "long", 180.0)?;
    if lat.is_some() != lon.is_some() {
        return Err(Open311Error::bad("lat и long указываются вместе"));
    }
    let address_string = text(&form, "address_string", 500)?;
    let address_id = text(&form, "address_id", 200)?;
    if lat.is_none() && address_string.is_none() && address_id.is_none() {
        return Err(Open311Error::bad(
            "Укажите место: lat и long, address_string или address_id",
        ));
    }
    let email = text(&form, "email", 254)?;
    if let Some(e) = &email
        && (!e.contains('@') || e.chars().any(char::is_whitespace))
    {
        return Err(Open311Error::bad("email: некорректный адрес"));
    }
    let media_url = text(&form, "media_url", 2048)?;
    if let Some(u) = &media_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(Open311Error::bad("media_url: нужен адрес http(s)://"));
    }
    let extras = Open311Extras {
        lat: lat.clone(),
        lon: lon.clone(),
        media_url,
        first_name: text(&form, "first_name", 100)?,
        last_name: text(&form, "last_name", 100)?,
        phone: text(&form, "phone", 50)?,
        device_id: text(&form, "device_id", 200)?,
        account_id: text(&form, "account_id", 200)?,
    };
    let address = match (&address_string, &lat, &lon) {
        (Some(a), _, _) => Some(a.clone()),
        (None, Some(la), Some(lo)) => Some(format!("координаты {la}, {lo}")),
        _ => address_id.clone().map(|a| format!("адрес № {a}")),
    };
    let contact = email.clone().or_else(|| extras.phone.clone());
    let submission = Submission {
        channel: Channel::MobileApp,
        text: description,
        category_hint: Some(SubcategoryId(code)),
        territory: None,
        address,
        submitted_via: token.organisation,
        author: None,
        contact,
        attachments: Vec::new(),
    };
    // Open311 has no idempotency key: an identical request of the same day is a retry.
    let now = now();
    let mut canonical: Vec<(&String, &String)> = form
        .iter()
        .filter(|(k, _)| k.as_str() != "api_key")
        .collect();
    canonical.sort();
    let digest: String = Sha256::digest(format!("{canonical:?}").as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = format!(
        "open311:{}:{}:{digest}",
        token.id,
        now.millis() / Timestamp::DAY_MS
    );
    let intake = workflow
        .submit(&submission, &key, now)
        .await
        .map_err(|e| match e {
            WorkflowError::Invalid(why) => {
                Open311Error::bad(format!("Сообщение не принято: {why}"))
            }
            other => Open311Error::from(crate::api::intake_problem(other)),
        })?;
    let id = intake.record.message.id;
    let has_extras = extras != Open311Extras::default();
    if has_extras
        && let Err(e) = ctx
            .app
            .store()
            .record_open311_request(id, token.id, &extras, now)
            .await
    {
        tracing::error!(error = %e, message = %id, "Open311: cannot keep the request's extras");
    }
    let body = [Created {
        service_request_id: id.to_string(),
        service_notice: Some(format!(
            "Сообщение № {id} зарегистрировано: {}",
            intake.record.message.status.label_ru()
        )),
        account_id: extras.account_id,
    }];
    let status = if intake.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(body)).into_response())
}

/// Open311's two statuses.
fn open311_status(s: MessageStatus) -> &'static str {
    match s {
        MessageStatus::Moderation
        | MessageStatus::Coordination
        | MessageStatus::Execution
        | MessageStatus::Clarification
        | MessageStatus::Approval => "open",
        MessageStatus::Answered
        | MessageStatus::Rated
        | MessageStatus::Closed
        | MessageStatus::Rejected => "closed",
    }
}

fn statuses_of(open311: &str) -> Option<Vec<MessageStatus>> {
    let all = MessageStatus::ALL.iter().copied();
    match open311 {
        "open" => Some(all.filter(|s| open311_status(*s) == "open").collect()),
        "closed" => Some(all.filter(|s| open311_status(*s) == "closed").collect()),
        _ => None,
    }
}

#[derive(Serialize)]
struct RequestView {
    service_request_id: String,
    status: &'static str,
    status_notes: Option<String>,
    service_name: Option<String>,
    service_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    agency_responsible: Option<String>,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    address_id: Option<String>,
    zipcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    long: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_url: Option<String>,
}

fn request_view(
    r: &MessageRecord,
    extras: Option<&Open311Extras>,
    dir: &DirectoryCache,
    tree: &otklik_domain::CategoryTree,
    full: bool,
) -> RequestView {
    let m = &r.message;
    let status = open311_status(m.status);
    let notes = match m.status {
        MessageStatus::Rejected if full => r
            .rejection_reason
            .clone()
            .or_else(|| Some(m.status.label_ru().to_owned())),
        MessageStatus::Answered | MessageStatus::Rated | MessageStatus::Closed if full => r
            .answer_text
            .clone()
            .or_else(|| Some(m.status.label_ru().to_owned())),
        s => Some(s.label_ru().to_owned()),
    };
    let coord = |v: Option<&String>| v.and_then(|s| s.parse::<f64>().ok());
    RequestView {
        service_request_id: m.id.to_string(),
        status,
        status_notes: notes,
        service_name: tree.subcategory(&m.subcategory).map(|s| s.name.clone()),
        service_code: m.subcategory.0.clone(),
        description: full.then(|| m.text.clone()),
        agency_responsible: m
            .executor
            .and_then(|e| dir.organisations.get(&e))
            .map(|(_, name)| name.clone()),
        service_notice: None,
        requested_datetime: rfc3339(m.created_at),
        updated_datetime: rfc3339(m.updated_at),
        expected_datetime: (status == "open").then(|| rfc3339(m.deadline_at)),
        address: if full { m.address.clone() } else { None },
        address_id: None,
        zipcode: None,
        lat: if full {
            coord(extras.and_then(|e| e.lat.as_ref()))
        } else {
            None
        },
        long: if full {
            coord(extras.and_then(|e| e.lon.as_ref()))
        } else {
            None
        },
        media_url: if full {
            extras.and_then(|e| e.media_url.clone())
        } else {
            None
        },
    }
}

/// A date parameter: RFC 3339 (`2025-03-07T10:00:00+03:00`) or a plain date (UTC midnight).
fn date(params: &HashMap<String, String>, name: &str) -> Result<Option<Timestamp>> {
    let Some(v) = params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let parsed = v
        .parse::<jiff::Timestamp>()
        .ok()
        .or_else(|| {
            v.parse::<jiff::civil::Date>()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
        .ok_or_else(|| {
            Open311Error::bad(format!("{name}: ожидалась дата в формате W3C (ISO 8601)"))
        })?;
    Ok(Some(Timestamp(parsed.as_millisecond())))
}

async fn answer_requests(ctx: &Ctx, records: Vec<MessageRecord>, full: bool) -> Result<Response> {
    let ids: Vec<MessageId> = records.iter().map(|r| r.message.id).collect();
    let extras = if full && !ids.is_empty() {
        ctx.app.store().open311_extras(&ids).await.map_err(|e| {
            tracing::error!(error = %e, "Open311: cannot read extras");
            Open311Error::from(Problem::internal())
        })?
    } else {
        HashMap::new()
    };
    let dir = ctx.directory().await?;
    let tree = &ctx.app.inner.info.tree;
    let list: Vec<RequestView> = records
        .iter()
        .map(|r| request_view(r, extras.get(&r.message.id), &dir, tree, full))
        .collect();
    Ok(Json(list).into_response())
}

/// Who reads, and how much they see: `(organisation scope, full view)`.
async fn reader(
    ctx: &Ctx,
    params: &HashMap<String, String>,
    headers: &axum::http::HeaderMap,
) -> Result<Option<ApiToken>> {
    let token = key_token(ctx, params, headers).await?;
    if let Some(t) = &token
        && !t.has_scope(ApiScope::Read)
    {
        // A submit-only key reads like an anonymous client.
        return Ok(None);
    }
    Ok(token)
}

async fn list_requests(
    State(ctx): State<Ctx>,
    headers: axum::http::HeaderMap,
    query: std::result::Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response> {
    let Query(pairs) =
        query.map_err(|_| Open311Error::bad("Не удалось разобрать параметры запроса"))?;
    let params = first_values(pairs);
    let token = reader(&ctx, &params, &headers).await?;
    let mut q = ApiMessageQuery {
        organisation: token.as_ref().and_then(|t| t.organisation),
        newest_first: true,
        limit: MAX_REQUESTS,
        ..Default::default()
    };
    let list = |name: &str| -> Vec<String> {
        params
            .get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let ids = list("service_request_id");
    if !ids.is_empty() {
        // By the specification, other filters are ignored when ids are given.
        if ids.len() > 1000 {
            return Err(Open311Error::bad(
                "service_request_id: не больше 1000 номеров",
            ));
        }
        for id in ids {
            match id.parse::<i64>() {
                Ok(i) if i > 0 => q.ids.push(MessageId(i)),
                _ => {
                    return Err(Open311Error::bad(
                        "service_request_id: ожидались номера через запятую",
                    ));
                }
            }
        }
    } else {
        q.subcategories = list("service_code")
            .into_iter()
            .map(SubcategoryId)
            .collect();
        for s in list("status") {
            let statuses = statuses_of(&s)
                .ok_or_else(|| Open311Error::bad("status: допустимы open и closed"))?;
            q.statuses.extend(statuses);
        }
        let end = date(&params, "end_date")?;
        let start = date(&params, "start_date")?;
        q.created_to = end;
        q.created_from =
            Some(start.unwrap_or_else(|| end.unwrap_or_else(now).plus_days(-DEFAULT_WINDOW_DAYS)));
        if let (Some(s), Some(e)) = (q.created_from, q.created_to)
            && s > e
        {
            return Err(Open311Error::bad("start_date позже end_date"));
        }
    }
    let records = ctx.app.store().api_messages(&q).await.map_err(|e| {
        tracing::error!(error = %e, "Open311: cannot list requests");
        Open311Error::from(Problem::internal())
    })?;
    answer_requests(&ctx, records, token.is_some()).await
}

async fn one_request(
    State(ctx): State<Ctx>,
    headers: axum::http::HeaderMap,
    Path(file): Path<String>,
    query: std::result::Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response> {
    let id = json_name(&file)?;
    let params = query.map(|Query(p)| first_values(p)).unwrap_or_default();
    let token = reader(&ctx, &params, &headers).await?;
    let missing = || Open311Error::new(StatusCode::NOT_FOUND, "Нет обращения с таким номером");
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(missing)?;
    let record = ctx
        .app
        .store()
        .message_record(MessageId(id))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "Open311: cannot read a request");
            Open311Error::from(Problem::internal())
        })?
        .ok_or_else(missing)?;
    if let Some(t) = &token
        && !in_reach(t, record.message.executor, record.message.submitted_via)
    {
        return Err(missing());
    }
    answer_requests(&ctx, vec![record], token.is_some()).await
}
