//! The archive-search benchmark against PostgreSQL full-text search (driven by
//! `benches/search-vs-postgres.sh`; see BENCHMARKS.md, «Archive search»).
//!
//! ```text
//! search_vs_postgres generate --posts N [--seed S]
//!     generation speed (posts/s), nothing kept
//! search_vs_postgres index --posts N --index DIR [--threads T] [--heap-mb M] [--seed S]
//!     bulk-indexes N generated posts into a fresh DIR: time to searchable, time with merges
//! search_vs_postgres load-pg --posts N --postgres URL [--seed S]
//!     the same posts into table search_bench_posts (COPY; a `russian` tsvector column, GIN)
//! search_vs_postgres query --index DIR [--postgres URL] [--rounds R]
//!     the same query set on both engines: p50/p99 per engine, the ratio, resident memory
//! ```
//!
//! A query on either engine returns the 10 best hits by relevance with a highlighted
//! fragment, the total, and the counts of 7 facets (category, subcategory, territory,
//! organisation, network, status, period) over all matches.

#![allow(clippy::print_stderr)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use otklik_search::generate::{Generator, GeneratorOptions};
use otklik_search::{Facet, IndexerOptions, SearchIndex, SearchQuery, month_of};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, Row};

/// 1–3-term queries, common terms included (the most frequent problems of the generator).
const QUERIES: &[&str] = &[
    "яма",
    "дорога",
    "вода",
    "мусор",
    "свет",
    "автобус",
    "снег",
    "отопление",
    "лифт",
    "поликлиника",
    "спасибо",
    "администрация",
    "улица",
    "ремонт",
    "крыша",
    "светофор",
    "тротуар",
    "площадка",
    "Ленина",
    "Северск",
    "нет воды",
    "горячая вода",
    "уборка снега",
    "улица Ленина",
    "детская площадка",
    "вывоз мусора",
    "ремонт дороги",
    "скорая помощь",
    "уличное освещение",
    "контейнерная площадка",
    "отопительный сезон",
    "запись врачу",
    "ямы дороге",
    "батареи холодные",
    "лифт работает",
    "ржавая вода",
    "проспект Мира",
    "микрорайон Солнечный",
    "аварийное дерево",
    "открытый люк",
    "нет горячей воды",
    "мусор не вывозят",
    "автобус расписанию остановке",
    "ремонт дороги Северск",
    "яма проезжей части",
    "свет нет ночи",
    "снег тротуар пешеходам",
    "течет крыша подъезд",
    "уборка снега улиц",
    "вода улица Ленина",
];

const FACETS: [Facet; 7] = [
    Facet::Category,
    Facet::Subcategory,
    Facet::Territory,
    Facet::Organisation,
    Facet::Network,
    Facet::Status,
    Facet::Period,
];

#[derive(Debug)]
struct Args {
    command: String,
    posts: u64,
    seed: u64,
    index: Option<String>,
    postgres: Option<String>,
    threads: usize,
    heap_mb: usize,
    rounds: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let command = it
        .next()
        .context("expected a command: generate|index|load-pg|query")?;
    let mut args = Args {
        command,
        posts: 1_000_000,
        seed: 2026,
        index: None,
        postgres: None,
        threads: 2,
        heap_mb: 512,
        rounds: 3,
    };
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--posts" => args.posts = value.parse()?,
            "--seed" => args.seed = value.parse()?,
            "--index" => args.index = Some(value),
            "--postgres" => args.postgres = Some(value),
            "--threads" => args.threads = value.parse()?,
            "--heap-mb" => args.heap_mb = value.parse()?,
            "--rounds" => args.rounds = value.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(args)
}

