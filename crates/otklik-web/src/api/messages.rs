//! `/api/v1/messages`: submissions, reading and listing; `/api/v1/integrations/messages`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use otklik_domain::{Channel, MessageId, MessageRecord, MessageStatus, SubcategoryId};
use otklik_store::{ApiMessageQuery, ApiScope, ApiToken};
use otklik_workflow::{
    Intake, IntegrationSubmission, MAX_ATTACHMENTS, MAX_TEXT_CHARS, Submission, WorkflowError,
};
use serde::Serialize;

use super::problem::{FieldError, Problem};
use super::{Ctx, DirectoryCache, Fields, in_reach, json_object, now, rfc3339};

/// Longest address.
pub(crate) const MAX_ADDRESS_CHARS: usize = 500;
/// Longest contact (e-mail or phone).
pub(crate) const MAX_CONTACT_CHARS: usize = 254;
/// Longest idempotency key.
pub(crate) const MAX_KEY_CHARS: usize = 128;
/// Default and largest page of `GET /api/v1/messages`.
pub(crate) const DEFAULT_PAGE: i64 = 20;
pub(crate) const MAX_PAGE: i64 = 100;

/// A reference to a directory entry.
#[derive(Debug, Serialize)]
pub(crate) struct Named {
    id: i64,
    code: String,
    name: String,
}

/// A message as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct MessageView {
    id: i64,
    status: &'static str,
    status_name: &'static str,
    channel: &'static str,
    category: Option<String>,
    subcategory: String,
    subcategory_name: Option<String>,
    fast_track: bool,
    territory: Option<Named>,
    executor: Option<Named>,
    text: String,
    address: Option<String>,
    attachments: Vec<String>,
    external_system: Option<String>,
    external_id: Option<String>,
    created_at: String,
    updated_at: String,
    deadline_at: String,
    answer: Option<String>,
    answered_at: Option<String>,
    rejection_reason: Option<String>,
    rating: Option<i64>,
}

impl MessageView {
    pub fn new(
        r: &MessageRecord,
        dir: &DirectoryCache,
        tree: &otklik_domain::CategoryTree,
    ) -> Self {
        let m = &r.message;
        let sub = tree.subcategory(&m.subcategory);
        let answered = matches!(
            m.status,
            MessageStatus::Answered | MessageStatus::Rated | MessageStatus::Closed
        );
        Self {
            id: m.id.get(),
            status: m.status.code(),
            status_name: m.status.label_ru(),
            channel: m.channel.code(),
            category: sub.map(|s| s.category.0.clone()),
            subcategory: m.subcategory.0.clone(),
            subcategory_name: sub.map(|s| s.name.clone()),
            fast_track: r.fast_track,
            territory: m.territory.map(|id| {
                dir.territories.get(&id).map_or_else(
                    || Named {
                        id: id.get(),
                        code: String::new(),
                        name: String::new(),
                    },
                    |t| Named {
                        id: id.get(),
                        code: t.code.clone(),
                        name: t.name.clone(),
                    },
                )
            }),
            executor: m.executor.map(|id| {
                let (code, name) = dir.organisations.get(&id).cloned().unwrap_or_default();
                Named {
                    id: id.get(),
                    code,
                    name,
                }
            }),
            text: m.text.clone(),
            address: m.address.clone(),
            attachments: r.attachments.clone(),
            external_system: r.external_system.clone(),
            external_id: r.external_id.clone(),
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
            deadline_at: rfc3339(m.deadline_at),
            answer: if answered {
                r.answer_text.clone()
            } else {
                None
            },
            answered_at: r.answered_at.map(rfc3339),
            rejection_reason: if m.status == MessageStatus::Rejected {
                r.rejection_reason.clone()
            } else {
                None
            },
            rating: m.rating,
        }
    }
}

#[derive(Serialize)]
struct Submitted {
    #[serde(flatten)]
    message: MessageView,
    replayed: bool,
    note: Option<String>,
}

/// The `Idempotency-Key` header: required, 1–128 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap, required: bool) -> Result<Option<String>, Problem> {
    let Some(v) = headers.get("idempotency-key") else {
        if required {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "Нужен заголовок Idempotency-Key: уникальная строка на каждое новое сообщение",
            ));
        }
        return Ok(None);
    };
    let ok = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| {
            !k.is_empty() && k.len() <= MAX_KEY_CHARS && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_owned);
    match ok {
        Some(k) => Ok(Some(k)),
        None => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_invalid",
            format!("Idempotency-Key: от 1 до {MAX_KEY_CHARS} видимых символов ASCII"),
        )),
    }
}

