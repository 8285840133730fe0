#!/usr/bin/env bash
# The project's test command: makes sure a PostgreSQL server is reachable on loopback, then runs
# `cargo test --workspace --locked` with any extra arguments passed through, e.g.
#
#   scripts/test.sh                      # everything
#   scripts/test.sh -p otklik-store      # one crate
#   scripts/test.sh -p otklik-store -- messages::
#
# The storage tests run on SQLite and on PostgreSQL; here PostgreSQL is required
# (OTKLIK_REQUIRE_POSTGRES=1), so a missing server fails the run instead of skipping.
#
# PostgreSQL comes from, in order:
#   1. OTKLIK_TEST_POSTGRES_URL, if set (an admin URL: tests create and drop databases there);
#   2. a private throw-away cluster under target/pg, started here and stopped on exit. Its
#      binaries are Debian's (/usr/lib/postgresql/*/bin); if there are none and we are root,
#      `apt-get install postgresql` installs them. The cluster listens on 127.0.0.1 only, on a
#      free port from 55432 up, trusts loopback connections and runs without fsync.
#
# Browser tests drive Debian's headless chromium through chromedriver (apt packages chromium
# and chromium-driver, installed here when missing and we are root).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '[scripts/test.sh] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# Prints a URL with any password replaced by ***.
redact() { sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#; s#([?&][Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]=)[^&]*#\1***#'; }

# Newest Debian PostgreSQL bin folder, else the one holding pg_ctl on PATH.
find_pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        echo "$dir"
        return
    fi
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
    fi
}

# Runs a command as the owner of the cluster: `postgres` when we are root (initdb refuses
# root), ourselves otherwise.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        # From /, which the postgres user can always enter (it may not enter the checkout).
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
        fi
    else
        "$@"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_private_cluster() {
    PG_BIN=$(find_pg_bin)
    if [[ -z "$PG_BIN" ]]; then
        [[ $(id -u) -eq 0 ]] ||
            die "PostgreSQL is not installed and we are not root: install it (apt-get install postgresql) or set OTKLIK_TEST_POSTGRES_URL"
        log "PostgreSQL not found; installing it with apt-get (Debian package 'postgresql')"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends postgresql >/dev/null
        PG_BIN=$(find_pg_bin)
        [[ -n "$PG_BIN" ]] || die "apt-get installed postgresql but initdb/pg_ctl are still missing"
    fi
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 ||
            die "running as root needs the 'postgres' OS user (the Debian package creates it)"
    fi

    # The cluster lives in target/pg unless the postgres user cannot reach it (e.g. a checkout
    # under a private home folder): then in a folder of its own under /tmp.
    PG_ROOT="$ROOT/target/pg"
    mkdir -p "$PG_ROOT"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$PG_ROOT"
        if ! as_pg test -w "$PG_ROOT"; then
            PG_ROOT="${TMPDIR:-/tmp}/otklik-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
            mkdir -p "$PG_ROOT"
            chown postgres: "$PG_ROOT"
            chmod 700 "$PG_ROOT"
        fi
    fi
    PGDATA="$PG_ROOT/data"
    PG_LOG="$PG_ROOT/server.log"
    local major
    major=$("$PG_BIN/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')

    # Reuse the cluster of an earlier run; stop one a killed run left running; re-init one
    # that is broken or of another major version.
    if [[ -f "$PGDATA/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
        log "stopping a cluster left running by an earlier run"
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [[ -d "$PGDATA" && "$(cat "$PGDATA/PG_VERSION" 2>/dev/null || true)" != "$major" ]]; then
        log "re-initialising $PGDATA"
        rm -rf "$PGDATA"
    fi
    if [[ ! -d "$PGDATA" ]]; then
        as_pg "$PG_BIN/initdb" -D "$PGDATA" --username=postgres --auth=trust \
            --encoding=UTF8 --no-locale --no-instructions >"$PG_ROOT/initdb.log" 2>&1 ||
            {
                cat "$PG_ROOT/initdb.log" >&2
                die "initdb failed"
            }
    fi

    PG_PORT=${OTKLIK_TEST_PG_PORT:-55432}
    while port_in_use "$PG_PORT"; do
        PG_PORT=$((PG_PORT + 1))
        [[ $PG_PORT -lt 55532 ]] || die "no free port in 55432..55531"
    done
    # The log file must be writable by the cluster's owner.
    : >"$PG_LOG"
    [[ $(id -u) -ne 0 ]] || chown postgres: "$PG_LOG"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG_LOG" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories='' \
            -c max_connections=200 -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off" >/dev/null; then
        tail -n 30 "$PG_LOG" >&2 || true
        die "PostgreSQL did not start"
    fi
    trap stop_private_cluster EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    OTKLIK_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"

    # Drop databases that interrupted earlier runs left behind.
    local stale
    stale=$("$PG_BIN/psql" "$OTKLIK_TEST_POSTGRES_URL" -Atqc \
        "SELECT datname FROM pg_database WHERE datname LIKE 'otklik\_t\_%'" 2>/dev/null || true)
    for db in $stale; do
        "$PG_BIN/psql" "$OTKLIK_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
            >/dev/null 2>&1 || true
    done

    local version
    version=$("$PG_BIN/postgres" --version)
    log "using a private PostgreSQL cluster: $version, data $PGDATA, 127.0.0.1:$PG_PORT"
}

stop_private_cluster() {
    local status=$?
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 ||
        log "warning: could not stop the PostgreSQL cluster in $PGDATA"
    log "stopped the private PostgreSQL cluster"
    exit "$status"
}

# Headless Chromium and ChromeDriver for the browser tests: Debian's packages (nothing may
# download a browser). Installed when missing and we are root; the browser tests are required
# whenever the driver is present (OTKLIK_REQUIRE_BROWSER=1), skipped loudly otherwise.
ensure_browser() {
    if [[ ! -x /usr/bin/chromedriver || ! -x /usr/bin/chromium ]]; then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            log "installing Debian's chromium and chromium-driver for the browser tests"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -q >/dev/null
            apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null ||
                die "apt-get install chromium chromium-driver failed"
        else
            log "WARNING: no /usr/bin/chromedriver and not root: browser tests will be skipped"
            return
        fi
    fi
    export OTKLIK_CHROMEDRIVER=/usr/bin/chromedriver
    export OTKLIK_CHROMIUM=/usr/bin/chromium
    export OTKLIK_REQUIRE_BROWSER=1
    log "browser tests: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
}
ensure_browser

if [[ -n "${OTKLIK_TEST_POSTGRES_URL:-}" ]]; then
    log "using PostgreSQL from OTKLIK_TEST_POSTGRES_URL: $(printf '%s' "$OTKLIK_TEST_POSTGRES_URL" | redact)"
else
    start_private_cluster
fi
export OTKLIK_TEST_POSTGRES_URL
export OTKLIK_REQUIRE_POSTGRES=1

# `--workspace` unless the caller picked packages (cargo would otherwise test them all).
scope=(--workspace)
for arg in "$@"; do
    case "$arg" in
    --) break ;;
    -p | -p* | --package | --package=*) scope=() ;;
    esac
done

cmd=(cargo test "${scope[@]}" --locked "$@")
log "${cmd[*]}"
"${cmd[@]}"
