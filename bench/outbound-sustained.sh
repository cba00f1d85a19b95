#!/usr/bin/env bash
# Issue 25: the sustained scenario with outbound events off (no endpoint) and on (one
# platform-wide endpoint for payment.updated, a local receiver that verifies every signature),
# alternating, in one invocation, with the bare endpoint as this run's baseline:
#   bench/outbound-sustained.sh [sqlite|pg] [rate] [rounds]
# Needs `cargo build --release -p cobro -p cobro-loadgen` in this checkout and, for pg,
# PostgreSQL on 127.0.0.1:5432 (trust auth; PG_PARAMS is appended to the URL). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-sqlite}; RATE=${2:-2000}; ROUNDS=${3:-2}
LOAD=target/release/cobro-load
source bench/lib.sh
echo "machine: $(nproc) cores; $(date -u +%FT%TZ); database $DB; $RATE/s offered"
$LOAD fake-mp --bind 127.0.0.1:9091 & PIDS+=($!)
$LOAD bare --bind 127.0.0.1:9090 & PIDS+=($!)
sleep 0.3
$LOAD ingest --connections 64 --duration 10 --label "bare endpoint (baseline of this run)" \
  --target http://127.0.0.1:9090 --no-setup | grep -E "==|throughput|latency"
export COBRO_OUTBOUND_ALLOW_PRIVATE=true
for round in $(seq "$ROUNDS"); do
  for outbound in off on; do
    if [[ $DB == pg ]]; then
      psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cobro_outbound WITH (FORCE)" -c "CREATE DATABASE cobro_outbound"
      url=postgres://postgres@127.0.0.1:5432/cobro_outbound${PG_PARAMS:-}
    else
      url="sqlite://$WORK/$(date +%s%N).db?mode=rwc"
    fi
    start_build target/release "$url" http://127.0.0.1:9091
    receiver=()
    [[ $outbound == on ]] && receiver=(--outbound-receiver 127.0.0.1:9092)
    $LOAD sustained --rate "$RATE" --duration 20 --tenants 50 "${receiver[@]}" \
      --admin-token bench-admin --label "round $round, outbound $outbound" \
      | grep -vE "^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$"
    stop_build
  done
done
