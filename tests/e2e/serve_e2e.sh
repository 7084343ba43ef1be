#!/usr/bin/env bash
# End to end through the real binary and real sockets: `fanout pushsim` (HTTP/2), `fanout
# config example`, `fanout serve`, the device API over HTTP, `fanout alert send`, the delivery
# report, and the simulator's deliveries. Usage: serve_e2e.sh FANOUT_BINARY DATA_DIR
# With FANOUT_E2E_DISTRIBUTED=1 the same run goes through the distributed engines: NATS
# JetStream at $FANOUT_NATS_URL (scripts/with-nats.sh) and PostgreSQL at the PG* variables
# (scripts/with-postgres.sh).
set -euo pipefail
FANOUT=$1
DATA=$2
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/serve.log ]] && tail -20 "$work/serve.log" >&2; exit 1; }

source "$(dirname "$0")/../../scripts/lib/local_region.sh"

mode=embedded
if [[ ${FANOUT_E2E_DISTRIBUTED:-0} == 1 ]]; then
  [[ -n ${FANOUT_NATS_URL:-} && -n ${PGHOST:-} ]] ||
    fail "FANOUT_E2E_DISTRIBUTED=1 needs FANOUT_NATS_URL and PGHOST (with-nats.sh, with-postgres.sh)"
  mode=distributed
  FANOUT_DATA_DIR=$DATA "$FANOUT" config example --distributed --nats "$FANOUT_NATS_URL" \
    --postgres "postgresql://${PGUSER:-postgres}@/${PGDATABASE:-postgres}?host=$PGHOST&port=$PGPORT" \
    >"$work/fanout.toml" 2>"$work/tokens.txt"
else
  FANOUT_DATA_DIR=$DATA "$FANOUT" config example >"$work/fanout.toml" 2>"$work/tokens.txt"
fi
# The config stores the tokens' SHA-256; the clear tokens come once on standard error.
token() { grep -o "^$1 = [0-9a-f]*\$" "$work/tokens.txt" | head -1 | sed 's/.* = //'; }
AP2=$(token AP2)
DEV=$(token device_token)
ADMIN=$(token admin_token)
[[ -n $AP2 && -n $DEV && -n $ADMIN ]] || fail "tokens not printed by config example"
grep -q "^admin_token = \"sha256:" "$work/fanout.toml" || fail "the config does not store the admin token hashed"
grep -q "$ADMIN" "$work/fanout.toml" && fail "the clear admin token is in the config"

start_local_region "$FANOUT" "$work/fanout.toml" "$work" || fail "serve did not become ready"

# A device in Hohendubrau (Kreis Görlitz), warn cell 814626190 of the DWD thunderstorm sample.
apns_token=$(printf 'ab%.0s' $(seq 1 32))
code=$(curl -s -o "$work/dev.json" -w '%{http_code}' -X PUT "$api/v1/devices/e2e-1" \
  -H "Authorization: Bearer $DEV" \
  -d "{\"platform\":\"apns\",\"token\":\"$apns_token\",\"mylocation\":false,\"regions\":[\"146265502190\"]}")
[[ $code == 201 ]] || fail "device PUT answered $code: $(cat "$work/dev.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$api/v1/devices/e2e-2" \
  -H "Authorization: Bearer $DEV" -d '{"platform":"apns","token":"nothex","regions":[]}')
[[ $code == 400 ]] || fail "invalid device answered $code, expected 400"

# Wrong provider token -> 401; the right one -> 202 (printed per region).
sample="$DATA/cap/dwd-update-thunderstorm-de.xml"
if "$FANOUT" alert send "$sample" --provider AP2 --to "$api" --token wrong >"$work/send.txt"; then
  fail "a wrong token was accepted"
fi
grep -q " -> 401 " "$work/send.txt" || fail "wrong token: $(cat "$work/send.txt")"
"$FANOUT" alert send "$sample" --provider AP2 --to "$api" --token "$AP2" >"$work/send.txt" ||
  fail "alert send: $(cat "$work/send.txt")"
grep -q " -> 202 " "$work/send.txt" || fail "alert send: $(cat "$work/send.txt")"
id=$(grep -o '"id":"[^"]*"' "$work/send.txt" | head -1 | sed 's/"id":"\(.*\)"/\1/')

