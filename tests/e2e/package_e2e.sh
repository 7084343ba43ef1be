#!/usr/bin/env bash
# The Debian package (issue 14): `cpack` in BUILD_DIR, then its file list (`dpkg-deb -c`), its
# control data and maintainer scripts (`dpkg-deb -e`, `sh -n`), and the systemd units
# (`systemd-analyze verify` against the unpacked package as root directory, and the hardening
# score of `systemd-analyze security --offline`), and an upgrade: the packaged binary, with
# the config postinst writes, started on a registry an older release left in /var/lib/fanout.
# The test build's package carries the
# sanitizer build of the binary; operators build it from the release preset (README).
# Usage: package_e2e.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/fanout-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$BUILD" && cpack -B "$work/out" >"$work/cpack.log" 2>&1) || fail "cpack: $(tail -20 "$work/cpack.log")"
deb=$(ls "$work"/out/fanout_*_amd64.deb 2>/dev/null | head -1)
[[ -f $deb ]] || fail "no package in $work/out: $(ls "$work/out")"
echo "ok: built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

dpkg-deb -c "$deb" >"$work/files.txt"
for f in ./usr/bin/fanout ./usr/share/fanout/geo/de_gemeinden_vg5000_2021.csv \
         ./usr/share/fanout/README.md ./usr/share/doc/fanout/README.md \
         ./usr/share/doc/fanout/grafana/fanout.json \
         ./usr/lib/systemd/system/fanout.service ./usr/lib/systemd/system/fanout@.service; do
  grep -q " $f\$" "$work/files.txt" || fail "package lacks $f"
done
if grep -E ' \./(home|root|tmp|work)/' "$work/files.txt"; then fail "package has files outside /usr"; fi
grep -q '^-rwxr-xr-x root/root .* ./usr/bin/fanout$' "$work/files.txt" || fail "binary not root-owned 0755"
echo "ok: file list ($(wc -l <"$work/files.txt") entries: binary, data, docs, units)"

dpkg-deb -e "$deb" "$work/control"
grep -q '^Package: fanout$' "$work/control/control" || fail "control: no Package"
grep -q '^Depends:.*adduser' "$work/control/control" || fail "control: does not depend on adduser"
grep -q '^Depends:.*libnghttp2' "$work/control/control" || fail "control: shared library dependencies missing"
for s in postinst prerm postrm; do
  [[ -x $work/control/$s ]] || fail "maintainer script $s missing or not executable"
  sh -n "$work/control/$s" || fail "maintainer script $s: syntax"
done
grep -q 'adduser --system' "$work/control/postinst" || fail "postinst does not create the fanout user"
grep -q 'fanout config example' "$work/control/postinst" || fail "postinst writes no first config"
grep -q 'purge' "$work/control/postrm" || fail "postrm does not handle purge"
echo "ok: control data and maintainer scripts"

root=$work/root
dpkg-deb -x "$deb" "$root"
# `verify` checks ExecStart='s binary: point it at the unpacked one (the units are otherwise
# as packaged); the fanout user exists only after postinst.
mkdir -p "$work/units"
for u in fanout.service fanout@role.service; do
  sed "s|/usr/bin/fanout|$root/usr/bin/fanout|" "$root/usr/lib/systemd/system/${u/@role/@}" \
    >"$work/units/$u"
  if ! (cd "$work/units" && systemd-analyze verify "./$u") >"$work/verify.log" 2>&1; then
    fail "systemd-analyze verify $u: $(cat "$work/verify.log")"
  fi
  if grep -v -E "nats-server.service|postgresql.service" "$work/verify.log" | grep -q .; then
    fail "systemd-analyze verify $u warns: $(cat "$work/verify.log")"
  fi
done
echo "ok: systemd-analyze verify (both units)"
score=$(cd "$work/units" && systemd-analyze security --offline=true ./fanout.service 2>/dev/null |
        sed -n 's/.*Overall exposure level for fanout.service: \([0-9.]*\).*/\1/p')
[[ -n $score ]] || fail "systemd-analyze security printed no exposure level"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || fail "exposure level $score above 2.5"
echo "ok: hardening, exposure level $score (systemd-analyze security --offline; 10 = none)"

# An upgrade keeps the registry: the state a release before the versioned registry left in
# /var/lib/fanout (a devices.db of schema 1, no version columns), then the packaged binary
# started on it as the upgraded service would be (its config written as postinst writes it):
# the devices are served, the file is migrated in place. (dpkg's own upgrade sequence only
# restarts the service, postinst above; the PostgreSQL schema's upgrade is
# PgTest.ApplicationRoleNeedsAMigratedSchemaAndCannotChangeIt.)
state=$root/var/lib/fanout/eu-central
mkdir -p "$state"
python3 - "$state/devices.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript(
    "CREATE TABLE devices(device_id TEXT PRIMARY KEY, platform INTEGER NOT NULL,"
    " token TEXT NOT NULL, levels TEXT NOT NULL, mylocation INTEGER NOT NULL,"
    " regions TEXT NOT NULL, updated_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;")
for i, ars in enumerate(["146120000000", "091620000000", "110000000000"]):
    db.execute("INSERT INTO devices VALUES(?, 1, ?, 'AP1=2', 0, ?, 0)",
               ("old-%d" % i, "tok-old-%d" % i, ars))
db.commit()
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$root/usr/bin/fanout" config example --keys-dir "$work/keys" >"$work/fanout.toml" 2>"$work/tokens.txt" ||
  fail "the packaged binary could not write a config: $(cat "$work/tokens.txt")"
# postinst's own edit of the config, with the state directory under the unpacked root.
edit=$(sed -n "s|^ *sed -i '\(.*\)' \\\\$|\1|p" "$work/control/postinst")
[[ $edit == *'\[store\]'* ]] || fail "postinst's config edit not found (got '$edit')"
sed -i "${edit//\/var\/lib\/fanout\/eu-central/$state}" "$work/fanout.toml"
grep -q "^data_dir = \"$root/usr/share/fanout/geo\"" "$work/fanout.toml" ||
  fail "postinst's edit changed more than [store] data_dir: $(grep '^data_dir' "$work/fanout.toml")"
device_token=$(sed -n 's/^device_token = //p' "$work/tokens.txt")
"$root/usr/bin/fanout" serve --config "$work/fanout.toml" --set "http.listen=127.0.0.1:$port" \
  --set push.apns.endpoint=http://127.0.0.1:9 --set push.fcm.endpoint=http://127.0.0.1:9 \
  >"$work/serve.log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true; wait $serve 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 600); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 $serve 2>/dev/null || fail "the packaged binary did not start on the old state: $(tail -5 "$work/serve.log")"
  sleep 0.1
done
for i in 0 1 2; do
  got=$(curl -sS -H "Authorization: Bearer $device_token" "http://127.0.0.1:$port/v1/devices/old-$i")
  [[ $got == *"\"token\":\"tok-old-$i\""* ]] || fail "after the upgrade device old-$i is $got"
done
kill $serve; wait $serve 2>/dev/null || true
columns=$(python3 -c 'import sqlite3,sys; print(",".join(r[1] for r in sqlite3.connect(sys.argv[1]).execute("PRAGMA table_info(devices)")))' "$state/devices.db")
[[ ,$columns, == *,version,* ]] || fail "devices.db not migrated in place (columns $columns)"
echo "ok: upgrade: the packaged binary serves the 3 devices of a schema-1 registry and migrated it in place"
