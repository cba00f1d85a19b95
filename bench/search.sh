#!/usr/bin/env bash
# Issue 13: search on a million events, on a fresh SQLite file and then on a fresh PostgreSQL
# database (created here and dropped after). Prints p50/p95/max per kind of search (see
# docs/BENCHMARKS.md, "Search on a million events"). Takes about five minutes on 2 cores; do not
# compile anything while it runs.
#   bench/search.sh [events] [postgres server url]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
EVENTS=${1:-1000000}
SERVER=${2:-postgres://postgres@127.0.0.1:5432}
cargo build --release -q -p cobro-loadgen --bin cobro-search-bench
BENCH=target/release/cobro-search-bench

echo "== SQLite, $EVENTS events"
"$BENCH" --database-url "sqlite://$WORK/search.db?mode=rwc" --events "$EVENTS"

DB="search_bench_$RANDOM$RANDOM"
psql "$SERVER/postgres" -qc "CREATE DATABASE $DB"
trap 'psql "$SERVER/postgres" -qc "DROP DATABASE IF EXISTS $DB"; cleanup' EXIT
echo "== PostgreSQL, $EVENTS events"
"$BENCH" --database-url "$SERVER/$DB" --events "$EVENTS"
