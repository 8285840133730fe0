//! Reports in the back-office: `/office/reports` lists them, `/office/reports/{name}` shows one
//! (`?period=2026-10|all`, `?by=…`) as tables with names, server-rendered SVG charts beside
//! them and a print stylesheet, or downloads it (`?format=csv|xlsx`).
//!
//! The reports are those of [`otklik_reports`]: volumes, deadline compliance, late answers,
//! satisfaction, onboarding zones and Госпаблики coverage.
//!
//! **Who sees reports** ([`REPORT_ROLES`]): curators, heads, analysts and regional
//! administrators; other roles get 403. **Whose rows** ([`staff_scope`]): a grant held in a
//! regional oversight organisation (the ЦУР), or an analyst's or administrator's grant held in
//! a top-level organisation that is not a municipality (the regional government), covers the
//! whole region; every other grant covers its organisation and the organisations beneath it
//! (a municipal head sees the municipality's rows, never another's; messages without an
//! executor are regional). The same scope limits the archive search (`super::search`).

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otklik_domain::{OrgKind, Role};
use otklik_reports::deadlines::{deadlines_in, late_answers_in};
use otklik_reports::gospabliki::{CoverageBy, CoverageReport, gospabliki_in};
use otklik_reports::onboarding::onboarding_in;
use otklik_reports::satisfaction::{SatisfactionBy, satisfaction_in};
use otklik_reports::volumes::{Dimension, volumes_in};
use otklik_reports::{Cell, Names, Period, Scope, Table, Zone, ZoneThresholds, percent};
use serde::Deserialize;

use super::{Ctx, layout, office_error};
use crate::AppState;
use crate::auth::{Staff, internal};
use crate::html::escape;

/// Roles that may see reports.
pub(crate) const REPORT_ROLES: [Role; 4] =
    [Role::Curator, Role::Head, Role::Analyst, Role::RegionAdmin];

/// The organisations the user's grants of `roles` cover: `None` when the user holds none of
/// `roles` (no access at all), [`Scope::All`] for regional grants (see the module docs).
pub(crate) fn staff_scope(ctx: &Ctx, roles: &[Role]) -> Option<Scope> {
    let tree = ctx.wf.organisations();
    let mut set = BTreeSet::new();
    let mut any = false;
    for g in ctx
        .staff
        .grants()
        .iter()
        .filter(|g| roles.contains(&g.role))
    {
        any = true;
        let regional_body = ctx
            .org(g.organisation)
            .is_some_and(|o| o.parent.is_none() && !matches!(o.kind, OrgKind::Omsu));
        if tree.is_oversight(g.organisation)
            || (matches!(g.role, Role::Analyst | Role::RegionAdmin) && regional_body)
        {
            return Some(Scope::All);
        }
        set.extend(
            ctx.orgs
                .iter()
                .filter(|o| tree.covers(g.organisation, o.id))
                .map(|o| o.id),
        );
    }
    any.then_some(Scope::Organisations(set))
}

/// A sentence saying whose rows the page shows.
pub(crate) fn scope_text(ctx: &Ctx, scope: &Scope) -> String {
    match scope {
        Scope::All => "все организации региона".to_owned(),
        Scope::Organisations(set) if set.is_empty() => "нет организаций".to_owned(),
        Scope::Organisations(set) => {
            let mut names: Vec<String> = set.iter().map(|id| ctx.org_name(Some(*id))).collect();
            let more = names.len().saturating_sub(8);
            names.truncate(8);
            let mut text = names.join(", ");
            if more > 0 {
                text.push_str(&format!(" и ещё {more}"));
            }
            text
        }
    }
}

/// One report of the list.
struct ReportDef {
    code: &'static str,
    title: &'static str,
    about: &'static str,
    /// `?by=` values offered (first: the default), with labels.
    by: &'static [(&'static str, &'static str)],
    /// Does the period apply?
    period: bool,
}

