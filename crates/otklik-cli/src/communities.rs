//! `otklik communities …`: the registry of official communities (Госпаблики) — import from
//! CSV, list, check (organisations lacking required VK/OK pages, silent pages, per-page
//! statistics), export.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use otklik_domain::{Network, OrganisationId};
use otklik_pipeline::format_time;

use crate::collect::open_store;
use crate::config::Config;

/// Networks where the law requires official pages.
const REQUIRED_NETWORKS: [Network; 2] = [Network::Vk, Network::Ok];

/// `otklik communities …`
#[derive(Debug, clap::Subcommand)]
pub enum CommunitiesCommand {
    /// Register communities from a CSV (columns url, organisation_code, title, verification).
    /// Every row is checked first, and all rows are registered in one transaction: nothing is
    /// registered when one is bad. VK and OK pages are registered as the organisation's
    /// required pages. Already registered ones are skipped.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Every registered community.
    List,
    /// Organisations lacking required VK/OK pages, silent pages, and per-page statistics.
    Check {
        /// A page with no post for this many days is reported inactive; statistics cover the
        /// same period.
        #[arg(long, default_value_t = 30)]
        inactive_days: i64,
    },
    /// Write the registry as CSV (the columns `communities import` reads).
    Export {
        /// The CSV file to write.
        file: PathBuf,
    },
}

/// Run a `communities` subcommand.
pub async fn run(cfg: &Config, command: CommunitiesCommand) -> anyhow::Result<ExitCode> {
    match command {
        CommunitiesCommand::Import { file } => import(cfg, &file).await,
        CommunitiesCommand::List => list(cfg).await,
        CommunitiesCommand::Check { inactive_days } => check(cfg, inactive_days).await,
        CommunitiesCommand::Export { file } => export(cfg, &file).await,
    }
}

async fn org_codes(store: &otklik_store::Store) -> anyhow::Result<HashMap<OrganisationId, String>> {
    Ok(store
        .organisations()
        .await?
        .into_iter()
        .map(|o| (o.id, o.code))
        .collect())
}

async fn import(cfg: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let mut known = otklik_import::KnownCodes::new();
    for o in store.organisations().await? {
        known.add_organisation(o.code);
    }
    let mut importer = otklik_import::Importer::new();
    if let Err(e) = importer
        .add_file(otklik_import::ImportKind::Communities, file)
        .and_then(|_| importer.check_references(&known))
    {
        eprintln!("{e}");
        eprintln!("nothing was imported");
        return Ok(ExitCode::FAILURE);
    }
    let batch = importer.into_batch();
    let list: Vec<_> = batch
        .communities
        .into_iter()
        .map(|c| {
            let required = REQUIRED_NETWORKS.contains(&c.network);
            (c, required)
        })
        .collect();
    // One transaction: all rows or none.
    let (added, skipped) = store
        .register_communities(&list, None, otklik_pipeline::now())
        .await
        .context("import failed; nothing was registered")?;
    println!(
        "communities registered: {}, already registered: {skipped}",
        added.len()
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(cfg: &Config) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let orgs = org_codes(&store).await?;
    let all = store.communities().await?;
    if all.is_empty() {
        println!("no communities (import them with `otklik communities import FILE.csv`)");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>4}  {:8}  {:28}  {:20}  {:12}  title",
        "id", "network", "page", "organisation", "verification"
    );
    for c in all {
        println!(
            "{:>4}  {:8}  {:28}  {:20}  {:12}  {}",
            c.id,
            c.network.code(),
            c.external_id,
            orgs.get(&c.organisation).map_or("?", String::as_str),
            c.verification.code(),
            c.title
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(cfg: &Config, days: i64) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let now = otklik_pipeline::now();
    let orgs = org_codes(&store).await?;
    let missing = store
        .organisations_missing_required_pages(&REQUIRED_NETWORKS)
        .await?;
    println!("organisations lacking required pages: {}", missing.len());
    for (o, nets) in &missing {
        let nets: Vec<&str> = nets.iter().map(|n| n.label_ru()).collect();
        println!(
            "  {} ({}): нет страницы {}",
            o.name,
            o.code,
            nets.join(", ")
        );
    }
    let inactive = store.inactive_communities(days, now).await?;
    println!("pages without posts for {days} days: {}", inactive.len());
    for c in &inactive {
        println!(
            "  {} {} ({}): last post {}",
            c.community.network.code(),
            c.community.external_id,
            orgs.get(&c.community.organisation)
                .map_or("?", String::as_str),
            c.last_post_at
                .map_or_else(|| "never seen".to_owned(), format_time)
        );
    }
    let stats = store.community_stats(now.plus_days(-days), now).await?;
    println!("per-page statistics, last {days} days:");
    println!(
        "  {:8}  {:28}  {:>6}  {:>9}  {:>8}  {:>10}",
        "network", "page", "posts", "per week", "comments", "complaints"
    );
    for s in &stats {
        println!(
            "  {:8}  {:28}  {:>6}  {:>9.1}  {:>8}  {:>10}",
            s.community.network.code(),
            s.community.external_id,
            s.posts,
            s.posts_per_week,
            s.comments,
            s.complaints
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(cfg: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let orgs = org_codes(&store).await?;
    let all = store.communities().await?;
    let mut w =
        csv::Writer::from_path(file).with_context(|| format!("cannot write {}", file.display()))?;
    w.write_record(["url", "organisation_code", "title", "verification"])?;
    for c in &all {
        w.write_record([
            c.url.as_str(),
            orgs.get(&c.organisation).map_or("", String::as_str),
            c.title.as_str(),
            c.verification.code(),
        ])?;
    }
    w.flush()?;
    println!("{} communities written to {}", all.len(), file.display());
    Ok(ExitCode::SUCCESS)
}