status=""
for _ in $(seq 1 200); do
  status=$(curl -s "$api/v1/alerts/$id" -H "Authorization: Bearer $ADMIN" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || true)
  [[ $status == done ]] && break
  sleep 0.1
done
[[ $status == done ]] || fail "alert status is '$status', expected done"
report=$(curl -s "$api/v1/alerts/$id" -H "Authorization: Bearer $ADMIN")
sent=$(echo "$report" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["sent"])')
[[ $sent == 1 ]] || fail "report says sent=$sent, expected 1: $report"

deliveries=$(curl -s --http2-prior-knowledge "http://127.0.0.1:$sim_port/sim/deliveries")
n=$(echo "$deliveries" | grep -c "$apns_token" || true)
[[ $n == 1 ]] || fail "the simulator recorded $n deliveries to the device, expected 1: $deliveries"
# Plain curl (HTTP/1.1) on the same cleartext port.
stats=$(curl -sf "http://127.0.0.1:$sim_port/sim/stats") || fail "curl (HTTP/1.1) /sim/stats failed"
grep -q '"deliveries":1,' <<<"$stats" || fail "sim stats over HTTP/1.1: $stats"
# The Update reuses the referenced alert's collapse id; that identifier is longer than 64
# bytes, so the id is the SHA-256 hex of it (DESIGN §7.3).
ref=2.49.0.0.276.0.DWD.PVW.1661542140000.7462e657-ce54-473f-91c8-abe408afe703.MUL
want=$(printf '%s' "$ref" | sha256sum | cut -c1-64)
grep -q "\"collapse_id\":\"$want\"" <<<"$deliveries" ||
  fail "the Update must reuse the referenced alert's collapse id $want: $deliveries"
metrics=$(curl -s "$api/metrics")
grep -q '^fanout_process_resident_bytes{region="eu-central"} [1-9]' <<<"$metrics" ||
  fail "/metrics lacks the process memory gauge"
grep -q '^fanout_registry_devices{region="eu-central"} 1$' <<<"$metrics" ||
  fail "/metrics lacks the registry gauge: $(echo "$metrics" | grep fanout_registry || true)"
grep -q 'fanout_sender_pushes_total{.*outcome="accepted".*} 1$' <<<"$metrics" ||
  fail "/metrics lacks the accepted push: $(echo "$metrics" | grep fanout_sender || true)"
grep -q "$mode engines" "$work/serve.log" || fail "serve did not run on the $mode engines"
if [[ $mode == distributed && -f $PGHOST/data/PG_VERSION ]]; then
  # PostgreSQL goes away: /readyz says so (503, naming it) while /healthz stays 200; it comes
  # back: ready again, without a restart of serve.
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  as_pg "$pgbin/pg_ctl" -D "$PGHOST/data" -m fast -w stop >/dev/null
  ready=$(curl -s -o "$work/ready.json" -w '%{http_code}' "$api/readyz")
  [[ $ready == 503 ]] && grep -q postgresql "$work/ready.json" ||
    fail "/readyz with PostgreSQL down answered $ready: $(cat "$work/ready.json")"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$api/healthz") == 200 ]] || fail "/healthz"
  as_pg "$pgbin/pg_ctl" -D "$PGHOST/data" -l "$PGHOST/server-restart.log" -w \
    -o "-p $PGPORT -k $PGHOST -c listen_addresses=''" start >/dev/null
  ready=""
  for _ in $(seq 1 100); do
    ready=$(curl -s -o /dev/null -w '%{http_code}' "$api/readyz")
    [[ $ready == 200 ]] && break
    sleep 0.1
  done
  [[ $ready == 200 ]] || fail "/readyz after PostgreSQL came back answered $ready"
fi
if [[ $mode == embedded ]]; then
  # A role subset splits a region over processes: the embedded engines refuse it clearly.
  set +e
  "$FANOUT" serve --config "$work/fanout.toml" --set 'roles=["queuer"]' \
    --set "store.data_dir=$work/roles" >"$work/roles.out" 2>&1
  rc=$?
  set -e
  [[ $rc == 2 ]] && grep -q 'needs store.mode = "distributed"' "$work/roles.out" ||
    fail "serve with roles=[queuer] on the embedded engines: exit $rc, $(cat "$work/roles.out")"
fi
echo "serve e2e ($mode engines): OK (alert $id delivered once, report done)"
