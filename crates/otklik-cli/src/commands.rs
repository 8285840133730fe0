//! The subcommands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use otklik_domain::Timestamp;
use otklik_domain::directory::DirectoryBatch;
use otklik_store::Store;

use crate::config::Config;
use crate::{Cli, Command, ImportKindArg, RulesCommand, logging};

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
        Command::Serve { listen, demo } => serve(cfg, listen, demo).await,
        Command::Import {
            kind,
            file,
            dir,
            dry_run,
        } => import(&cfg, kind, file, dir, dry_run).await,
        Command::Rules { .. } => Ok(ExitCode::FAILURE),
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

async fn known_codes(store: &Store) -> anyhow::Result<otklik_import::KnownCodes> {
    let mut known = otklik_import::KnownCodes::default();
    for t in store.territories().await? {
        known.territories.insert(t.code);
    }
    for o in store.organisations().await? {
        known.organisations.insert(o.code);
    }
    Ok(known)
}

async fn import(
    cfg: &Config,
    kind: Option<ImportKindArg>,
    file: Option<PathBuf>,
    dir: Option<PathBuf>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let batch = match (&dir, kind, &file) {
        (Some(d), _, _) => otklik_import::load_dir(d),
        (None, Some(k), Some(f)) => {
            let mut b = DirectoryBatch::default();
            otklik_import::parse_into(&mut b, import_kind(k), f).map(|()| b)
        }
        _ => anyhow::bail!("give KIND FILE or --dir DIR"),
    };
    let batch = match batch {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("nothing was imported");
            return Ok(ExitCode::FAILURE);
        }
    };
    let store = open_store(cfg).await?;
    if let Err(e) = otklik_import::check_references(&batch, &known_codes(&store).await?) {
        eprintln!("{e}");
        eprintln!("nothing was imported");
        return Ok(ExitCode::FAILURE);
    }
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
async fn load_demo(store: &Store, dir: &Path) -> anyhow::Result<()> {
    if !store.territories().await?.is_empty() {
        tracing::info!("database already has a directory; demo not loaded");
        return Ok(());
    }
    let batch = otklik_import::load_dir(dir).map_err(|e| anyhow::anyhow!("demo data: {e}"))?;
    otklik_import::check_references(&batch, &otklik_import::KnownCodes::default())
        .map_err(|e| anyhow::anyhow!("demo data: {e}"))?;
    let summary = apply_batch(store, &batch).await?;
    tracing::info!(dir = %dir.display(), %summary, "demo region loaded");
    Ok(())
}

async fn serve(
    mut cfg: Config,
    listen: Option<std::net::SocketAddr>,
    demo: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    if let Some(l) = listen {
        cfg.server.listen = l;
    }
    let mut extra = Vec::new();
    if let Some(d) = &demo {
        let r = d.join("routing.toml");
        if r.exists() {
            extra.push(r);
        }
    }
    let rules = load_rules(&cfg, &extra)?;
    let store = open_store(&cfg).await?;
    if let Some(d) = &demo {
        load_demo(&store, d).await?;
    }
    let directory =
        otklik_route::Directory::new(store.territories().await?, store.organisations().await?);
    let _router = otklik_route::Router::new(rules.routing(), rules.tree(), directory)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let s = rules.summary();
    let region = store
        .territories()
        .await?
        .into_iter()
        .find(|t| t.parent.is_none())
        .map(|t| t.name);
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
    };
    let state = otklik_web::AppState::new(store, info)?;
    let listener = tokio::net::TcpListener::bind(cfg.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.server.listen))?;
    let addr = listener.local_addr()?;
    println!("Otklik is running at http://{addr}/ (Ctrl+C to stop)");
    otklik_web::serve(listener, state, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
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
