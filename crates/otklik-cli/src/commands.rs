//! The subcommands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use otklik_domain::Timestamp;
use otklik_domain::directory::DirectoryBatch;
use otklik_store::Store;

use crate::config::Config;
use crate::{ClassifierCommand, Cli, Command, ImportKindArg, RulesCommand, classify, logging};

/// Current wall-clock time.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = cli.data_dir {
        cfg.data_dir = d;
    }
    if let Some(d) = cli.rules_dir {
        cfg.rules_dir = d;
    }
    if let Some(f) = cli.log_format {
        cfg.log.format = f;
    }
    logging::init(&cfg.log);
    tracing::debug!(config = ?cfg, "configuration loaded");

    match cli.command {
        Command::Rules {
            command: RulesCommand::Check { routing },
        } => rules_check(&cfg, &routing),
        Command::Classifier {
            command:
                ClassifierCommand::Train {
                    examples,
                    out,
                    label_column,
                    no_rules,
                },
        } => classify::train(&cfg, &examples, &out, &label_column, !no_rules),
        Command::Classifier {
            command:
                ClassifierCommand::Eval {
                    train,
                    test,
                    folds,
                    label_column,
                    no_rules,
                },
        } => classify::eval(
            &cfg,
            !no_rules,
            &train,
            test.as_deref(),
            folds.map(|k| usize::try_from(k).unwrap_or(usize::MAX)),
            &label_column,
        ),
        Command::Classify {
            text,
            model,
            territories,
            dictionary,
            prior,
            json,
        } => classify::classify(
            &cfg,
            &text,
            &classify::ClassifyArgs {
                model,
                territories,
                dictionary,
                prior,
                json,
            },
        ),
        other => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            rt.block_on(run_async(cfg, other))
        }
    }
}

