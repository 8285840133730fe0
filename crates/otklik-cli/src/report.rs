//! `otklik report NAME`: the reports of otklik-reports as a table, CSV or XLSX.
//!
//! ```text
//! otklik report volumes      [--by category,channel] [--period 2026-10 | --since D --until D]
//! otklik report deadlines    [--period …] [--at YYYY-MM-DD]
//! otklik report late         [--period …] [--at YYYY-MM-DD]
//! otklik report satisfaction [--by organisation|category] [--period …]
//! otklik report onboarding
//! otklik report gospabliki   [--by kind|territory] [--active-days 30]
//!        [--format table|csv|xlsx] [--out FILE]
//! ```
//!
//! `--period` is a UTC month; `--since`/`--until` are UTC days, both included. Without them a
//! report covers every message. CSV holds the report's main table (RFC 4180); XLSX holds
//! every table of the report, one worksheet each, and needs `--out` (a `.xlsx` or `.csv`
//! `--out` also chooses the format when `--format` is not given). Response times and
//! lateness are in working days of the production calendar of `RULES_DIR/calendar` (the
//! embedded calendar when there is none).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use otklik_domain::Timestamp;
use otklik_reports::volumes::Dimension;
use otklik_reports::{Names, Period, Table, ZoneThresholds};
use otklik_store::Store;

use crate::config::Config;

/// Arguments of `otklik report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The report.
    #[arg(value_enum)]
    pub name: ReportName,
    /// The month of registration (YYYY-MM, UTC).
    #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["since", "until"])]
    pub period: Option<String>,
    /// Registered on or after this UTC day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<String>,
    /// Registered on or before this UTC day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub until: Option<String>,
    /// Output format (default: table, or the `--out` file's extension).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write to this file instead of standard output (required for xlsx).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Grouping: volumes — dimensions (category, subcategory, territory, channel, period,
    /// status, executor; comma-separated or repeated; default category); satisfaction —
    /// organisation or category; gospabliki — kind or territory.
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    /// gospabliki: a page is active with a post within this many days.
    #[arg(long, default_value_t = 30)]
    pub active_days: u32,
    /// Judge deadlines and activity at the end of this UTC day instead of now (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub at: Option<String>,
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportName {
    /// Messages by category, territory, channel, period… with ratings.
    Volumes,
    /// Deadline compliance per organisation: on time, late, overdue, postponed, response time.
    Deadlines,
    /// Late answers by body: every message answered late or overdue, with how late.
    Late,
    /// Satisfaction: mean rating and the 1–5 distribution per organisation or category.
    Satisfaction,
    /// Onboarding per organisation type: account ready, training, widget, confirmed users;
    /// zones.
    Onboarding,
    /// Госпаблики coverage: organisations with the required VK and OK pages, verified, active.
    Gospabliki,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned text.
    Table,
    /// CSV (RFC 4180), the main table.
    Csv,
    /// An Excel workbook, every table on its own worksheet.
    Xlsx,
}

fn format_of(args: &ReportArgs) -> anyhow::Result<ReportFormat> {
    if let Some(f) = args.format {
        if f == ReportFormat::Xlsx && args.out.is_none() {
            bail!("--format xlsx needs --out FILE.xlsx");
        }
        return Ok(f);
    }
    let ext = args
        .out
        .as_deref()
        .and_then(Path::extension)
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    Ok(match ext.as_deref() {
        Some("xlsx") => ReportFormat::Xlsx,
        Some("csv") => ReportFormat::Csv,
        _ => ReportFormat::Table,
    })
}

/// The period of `--period` or `--since`/`--until`.
pub fn period_of(args: &ReportArgs) -> anyhow::Result<Period> {
    if let Some(p) = &args.period {
        return Period::month(p).map_err(|e| anyhow::anyhow!("--period: {e}"));
    }
    Period::days(args.since.as_deref(), args.until.as_deref())
        .map_err(|e| anyhow::anyhow!("--since/--until: {e}"))
}

fn at_of(args: &ReportArgs) -> anyhow::Result<Timestamp> {
    match &args.at {
        Some(day) => {
            let start = otklik_reports::parse_day(day).map_err(|e| anyhow::anyhow!("--at: {e}"))?;
            Ok(Timestamp(start + Timestamp::DAY_MS - 1))
        }
        None => Ok(crate::commands::now()),
    }
}

