-- Area oracle, step 1: the reference geodata in PostGIS (run by run.sh with psql).
--   :geojson_rows   file of `ARS<TAB>GEN<TAB>geometry-GeoJSON` (bench/geo/geojson_to_tsv.py)
--   :csv_file       data/geo/de_gemeinden_vg5000_2021.csv (label points)
--   :cells_file     data/geo/dwd_warncellids.csv
--   :lakes_rows     file of `WARNCELLID<TAB>geometry-GeoJSON` (lake/coast cells)
-- (\copy does not expand variables, hence the `\set cmd ... / :cmd` pairs.)
-- Nothing here is derived from fanout: these are the same public data files it reads.
\set ON_ERROR_STOP on
create extension if not exists postgis;
set client_min_messages = warning;

drop schema if exists oracle cascade;
create schema oracle;
set search_path = oracle, public;

create unlogged table gem_raw (ars text, gen text, gj text);
\set cmd '\\copy gem_raw from ' :'geojson_rows'
:cmd
create unlogged table gem_csv (ars text, ags text, name text, bez text, kreis_ars5 text,
  land text, gf text, bsg text, label_lat double precision, label_lon double precision,
  dwd_warncellid_guess text);
\set cmd '\\copy gem_csv from ' :'csv_file' ' with (format csv, header true)'
:cmd

-- One row per municipality: polygon (as in the GeoJSON), AGS and label point (from the CSV).
create table gem as
  select r.ars, r.gen, c.ags,
         st_multi(st_setsrid(st_geomfromgeojson(r.gj), 4326))::geometry(MultiPolygon, 4326) as geom,
         st_setsrid(st_makepoint(c.label_lon, c.label_lat), 4326)::geometry(Point, 4326) as label
  from gem_raw r join gem_csv c using (ars);
alter table gem add primary key (ars);
create unique index gem_ags on gem (ags);
create index gem_geom on gem using gist (geom);
drop table gem_raw;

-- The DWD warn-cell list (`;`-separated, header WARNCELLID;NAME;KURZNAME;CCC;BL).
create table warncells (warncellid text primary key, name text, kurzname text, ccc text, bl text);
\set cmd '\\copy warncells from ' :'cells_file' ' with (format csv, header true, delimiter '';'')'
:cmd

-- Lake (type 2) and coast (type 5) cell polygons.
create unlogged table lake_raw (warncellid text, gj text);
\set cmd '\\copy lake_raw from ' :'lakes_rows'
:cmd
create table lakes as
  select warncellid, st_setsrid(st_geomfromgeojson(gj), 4326) as geom from lake_raw;
drop table lake_raw;
-- 3 of the 10,997 polygons have a self-intersecting ring (Burgjoß, Bad Sulza,
-- Langenwetzendorf); GEOS overlay functions need valid input, so those are repaired
-- (their ellipsoidal area is unchanged to the square metre).
update gem set geom = st_multi(st_collectionextract(st_makevalid(geom), 3)) where not st_isvalid(geom);
analyze gem;

select (select count(*) from gem) as municipalities,
       (select count(*) from gem where not st_isvalid(geom)) as invalid_polygons,
       (select count(*) from warncells) as warncells,
       (select count(*) from lakes) as lake_coast_cells;
