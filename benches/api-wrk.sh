#!/usr/bin/env bash
# Submission API throughput (issue 6 target: >= 2,000 req/s) measured with wrk on loopback:
# POST /api/v1/messages with a bearer token and a unique Idempotency-Key per request, each a
# real submission through the workflow (routing, deadline, duplicate search, audit) into a
# SQLite file; then GET /api/v1/messages/{id} for comparison.
#
# Usage: benches/api-wrk.sh [SECONDS] [CONNECTIONS] [THREADS]
# Needs wrk (`apt-get install -y wrk`). The server is $OTKLIK_API_SERVER if set (a command
# that takes --db and --listen and prints TOKEN=… and LISTENING=… on stdout), else the
# release build of crates/otklik-web/examples/api_server.rs (built here).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conns=${2:-32}
threads=${3:-2}
port=${OTKLIK_BENCH_PORT:-18088}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
if [[ -z "${OTKLIK_API_SERVER:-}" ]]; then
    cargo build --release -q -p otklik-web --example api_server
    OTKLIK_API_SERVER="${CARGO_TARGET_DIR:-target}/release/examples/api_server"
fi
work=$(mktemp -d)
server_pid=
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
$OTKLIK_API_SERVER --db "$work/otklik.db" --listen "127.0.0.1:$port" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 300); do
    grep -q '^LISTENING=' "$work/server.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.1
done
token=$(sed -n 's/^TOKEN=//p' "$work/server.out")
base="http://127.0.0.1:$port"
[[ -n "$token" ]] || { echo "the server printed no token" >&2; cat "$work/server.err" >&2; exit 1; }

cat >"$work/submit.lua" <<'LUA'
-- Unique Idempotency-Key per request: "<run>-<thread>-<n>"; varied texts and territories.
local threads = {}
local next_id = 0
function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end
local texts = {
    "Яма на дороге у дома %d, колёса пробиты, просим отремонтировать покрытие",
    "Не вывозят мусор во дворе дома %d уже неделю, контейнеры переполнены",
    "Не работает уличное освещение на улице у дома %d, вечером темно и опасно",
    "Открытый люк на тротуаре у дома %d, дети могут упасть",
}
local places = { "seversk-tsentralny", "seversk-zavodskoy", "seversk-okrug" }
local cats = { "roads.infrastructure", "roads.road_marking" }
function init(args)
    token = args[1]
    run = args[2]
    n = 0
end
function request()
    n = n + 1
    local body = string.format(
        '{"text":"%s","category":"%s","territory":"%s"}',
        string.format(texts[(n % #texts) + 1], n * 7 + tid),
        cats[(n % #cats) + 1],
        places[(n % #places) + 1])
    return wrk.format("POST", "/api/v1/messages", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = run .. "-" .. tid .. "-" .. n,
    }, body)
end
LUA

cat >"$work/read.lua" <<'LUA'
function init(args) token = args[1]; n = 0 end
function request()
    n = n + 1
    return wrk.format("GET", "/api/v1/messages/" .. ((n % 1000) + 1), {
        ["Authorization"] = "Bearer " .. token,
    })
end
LUA

echo "== warm-up (3 s)"
wrk -t1 -c4 -d3s -s "$work/submit.lua" "$base" -- "$token" "warm" >/dev/null
echo "== POST /api/v1/messages: ${secs}s, ${conns} connections, ${threads} threads (load: $(cut -d' ' -f1-3 /proc/loadavg))"
wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$work/submit.lua" "$base" -- "$token" "run$$"
echo "== GET /api/v1/messages/{id}: ${secs}s, ${conns} connections, ${threads} threads"
[[ -n "${OTKLIK_BENCH_NO_READ:-}" ]] || wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$work/read.lua" "$base" -- "$token"
echo "== database: $(du -h "$work/otklik.db" | cut -f1) (+WAL)"
