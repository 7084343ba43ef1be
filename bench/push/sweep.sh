#!/usr/bin/env bash
# bench/push/sweep.sh — the two push benchmarks of issue #5 that fanout_push_bench alone
# does not give:
#   A. `fanout pushsim` vs nghttpd under the same h2load load (h2c and TLS, equal thread
#      counts), alternating in one run, REPS_A repetitions, medians;
#   B. gateway connections x streams sweep (fanout_push_bench, APNs h2c, h2load alternating
#      in every cell), plus a TLS row for the best h2c cell; median of REPS_B.
#
# Usage: bench/push/sweep.sh [A] [B]      (default: both)
# Env:   BUILD (Release tree, default /work/main/build/h-pb-rel), OUT (results dir),
#        N_A=300000 REPS_A=5 THREADS_A="1 2" STREAMS_A=100 CONNS_A=4
#        N_B=200000 REPS_B=3 CONNS_B="1 2 4 8" STREAMS_B="10 100 500", PORT_BASE=28440
# Build first:
#   cmake -S /work/main -B /work/main/build/h-pb-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build /work/main/build/h-pb-rel -j2 --target fanout fanout_push_bench
# Every server this script starts is killed by PID on exit.
set -euo pipefail

BUILD=${BUILD:-/work/main/build/h-pb-rel}
FANOUT=${FANOUT:-$BUILD/apps/fanout/fanout}
BENCH=${BENCH:-$BUILD/bench/push/fanout_push_bench}
NGHTTPD=${NGHTTPD:-/usr/sbin/nghttpd}
H2LOAD=${H2LOAD:-/usr/bin/h2load}
OUT=${OUT:-/tmp/push-sweep-$(date -u +%Y%m%dT%H%M%S)}
N_A=${N_A:-300000}
REPS_A=${REPS_A:-5}
THREADS_A=${THREADS_A:-"1 2"}
CONNS_A=${CONNS_A:-4}
STREAMS_A=${STREAMS_A:-100}
N_B=${N_B:-200000}
REPS_B=${REPS_B:-3}
CONNS_B=${CONNS_B:-"1 2 4 8"}
STREAMS_B=${STREAMS_B:-"10 100 500"}
PORT_BASE=${PORT_BASE:-28440}
PARTS=${*:-A B}

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/push-sweep-work-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/log.txt" >&2; }
load() { echo "$(date -u +%H:%M:%S) $(uptime | sed 's/.*load average/load average/')" >>"$OUT/uptime.txt"; }

# Same request shape as fanout_push_bench's h2load run: APNs path with a 64-hex token,
# apns-* headers, a 180-char bearer, the 227-byte alert payload.
TOKEN=$(printf '%064x' 1)
BODY=$WORK/body.json
printf '%s' '{"aps":{"alert":{"title":"Amtliche Unwetterwarnung","body":"Es tritt markantes Wetter auf: Sturmboeen mit Geschwindigkeiten um 70 km/h"},"sound":"default","interruption-level":"time-sensitive"},"fanout":{"alert_id":"DWD-1234"}}' >"$BODY"
JWT=$(printf 'j%.0s' $(seq 180))
H2HDRS=(-H 'apns-topic: de.bund.bbk.nina' -H 'apns-push-type: alert' -H 'apns-priority: 10'
  -H 'apns-expiration: 0' -H 'apns-collapse-id: DWD-1234' -H "authorization: bearer $JWT")

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 did not open" >&2
  return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user+sys of all threads, in ticks

