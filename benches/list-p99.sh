#!/usr/bin/env bash
# Message list latency (issue 6 target: a message list page at 100,000 messages, p99 <= 100 ms)
# measured with wrk on loopback against a fresh SQLite file holding N messages (default
# 100,000, written directly by the example server): the ЦУР moderator's moderation queue
# (first page and a deeper page by keyset cursor), the social-network incidents, a ministry
# executor's «work» queue, a text search, and GET /api/v1/messages (JSON API list).
#
# Usage: benches/list-p99.sh [SECONDS] [CONNECTIONS] [THREADS] [MESSAGES]
# Needs wrk and curl. The server is the release build of
# crates/otklik-web/examples/list_server.rs (built here; CARGO_TARGET_DIR is honoured).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-8}
threads=${3:-2}
messages=${4:-100000}
port=${OTKLIK_BENCH_PORT:-18089}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
target="${CARGO_TARGET_DIR:-target}"
if [[ -z "${OTKLIK_LIST_SERVER:-}" ]]; then
    cargo build --release -q -p otklik-web --example list_server
    OTKLIK_LIST_SERVER="$target/release/examples/list_server"
fi
work=$(mktemp -d)
server_pid=
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
$OTKLIK_LIST_SERVER --db "$work/otklik.db" --listen "127.0.0.1:$port" --messages "$messages" \
    >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 1200); do
    grep -q '^LISTENING=' "$work/server.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.1
done
cat "$work/server.err" >&2
base="http://127.0.0.1:$port"
moderator=$(sed -n 's/^COOKIE_MODERATOR=//p' "$work/server.out")
executor=$(sed -n 's/^COOKIE_EXECUTOR=//p' "$work/server.out")
token=$(sed -n 's/^TOKEN=//p' "$work/server.out")
[[ -n "$moderator" && -n "$token" ]] || { echo "the server printed no session" >&2; exit 1; }
echo "== $(sqlite3 "$work/otklik.db" 'SELECT COUNT(*) FROM messages' 2>/dev/null || echo "$messages") messages; database $(du -h "$work/otklik.db" | cut -f1)"

# A deeper page: follow «Следующая» five times.
path="/office/queue/moderation"
for _ in 1 2 3 4 5; do
    next=$(curl -s -H "Cookie: $moderator" "$base$path" | grep -o 'href="[^"]*" rel="next"' | head -1 | sed 's/^href="//; s/" rel="next"$//; s/&amp;/\&/g')
    [[ -n "$next" ]] && path="$next"
done
deep="$path"

check() { # the page must be a real 200 list, not a sign-in redirect
    local code
    code=$(curl -s -o "$work/page.html" -w '%{http_code}' -H "$1" "$base$2")
    [[ "$code" == 200 ]] || { echo "GET $2 -> $code" >&2; exit 1; }
}

run() { # label header path
    check "$2" "$3"
    local out
    out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -H "$2" "$base$3")
    local p50 p99 rps
    p50=$(awk '/Latency Distribution/{f=1} f && $1=="50%"{print $2; exit}' <<<"$out")
    p99=$(awk '/Latency Distribution/{f=1} f && $1=="99%"{print $2; exit}' <<<"$out")
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    printf '%-48s p50 %-9s p99 %-9s %8s req/s   (load %s)\n' "$1" "$p50" "$p99" "$rps" "$(cut -d' ' -f1-3 /proc/loadavg)"
    [[ -z "${OTKLIK_BENCH_VERBOSE:-}" ]] || echo "$out"
}

echo "== wrk: ${secs}s per page, ${conns} connections, ${threads} threads"
wrk -t1 -c2 -d2s -H "Cookie: $moderator" "$base/office/queue/moderation" >/dev/null
run "moderation queue, page 1 (ЦУР)" "Cookie: $moderator" "/office/queue/moderation"
run "moderation queue, page 6 (keyset)" "Cookie: $moderator" "$deep"
run "incidents queue (social networks)" "Cookie: $moderator" "/office/queue/incidents"
run "work queue (ministry executor)" "Cookie: $executor" "/office/queue/work"
run "moderation queue, text search «люк»" "Cookie: $moderator" "/office/queue/moderation?q=%D0%BB%D1%8E%D0%BA"
run "dashboard (queue counts)" "Cookie: $moderator" "/office"
run "GET /api/v1/messages?limit=50" "Authorization: Bearer $token" "/api/v1/messages?limit=50"