/// What both submission bodies share.
struct Common {
    text: Option<String>,
    category: Option<SubcategoryId>,
    territory: Option<otklik_domain::TerritoryId>,
    address: Option<String>,
    contact: Option<String>,
    attachments: Vec<String>,
}

async fn common(ctx: &Ctx, f: &mut Fields) -> Result<Common, Problem> {
    let text = f.string("text", true, MAX_TEXT_CHARS);
    let category = f.string("category", false, 200).map(SubcategoryId);
    let tree = &ctx.app.inner.info.tree;
    if let Some(c) = &category
        && !tree.subcategories().is_empty()
        && tree.subcategory(c).is_none()
    {
        f.error(
            "category",
            "not_found",
            "Нет такой подкатегории; см. /api/v1/categories",
        );
    }
    let territory = match f.string("territory", false, 200) {
        Some(code) => match ctx.territory_by_code(&code).await? {
            Some(id) => Some(id),
            None => {
                f.error(
                    "territory",
                    "not_found",
                    "Нет территории с таким кодом; см. /api/v1/territories",
                );
                None
            }
        },
        None => None,
    };
    let address = f.string("address", false, MAX_ADDRESS_CHARS);
    let contact = f.string("contact", false, MAX_CONTACT_CHARS);
    let attachments = f.strings("attachments", MAX_ATTACHMENTS, 128);
    if attachments.iter().any(|a| {
        !a.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
    }) {
        f.error(
            "attachments",
            "invalid",
            "Идентификатор вложения: латинские буквы, цифры и -_:.",
        );
    }
    Ok(Common {
        text,
        category,
        territory,
        address,
        contact,
        attachments,
    })
}

/// Maps a refused intake to the API's answer.
pub(crate) fn intake_problem(e: WorkflowError) -> Problem {
    match e {
        WorkflowError::KeyReused { .. } => Problem::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "Этот Idempotency-Key уже использован для другого сообщения",
        ),
        WorkflowError::Invalid(why) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("Сообщение не принято: {why}"),
        ),
        WorkflowError::Conflict { .. } => Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "Сообщение изменено одновременно другим запросом; повторите",
        ),
        other => {
            tracing::error!(error = %other, "API: intake failed");
            Problem::internal()
        }
    }
}

async fn answer(ctx: &Ctx, intake: Intake) -> Result<Response, Problem> {
    let dir = ctx.directory().await?;
    let id = intake.record.message.id;
    let body = Submitted {
        message: MessageView::new(&intake.record, &dir, &ctx.app.inner.info.tree),
        replayed: intake.replayed,
        note: intake.note,
    };
    let status = if intake.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/messages/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    if intake.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// `POST /api/v1/messages`: a citizen's message from a mobile app or a portal.
pub(crate) async fn submit(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let token = ctx.authenticate(&headers).await?;
    ctx.require(&token, ApiScope::Submit)?;
    ctx.limit(&token)?;
    let workflow = ctx.workflow()?;
    let key = idempotency_key(&headers, true)?.unwrap_or_default();
    let map = json_object(&headers, body)?;
    let mut f = Fields::new(
        map,
        &[
            "text",
            "category",
            "territory",
            "address",
            "contact",
            "attachments",
            "channel",
        ],
    );
    let c = common(&ctx, &mut f).await?;
    let channel = match f.string("channel", false, 50).as_deref() {
        None | Some("mobile_app") => Channel::MobileApp,
        Some("portal") => Channel::Portal,
        Some("widget") if token.organisation.is_some() => Channel::Widget,
        Some("widget") => {
            f.error(
                "channel",
                "invalid",
                "Канал widget доступен только токену организации",
            );
            Channel::Widget
        }
        Some(_) => {
            f.error(
                "channel",
                "invalid",
                "Допустимые каналы: mobile_app, portal, widget",
            );
            Channel::MobileApp
        }
    };
    f.finish()?;
    let submission = Submission {
        channel,
        text: c.text.unwrap_or_default(),
        category_hint: c.category,
        territory: c.territory,
        address: c.address,
        submitted_via: token.organisation,
        author: None,
        contact: c.contact,
        attachments: c.attachments,
    };
    let intake = workflow
        .submit(&submission, &format!("api:{}:{key}", token.id), now())
        .await
        .map_err(intake_problem)?;
    answer(&ctx, intake).await
}

/// `POST /api/v1/integrations/messages`: a message handed over by an external system (the
/// token's name is the system's id).
pub(crate) async fn integration(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let token = ctx.authenticate(&headers).await?;
    ctx.require(&token, ApiScope::Integration)?;
    ctx.limit(&token)?;
    let workflow = ctx.workflow()?;
    let key = idempotency_key(&headers, false)?;
    let map = json_object(&headers, body)?;
    let mut f = Fields::new(
        map,
        &[
            "external_id",
            "text",
            "category",
            "territory",
            "address",
            "contact",
            "attachments",
        ],
    );
    let external_id = f.string("external_id", true, 200);
    let c = common(&ctx, &mut f).await?;
    f.finish()?;
    let external_id = external_id.unwrap_or_default();
    let submission = IntegrationSubmission {
        system: token.name.clone(),
        external_id: external_id.clone(),
        text: c.text.unwrap_or_default(),
        category_hint: c.category,
        territory: c.territory,
        address: c.address,
        contact: c.contact,
        attachments: c.attachments,
    };
    let key = match key {
        Some(k) => format!("api-int:{}:{k}", token.id),
        None => format!("api-int:{}:ext:{external_id}", token.id),
    };
    let intake = workflow
        .intake_integration(&submission, &key, now())
        .await
        .map_err(intake_problem)?;
    answer(&ctx, intake).await
}

/// A message within the token's reach, or `404`.
async fn reachable(ctx: &Ctx, token: &ApiToken, id: &str) -> Result<MessageRecord, Problem> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(Problem::not_found)?;
    let record = ctx
        .app
        .store()
        .message_record(MessageId(id))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "API: cannot read a message");
            Problem::internal()
        })?
        .ok_or_else(Problem::not_found)?;
    if !in_reach(token, record.message.executor, record.message.submitted_via) {
        return Err(Problem::not_found());
    }
    Ok(record)
}

