#!/usr/bin/env python3
"""GeoJSON FeatureCollection -> COPY text rows `ARS<TAB>GEN<TAB>geometry-as-GeoJSON`.

Used by postgis_compare.sh to load the municipality polygons into PostGIS with
ST_GeomFromGeoJSON (ogr2ogr is not installed on the reference machine). Stdlib only.
"""
import json
import sys


def esc(s: str) -> str:
    # COPY text format: backslash, tab, newline and carriage return must be escaped.
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: geojson_to_tsv.py FILE.geojson > rows.tsv", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    out = sys.stdout
    n = 0
    for feat in doc["features"]:
        props = feat["properties"]
        geom = json.dumps(feat["geometry"], separators=(",", ":"))
        out.write(f"{esc(props['ARS'])}\t{esc(props.get('GEN', ''))}\t{esc(geom)}\n")
        n += 1
    print(f"geojson_to_tsv: {n} features", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
