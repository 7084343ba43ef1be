#!/usr/bin/env bash
# End-to-end check of `fanout geo resolve|locate` (DESIGN §7.1): runs the real binary and
# checks stdout shapes, values and exit codes. The command logic is unit-tested in
# src/adapters/geofiles/geo_commands_test.cpp; this covers argument parsing, data discovery
# and the wiring in apps/fanout/cmd_geo.cpp.
#
#   tests/geo/geo_cli_e2e.sh FANOUT_BINARY DATA_DIR      (DATA_DIR = the repository's data/)
set -uo pipefail

FANOUT=${1:?usage: geo_cli_e2e.sh FANOUT_BINARY DATA_DIR}
DATA=${2:?usage: geo_cli_e2e.sh FANOUT_BINARY DATA_DIR}
GEO=$DATA/geo
DWD=$DATA/cap/dwd
SAMPLE_45=$DWD/2.49.0.0.276.0.DWD.PVW.1687514160000.20999218-5d5e-4761-b271-6c243f695568.MUL.xml
SAMPLE_3=$DWD/2.49.0.0.276.0.DWD.PVW.1687511640000.0d1a4fb5-251a-46fc-aae3-a688d2021e71.MUL.xml
SAMPLE_168=$DWD/2.49.0.0.276.0.DWD.PVW.1687470000000.fe90b61b-3755-4efb-8eda-b161251da9f7.MUL.xml
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

failures=0
pass() { echo "ok   $*"; }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
# run NAME EXPECTED_RC CMD... : runs CMD with stdout → $TMP/out, stderr → $TMP/err.
run() {
  local name=$1 want=$2
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  local rc=$?
  if [[ $rc == "$want" ]]; then pass "$name: exit $rc"; else fail "$name: exit $rc, want $want (stderr: $(head -c 300 "$TMP/err"))"; fi
}
expect_out() {  # NAME EXPECTED_STDOUT
  if [[ $(cat "$TMP/out") == "$2" ]]; then pass "$1: stdout"; else fail "$1: stdout '$(head -c 300 "$TMP/out")', want '$2'"; fi
}
expect_err_contains() {  # NAME TEXT
  if grep -qF -- "$2" "$TMP/err"; then pass "$1: stderr names '$2'"; else fail "$1: stderr lacks '$2': $(head -c 300 "$TMP/err")"; fi
}

KEYS_RE='^\{"region_keys":\[("[0-9]{12}"(,"[0-9]{12}")*)?\]\}$'
LOCATE_RE='^\{"ars":"[0-9]{12}","name":"[^"]+","kreis":"[^"]+","land":"[^"]+"\}$'

# The municipality ARS set named by a DWD alert's WARNCELLID geocodes (type 8 = "8" + AGS),
# via the municipality CSV (columns ars, ags): independent of the resolver.
warncell_ars() {
  tr -d '\n\r' <"$1" | grep -o '<valueName>WARNCELLID</valueName>[[:space:]]*<value>8[0-9]\{8\}</value>' |
    grep -o '8[0-9]\{8\}' | cut -c2- | sort -u >"$TMP/ags"
  awk -F, 'NR == FNR { want[$1] = 1; next } FNR > 1 && ($2 in want) { print $1 }' \
    "$TMP/ags" "$GEO/de_gemeinden_vg5000_2021.csv" | sort
}
keys_of() { grep -o '"[0-9]\{12\}"' "$TMP/out" | tr -d '"'; }

