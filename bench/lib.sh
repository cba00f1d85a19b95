# Shared by the bench scripts (sourced, not run): a work directory and the processes started,
# all removed on exit; waiting for a server's backlog to empty.
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
