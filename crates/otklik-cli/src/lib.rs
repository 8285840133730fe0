//! # otklik-cli
//!
//! The `otklik` command: everything an operator runs. It wires the pipeline crates together —
//! rules (`otklik-rules`), routing (`otklik-route`), the store (`otklik-store`), directory imports
//! (`otklik-import`) and the HTTP server (`otklik-web`) — and owns configuration and logging.
//! `anyhow` is used here and only here.
//!
//! ```no_run
//! // src/main.rs of the `otklik` binary is exactly this:
//! fn main() -> std::process::ExitCode {
//!     otklik_cli::main()
//! }
//! ```

mod classify;
pub mod collect;
mod commands;
pub mod communities;
pub mod config;
mod demo;
mod index_sync;
mod logging;
pub mod mail;
pub mod polls;
pub mod replies;
pub mod report;
pub mod search;
pub mod searches;
pub mod sources;
pub mod tokens;
pub mod topics;
pub mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::LogFormat;

/// Otklik — обратная связь граждан и мониторинг социальных сетей для регионов.
///
/// Government feedback and social-network monitoring for Russian regions. Configuration comes
/// from `--config FILE` (TOML), then `OTKLIK_*` environment variables (`OTKLIK_DATA_DIR`,
/// `OTKLIK_SERVER__LISTEN`, `OTKLIK_LOG__FORMAT`, …), then `DATABASE_URL` for PostgreSQL.
/// Without `DATABASE_URL` the embedded SQLite database in the data directory is used.
#[derive(Debug, Parser)]
#[command(
    name = "otklik",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, short = 'c', global = true, env = "OTKLIK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory for the embedded SQLite database (overrides the config).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Rules directory with categories.toml and routing.toml (overrides the config).
    #[arg(long, global = true)]
    pub rules_dir: Option<PathBuf>,
    /// Log format (overrides the config).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (migrates the database first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides the config).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Load the demo region from DIR (default `demo`) when the database has no territories.
        #[arg(long, num_args = 0..=1, default_missing_value = "demo", value_name = "DIR")]
        demo: Option<PathBuf>,
        /// Do not run the monitoring pipeline (collectors on their schedules, analysis,
        /// replies) inside the server. With `--demo` only the demo sources configured in
        /// `DIR/collect.toml` run, against the demo feeds this server serves itself.
        #[arg(long)]
        no_collect: bool,
        /// Pipeline settings.
        #[command(flatten)]
        pipeline: collect::PipelineArgs,
    },
    /// Create or upgrade the database schema.
    Migrate,
    /// Import territories, organisations, users, communities or sources from CSV.
    ///
    /// Every row is checked first; any bad row is reported with its line number and column,
    /// and nothing of the file is imported. A whole directory is imported in one transaction.
    Import {
        /// What the file holds.
        #[arg(value_enum, required_unless_present = "dir")]
        kind: Option<ImportKindArg>,
        /// The CSV file (header row required).
        #[arg(required_unless_present = "dir")]
        file: Option<PathBuf>,
        /// Import every known CSV of a directory (territories.csv, organisations.csv, …).
        #[arg(long, conflicts_with_all = ["kind", "file"])]
        dir: Option<PathBuf>,
        /// Check only; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Work with the rules directory.
    Rules {
        /// Rules subcommand.
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Train or evaluate the learned classifier (labelled examples from CSV).
    Classifier {
        /// Classifier subcommand.
        #[command(subcommand)]
        command: ClassifierCommand,
    },
    /// Analyse a text as the monitoring pipeline does: complaint or not, the category tree's
    /// subcategory by the keyword rules, the learned model's top-3 labels with confidence and
    /// explanation (when a model is trained), and the territory.
    Classify {
        /// The text.
        text: String,
        /// The model directory (default: `classifier` in the data directory, used when it
        /// exists).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Territories CSV (code,kind,name,parent_code,name_variants) for territory detection.
        #[arg(long)]
        territories: Option<PathBuf>,
        /// The region's toponym dictionary directory (streets, places, aliases).
        #[arg(long, requires = "territories")]
        dictionary: Option<PathBuf>,
        /// The source's own territory code (the prior).
        #[arg(long, requires = "territories")]
        prior: Option<String>,
        /// Print the whole analysis as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Poll the collector sources, store new posts, turn complaints into routed messages.
    Collect(collect::CollectArgs),
    /// Collector sources: health, adding, switching, checking collect.toml.
    Sources {
        /// Sources subcommand.
        #[command(subcommand)]
        command: sources::SourcesCommand,
    },
    /// Official communities (Госпаблики): import, list, check, export.
    Communities {
        /// Communities subcommand.
        #[command(subcommand)]
        command: communities::CommunitiesCommand,
    },
    /// Search the archive of messages and collected posts (syncs the index with the store first).
    Search(search::SearchArgs),
    /// Frequent and emerging problems: significant terms, topics of near-duplicates, spikes.
    Topics(topics::TopicsArgs),
    /// The reply outbox: list, queue an answer, deliver the due replies now.
    Replies {
        /// Replies subcommand.
        #[command(subcommand)]
        command: replies::RepliesCommand,
    },
    /// API tokens for integrations and mobile apps: create (printed once), list, revoke.
    Tokens {
        /// Tokens subcommand.
        #[command(subcommand)]
        command: tokens::TokensCommand,
    },
    /// Staff accounts: list them, set a password (read from standard input).
    Users {
        /// Users subcommand.
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// The e-mail outbox: counts by state, send the due e-mails now.
    Mail {
        /// Mail subcommand.
        #[command(subcommand)]
        command: mail::MailCommand,
    },
    /// Reports: volumes, deadlines, late answers, satisfaction, onboarding, Госпаблики — as a
    /// table, CSV or XLSX.
    Report(report::ReportArgs),
    /// Polls («Голосования»): list, show one, results (table, CSV, XLSX), anomaly report.
    Polls {
        /// Polls subcommand.
        #[command(subcommand)]
        command: polls::PollsCommand,
    },
    /// Saved searches with e-mail alerts on spikes: add, list, remove, check.
    Searches {
        /// Saved-searches subcommand.
        #[command(subcommand)]
        command: searches::SearchesCommand,
    },
}

/// `otklik classifier …`
#[derive(Debug, Subcommand)]
pub enum ClassifierCommand {
    /// Train on a CSV (columns `text` and the label column) and save the model to DIR.
    Train {
        /// The examples CSV.
        #[arg(long)]
        examples: PathBuf,
        /// The model directory to write.
        #[arg(long)]
        out: PathBuf,
        /// The column holding the label.
        #[arg(long, default_value = "label")]
        label_column: String,
        /// Do not use the keyword rules' hits as features.
        #[arg(long)]
        no_rules: bool,
    },
    /// Evaluate: train on --train and score on --test, or cross-validate --train with --folds.
    /// The last line printed is a JSON object with the summary metrics.
    Eval {
        /// The training CSV.
        #[arg(long)]
        train: PathBuf,
        /// The test CSV.
        #[arg(long, required_unless_present = "folds", conflicts_with = "folds")]
        test: Option<PathBuf>,
        /// Stratified cross-validation folds.
        #[arg(long, value_parser = clap::value_parser!(u64).range(2..))]
        folds: Option<u64>,
        /// The column holding the label.
        #[arg(long, default_value = "label")]
        label_column: String,
        /// Do not use the keyword rules' hits as features.
        #[arg(long)]
        no_rules: bool,
    },
}

/// `otklik rules …`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate the category tree and routing rules and print their counts.
    Check {
        /// Extra region-specific routing file(s) to validate too.
        #[arg(long)]
        routing: Vec<PathBuf>,
    },
}

/// Kinds of directory CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKindArg {
    /// territories.csv
    Territories,
    /// organisations.csv
    Organisations,
    /// users.csv
    Users,
    /// communities.csv
    Communities,
    /// sources.csv
    Sources,
}

/// Run the command line; errors are printed as a chain and turned into exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
