//! `otklik searches`: saved archive searches with e-mail alerts on spikes.
//!
//! ```text
//! otklik searches add NAME "запрос" --email ADDR [--filter F=V]... [--owner LOGIN]
//!                     [--min-count 5] [--min-ratio 3]
//! otklik searches list
//! otklik searches remove NAME|ID
//! otklik searches check [--day YYYY-MM-DD] [--trailing-days 28] [--index DIR] [--no-sync]
//!                       [--search-url URL]
//! ```
//!
//! `check` brings the archive index up to date with the store (as `otklik search` does),
//! counts each saved search's matches today against the trailing days, and queues one alert
//! e-mail per spiking search per day in the outbox (`otklik mail send` or the server delivers
//! it). Territory filters take directory codes: a territory stands for itself and everything
//! inside it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use otklik_domain::{Territory, Timestamp};
use otklik_reports::alerts::{AlertOptions, check_saved_searches};
use otklik_search::sync::{SyncOptions, sync};
use otklik_search::{Facet, IndexerOptions, SearchIndex};
use otklik_store::{NewSavedSearch, SavedSearch, SavedSearchId, Store};

use crate::config::Config;

/// `otklik searches …`
#[derive(Debug, Subcommand)]
pub enum SearchesCommand {
    /// Save a search with an e-mail alert on spikes.
    Add(AddArgs),
    /// List the saved searches.
    List,
    /// Remove a saved search (by name or id).
    Remove {
        /// Name or id.
        search: String,
    },
    /// Check every saved search for a spike today; queue the alert e-mails.
    Check(CheckArgs),
}

/// `otklik searches add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Unique name.
    pub name: String,
    /// The query, as `otklik search` takes it (empty: everything of the filters).
    #[arg(default_value = "")]
    pub query: String,
    /// Where alerts go.
    #[arg(long)]
    pub email: String,
    /// Facet filter FACET=VALUE (category, subcategory, territory, organisation, network,
    /// status, kind); repeat for more.
    #[arg(long = "filter", value_name = "FACET=VALUE")]
    pub filters: Vec<String>,
    /// The owner's login.
    #[arg(long)]
    pub owner: Option<String>,
    /// Least matches today for an alert.
    #[arg(long, default_value_t = 5)]
    pub min_count: i64,
    /// Least ratio (today + 1) / (mean per day + 1).
    #[arg(long, default_value_t = 3.0)]
    pub min_ratio: f64,
}

/// `otklik searches check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The day taken as today (YYYY-MM-DD, UTC; default: now).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub day: Option<String>,
    /// Trailing days compared with.
    #[arg(long, default_value_t = 28)]
    pub trailing_days: u32,
    /// The archive index directory (default: DATA_DIR/search).
    #[arg(long, env = "OTKLIK_SEARCH_INDEX", value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// Check the index as it is, without syncing it with the store first.
    #[arg(long)]
    pub no_sync: bool,
    /// The back-office search page linked from the e-mail.
    #[arg(long, value_name = "URL")]
    pub search_url: Option<String>,
}

async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&cfg.database_url())
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// `--filter` values as the index holds them: territory codes become the ids of the
/// territory and everything inside it.
fn parse_filters(
    raw: &[String],
    territories: &[Territory],
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in raw {
        let Some((facet, value)) = f.split_once('=') else {
            bail!("--filter {f:?}: expected FACET=VALUE");
        };
        let facet = Facet::from_name(facet).with_context(|| {
            format!(
                "--filter {f:?}: unknown facet; one of {}",
                Facet::ALL.map(Facet::name).join(", ")
            )
        })?;
        let value = value.trim();
        if value.is_empty() {
            bail!("--filter {f:?}: empty value");
        }
        let values = out.entry(facet.name().to_owned()).or_default();
        match (facet, territories.iter().find(|t| t.code == value)) {
            (Facet::Territory, Some(root)) => {
                let mut stack = vec![root.id];
                while let Some(id) = stack.pop() {
                    values.push(id.get().to_string());
                    stack.extend(
                        territories
                            .iter()
                            .filter(|t| t.parent == Some(id))
                            .map(|t| t.id),
                    );
                }
            }
            _ => values.push(value.to_owned()),
        }
        values.sort();
        values.dedup();
    }
    Ok(out)
}

async fn find(store: &Store, key: &str) -> anyhow::Result<SavedSearch> {
    if let Some(s) = store.saved_search_by_name(key).await? {
        return Ok(s);
    }
    if let Ok(id) = key.trim().parse::<i64>()
        && let Some(s) = store.saved_search(SavedSearchId(id)).await?
    {
        return Ok(s);
    }
    bail!("no saved search named «{key}» (see `otklik searches list`)")
}

