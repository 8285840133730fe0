//! A stand-alone server of the JSON API and Open311 for benchmarks (`benches/api-wrk.sh`):
//! a SQLite file with the demo region's directory, the real rules and workflow, and a fresh
//! regional API token printed on stdout as `TOKEN=otk_…` (rate limit raised for load tests).
//!
//! ```sh
//! cargo run --release -p otklik-web --example api_server -- \
//!     --db /tmp/otklik-bench/otklik.db --listen 127.0.0.1:8088 [--demo demo] [--rules rules]
//! ```
//!
//! `otklik serve` is the real entry point; this example only saves building the whole CLI.

#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::sync::Arc;

use otklik_domain::Timestamp;
use otklik_store::{ApiScope, NewApiToken, Store, sqlite_url};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut db = PathBuf::from("otklik-api-bench.db");
    let mut listen = "127.0.0.1:8088".to_owned();
    let mut demo = root.join("demo");
    let mut rules_dir = root.join("rules");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--db" => db = PathBuf::from(value()?),
            "--listen" => listen = value()?,
            "--demo" => demo = PathBuf::from(value()?),
            "--rules" => rules_dir = PathBuf::from(value()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let store = Store::connect(&sqlite_url(&db)).await?;
    store.migrate().await?;
    if store.territories().await?.is_empty() {
        let batch = otklik_import::load_dir(&demo)?;
        store.import_directory(&batch, None, now()).await?;
        eprintln!("demo directory loaded from {}", demo.display());
    }
    let mut rules = otklik_rules::RulesDir::load(&rules_dir)?;
    let region_routing = demo.join("routing.toml");
    if region_routing.exists() {
        rules.add_routing_file(&region_routing)?;
    }
    let organisations = store.organisations().await?;
    let router = otklik_route::Router::new(
        rules.routing(),
        rules.tree(),
        otklik_route::Directory::new(store.territories().await?, organisations.clone()),
    )?;
    let reasons = otklik_rules::load_reject_reasons(rules_dir.join("reject-reasons.toml"))?;
    let calendar_dir = rules_dir.join("calendar");
    let calendar = if calendar_dir.is_dir() {
        otklik_calendar::Calendar::load(&calendar_dir)?
    } else {
        otklik_calendar::Calendar::embedded()
    };
    let workflow = otklik_workflow::Workflow::new(
        store.clone(),
        router,
        rules.tree().clone(),
        &organisations,
        reasons,
        calendar,
        otklik_workflow::WorkflowConfig::default(),
    )?;
    let token = store
        .create_api_token(
            &NewApiToken {
                name: format!("bench-{}", now().millis()),
                organisation: None,
                scopes: vec![ApiScope::Submit, ApiScope::Read],
                rate_per_minute: Some(600_000_000),
            },
            None,
            now(),
        )
        .await?;
    let info = otklik_web::ServerInfo {
        region: None,
        rules: vec![],
        tree: rules.tree().clone(),
    };
    let state = otklik_web::AppState::new(store, info)?.with_workflow(Arc::new(workflow));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("TOKEN={}", token.secret.expose());
    println!("LISTENING=http://{}", listener.local_addr()?);
    otklik_web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
