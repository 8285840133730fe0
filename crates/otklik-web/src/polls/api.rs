//! `GET /api/v1/polls` and `GET /api/v1/polls/{id}/results`: published and closed polls and
//! their results as JSON, public like the category tree. Errors are the API's problem objects.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use otklik_domain::PollStatus;
use otklik_polls::PollsError;
use serde::Serialize;

use super::{now, poll_id};
use crate::AppState;
use crate::api::problem::Problem;
use crate::api::rfc3339;

/// The routes, as (method, path) for the OpenAPI check.
pub(crate) fn listed() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GET", "/api/v1/polls"),
        ("GET", "/api/v1/polls/{id}/results"),
    ]
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/polls", get(list))
        .route("/api/v1/polls/{id}/results", get(results))
}

fn unavailable() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "polls_unavailable",
        "Модуль голосований на этом сервере не настроен",
    )
}

#[derive(Serialize)]
struct PollItem {
    id: i64,
    title: String,
    kind: &'static str,
    status: &'static str,
    organisation: String,
    topic: Option<String>,
    starts_at: String,
    ends_at: String,
    open: bool,
    url: String,
}

/// `GET /api/v1/polls`: published and closed polls, newest first.
async fn list(State(state): State<AppState>) -> Response {
    let Some(pw) = state.polls_web() else {
        return unavailable().into_response();
    };
    let store = pw.polls.store();
    let loaded = async {
        let mut polls = store.polls_in_status(PollStatus::Published).await?;
        polls.extend(store.polls_in_status(PollStatus::Closed).await?);
        let orgs = store.organisations().await?;
        Ok::<_, otklik_store::StoreError>((polls, orgs))
    }
    .await;
    let (mut polls, orgs) = match loaded {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "API: cannot list polls");
            return Problem::internal().into_response();
        }
    };
    polls.sort_by_key(|p| std::cmp::Reverse(p.id));
    let t = now();
    let mut items = Vec::with_capacity(polls.len());
    for p in polls {
        let topic = match pw.polls.details(p.id).await {
            Ok(d) => d.topic,
            Err(_) => None,
        };
        items.push(PollItem {
            id: p.id.get(),
            title: p.title.clone(),
            kind: p.kind.code(),
            status: p.status.code(),
            organisation: orgs
                .iter()
                .find(|o| o.id == p.organisation)
                .map_or_else(String::new, |o| o.code.clone()),
            topic,
            starts_at: rfc3339(p.starts_at),
            ends_at: rfc3339(p.ends_at),
            open: p.status == PollStatus::Published && t >= p.starts_at && t < p.ends_at,
            url: format!("/polls/{}", p.id),
        });
    }
    Json(items).into_response()
}

/// `GET /api/v1/polls/{id}/results`.
async fn results(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    let Some(pw) = state.polls_web() else {
        return unavailable().into_response();
    };
    let Some(id) = poll_id(&raw) else {
        return Problem::not_found().into_response();
    };
    match pw.polls.details(id).await {
        Ok(d) if matches!(d.poll.status, PollStatus::Published | PollStatus::Closed) => {}
        Ok(_) | Err(PollsError::NotFound(_)) => return Problem::not_found().into_response(),
        Err(e) => {
            tracing::error!(error = %e, "API: cannot read a poll");
            return Problem::internal().into_response();
        }
    }
    match pw.polls.results(id, now()).await {
        Ok(r) => Json(r).into_response(),
        Err(PollsError::ResultsHidden(_)) => Problem::new(
            StatusCode::FORBIDDEN,
            "results_hidden",
            "Итоги этого голосования будут доступны после его завершения",
        )
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "API: cannot compute results");
            Problem::internal().into_response()
        }
    }
}
