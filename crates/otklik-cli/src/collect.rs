//! `otklik collect`: poll the collector sources (once, or on their schedules), store what they
//! bring, classify the new posts and turn complaints into routed messages.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use otklik_classify::monitor::PostAnalyzer;
use otklik_classify::territory::{RegionDictionary, TerritoryDetector};
use otklik_collect::http::HttpClient;
use otklik_collect::schedule::Schedule;
use otklik_pipeline::config::process_env;
use otklik_pipeline::{
    Analyst, AnalystReport, AnalystSettings, CollectConfig, Collector, CollectorSettings,
    ScheduledSource, Scheduler, SchedulerSettings, format_time,
};
use otklik_store::Store;

use crate::config::Config;

/// `otklik collect …`
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Poll every enabled source once, analyse the new posts and exit. Without it the sources
    /// run on their cron schedules until Ctrl+C.
    #[arg(long)]
    pub once: bool,
    /// Only this source (by name).
    #[arg(long)]
    pub source: Option<String>,
    /// In scheduler mode, also serve the pipeline's Prometheus metrics at
    /// `http://ADDR/metrics` (e.g. `127.0.0.1:9187`; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", conflicts_with = "once")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Shared pipeline settings.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// Settings shared by the commands that run collectors.
#[derive(Debug, Clone, clap::Args)]
pub struct PipelineArgs {
    /// Collector settings per source (default: `collect.toml` in the data directory, if any).
    #[arg(long, env = "OTKLIK_COLLECT_CONFIG", value_name = "FILE")]
    pub collect_config: Option<PathBuf>,
    /// Extra region-specific routing file(s).
    #[arg(long, value_name = "FILE")]
    pub routing: Vec<PathBuf>,
    /// Region dictionary directory (default: `dictionaries/<region code>` when present).
    #[arg(long, value_name = "DIR")]
    pub dictionary: Option<PathBuf>,
    /// Classifier confidence (0..1) below which a complaint's message stays in moderation.
    #[arg(long, default_value_t = 0.5)]
    pub min_confidence: f32,
    /// Code of a regional oversight organisation (the ЦУР) whose moderators and curators act
    /// on every message; repeatable. The routing rules' fallback executor is one anyway.
    #[arg(long, value_name = "CODE")]
    pub oversight: Vec<String>,
}

/// Opens (and migrates) the configured database.
pub(crate) async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&cfg.database_url())
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// The collector configuration: the given file (which must exist), else
/// `DATA_DIR/collect.toml` when present, else empty.
pub(crate) fn load_collect_config(
    cfg: &Config,
    path: Option<&Path>,
) -> anyhow::Result<(CollectConfig, Option<PathBuf>)> {
    let path = match path {
        Some(p) => Some(p.to_path_buf()),
        None => Some(cfg.data_dir.join("collect.toml")).filter(|p| p.exists()),
    };
    match path {
        Some(p) => {
            let c = CollectConfig::load(&p, &process_env).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok((c, Some(p)))
        }
        None => Ok((CollectConfig::default(), None)),
    }
}