fn dimensions(by: &[String]) -> anyhow::Result<Vec<Dimension>> {
    if by.is_empty() {
        return Ok(vec![Dimension::Category]);
    }
    let mut out = Vec::new();
    for b in by {
        let d: Dimension = b.parse().map_err(|e| anyhow::anyhow!("--by: {e}"))?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

fn one_by<T: std::str::FromStr<Err = otklik_reports::ReportError>>(
    by: &[String],
    default: T,
) -> anyhow::Result<T> {
    match by {
        [] => Ok(default),
        [one] => one.parse().map_err(|e| anyhow::anyhow!("--by: {e}")),
        _ => bail!("--by takes one value for this report"),
    }
}

/// The working-day calendar of the rules folder (the embedded one when it has none).
fn calendar(cfg: &Config) -> anyhow::Result<otklik_calendar::Calendar> {
    let dir = cfg.rules_dir.join("calendar");
    if dir.is_dir() {
        otklik_calendar::Calendar::load(&dir)
            .map_err(|e| anyhow::anyhow!("calendar {}: {e}", dir.display()))
    } else {
        Ok(otklik_calendar::Calendar::embedded())
    }
}

/// The category tree for names; without readable rules the codes are shown.
fn category_tree(cfg: &Config) -> Option<otklik_domain::CategoryTree> {
    match otklik_rules::RulesDir::load(&cfg.rules_dir) {
        Ok(rules) => Some(rules.tree().clone()),
        Err(e) => {
            tracing::warn!(error = %e, "rules not readable: categories shown by code");
            None
        }
    }
}

/// A spinner counting the messages read (drawn only on a terminal).
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("чтение сообщений…");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// `otklik report`.
pub async fn run(cfg: &Config, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let format = format_of(&args)?;
    let period = period_of(&args)?;
    let at = at_of(&args)?;
    let store = Store::connect(&cfg.database_url())
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    let tree = category_tree(cfg);
    let names = Names::load(&store, tree.as_ref()).await?;
    let bar = progress_bar();
    let mut progress = {
        let bar = bar.clone();
        move |n: u64| bar.set_message(format!("прочитано сообщений: {n}"))
    };
    let zones = ZoneThresholds::default();
    let (heading, tables): (String, Vec<Table>) = match args.name {
        ReportName::Volumes => {
            let dims = dimensions(&args.by)?;
            let r = otklik_reports::volumes::volumes(&store, &dims, period, &mut progress).await?;
            (format!("Объёмы, {}", period.label()), vec![r.table(&names)])
        }
        ReportName::Deadlines => {
            let cal = calendar(cfg)?;
            let r = otklik_reports::deadlines::deadlines(&store, &cal, period, at, &mut progress)
                .await?;
            (
                format!("Соблюдение сроков, {}", period.label()),
                vec![r.table(&names)],
            )
        }
        ReportName::Late => {
            let cal = calendar(cfg)?;
            let r =
                otklik_reports::deadlines::late_answers(&store, &cal, period, at, &mut progress)
                    .await?;
            (
                format!(
                    "Нарушения сроков, {}: {} сообщений",
                    period.label(),
                    r.messages.len()
                ),
                vec![r.table(&names)],
            )
        }
        ReportName::Satisfaction => {
            let by = one_by(
                &args.by,
                otklik_reports::satisfaction::SatisfactionBy::Organisation,
            )?;
            let r = otklik_reports::satisfaction::satisfaction(&store, by, period, &mut progress)
                .await?;
            (
                format!("Удовлетворённость, {}", period.label()),
                vec![r.table(&names)],
            )
        }
        ReportName::Onboarding => {
            let r = otklik_reports::onboarding::onboarding(&store, zones).await?;
            (
                "Статус внедрения по типам организаций".to_owned(),
                vec![r.table(), r.pending_table(&names)],
            )
        }
        ReportName::Gospabliki => {
            let by = one_by(&args.by, otklik_reports::gospabliki::CoverageBy::Kind)?;
            let r = otklik_reports::gospabliki::gospabliki(&store, by, at, args.active_days, zones)
                .await?;
            (
                "Госпаблики: обязательные страницы ВКонтакте и Одноклассники".to_owned(),
                vec![r.table(&names), r.missing_table(&names)],
            )
        }
    };
    bar.finish_and_clear();
    store.close().await;
    let bytes = match format {
        ReportFormat::Table => {
            let mut text = format!("{heading}\n\n");
            for t in &tables {
                text.push_str(&t.to_text());
                text.push('\n');
            }
            text.into_bytes()
        }
        ReportFormat::Csv => tables
            .first()
            .map(Table::to_csv)
            .unwrap_or_default()
            .into_bytes(),
        ReportFormat::Xlsx => otklik_reports::to_xlsx(&tables)?,
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{heading}: written to {}", path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
