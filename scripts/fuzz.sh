#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/) for FUZZ_SECONDS each (default 20) from its seeds and
# regressions, under ASan/UBSan. Builds them first (the `fuzz` preset: clang-14, only the fuzz
# targets and what they link). A crash or leak fails the run; its input is left in
# build/fuzz/findings/<target>/ (add it to fuzz/regressions/<target>/ once understood).
#
#   scripts/fuzz.sh [TARGET...]          (default: all)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh cap_xml
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-20}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(cap_xml cap_json device_json geo_text overlap config http1 h2_frames)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
seeds_of() {
  case $1 in
    cap_xml) echo data/cap ;;
    cap_json) echo data/cap/nina-json ;;
    *) echo "fuzz/seeds/$1" ;;
  esac
}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for t in "${targets[@]}"; do
  work=build/fuzz/corpus/$t
  findings=build/fuzz/findings/$t
  mkdir -p "$work" "$findings"
  inputs=("$work" "$(seeds_of "$t")")
  [[ -d fuzz/regressions/$t ]] && inputs+=("fuzz/regressions/$t")
  # The network targets talk to a server running on its own threads: libFuzzer's leak check
  # after each input would count what the server still holds for a connection it is closing.
  # Their leaks are checked by the replay tests (ctest fuzz_replay_*), which stop the server
  # before LeakSanitizer's check at exit.
  leaks=1
  [[ $t == http1 || $t == h2_frames ]] && leaks=0
  echo "== fuzz $t for ${SECONDS_EACH}s" >&2
  if ! build/fuzz/fuzz/${t}_fuzz "${inputs[@]}" -max_total_time="$SECONDS_EACH" \
      -detect_leaks=$leaks \
      -max_len=65536 -timeout=10 -rss_limit_mb=3072 -print_final_stats=1 \
      -artifact_prefix="$findings/" >"build/fuzz/$t.log" 2>&1; then
    echo "fuzz $t FAILED: $(grep -m1 -E 'ERROR|SUMMARY|deadly' "build/fuzz/$t.log" || tail -1 "build/fuzz/$t.log")" >&2
    echo "  log build/fuzz/$t.log, input in $findings/" >&2
    failed+=("$t")
  else
    grep -E "stat::number_of_executed_units|cov: " "build/fuzz/$t.log" | tail -2 | sed "s/^/  $t: /" >&2
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
echo "== fuzzing: no findings in ${#targets[@]} targets" >&2
