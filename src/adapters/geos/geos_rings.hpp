#pragma once
// Walking the polygons and rings of a GEOS geometry (reentrant C API): shared by the index, the
// boundary walk's tests and the overlap fuzz target, which all turn GEOS polygons into rings of
// lon/lat pairs.
#include <geos_c.h>

#include <cstddef>
#include <vector>

#include "adapters/geos/overlap.hpp"

namespace fanout::adapters::geos {

/// Calls fn(polygon) for every non-empty Polygon of `g`, recursing into MultiPolygons and
/// GeometryCollections; other types are skipped.
template <class Fn>
void ForEachPolygon(GEOSContextHandle_t ctx, const GEOSGeometry* g, Fn&& fn) {
  const int type = GEOSGeomTypeId_r(ctx, g);
  if (type == GEOS_POLYGON) {
    if (!GEOSisEmpty_r(ctx, g)) fn(g);
  } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
    const int n = GEOSGetNumGeometries_r(ctx, g);
    for (int i = 0; i < n; ++i) ForEachPolygon(ctx, GEOSGetGeometryN_r(ctx, g, i), fn);
  }
}

/// Calls fn(xy, hole) for a polygon's exterior ring (hole false) and each interior ring, xy =
/// x0, y0, x1, y1, … as GEOS stores it (closed). False when a ring could not be read.
template <class Fn>
bool ForEachRing(GEOSContextHandle_t ctx, const GEOSGeometry* polygon, Fn&& fn) {
  std::vector<double> xy;
  auto ring = [&](const GEOSGeometry* r, bool hole) {
    const GEOSCoordSequence* seq = r ? GEOSGeom_getCoordSeq_r(ctx, r) : nullptr;
    unsigned int n = 0;
    if (!seq || !GEOSCoordSeq_getSize_r(ctx, seq, &n)) return false;
    xy.resize(2 * std::size_t{n});
    if (n > 0 && !GEOSCoordSeq_copyToBuffer_r(ctx, seq, xy.data(), 0, 0)) return false;
    fn(static_cast<const std::vector<double>&>(xy), hole);
    return true;
  };
  if (!ring(GEOSGetExteriorRing_r(ctx, polygon), false)) return false;
  const int holes = GEOSGetNumInteriorRings_r(ctx, polygon);
  for (int i = 0; i < holes; ++i) {
    if (!ring(GEOSGetInteriorRingN_r(ctx, polygon, i), true)) return false;
  }
  return true;
}

/// Area (holes subtracted) and perimeter of a polygon, projected with `proj` (MeasureRing).
inline Extent MeasurePolygon(GEOSContextHandle_t ctx, const GEOSGeometry* polygon,
                             const AuthalicProjection& proj) {
  Extent e;
  ForEachRing(ctx, polygon, [&](const std::vector<double>& xy, bool hole) {
    const Extent r = MeasureRing(xy.data(), xy.size() / 2, proj);
    e.area_m2 += hole ? -r.area_m2 : r.area_m2;
    e.perimeter_m += r.perimeter_m;
  });
  return e;
}

/// The rings of every polygon of `g` as PlanarRings (ok() false when a ring is unreadable or
/// there is none).
inline PlanarRings PlanarRingsOf(GEOSContextHandle_t ctx, const GEOSGeometry* g) {
  PlanarRings rings;
  bool readable = true;
  ForEachPolygon(ctx, g, [&](const GEOSGeometry* polygon) {
    readable = ForEachRing(ctx, polygon,
                           [&](const std::vector<double>& xy, bool hole) {
                             rings.AddRing(xy.data(), xy.size() / 2, hole);
                           }) &&
               readable;
  });
  if (!readable) rings.AddRing(nullptr, 0, false);  // marks the rings unusable
  return rings;
}

}  // namespace fanout::adapters::geos
