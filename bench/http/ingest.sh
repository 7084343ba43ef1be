#!/usr/bin/env bash
# Ingest over the region API's HTTP/1.1 layer: starts `fanout pushsim` and `fanout serve`
# (the example config, embedded engine) for each binary given, runs fanout_ingest_bench
# against it (one kept-alive connection, a fresh connection per request, C parallel
# kept-alive connections; /healthz and PUT of distinct real DWD alerts), and interleaves
# the binaries ROUNDS times so they are measured side by side on this noisy machine.
#
#   bench/http/ingest.sh [FANOUT_BINARY...]     (default build/release/apps/fanout/fanout)
#   ROUNDS=3 REQUESTS=200 CONNECTIONS=8 bench/http/ingest.sh old/fanout new/fanout
# The client is build/release/bench/http/fanout_ingest_bench (built if missing; CLIENT=path
# overrides).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$REPO/build/release}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200}
CONNECTIONS=${CONNECTIONS:-8}
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=("$BUILD/apps/fanout/fanout")
if [[ -z ${CLIENT:-} ]]; then
  cmake --build "$BUILD" --target fanout_ingest_bench >/dev/null
  CLIENT=$BUILD/bench/http/fanout_ingest_bench
fi
ALERT=$REPO/data/cap/dwd-update-thunderstorm-de.xml

work=$(mktemp -d /tmp/fanout-ingest.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_one() {  # BINARY TAG
  local bin=$1 tag=$2 sim api d
  sim=$(free_port); api=$(free_port); d=$work/$tag
  mkdir -p "$d"
  "$bin" pushsim --listen "127.0.0.1:$sim" >"$d/sim.log" 2>&1 &
  local sim_pid=$!
  FANOUT_DATA_DIR=$REPO/data "$bin" config example >"$d/fanout.toml" 2>/dev/null
  "$bin" serve --config "$d/fanout.toml" --set "http.listen=127.0.0.1:$api" \
    --set "push.apns.endpoint=http://127.0.0.1:$sim" --set "push.fcm.endpoint=http://127.0.0.1:$sim" \
    --set "store.data_dir=$d/data" --set log.level=warn >"$d/serve.log" 2>&1 &
  local serve_pid=$!
  pids+=("$sim_pid" "$serve_pid")
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$api/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
  local token
  token=$(grep -o 'AP2 = "[0-9a-f]*"' "$d/fanout.toml" | head -1 | sed 's/.*"\(.*\)"/\1/')
  "$CLIENT" --url "http://127.0.0.1:$api" --token "$token" --alert "$ALERT" --provider AP2 \
    --requests "$REQUESTS" --connections "$CONNECTIONS" --tag "$tag"
  kill "$serve_pid" "$sim_pid" 2>/dev/null || true
  wait "$serve_pid" "$sim_pid" 2>/dev/null || true
  rm -rf "$d"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); requests $REQUESTS, connections $CONNECTIONS"
for ((r = 1; r <= ROUNDS; r++)); do
  for i in "${!bins[@]}"; do
    run_one "${bins[$i]}" "b$i.r$r"
  done
done
