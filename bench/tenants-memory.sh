#!/usr/bin/env bash
# The `tenants` scenario of bench/run.sh alone, with extra environment for Cobro, on the binaries
# of <bin dir> (a build to compare): 10,000 tenants, one webhook each so each has a live actor,
# VmRSS before and after. Not part of CI.
#   bench/tenants-memory.sh target/release
#   bench/tenants-memory.sh target/release MALLOC_ARENA_MAX=1
#   WRAP="heaptrack -o /tmp/cobro-heap" bench/tenants-memory.sh <a glibc-malloc build>
set -euo pipefail
BIN=$1; shift
WRAP=${WRAP:-}
WORK=$(mktemp -d)
"$BIN/cobro-load" fake-mp --bind 127.0.0.1:9091 & FAKE=$!
env COBRO_BIND=127.0.0.1:8080 COBRO_DATABASE_URL="sqlite://$WORK/tenants.db?mode=rwc" \
  COBRO_ADMIN_TOKEN=bench-admin COBRO_MP_API_BASE=http://127.0.0.1:9091 \
  COBRO_INGEST_PER_TENANT_PER_SECOND=0 COBRO_MP_REQUESTS_PER_SECOND=100000 \
  RUST_LOG=error "$@" $WRAP "$BIN/cobro" serve >"$WORK/cobro.log" 2>&1 & PID=$!
cleanup() { kill -TERM "$PID" 2>/dev/null || true; sleep 3; kill -9 "$PID" "$FAKE" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 200); do curl -sf http://127.0.0.1:8080/ready >/dev/null && break; sleep 0.05; done
kill -0 "$PID" # a server already on :8080 would be measured instead: stop here
"$BIN/cobro-load" tenants --count 10000 --wake --pid "$PID" --admin-token bench-admin --secret bench-secret | grep RSS
