//! `otklik topics`: frequent and emerging problems over the archive (otklik-search's topics).
//!
//! ```text
//! otklik topics [--period 2026-10] [--territory CODE]... [--baseline same|region]
//!               [--order size|significance] [--limit N] [--index DIR] [--no-sync] [--json]
//! otklik topics --spikes [--day 2026-10-15] [--territory CODE]... [--trailing-days 28] [--json]
//! ```
//!
//! Without `--spikes`: the significant terms and phrases of the period (default: this month)
//! against the 90 days before, and the topics (clusters of near-duplicates) with their titles.
//! With `--spikes`: today's (or `--day`'s) topics and terms far above their daily counts over
//! the trailing days. Before analysing, the index (default DATA_DIR/search) is brought up to
//! date with the store, as `otklik search` does (skip with `--no-sync`).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use otklik_domain::Territory;
use otklik_search::sync::{SyncOptions, sync};
use otklik_search::{
    BaselineScope, IndexerOptions, SearchIndex, SpikeKind, SpikeQuery, SpikeReport, TopicOrder,
    TopicsQuery, TopicsReport,
};
use otklik_store::Store;

const DAY_MS: i64 = 86_400_000;

/// Arguments of `otklik topics`.
#[derive(Debug, Clone, Args)]
pub struct TopicsArgs {
    /// The month analysed (YYYY-MM, UTC; default: the current month).
    #[arg(long, value_name = "YYYY-MM", conflicts_with = "spikes")]
    pub period: Option<String>,
    /// Only this territory (repeat for alternatives): the code as the index holds it.
    #[arg(long = "territory", value_name = "CODE")]
    pub territories: Vec<String>,
    /// Emerging problems: today against the trailing days, instead of the period's topics.
    #[arg(long)]
    pub spikes: bool,
    /// With --spikes: the day taken as today (YYYY-MM-DD, UTC; default: today).
    #[arg(long, value_name = "YYYY-MM-DD", requires = "spikes")]
    pub day: Option<String>,
    /// With --spikes: trailing days compared with.
    #[arg(long, default_value_t = 28, requires = "spikes")]
    pub trailing_days: u32,
    /// The baseline of the period: the same territories' history, or the whole region's.
    #[arg(long, value_enum, default_value_t = BaselineArg::Same)]
    pub baseline: BaselineArg,
    /// Order of the topics: largest first, or most over-represented against the baseline.
    #[arg(long, value_enum, default_value_t = OrderArg::Size)]
    pub order: OrderArg,
    /// Topics and terms to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// The index directory (default: DATA_DIR/search).
    #[arg(long, env = "OTKLIK_SEARCH_INDEX", value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// Analyse the index as it is, without syncing it with the store first.
    #[arg(long)]
    pub no_sync: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The store's URL; filled in from the configuration by the caller.
    #[arg(skip)]
    pub database_url: Option<String>,
    /// The data directory; filled in from the configuration by the caller.
    #[arg(skip)]
    pub data_dir: Option<PathBuf>,
}

/// `--baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BaselineArg {
    /// The same territories over the 90 days before the period.
    Same,
    /// The whole region over the 90 days before the period.
    Region,
}

/// `--order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// Largest topics first (the most frequent problems).
    Size,
    /// Most over-represented against the baseline first (what is new).
    Significance,
}

/// Epoch ms of a UTC day `YYYY-MM-DD`.
fn parse_day(text: &str) -> anyhow::Result<i64> {
    let bad = || format!("{text:?} is not a day (YYYY-MM-DD)");
    let mut parts = text.trim().split('-');
    let year: i64 = parts.next().unwrap_or("").parse().with_context(bad)?;
    let month: u32 = parts.next().unwrap_or("").parse().with_context(bad)?;
    let day: i64 = parts.next().unwrap_or("").parse().with_context(bad)?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        bail!(bad());
    }
    Ok(otklik_search::month_start_ms(year, month) + (day - 1) * DAY_MS)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn index_dir(args: &TopicsArgs) -> PathBuf {
    crate::search::archive_index_dir(args.index.as_ref(), args.data_dir.as_ref())
}

fn database_url(args: &TopicsArgs) -> String {
    crate::search::archive_database_url(args.database_url.as_ref(), args.data_dir.as_ref())
}

/// The query of the period's topics.
fn topics_query(
    args: &TopicsArgs,
    territories: &[String],
    now: i64,
) -> anyhow::Result<TopicsQuery> {
    let period = args
        .period
        .clone()
        .unwrap_or_else(|| otklik_search::month_of(now));
    let mut q = TopicsQuery::month(&period)?;
    for t in territories {
        q = q.territory(t.trim());
    }
    q.baseline_scope = match args.baseline {
        BaselineArg::Same => BaselineScope::Same,
        BaselineArg::Region => BaselineScope::Region,
    };
    q.options.order = match args.order {
        OrderArg::Size => TopicOrder::Size,
        OrderArg::Significance => TopicOrder::Significance,
    };
    q.options.max_topics = args.limit;
    q.options.max_terms = args.limit;
    Ok(q)
}