fn describe(s: &SavedSearch) -> String {
    let filters: Vec<String> = s
        .filters
        .iter()
        .map(|(k, v)| format!("{k}={}", v.join("|")))
        .collect();
    format!(
        "{:>4}  {}  «{}»{}  → {}  (≥ {} today, ×{:.1}){}",
        s.id,
        s.name,
        s.query,
        if filters.is_empty() {
            String::new()
        } else {
            format!(" [{}]", filters.join(", "))
        },
        s.email,
        s.min_count,
        s.min_ratio_pct as f64 / 100.0,
        s.last_alert_at
            .map(|t| format!(", last alert {}", otklik_reports::day_label(t.millis())))
            .unwrap_or_default()
    )
}

/// `otklik searches …`.
pub async fn run(cfg: &Config, command: SearchesCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let code = match command {
        SearchesCommand::Add(args) => add(&store, args).await?,
        SearchesCommand::List => {
            let all = store.saved_searches().await?;
            if all.is_empty() {
                println!("no saved searches");
            }
            for s in &all {
                println!("{}", describe(s));
            }
            ExitCode::SUCCESS
        }
        SearchesCommand::Remove { search } => {
            let s = find(&store, &search).await?;
            store.delete_saved_search(s.id).await?;
            println!("removed {}", s.name);
            ExitCode::SUCCESS
        }
        SearchesCommand::Check(args) => check(cfg, &store, args).await?,
    };
    store.close().await;
    Ok(code)
}

async fn add(store: &Store, args: AddArgs) -> anyhow::Result<ExitCode> {
    if !args.min_ratio.is_finite() || args.min_ratio < 1.0 {
        bail!("--min-ratio must be at least 1");
    }
    let territories = store.territories().await?;
    let filters = parse_filters(&args.filters, &territories)?;
    let owner = match &args.owner {
        Some(login) => Some(
            store
                .user_by_login(login)
                .await?
                .with_context(|| format!("no user with login «{login}»"))?
                .id,
        ),
        None => None,
    };
    let new = NewSavedSearch {
        name: args.name,
        query: args.query,
        filters,
        owner,
        email: args.email,
        min_count: args.min_count,
        min_ratio_pct: (args.min_ratio * 100.0).round() as i64,
    };
    let saved = store
        .create_saved_search(&new, crate::commands::now())
        .await?;
    println!("saved: {}", describe(&saved));
    Ok(ExitCode::SUCCESS)
}

async fn check(cfg: &Config, store: &Store, args: CheckArgs) -> anyhow::Result<ExitCode> {
    if args.trailing_days == 0 {
        bail!("--trailing-days must be at least 1");
    }
    let now = match &args.day {
        Some(d) => {
            Timestamp(otklik_reports::parse_day(d).map_err(|e| anyhow::anyhow!("--day: {e}"))?)
        }
        None => crate::commands::now(),
    };
    let data_dir = cfg.data_dir.clone();
    let dir = crate::search::archive_index_dir(args.index.as_ref(), Some(&data_dir));
    let index = SearchIndex::open(&dir)
        .with_context(|| format!("opening the search index in {}", dir.display()))?;
    if !args.no_sync {
        match index.indexer(IndexerOptions::default()) {
            Ok(mut indexer) => {
                let report = sync(store, &mut indexer, SyncOptions::default()).await?;
                tracing::debug!(?report, "search index synced");
                indexer.finish()?;
            }
            // `otklik serve` holds the writer and keeps the index in step itself (within ~1 s),
            // so a cron job checking saved searches beside the server reads it as it is.
            Err(otklik_search::SearchError::Index(e)) => {
                tracing::info!(error = %e, "the index is written by another process (otklik serve?): checking it as it is");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let options = AlertOptions {
        trailing_days: args.trailing_days,
        search_url: args.search_url,
        ..AlertOptions::default()
    };
    let outcomes = check_saved_searches(store, &index, now, &options).await?;
    let mut queued = 0;
    for o in &outcomes {
        let state = match (o.spiking, o.queued) {
            (true, Some(id)) => {
                queued += 1;
                format!("SPIKE — alert e-mail {id} queued to {}", o.search.email)
            }
            (true, None) => "spike — alerted already today".to_owned(),
            (false, _) => "no spike".to_owned(),
        };
        println!(
            "{}: {} today, {:.1} per day before (×{:.1}, z {:.1}) — {state}",
            o.search.name, o.stats.today, o.stats.mean, o.stats.ratio, o.stats.z
        );
    }
    println!(
        "{} saved searches checked, {queued} alert e-mails queued",
        outcomes.len()
    );
    Ok(ExitCode::SUCCESS)
}
