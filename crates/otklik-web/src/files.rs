//! `/demo/feeds/…`: the demo region's own feeds, read from a folder given to
//! [`crate::AppState::with_feeds`]. Only plain relative paths inside that folder are served.

use std::path::{Component, Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::pages;

/// The file `rel` inside `dir`, when `rel` is a plain relative path (no `..`, no root, no
/// hidden components).
pub(crate) fn resolve(dir: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    let mut out = dir.to_path_buf();
    let mut parts = 0;
    for c in rel.components() {
        match c {
            Component::Normal(p) if !p.to_string_lossy().starts_with('.') => {
                out.push(p);
                parts += 1;
            }
            _ => return None,
        }
    }
    (parts > 0).then_some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("xml" | "rss") => "application/rss+xml; charset=utf-8",
        Some("atom") => "application/atom+xml; charset=utf-8",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "text/html; charset=utf-8",
    }
}

/// `GET /demo/feeds/{*path}`.
pub(crate) async fn demo_feed(
    State(state): State<AppState>,
    UrlPath(rel): UrlPath<String>,
) -> Response {
    let Some(dir) = state.inner.feeds.as_deref() else {
        return pages::not_found().await;
    };
    let Some(path) = resolve(dir, &rel) else {
        return pages::not_found().await;
    };
    match tokio::fs::read(&path).await {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type(&path))],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "demo feed not found");
            pages::not_found().await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_resolve() {
        let dir = Path::new("/srv/feeds");
        assert_eq!(
            resolve(dir, "a.xml"),
            Some(PathBuf::from("/srv/feeds/a.xml"))
        );
        assert_eq!(
            resolve(dir, "tg/s/chan"),
            Some(PathBuf::from("/srv/feeds/tg/s/chan"))
        );
        assert_eq!(resolve(dir, "../etc/passwd"), None);
        assert_eq!(resolve(dir, "a/../../b"), None);
        assert_eq!(resolve(dir, "/etc/passwd"), None);
        assert_eq!(resolve(dir, ".hidden"), None);
        assert_eq!(resolve(dir, ""), None);
    }

    #[test]
    fn feeds_have_their_content_types() {
        assert!(content_type(Path::new("x.xml")).starts_with("application/rss+xml"));
        assert!(content_type(Path::new("s/chan")).starts_with("text/html"));
    }
}