async fn run_async(cfg: Config, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Migrate => {
            let store = open_store(&cfg).await?;
            println!("migrated ({:?})", store.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            listen,
            demo,
            no_collect,
            pipeline,
        } => serve(cfg, listen, demo, no_collect, pipeline).await,
        Command::Import {
            kind,
            file,
            dir,
            dry_run,
        } => import(&cfg, kind, file, dir, dry_run).await,
        Command::Collect(args) => crate::collect::run(&cfg, args).await,
        Command::Sources { command } => crate::sources::run(&cfg, command).await,
        Command::Communities { command } => crate::communities::run(&cfg, command).await,
        Command::Replies { command } => crate::replies::run(&cfg, command).await,
        Command::Mail { command } => crate::mail::run(&cfg, command).await,
        Command::Users { command } => crate::users::run(&cfg, command).await,
        Command::Tokens { command } => crate::tokens::run(&cfg, command).await,
        Command::Report(args) => crate::report::run(&cfg, args).await,
        Command::Searches { command } => crate::searches::run(&cfg, command).await,
        Command::Polls { command } => crate::polls::run(&cfg, command).await,
        Command::Search(mut args) => {
            args.database_url.get_or_insert_with(|| cfg.database_url());
            args.data_dir.get_or_insert_with(|| cfg.data_dir.clone());
            args.rules_dir.get_or_insert_with(|| cfg.rules_dir.clone());
            crate::search::run(args).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Topics(mut args) => {
            args.database_url.get_or_insert_with(|| cfg.database_url());
            args.data_dir.get_or_insert_with(|| cfg.data_dir.clone());
            crate::topics::run(args).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Rules { .. } | Command::Classifier { .. } | Command::Classify { .. } => {
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let url = cfg.database_url();
    let store = Store::connect(&url)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

fn load_rules(cfg: &Config, extra_routing: &[PathBuf]) -> anyhow::Result<otklik_rules::RulesDir> {
    let mut rules =
        otklik_rules::RulesDir::load(&cfg.rules_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let region = cfg.region_routing.iter().chain(extra_routing.iter());
    for path in region {
        rules
            .add_routing_file(path)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(rules)
}

fn rules_check(cfg: &Config, routing: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let rules = match load_rules(cfg, routing) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let s = rules.summary();
    println!("rules: {}", cfg.rules_dir.display());
    println!("categories:      {}", s.categories);
    println!(
        "subcategories:   {} (every one with a deadline)",
        s.subcategories
    );
    println!("fast-tracks:     {}", s.fast_tracks);
    println!(
        "routing rules:   {} explicit, {} level entries",
        s.routing_rules, s.routing_levels
    );
    if !crate::polls::check_topics(&cfg.rules_dir) {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn import_kind(k: ImportKindArg) -> otklik_import::ImportKind {
    match k {
        ImportKindArg::Territories => otklik_import::ImportKind::Territories,
        ImportKindArg::Organisations => otklik_import::ImportKind::Organisations,
        ImportKindArg::Users => otklik_import::ImportKind::Users,
        ImportKindArg::Communities => otklik_import::ImportKind::Communities,
        ImportKindArg::Sources => otklik_import::ImportKind::Sources,
    }
}

/// Codes the database already knows plus the category ids of the rules, for reference checks.
async fn known_codes(store: &Store, cfg: &Config) -> anyhow::Result<otklik_import::KnownCodes> {
    let mut known = otklik_import::KnownCodes::new();
    for t in store.territories().await? {
        known.add_territory(t.code, Some(t.kind));
    }
    for o in store.organisations().await? {
        known.add_organisation(o.code);
    }
    let rules = load_rules(cfg, &[])?;
    known.set_categories(rules.tree().categories().iter().map(|c| c.id.0.clone()));
    Ok(known)
}

/// Parse and check a directory or one file; `Err` holds the report for the operator.
fn read_batch(
    kind: Option<ImportKindArg>,
    file: Option<&Path>,
    dir: Option<&Path>,
    known: &otklik_import::KnownCodes,
) -> anyhow::Result<Result<DirectoryBatch, String>> {
    let mut importer = otklik_import::Importer::new();
    let added = match (dir, kind, file) {
        (Some(d), _, _) => importer.add_dir(d),
        (None, Some(k), Some(f)) => importer.add_file(import_kind(k), f),
        _ => anyhow::bail!("give KIND FILE or --dir DIR"),
    };
    if let Err(e) = added.and_then(|_| importer.check_references(known)) {
        return Ok(Err(e.to_string()));
    }
    Ok(Ok(importer.into_batch()))
}

async fn import(
    cfg: &Config,
    kind: Option<ImportKindArg>,
    file: Option<PathBuf>,
    dir: Option<PathBuf>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let known = known_codes(&store, cfg).await?;
    let batch = match read_batch(kind, file.as_deref(), dir.as_deref(), &known)? {
        Ok(b) => b,
        Err(report) => {
            eprintln!("{report}");
            eprintln!("nothing was imported");
            return Ok(ExitCode::FAILURE);
        }
    };
    if dry_run {
        println!(
            "{} records checked, nothing written (--dry-run)",
            batch.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let summary = apply_batch(&store, &batch).await?;
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

async fn apply_batch(store: &Store, batch: &DirectoryBatch) -> anyhow::Result<String> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!(
        "importing {} records in one transaction",
        batch.len()
    ));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = store.import_directory(batch, None, now()).await;
    bar.finish_and_clear();
    let summary = result.context("import failed; nothing was written")?;
    Ok(format!("imported: {summary}"))
}

/// Load the demo region when the database has no territories yet.
async fn load_demo(store: &Store, cfg: &Config, dir: &Path) -> anyhow::Result<bool> {
    if !store.territories().await?.is_empty() {
        tracing::info!("database already has a directory; demo not loaded");
        return Ok(false);
    }
    let known = known_codes(store, cfg).await?;
    let batch = read_batch(None, None, Some(dir), &known)?
        .map_err(|report| anyhow::anyhow!("demo data in {}:\n{report}", dir.display()))?;
    let summary = apply_batch(store, &batch).await?;
    tracing::info!(dir = %dir.display(), %summary, "demo region loaded");
    Ok(true)
}

/// The demo's collector settings: `DIR/collect.toml` with its feed URLs
/// (`http://127.0.0.1:8080/demo/feeds/…`) pointed at this server's own address.
fn demo_collect_config(
    dir: &Path,
    addr: std::net::SocketAddr,
) -> anyhow::Result<Option<otklik_pipeline::CollectConfig>> {
    let path = dir.join("collect.toml");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let host = if addr.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    let text = text.replace(DEMO_FEEDS_BASE, &format!("http://{host}/demo/feeds/"));
    let parsed =
        otklik_pipeline::CollectConfig::parse(&text, &otklik_pipeline::config::process_env)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(parsed))
}

/// Where the demo's collect.toml expects the demo feeds; `serve --demo` substitutes its own
/// address.
pub(crate) const DEMO_FEEDS_BASE: &str = "http://127.0.0.1:8080/demo/feeds/";

/// The monitoring pipeline inside `serve`: the scheduler over the sources that can run.
async fn serve_pipeline(
    cfg: &Config,
    store: &Store,
    demo: Option<&Path>,
    addr: std::net::SocketAddr,
    mut pipeline: crate::collect::PipelineArgs,
    workflow: &otklik_workflow::Workflow,
) -> anyhow::Result<Option<otklik_pipeline::Scheduler>> {
    let (collect_cfg, only_configured) = match demo {
        Some(d) => match demo_collect_config(d, addr)? {
            Some(c) => (c, true),
            None => return Ok(None),
        },
        None => {
            let (c, path) =
                crate::collect::load_collect_config(cfg, pipeline.collect_config.as_deref())?;
            if path.is_none() {
                tracing::info!("no collect.toml: sources with defaults only");
            }
            (c, false)
        }
    };
    if let Some(d) = demo {
        let r = d.join("routing.toml");
        if r.exists() && !pipeline.routing.contains(&r) {
            pipeline.routing.push(r);
        }
    }
    let http = otklik_collect::http::HttpClient::new(collect_cfg.http.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut health = store.source_health().await?;
    health.retain(|h| h.source.enabled);
    let (sources, skipped) =
        crate::collect::scheduled_sources(store, &collect_cfg, &http, health, only_configured)
            .await?;
    tracing::info!(
        scheduled = sources.len(),
        skipped = skipped.len(),
        "monitoring pipeline"
    );
    let analyst =
        crate::collect::build_analyst_with(cfg, store, &pipeline, Some(workflow.clone())).await?;
    Ok(Some(crate::collect::build_scheduler(
        store.clone(),
        sources,
        analyst,
    )?))
}

async fn serve(
    mut cfg: Config,
    listen: Option<std::net::SocketAddr>,
    demo: Option<PathBuf>,
    no_collect: bool,
    mut pipeline: crate::collect::PipelineArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(l) = listen {
        cfg.server.listen = l;
    }
    let mut extra = pipeline.routing.clone();
    if let Some(d) = &demo {
        let r = d.join("routing.toml");
        if r.exists() {
            extra.push(r);
        }
    }
    let rules = load_rules(&cfg, &extra)?;
    let store = open_store(&cfg).await?;
    let fresh_demo = match &demo {
        Some(d) => load_demo(&store, &cfg, d).await?,
        None => false,
    };
    let router = crate::collect::build_router(&store, &rules).await?;
    if pipeline.oversight.is_empty() {
        // The region-level fallback body (the ЦУР): its moderators and curators handle every
        // message of the region.
        if let Some(org) = router.fallback_executor() {
            tracing::info!(code = %org.code, "oversight organisation: the routing fallback");
            pipeline.oversight.push(org.code.clone());
        }
    }
    let workflow = crate::collect::build_workflow(&store, &rules, router.clone(), &pipeline)?
        .with_notifications(crate::mail::notifications(&cfg, &store).await?);
    if fresh_demo {
        let n = crate::users::set_demo_passwords(&store).await?;
        tracing::info!(
            accounts = n,
            password = crate::users::DEMO_PASSWORD,
            "demo staff accounts can sign in at /login"
        );
    }
    if let (true, Some(d)) = (fresh_demo, &demo) {
        let path = d.join("messages.csv");
        if path.exists() {
            let n = crate::demo::load_messages(&workflow, &router, &path, now()).await?;
            tracing::info!(
                messages = n,
                "demo messages routed and moved through the workflow"
            );
        }
    }
    let s = rules.summary();
    let region = router
        .directory()
        .territories()
        .iter()
        .find(|t| t.parent.is_none())
        .map(|t| t.name.clone());
    let info = otklik_web::ServerInfo {
        region,
        rules: vec![
            ("Категории".into(), s.categories),
            ("Подкатегории".into(), s.subcategories),
            ("Быстрые решения (fast-track)".into(), s.fast_tracks),
            (
                "Правила маршрутизации".into(),
                s.routing_rules + s.routing_levels,
            ),
        ],
        tree: rules.tree().clone(),
    };
    // The state installs the metrics recorder: before the pipeline records anything.
    let reasons = workflow.reject_reasons().clone();
    let auth = otklik_web::auth::AuthConfig {
        secure_cookies: cfg.server.secure_cookies,
        trust_forwarded_for: cfg.server.trust_forwarded_for,
        limits: session_limits(&cfg)?,
        ..Default::default()
    };
    let mut state = otklik_web::AppState::new(store.clone(), info)?
        .with_workflow(std::sync::Arc::new(workflow.clone()))
        .with_reject_reasons(reasons)
        .with_auth(auth.clone())
        .with_polls(crate::polls::for_serve(&cfg, &store)?);
    state = citizen_side(state, &cfg).await?;
    if let Some(d) = &demo {
        state = state.with_feeds(d.join("feeds"));
    }
    let listener = tokio::net::TcpListener::bind(cfg.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.server.listen))?;
    let addr = listener.local_addr()?;
    let scheduler = if no_collect {
        None
    } else {
        serve_pipeline(&cfg, &store, demo.as_deref(), addr, pipeline, &workflow).await?
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let pipeline_task = scheduler.map(|s| tokio::spawn(s.run(stop_rx.clone())));
    let mut background = crate::mail::spawn_background(&cfg, &store, &workflow, &stop_rx)?;
    background.push(spawn_session_purge(
        store.clone(),
        auth.limits,
        stop_rx.clone(),
    ));
    // Archive search: DATA_DIR/search, synced with the store every second (index_sync).
    if let Some((index, task)) = crate::index_sync::start(&cfg.data_dir, &store, stop_rx.clone()) {
        background.push(crate::index_sync::spawn_alerts(
            store.clone(),
            index.clone(),
            alert_interval()?,
            Some(format!(
                "{}/office/search",
                cfg.notify.public_url.trim_end_matches('/')
            )),
            stop_rx.clone(),
        ));
        state = state.with_search(index);
        background.push(task);
    }
    println!("Otklik is running at http://{addr}/ (Ctrl+C to stop)");
    let signal = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    let served = otklik_web::serve(listener, state, signal).await;
    if let Some(task) = pipeline_task {
        tracing::info!("stopping the monitoring pipeline: finishing the pages in hand");
        match tokio::time::timeout(std::time::Duration::from_secs(30), task).await {
            Ok(joined) => joined.context("pipeline task")??,
            Err(_) => tracing::warn!("the monitoring pipeline did not stop within 30 s"),
        }
    }
    for task in background {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The citizen side of `serve`: sign-in through `[citizen_oidc]` (its provider must answer
/// now: a wrong issuer or an unreachable provider stops the start with a clear error), the
/// signed rating links of the answer e-mails (the notifications' key and public address),
/// the widget's photos in `DATA_DIR/attachments`, and the per-address limit of form
/// submissions.
async fn citizen_side(
    state: otklik_web::AppState,
    cfg: &Config,
) -> anyhow::Result<otklik_web::AppState> {
    let key = crate::mail::rating_key(cfg)?;
    let base = cfg.notify.public_url.trim_end_matches('/');
    let links = otklik_notify::RatingLinks::new(&key, format!("{base}/rate"))
        .map_err(|e| anyhow::anyhow!("rating links: {e}"))?;
    let dir = cfg.attachments_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the attachments directory {}", dir.display()))?;
    let mut state = state
        .with_rating_links(links)
        .with_attachments(otklik_store::AttachmentFiles::new(dir))
        .with_write_rate(cfg.server.write_rate_per_minute);
    match &cfg.citizen_oidc {
        Some(o) => {
            let settings = o.to_settings(&cfg.notify.public_url);
            let issuer = settings.issuer.clone();
            let redirect = settings.redirect_url.clone();
            let client = otklik_web::oidc::OidcClient::connect(settings)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "[citizen_oidc]: cannot use the identity provider {issuer}: {e}"
                    )
                })?;
            tracing::info!(%issuer, %redirect, provider = client.provider(), "citizens sign in through OIDC");
            state = state.with_oidc(client);
        }
        None => tracing::warn!(
            "no [citizen_oidc] section: citizens cannot sign in (the widget says that sign-in is not configured)"
        ),
    }
    Ok(state)
}

/// How often `serve` checks saved searches: [`crate::index_sync::ALERT_INTERVAL`], or
/// `OTKLIK_SAVED_SEARCH_CHECK_SECONDS` (tests and operators who want earlier alerts).
fn alert_interval() -> anyhow::Result<std::time::Duration> {
    match std::env::var("OTKLIK_SAVED_SEARCH_CHECK_SECONDS") {
        Ok(v) => {
            let secs: u64 = v.trim().parse().with_context(|| {
                format!("OTKLIK_SAVED_SEARCH_CHECK_SECONDS must be a number of seconds, not {v:?}")
            })?;
            anyhow::ensure!(
                secs > 0,
                "OTKLIK_SAVED_SEARCH_CHECK_SECONDS must be positive"
            );
            Ok(std::time::Duration::from_secs(secs))
        }
        Err(_) => Ok(crate::index_sync::ALERT_INTERVAL),
    }
}

/// The staff session timeouts of `[server]`.
fn session_limits(cfg: &Config) -> anyhow::Result<otklik_store::SessionLimits> {
    let idle = cfg.server.session_idle_minutes;
    let absolute = cfg.server.session_absolute_hours;
    anyhow::ensure!(
        idle > 0 && absolute > 0 && idle <= absolute * 60,
        "server.session_idle_minutes ({idle}) and server.session_absolute_hours ({absolute}) must be positive, idle within absolute"
    );
    Ok(otklik_store::SessionLimits {
        idle_ms: idle * 60_000,
        absolute_ms: absolute * 3_600_000,
    })
}

/// Deletes expired sessions every ten minutes until `stop`.
fn spawn_session_purge(
    store: Store,
    limits: otklik_store::SessionLimits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store.purge_expired_sessions(limits, now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "expired sessions purged"),
                Err(e) => tracing::warn!(error = %e, "session purge failed"),
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(std::time::Duration::from_secs(600)) => {}
            }
        }
    })
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
