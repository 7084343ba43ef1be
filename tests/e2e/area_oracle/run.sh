#!/usr/bin/env bash
# Area oracle end to end: the real `fanout serve` + `fanout pushsim` over real sockets, ~4,600
# devices all over Germany, 60 alerts of every area kind; the delivered device set of every alert
# is compared with an independent oracle computed by PostGIS on the same municipality polygons
# (load.sql, oracle.sql). See README.md in this folder.
# Usage: run.sh FANOUT_BINARY DATA_DIR   (needs PostgreSQL + PostGIS; without PGHOST it starts
# a throwaway cluster through scripts/with-postgres.sh)
# With FANOUT_AREA_DISTRIBUTED=1 the region runs on the distributed engines as three processes
# (ingest+processor+registry, queuer, sender) on a fresh nats-server (scripts/with-nats.sh,
# so no other test's devices are on its feed), devices in PostgreSQL.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -ne 2 ]]; then
  echo "usage: $0 FANOUT_BINARY DATA_DIR" >&2
  exit 2
fi
if [[ -z ${PGHOST:-} ]]; then
  exec "$here/../../../scripts/with-postgres.sh" bash "${BASH_SOURCE[0]}" "$@"
fi
distributed=${FANOUT_AREA_DISTRIBUTED:-0}
if [[ $distributed == 1 && -z ${FANOUT_AREA_OWN_NATS:-} ]]; then
  export FANOUT_AREA_OWN_NATS=1
  exec "$here/../../../scripts/with-nats.sh" bash "${BASH_SOURCE[0]}" "$@"
fi
FANOUT=$(realpath "$1")
DATA=$(realpath "$2")
start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/fanout-area-oracle.XXXXXX")
db="fanout_area_oracle_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -X -q -d postgres -c "drop database if exists $db" >/dev/null 2>&1 || true
  if [[ -n ${KEEP_WORK:-} ]]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [[ -f $work/serve.log ]] && tail -20 "$work/serve.log" >&2
  exit 1
}
step() { echo "[$(($(date +%s) - start))s] $*"; }

# ---- 1. reference data into PostGIS (its own database, dropped at the end)
psql -X -q -d postgres -c "create database $db" >/dev/null
export PGDATABASE=$db
step "loading the geodata into PostGIS ($db)"
python3 "$here/../../../bench/geo/geojson_to_tsv.py" "$DATA/geo/de_gemeinden_vg5000_2021.geojson" \
  >"$work/gem.tsv" 2>/dev/null
python3 - "$DATA/geo/dwd_warncells_lakes_coasts.geojson" >"$work/lakes.tsv" <<'EOF'
import json, sys
for f in json.load(open(sys.argv[1], encoding="utf-8"))["features"]:
    print(f["properties"]["WARNCELLID"] + "\t" + json.dumps(f["geometry"], separators=(",", ":")))
EOF
psql -X -q -v geojson_rows="$work/gem.tsv" -v csv_file="$DATA/geo/de_gemeinden_vg5000_2021.csv" \
  -v cells_file="$DATA/geo/dwd_warncellids.csv" -v lakes_rows="$work/lakes.tsv" \
  -f "$here/load.sql" >"$work/load.log" 2>&1 || { cat "$work/load.log" >&2; fail "load.sql"; }

# ---- 2. config (AP3's default threshold lowered to 2 so that default_levels matter), devices
if [[ $distributed == 1 ]]; then
  pg_url="postgresql://${PGUSER:-postgres}@/$db?host=$PGHOST&port=$PGPORT"
  FANOUT_DATA_DIR=$DATA "$FANOUT" config example --distributed --region area --regions area \
    --nats "$FANOUT_NATS_URL" --postgres "$pg_url" >"$work/fanout.toml" 2>"$work/tokens.txt"
else
  FANOUT_DATA_DIR=$DATA "$FANOUT" config example >"$work/fanout.toml" 2>"$work/tokens.txt"
fi
sed -i 's/^default_levels = .*/default_levels = { AP1 = 4, AP2 = 4, AP3 = 2, AP4 = 4 }/' "$work/fanout.toml"
python3 - "$work" <<'EOF'
import json, sys, tomllib
w = sys.argv[1]
c = tomllib.load(open(f"{w}/fanout.toml", "rb"))
open(f"{w}/default_levels.tsv", "w").write(
    "".join(f"{p}\t{l}\n" for p, l in c["providers"]["default_levels"].items()))
