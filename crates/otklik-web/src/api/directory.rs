//! Reference data for clients' forms: the category tree and the territories. Public (no token):
//! they hold nothing personal.

use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;

use super::Ctx;
use super::problem::Problem;

#[derive(Serialize)]
struct SubcategoryView<'a> {
    id: &'a str,
    name: &'a str,
    deadline_days: u16,
    /// Days of the fast-track («быстрое решение») deadline, when the item is urgent.
    fast_track_days: Option<u16>,
}

#[derive(Serialize)]
struct CategoryView<'a> {
    id: &'a str,
    name: &'a str,
    subcategories: Vec<SubcategoryView<'a>>,
}

/// `GET /api/v1/categories`: the unified category tree.
pub(crate) async fn categories(State(ctx): State<Ctx>) -> Response {
    let tree = &ctx.app.inner.info.tree;
    let body: Vec<CategoryView<'_>> = tree
        .categories()
        .iter()
        .map(|c| CategoryView {
            id: &c.id.0,
            name: &c.name,
            subcategories: tree
                .children(&c.id)
                .map(|s| SubcategoryView {
                    id: &s.id.0,
                    name: &s.name,
                    deadline_days: s.deadline_days,
                    fast_track_days: s.fast_track.map(|f| f.deadline_days),
                })
                .collect(),
        })
        .collect();
    Json(body).into_response()
}

#[derive(Serialize)]
struct TerritoryView {
    id: i64,
    code: String,
    kind: &'static str,
    name: String,
    parent_id: Option<i64>,
    name_variants: Vec<String>,
}

/// `GET /api/v1/territories`: every territory, parents before children as stored.
pub(crate) async fn territories(State(ctx): State<Ctx>) -> Result<Response, Problem> {
    let list = ctx.app.store().territories().await.map_err(|e| {
        tracing::error!(error = %e, "API: cannot list territories");
        Problem::internal()
    })?;
    let body: Vec<TerritoryView> = list
        .into_iter()
        .map(|t| TerritoryView {
            id: t.id.get(),
            code: t.code,
            kind: t.kind.code(),
            name: t.name,
            parent_id: t.parent.map(|p| p.get()),
            name_variants: t.name_variants,
        })
        .collect();
    Ok(Json(body).into_response())
}
