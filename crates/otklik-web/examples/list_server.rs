//! A server for the message-list benchmark (`benches/list-p99.sh`): a fresh SQLite file with
//! the demo region's directory and N messages (default 100,000) written straight into the
//! `messages` table in large transactions, the real rules and workflow, two signed-in staff
//! sessions and an API token, printed on stdout:
//!
//! ```text
//! COOKIE_MODERATOR=otklik_session=…   (ЦУР moderator: the region's moderation queue)
//! COOKIE_EXECUTOR=otklik_session=…    (a ministry's executor: the «work» queue)
//! TOKEN=otk_…                          (regional API token with the read scope)
//! LISTENING=http://127.0.0.1:PORT
//! ```
//!
//! ```sh
//! cargo build --release -p otklik-web --example list_server
//! target/release/examples/list_server --db /tmp/list.db --listen 127.0.0.1:18089 [--messages 100000]
//! ```
//!
//! The query plans of the queue pages (`EXPLAIN QUERY PLAN`) go to stderr.

#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;

use otklik_domain::{OrgKind, Timestamp};
use otklik_store::{ApiScope, NewApiToken, NewSession, SessionKind, Store, sqlite_url};
use sqlx::AssertSqlSafe;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A small deterministic generator (xorshift), so every run fills the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n as u64)).unwrap_or(0)
    }
}

/// Statuses with their share in a region's database (percent).
const STATUSES: [(&str, usize); 9] = [
    ("moderation", 30),
    ("coordination", 8),
    ("execution", 15),
    ("clarification", 2),
    ("approval", 5),
    ("answered", 10),
    ("rated", 5),
    ("closed", 20),
    ("rejected", 5),
];
const CHANNELS: [&str; 4] = ["widget", "social_network", "portal", "mobile_app"];
const TEXTS: [&str; 4] = [
    "Яма на дороге у дома {}, колёса пробиты, просим отремонтировать покрытие",
    "Не вывозят мусор во дворе дома {} уже неделю, контейнеры переполнены",
    "Не работает уличное освещение на улице у дома {}, вечером темно и опасно",
    "Открытый люк на тротуаре у дома {}, дети могут упасть",
];

async fn fill(
    store: &Store,
    n: usize,
    subcategories: &[String],
    executors: &[i64],
) -> Result<(), BoxError> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let t0 = now().millis();
    let year_ms: i64 = 365 * 86_400_000;
    let batch = 500;
    let mut done = 0;
    while done < n {
        let rows = batch.min(n - done);
        let mut sql = String::from(
            "INSERT INTO messages (status, version, channel, subcategory, executor_id, text, \
             created_at, deadline_at, updated_at) VALUES ",
        );
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            let p = i * 9;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7,
                p + 8,
                p + 9
            ));
        }
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for i in 0..rows {
            let k = done + i;
            let mut roll = rng.below(100);
            let mut status = "moderation";
            for (s, share) in STATUSES {
                if roll < share {
                    status = s;
                    break;
                }
                roll -= share;
            }
            let created = t0 - i64::try_from(rng.below(365 * 86_400) * 1000).unwrap_or(0) % year_ms;
            let deadline = created + i64::try_from((10 + rng.below(30)) * 86_400_000).unwrap_or(0);
            // Messages on moderation are mostly unrouted yet; the rest have an executor.
            let executor = if status == "moderation" && rng.below(3) > 0 {
                None
            } else {
                Some(executors[rng.below(executors.len())])
            };
            let text = TEXTS[k % TEXTS.len()].replace("{}", &(k % 997 + 1).to_string());
            q = q
                .bind(status)
                .bind(1_i64)
                .bind(CHANNELS[rng.below(CHANNELS.len())])
                .bind(subcategories[rng.below(subcategories.len())].clone())
                .bind(executor)
                .bind(text)
                .bind(created)
                .bind(deadline)
                .bind(created);
        }
        let mut tx = store.pool().begin().await?;
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        done += rows;
    }
    Ok(())
}

async fn session(store: &Store, login: &str) -> Result<String, BoxError> {
    let user = store
        .user_by_login(login)
        .await?
        .ok_or_else(|| format!("no user {login} in the demo directory"))?;
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| e.to_string())?;
    let token: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    store
        .create_session(
            &token,
            &NewSession {
                user: user.id,
                kind: SessionKind::Staff,
                csrf_token: "bench-csrf",
                ip: Some("127.0.0.1"),
                user_agent: Some("wrk"),
            },
            None,
            now(),
        )
        .await?;
    Ok(format!("otklik_session={token}"))
}

