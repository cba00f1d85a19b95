#!/usr/bin/env bash
# Issue 27: what trace export costs, on the sustained scenario (issue 9), in one run with the bare
# endpoint as its baseline. Three settings, alternating, ROUNDS times (2):
#   base — build A (before traces existed), COBRO_OTLP_ENDPOINT unset;
#   off  — build B, unset (must equal base: "nothing is slower");
#   on   — build B exporting to a local stand-in collector (`cobro-load otlp-sink`), which
#          decodes every export; the spans it received per second are printed.
#   bench/traces-sustained.sh <target/release of A> <target/release of B> [sqlite|pg] [rates...]
# Needs `cobro-load` built in this checkout (cargo build --release -p cobro-loadgen). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; DB=${3:-sqlite}; shift 3 || shift $#
RATES=("${@:-2000}")
LOAD=target/release/cobro-load
source bench/lib.sh
echo "machine: $(nproc) cores; $(date -u +%FT%TZ); database $DB"
$LOAD fake-mp --bind 127.0.0.1:9091 & PIDS+=($!)
$LOAD bare --bind 127.0.0.1:9090 & PIDS+=($!)
$LOAD otlp-sink --bind 127.0.0.1:4318 & PIDS+=($!)
sleep 0.3
$LOAD ingest --connections 64 --duration 10 --label "bare endpoint (baseline of this run)" \
  --target http://127.0.0.1:9090 --no-setup | grep -E "==|throughput|latency"
spans() { curl -s http://127.0.0.1:4318/count | sed -E 's/.*"spans":([0-9]+).*/\1/'; }
for round in $(seq "${ROUNDS:-2}"); do
  for rate in ${RATES[*]}; do
    for setting in base off on; do
      case $setting in
        base) bin=$A; BUILD_ENV= ;;
        off) bin=$B; BUILD_ENV= ;;
        on) bin=$B; BUILD_ENV="COBRO_OTLP_ENDPOINT=http://127.0.0.1:4318" ;;
      esac
      if [[ $DB == pg ]]; then
        psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cobro_compare WITH (FORCE)" -c "CREATE DATABASE cobro_compare"
        url=postgres://postgres@127.0.0.1:5432/cobro_compare
      else
        url="sqlite://$WORK/$(date +%s%N).db?mode=rwc"
      fi
      BUILD_ENV=$BUILD_ENV start_build "$bin" "$url" http://127.0.0.1:9091
      before=$(spans); cpu=$(cpu_seconds cobro)
      $LOAD sustained --rate "$rate" --duration 20 --connections "${CONNECTIONS:-64}" \
        --admin-token bench-admin --label "round $round, $setting ($bin), $rate/s" \
        | grep -vE "^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$"
      echo "   cpu seconds: cobro $(echo "$(cpu_seconds cobro) - $cpu" | bc); spans received: $(( $(spans) - before ))"
      stop_build
    done
  done
done
