#!/usr/bin/env bash
# Two builds of Cobro side by side on the sustained scenario (issue 9), alternating, in one run,
# with the bare endpoint as this run's baseline:
#   bench/compare-sustained.sh <target/release of build A> <target/release of build B> [sqlite|pg] [rates...]
# Needs `cobro-load` built in this checkout (cargo build --release -p cobro-loadgen) and, for pg,
# PostgreSQL on 127.0.0.1:5432 (trust auth); PG_PARAMS is appended to its URL (e.g.
# PG_PARAMS='?sslmode=disable'). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; DB=${3:-sqlite}; shift 3 || shift $#
RATES=("${@:-2000 3000}")
LOAD=target/release/cobro-load
source bench/lib.sh
echo "machine: $(nproc) cores; $(date -u +%FT%TZ); database $DB"
$LOAD fake-mp --bind 127.0.0.1:9091 & PIDS+=($!)
$LOAD bare --bind 127.0.0.1:9090 & PIDS+=($!)
sleep 0.3
$LOAD ingest --connections 64 --duration 10 --label "bare endpoint (baseline of this run)" \
  --target http://127.0.0.1:9090 --no-setup | grep -E "==|throughput|latency"
for rate in ${RATES[*]}; do
  for bin in "$A" "$B"; do
    if [[ $DB == pg ]]; then
      psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cobro_compare WITH (FORCE)" -c "CREATE DATABASE cobro_compare"
      url=postgres://postgres@127.0.0.1:5432/cobro_compare${PG_PARAMS:-}
    else
      url="sqlite://$WORK/$(date +%s%N).db?mode=rwc"
    fi
    start_build "$bin" "$url" http://127.0.0.1:9091
    $LOAD sustained --rate "$rate" --duration 20 --admin-token bench-admin --label "$bin, $rate/s" \
      | grep -vE "^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$"
    stop_build
  done
done
