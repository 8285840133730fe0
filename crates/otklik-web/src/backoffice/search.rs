//! The archive search in the back-office: `/office/search?q=…&category=…&territory=…&period=…
//! &sort=relevance|date` over every message and collected post of the archive index
//! ([`otklik_search`]), with highlighted snippets (the text escaped, only the matches marked),
//! facet counts shown by **name** (categories, subcategories, territories, organisations,
//! networks, statuses in Russian, months) and links from the hits to the message cards and to
//! the source posts.
//!
//! Who may search: every working staff role and analysts and administrators
//! ([`SEARCH_ROLES`]); the rows are limited exactly as the reports are
//! ([`super::reports::staff_scope`]): an organisation-bound user finds only the messages
//! whose executor, and the posts whose community's organisation, is theirs or beneath theirs.
//!
//! Filters: `category`, `subcategory` (codes), `territory` (a directory code or id: the
//! territory and everything inside it), `organisation` (id or code), `network`, `status`,
//! `kind` (`message`/`post`), `period` (`YYYY-MM`).

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use otklik_domain::{Role, Territory, TerritoryId};
use otklik_reports::{Names, Scope};
use otklik_search::{DocKind, Facet, Hit, SearchQuery, Snippet, Sort};
use serde::Deserialize;

use super::reports::{REPORT_CSS, scope_text, staff_scope};
use super::{Ctx, fmt_time, layout, office_error};
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::html::escape;

/// Roles that may search the archive.
pub(crate) const SEARCH_ROLES: [Role; 7] = [
    Role::Moderator,
    Role::Coordinator,
    Role::Executor,
    Role::Head,
    Role::Curator,
    Role::Analyst,
    Role::RegionAdmin,
];

/// Hits per page.
const PAGE: usize = 20;
/// Pages one may go through (beyond: refine the query).
const MAX_PAGE: usize = 50;

/// The facets counted, in display order, with their Russian titles.
const FACETS: [(Facet, &str); 8] = [
    (Facet::Kind, "Вид"),
    (Facet::Category, "Категория"),
    (Facet::Subcategory, "Подкатегория"),
    (Facet::Territory, "Территория"),
    (Facet::Organisation, "Организация"),
    (Facet::Network, "Соцсеть"),
    (Facet::Status, "Статус"),
    (Facet::Period, "Период"),
];

/// The query string of the search page.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct SearchParams {
    q: Option<String>,
    kind: Option<String>,
    category: Option<String>,
    subcategory: Option<String>,
    territory: Option<String>,
    organisation: Option<String>,
    network: Option<String>,
    status: Option<String>,
    period: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

impl SearchParams {
    fn get(&self, facet: Facet) -> Option<&str> {
        let v = match facet {
            Facet::Kind => &self.kind,
            Facet::Category => &self.category,
            Facet::Subcategory => &self.subcategory,
            Facet::Territory => &self.territory,
            Facet::Organisation => &self.organisation,
            Facet::Network => &self.network,
            Facet::Status => &self.status,
            Facet::Period => &self.period,
        };
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    fn text(&self) -> &str {
        self.q.as_deref().map_or("", str::trim)
    }

    fn by_date(&self) -> bool {
        matches!(self.sort.as_deref(), Some("date" | "newest"))
    }

    /// The pairs of the query string, with `facet` replaced by `value` (`None`: removed),
    /// the page dropped.
    fn pairs_with(&self, facet: Option<Facet>, value: Option<&str>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !self.text().is_empty() {
            out.push(("q".to_owned(), self.text().to_owned()));
        }
        for (f, _) in FACETS {
            let v = if Some(f) == facet { value } else { self.get(f) };
            if let Some(v) = v {
                out.push((f.name().to_owned(), v.to_owned()));
            }
        }
        if self.by_date() {
            out.push(("sort".to_owned(), "date".to_owned()));
        }
        out
    }
}

/// `/office/search?…` of these pairs, escaped for an attribute.
fn href(pairs: &[(String, String)]) -> String {
    let qs = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if qs.is_empty() {
        "/office/search".to_owned()
    } else {
        escape(&format!("/office/search?{qs}"))
    }
}

/// The territory with this code or id and every territory inside it, as index values.
fn territory_values(all: &[Territory], raw: &str) -> Vec<String> {
    let root = all
        .iter()
        .find(|t| t.code == raw)
        .or_else(|| {
            raw.parse::<i64>()
                .ok()
                .and_then(|id| all.iter().find(|t| t.id == TerritoryId(id)))
        })
        .map(|t| t.id);
    let Some(root) = root else {
        return vec![raw.to_owned()];
    };
    let mut out = Vec::new();
    let mut stack = vec![root];
    let mut seen = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        out.push(id.get().to_string());
        stack.extend(all.iter().filter(|t| t.parent == Some(id)).map(|t| t.id));
    }
    out
}

