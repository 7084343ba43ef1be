// Fuzz target, differential: MeasureOverlap (src/adapters/geos/overlap.hpp, the boundary walk
// of the area rule) against GEOS's overlay on two polygons built from the input. Whenever the
// walk answers, its area and perimeter must be the overlay's; it may decline. Aborts on a
// difference (an under-measured overlap would leave a municipality unwarned).
//
// Input: byte 0 = points of the first polygon (3–18), byte 1 = of the second, byte 2 = flags
// (bit 0: sort each ring's points by angle — star-shaped, mostly valid; bit 1: the first
// polygon has a hole, bit 2: the second has one), byte 3 = points of a hole (3–10); then
// little-endian int16 pairs, coordinate = 10° / 51° + v · 1e-6° (a ±3 km square), so
// repeated values give shared vertices and collinear edges: the first polygon's shell, its
// hole, the second's shell, its hole. Seeds: fuzz/seeds/overlap.
#include <geos_c.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "adapters/geos/geos_rings.hpp"
#include "adapters/geos/overlap.hpp"

namespace {

using fanout::adapters::geos::AuthalicProjection;
using fanout::adapters::geos::Extent;
using fanout::adapters::geos::ForEachPolygon;
using fanout::adapters::geos::MeasureOverlap;
using fanout::adapters::geos::MeasurePolygon;
using fanout::adapters::geos::PlanarRings;

struct Reader {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  bool Int16(int& v) {
    if (at + 2 > size) return false;
    v = static_cast<int16_t>(static_cast<uint16_t>(data[at] | (data[at + 1] << 8)));
    at += 2;
    return true;
  }
};

/// A closed ring x0, y0, …, x0, y0, or empty when the input ends first.
std::vector<double> ReadRing(Reader& in, int points, bool star) {
  std::vector<double> xy;
  for (int i = 0; i < points; ++i) {
    int vx = 0, vy = 0;
    if (!in.Int16(vx) || !in.Int16(vy)) return {};
    xy.push_back(10 + vx * 1e-6);
    xy.push_back(51 + vy * 1e-6);
  }
  if (star) {
    double cx = 0, cy = 0;
    for (size_t i = 0; i < xy.size(); i += 2) {
      cx += xy[i];
      cy += xy[i + 1];
    }
    cx /= points;
    cy /= points;
    std::vector<std::pair<double, std::pair<double, double>>> by_angle;
    for (size_t i = 0; i < xy.size(); i += 2) {
      by_angle.push_back({std::atan2(xy[i + 1] - cy, xy[i] - cx), {xy[i], xy[i + 1]}});
    }
    std::sort(by_angle.begin(), by_angle.end());
    xy.clear();
    for (const auto& [angle, p] : by_angle) {
      xy.push_back(p.first);
      xy.push_back(p.second);
    }
  }
  xy.push_back(xy[0]);
  xy.push_back(xy[1]);
  return xy;
}

GEOSContextHandle_t Context() {
  static GEOSContextHandle_t ctx = GEOS_init_r();
  return ctx;
}

/// A polygon from a shell and an optional hole (empty: none).
GEOSGeometry* Polygon(const std::vector<double>& shell, const std::vector<double>& hole) {
  GEOSContextHandle_t ctx = Context();
  auto ring = [&](const std::vector<double>& xy) -> GEOSGeometry* {
    GEOSCoordSequence* seq =
        GEOSCoordSeq_copyFromBuffer_r(ctx, xy.data(), static_cast<unsigned>(xy.size() / 2), 0, 0);
    return seq ? GEOSGeom_createLinearRing_r(ctx, seq) : nullptr;
  };
  GEOSGeometry* outer = ring(shell);
  if (!outer) return nullptr;
  GEOSGeometry* inner = hole.empty() ? nullptr : ring(hole);
  if (!hole.empty() && !inner) {
    GEOSGeom_destroy_r(ctx, outer);
    return nullptr;
  }
  return GEOSGeom_createPolygon_r(ctx, outer, inner ? &inner : nullptr, inner ? 1 : 0);
}

PlanarRings Planar(const std::vector<double>& shell, const std::vector<double>& hole) {
  PlanarRings rings;
  rings.AddRing(shell.data(), shell.size() / 2, false);
  if (!hole.empty()) rings.AddRing(hole.data(), hole.size() / 2, true);
  return rings;
}

/// Area and perimeter of the polygonal parts of `g`, projected as MeasureOverlap does.
Extent Measure(const GEOSGeometry* g, const AuthalicProjection& proj) {
  Extent e;
  ForEachPolygon(Context(), g, [&](const GEOSGeometry* polygon) {
    const Extent p = MeasurePolygon(Context(), polygon, proj);
    e.area_m2 += p.area_m2;
    e.perimeter_m += p.perimeter_m;
  });
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const int na = 3 + data[0] % 16, nb = 3 + data[1] % 16, nh = 3 + data[3] % 8;
  const bool star = (data[2] & 1) != 0, a_hole = (data[2] & 2) != 0, b_hole = (data[2] & 4) != 0;
  Reader in{data, size, 4};
  const std::vector<double> a = ReadRing(in, na, star);
  const std::vector<double> ah = a_hole ? ReadRing(in, nh, star) : std::vector<double>{};
  const std::vector<double> b = ReadRing(in, nb, star);
  const std::vector<double> bh = b_hole ? ReadRing(in, nh, star) : std::vector<double>{};
  if (a.empty() || b.empty() || (a_hole && ah.empty()) || (b_hole && bh.empty())) return 0;
  GEOSContextHandle_t ctx = Context();
  GEOSGeometry* ga = Polygon(a, ah);
  GEOSGeometry* gb = Polygon(b, bh);
  if (ga && gb && GEOSisValid_r(ctx, ga) == 1 && GEOSisValid_r(ctx, gb) == 1) {
    PlanarRings shape = Planar(a, ah), part = Planar(b, bh);
    shape.BuildIndex();
    if (shape.Clean() && part.Clean()) {
      if (const auto walk = MeasureOverlap(shape, part)) {
        double x0 = 0, y0 = 0;
        GEOSGeom_getXMin_r(ctx, gb, &x0);
        GEOSGeom_getYMin_r(ctx, gb, &y0);
        if (GEOSGeometry* inter = GEOSIntersection_r(ctx, gb, ga)) {
          const Extent want = Measure(inter, AuthalicProjection(y0, x0));
          GEOSGeom_destroy_r(ctx, inter);
          if (std::abs(walk->area_m2 - want.area_m2) > 1e-3 + 1e-9 * want.area_m2 ||
              std::abs(walk->perimeter_m - want.perimeter_m) > 1e-6 + 1e-9 * want.perimeter_m) {
            std::fprintf(stderr, "walk %.9f m² %.9f m, overlay %.9f m² %.9f m\n", walk->area_m2,
                         walk->perimeter_m, want.area_m2, want.perimeter_m);
            std::abort();
          }
        }
      }
    }
  }
  if (ga) GEOSGeom_destroy_r(ctx, ga);
  if (gb) GEOSGeom_destroy_r(ctx, gb);
  return 0;
}