fn generator(seed: u64) -> Generator {
    Generator::with_options(GeneratorOptions {
        seed,
        ..GeneratorOptions::default()
    })
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn proc_status(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn cmd_generate(args: &Args) {
    let started = Instant::now();
    let mut bytes = 0usize;
    for doc in generator(args.seed).take(args.posts as usize) {
        bytes += doc.text.len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generate: {} posts in {:.2} s = {:.0} posts/s (mean text {:.0} bytes)",
        args.posts,
        secs,
        args.posts as f64 / secs,
        bytes as f64 / args.posts as f64
    );
}

fn cmd_index(args: &Args) -> anyhow::Result<()> {
    let dir = args.index.as_deref().context("--index DIR is required")?;
    let index = SearchIndex::rebuild_in(dir)?;
    let mut indexer = index.indexer(IndexerOptions {
        threads: args.threads,
        heap_bytes: args.heap_mb << 20,
    })?;
    let pb = bar(args.posts, "index");
    let started = Instant::now();
    for (i, doc) in generator(args.seed).take(args.posts as usize).enumerate() {
        indexer.add_new(&doc)?;
        if i % 10_000 == 0 {
            pb.set_position(i as u64);
        }
    }
    pb.finish_and_clear();
    let added = started.elapsed();
    indexer.commit()?;
    let searchable = started.elapsed();
    indexer.finish()?;
    let merged = started.elapsed();
    let index = SearchIndex::open(dir)?;
    anyhow::ensure!(
        index.num_docs() == args.posts,
        "indexed {} docs",
        index.num_docs()
    );
    println!(
        "index: {} posts, {} threads: added {:.1} s, searchable (committed) {:.1} s = {:.0} posts/s, \
         merges done {:.1} s; index {:.0} MiB; peak RSS {:.0} MiB",
        args.posts,
        args.threads,
        added.as_secs_f64(),
        searchable.as_secs_f64(),
        args.posts as f64 / searchable.as_secs_f64(),
        merged.as_secs_f64(),
        mib(dir_size(std::path::Path::new(dir))),
        mib(proc_status("VmHWM:").unwrap_or(0)),
    );
    Ok(())
}

async fn pg_connect(url: &str) -> anyhow::Result<PgConnection> {
    let options: PgConnectOptions = url.parse()?;
    Ok(options.connect().await?)
}

/// Text-format COPY escaping.
fn copy_escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

async fn cmd_load_pg(args: &Args) -> anyhow::Result<()> {
    let url = args
        .postgres
        .as_deref()
        .context("--postgres URL is required")?;
    let mut conn = pg_connect(url).await?;
    conn.execute(
        "DROP TABLE IF EXISTS search_bench_posts; \
         CREATE TABLE search_bench_posts ( \
           id bigint PRIMARY KEY, text text NOT NULL, published_at bigint NOT NULL, \
           category text, subcategory text, territory text, organisation text, network text, \
           status text, period text, \
           tsv tsvector GENERATED ALWAYS AS (to_tsvector('russian', text)) STORED)",
    )
    .await?;
    let pb = bar(args.posts, "COPY ");
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw(
            "COPY search_bench_posts (id, text, published_at, category, subcategory, territory, \
             organisation, network, status, period) FROM STDIN",
        )
        .await?;
    let mut buf = String::with_capacity(1 << 20);
    for (i, d) in generator(args.seed).take(args.posts as usize).enumerate() {
        buf.push_str(&d.id.to_string());
        buf.push('\t');
        copy_escape(&mut buf, &d.text);
        buf.push('\t');
        buf.push_str(&d.published_at.to_string());
        for v in [
            &d.category,
            &d.subcategory,
            &d.territory,
            &d.organisation,
            &d.network,
            &d.status,
        ] {
            buf.push('\t');
            match v {
                Some(v) => copy_escape(&mut buf, v),
                None => buf.push_str("\\N"),
            }
        }
        buf.push('\t');
        buf.push_str(&month_of(d.published_at));
        buf.push('\n');
        if buf.len() > (1 << 20) - 4096 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
            pb.set_position(i as u64);
        }
    }
    copy.send(buf.as_bytes()).await?;
    copy.finish().await?;
    pb.finish_and_clear();
    let copied = started.elapsed();
    let gin = Instant::now();
    conn.execute("SET maintenance_work_mem = '512MB'").await?;
    conn.execute("CREATE INDEX search_bench_posts_tsv ON search_bench_posts USING gin (tsv)")
        .await?;
    let gin = gin.elapsed();
    conn.execute("VACUUM ANALYZE search_bench_posts").await?;
    println!(
        "load-pg: {} posts: COPY with the tsvector {:.1} s, GIN index {:.1} s, total {:.1} s",
        args.posts,
        copied.as_secs_f64(),
        gin.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    conn.close().await?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 50.0), percentile(&samples, 99.0));
    let max = samples.last().copied().unwrap_or_default();
    let mean = samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    println!(
        "{name:<10} n={:<4} p50 {:>8.2} ms  p99 {:>8.2} ms  mean {:>8.2} ms  max {:>8.2} ms",
        samples.len(),
        ms(p50),
        ms(p99),
        ms(mean),
        ms(max)
    );
    (p50, p99)
}

fn tantivy_query(text: &str) -> SearchQuery {
    let mut q = SearchQuery::new(text).limit(10);
    for f in FACETS {
        q = q.facet(f);
    }
    q
}

