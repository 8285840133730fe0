//! `otklik search` outside the `otklik` binary: compiles `crates/otklik-cli/src/search.rs` as
//! is (so it is built and linted with this crate) and runs it.
//!
//! ```sh
//! cargo run -p otklik-search --example search_cli -- "ямы" --facet category --index /tmp/idx
//! ```

#[path = "../../otklik-cli/src/search.rs"]
mod search;

use clap::Parser;

/// The `otklik search` arguments.
#[derive(Debug, Parser)]
#[command(name = "otklik-search")]
struct Cli {
    #[command(flatten)]
    args: search::SearchArgs,
    /// Database URL (in `otklik`, from the configuration).
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut args = cli.args;
    args.database_url = cli.database_url;
    search::run(args).await
}
