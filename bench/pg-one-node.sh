#!/usr/bin/env bash
# bench/pg-one-node.sh <bin dir> <label>: processing on PostgreSQL with one node, for comparing two builds: 1 node on a fresh PostgreSQL db, 1000/s for 10 s over 50 tenants.
# Needs `cobro-load fake-mp --bind 127.0.0.1:9091` running and PostgreSQL on 127.0.0.1:5432.
# Example: build the older commit in a worktree with its own CARGO_TARGET_DIR, then run this
# script once with each build's target/release, twice each.
BIN=$1; LABEL=$2
psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cobro_cmp WITH (FORCE)" -c "CREATE DATABASE cobro_cmp" 2>/dev/null
env COBRO_BIND=127.0.0.1:8080 COBRO_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cobro_cmp COBRO_ADMIN_TOKEN=bench-admin \
  COBRO_MP_API_BASE=http://127.0.0.1:9091 COBRO_INGEST_PER_TENANT_PER_SECOND=0 COBRO_MP_REQUESTS_PER_SECOND=100000 RUST_LOG=error $BIN/cobro serve >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 200); do curl -sf 127.0.0.1:8080/ready >/dev/null && break; sleep 0.05; done
succ() { curl -s 127.0.0.1:8080/metrics | awk '/^cobro_events\{status="success"\}/{print $2+0}'; }
t0=$(date +%s.%N)
$BIN/cobro-load ingest --connections 64 --duration 10 --rate 1000 --tenants 50 --admin-token bench-admin --secret bench-secret --label "$LABEL" | grep -E "==|throughput|latency"
during=$(succ)
while [[ $(succ) -lt 10000 ]]; do sleep 0.2; [[ $(echo "$(date +%s.%N) - $t0 > 120" | bc) == 1 ]] && break; done
t1=$(date +%s.%N)
echo "   success at end of load: $during; all $(succ) after $(echo "$t1 - $t0" | bc) s"
kill -9 $PID; wait $PID 2>/dev/null