const REPORTS: [ReportDef; 6] = [
    ReportDef {
        code: "volumes",
        title: "Объёмы сообщений",
        about: "Сообщения по категориям, территориям, каналам, периодам, статусам и исполнителям, с оценками.",
        by: &[
            ("category", "по категориям"),
            ("subcategory", "по подкатегориям"),
            ("territory", "по территориям"),
            ("channel", "по каналам"),
            ("period", "по месяцам"),
            ("status", "по статусам"),
            ("executor", "по исполнителям"),
        ],
        period: true,
    },
    ReportDef {
        code: "deadlines",
        title: "Соблюдение сроков",
        about: "По организациям: в срок, с нарушением, открытые и просроченные, продлённые; среднее время ответа в рабочих днях.",
        by: &[],
        period: true,
    },
    ReportDef {
        code: "late",
        title: "Нарушения сроков",
        about: "Ответы с нарушением срока и просроченные сообщения по органам власти.",
        by: &[],
        period: true,
    },
    ReportDef {
        code: "satisfaction",
        title: "Удовлетворённость",
        about: "Оценки граждан: средняя и распределение 1–5 по организациям или категориям.",
        by: &[
            ("organisation", "по организациям"),
            ("category", "по категориям"),
        ],
        period: true,
    },
    ReportDef {
        code: "onboarding",
        title: "Статус внедрения",
        about: "По типам организаций: ЛКО готов к работе, обучение, виджет, подтверждённые пользователи; зоны.",
        by: &[],
        period: false,
    },
    ReportDef {
        code: "gospabliki",
        title: "Госпаблики",
        about: "Обязательные страницы ВКонтакте и Одноклассники: наличие, подтверждение, активность; зоны.",
        by: &[
            ("kind", "по типам организаций"),
            ("territory", "по территориям"),
        ],
        period: false,
    },
];

/// Query of a report page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReportQuery {
    period: Option<String>,
    by: Option<String>,
    format: Option<String>,
}

/// The user's reporting scope, or the 403 page.
async fn load(state: &AppState, staff: Staff) -> Result<(Ctx, Scope), Response> {
    if !REPORT_ROLES.iter().any(|r| staff.has_role(*r)) {
        return Err(office_error(
            &staff,
            StatusCode::FORBIDDEN,
            "Нет доступа к отчётам",
            "Отчёты доступны кураторам, руководителям, аналитикам и администраторам региона.",
        ));
    }
    let ctx = Ctx::load(state, staff).await?;
    let Some(scope) = staff_scope(&ctx, &REPORT_ROLES) else {
        return Err(office_error(
            &ctx.staff,
            StatusCode::FORBIDDEN,
            "Нет доступа к отчётам",
            "Отчёты доступны кураторам, руководителям, аналитикам и администраторам региона.",
        ));
    };
    Ok((ctx, scope))
}

/// The current UTC month, `YYYY-MM`.
fn this_month(ctx: &Ctx) -> String {
    otklik_search::month_of(ctx.now.millis())
}

/// `GET /office/reports`.
pub(crate) async fn index(State(state): State<AppState>, staff: Staff) -> Response {
    let (ctx, scope) = match load(&state, staff).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let month = this_month(&ctx);
    let mut body = format!(
        "<style>{REPORT_CSS}</style><h1>Отчёты</h1><p>Охват: {}.</p><ul class=\"reports\">",
        escape(&scope_text(&ctx, &scope))
    );
    for def in &REPORTS {
        let query = if def.period {
            format!("?period={month}")
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<li><a href=\"/office/reports/{code}{query}\">{title}</a> — {about} \
<span class=\"no-print\">(<a href=\"/office/reports/{code}{query}{sep}format=csv\">CSV</a>, \
<a href=\"/office/reports/{code}{query}{sep}format=xlsx\">XLSX</a>)</span></li>",
            code = def.code,
            title = escape(def.title),
            about = escape(def.about),
            sep = if query.is_empty() { "?" } else { "&amp;" },
        ));
    }
    body.push_str("</ul>");
    layout(&ctx.staff, "Отчёты", &body)
}

/// One table of a report with its charts.
struct Part {
    table: Table,
    charts: Vec<String>,
}

/// What a report page shows.
struct Built {
    heading: String,
    parts: Vec<Part>,
}

fn bad_request(ctx: &Ctx, text: &str) -> Response {
    office_error(
        &ctx.staff,
        StatusCode::BAD_REQUEST,
        "Неверные параметры отчёта",
        text,
    )
}