/// A snippet as HTML: the text escaped, the matches in `<mark>`.
pub(crate) fn snippet_html(s: &Snippet) -> String {
    let mut out = String::new();
    let mut at = 0;
    for r in &s.highlighted {
        if r.start < at {
            continue;
        }
        out.push_str(&escape(s.fragment.get(at..r.start).unwrap_or("")));
        out.push_str("<mark>");
        out.push_str(&escape(s.fragment.get(r.clone()).unwrap_or("")));
        out.push_str("</mark>");
        at = r.end;
    }
    out.push_str(&escape(s.fragment.get(at..).unwrap_or("")));
    out
}

/// Only web links are linked (never `javascript:` and the like).
fn safe_url(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

/// `GET /office/search`.
pub(crate) async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<SearchParams>,
) -> Response {
    const DENIED: &str =
        "Поиск по архиву доступен сотрудникам организаций, аналитикам и администраторам региона.";
    if !SEARCH_ROLES.iter().any(|r| staff.has_role(*r)) {
        return office_error(
            &staff,
            StatusCode::FORBIDDEN,
            "Нет доступа к поиску",
            DENIED,
        );
    }
    let ctx = match Ctx::load(&state, staff).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(scope) = staff_scope(&ctx, &SEARCH_ROLES) else {
        return office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Нет доступа к поиску",
            DENIED,
        );
    };
    let Some(index) = state.inner.search.clone() else {
        return office_error(
            &ctx.staff,
            StatusCode::SERVICE_UNAVAILABLE,
            "Поиск недоступен",
            "Сервер запущен без поискового индекса архива.",
        );
    };
    let names = match Names::load(state.store(), Some(&state.inner.info.tree)).await {
        Ok(n) => n,
        Err(e) => return internal(&e),
    };
    let territories = match state.store().territories().await {
        Ok(t) => t,
        Err(e) => return internal(&e),
    };
    let page = params
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE);

    let mut query = SearchQuery::new(params.text())
        .sort(if params.by_date() {
            Sort::Newest
        } else {
            Sort::Relevance
        })
        .limit(PAGE)
        .offset((page - 1) * PAGE);
    query.facet_limit = 12;
    for (facet, _) in FACETS {
        query = query.facet(facet);
    }
    for facet in [
        Facet::Kind,
        Facet::Category,
        Facet::Subcategory,
        Facet::Network,
        Facet::Status,
        Facet::Period,
    ] {
        if let Some(v) = params.get(facet) {
            query = query.filter(facet, v);
        }
    }
    if let Some(t) = params.get(Facet::Territory) {
        for v in territory_values(&territories, t) {
            query = query.filter(Facet::Territory, v);
        }
    }
    // The organisation filter: the one asked for (id or code), within the user's scope.
    let asked = params.get(Facet::Organisation).map(|raw| {
        ctx.orgs
            .iter()
            .find(|o| o.code == raw)
            .map_or_else(|| raw.to_owned(), |o| o.id.get().to_string())
    });
    let allowed: Option<Vec<String>> = match (&scope, asked) {
        (Scope::All, None) => None,
        (Scope::All, Some(a)) => Some(vec![a]),
        (Scope::Organisations(set), None) => {
            Some(set.iter().map(|o| o.get().to_string()).collect())
        }
        (Scope::Organisations(set), Some(a)) => Some(
            set.iter()
                .map(|o| o.get().to_string())
                .filter(|o| *o == a)
                .collect(),
        ),
    };
    if let Some(values) = allowed {
        if values.is_empty() {
            // Nothing in scope: a value no document has.
            query = query.filter(Facet::Organisation, "—");
        }
        for v in values {
            query = query.filter(Facet::Organisation, v);
        }
    }
    let results = match index.search(&query) {
        Ok(r) => r,
        Err(e) => return internal(&e),
    };

    let mut body = format!(
        "<style>{REPORT_CSS}{SEARCH_CSS}</style><h1>Поиск по архиву</h1>\
<p class=\"meta\">Сообщения и публикации из соцсетей, в любой форме слова («ямы» найдёт «яма»); \
\"фраза в кавычках\", -исключение. Охват: {}.</p>",
        escape(&scope_text(&ctx, &scope))
    );
    // The form keeps the filters as hidden fields.
    body.push_str(
        "<form method=\"get\" action=\"/office/search\" class=\"filters\" role=\"search\">\
<label for=\"q\">Запрос</label> ",
    );
    body.push_str(&format!(
        "<input type=\"search\" id=\"q\" name=\"q\" value=\"{}\" size=\"40\"> ",
        escape(params.text())
    ));
    for (facet, _) in FACETS {
        if let Some(v) = params.get(facet) {
            body.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                facet.name(),
                escape(v)
            ));
        }
    }
    let by_date = params.by_date();
    body.push_str(&format!(
        "<label for=\"sort\">Порядок</label> <select id=\"sort\" name=\"sort\">\
<option value=\"relevance\"{}>по релевантности</option><option value=\"date\"{}>сначала новые</option></select> \
<button type=\"submit\">Найти</button></form>",
        if by_date { "" } else { " selected" },
        if by_date { " selected" } else { "" },
    ));
    // Active filters, each removable.
    let mut chips = String::new();
    for (facet, title) in FACETS {
        if let Some(v) = params.get(facet) {
            let shown = match facet {
                Facet::Territory => territories
                    .iter()
                    .find(|t| t.code == v)
                    .map_or_else(|| names.facet_value(facet, v), |t| t.name.clone()),
                Facet::Organisation => ctx
                    .orgs
                    .iter()
                    .find(|o| o.code == v)
                    .map_or_else(|| names.facet_value(facet, v), |o| o.name.clone()),
                _ => names.facet_value(facet, v),
            };
            chips.push_str(&format!(
                "<li>{}: {} <a href=\"{}\" aria-label=\"Убрать фильтр «{}: {}»\">✕</a></li>",
                escape(title),
                escape(&shown),
                href(&params.pairs_with(Some(facet), None)),
                escape(title),
                escape(&shown),
            ));
        }
    }
    if !chips.is_empty() {
        body.push_str(&format!(
            "<ul class=\"chips\" aria-label=\"Фильтры\">{chips}</ul>"
        ));
    }
    body.push_str(&format!(
        "<p role=\"status\">Найдено: {} ({:.1} мс)</p><div class=\"search-layout\"><div class=\"hits\">",
        results.total,
        results.took_us as f64 / 1000.0
    ));
    if results.hits.is_empty() {
        body.push_str("<p>Ничего не найдено. Уберите часть фильтров или измените запрос.</p>");
    }
    for hit in &results.hits {
        body.push_str(&hit_html(hit, &names));
    }
    // Paging.
    let pages = usize::try_from(results.total)
        .unwrap_or(usize::MAX)
        .div_ceil(PAGE)
        .clamp(1, MAX_PAGE);
    if pages > 1 {
        body.push_str("<nav aria-label=\"Страницы результатов\" class=\"pages\">");
        let link = |p: usize| {
            let mut pairs = params.pairs_with(None, None);
            pairs.push(("page".to_owned(), p.to_string()));
            href(&pairs)
        };
        if page > 1 {
            body.push_str(&format!(
                "<a href=\"{}\" rel=\"prev\">← Предыдущая</a> ",
                link(page - 1)
            ));
        }
        body.push_str(&format!("Страница {page} из {pages} "));
        if page < pages {
            body.push_str(&format!(
                "<a href=\"{}\" rel=\"next\">Следующая →</a>",
                link(page + 1)
            ));
        }
        body.push_str("</nav>");
    }
    body.push_str("</div><aside class=\"facets\" aria-label=\"Уточнить\">");
    for counts in &results.facets {
        let Some((_, title)) = FACETS.iter().find(|(f, _)| *f == counts.facet) else {
            continue;
        };
        if counts.values.is_empty() {
            continue;
        }
        let id = format!("facet-{}", counts.facet.name());
        body.push_str(&format!(
            "<section aria-labelledby=\"{id}\"><h2 id=\"{id}\">{}</h2><ul>",
            escape(title)
        ));
        for v in &counts.values {
            body.push_str(&format!(
                "<li><a href=\"{}\">{}</a> <span class=\"count\">{}</span></li>",
                href(&params.pairs_with(Some(counts.facet), Some(&v.value))),
                escape(&names.facet_value(counts.facet, &v.value)),
                v.count
            ));
        }
        if counts.other > 0 {
            body.push_str(&format!("<li>другие: {}</li>", counts.other));
        }
        body.push_str("</ul></section>");
    }
    body.push_str("</aside></div>");
    layout(&ctx.staff, "Поиск по архиву", &body)
}

