#!/usr/bin/env bash
# Usage: scripts/with-nats.sh CMD [ARGS...]
# Starts a throwaway nats-server with JetStream (loopback, a random port, storage in a temp
# dir), exports FANOUT_NATS_URL for CMD, runs it, stops the server and deletes its storage,
# and exits with CMD's status.
# Example: scripts/with-nats.sh ctest --test-dir build/asan -L nats --output-on-failure
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
if ! command -v nats-server >/dev/null; then
  echo "$0: nats-server not found (apt-get install -y nats-server)" >&2
  exit 2
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/fanout-nats.XXXXXX")
port=$((20000 + RANDOM % 20000))
# Raw alerts travel through JetStream: max_payload above cap.max_body_bytes (4 MiB) + 4 KiB.
echo "max_payload: 8MB" >"$dir/nats.conf"
nats-server -c "$dir/nats.conf" -a 127.0.0.1 -p "$port" -js -sd "$dir/js" >"$dir/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
for _ in $(seq 100); do
  if grep -q "Server is ready" "$dir/server.log"; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$dir/server.log" >&2; exit 2; fi
  sleep 0.05
done
grep -q "Server is ready" "$dir/server.log" || { cat "$dir/server.log" >&2; exit 2; }
export FANOUT_NATS_URL="nats://127.0.0.1:$port"
set +e
"$@"
rc=$?
set -e
exit $rc