/// The period of `?period=` (a month `YYYY-MM`, `all`; default: this month) and its code
/// for file names.
fn period_of(ctx: &Ctx, raw: Option<&str>) -> Result<(Period, String), String> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => {
            let m = this_month(ctx);
            Period::month(&m).map(|p| (p, m)).map_err(|e| e.to_string())
        }
        Some("all") => Ok((Period::ALL, "all".to_owned())),
        Some(m) => Period::month(m)
            .map(|p| (p, m.to_owned()))
            .map_err(|_| format!("Период «{m}» не распознан: укажите месяц ГГГГ-ММ или all.")),
    }
}

/// `GET /office/reports/{name}`.
pub(crate) async fn report(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Response {
    let Some(def) = REPORTS.iter().find(|d| d.code == name) else {
        return office_error(
            &staff,
            StatusCode::NOT_FOUND,
            "Отчёт не найден",
            "Такого отчёта нет.",
        );
    };
    let (ctx, scope) = match load(&state, staff).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (period, period_code) = if def.period {
        match period_of(&ctx, query.period.as_deref()) {
            Ok(p) => p,
            Err(e) => return bad_request(&ctx, &e),
        }
    } else {
        // A snapshot of the directory: its files are named by the day.
        (Period::ALL, otklik_reports::day_label(ctx.now.millis()))
    };
    let by = query
        .by
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .or_else(|| def.by.first().map(|(code, _)| *code));
    if let Some(b) = by
        && !def.by.is_empty()
        && !b
            .split(',')
            .all(|p| def.by.iter().any(|(c, _)| *c == p.trim()))
    {
        return bad_request(
            &ctx,
            &format!("Группировка «{b}» для этого отчёта не поддерживается."),
        );
    }
    let format = query.format.as_deref().unwrap_or("html");
    if !matches!(format, "html" | "csv" | "xlsx") {
        return bad_request(&ctx, "Формат выгрузки: csv или xlsx.");
    }
    let built = match build(&ctx, def, period, by, &scope).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let file = format!("otklik-{}-{period_code}", def.code);
    match format {
        "csv" => {
            let csv = built
                .parts
                .first()
                .map(|p| p.table.to_csv())
                .unwrap_or_default();
            download(
                csv.into_bytes(),
                "text/csv; charset=utf-8",
                &format!("{file}.csv"),
            )
        }
        "xlsx" => {
            let tables: Vec<Table> = built.parts.into_iter().map(|p| p.table).collect();
            match otklik_reports::to_xlsx(&tables) {
                Ok(bytes) => download(
                    bytes,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    &format!("{file}.xlsx"),
                ),
                Err(e) => internal(&e),
            }
        }
        _ => page(
            &ctx,
            def,
            &scope,
            &built,
            query.period.as_deref(),
            by,
            &period_code,
        ),
    }
}

/// A file download: `filename` is ASCII (report code and period).
fn download(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn build(
    ctx: &Ctx,
    def: &ReportDef,
    period: Period,
    by: Option<&str>,
    scope: &Scope,
) -> Result<Built, Response> {
    let store = ctx.state.store();
    let names = Names::load(store, Some(&ctx.state.inner.info.tree))
        .await
        .map_err(|e| internal(&e))?;
    let cal = ctx.wf.calendar();
    let zones = ZoneThresholds::default();
    let mut progress = |_: u64| {};
    let label = period.label();
    let built = match def.code {
        "volumes" => {
            let mut dims = Vec::new();
            for b in by.unwrap_or("category").split(',') {
                let d: Dimension = b.parse().map_err(|e| bad_request(ctx, &format!("{e}")))?;
                if !dims.contains(&d) {
                    dims.push(d);
                }
            }
            let r = volumes_in(store, &dims, period, scope, &mut progress)
                .await
                .map_err(|e| internal(&e))?;
            let mut bars: Vec<Bar> = r
                .rows
                .iter()
                .map(|row| {
                    let label: Vec<String> = dims
                        .iter()
                        .zip(&row.keys)
                        .map(|(d, k)| d.display(k, &names))
                        .collect();
                    Bar::count(label.join(" / "), row.messages, BLUE)
                })
                .collect();
            bars.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.label.cmp(&b.label)));
            Built {
                heading: format!("Объёмы сообщений, {label}"),
                parts: vec![Part {
                    table: r.table(&names),
                    charts: vec![bar_chart(
                        "chart-volumes",
                        &format!("Сообщений по группам ({})", dims_title(&dims)),
                        &bars,
                        None,
                    )],
                }],
            }
        }
        "deadlines" => {
            let r = deadlines_in(store, cal, period, ctx.now, scope, &mut progress)
                .await
                .map_err(|e| internal(&e))?;
            let mut rows: Vec<(String, Vec<u64>)> = r
                .rows
                .iter()
                .map(|row| {
                    (
                        names.organisation(row.executor),
                        vec![row.on_time, row.late, row.open, row.overdue],
                    )
                })
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            Built {
                heading: format!("Соблюдение сроков, {label}"),
                parts: vec![Part {
                    table: r.table(&names),
                    charts: vec![stacked_chart(
                        "chart-deadlines",
                        "Сообщения организаций по соблюдению сроков",
                        &[
                            ("В срок", GREEN),
                            ("С нарушением срока", ORANGE),
                            ("Открыто, срок не истёк", GREY),
                            ("Открыто, просрочено", RED),
                        ],
                        &rows,
                    )],
                }],
            }
        }
        "late" => {
            let r = late_answers_in(store, cal, period, ctx.now, scope, &mut progress)
                .await
                .map_err(|e| internal(&e))?;
            let bars: Vec<Bar> = r
                .counts()
                .into_iter()
                .map(|(org, n)| Bar::count(names.organisation(org), n, ORANGE))
                .collect();
            Built {
                heading: format!("Нарушения сроков, {label}: {} сообщений", r.messages.len()),
                parts: vec![Part {
                    table: r.table(&names),
                    charts: vec![bar_chart(
                        "chart-late",
                        "Сообщения с нарушением срока по органам власти",
                        &bars,
                        None,
                    )],
                }],
            }
        }
        "satisfaction" => {
            let sb: SatisfactionBy = by
                .unwrap_or("organisation")
                .parse()
                .map_err(|e| bad_request(ctx, &format!("{e}")))?;
            let r = satisfaction_in(store, sb, period, scope, &mut progress)
                .await
                .map_err(|e| internal(&e))?;
            let dim = r
                .volumes
                .dimensions
                .first()
                .copied()
                .unwrap_or(Dimension::Executor);
            let total = &r.volumes.total;
            let dist: Vec<Bar> = (0..5)
                .map(|i| Bar::count(format!("Оценка {}", i + 1), total.ratings[i], RATING[i]))
                .collect();
            let mut rows: Vec<(String, Vec<u64>)> = r
                .rows()
                .filter(|(_, row)| row.rated > 0)
                .map(|(k, row)| (dim.display(k, &names), row.ratings.to_vec()))
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            Built {
                heading: format!("Удовлетворённость, {label}"),
                parts: vec![Part {
                    table: r.table(&names),
                    charts: vec![
                        bar_chart(
                            "chart-ratings",
                            "Распределение оценок граждан (1–5)",
                            &dist,
                            None,
                        ),
                        stacked_chart(
                            "chart-ratings-by",
                            &format!("Оценки {}", dim_genitive(dim)),
                            &[
                                ("Оценка 1", RATING[0]),
                                ("Оценка 2", RATING[1]),
                                ("Оценка 3", RATING[2]),
                                ("Оценка 4", RATING[3]),
                                ("Оценка 5", RATING[4]),
                            ],
                            &rows,
                        ),
                    ],
                }],
            }
        }
        "onboarding" => {
            let r = onboarding_in(store, zones, scope)
                .await
                .map_err(|e| internal(&e))?;
            let bars: Vec<Bar> = r
                .rows
                .iter()
                .map(|row| {
                    let zone = r.zone(row);
                    Bar::percent(
                        row.kind.map_or("Итого", |k| k.label_ru()).to_owned(),
                        row.readiness(),
                        zone,
                    )
                })
                .collect();
            Built {
                heading: "Статус внедрения по типам организаций".to_owned(),
                parts: vec![
                    Part {
                        table: r.table(),
                        charts: vec![bar_chart(
                            "chart-onboarding",
                            "Внедрение по типам организаций, % (зоны: зелёная от 80 %, жёлтая от 50 %, красная ниже)",
                            &bars,
                            Some(100.0),
                        )],
                    },
                    Part {
                        table: r.pending_table(&names),
                        charts: vec![],
                    },
                ],
            }
        }
        "gospabliki" => {
            let cb: CoverageBy = by
                .unwrap_or("kind")
                .parse()
                .map_err(|e| bad_request(ctx, &format!("{e}")))?;
            let r = gospabliki_in(store, cb, ctx.now, 30, zones, scope)
                .await
                .map_err(|e| internal(&e))?;
            let bars: Vec<Bar> = r
                .rows
                .iter()
                .map(|row| {
                    Bar::percent(
                        coverage_label(&r, &row.key, &names),
                        percent(row.both, row.organisations),
                        r.zone(row),
                    )
                })
                .collect();
            Built {
                heading: "Госпаблики: обязательные страницы ВКонтакте и Одноклассники".to_owned(),
                parts: vec![
                    Part {
                        table: r.table(&names),
                        charts: vec![bar_chart(
                            "chart-gospabliki",
                            "Организации с обеими обязательными страницами, %",
                            &bars,
                            Some(100.0),
                        )],
                    },
                    Part {
                        table: r.missing_table(&names),
                        charts: vec![],
                    },
                ],
            }
        }
        _ => {
            return Err(office_error(
                &ctx.staff,
                StatusCode::NOT_FOUND,
                "Отчёт не найден",
                "Такого отчёта нет.",
            ));
        }
    };
    Ok(built)
}