# The config stores the tokens' SHA-256; the clear ones came on standard error.
clear = dict(line.strip().split(" = ", 1) for line in open(f"{w}/tokens.txt")
             if " = " in line and not line.startswith("fanout"))
json.dump({"providers": {p: clear[p] for p in c["auth"]["provider_tokens"]},
           "admin": clear["admin_token"]}, open(f"{w}/tokens.json", "w"))
EOF
cat "$work/default_levels.tsv" | tr '\n' ' ' | sed 's/^/default_levels from the config: /;s/$/\n/'
python3 "$here/oracle.py" alerts "$here/alerts" "$work"
python3 "$here/oracle.py" devices "$DATA/geo/de_gemeinden_vg5000_2021.csv" "$here/alerts" \
  "$DATA/geo/dwd_warncells_lakes_coasts.geojson" "$work"
ndev=$(wc -l <"$work/devices.jsonl")
step "importing $ndev devices"
if [[ $distributed == 1 ]]; then
  store_args=(--postgres "$pg_url")
else
  store_args=(--data-dir "$work/data")
fi
"$FANOUT" devices import "$work/devices.jsonl" "${store_args[@]}" \
  --geo-dir "$DATA/geo" >"$work/import.log" 2>&1 || { cat "$work/import.log" >&2; fail "devices import"; }

# ---- the oracle runs in PostGIS while fanout works
step "computing the oracle (PostGIS) in the background"
psql -X -q -v dir="$work" -f "$here/oracle.sql" >"$work/oracle.log" 2>&1 &
oracle_pid=$!

# ---- 3. pushsim + serve, as serve_e2e.sh starts them
source "$here/../../../scripts/lib/local_region.sh"
if [[ $distributed == 1 ]]; then
  # The queuer and the sender first, each its own process; the front (ingest, processor,
  # registry) last, through start_local_region, whose pushsim they all use.
  sim_port=$(free_port)
  "$FANOUT" pushsim --listen "127.0.0.1:$sim_port" >"$work/sim.log" 2>&1 &
  pids+=($!)
  for role in queuer sender; do
    "$FANOUT" serve --config "$work/fanout.toml" --set "http.listen=127.0.0.1:$(free_port)" \
      --set "roles=[\"$role\"]" --set "store.data_dir=$work/data-$role" \
      --set "push.apns.endpoint=http://127.0.0.1:$sim_port" \
      --set "push.fcm.endpoint=http://127.0.0.1:$sim_port" >"$work/serve-$role.log" 2>&1 &
    pids+=($!)
  done
  start_local_region "$FANOUT" "$work/fanout.toml" "$work" --sim-port "$sim_port" \
    --set 'roles=["ingest","processor","registry"]' || fail "serve did not become ready"
else
  start_local_region "$FANOUT" "$work/fanout.toml" "$work" || fail "serve did not become ready"
fi
loaded=$(curl -s "$api/metrics" | sed -n 's/^fanout_registry_devices{[^}]*} \([0-9]*\)$/\1/p' | head -1)
[[ $loaded == "$ndev" ]] || fail "serve loaded ${loaded:-?} devices, imported $ndev"

# ---- 4. alerts (originals first; Updates/Cancels after they are done), reports
step "sending the alerts to serve"
python3 "$here/oracle.py" send "$FANOUT" "$here/alerts" "$api" \
  "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["providers"]))' "$work/tokens.json")" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$work/tokens.json")" \
  "$work" 120

# ---- 5. deliveries vs the oracle
curl -s --max-time 30 --http2-prior-knowledge "http://127.0.0.1:$sim_port/sim/deliveries" \
  >"$work/deliveries.jsonl" || fail "GET /sim/deliveries"
step "$(wc -l <"$work/deliveries.jsonl") deliveries recorded by pushsim; waiting for the oracle"
wait "$oracle_pid" || { cat "$work/oracle.log" >&2; fail "oracle.sql"; }
set +e
python3 "$here/oracle.py" compare "$work"
rc=$?
set -e
# A sanitizer build reports UBSan findings without stopping the process: they fail the run too.
if grep -l -E 'runtime error:|ERROR: AddressSanitizer' "$work"/serve*.log "$work/sim.log" >/dev/null 2>&1; then
  grep -h -A3 -E 'runtime error:|ERROR: AddressSanitizer' "$work"/serve*.log "$work/sim.log" | head -20 >&2
  echo "FAIL: sanitizer findings in serve.log/sim.log" >&2
  rc=1
fi
step "done (exit $rc)"
exit $rc