/// The query of the spikes.
fn spike_query(args: &TopicsArgs, territories: &[String], now: i64) -> anyhow::Result<SpikeQuery> {
    let day = match &args.day {
        Some(d) => parse_day(d)?,
        None => now,
    };
    if args.trailing_days == 0 {
        bail!("--trailing-days must be at least 1");
    }
    let mut q = SpikeQuery::new(day);
    q.trailing_days = args.trailing_days;
    for t in territories {
        q = q.territory(t.trim());
    }
    q.options.max_topics = args.limit;
    q.options.max_terms = args.limit;
    Ok(q)
}

/// The index's territory values for `--territory` arguments: a territory of the directory
/// (by code or id) with every territory inside it, as ids (the index holds the store's
/// territory ids); a value the directory does not know is kept as given.
fn resolve_territories(directory: &[Territory], values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let value = value.trim();
        let root = directory
            .iter()
            .find(|t| t.code == value || t.id.get().to_string() == value);
        let Some(root) = root else {
            tracing::warn!(territory = value, "not in the directory; matched as given");
            out.push(value.to_owned());
            continue;
        };
        let mut stack = vec![root.id];
        while let Some(id) = stack.pop() {
            out.push(id.get().to_string());
            stack.extend(
                directory
                    .iter()
                    .filter(|t| t.parent == Some(id))
                    .map(|t| t.id),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

fn day_of(ms: i64) -> String {
    // The month, then the day of month from the month's start.
    let month = otklik_search::month_of(ms);
    let start = month
        .split_once('-')
        .and_then(|(y, m)| {
            Some(otklik_search::month_start_ms(
                y.parse().ok()?,
                m.parse().ok()?,
            ))
        })
        .unwrap_or(ms);
    format!("{month}-{:02}", (ms - start).div_euclid(DAY_MS) + 1)
}

fn print_topics(r: &TopicsReport, q: &TopicsQuery, territories: &[String]) {
    let territory = territories.join(", ");
    let scope = if territory.is_empty() {
        "the whole region".to_owned()
    } else {
        territory
    };
    println!(
        "{} – {}, {scope}: {} documents ({} analysed) against {} of the baseline ({} sampled), {:.1} ms",
        day_of(q.since),
        day_of(q.until - 1),
        r.foreground_total,
        r.foreground_docs,
        r.background_total,
        r.background_docs,
        r.took_us as f64 / 1000.0
    );
    println!("\nSignificant terms (G²; share of documents here vs baseline):");
    if r.terms.is_empty() {
        println!("  —");
    }
    for t in &r.terms {
        println!(
            "  {:<32} {:>8.1}  {:>5} docs  {:>5.1} % vs {:.1} %",
            t.display,
            t.score,
            t.foreground_docs,
            t.foreground_rate * 100.0,
            t.background_rate * 100.0
        );
    }
    println!("\nTopics:");
    if r.topics.is_empty() {
        println!("  —");
    }
    for (k, t) in r.topics.iter().enumerate() {
        let place = t.territory.as_deref().unwrap_or("—");
        let kind = t
            .subcategory
            .as_deref()
            .or(t.category.as_deref())
            .unwrap_or("—");
        println!(
            "\n{:>3}. {} ({} documents; {place} {:.0} %; {kind}; G² {:.1})",
            k + 1,
            t.title,
            t.size,
            t.territory_share * 100.0,
            t.score
        );
        if !t.terms.is_empty() {
            println!("     terms: {}", t.terms.join(", "));
        }
        println!(
            "     {} … {}, e.g. {} {}",
            day_of(t.first_seen),
            day_of(t.last_seen),
            t.representative.kind,
            t.representative.id
        );
    }
}

fn print_spikes(r: &SpikeReport) {
    println!(
        "{}: {} documents today, {} in the trailing days ({:.1} ms)",
        r.day,
        r.today_docs,
        r.trailing_docs,
        r.took_us as f64 / 1000.0
    );
    if r.spikes.is_empty() {
        println!("no spikes");
        return;
    }
    for s in &r.spikes {
        let kind = match s.kind {
            SpikeKind::Topic => "topic",
            SpikeKind::Term => "term",
        };
        let place = s
            .topic
            .as_ref()
            .and_then(|t| t.territory.as_deref())
            .map(|t| format!(" [{t}]"))
            .unwrap_or_default();
        println!(
            "\n{kind:<5} {}{place}\n      today {} vs {:.1} ± {:.1} a day: ×{:.1}, z {:.1}",
            s.label, s.today, s.mean, s.sd, s.ratio, s.z
        );
    }
}

/// Runs `otklik topics`.
pub async fn run(args: TopicsArgs) -> anyhow::Result<()> {
    let now = now_ms();
    let dir = index_dir(&args);
    // Validate the arguments before touching the store.
    topics_query(&args, &[], now)?;
    spike_query(&args, &[], now)?;
    let index = SearchIndex::open(&dir)
        .with_context(|| format!("opening the search index in {}", dir.display()))?;
    let mut territories = args.territories.clone();
    let needs_store = !args.no_sync || !territories.is_empty();
    let store = if needs_store {
        match Store::connect(&database_url(&args)).await {
            Ok(store) => {
                store.migrate().await.context("migrating the database")?;
                Some(store)
            }
            Err(e) if args.no_sync => {
                tracing::warn!(error = %e, "no database: territories are matched as given");
                None
            }
            Err(e) => return Err(e).context("connecting to the database"),
        }
    } else {
        None
    };
    if let Some(store) = &store {
        if !territories.is_empty() {
            let directory = store.territories().await.context("reading territories")?;
            territories = resolve_territories(&directory, &territories);
        }
        if !args.no_sync {
            let mut indexer = index
                .indexer(IndexerOptions::default())
                .context("the search index is being written by another process; try --no-sync")?;
            let report = sync(store, &mut indexer, SyncOptions::default()).await?;
            tracing::debug!(?report, "search index synced");
            indexer.finish()?;
        }
    }
    if let Some(store) = store {
        store.close().await;
    }
    if args.spikes {
        let report = index.spikes(&spike_query(&args, &territories, now)?)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_spikes(&report);
        }
    } else {
        let q = topics_query(&args, &territories, now)?;
        let report = index.topics(&q)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_topics(&report, &q, &args.territories);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: TopicsArgs,
    }

    const OCT_15: i64 = 1_792_022_400_000;

    #[test]
    fn arguments_make_the_queries() {
        let cli = Cli::try_parse_from([
            "topics",
            "--period",
            "2026-10",
            "--territory",
            "seversk-rechnoy",
            "--order",
            "significance",
            "--limit",
            "5",
        ])
        .expect("parses");
        let q = topics_query(&cli.args, &cli.args.territories, 0).expect("query");
        assert_eq!(otklik_search::month_of(q.since), "2026-10");
        assert_eq!(otklik_search::month_of(q.until), "2026-11");
        assert_eq!(q.options.order, TopicOrder::Significance);
        assert_eq!(q.options.max_topics, 5);
        assert_eq!(
            q.filters.values().flatten().collect::<Vec<_>>(),
            vec!["seversk-rechnoy"]
        );

        let cli = Cli::try_parse_from(["topics", "--spikes", "--day", "2026-10-15"]).expect("ok");
        let q = spike_query(&cli.args, &[], 0).expect("query");
        assert_eq!(q.day_start, OCT_15);
        assert_eq!(q.trailing_days, 28);

        // Default: the current month / today.
        let cli = Cli::try_parse_from(["topics"]).expect("ok");
        let q = topics_query(&cli.args, &[], OCT_15 + 5).expect("query");
        assert_eq!(otklik_search::month_of(q.since), "2026-10");
        assert!(Cli::try_parse_from(["topics", "--spikes", "--period", "2026-10"]).is_err());
        assert!(Cli::try_parse_from(["topics", "--day", "2026-10-15"]).is_err());
        let cli = Cli::try_parse_from(["topics", "--period", "2026-13"]).expect("parses");
        assert!(topics_query(&cli.args, &[], 0).is_err());
        assert_eq!(day_of(OCT_15 + 3_600_000), "2026-10-15");
    }

    #[test]
    fn a_territory_stands_for_itself_and_everything_inside() {
        use otklik_domain::{TerritoryId, TerritoryKind};
        let t = |id: i64, code: &str, parent: Option<i64>| Territory {
            id: TerritoryId(id),
            code: code.into(),
            kind: TerritoryKind::Settlement,
            name: code.into(),
            parent: parent.map(TerritoryId),
            name_variants: vec![],
        };
        let directory = vec![
            t(1, "region", None),
            t(2, "seversk", Some(1)),
            t(3, "seversk-tsentralny", Some(2)),
            t(4, "seversk-rechnoy", Some(2)),
            t(5, "zarechny", Some(1)),
        ];
        let ids = |values: &[&str]| {
            let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
            resolve_territories(&directory, &values)
        };
        assert_eq!(ids(&["seversk"]), vec!["2", "3", "4"]);
        assert_eq!(ids(&["4"]), vec!["4"]);
        assert_eq!(ids(&["zarechny", "seversk-rechnoy"]), vec!["4", "5"]);
        assert_eq!(ids(&["unknown-code"]), vec!["unknown-code"]);
    }
}
