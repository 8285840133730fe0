//! `otklik search`: the archive search over messages and collected posts (otklik-search).
//!
//! ```text
//! otklik search "яма на дороге" [--facet category] [--filter territory=12] [--limit N]
//!               [--since 2026-10-01] [--until 2026-11] [--sort newest] [--index DIR] [--json]
//! otklik search --rebuild [--index DIR]
//! ```
//!
//! Before searching, the index is brought up to date with the store from its watermark (skip
//! with `--no-sync`); `--rebuild` recreates it from the whole store (the index is a cache).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use otklik_reports::Names;
use otklik_search::sync::{SyncOptions, rebuild, sync};
use otklik_search::{Facet, IndexerOptions, SearchIndex, SearchQuery, SearchResults, Sort};
use otklik_store::Store;

/// Arguments of `otklik search`.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// The query: words (all required, any form: «ямы» finds «яма»), "quoted phrases",
    /// -exclusions. Empty with filters to browse.
    #[arg(required_unless_present = "rebuild")]
    pub query: Option<String>,
    /// Count the values of a facet over all matches (repeat, or comma-separate; `all`):
    /// kind, category, subcategory, territory, organisation, network, status, period.
    #[arg(long = "facet", value_name = "FACET", value_delimiter = ',')]
    pub facets: Vec<String>,
    /// Keep matches with FACET=VALUE (repeat; values of one facet are alternatives).
    #[arg(long = "filter", value_name = "FACET=VALUE")]
    pub filters: Vec<String>,
    /// Published on or after this day or month (YYYY-MM-DD or YYYY-MM, UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Published before this day or month (YYYY-MM-DD or YYYY-MM, UTC).
    #[arg(long)]
    pub until: Option<String>,
    /// Order of the hits.
    #[arg(long, value_enum, default_value_t = SortArg::Relevance)]
    pub sort: SortArg,
    /// Hits to show (0: counts only).
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Hits to skip (paging).
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// The index directory (default: DATA_DIR/search).
    #[arg(long, env = "OTKLIK_SEARCH_INDEX", value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Recreate the index from the whole store, then exit.
    #[arg(long, conflicts_with = "query")]
    pub rebuild: bool,
    /// Search the index as it is, without syncing it with the store first.
    #[arg(long)]
    pub no_sync: bool,
    /// The store's URL; filled in from the configuration by the caller.
    #[arg(skip)]
    pub database_url: Option<String>,
    /// The data directory; filled in from the configuration by the caller.
    #[arg(skip)]
    pub data_dir: Option<PathBuf>,
    /// The rules directory, for the names of categories (default: `OTKLIK_RULES_DIR`, else
    /// `rules`).
    #[arg(skip)]
    pub rules_dir: Option<PathBuf>,
}

/// `--sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    /// Best match first.
    Relevance,
    /// Newest first.
    Newest,
    /// Oldest first.
    Oldest,
}

impl From<SortArg> for Sort {
    fn from(s: SortArg) -> Sort {
        match s {
            SortArg::Relevance => Sort::Relevance,
            SortArg::Newest => Sort::Newest,
            SortArg::Oldest => Sort::Oldest,
        }
    }
}

/// Epoch ms of `YYYY-MM-DD` or `YYYY-MM` (UTC midnight).
fn parse_day(text: &str) -> anyhow::Result<i64> {
    let bad = || format!("{text:?} is not a date (YYYY-MM-DD or YYYY-MM)");
    let mut parts = text.trim().split('-');
    let year: i64 = parts.next().unwrap_or("").parse().with_context(bad)?;
    let month: u32 = parts.next().unwrap_or("").parse().with_context(bad)?;
    let day: i64 = match parts.next() {
        Some(d) => d.parse().with_context(bad)?,
        None => 1,
    };
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        bail!(bad());
    }
    Ok(otklik_search::month_start_ms(year, month) + (day - 1) * 86_400_000)
}

fn build_query(args: &SearchArgs) -> anyhow::Result<SearchQuery> {
    let mut q = SearchQuery::new(args.query.clone().unwrap_or_default())
        .sort(args.sort.into())
        .limit(args.limit)
        .offset(args.offset);
    for name in &args.facets {
        if name.trim() == "all" {
            for f in Facet::ALL {
                q = q.facet(f);
            }
        } else {
            q = q.facet(name.parse::<Facet>()?);
        }
    }
    for filter in &args.filters {
        let Some((facet, value)) = filter.split_once('=') else {
            bail!("--filter {filter:?}: expected FACET=VALUE");
        };
        q = q.filter(facet.parse::<Facet>()?, value.trim());
    }
    q.since = args.since.as_deref().map(parse_day).transpose()?;
    q.until = args.until.as_deref().map(parse_day).transpose()?;
    Ok(q)
}

fn index_dir(args: &SearchArgs) -> PathBuf {
    archive_index_dir(args.index.as_ref(), args.data_dir.as_ref())
}

fn database_url(args: &SearchArgs) -> String {
    archive_database_url(args.database_url.as_ref(), args.data_dir.as_ref())
}

/// The archive index directory: `--index`, else `DATA_DIR/search` (shared with `otklik topics`).
pub(crate) fn archive_index_dir(index: Option<&PathBuf>, data_dir: Option<&PathBuf>) -> PathBuf {
    index.cloned().unwrap_or_else(|| {
        data_dir
            .cloned()
            .unwrap_or_else(|| PathBuf::from("data"))
            .join("search")
    })
}