/// One hit: a link to the message card or the source post, the facts by name, the snippet.
fn hit_html(hit: &Hit, names: &Names) -> String {
    let d = &hit.doc;
    let (title, link) = match d.kind {
        DocKind::Message => (
            format!("Сообщение № {}", d.id),
            Some(format!("/office/messages/{}", d.id)),
        ),
        DocKind::Post => {
            let network = d
                .network
                .as_deref()
                .map(|n| names.facet_value(Facet::Network, n))
                .unwrap_or_default();
            (
                format!("Публикация {network} № {}", d.id).replace("  ", " "),
                d.url.as_deref().and_then(safe_url).map(str::to_owned),
            )
        }
    };
    let heading = match &link {
        Some(url) if d.kind == DocKind::Post => format!(
            "<a href=\"{}\" rel=\"noopener noreferrer external\" target=\"_blank\">{} (источник)</a>",
            escape(url),
            escape(&title)
        ),
        Some(url) => format!("<a href=\"{}\">{}</a>", escape(url), escape(&title)),
        None => escape(&title),
    };
    let mut facts = vec![fmt_time(otklik_domain::Timestamp(d.published_at))];
    for (facet, value) in [
        (Facet::Subcategory, &d.subcategory),
        (Facet::Territory, &d.territory),
        (Facet::Organisation, &d.organisation),
        (Facet::Status, &d.status),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            facts.push(names.facet_value(facet, v));
        }
    }
    if d.kind == DocKind::Message
        && let Some(n) = d.network.as_deref()
    {
        facts.push(format!("из {}", names.facet_value(Facet::Network, n)));
    }
    let text = match &hit.snippet {
        Some(s) => snippet_html(s),
        None => {
            let mut t: String = d.text.chars().take(240).collect();
            if d.text.chars().count() > 240 {
                t.push('…');
            }
            escape(&t)
        }
    };
    let source = match (&d.kind, d.url.as_deref().and_then(safe_url)) {
        (DocKind::Message, Some(url)) => format!(
            " <a href=\"{}\" rel=\"noopener noreferrer external\" target=\"_blank\">исходная публикация</a>",
            escape(url)
        ),
        _ => String::new(),
    };
    format!(
        "<article class=\"hit\"><h3>{heading}</h3><p class=\"meta\">{}{source}</p><p class=\"snippet\">{text}</p></article>",
        escape(&facts.join(" · "))
    )
}