const PG_HITS: &str = "SELECT id, ts_rank(tsv, q) AS rank, \
     ts_headline('russian', text, q, 'MaxFragments=1, MaxWords=30, MinWords=10') AS snippet \
     FROM search_bench_posts, plainto_tsquery('russian', $1) q WHERE tsv @@ q \
     ORDER BY rank DESC, id LIMIT 10";
const PG_FACETS: &str = "SELECT category, subcategory, territory, organisation, network, \
     status, period, count(*) AS n \
     FROM search_bench_posts, plainto_tsquery('russian', $1) q WHERE tsv @@ q \
     GROUP BY GROUPING SETS ((category), (subcategory), (territory), (organisation), \
     (network), (status), (period))";

async fn pg_query(conn: &mut PgConnection, text: &str) -> anyhow::Result<(u64, usize)> {
    let hits = sqlx::query(PG_HITS)
        .bind(text)
        .fetch_all(&mut *conn)
        .await?;
    let facets = sqlx::query(PG_FACETS)
        .bind(text)
        .fetch_all(&mut *conn)
        .await?;
    // The total: the category counts (every post has one).
    let mut total = 0u64;
    for row in &facets {
        if row.try_get::<Option<String>, _>("category")?.is_some() {
            total += u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
        }
    }
    Ok((total, hits.len()))
}

async fn cmd_query(args: &Args) -> anyhow::Result<()> {
    let dir = args.index.as_deref().context("--index DIR is required")?;
    let rss_before = proc_status("VmRSS:").unwrap_or(0);
    let index = SearchIndex::open(dir)?;
    println!(
        "query: {} docs, {} queries × {} rounds (after one warm-up round), 10 hits + snippets + 7 facets each",
        index.num_docs(),
        QUERIES.len(),
        args.rounds
    );
    let mut totals = Vec::new();
    for q in QUERIES {
        totals.push(index.search(&tantivy_query(q))?.total);
    }
    let mut samples = Vec::new();
    for _ in 0..args.rounds {
        for q in QUERIES {
            let started = Instant::now();
            let r = index.search(&tantivy_query(q))?;
            samples.push(started.elapsed());
            std::hint::black_box(r);
        }
    }
    let rss = proc_status("VmRSS:").unwrap_or(0);
    let hwm = proc_status("VmHWM:").unwrap_or(0);
    let matched: u64 = totals.iter().sum();
    println!(
        "matches per query: mean {:.0}, max {} ({:?})",
        matched as f64 / totals.len() as f64,
        totals.iter().max().copied().unwrap_or(0),
        QUERIES[totals
            .iter()
            .enumerate()
            .max_by_key(|(_, t)| **t)
            .map_or(0, |(i, _)| i)]
    );
    let (t50, t99) = summary("tantivy", samples);
    println!(
        "tantivy memory while serving: RSS {:.0} MiB (before opening {:.0} MiB), peak {:.0} MiB",
        mib(rss),
        mib(rss_before),
        mib(hwm)
    );

    let Some(url) = args.postgres.as_deref() else {
        return Ok(());
    };
    let mut conn = pg_connect(url).await?;
    let mut mismatches = Vec::new();
    for (q, t) in QUERIES.iter().zip(&totals) {
        let (total, _) = pg_query(&mut conn, q).await?;
        if total != *t {
            mismatches.push(format!("{q}: tantivy {t}, postgres {total}"));
        }
    }
    let mut samples = Vec::new();
    for _ in 0..args.rounds {
        for q in QUERIES {
            let started = Instant::now();
            std::hint::black_box(pg_query(&mut conn, q).await?);
            samples.push(started.elapsed());
        }
    }
    let (p50, p99) = summary("postgres", samples);
    println!(
        "ratio postgres/tantivy: p50 {:.1}×, p99 {:.1}×",
        ms(p50) / ms(t50).max(1e-9),
        ms(p99) / ms(t99).max(1e-9)
    );
    println!(
        "totals differing between the engines (stemmers and stop lists differ): {} of {}",
        mismatches.len(),
        QUERIES.len()
    );
    for m in mismatches.iter().take(10) {
        println!("  {m}");
    }
    conn.close().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    match args.command.as_str() {
        "generate" => cmd_generate(&args),
        "index" => cmd_index(&args)?,
        "load-pg" => cmd_load_pg(&args).await?,
        "query" => cmd_query(&args).await?,
        other => bail!("unknown command {other}"),
    }
    Ok(())
}
