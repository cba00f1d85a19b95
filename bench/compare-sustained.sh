#!/usr/bin/env bash
# Two builds of Cobro side by side on the sustained scenario (issue 9), alternating, in one run,
# with the bare endpoint as this run's baseline:
#   bench/compare-sustained.sh <target/release of build A> <target/release of build B> [sqlite|pg|pg-tls] [rates...]
# Needs `cobro-load` built in this checkout (cargo build --release -p cobro-loadgen) and, for pg,
# PostgreSQL on 127.0.0.1:5432 (trust auth); PG_PARAMS is appended to its URL (e.g.
# PG_PARAMS='?sslmode=disable'). `pg-tls` (issue 26) runs each build twice per rate, without TLS
# (`sslmode=disable`) and with it (`sslmode=require`, against the server's own certificate), so
# TLS's cost is read off one run. CONNECTIONS sets the load's connections (64). Each run prints
# the CPU seconds Cobro and PostgreSQL used. `A_ENV` / `B_ENV` (words `NAME=value`) are extra
# settings for build A / B, so one build can be compared with itself under two settings.
# Not part of CI.
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
case $DB in
  pg-tls) MODES=("?sslmode=disable" "?sslmode=require") ;;
  pg) MODES=("${PG_PARAMS:-}") ;;
  *) MODES=("") ;;
esac
for rate in ${RATES[*]}; do
  for key in A B; do
    bin=${!key}; env_of=${key}_ENV
    for mode in "${MODES[@]}"; do
      if [[ $DB == pg* ]]; then
        psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cobro_compare WITH (FORCE)" -c "CREATE DATABASE cobro_compare"
        url=postgres://postgres@127.0.0.1:5432/cobro_compare$mode
      else
        url="sqlite://$WORK/$(date +%s%N).db?mode=rwc"
      fi
      BUILD_ENV=${!env_of:-} start_build "$bin" "$url" http://127.0.0.1:9091
      cpu_cobro=$(cpu_seconds cobro); cpu_pg=$(cpu_seconds postgres)
      $LOAD sustained --rate "$rate" --duration 20 --connections "${CONNECTIONS:-64}" \
        --admin-token bench-admin --label "$key $bin$mode ${!env_of:-}, $rate/s" \
        | grep -vE "^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$"
      echo "   cpu seconds: cobro $(echo "$(cpu_seconds cobro) - $cpu_cobro" | bc), postgres $(echo "$(cpu_seconds postgres) - $cpu_pg" | bc)"
      stop_build
    done
  done
done
