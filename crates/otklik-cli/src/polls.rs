//! `otklik polls list|show|results|anomalies`: the «Голосования» of the database from the
//! command line, and the polls service `serve` hands to the web server ([`for_serve`]): the
//! voter-hash key in `DATA_DIR/poll.key` (32 random bytes, created once, mode 0600), the
//! region's topics from `RULES_DIR/poll-topics.toml`, and a task closing polls at their end
//! time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use otklik_domain::{PollId, Timestamp};
use otklik_polls::{
    POLL_TOPICS_FILE, Polls, PollsConfig, PollsError, VoterKey, group_digits, load_poll_topics,
};
use otklik_store::Store;

use crate::commands::now;
use crate::config::Config;

/// `otklik polls …`.
#[derive(Debug, clap::Subcommand)]
pub enum PollsCommand {
    /// Every poll: id, status, kind, ballots, schedule, organisation, title.
    List,
    /// One poll's definition: audience, schedule, options, life cycle.
    Show {
        /// The poll's id.
        id: i64,
    },
    /// The results as a table, or exported with `--format csv|xlsx --out FILE`.
    Results {
        /// The poll's id.
        id: i64,
        /// Export format (without it: a table on standard output).
        #[arg(long, value_enum, requires = "out")]
        format: Option<ExportFormat>,
        /// The file to write.
        #[arg(long, requires = "format")]
        out: Option<PathBuf>,
    },
    /// The anomaly report: bursts of votes from one network or one territory.
    Anomalies {
        /// The poll's id.
        id: i64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Export formats of `otklik polls results`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// UTF-8 CSV with a header row.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// The voter-hash key file in the data directory.
const KEY_FILE: &str = "poll.key";
const KEY_LEN: usize = 32;

/// The key of `DATA_DIR/poll.key`, created with 32 random bytes on first use.
fn voter_key(cfg: &Config) -> anyhow::Result<VoterKey> {
    let path = cfg.data_dir.join(KEY_FILE);
    let bytes = if path.exists() {
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?
    } else {
        let mut key = vec![0u8; KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
        write_private(&path, &key).with_context(|| format!("cannot write {}", path.display()))?;
        tracing::info!(file = %path.display(), "created the poll voter-hash key");
        key
    };
    VoterKey::new(bytes).with_context(|| {
        format!(
            "{} is not a usable key (at least {KEY_LEN} bytes); votes already cast are tied to it",
            path.display()
        )
    })
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

/// The polls service over `store` with this installation's key and topics.
pub fn service(cfg: &Config, store: &Store) -> anyhow::Result<Polls> {
    let mut config = PollsConfig::new(voter_key(cfg)?);
    let topics = cfg.rules_dir.join(POLL_TOPICS_FILE);
    if topics.exists() {
        config.topics = load_poll_topics(&topics).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(Polls::new(store.clone(), config))
}

/// [`service`] for `otklik serve`, with a task closing polls whose end time has come (every
/// 30 seconds, for as long as the process runs).
pub fn for_serve(cfg: &Config, store: &Store) -> anyhow::Result<Polls> {
    let polls = service(cfg, store)?;
    let closer = polls.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            match closer.close_due(now()).await {
                Ok(closed) if !closed.is_empty() => {
                    tracing::info!(polls = ?closed, "polls closed at their end time");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot close due polls"),
            }
        }
    });
    Ok(polls)
}

/// `otklik rules check`'s part: validates `RULES_DIR/poll-topics.toml` when present and prints
/// its count; `false` (after printing the problem) when it is invalid.
pub fn check_topics(rules_dir: &Path) -> bool {
    let path = rules_dir.join(POLL_TOPICS_FILE);
    if !path.exists() {
        return true;
    }
    match load_poll_topics(&path) {
        Ok(t) => {
            println!("poll topics:     {}", t.len());
            true
        }
        Err(e) => {
            eprintln!("{e}");
            false
        }
    }
}

fn time(t: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(t.millis())
        .map(|ts| {
            ts.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(3)))
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| t.millis().to_string())
}

async fn details(polls: &Polls, id: i64) -> anyhow::Result<otklik_polls::PollDetails> {
    match polls.details(PollId(id)).await {
        Ok(d) => Ok(d),
        Err(PollsError::NotFound(_)) => anyhow::bail!("no poll with id {id}"),
        Err(e) => Err(e.into()),
    }
}

/// Runs `otklik polls …`.
pub async fn run(cfg: &Config, cmd: PollsCommand) -> anyhow::Result<ExitCode> {
    let store = crate::collect::open_store(cfg).await?;
    let polls = service(cfg, &store)?;
    let orgs = store.organisations().await?;
    let org_code = |id| {
        orgs.iter()
            .find(|o| o.id == id)
            .map_or_else(|| id.to_string(), |o| o.code.clone())
    };
    match cmd {
        PollsCommand::List => {
            let mut all = store.polls().await?;
            all.sort_by_key(|p| p.id);
            if all.is_empty() {
                println!("no polls");
            }
            for p in all {
                let ballots = polls.turnout(p.id).await?;
                println!(
                    "{:<5} {:<10} {:<9} ballots={:<6} {} — {}  {:<10} {}",
                    p.id.get(),
                    p.status.code(),
                    p.kind.code(),
                    ballots,
                    time(p.starts_at),
                    time(p.ends_at),
                    org_code(p.organisation),
                    p.title
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PollsCommand::Show { id } => {
            let d = details(&polls, id).await?;
            println!("poll {}: {}", d.poll.id, d.poll.title);
            println!(
                "status:        {} ({})",
                d.poll.status.code(),
                d.poll.status.label_ru()
            );
            println!(
                "kind:          {} ({})",
                d.poll.kind.code(),
                d.poll.kind.label_ru()
            );
            println!("organisation:  {}", org_code(d.poll.organisation));
            println!("topic:         {}", d.topic.as_deref().unwrap_or("—"));
            println!(
                "territory:     {}",
                d.poll
                    .territory
                    .map_or_else(|| "anyone".to_owned(), |t| t.to_string())
            );
            println!(
                "minimum age:   {}",
                d.min_age.map_or_else(|| "—".to_owned(), |a| a.to_string())
            );
            println!(
                "schedule:      {} — {} (UTC+3)",
                time(d.poll.starts_at),
                time(d.poll.ends_at)
            );
            println!(
                "choices:       min {} max {}",
                d.min_choices
                    .map_or_else(|| "—".to_owned(), |n| n.to_string()),
                d.max_choices
                    .map_or_else(|| "—".to_owned(), |n| n.to_string())
            );
            if let Some(cap) = d.budget_cap {
                println!("budget cap:    {} руб.", group_digits(cap));
            }
            println!(
                "re-vote:       {}",
                if d.allow_revote { "yes" } else { "no" }
            );
            println!("results:       {}", d.results.code());
            println!("ballots:       {}", polls.turnout(d.poll.id).await?);
            if let Some(note) = &d.review_note {
                println!("review note:   {note}");
            }
            for (o, i) in d.options.iter().zip(1..) {
                match o.cost {
                    Some(c) => println!(
                        "  {i:>2}. [{}] {} — {} руб.",
                        o.id,
                        o.label,
                        group_digits(c)
                    ),
                    None => println!("  {i:>2}. [{}] {}", o.id, o.label),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PollsCommand::Results { id, format, out } => {
            let d = details(&polls, id).await?;
            let t = now();
            let hidden = |e: &PollsError| matches!(e, PollsError::ResultsHidden(_));
            let result = match (format, &out) {
                (Some(f), Some(path)) => {
                    let bytes = match f {
                        ExportFormat::Csv => polls.export_csv(d.poll.id, t).await,
                        ExportFormat::Xlsx => polls.export_xlsx(d.poll.id, t).await,
                    };
                    bytes.map(|b| {
                        std::fs::write(path, &b)
                            .with_context(|| format!("cannot write {}", path.display()))
                            .map(|()| {
                                println!("wrote {} ({} bytes)", path.display(), b.len());
                            })
                    })
                }
                _ => polls.results(d.poll.id, t).await.map(|r| {
                    println!(
                        "poll {}: {} — {} ballot(s), {}",
                        r.poll,
                        r.title,
                        r.ballots,
                        if r.final_results {
                            "final"
                        } else {
                            "provisional"
                        }
                    );
                    for row in otklik_polls::results::table(&r) {
                        let cells: Vec<String> = row
                            .iter()
                            .map(|c| match c {
                                otklik_polls::xlsx::Cell::Text(s) => s.clone(),
                                otklik_polls::xlsx::Cell::Int(i) => i.to_string(),
                                otklik_polls::xlsx::Cell::Number(x) => x.to_string(),
                                otklik_polls::xlsx::Cell::Empty => String::new(),
                            })
                            .collect();
                        println!("{}", cells.join("\t"));
                    }
                    Ok(())
                }),
            };
            match result {
                Ok(written) => {
                    written?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) if hidden(&e) => {
                    eprintln!(
                        "the results of poll {id} are hidden until it closes ({} UTC+3); ballots so far: {}",
                        time(d.poll.ends_at),
                        polls.turnout(d.poll.id).await?
                    );
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            }
        }
        PollsCommand::Anomalies { id, json } => {
            let d = details(&polls, id).await?;
            let report = polls.anomaly_report(d.poll.id, Timestamp(0)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "poll {}: {} accepted vote(s); a burst is {} votes from one network or {} from one territory within {} s",
                report.poll,
                report.votes,
                report.rules.network_votes,
                report.rules.territory_votes,
                report.rules.window_ms / 1000
            );
            if report.bursts.is_empty() {
                println!("no bursts");
            }
            for b in &report.bursts {
                let source = match &b.source {
                    otklik_polls::BurstSource::Network(h) => format!("network {h}"),
                    otklik_polls::BurstSource::Territory(t) => format!("territory {t}"),
                };
                println!(
                    "{source:<28} {} — {}  {} votes",
                    time(b.from),
                    time(b.to),
                    b.votes
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