# --- geo resolve -------------------------------------------------------------------------
for sample in "$SAMPLE_3" "$SAMPLE_45" "$SAMPLE_168"; do
  name="resolve $(basename "$sample" | cut -d. -f9)"
  run "$name" 0 "$FANOUT" geo resolve --geo-dir "$GEO" "$sample"
  if [[ $(wc -l <"$TMP/out") == 1 ]] && grep -Eq "$KEYS_RE" "$TMP/out"; then
    pass "$name: one {\"region_keys\":[...]} line"
  else
    fail "$name: output shape: $(head -c 300 "$TMP/out")"
  fi
  keys_of >"$TMP/keys"
  if sort -u "$TMP/keys" | cmp -s - "$TMP/keys"; then pass "$name: keys sorted and unique"; else fail "$name: keys not sorted/unique"; fi
  # polygons (with EXCLUDE_POLYGON and the sliver filter) and warn cells must agree
  warncell_ars "$sample" >"$TMP/cells"
  if cmp -s "$TMP/keys" "$TMP/cells"; then
    pass "$name: $(wc -l <"$TMP/keys") keys = the municipalities of its $(wc -l <"$TMP/ags") warn cells"
  else
    fail "$name: keys ($(wc -l <"$TMP/keys")) differ from its warn cells' municipalities ($(wc -l <"$TMP/cells")): $(comm -3 "$TMP/keys" "$TMP/cells" | head -5 | tr '\n' ' ')"
  fi
  # The same alert with its WARNCELLID geocodes removed: polygons (and EXCLUDE_POLYGON) only.
  perl -0pe 's{<geocode>\s*<valueName>WARNCELLID</valueName>.*?</geocode>}{}gs' "$sample" >"$TMP/polygons-only.xml"
  if grep -q WARNCELLID "$TMP/polygons-only.xml" || ! grep -q '<polygon>' "$TMP/polygons-only.xml"; then
    fail "$name: could not strip the warn cells"
  fi
  run "$name polygons only" 0 "$FANOUT" geo resolve --geo-dir "$GEO" "$TMP/polygons-only.xml"
  keys_of >"$TMP/keys"
  if cmp -s "$TMP/keys" "$TMP/cells"; then
    pass "$name polygons only: the polygons alone give the same $(wc -l <"$TMP/keys") municipalities"
  else
    fail "$name polygons only: $(wc -l <"$TMP/keys") keys vs $(wc -l <"$TMP/cells") from warn cells: $(comm -3 "$TMP/keys" "$TMP/cells" | head -5 | tr '\n' ' ')"
  fi
done

run "resolve small sample exact" 0 "$FANOUT" geo resolve --geo-dir "$GEO" "$SAMPLE_3"
expect_out "resolve small sample exact" '{"region_keys":["120630189189","120695902018","120695902270"]}'

run "resolve --no-geometry" 0 "$FANOUT" geo resolve --no-geometry --geo-dir "$GEO" "$SAMPLE_45"
keys_of >"$TMP/keys"
warncell_ars "$SAMPLE_45" >"$TMP/cells"
if cmp -s "$TMP/keys" "$TMP/cells"; then pass "resolve --no-geometry: warn cells alone give the same 45"; else fail "resolve --no-geometry: differs"; fi

run "resolve two files" 0 "$FANOUT" geo resolve --geo-dir "$GEO" "$SAMPLE_3" "$SAMPLE_45"
if [[ $(wc -l <"$TMP/out") == 2 ]] && ! grep -Evq "$KEYS_RE" "$TMP/out"; then pass "resolve two files: two lines"; else fail "resolve two files: $(head -c 200 "$TMP/out")"; fi

run "resolve --details" 0 "$FANOUT" geo resolve --details --geo-dir "$GEO" "$SAMPLE_45"
if grep -q '"region_keys":\[' "$TMP/out" && grep -q '"unresolved":\[' "$TMP/out" && grep -q '"notes":\[' "$TMP/out"; then
  pass "resolve --details: region_keys, unresolved, notes"
else
  fail "resolve --details: $(head -c 300 "$TMP/out")"
fi

# A foreign alert: nothing German in it, reported (not ignored), still exit 0.
run "resolve foreign alert" 0 "$FANOUT" geo resolve --geo-dir "$GEO" "$DATA/cap/australia-bom.xml"
expect_out "resolve foreign alert" '{"region_keys":[]}'
expect_err_contains "resolve foreign alert" "UNSUPPORTED_GEOCODE"

run "resolve not an alert" 1 "$FANOUT" geo resolve --geo-dir "$GEO" "$DATA/cap/invalid/invalid-xxe-doctype-entities.xml"
run "resolve missing file" 2 "$FANOUT" geo resolve --geo-dir "$GEO" "$TMP/does-not-exist.xml"
run "resolve missing geo data" 2 "$FANOUT" geo resolve --geo-dir "$TMP/no-geo" "$SAMPLE_3"
expect_err_contains "resolve missing geo data" "$TMP/no-geo"
run "resolve no file" 2 "$FANOUT" geo resolve --geo-dir "$GEO"