# run_h2load NAME PID URL TLS THREADS REP -> one JSON line in $OUT/a.jsonl
run_h2load() {
  local name=$1 pid=$2 url=$3 tls=$4 threads=$5 rep=$6
  local hz c0 c1 out rps ok
  hz=$(getconf CLK_TCK)
  c0=$(cpu_ticks "$pid")
  out=$("$H2LOAD" -n "$N_A" -c "$CONNS_A" -m "$STREAMS_A" -t 1 -d "$BODY" "${H2HDRS[@]}" "$url" 2>&1)
  c1=$(cpu_ticks "$pid")
  rps=$(sed -n 's/.*finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
  printf '{"server":"%s","tls":%s,"server_threads":%d,"rep":%d,"requests":%d,"ok_2xx":%s,"req_per_s":%s,"server_cpu_us_per_req":%.2f}\n' \
    "$name" "$tls" "$threads" "$rep" "$N_A" "${ok:-0}" "${rps:-0}" \
    "$(echo "($c1 - $c0) * 1000000 / $hz / $N_A" | bc -l)" | tee -a "$OUT/a.jsonl"
}

part_a() {
  log "part A: pushsim vs nghttpd, h2load -n $N_A -c $CONNS_A -m $STREAMS_A -t 1, $REPS_A reps"
  (cd "$WORK" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=localhost -days 1 -keyout k.pem -out c.pem 2>/dev/null)
  # nghttpd docroot: an empty file at the APNs path, so it answers 200 with no body, like APNs.
  mkdir -p "$WORK/htdocs/3/device"
  : >"$WORK/htdocs/3/device/$TOKEN"
  local port=$PORT_BASE
  for mode in h2c tls; do
    for t in $THREADS_A; do
      local pp=$((port++)) np=$((port++)) scheme=http tls=false
      local simtls=() ngtls=(--no-tls "$np")
      if [ "$mode" = tls ]; then
        scheme=https tls=true
        simtls=(--tls-cert "$WORK/c.pem" --tls-key "$WORK/k.pem")
        ngtls=("$np" "$WORK/k.pem" "$WORK/c.pem")
      fi
      "$FANOUT" pushsim --listen "127.0.0.1:$pp" --threads "$t" --max-streams "$STREAMS_A" \
        --no-record "${simtls[@]}" >"$OUT/pushsim-$mode-$t.log" 2>&1 &
      local sp=$!
      PIDS+=("$sp")
      "$NGHTTPD" -n "$t" -m "$STREAMS_A" -a 127.0.0.1 -d "$WORK/htdocs" "${ngtls[@]}" \
        >"$OUT/nghttpd-$mode-$t.log" 2>&1 &
      local ng=$!
      PIDS+=("$ng")
      wait_port "$pp"
      wait_port "$np"
      local su="$scheme://127.0.0.1:$pp/3/device/$TOKEN" nu="$scheme://127.0.0.1:$np/3/device/$TOKEN"
      # warm-up (not recorded)
      "$H2LOAD" -n 20000 -c "$CONNS_A" -m "$STREAMS_A" -d "$BODY" "${H2HDRS[@]}" "$su" >/dev/null 2>&1
      "$H2LOAD" -n 20000 -c "$CONNS_A" -m "$STREAMS_A" -d "$BODY" "${H2HDRS[@]}" "$nu" >/dev/null 2>&1
      load
      for rep in $(seq "$REPS_A"); do
        if [ $((rep % 2)) = 1 ]; then
          run_h2load pushsim "$sp" "$su" "$tls" "$t" "$rep"
          run_h2load nghttpd "$ng" "$nu" "$tls" "$t" "$rep"
        else
          run_h2load nghttpd "$ng" "$nu" "$tls" "$t" "$rep"
          run_h2load pushsim "$sp" "$su" "$tls" "$t" "$rep"
        fi
      done
      load
      kill "$sp" "$ng"
      wait "$sp" "$ng" 2>/dev/null || true
    done
  done
  python3 - "$OUT/a.jsonl" <<'EOF' | tee "$OUT/a-summary.md"
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| transport | server threads | pushsim req/s | nghttpd req/s | pushsim / nghttpd | server CPU µs/req pushsim / nghttpd | 2xx of all runs |")
print("|---|---|---|---|---|---|---|")
keys = sorted({(r["tls"], r["server_threads"]) for r in rows})
for tls, t in keys:
    sel = lambda s: [r for r in rows if r["tls"] == tls and r["server_threads"] == t and r["server"] == s]
    p, n = sel("pushsim"), sel("nghttpd")
    ratios = [a["req_per_s"] / b["req_per_s"] for a in p for b in n if a["rep"] == b["rep"]]
    ok = all(r["ok_2xx"] == r["requests"] for r in p + n)
    med = lambda v: st.median(v)
    print(f"| {'TLS' if tls else 'h2c'} | {t} | {med([r['req_per_s'] for r in p]):,.0f} | "
          f"{med([r['req_per_s'] for r in n]):,.0f} | {med(ratios):.2f} "
          f"({min(ratios):.2f}–{max(ratios):.2f}) | "
          f"{med([r['server_cpu_us_per_req'] for r in p]):.2f} / {med([r['server_cpu_us_per_req'] for r in n]):.2f} | "
          f"{'all' if ok else 'NOT all'} |")
EOF
}

part_b() {
  log "part B: gateway sweep, connections {$CONNS_B} x streams {$STREAMS_B}, $N_B requests, $REPS_B reps"
  for c in $CONNS_B; do
    for m in $STREAMS_B; do
      load
      log "  c=$c m=$m"
      "$BENCH" --requests "$N_B" --connections "$c" --streams "$m" --repeat "$REPS_B" \
        | tee -a "$OUT/b.jsonl" >/dev/null || log "  c=$c m=$m: some pushes not accepted (exit $?)"
    done
  done
  local best
  best=$(jq -r 'select(.summary and (.tls|not)) | "\(.gateway_median) \(.connections) \(.streams)"' \
    "$OUT/b.jsonl" | sort -n | tail -1)
  read -r _ bc bm <<<"$best"
  load
  log "  TLS at the best h2c cell: c=$bc m=$bm"
  "$BENCH" --requests "$N_B" --connections "$bc" --streams "$bm" --repeat "$REPS_B" --tls \
    | tee -a "$OUT/b.jsonl" >/dev/null || log "  TLS: some pushes not accepted (exit $?)"
  load
  python3 - "$OUT/b.jsonl" <<'EOF' | tee "$OUT/b-summary.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| transport | connections × streams | h2load req/s | gateway req/s | gateway / h2load (range) | client CPU µs per push h2load / gateway |")
print("|---|---|---|---|---|---|")
for s in [r for r in rows if r.get("summary")]:
    runs = [r for r in rows if not r.get("summary") and r["tls"] == s["tls"]
            and r["connections"] == s["connections"] and r["streams"] == s["streams"]]
    g = [r for r in runs if r["tool"] == "gateway"]
    ratios = [r["vs_h2load"] for r in g]
    bad = sum(r["other"] for r in g)
    print(f"| {'TLS' if s['tls'] else 'h2c'} | {s['connections']} × {s['streams']} | "
          f"{s['h2load_median']:,.0f} | {s['gateway_median']:,.0f} | {s['ratio_median']:.2f} "
          f"({min(ratios):.2f}–{max(ratios):.2f}) | "
          f"{s['h2load_cpu_us_per_req_median']:.2f} / {s['gateway_cpu_us_per_req_median']:.2f}"
          f"{'' if bad == 0 else f' ({bad} not accepted)'} |")
EOF
}

load
for p in $PARTS; do
  case $p in
    A) part_a ;;
    B) part_b ;;
    *) echo "unknown part $p" >&2; exit 2 ;;
  esac
done
load
log "results in $OUT (a.jsonl, b.jsonl, *-summary.md, uptime.txt)"
