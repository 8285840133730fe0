//! `otklik sources …`: the collector sources — health table, adding, switching, checking the
//! collector settings (`collect.toml`) and schedules.

use std::process::ExitCode;

use otklik_collect::Network;
use otklik_collect::http::HttpClient;
use otklik_collect::schedule::Schedule;
use otklik_domain::directory::NewSource;
use otklik_pipeline::config::process_env;
use otklik_pipeline::format_time;

use crate::collect::{load_collect_config, open_store};
use crate::config::Config;

/// `otklik sources …`
#[derive(Debug, clap::Subcommand)]
pub enum SourcesCommand {
    /// Health of every source: last success and error, items, lag, circuit.
    List,
    /// Add a source.
    Add {
        /// Unique name («rss-seversk-news»).
        name: String,
        /// Network: vk, telegram, ok, rss, web.
        #[arg(long)]
        network: String,
        /// What to poll: community id or screen name, channel name, feed URL.
        #[arg(long)]
        target: String,
        /// Cron schedule with seconds.
        #[arg(long, default_value = "0 */10 * * * *")]
        schedule: String,
        /// Territory code (prior for territory detection).
        #[arg(long)]
        territory: Option<String>,
        /// Add it switched off.
        #[arg(long)]
        disabled: bool,
    },
    /// Switch polling of a source on.
    Enable {
        /// Its name.
        name: String,
    },
    /// Switch polling of a source off.
    Disable {
        /// Its name.
        name: String,
    },
    /// Validate collect.toml against the sources of the database and their schedules; exits
    /// non-zero when anything is wrong.
    Check {
        /// Collector settings (default: `collect.toml` in the data directory, if any).
        #[arg(long, env = "OTKLIK_COLLECT_CONFIG", value_name = "FILE")]
        collect_config: Option<std::path::PathBuf>,
    },
}

/// Run a `sources` subcommand.
pub async fn run(cfg: &Config, command: SourcesCommand) -> anyhow::Result<ExitCode> {
    match command {
        SourcesCommand::List => list(cfg).await,
        SourcesCommand::Add {
            name,
            network,
            target,
            schedule,
            territory,
            disabled,
        } => {
            let network: Network = network
                .parse()
                .map_err(|e| anyhow::anyhow!("--network: {e}"))?;
            Schedule::parse(&schedule).map_err(|e| anyhow::anyhow!("--schedule: {e}"))?;
            let store = open_store(cfg).await?;
            let new = NewSource {
                name,
                network,
                target,
                schedule,
                territory_code: territory,
                enabled: !disabled,
            };
            let s = store.add_source(&new, None, otklik_pipeline::now()).await?;
            println!(
                "added source {} (id {}): {} {} on «{}»{}",
                s.name,
                s.id,
                s.network.code(),
                s.target,
                s.schedule,
                if s.enabled { "" } else { ", disabled" }
            );
            Ok(ExitCode::SUCCESS)
        }
        SourcesCommand::Enable { name } => switch(cfg, &name, true).await,
        SourcesCommand::Disable { name } => switch(cfg, &name, false).await,
        SourcesCommand::Check { collect_config } => check(cfg, collect_config.as_deref()).await,
    }
}

async fn switch(cfg: &Config, name: &str, enabled: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let s = store
        .set_source_enabled(name, enabled, None, otklik_pipeline::now())
        .await?;
    println!(
        "source {} {}",
        s.name,
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(ExitCode::SUCCESS)
}

/// «5 min», «3 h», «2 d».
fn human_ms(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

async fn list(cfg: &Config) -> anyhow::Result<ExitCode> {
    let store = open_store(cfg).await?;
    let now = otklik_pipeline::now();
    let all = store.source_health().await?;
    if all.is_empty() {
        println!("no sources (add one with `otklik sources add`)");
        return Ok(ExitCode::SUCCESS);
    }
    let w = all
        .iter()
        .map(|h| h.source.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:w$}  {:8}  {:3}  {:23}  {:>6}  {:>7}  {:10}  last error",
        "name", "network", "on", "last success", "items", "lag", "circuit"
    );
    for h in &all {
        let last_error = match (&h.last_error, h.last_error_at) {
            (Some(e), Some(at)) if h.last_success_at.is_none_or(|s| s <= at) => {
                format!("{}: {}", format_time(at), cut(e, 80))
            }
            (Some(e), Some(at)) => format!("(earlier) {}: {}", format_time(at), cut(e, 60)),
            _ => "-".to_owned(),
        };
        let circuit = match (h.circuit, h.open_until) {
            (otklik_store::CircuitState::Open, Some(u)) => {
                format!("open until {}", format_time(u))
            }
            (c, _) => c.code().to_owned(),
        };
        println!(
            "{:w$}  {:8}  {:3}  {:23}  {:>6}  {:>7}  {:10}  {}",
            h.source.name,
            h.source.network.code(),
            if h.source.enabled { "yes" } else { "no" },
            h.last_success_at
                .map_or_else(|| "never".to_owned(), format_time),
            h.items_total,
            h.lag_ms(now).map_or_else(|| "-".to_owned(), human_ms),
            circuit,
            last_error,
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(cfg: &Config, path: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let (collect_cfg, used) = match load_collect_config(cfg, path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e:#}");
            eprintln!("collector settings are not valid");
            return Ok(ExitCode::FAILURE);
        }
    };
    let store = open_store(cfg).await?;
    let sources = store.sources().await?;
    let http = HttpClient::new(collect_cfg.http.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut problems = Vec::new();
    for s in &sources {
        if let Err(e) = Schedule::parse(&s.schedule) {
            problems.push(format!(
                "source «{}»: schedule «{}»: {e}",
                s.name, s.schedule
            ));
        }
        match collect_cfg.config_for(s, &process_env) {
            Ok(c) => {
                if let Err(e) = c.build(&http) {
                    problems.push(format!("source «{}»: {e}", s.name));
                }
            }
            Err(e) if s.enabled => problems.push(e.to_string()),
            Err(e) => println!("note (disabled source): {e}"),
        }
    }
    for entry in &collect_cfg.sources {
        if !sources.iter().any(|s| s.name == entry.name) {
            problems.push(format!(
                "collect.toml: source «{}» is not in the database (add it with `otklik sources add`)",
                entry.name
            ));
        }
    }
    let file = used.map_or_else(|| "no collect.toml".to_owned(), |p| p.display().to_string());
    if problems.is_empty() {
        println!(
            "ok: {} source(s) checked ({} with settings from {file})",
            sources.len(),
            collect_cfg.sources.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("{} problem(s) found ({file})", problems.len());
        Ok(ExitCode::FAILURE)
    }
}