async fn explain(store: &Store, label: &str, sql: &str) -> Result<(), BoxError> {
    let rows = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .fetch_all(store.pool())
        .await?;
    eprintln!("plan of {label}:");
    for r in &rows {
        use sqlx::Row as _;
        let detail: String = r.try_get("detail")?;
        eprintln!("    {detail}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut db = PathBuf::from("otklik-list-bench.db");
    let mut listen = "127.0.0.1:18089".to_owned();
    let mut messages: usize = 100_000;
    let demo = root.join("demo");
    let rules_dir = root.join("rules");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--db" => db = PathBuf::from(value()?),
            "--listen" => listen = value()?,
            "--messages" => messages = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let store = Store::connect(&sqlite_url(&db)).await?;
    store.migrate().await?;
    if store.territories().await?.is_empty() {
        let batch = otklik_import::load_dir(&demo)?;
        store.import_directory(&batch, None, now()).await?;
    }
    let mut rules = otklik_rules::RulesDir::load(&rules_dir)?;
    rules.add_routing_file(demo.join("routing.toml"))?;
    let organisations = store.organisations().await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(store.pool())
        .await?;
    if existing == 0 {
        let subs: Vec<String> = rules
            .tree()
            .subcategories()
            .iter()
            .map(|s| s.id.0.clone())
            .collect();
        let executors: Vec<i64> = organisations
            .iter()
            .filter(|o| o.kind != OrgKind::Other)
            .map(|o| o.id.get())
            .collect();
        let t = std::time::Instant::now();
        fill(&store, messages, &subs, &executors).await?;
        eprintln!(
            "{messages} messages written in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let tsur = organisations
        .iter()
        .find(|o| o.code == "tsur")
        .map(|o| o.id)
        .ok_or("no ЦУР (tsur) in the demo directory")?;
    let minzdrav = organisations
        .iter()
        .find(|o| o.code == "minzdrav")
        .map(|o| o.id.get())
        .ok_or("no minzdrav in the demo directory")?;
    explain(
        &store,
        "the moderation queue",
        "SELECT id FROM messages WHERE status IN ('moderation') ORDER BY deadline_at, id LIMIT 26",
    )
    .await?;
    explain(
        &store,
        "its next page",
        "SELECT id FROM messages WHERE status IN ('moderation') AND (deadline_at, id) > (0, 0) \
         ORDER BY deadline_at, id LIMIT 26",
    )
    .await?;
    explain(
        &store,
        "its capped count",
        "SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE status IN ('moderation') LIMIT 10000) AS c",
    )
    .await?;
    explain(
        &store,
        "the incidents queue",
        "SELECT id FROM messages WHERE status IN ('moderation') AND channel = 'social_network' \
         ORDER BY deadline_at, id LIMIT 26",
    )
    .await?;
    explain(
        &store,
        "a ministry's work queue",
        &format!(
            "SELECT id FROM messages WHERE status IN ('coordination', 'execution', \
             'clarification', 'approval') AND (executor_id IN ({minzdrav})) \
             ORDER BY deadline_at, id LIMIT 26"
        ),
    )
    .await?;

    let reasons = otklik_rules::load_reject_reasons(rules_dir.join("reject-reasons.toml"))?;
    let workflow = otklik_workflow::Workflow::new(
        store.clone(),
        otklik_route::Router::new(
            rules.routing(),
            rules.tree(),
            otklik_route::Directory::new(store.territories().await?, organisations.clone()),
        )?,
        rules.tree().clone(),
        &organisations,
        reasons,
        otklik_calendar::Calendar::embedded(),
        otklik_workflow::WorkflowConfig {
            oversight: vec![tsur],
            ..otklik_workflow::WorkflowConfig::default()
        },
    )?;
    let moderator = session(&store, "lebedeva.ks").await?;
    let executor = session(&store, "semenov.po").await?;
    let token = store
        .create_api_token(
            &NewApiToken {
                name: format!("list-bench-{}", now().millis()),
                organisation: None,
                scopes: vec![ApiScope::Read],
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
    let reasons = workflow.reject_reasons().clone();
    let state = otklik_web::AppState::new(store, info)?
        .with_workflow(Arc::new(workflow))
        .with_reject_reasons(reasons);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("COOKIE_MODERATOR={moderator}");
    println!("COOKIE_EXECUTOR={executor}");
    println!("TOKEN={}", token.secret.expose());
    println!("LISTENING=http://{}", listener.local_addr()?);
    otklik_web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