const SEARCH_CSS: &str = ".search-layout{display:grid;grid-template-columns:minmax(0,3fr) minmax(12rem,1fr);gap:1.5rem}\
@media (max-width:50rem){.search-layout{grid-template-columns:1fr}}\
.hit{background:#fff;border:1px solid #d0d5dc;padding:.5rem .8rem;margin:.5rem 0}.hit h3{margin:.1rem 0;font-size:1.05rem}\
.facets section{background:#fff;border:1px solid #d0d5dc;padding:.3rem .8rem;margin-bottom:.8rem}\
.facets h2{font-size:1rem;margin:.3rem 0}.facets ul{list-style:none;padding:0;margin:0}.count{color:#556}\
.chips{list-style:none;display:flex;flex-wrap:wrap;gap:.5rem;padding:0}.chips li{background:#e4ecf6;padding:.1rem .5rem;border-radius:3px}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_escape_everything_but_the_marks() {
        let s = Snippet {
            fragment: "<script>x</script> яма & ямы".into(),
            highlighted: vec![19..25, 28..34],
            html: String::new(),
        };
        assert_eq!(
            snippet_html(&s),
            "&lt;script&gt;x&lt;/script&gt; <mark>яма</mark> &amp; <mark>ямы</mark>"
        );
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(
            safe_url("https://vk.com/wall1"),
            Some("https://vk.com/wall1")
        );
    }
}
