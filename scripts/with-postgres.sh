#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh CMD [ARGS...]
# Starts a throwaway PostgreSQL cluster (initdb into a temp dir, Unix socket only, trust
# auth), exports PGHOST/PGPORT/PGUSER/PGDATABASE for CMD, runs it, stops the cluster and
# deletes it, and exits with CMD's status. Works as root (the server runs as `postgres`,
# initdb refuses root) and as an ordinary user. Extra server settings:
#   FANOUT_PG_OPTS="-c shared_buffers=1GB -c max_wal_size=4GB"
# Example: scripts/with-postgres.sh ctest --test-dir build/h-dev -L pg --output-on-failure
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "$0: PostgreSQL server binaries not found (apt-get install -y postgresql-15)" >&2
  exit 2
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/fanout-pg.XXXXXX")
port=$((20000 + RANDOM % 20000))
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$dir"
  chmod 755 "$dir"
fi
cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
as_pg "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 2; }
if ! as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses='' ${FANOUT_PG_OPTS:-}" start >/dev/null; then
  cat "$dir/server.log" >&2
  exit 2
fi
export PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
unset PGPASSWORD PGSERVICE
set +e
"$@"
rc=$?
set -e
exit $rc