/// The database the archive is synced from: the configured URL, else `DATA_DIR/otklik.db`.
pub(crate) fn archive_database_url(url: Option<&String>, data_dir: Option<&PathBuf>) -> String {
    url.cloned().unwrap_or_else(|| {
        let dir = data_dir.cloned().unwrap_or_else(|| PathBuf::from("data"));
        otklik_store::sqlite_url(&dir.join(otklik_store::DATA_DIR_DB_FILE))
    })
}

async fn open_store(args: &SearchArgs) -> anyhow::Result<Store> {
    let store = Store::connect(&database_url(args))
        .await
        .context("connecting to the database")?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// Names for facet values and hits: organisations and territories from the store, categories
/// from the rules (their codes when the rules cannot be read).
async fn load_names(store: &Store, args: &SearchArgs) -> Names {
    let dir = args
        .rules_dir
        .clone()
        .or_else(|| std::env::var_os("OTKLIK_RULES_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("rules"));
    let tree = match otklik_rules::RulesDir::load(&dir) {
        Ok(rules) => Some(rules.tree().clone()),
        Err(e) => {
            tracing::debug!(error = %e, "rules not readable: categories shown by code");
            None
        }
    };
    match Names::load(store, tree.as_ref()).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "names not readable: ids shown");
            Names::new(&[], &[], tree.as_ref())
        }
    }
}

/// A facet value as people read it, with the raw value when the name differs (so it can be
/// passed to `--filter`): `Дороги (roads)`.
fn facet_text(names: &Names, facet: Facet, value: &str) -> String {
    let name = names.facet_value(facet, value);
    if name == value || facet == Facet::Period {
        name
    } else {
        format!("{name} ({value})")
    }
}

fn print_text(r: &SearchResults, names: &Names) {
    println!("{} found ({:.1} ms)", r.total, r.took_us as f64 / 1000.0);
    for hit in &r.hits {
        let d = &hit.doc;
        let day = otklik_search::month_of(d.published_at);
        let fields: Vec<String> = [
            (Facet::Network, &d.network),
            (Facet::Subcategory, &d.subcategory),
            (Facet::Territory, &d.territory),
            (Facet::Organisation, &d.organisation),
            (Facet::Status, &d.status),
        ]
        .into_iter()
        .filter_map(|(f, v)| v.as_deref().map(|v| names.facet_value(f, v)))
        .collect();
        println!(
            "\n[{} {}] {day} {}",
            hit.key.kind,
            hit.key.id,
            fields.join(" ")
        );
        let text = match &hit.snippet {
            Some(s) => {
                let mut out = String::new();
                let mut at = 0;
                for range in &s.highlighted {
                    out.push_str(s.fragment.get(at..range.start).unwrap_or(""));
                    out.push('«');
                    out.push_str(s.fragment.get(range.clone()).unwrap_or(""));
                    out.push('»');
                    at = range.end;
                }
                out.push_str(s.fragment.get(at..).unwrap_or(""));
                out
            }
            None => d.text.chars().take(200).collect(),
        };
        println!("  {}", text.replace('\n', " "));
        if let Some(url) = &d.url {
            println!("  {url}");
        }
    }
    for facet in &r.facets {
        let values: Vec<String> = facet
            .values
            .iter()
            .map(|v| format!("{} {}", facet_text(names, facet.facet, &v.value), v.count))
            .collect();
        let other = if facet.other > 0 {
            format!(", other {}", facet.other)
        } else {
            String::new()
        };
        let values = if values.is_empty() {
            "—".to_owned()
        } else {
            values.join(", ")
        };
        println!("\n{}: {values}{other}", facet.facet);
    }
}

/// Runs `otklik search`.
pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let dir = index_dir(&args);
    if args.rebuild {
        let store = open_store(&args).await?;
        let started = std::time::Instant::now();
        let (index, report) = rebuild(
            &store,
            &dir,
            IndexerOptions::default(),
            SyncOptions::default(),
        )
        .await
        .with_context(|| format!("rebuilding the search index in {}", dir.display()))?;
        println!(
            "search index rebuilt in {}: {} posts, {} messages, {} documents ({:.1} s)",
            dir.display(),
            report.posts,
            report.messages,
            index.num_docs(),
            started.elapsed().as_secs_f64()
        );
        store.close().await;
        return Ok(());
    }
    let query = build_query(&args)?;
    let index = SearchIndex::open(&dir)
        .with_context(|| format!("opening the search index in {}", dir.display()))?;
    let store = open_store(&args).await?;
    if !args.no_sync {
        match index.indexer(IndexerOptions::default()) {
            Ok(mut indexer) => {
                let report = sync(&store, &mut indexer, SyncOptions::default()).await?;
                tracing::debug!(?report, "search index synced");
                indexer.finish()?;
            }
            // `otklik serve` holds the writer and keeps the index in step itself.
            Err(otklik_search::SearchError::Index(e)) => {
                tracing::info!(error = %e, "the index is written by another process (otklik serve?): searching it as it is");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let results = index.search(&query)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        let names = load_names(&store, &args).await;
        print_text(&results, &names);
    }
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_months_parse_to_utc_midnight() {
        assert_eq!(parse_day("2024-03-01").ok(), Some(1_709_251_200_000));
        assert_eq!(parse_day("2024-03").ok(), Some(1_709_251_200_000));
        assert_eq!(
            parse_day("2024-03-02").ok(),
            Some(1_709_251_200_000 + 86_400_000)
        );
        assert!(parse_day("2024-13-01").is_err());
        assert!(parse_day("вчера").is_err());
    }
}