/// `GET /api/v1/messages/{id}`.
pub(crate) async fn one(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let token = ctx.authenticate(&headers).await?;
    ctx.require(&token, ApiScope::Read)?;
    let record = reachable(&ctx, &token, &id).await?;
    let dir = ctx.directory().await?;
    Ok(Json(MessageView::new(&record, &dir, &ctx.app.inner.info.tree)).into_response())
}

#[derive(Serialize)]
struct Page {
    items: Vec<MessageView>,
    /// Pass as `after` for the next page; `null` on the last page.
    next_after: Option<i64>,
}

/// `GET /api/v1/messages?status=&after=&limit=`: the token's messages by id, a page at a time.
pub(crate) async fn list(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, Problem> {
    let token = ctx.authenticate(&headers).await?;
    ctx.require(&token, ApiScope::Read)?;
    let Query(params) = query.map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_query",
            "Не удалось разобрать параметры запроса",
        )
    })?;
    let mut q = ApiMessageQuery {
        organisation: token.organisation,
        limit: DEFAULT_PAGE,
        ..Default::default()
    };
    let mut errors = Vec::new();
    let bad = |errors: &mut Vec<FieldError>, field: &str, message: &str| {
        errors.push(FieldError {
            field: field.to_owned(),
            code: "invalid",
            message: message.to_owned(),
        });
    };
    for (name, value) in &params {
        match name.as_str() {
            "status" => {
                for code in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    match code.parse::<MessageStatus>() {
                        Ok(s) => q.statuses.push(s),
                        Err(_) => bad(
                            &mut errors,
                            "status",
                            "Неизвестный статус; допустимы: moderation, coordination, execution, \
                             clarification, approval, answered, rated, closed, rejected",
                        ),
                    }
                }
            }
            "after" => match value.parse::<i64>() {
                Ok(a) if a >= 0 => q.after = Some(MessageId(a)),
                _ => bad(&mut errors, "after", "Ожидался номер сообщения (целое ≥ 0)"),
            },
            "limit" => match value.parse::<i64>() {
                Ok(l) if (1..=MAX_PAGE).contains(&l) => q.limit = l,
                _ => bad(
                    &mut errors,
                    "limit",
                    &format!("Ожидалось целое от 1 до {MAX_PAGE}"),
                ),
            },
            _ => errors.push(FieldError {
                field: name.chars().take(100).collect(),
                code: "unknown_field",
                message: "Неизвестный параметр; допустимы: status, after, limit".into(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let records = ctx.app.store().api_messages(&q).await.map_err(|e| {
        tracing::error!(error = %e, "API: cannot list messages");
        Problem::internal()
    })?;
    let dir = ctx.directory().await?;
    let tree = &ctx.app.inner.info.tree;
    let next_after = (i64::try_from(records.len()).unwrap_or(i64::MAX) == q.limit)
        .then(|| records.last().map(|r| r.message.id.get()))
        .flatten();
    let items = records
        .iter()
        .map(|r| MessageView::new(r, &dir, tree))
        .collect();
    Ok(Json(Page { items, next_after }).into_response())
}
