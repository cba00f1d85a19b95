#!/usr/bin/env bash
# Issue 24: the sustained scenario with half the tenants on Stripe against an all-MercadoPago
# run, alternating, in one invocation, with the bare endpoint as this run's baseline:
#   bench/stripe-sustained.sh [sqlite|pg] [rate] [rounds]
# Needs `cargo build --release -p cobro -p cobro-loadgen` in this checkout and, for pg,
# PostgreSQL on 127.0.0.1:5432 (trust auth; PG_PARAMS is appended to the URL). The instant fake
# plays MercadoPago's payments and Stripe's PaymentIntents. Not part of CI.
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
export COBRO_STRIPE_API_BASE=http://127.0.0.1:9091 COBRO_STRIPE_SECRET_KEY=sk_test_bench \
  COBRO_STRIPE_WEBHOOK_SECRET=whsec_bench
for round in $(seq "$ROUNDS"); do
  for stripe in 0 25; do
    if [[ $DB == pg ]]; then
      psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cobro_stripe WITH (FORCE)" -c "CREATE DATABASE cobro_stripe"
      url=postgres://postgres@127.0.0.1:5432/cobro_stripe${PG_PARAMS:-}
    else
      url="sqlite://$WORK/$(date +%s%N).db?mode=rwc"
    fi
    start_build target/release "$url" http://127.0.0.1:9091
    $LOAD sustained --rate "$RATE" --duration 20 --tenants 50 --stripe-tenants "$stripe" \
      --admin-token bench-admin --label "round $round, $stripe of 50 tenants on Stripe" \
      | grep -vE "^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$"
    stop_build
  done
done