fn coverage_label(r: &CoverageReport, key: &str, names: &Names) -> String {
    match r.by {
        CoverageBy::Kind => key
            .parse::<OrgKind>()
            .map_or_else(|_| key.to_owned(), |k| k.label_ru().to_owned()),
        CoverageBy::Territory => names.territory(key.parse::<i64>().ok().map(Into::into)),
    }
}

fn dims_title(dims: &[Dimension]) -> String {
    dims.iter()
        .map(|d| d.title_ru().to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

fn dim_genitive(dim: Dimension) -> &'static str {
    match dim {
        Dimension::Category => "по категориям",
        _ => "по организациям",
    }
}

/// The HTML page of a built report.
fn page(
    ctx: &Ctx,
    def: &ReportDef,
    scope: &Scope,
    built: &Built,
    period_raw: Option<&str>,
    by: Option<&str>,
    period_code: &str,
) -> Response {
    let mut body = format!(
        "<style>{REPORT_CSS}</style><p class=\"no-print\"><a href=\"/office/reports\">← Все отчёты</a></p>\
<h1>{}</h1><p class=\"meta\">Охват: {}. Сформирован: {}.</p>",
        escape(&built.heading),
        escape(&scope_text(ctx, scope)),
        escape(&super::fmt_time(ctx.now)),
    );
    // The form: period and grouping.
    body.push_str(&format!(
        "<form method=\"get\" action=\"/office/reports/{}\" class=\"filters no-print\">",
        def.code
    ));
    if def.period {
        let value = period_raw.filter(|p| *p != "all").unwrap_or(period_code);
        let value = if value == "all" { "" } else { value };
        body.push_str(&format!(
            "<label for=\"period\">Месяц</label> <input type=\"month\" id=\"period\" name=\"period\" value=\"{}\"> ",
            escape(value)
        ));
    }
    if !def.by.is_empty() {
        body.push_str("<label for=\"by\">Группировка</label> <select id=\"by\" name=\"by\">");
        for (code, label) in def.by {
            let selected = if by == Some(*code) { " selected" } else { "" };
            body.push_str(&format!(
                "<option value=\"{code}\"{selected}>{}</option>",
                escape(label)
            ));
        }
        body.push_str("</select> ");
    }
    body.push_str("<button type=\"submit\">Показать</button></form>");
    // Downloads.
    let mut params = Vec::new();
    if def.period {
        params.push(format!("period={}", escape(period_code)));
    }
    if let Some(b) = by {
        params.push(format!("by={}", escape(b)));
    }
    let base = format!("/office/reports/{}?{}", def.code, params.join("&amp;"));
    let sep = if params.is_empty() { "" } else { "&amp;" };
    body.push_str(&format!(
        "<p class=\"downloads no-print\">Выгрузить: <a href=\"{base}{sep}format=csv\" download>CSV</a> · \
<a href=\"{base}{sep}format=xlsx\" download>XLSX (Excel)</a> · для печати: Ctrl+P (навигация не печатается)</p>"
    ));
    for part in &built.parts {
        body.push_str("<section class=\"part\">");
        body.push_str(&format!("<h2>{}</h2>", escape(&part.table.title)));
        for chart in &part.charts {
            body.push_str(chart);
        }
        body.push_str(&table_html(&part.table));
        body.push_str("</section>");
    }
    layout(&ctx.staff, &built.heading, &body)
}

/// A report table as HTML: numbers right-aligned, zones as coloured text labels, message
/// numbers linked to their cards.
fn table_html(t: &Table) -> String {
    let zone_col = t.headers.iter().position(|h| h == "Зона");
    let message_col = t.headers.iter().position(|h| h == "Сообщение");
    let mut out = String::from("<div class=\"table-wrap\"><table><thead><tr>");
    for h in &t.headers {
        out.push_str(&format!("<th scope=\"col\">{}</th>", escape(h)));
    }
    out.push_str("</tr></thead><tbody>");
    if t.rows.is_empty() {
        out.push_str(&format!(
            "<tr><td colspan=\"{}\">Нет данных за период.</td></tr>",
            t.headers.len().max(1)
        ));
    }
    for row in &t.rows {
        let total = matches!(row.first(), Some(Cell::Text(s)) if s == "Итого");
        out.push_str(if total {
            "<tr class=\"total\">"
        } else {
            "<tr>"
        });
        for (k, cell) in row.iter().enumerate() {
            let text = cell.display();
            if Some(k) == zone_col {
                out.push_str(&zone_cell(&text));
            } else if Some(k) == message_col
                && let Cell::Int(id) = cell
            {
                out.push_str(&format!(
                    "<td class=\"n\"><a href=\"/office/messages/{id}\">№ {id}</a></td>"
                ));
            } else if matches!(cell, Cell::Int(_) | Cell::Num(..)) {
                out.push_str(&format!("<td class=\"n\">{}</td>", escape(&text)));
            } else if k == 0 {
                out.push_str(&format!("<th scope=\"row\">{}</th>", escape(&text)));
            } else {
                out.push_str(&format!("<td>{}</td>", escape(&text)));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

fn zone_of(label: &str) -> Option<Zone> {
    [Zone::Green, Zone::Yellow, Zone::Red]
        .into_iter()
        .find(|z| z.label_ru() == label)
}

/// A zone as a coloured mark and its text label (never colour only).
fn zone_cell(label: &str) -> String {
    match zone_of(label) {
        Some(z) => format!(
            "<td class=\"zone zone-{}\"><span class=\"zone-mark\" aria-hidden=\"true\"></span>{} зона</td>",
            z.code(),
            escape(z.label_ru())
        ),
        None => format!("<td>{}</td>", escape(label)),
    }
}

// ---- Charts: inline SVG, no script. ----

const BLUE: &str = "#0b5cad";
const GREEN: &str = "#2e7d32";
const YELLOW: &str = "#f9a825";
const ORANGE: &str = "#ef6c00";
const RED: &str = "#c62828";
const GREY: &str = "#90a4ae";
const RATING: [&str; 5] = [RED, ORANGE, YELLOW, "#7cb342", GREEN];

/// Most bars one chart draws (the table lists everything).
const MAX_BARS: usize = 25;
const WIDTH: u32 = 760;
const LABEL_W: u32 = 270;
const BAR_W: u32 = 380;
const ROW_H: u32 = 22;

fn zone_colour(z: Option<Zone>) -> &'static str {
    match z {
        Some(Zone::Green) => GREEN,
        Some(Zone::Yellow) => YELLOW,
        Some(Zone::Red) => RED,
        None => GREY,
    }
}

/// One bar.
struct Bar {
    label: String,
    value: f64,
    text: String,
    colour: &'static str,
}

impl Bar {
    fn count(label: String, n: u64, colour: &'static str) -> Self {
        Self {
            label,
            value: n as f64,
            text: n.to_string(),
            colour,
        }
    }

    fn percent(label: String, p: Option<f64>, zone: Option<Zone>) -> Self {
        Self {
            label,
            value: p.unwrap_or(0.0),
            text: match (p, zone) {
                (Some(p), Some(z)) => format!("{p:.1} % — {} зона", z.label_ru()),
                (Some(p), None) => format!("{p:.1} %"),
                _ => "нет данных".to_owned(),
            },
            colour: zone_colour(zone),
        }
    }
}

fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn svg_open(id: &str, title: &str, height: u32, desc: &str) -> String {
    format!(
        "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" role=\"img\" \
aria-label=\"{t}\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" \
font-family=\"system-ui, sans-serif\" font-size=\"12\"><title>{t}</title><desc>{d}</desc>",
        t = escape(title),
        d = escape(desc),
    )
}

fn svg_close(title: &str, shown: usize, total: usize) -> String {
    let more = if total > shown {
        format!(" Показаны первые {shown} из {total}; полностью — в таблице.")
    } else {
        String::new()
    };
    format!(
        "</svg><figcaption>{}.{more} Данные — в таблице ниже.</figcaption></figure>",
        escape(title)
    )
}

/// A horizontal bar chart; `max` fixes the scale (100 for percentages).
fn bar_chart(id: &str, title: &str, bars: &[Bar], max: Option<f64>) -> String {
    let shown = &bars[..bars.len().min(MAX_BARS)];
    let scale = max
        .unwrap_or_else(|| shown.iter().map(|b| b.value).fold(0.0, f64::max))
        .max(1e-9);
    let height = 10 + ROW_H * shown.len().max(1) as u32;
    let desc: Vec<String> = shown
        .iter()
        .map(|b| format!("{}: {}", b.label, b.text))
        .collect();
    let mut out = svg_open(id, title, height, &desc.join("; "));
    if shown.is_empty() {
        out.push_str("<text x=\"10\" y=\"20\">Нет данных за период</text>");
    }
    for (i, b) in shown.iter().enumerate() {
        let y = 5 + ROW_H * i as u32;
        let w = ((b.value / scale).clamp(0.0, 1.0) * f64::from(BAR_W)).round() as u32;
        out.push_str(&format!(
            "<g><title>{full}: {text}</title>\
<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
<rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{c}\"/>\
<text x=\"{vx}\" y=\"{ty}\">{text}</text></g>",
            full = escape(&b.label),
            text = escape(&b.text),
            lx = LABEL_W - 6,
            ty = y + 13,
            label = escape(&short(&b.label, 40)),
            h = ROW_H - 6,
            c = b.colour,
            vx = LABEL_W + w + 6,
        ));
    }
    out.push_str(&svg_close(title, shown.len(), bars.len()));
    out
}

/// Horizontal stacked bars: one bar per row, one segment per series, a legend with text.
fn stacked_chart(
    id: &str,
    title: &str,
    series: &[(&str, &str)],
    rows: &[(String, Vec<u64>)],
) -> String {
    let shown = &rows[..rows.len().min(MAX_BARS)];
    let max = shown
        .iter()
        .map(|(_, v)| v.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let legend_h = 24;
    let height = legend_h + 10 + ROW_H * shown.len().max(1) as u32;
    let desc: Vec<String> = shown
        .iter()
        .map(|(label, values)| {
            let parts: Vec<String> = series
                .iter()
                .zip(values)
                .map(|((name, _), v)| format!("{name} {v}"))
                .collect();
            format!("{label}: {}", parts.join(", "))
        })
        .collect();
    let mut out = svg_open(id, title, height, &desc.join("; "));
    // Legend.
    let mut x = 10u32;
    for (name, colour) in series {
        out.push_str(&format!(
            "<rect x=\"{x}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"16\">{}</text>",
            x + 16,
            escape(name)
        ));
        x += 24 + 7 * name.chars().count() as u32;
    }
    if shown.is_empty() {
        out.push_str(&format!(
            "<text x=\"10\" y=\"{}\">Нет данных за период</text>",
            legend_h + 20
        ));
    }
    for (i, (label, values)) in shown.iter().enumerate() {
        let y = legend_h + 5 + ROW_H * i as u32;
        let total: u64 = values.iter().sum();
        let parts: Vec<String> = series
            .iter()
            .zip(values)
            .map(|((name, _), v)| format!("{name}: {v}"))
            .collect();
        out.push_str(&format!(
            "<g><title>{full} — {parts}</title><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{short}</text>",
            full = escape(label),
            parts = escape(&parts.join(", ")),
            lx = LABEL_W - 6,
            ty = y + 13,
            short = escape(&short(label, 40)),
        ));
        let mut at = f64::from(LABEL_W);
        for ((_, colour), v) in series.iter().zip(values) {
            let w = *v as f64 / max * f64::from(BAR_W);
            if w > 0.0 {
                out.push_str(&format!(
                    "<rect x=\"{at:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{colour}\"/>",
                    ROW_H - 6
                ));
            }
            at += w;
        }
        out.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{}\">{total}</text></g>",
            at + 6.0,
            y + 13
        ));
    }
    out.push_str(&svg_close(title, shown.len(), rows.len()));
    out
}

/// Styles of the report pages, with the print stylesheet: no navigation, header, forms or
/// links to downloads; table rows never split across pages, headers repeated.
pub(crate) const REPORT_CSS: &str = "figure.chart{margin:.5rem 0 1rem;background:#fff;border:1px solid #d0d5dc;padding:.5rem;max-width:60rem}\
figure.chart figcaption{color:#445;font-size:.9rem}.meta{color:#445}\
.filters{background:#fff;border:1px solid #d0d5dc;padding:.6rem .8rem;margin:.5rem 0}\
.table-wrap{overflow-x:auto}tr.total th,tr.total td{font-weight:700;background:#f1f4f8}\
td.zone{white-space:nowrap}.zone-mark{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.35em;vertical-align:middle;border:1px solid #333}\
.zone-green .zone-mark{background:#2e7d32}.zone-yellow .zone-mark{background:#f9a825}.zone-red .zone-mark{background:#c62828}\
.zone-green{color:#1b5e20}.zone-yellow{color:#6d4c00}.zone-red{color:#a00000}\
mark{background:#ffe082;padding:0 .1em}\
@media print{header,nav,footer,.skip,.no-print,form{display:none !important}\
body{background:#fff;color:#000;font-size:10pt}main{max-width:none;margin:0;padding:0}\
a{color:#000;text-decoration:none}.table-wrap{overflow:visible}\
table{width:100%;page-break-inside:auto}thead{display:table-header-group}\
tr,th,td{page-break-inside:avoid;break-inside:avoid}\
figure.chart{page-break-inside:avoid;break-inside:avoid;border:0}section.part{page-break-before:auto}\
.zone-mark{-webkit-print-color-adjust:exact;print-color-adjust:exact}\
svg rect{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_accessible_svg_with_escaped_labels() {
        let bars = vec![
            Bar::count("<b>Дороги</b>".into(), 7, BLUE),
            Bar::percent("РОИВ".into(), Some(75.0), Some(Zone::Yellow)),
        ];
        let svg = bar_chart("c1", "Заголовок & график", &bars, None);
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-label=\"Заголовок &amp; график\""));
        assert!(svg.contains("<title>Заголовок &amp; график</title>"));
        assert!(svg.contains("&lt;b&gt;Дороги&lt;/b&gt;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("75.0 % — жёлтая зона"));
        let stacked = stacked_chart(
            "c2",
            "Сроки",
            &[("В срок", GREEN), ("Просрочено", RED)],
            &[("Орг".into(), vec![3, 1])],
        );
        assert!(stacked.contains(">В срок</text>"), "legend as text");
        assert!(stacked.contains("Орг — В срок: 3, Просрочено: 1"));
        assert!(bar_chart("c3", "Пусто", &[], None).contains("Нет данных"));
    }

    #[test]
    fn zones_have_text_labels() {
        let cell = zone_cell("зелёная");
        assert!(cell.contains("zone-green") && cell.contains("зелёная зона"));
        assert_eq!(zone_cell(""), "<td></td>");
        assert_eq!(short("абвгд", 4), "абв…");
    }
}
