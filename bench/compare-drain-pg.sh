#!/usr/bin/env bash
# Two builds of Cobro side by side on PostgreSQL's drain (issue 10), in one run: 100,000 pending
# events over 100 tenants (filled once, with MercadoPago hanging), then copied for each build
# (CREATE DATABASE ... TEMPLATE) and timed from process start to nothing pending.
#   bench/compare-drain-pg.sh <target/release of build A> <target/release of build B>
# Needs `cobro-load` built in this checkout (cargo build --release -p cobro-loadgen) and
# PostgreSQL on 127.0.0.1:5432 (trust auth). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2
LOAD=target/release/cobro-load
source bench/lib.sh
PSQL=(psql -h 127.0.0.1 -U postgres -d test -q)
echo "machine: $(nproc) cores; $(date -u +%FT%TZ)"
$LOAD fake-mp --bind 127.0.0.1:9091 & PIDS+=($!)
$LOAD fake-mp --bind 127.0.0.1:9092 --delay-ms 600000 & PIDS+=($!)
$LOAD bare --bind 127.0.0.1:9090 & PIDS+=($!)
sleep 0.3
$LOAD ingest --connections 64 --duration 10 --label "bare endpoint (baseline of this run)" \
  --target http://127.0.0.1:9090 --no-setup | grep -E "==|throughput|latency"
echo "== filling 100,000 pending events (MercadoPago hangs)"
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS cobro_drain_fill WITH (FORCE)" -c "CREATE DATABASE cobro_drain_fill"
start_build "$A" "postgres://postgres@127.0.0.1:5432/cobro_drain_fill" http://127.0.0.1:9092
$LOAD ingest --connections 64 --duration 120 --requests 100000 --tenants 100 --first-user-id 400000 \
  --admin-token bench-admin --label "filling" | grep -E "throughput"
stop_build
for bin in "$A" "$B"; do
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS cobro_drain_run WITH (FORCE)" \
    -c "CREATE DATABASE cobro_drain_run TEMPLATE cobro_drain_fill" -c "CHECKPOINT"
  t0=$(date +%s.%N)
  start_build "$bin" "postgres://postgres@127.0.0.1:5432/cobro_drain_run" http://127.0.0.1:9091
  wait_drained
  t1=$(date +%s.%N)
  done_count=$(curl -s http://127.0.0.1:8080/metrics | awk '/^cobro_events\{status="success"\}/{print $2}')
  echo "== $bin: drained $done_count events in $(echo "$t1 - $t0" | bc) s from start: $(echo "$done_count / ($t1 - $t0)" | bc) events/s"
  curl -s http://127.0.0.1:8080/metrics | awk '/^cobro_write_cycle_seconds_sum/{s+=$2} /^cobro_write_cycle_seconds_count/{c+=$2}
    END{printf "   writer: %d cycles taking %.1f s in all (%d writer tasks)\n", c, s, 4}'
  stop_build
done
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS cobro_drain_run WITH (FORCE)" -c "DROP DATABASE IF EXISTS cobro_drain_fill WITH (FORCE)"
