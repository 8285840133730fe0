#!/usr/bin/env bash
# Archive search (otklik-search, tantivy) against PostgreSQL full-text search (a `russian`
# tsvector column with a GIN index) on the same generated posts, same machine, same run.
#
# Usage:
#   benches/search-vs-postgres.sh [POSTS] [POSTGRES_ADMIN_URL]
# Defaults: 1000000 posts, postgres://postgres@127.0.0.1:55999/postgres. The database
# `otklik_search_bench` is created on that server when missing (no server is started).
# Environment: CARGO_TARGET_DIR (release build dir), INDEX_DIR (default
# $TMPDIR/otklik-search-bench), THREADS (indexing threads, default 2), ROUNDS (default 3).
#
# Steps, each printing one summary line: generation speed; bulk index of POSTS posts
# (indicatif progress; time to searchable); COPY of the same posts into PostgreSQL with the
# tsvector and a GIN index; the same 50 queries (1–3 terms, common ones included; 10 hits
# with a highlighted fragment + counts of 7 facets over all matches) on both engines, one
# warm-up round then ROUNDS rounds: p50/p99 per engine, the ratio, tantivy's resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-1000000}
admin_url=${2:-postgres://postgres@127.0.0.1:55999/postgres}
db=otklik_search_bench
bench_url="${admin_url%/*}/$db"
index_dir=${INDEX_DIR:-${TMPDIR:-/tmp}/otklik-search-bench}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
target=${CARGO_TARGET_DIR:-target}

cargo build --release -p otklik-search --example search_vs_postgres
bin="$target/release/examples/search_vs_postgres"

if ! psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql "$admin_url" -qc "CREATE DATABASE $db"
fi

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
"$bin" generate --posts "$posts"
/usr/bin/time -f "index process: %e s wall, %M KiB max RSS" \
  "$bin" index --posts "$posts" --index "$index_dir" --threads "$threads"
"$bin" load-pg --posts "$posts" --postgres "$bench_url"
psql "$bench_url" -tAc "SELECT 'postgres table + GIN: ' || pg_size_pretty(pg_total_relation_size('search_bench_posts'))"
echo "load average before queries: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" query --index "$index_dir" --postgres "$bench_url" --rounds "$rounds"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
