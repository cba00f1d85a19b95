#!/usr/bin/env bash
# Runs every scenario of docs/BENCHMARKS.md on this machine and prints the figures.
#   bench/run.sh              all scenarios
#   bench/run.sh ingest       only the ingest ones (SQLite, PostgreSQL, bare baseline)
#   bench/run.sh cluster      1, 2, 3 nodes on one PostgreSQL, and take-over after SIGKILL
#   bench/run.sh sustained    processing while webhooks keep arriving, SQLite and PostgreSQL
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth) for the PostgreSQL rows. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
only="${1:-all}"
cargo build --release -q -p cobro -p cobro-loadgen
BIN=target/release
source bench/lib.sh
ADMIN=bench-admin
SECRET=bench-secret

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $(date -u +%FT%TZ)"

wait_ready() { for _ in $(seq 1 200); do curl -sf "$1/ready" >/dev/null && return 0; sleep 0.05; done; echo "not ready: $1"; exit 1; }
start_cobro() { # start_cobro <database url> <mp base> [extra env...]
  local db=$1 mp=$2; shift 2
  env COBRO_BIND=127.0.0.1:8080 COBRO_DATABASE_URL="$db" COBRO_ADMIN_TOKEN=$ADMIN \
      COBRO_MP_API_BASE="$mp" COBRO_INGEST_PER_TENANT_PER_SECOND=0 COBRO_MP_REQUESTS_PER_SECOND=100000 \
      RUST_LOG=error "$@" $BIN/cobro serve >"$WORK/cobro.log" 2>&1 &
  COBRO_PID=$!
  PIDS+=("$COBRO_PID")
  wait_ready http://127.0.0.1:8080
}
stop_cobro() { kill -9 "$COBRO_PID" 2>/dev/null || true; wait "$COBRO_PID" 2>/dev/null || true; }
load() { $BIN/cobro-load "$@" --admin-token $ADMIN --secret $SECRET; }
fresh_pg() { psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cobro_bench WITH (FORCE)" -c "CREATE DATABASE cobro_bench"; }

$BIN/cobro-load fake-mp --bind 127.0.0.1:9091 & PIDS+=($!)
$BIN/cobro-load bare --bind 127.0.0.1:9090 & PIDS+=($!)
sleep 0.5

if [[ $only == all || $only == ingest ]]; then
  echo; echo "### ingest, SQLite (synchronous=FULL), processing on"
  start_cobro "sqlite://$WORK/cobro.db?mode=rwc" http://127.0.0.1:9091
  # Latency at a fixed rate first, on a fresh server; again at the end, with the backlog the
  # saturation runs leave for the tenant actors to work through.
  load ingest --connections 64 --duration 10 --rate 5000 --label "cobro ingest, SQLite, fresh"
  load ingest --connections 128 --duration 10 --label "bare endpoint" --target http://127.0.0.1:9090 --no-setup
  load ingest --connections 128 --duration 10 --label "cobro ingest, SQLite"
  load ingest --connections 256 --duration 10 --label "cobro ingest, SQLite"
  load ingest --connections 64 --duration 10 --rate 5000 --label "cobro ingest, SQLite, with a processing backlog"
  stop_cobro
  echo; echo "### ingest, PostgreSQL"
  fresh_pg
  start_cobro "postgres://postgres@127.0.0.1:5432/cobro_bench" http://127.0.0.1:9091
  load ingest --connections 64 --duration 10 --label "cobro ingest, PostgreSQL"
  load ingest --connections 128 --duration 10 --label "cobro ingest, PostgreSQL"
  stop_cobro
fi

if [[ $only == all || $only == sustained ]]; then
  # A user's capacity: events brought to `success` per second while webhooks keep arriving.
  echo; echo "### sustained processing (50 tenants, instant MP fake)"
  load ingest --connections 64 --duration 10 --label "bare endpoint (baseline of this run)" --target http://127.0.0.1:9090 --no-setup
  for rate in 2000 3000 6000; do
    start_cobro "sqlite://$WORK/sustained-$rate.db?mode=rwc" http://127.0.0.1:9091
    load sustained --rate $rate --duration 20 --label "SQLite (synchronous=FULL), $rate/s"
    stop_cobro
  done
  for rate in 2000 3000; do
    fresh_pg
    start_cobro "postgres://postgres@127.0.0.1:5432/cobro_bench" http://127.0.0.1:9091
    load sustained --rate $rate --duration 20 --label "PostgreSQL, $rate/s"
    stop_cobro
  done
fi

if [[ $only == all || $only == e2e ]]; then
  echo; echo "### webhook → paymentStatusUpdated, SQLite"
  start_cobro "sqlite://$WORK/e2e.db?mode=rwc" http://127.0.0.1:9091
  load e2e --tenants 100 --rate 1000 --duration 10
  stop_cobro
fi

if [[ $only == all || $only == tenants ]]; then
  echo; echo "### 10,000 tenants with live actors, SQLite"
  start_cobro "sqlite://$WORK/tenants.db?mode=rwc" http://127.0.0.1:9091
  load tenants --count 10000 --wake --pid "$COBRO_PID"
  stop_cobro
fi

if [[ $only == all || $only == drain ]]; then
  echo; echo "### 100,000 pending events at start, SQLite"
  $BIN/cobro-load fake-mp --bind 127.0.0.1:9092 --delay-ms 600000 & PIDS+=($!)
  sleep 0.3
  # MP hangs: one event per tenant is in flight, the rest wait in the database.
  start_cobro "sqlite://$WORK/drain.db?mode=rwc" http://127.0.0.1:9092
  load ingest --connections 64 --duration 60 --requests 100000 --tenants 100 --first-user-id 400000 --label "filling" | grep -E "==|throughput"
  stop_cobro
  pending=$(sqlite3 "$WORK/drain.db" "select count(*) from webhook_events where status in ('pending','processing')" 2>/dev/null || echo "?")
  echo "   events waiting at restart: $pending"
  t0=$(date +%s.%N)
  start_cobro "sqlite://$WORK/drain.db?mode=rwc" http://127.0.0.1:9091
  wait_drained
  t1=$(date +%s.%N)
  echo "   drained in $(echo "$t1 - $t0" | bc) s (including start-up and recovery): $(echo "$pending / ($t1 - $t0)" | bc) events/s"
  stop_cobro
fi

if [[ $only == all || $only == cluster ]]; then
  echo; echo "### cluster on PostgreSQL: 1, 2, 3 nodes (all sharing these cores with PostgreSQL)"
  load ingest --connections 64 --duration 10 --label "bare endpoint (baseline of this run)" --target http://127.0.0.1:9090 --no-setup
  $BIN/cobro-load cluster --cobro $BIN/cobro --mp http://127.0.0.1:9091 --nodes 1,2,3 \
    --tenants 50 --rate 1000 --duration 10 --admin-token $ADMIN --secret $SECRET
fi
