#!/usr/bin/env bash
# The DESIGN §8 figure: sender → pushsim throughput side by side with h2load, for APNs and
# FCM over TLS and h2c, on an otherwise idle machine and with CPU hogs competing (the
# machine is shared: other engineers' builds are the normal case).
#
#   bench/push/headline.sh            # BUILD=<Release tree> OUT=<dir> REPS=5 HOGS=0 N=300000
#
# Every cell: `fanout_push_bench --via-sender` (app::Sender on the in-process bus, 8
# workers × batches of 500, 4 connections × 100 streams) alternating REPS times with
# `h2load -n N -c 4 -m 100 -t 1` against the same in-process pushsim. HOGS > 0 adds a
# second pass with that many busy loops (`nice 0`, pure user CPU) competing.
# Output: $OUT/headline.jsonl (all runs), $OUT/headline.md (medians), load averages.
set -euo pipefail
BUILD=${BUILD:-/work/main/build/h-push-rel}
BENCH=${BENCH:-$BUILD/bench/push/fanout_push_bench}
OUT=${OUT:-/tmp/push-headline-$(date +%H%M%S)}
REPS=${REPS:-5}
HOGS=${HOGS:-0}
N=${N:-300000}
mkdir -p "$OUT"
: >"$OUT/headline.jsonl"
hog_pids=()
cleanup() { for p in "${hog_pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

run_pass() {
  local load=$1
  # APNs twice: as the gateway sends it (a fresh apns-id per push) and in h2load's request
  # shape (no apns-id: h2load cannot vary a header per request).
  for variant in "apns" "apns --no-apns-id" "fcm"; do
    set -- $variant
    local platform=$1 shape=${2:-}
    for tls in --tls ""; do
      echo "[$(date +%T)] $load $variant ${tls:-h2c} load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      "$BENCH" --requests "$N" --repeat "$REPS" --via-sender --platform "$platform" $tls $shape |
        sed "s/^{/{\"load\":\"$load\",\"shape\":\"${shape:-native}\",/" >>"$OUT/headline.jsonl"
    done
  done
}

run_pass idle
if [ "$HOGS" -gt 0 ]; then
  for _ in $(seq "$HOGS"); do
    (while :; do :; done) &
    hog_pids+=($!)
  done
  sleep 2
  run_pass "hogs$HOGS"
  cleanup
  hog_pids=()
fi

python3 - "$OUT/headline.jsonl" >"$OUT/headline.md" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| load | platform | request | transport | h2load req/s | sender req/s | sender / h2load (median of pairs, range) | client CPU µs/push h2load / sender |")
print("|---|---|---|---|---|---|---|---|")
for s in (r for r in rows if r.get("summary")):
    runs = [r for r in rows if not r.get("summary") and r["load"] == s["load"]
            and r["shape"] == s["shape"] and r["platform"] == s["platform"] and r["tls"] == s["tls"]]
    pairs = [r["vs_h2load"] for r in runs if r["tool"] == "sender"]
    shape = "no apns-id (h2load's shape)" if s["shape"] != "native" else ("apns-id per push" if s["platform"] == "apns" else "token in body")
    print(f"| {s['load']} | {s['platform']} | {shape} | {'TLS' if s['tls'] else 'h2c'} | "
          f"{s['h2load_median']:,.0f} | {s['gateway_median']:,.0f} | "
          f"{s['ratio_median']:.2f} ({min(pairs):.2f}–{max(pairs):.2f}) | "
          f"{s['h2load_cpu_us_per_req_median']:.2f} / {s['gateway_cpu_us_per_req_median']:.2f} |")
EOF
cat "$OUT/headline.md"
echo "results in $OUT" >&2
