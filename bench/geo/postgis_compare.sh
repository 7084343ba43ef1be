#!/usr/bin/env bash
# Our GEOS index versus PostGIS ST_Intersects, side by side on the same data and shapes.
#
#   bench/geo/postgis_compare.sh [BUILD_DIR]      (default build/release, the Release preset)
#   RUNS=20 PGPORT_BENCH=5439 OUT=/tmp/... bench/geo/postgis_compare.sh
#
# 1. installs PostgreSQL 15 + PostGIS 3 if missing (apt, needs root);
# 2. builds fanout_geo_postgis_compare (bench/geo/postgis_compare_bench.cpp, libpq);
# 3. starts a throwaway cluster in a temp dir (as root: initdb/pg_ctl via `su postgres`;
#    otherwise as the current user), port $PGPORT_BENCH, unix socket in the temp dir;
# 4. loads data/geo/de_gemeinden_vg5000_2021.geojson into gemeinden(ars, gen, geom) with a
#    GiST index (geojson_to_tsv.py → \copy → ST_GeomFromGeoJSON, postgis_load.sql);
# 5. runs the driver: resolve (municipality, Kreis, two Länder, 50 km circle — identical WKT
#    on both sides) and locate (label points, random points), $RUNS interleaved rounds each,
#    medians, ratio ours/PostGIS, and set agreement (ours with the artefact filter off);
# 6. stops the cluster and removes the temp dir (also on error).
# Exit status: the driver's (0 all sets agree, 3 some differ, 2 setup error).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$REPO/build/release}
RUNS=${RUNS:-20}
PORT=${PGPORT_BENCH:-5439}
OUT=${OUT:-$BUILD/bench/geo/postgis_compare_out}
PGBIN=/usr/lib/postgresql/15/bin

if [[ ! -f /usr/share/postgresql/15/extension/postgis.control ]]; then
  echo "== installing PostgreSQL 15 + PostGIS 3"
  apt-get install -y --no-install-recommends postgresql-15 postgresql-15-postgis-3
fi

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD" -j2 --target fanout_geo_postgis_compare
DRIVER=$BUILD/bench/geo/fanout_geo_postgis_compare

D=$(mktemp -d /tmp/fanout-geo-pg.XXXXXX)
chmod 755 "$D"
as_pg() {
  if [[ $(id -u) == 0 ]]; then
    su postgres -s /bin/bash -c "$*"
  else
    bash -c "$*"
  fi
}
[[ $(id -u) == 0 ]] && chown postgres:postgres "$D"
cleanup() {
  as_pg "$PGBIN/pg_ctl -D $D/data -m fast -w stop" >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap cleanup EXIT

echo "== cluster in $D, port $PORT"
as_pg "$PGBIN/initdb -D $D/data -U postgres --auth=trust -E UTF8" >/dev/null
as_pg "$PGBIN/pg_ctl -D $D/data -l $D/pg.log -o '-p $PORT -k $D -c listen_addresses=' -w start" >/dev/null
PSQL=(psql -X -q -h "$D" -p "$PORT" -U postgres -d postgres)

echo "== loading municipalities"
python3 "$REPO/bench/geo/geojson_to_tsv.py" "$REPO/data/geo/de_gemeinden_vg5000_2021.geojson" >"$D/gemeinden.tsv"
t0=$(date +%s.%N)
"${PSQL[@]}" -f "$REPO/bench/geo/postgis_load.sql" <"$D/gemeinden.tsv"
t1=$(date +%s.%N)
# Label points (for the production rule's criterion (b)), from the municipality CSV.
"${PSQL[@]}" -c "create table labels (ars text, ags text, name text, bez text, kreis text, land text, gf text, bsg text, lat float8, lon float8, cell text)" \
  -c "\\copy labels from '$REPO/data/geo/de_gemeinden_vg5000_2021.csv' csv header" \
  -c "alter table gemeinden add column label geometry(Point, 4326)" \
  -c "update gemeinden g set label = st_setsrid(st_makepoint(l.lon, l.lat), 4326) from labels l where l.ars = g.ars"
echo "load into PostGIS (\\copy + ST_GeomFromGeoJSON + pk + GiST + vacuum analyze): $(echo "$t1 - $t0" | bc) s wall"

echo "== comparing ($RUNS runs); machine load before: $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$OUT"
rc=0
"$DRIVER" --data "$REPO/data" --conninfo "host=$D port=$PORT user=postgres dbname=postgres" \
  --runs "$RUNS" --out "$OUT" || rc=$?
echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg); sets, plans and shapes in $OUT"
exit $rc
