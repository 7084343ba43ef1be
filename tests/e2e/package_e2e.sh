#!/usr/bin/env bash
# The Debian package (issue 14): `cpack` in BUILD_DIR, then its file list (`dpkg-deb -c`), its
# control data and maintainer scripts (`dpkg-deb -e`, `sh -n`), and the systemd units
# (`systemd-analyze verify` against the unpacked package as root directory, and the hardening
# score of `systemd-analyze security --offline`). The test build's package carries the
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
