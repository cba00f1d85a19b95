#!/usr/bin/env bash
# The property-based contract test (SPEC §15, issue 11): schemathesis reads Cobro's own
# /api/openapi.json, generates valid and invalid requests for every operation and checks each
# answer against the document (status codes, bodies, headers, 405 for undeclared methods,
# authentication). 0 failures or this script fails.
#   tests/contract/run.sh [postgres://.../db]     (SQLite in a temporary file without one)
# Needs `cargo build --bin cobro` done; installs schemathesis into target/contract-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VENV=$ROOT/target/contract-venv
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r tests/contract/requirements.txt
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

MP_PORT=$(free_port)
python3 tests/contract/fake_mp.py "$MP_PORT" & PIDS+=($!)
PORT=$(free_port)
ADMIN="contract-admin-$RANDOM$RANDOM"
DB_URL=${1:-"sqlite://$WORK/cobro.db?mode=rwc"}
env COBRO_BIND="127.0.0.1:$PORT" COBRO_DATABASE_URL="$DB_URL" COBRO_ADMIN_TOKEN="$ADMIN" \
  COBRO_MP_API_BASE="http://127.0.0.1:$MP_PORT" COBRO_MP_WEBHOOK_SECRET=contract-secret \
  COBRO_MP_CLIENT_ID=4096647727026581 COBRO_MP_CLIENT_SECRET=contract-oauth-secret \
  COBRO_OUTBOUND_ALLOW_PRIVATE=true \
  RUST_LOG=warn target/debug/cobro serve >"$WORK/cobro.log" 2>&1 & PIDS+=($!)
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$BASE/ready" >/dev/null && break; sleep 0.1; done

# A tenant to reach, with an order, so that reads find something.
TENANT=$(curl -sf -X POST "$BASE/api/tenants" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/json' \
  -d '{"name":"Contract shop","mp_user_id":"777000111","mp_access_token":"APP_USR-contract"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -X POST "$BASE/api/tenants/$TENANT/orders" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/json' -d '{"amount":10,"currency":"ARS","description":"seed"}' >/dev/null
# Another, for DELETE to remove (tests/contract/schemathesis.toml).
DELETABLE=$(curl -sf -X POST "$BASE/api/tenants" -H "Authorization: Bearer $ADMIN" \
  -H 'content-type: application/json' -d '{"name":"Contract shop to delete"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

# /ws is a WebSocket upgrade, which OpenAPI cannot describe beyond its handshake answers;
# tests/it/e2e_ws.rs and e2e_contract.rs cover it.
# ensure_resource_availability (ST302, "created resource not found") assumes a stateful step
# addresses what the step before it created; here `tid` is fixed for every operation
# (schemathesis.toml), so the step after `POST /api/tenants` addresses a configured tenant instead
# (at times the one DELETE removed) and the check blames the creation. Creating then reading and
# changing a tenant is tested in tests/it/e2e_api.rs and e2e_onboarding.rs.
status=0
COBRO_CONTRACT_TENANT=$TENANT COBRO_CONTRACT_DELETABLE=$DELETABLE "$VENV/bin/schemathesis" --config-file tests/contract/schemathesis.toml \
  run "$BASE/api/openapi.json" -H "Authorization: Bearer $ADMIN" --checks all \
  --exclude-checks ensure_resource_availability --exclude-path /ws --seed 1 || status=$?
if [ $status -ne 0 ]; then
  echo "--- cobro log"; tail -50 "$WORK/cobro.log"
fi
exit $status
