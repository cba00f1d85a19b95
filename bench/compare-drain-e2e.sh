#!/usr/bin/env bash
# Two builds of Cobro side by side (issue 9) on SQLite, in one run:
#   - webhook → paymentStatusUpdated latency at 1,000/s over 100 tenants (fresh server each);
#   - drain: 100,000 pending events at start (filled once, with MercadoPago hanging, then the
#     same database file copied for each build), timed from start to nothing pending.
#   bench/compare-drain-e2e.sh <target/release of build A> <target/release of build B>
# Needs `cobro-load` built in this checkout (cargo build --release -p cobro-loadgen). Not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2
LOAD=target/release/cobro-load
source bench/lib.sh
echo "machine: $(nproc) cores; $(date -u +%FT%TZ)"
$LOAD fake-mp --bind 127.0.0.1:9091 & PIDS+=($!)
$LOAD fake-mp --bind 127.0.0.1:9092 --delay-ms 600000 & PIDS+=($!)
$LOAD bare --bind 127.0.0.1:9090 & PIDS+=($!)
sleep 0.3
$LOAD ingest --connections 64 --duration 10 --label "bare endpoint (baseline of this run)" \
  --target http://127.0.0.1:9090 --no-setup | grep -E "==|throughput|latency"
for bin in "$A" "$B"; do
  start_build "$bin" "sqlite://$WORK/e2e-$(date +%s%N).db?mode=rwc" http://127.0.0.1:9091
  $LOAD e2e --tenants 100 --rate 1000 --duration 10 --admin-token bench-admin | sed "s|^==|== $bin:|"
  stop_build
done
echo "== filling 100,000 pending events (MercadoPago hangs)"
start_build "$A" "sqlite://$WORK/drain.db?mode=rwc" http://127.0.0.1:9092
$LOAD ingest --connections 64 --duration 120 --requests 100000 --tenants 100 --first-user-id 400000 \
  --admin-token bench-admin --label "filling" | grep -E "throughput"
stop_build
for bin in "$A" "$B"; do
  cp "$WORK/drain.db" "$WORK/run.db"; rm -f "$WORK/run.db-wal" "$WORK/run.db-shm"
  [[ -f $WORK/drain.db-wal ]] && cp "$WORK/drain.db-wal" "$WORK/run.db-wal"
  # Write back what the fill and the copy left dirty first: otherwise the first build's fsyncs
  # wait for that writeback (ext4) and its drain took 4x as long as the second's.
  sync
  t0=$(date +%s.%N)
  start_build "$bin" "sqlite://$WORK/run.db?mode=rwc" http://127.0.0.1:9091
  wait_drained
  t1=$(date +%s.%N)
  done_count=$(curl -s http://127.0.0.1:8080/metrics | awk '/^cobro_events\{status="success"\}/{print $2}')
  echo "== $bin: drained $done_count events in $(echo "$t1 - $t0" | bc) s from start: $(echo "$done_count / ($t1 - $t0)" | bc) events/s"
  curl -s http://127.0.0.1:8080/metrics | awk '/^cobro_write_cycle_seconds_sum/{s+=$2} /^cobro_write_cycle_seconds_count/{c+=$2}
    END{printf "   writer: %d cycles taking %.1f s in all\n", c, s}'
  stop_build
done
