#!/usr/bin/env bash
# Issue 26, item 4: the ingest ratio of two builds of Cobro in one run. Each build, on a fresh
# SQLite file with processing on (the instant MercadoPago stand-in), is driven flat out by 64
# connections for 10 s; the bare endpoint is driven the same way between them, and each build's
# acknowledged/s is divided by the bare endpoint's mean of the run:
#   bench/compare-ingest.sh <target/release of build A> <target/release of build B> [rounds]
# Needs `cobro-load` built in this checkout (cargo build --release -p cobro-loadgen). Prints the
# CPU seconds Cobro used per run and the events processed while loaded. `A_ENV` / `B_ENV` (words
# `NAME=value`) are extra settings for build A / B, so one build can be compared with itself
# under two settings. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; ROUNDS=${3:-2}
LOAD=target/release/cobro-load
CONNECTIONS=${CONNECTIONS:-64}
source bench/lib.sh
echo "machine: $(nproc) cores; $(date -u +%FT%TZ); $CONNECTIONS connections, 10 s flat out"
$LOAD fake-mp --bind 127.0.0.1:9091 & PIDS+=($!)
$LOAD bare --bind 127.0.0.1:9090 & PIDS+=($!)
sleep 0.3
rate_of() { awk '/throughput/{for(i=1;i<=NF;i++) if ($i ~ /^[0-9.]+$/) {print $i; exit}}'; }
processed() { curl -s http://127.0.0.1:8080/metrics | awk '/^cobro_events\{status="success"\}/{print $2+0}'; }
bare() {
  $LOAD ingest --connections "$CONNECTIONS" --duration 10 --target http://127.0.0.1:9090 --no-setup \
    --label bare | tee "$WORK/bare.out" | grep -E "throughput|latency"
  rate_of <"$WORK/bare.out" >>"$WORK/bare.rates"
}
# Rates by build, keyed A and B (not by folder, so a build can be compared with itself).
declare -A SUM
for round in $(seq "$ROUNDS"); do
  bare
  for key in A B; do
    bin=${!key}
    env_of=${key}_ENV
    BUILD_ENV=${!env_of:-} start_build "$bin" "sqlite://$WORK/$(date +%s%N).db?mode=rwc" http://127.0.0.1:9091
    cpu=$(cpu_seconds cobro)
    $LOAD ingest --connections "$CONNECTIONS" --duration 10 --admin-token bench-admin \
      --label "$bin, round $round" | tee "$WORK/run.out" | grep -E "==|throughput|latency"
    echo "   processed while loaded: $(processed); cpu seconds: cobro $(echo "$(cpu_seconds cobro) - $cpu" | bc)"
    SUM[$key]="${SUM[$key]:-} $(rate_of <"$WORK/run.out")"
    stop_build
  done
done
bare
bare_mean=$(awk '{s+=$1} END {printf "%.0f", s/NR}' "$WORK/bare.rates")
echo "bare endpoint mean: $bare_mean req/s"
for key in A B; do
  echo "$key (${!key}): acknowledged/s ${SUM[$key]} → ratio $(echo "${SUM[$key]}" | awk -v b="$bare_mean" '{s=0; for(i=1;i<=NF;i++) s+=$i; printf "%.3f", s/NF/b}')"
done
