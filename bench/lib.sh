# Shared by the bench scripts (sourced, not run): a work directory and the processes started,
# all removed on exit; starting a build of Cobro; waiting for a server's backlog to empty.
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# Returns once the server on :8080 has no pending or processing event (from its /metrics).
wait_drained() {
  while :; do
    left=$(curl -s http://127.0.0.1:8080/metrics | awk '/^cobro_events\{status="(pending|processing)"\}/{s+=$2} END{print s+0}')
    [[ $left == 0 ]] && return
    sleep 0.2
  done
}

# Starts the `cobro` of a build folder on :8080 against a database URL and a MercadoPago base,
# as every comparison runs it; sets PID and returns once it is ready. `BUILD_ENV` (words
# `NAME=value`, split on spaces) is added last, so it overrides these settings for one run.
start_build() { # start_build <folder holding cobro> <database url> <mp base>
  # shellcheck disable=SC2086 # BUILD_ENV is a list of words on purpose
  env COBRO_BIND=127.0.0.1:8080 COBRO_DATABASE_URL="$2" COBRO_ADMIN_TOKEN=bench-admin \
    COBRO_MP_API_BASE="$3" COBRO_INGEST_PER_TENANT_PER_SECOND=0 COBRO_MP_REQUESTS_PER_SECOND=100000 \
    RUST_LOG=error ${BUILD_ENV:-} "$1/cobro" serve >"$WORK/cobro.log" 2>&1 &
  PID=$!; PIDS+=("$PID")
  for _ in $(seq 400); do curl -sf http://127.0.0.1:8080/ready >/dev/null && return; sleep 0.05; done
  echo "not ready"; exit 1
}
stop_build() { kill -9 "$PID"; wait "$PID" 2>/dev/null || true; }

# CPU seconds (user + system) used so far by the processes named $1 (e.g. `postgres`, `cobro`),
# read from /proc: sampled before and after a run, the difference is what the run cost each side.
# (A process that exits in between takes its share with it; Cobro holds its connections.)
cpu_seconds() { # cpu_seconds <process name>
  local ticks
  ticks=$(getconf CLK_TCK)
  for p in $(pgrep -x "$1"); do cat "/proc/$p/stat" 2>/dev/null; done |
    awk -v t="$ticks" '{ s += $14 + $15 } END { printf "%.1f", s / t }'
}
