#!/usr/bin/env bash
# `fanout devices generate | import --postgres | export --postgres` through a real PostgreSQL
# (the PG* variables of scripts/with-postgres.sh): the exported set equals the generated one,
# a second import of changed devices replaces them (versions), and SQLite gives the same set.
# Usage: devices_pg_e2e.sh FANOUT_BINARY DATA_DIR
set -euo pipefail
FANOUT=$1
DATA=$2
[[ -n ${PGHOST:-} ]] || { echo "FAIL: PGHOST not set (run under scripts/with-postgres.sh)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
url="postgresql://${PGUSER:-postgres}@/${PGDATABASE:-postgres}?host=$PGHOST&port=$PGPORT"
psql -qAt -c "DROP TABLE IF EXISTS devices, device_tombstones, device_sync, schema_migrations CASCADE" \
  >/dev/null 2>&1 || true

"$FANOUT" devices generate --count 2000 --seed 7 --geo-dir "$DATA/geo" --out "$work/gen.jsonl" 2>/dev/null
"$FANOUT" devices import "$work/gen.jsonl" --postgres "$url" --geo-dir "$DATA/geo" 2>"$work/import.log" ||
  fail "import: $(cat "$work/import.log")"
"$FANOUT" devices export --postgres "$url" --out "$work/pg.jsonl" 2>/dev/null || fail "export"
sort "$work/gen.jsonl" >"$work/a"
sort "$work/pg.jsonl" >"$work/b"
cmp -s "$work/a" "$work/b" || fail "exported set differs from the generated one: $(diff "$work/a" "$work/b" | head -5)"

# Changed devices imported again replace the stored ones (a newer version).
head -100 "$work/gen.jsonl" | sed 's/"mylocation":false/"mylocation":true/' >"$work/changed.jsonl"
"$FANOUT" devices import "$work/changed.jsonl" --postgres "$url" --no-key-check 2>/dev/null ||
  fail "second import"
"$FANOUT" devices export --postgres "$url" --out "$work/pg2.jsonl" 2>/dev/null
n=$(wc -l <"$work/pg2.jsonl")
[[ $n == 2000 ]] || fail "after the second import: $n devices, expected 2000"
# Every one of the 100 now shares its location, as the second file says.
want=$(grep -c '"mylocation":true' "$work/changed.jsonl")
[[ $want == 100 ]] || fail "the test's own edit: $want of 100 changed devices with mylocation"
got_changed=$(grep -F -f <(grep -o '"device_id":"[^"]*"' "$work/changed.jsonl") "$work/pg2.jsonl" | grep -c '"mylocation":true')
[[ $got_changed == "$want" ]] || fail "changed devices: $got_changed with mylocation, expected $want"

# The same file through SQLite: the same set.
"$FANOUT" devices import "$work/gen.jsonl" --data-dir "$work/region" --no-key-check 2>/dev/null
"$FANOUT" devices export --data-dir "$work/region" --out "$work/sqlite.jsonl" 2>/dev/null
sort "$work/sqlite.jsonl" | cmp -s - "$work/a" || fail "SQLite export differs from the generated set"
# Generated straight into a store (no file in between): the same devices as the file.
psql -qAt -c "DROP TABLE IF EXISTS devices, device_tombstones, device_sync, schema_migrations CASCADE" \
  >/dev/null 2>&1 || true
"$FANOUT" devices generate --count 2000 --seed 7 --geo-dir "$DATA/geo" --postgres "$url" 2>/dev/null ||
  fail "generate --postgres"
"$FANOUT" devices export --postgres "$url" --out "$work/gen-pg.jsonl" 2>/dev/null
sort "$work/gen-pg.jsonl" | cmp -s - "$work/a" || fail "generate --postgres differs from the generated file"
"$FANOUT" devices generate --count 2000 --seed 7 --geo-dir "$DATA/geo" --data-dir "$work/gen-region" \
  2>/dev/null || fail "generate --data-dir"
"$FANOUT" devices export --data-dir "$work/gen-region" --out "$work/gen-sqlite.jsonl" 2>/dev/null
sort "$work/gen-sqlite.jsonl" | cmp -s - "$work/a" || fail "generate --data-dir differs from the generated file"
if "$FANOUT" devices generate --count 1 --out "$work/x" --data-dir "$work/y" 2>"$work/err"; then
  fail "generate with --out and a store succeeded"
fi
# Neither or both stores: a usage error.
if "$FANOUT" devices export --out /dev/null 2>"$work/err"; then fail "export without a store succeeded"; fi
grep -q "either --data-dir or --postgres" "$work/err" || fail "usage message: $(cat "$work/err")"
echo "devices pg e2e: OK (2000 devices round-trip through PostgreSQL and SQLite, 100 replaced, generated straight into both)"
