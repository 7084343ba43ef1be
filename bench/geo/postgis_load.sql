-- Loads the municipality polygons (rows from geojson_to_tsv.py on psql's stdin) into
-- gemeinden(ars, gen, geom) with a GiST index. Run by postgis_compare.sh.
\set ON_ERROR_STOP on
\timing on
create extension if not exists postgis;
set client_min_messages = warning;
drop table if exists gemeinden_raw, gemeinden;
create unlogged table gemeinden_raw (ars text, gen text, gj text);
\copy gemeinden_raw from pstdin
create table gemeinden as
  select ars, gen, st_multi(st_setsrid(st_geomfromgeojson(gj), 4326))::geometry(MultiPolygon, 4326) as geom
  from gemeinden_raw;
alter table gemeinden add primary key (ars);
create index gemeinden_geom_gist on gemeinden using gist (geom);
vacuum analyze gemeinden;
drop table gemeinden_raw;
\timing off
select count(*) as rows, sum(st_npoints(geom)) as vertices,
       count(*) filter (where not st_isvalid(geom)) as invalid,
       pg_size_pretty(pg_total_relation_size('gemeinden')) as size
from gemeinden;