# --- geo locate --------------------------------------------------------------------------
run "locate Berlin" 0 "$FANOUT" geo locate --geo-dir "$GEO" 52.5 13.4
expect_out "locate Berlin" '{"ars":"110000000000","name":"Berlin","kreis":"Berlin","land":"Berlin"}'

# Münster's label point from the CSV; no --geo-dir: the binary finds the repository's data
# itself (FANOUT_DATA_DIR, the one override, set to the same place).
read -r lat lon < <(awk -F, '$1 == "055150000000" { print $9, $10 }' "$GEO/de_gemeinden_vg5000_2021.csv")
run "locate Münster label point" 0 env FANOUT_DATA_DIR="$(dirname "$GEO")" "$FANOUT" geo locate "$lat" "$lon"
expect_out "locate Münster label point" '{"ars":"055150000000","name":"Münster","kreis":"Stadt Münster","land":"Nordrhein-Westfalen"}'

run "locate Ürzig" 0 "$FANOUT" geo locate --geo-dir "$GEO" 50.0 7.0
if grep -Eq "$LOCATE_RE" "$TMP/out" && grep -q '"ars":"072315001125"' "$TMP/out"; then pass "locate Ürzig: shape and ARS"; else fail "locate Ürzig: $(cat "$TMP/out")"; fi

run "locate North Sea" 1 "$FANOUT" geo locate --geo-dir "$GEO" 54.0 5.0
expect_out "locate North Sea (nothing on stdout)" ''
run "locate malformed" 2 "$FANOUT" geo locate --geo-dir "$GEO" abc 13.4
run "locate one coordinate" 2 "$FANOUT" geo locate --geo-dir "$GEO" 52.5

# --stdin: one object per input line, {} outside and for blank lines.
printf '52.5 13.4\n54.0 5.0\n\n50.0,7.0\n' >"$TMP/in"
"$FANOUT" geo locate --stdin --geo-dir "$GEO" <"$TMP/in" >"$TMP/out" 2>"$TMP/err"
rc=$?
[[ $rc == 0 ]] && pass "locate --stdin: exit 0" || fail "locate --stdin: exit $rc"
mapfile -t lines <"$TMP/out"
if [[ ${#lines[@]} == 4 && ${lines[0]} == '{"ars":"110000000000","name":"Berlin","kreis":"Berlin","land":"Berlin"}' &&
  ${lines[1]} == '{}' && ${lines[2]} == '{}' && ${lines[3]} =~ \"ars\":\"072315001125\" ]]; then
  pass "locate --stdin: 4 lines in input order"
else
  fail "locate --stdin: $(tr '\n' '|' <"$TMP/out")"
fi
printf '52.5 13.4\nnot a point\n' | "$FANOUT" geo locate --stdin --geo-dir "$GEO" >"$TMP/out" 2>"$TMP/err"
rc=$?
[[ $rc == 2 && $(sed -n 2p "$TMP/out") == '{}' && $(wc -l <"$TMP/out") == 2 ]] &&
  pass "locate --stdin malformed line: {} and exit 2" || fail "locate --stdin malformed: exit $rc, $(tr '\n' '|' <"$TMP/out")"

# Every municipality's label point locates to its own ARS through the binary.
awk -F, 'FNR > 1 { print $9, $10 }' "$GEO/de_gemeinden_vg5000_2021.csv" >"$TMP/labels"
"$FANOUT" geo locate --stdin --geo-dir "$GEO" <"$TMP/labels" >"$TMP/out" 2>"$TMP/err"
awk -F, 'FNR > 1 { print $1 }' "$GEO/de_gemeinden_vg5000_2021.csv" >"$TMP/want"
grep -o '"ars":"[0-9]*"' "$TMP/out" | cut -d'"' -f4 >"$TMP/got"
if cmp -s "$TMP/want" "$TMP/got"; then
  pass "locate --stdin: all $(wc -l <"$TMP/want") label points → their own ARS"
else
  fail "locate --stdin label points: $(diff "$TMP/want" "$TMP/got" | grep -c '^[<>]') lines differ"
fi

echo "geo CLI e2e: $failures failure(s)"
[[ $failures == 0 ]]