/// The rules directory with the configured and the extra region routing.
fn load_rules(cfg: &Config, extra: &[PathBuf]) -> anyhow::Result<otklik_rules::RulesDir> {
    let mut rules =
        otklik_rules::RulesDir::load(&cfg.rules_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    for path in cfg.region_routing.iter().chain(extra) {
        rules
            .add_routing_file(path)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(rules)
}

/// Builds the analyst: keyword rules, territories of the store with the region dictionary,
/// the learned model of the data directory when there is one, and the router.
pub(crate) async fn build_analyst(
    cfg: &Config,
    store: &Store,
    args: &PipelineArgs,
) -> anyhow::Result<Analyst> {
    build_analyst_with(cfg, store, args, None).await
}

/// [`build_analyst`] handing complaints to `workflow` (the server's own, with its
/// notifications) instead of a new one.
pub(crate) async fn build_analyst_with(
    cfg: &Config,
    store: &Store,
    args: &PipelineArgs,
    workflow: Option<otklik_workflow::Workflow>,
) -> anyhow::Result<Analyst> {
    let rules = load_rules(cfg, &args.routing)?;
    let mut analyzer = PostAnalyzer::from_rules(&rules).map_err(|e| anyhow::anyhow!("{e}"))?;
    let entries = otklik_pipeline::territory_entries(store).await?;
    if !entries.is_empty() {
        let region = entries
            .iter()
            .find(|t| t.parent.is_none())
            .map(|t| t.code.clone());
        let dict_dir = args.dictionary.clone().or_else(|| {
            let code = region?;
            let candidates = [
                PathBuf::from("dictionaries").join(&code),
                cfg.rules_dir.join("..").join("dictionaries").join(&code),
            ];
            candidates.into_iter().find(|p| p.is_dir())
        });
        let dictionary = match &dict_dir {
            Some(d) => RegionDictionary::load(d)
                .map_err(|e| anyhow::anyhow!("region dictionary {}: {e}", d.display()))?,
            None => RegionDictionary::default(),
        };
        tracing::debug!(dictionary = ?dict_dir, territories = entries.len(), "territory detector");
        let detector =
            TerritoryDetector::new(entries, &dictionary).map_err(|e| anyhow::anyhow!("{e}"))?;
        analyzer = analyzer.with_territories(detector);
    }
    let model_dir = cfg.data_dir.join("classifier");
    if model_dir.is_dir() {
        match otklik_classify::Classifier::load(&model_dir) {
            Ok(model) => analyzer = analyzer.with_model(model),
            Err(e) => {
                tracing::warn!(dir = %model_dir.display(), error = %e, "learned model not loaded; rules only")
            }
        }
    }
    let router = build_router(store, &rules).await?;
    let territories = router.directory().territories().to_vec();
    let workflow = match workflow {
        Some(w) => w,
        None => build_workflow(store, &rules, router, args)?,
    };
    Ok(Analyst::new(
        workflow,
        analyzer,
        rules.tree().clone(),
        &territories,
        AnalystSettings::default(),
    ))
}

/// The router over the store's current directory.
pub(crate) async fn build_router(
    store: &Store,
    rules: &otklik_rules::RulesDir,
) -> anyhow::Result<otklik_route::Router> {
    let directory =
        otklik_route::Directory::new(store.territories().await?, store.organisations().await?);
    otklik_route::Router::new(rules.routing(), rules.tree(), directory)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The messages workflow every channel goes through: `router`, the rules' tree, reject
/// reasons and calendar, the confidence threshold and oversight organisations of `args`.
pub(crate) fn build_workflow(
    store: &Store,
    rules: &otklik_rules::RulesDir,
    router: otklik_route::Router,
    args: &PipelineArgs,
) -> anyhow::Result<otklik_workflow::Workflow> {
    let config = otklik_pipeline::workflow_config(
        rules,
        router.directory().organisations(),
        args.min_confidence,
        &args.oversight,
    );
    otklik_pipeline::build_workflow(store.clone(), rules, router, config)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// `otklik collect`.
pub async fn run(cfg: &Config, args: CollectArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let (collect_cfg, path) = load_collect_config(cfg, args.pipeline.collect_config.as_deref())?;
    if let Some(p) = &path {
        tracing::info!(file = %p.display(), "collector settings loaded");
    }
    let analyst = build_analyst(cfg, &store, &args.pipeline).await?;
    let http = HttpClient::new(collect_cfg.http.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut health = store.source_health().await?;
    if let Some(name) = &args.source {
        health.retain(|h| &h.source.name == name);
        if health.is_empty() {
            anyhow::bail!("no source named «{name}» (see `otklik sources list`)");
        }
    } else {
        health.retain(|h| h.source.enabled);
    }
    if args.once {
        once(&store, &collect_cfg, &http, &analyst, health).await
    } else {
        scheduled(
            store,
            &collect_cfg,
            &http,
            analyst,
            health,
            args.metrics_listen,
        )
        .await
    }
}

async fn once(
    store: &Store,
    collect_cfg: &CollectConfig,
    http: &HttpClient,
    analyst: &Analyst,
    health: Vec<otklik_store::SourceHealth>,
) -> anyhow::Result<ExitCode> {
    let collector = Collector::new(store.clone(), CollectorSettings::default());
    let bar = indicatif::ProgressBar::new(health.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut rows = Vec::new();
    let mut failed = 0usize;
    for h in &health {
        bar.set_message(h.source.name.clone());
        let schedule = Schedule::parse(&h.source.schedule).ok();
        let built = collect_cfg
            .config_for(&h.source, &process_env)
            .and_then(|c| Ok(c.build(http)?));
        let row = match built {
            Err(e) => {
                failed += 1;
                let msg = e.to_string();
                store
                    .record_source_error(h.source.id, &msg, otklik_pipeline::now())
                    .await?;
                (h.source.name.clone(), 0, 0, 0, format!("error: {msg}"))
            }
            Ok(source) => {
                let r = collector
                    .run_source(
                        h,
                        source.as_ref(),
                        schedule.as_ref(),
                        otklik_pipeline::now(),
                    )
                    .await?;
                let status = if let Some(e) = &r.error {
                    failed += 1;
                    format!("error: {e}")
                } else if let Some(s) = &r.skipped {
                    format!("skipped: {s}")
                } else {
                    "ok".to_owned()
                };
                (r.source, r.items, r.inserted, r.updated, status)
            }
        };
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let width = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:width$}  {:>5}  {:>5}  {:>7}  status",
        "source", "items", "new", "updated"
    );
    for (name, items, new, updated, status) in &rows {
        println!("{name:width$}  {items:>5}  {new:>5}  {updated:>7}  {status}");
    }
    let report = analyst.run_once(otklik_pipeline::now()).await?;
    print_analysis(&report);
    Ok(if failed > 0 {
        println!("{failed} source(s) failed; see `otklik sources list`");
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_analysis(r: &AnalystReport) {
    println!(
        "analysed {} new post(s): complaints found {}, messages created {} ({} left in moderation), without category {}",
        r.analysed, r.complaints, r.messages_created, r.in_moderation, r.unrouted
    );
    for p in r.posts.iter().filter(|p| p.is_complaint) {
        let msg = p
            .message
            .map_or_else(|| "no message".to_owned(), |m| format!("message {m}"));
        println!(
            "  post {} → {msg}: {} / {} / confidence {:.2}{}",
            p.post,
            p.subcategory.as_deref().unwrap_or("?"),
            p.territory.as_deref().unwrap_or("?"),
            p.confidence,
            if p.in_moderation { " (moderation)" } else { "" }
        );
    }
}

/// The scheduled sources: every source of `health` whose collector settings build, the others
/// skipped (the reason logged and recorded as the source's last error). `only_configured`:
/// sources without a `collect.toml` entry are skipped too (the demo polls only itself).
pub(crate) async fn scheduled_sources(
    store: &Store,
    collect_cfg: &CollectConfig,
    http: &HttpClient,
    health: Vec<otklik_store::SourceHealth>,
    only_configured: bool,
) -> anyhow::Result<(Vec<ScheduledSource>, Vec<(String, String)>)> {
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    for h in health {
        let name = h.source.name.clone();
        if only_configured && collect_cfg.entry(&name).is_none() {
            tracing::debug!(source = %name, "not polled: no entry in the collector settings");
            skipped.push((name, "no entry in the collector settings".to_owned()));
            continue;
        }
        let built = Schedule::parse(&h.source.schedule)
            .map_err(otklik_pipeline::PipelineError::from)
            .and_then(|schedule| {
                let config = collect_cfg.config_for(&h.source, &process_env)?;
                Ok((schedule, config.build(http)?))
            });
        match built {
            Ok((schedule, source)) => sources.push(ScheduledSource {
                id: h.source.id,
                name,
                schedule: schedule.with_jitter(std::time::Duration::from_secs(10)),
                source: Arc::from(source),
            }),
            Err(e) => {
                let msg = e.to_string();
                tracing::warn!(source = %name, error = %msg, "source not scheduled");
                store
                    .record_source_error(h.source.id, &msg, otklik_pipeline::now())
                    .await?;
                skipped.push((name, msg));
            }
        }
    }
    Ok((sources, skipped))
}

/// The reply sender of the environment: VK `wall.createComment` with `OTKLIK_VK_TOKEN` at
/// `OTKLIK_VK_API_URL` (default the real API); `None` without a token.
pub(crate) fn reply_sender_from_env() -> anyhow::Result<Option<otklik_pipeline::VkReplySender>> {
    let Some(token) = process_env(otklik_pipeline::config::ENV_VK_TOKEN) else {
        return Ok(None);
    };
    let base = process_env("OTKLIK_VK_API_URL")
        .unwrap_or_else(|| otklik_pipeline::VkReplySender::DEFAULT_BASE_URL.to_owned());
    Ok(Some(otklik_pipeline::VkReplySender::new(base, token)?))
}

/// A scheduler over `sources` with the analyst and, when a VK token is configured, the
/// replier.
pub(crate) fn build_scheduler(
    store: Store,
    sources: Vec<ScheduledSource>,
    analyst: Analyst,
) -> anyhow::Result<Scheduler> {
    let mut scheduler =
        Scheduler::new(store.clone(), sources, SchedulerSettings::default()).with_analyst(analyst);
    if let Some(sender) = reply_sender_from_env()? {
        scheduler = scheduler.with_replier(otklik_pipeline::Replier::new(
            store,
            Arc::new(sender),
            otklik_pipeline::ReplierSettings::default(),
        ));
    }
    Ok(scheduler)
}

async fn scheduled(
    store: Store,
    collect_cfg: &CollectConfig,
    http: &HttpClient,
    analyst: Analyst,
    health: Vec<otklik_store::SourceHealth>,
    metrics_listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let metrics = match metrics_listen {
        Some(addr) => {
            otklik_web::install_metrics()?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let local = listener.local_addr()?;
            let mut stop = rx.clone();
            let task = tokio::spawn(otklik_web::serve_metrics(listener, async move {
                let _ = stop.wait_for(|v| *v).await;
            }));
            Some((local, task))
        }
        None => None,
    };
    let (sources, skipped) = scheduled_sources(&store, collect_cfg, http, health, false).await?;
    for (name, why) in &skipped {
        eprintln!("source «{name}» is not scheduled: {why}");
    }
    let n = sources.len();
    let scheduler = build_scheduler(store, sources, analyst)?;
    println!(
        "collecting from {n} source(s) on their schedules since {} (Ctrl+C to stop)",
        format_time(otklik_pipeline::now())
    );
    if let Some((addr, _)) = &metrics {
        println!("metrics at http://{addr}/metrics");
    }
    let run = tokio::spawn(scheduler.run(rx));
    crate::commands::shutdown_signal().await;
    println!("stopping: finishing the pages in hand…");
    let _ = tx.send(true);
    run.await.context("pipeline task")??;
    if let Some((_, task)) = metrics {
        task.await.context("metrics task")??;
    }
    Ok(ExitCode::SUCCESS)
}
