#!/usr/bin/env bash
# The installed layout: `cmake --install BUILD_DIR --prefix TMP`, then the installed binary
# runs from a folder outside the source tree with no FANOUT_* variables and finds its data
# under TMP/share/fanout (geo commands, config example, a small demo). A copy of the binary
# with no data anywhere near it fails with a message naming the places tried and the remedy.
# Usage: install_e2e.sh BUILD_DIR
set -euo pipefail
BUILD=$1
prefix=$(mktemp -d /tmp/fanout-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset FANOUT_DATA_DIR FANOUT_GEO_DIR

cmake --install "$BUILD" --prefix "$prefix" >"$prefix/install.log" || fail "cmake --install: $(tail -5 "$prefix/install.log")"
bin=$prefix/bin/fanout
[[ -x $bin ]] || fail "no $bin"
[[ -f $prefix/share/fanout/geo/de_gemeinden_vg5000_2021.csv ]] || fail "geodata not installed"
[[ -d $prefix/share/fanout/cap/dwd ]] || fail "sample alerts not installed"
[[ -f $prefix/share/fanout/README.md ]] || fail "data README (provenance, licences) not installed"
[[ -f $prefix/share/doc/fanout/README.md && -f $prefix/share/doc/fanout/geo.md ]] || fail "docs not installed"
echo "ok: installed layout under $prefix"

cd "$prefix"  # not the source tree: nothing may come from the working directory
out=$("$bin" geo locate 52.5163 13.3777) || fail "installed geo locate failed"
[[ $out == *'"ars":"110000000000"'* ]] || fail "installed geo locate: $out"
echo "ok: installed geo locate finds share/fanout/geo"
"$bin" config example >"$prefix/fanout.toml" 2>"$prefix/example.err" || fail "config example: $(cat "$prefix/example.err")"
grep -q "$prefix/share/fanout/geo" "$prefix/fanout.toml" || fail "config example does not point at the installed geodata"
echo "ok: installed config example points at share/fanout/geo"
"$bin" demo --devices 400 --shards 2 >"$prefix/demo.log" 2>&1 || fail "installed demo: $(tail -20 "$prefix/demo.log")"
grep -q "OK: every targeted device got every alert exactly once" "$prefix/demo.log" || fail "installed demo did not check out: $(tail -5 "$prefix/demo.log")"
echo "ok: installed demo"

# A lone copy with no data near it and no installation at the compiled-in prefix: a clear
# error naming what was tried and what to do (exit 2), never a crash.
mkdir -p "$prefix/lone"
cp "$bin" "$prefix/lone/fanout"
rm -rf "$prefix/share/fanout"
compiled_in=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")/share/fanout
if [[ -f $compiled_in/geo/de_gemeinden_vg5000_2021.csv ]]; then
  echo "note: $compiled_in holds an installation, so a lone copy finds it; lone-copy check not run"
else
  rc=0
  "$prefix/lone/fanout" demo --devices 10 >"$prefix/lone.out" 2>"$prefix/lone.err" || rc=$?
  [[ $rc == 2 ]] || fail "lone copy exited $rc, expected 2"
  grep -q "cannot find the data folder" "$prefix/lone.err" || fail "lone copy: $(cat "$prefix/lone.err")"
  grep -q "FANOUT_DATA_DIR" "$prefix/lone.err" || fail "lone copy: no remedy named"
  echo "ok: a lone copy says: $(head -1 "$prefix/lone.err")"
fi
FANOUT_DATA_DIR=/nonexistent "$prefix/lone/fanout" geo locate 52.5 13.4 2>"$prefix/env.err" && fail "a wrong FANOUT_DATA_DIR was ignored"
grep -q "/nonexistent" "$prefix/env.err" || fail "wrong FANOUT_DATA_DIR not named: $(cat "$prefix/env.err")"
echo "ok: a wrong FANOUT_DATA_DIR is an error naming it"
echo "install_e2e: all passed"
