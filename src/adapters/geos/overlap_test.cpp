// MeasureOverlap against hand-derived figures and against a second implementation: a GEOS
// overlay of the same polygons, measured with the same projection, on the real outlines of
// every Land and Kreis and their border municipalities.
#include "adapters/geos/overlap.hpp"

#include <geos_c.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>

#include "adapters/geos/geojson.hpp"
#include "adapters/geos/geos_rings.hpp"

namespace fanout::adapters::geos {
namespace {

const std::filesystem::path kGeoDir = FANOUT_DATA_DIR "/geo";

PlanarRings Rings(std::initializer_list<std::vector<double>> rings) {
  PlanarRings out;
  bool hole = false;
  for (const auto& r : rings) {
    out.AddRing(r.data(), r.size() / 2, hole);
    hole = true;  // every ring after the first is a hole
  }
  return out;
}

std::vector<double> Rect(double x0, double y0, double x1, double y1) {
  return {x0, y0, x1, y0, x1, y1, x0, y1, x0, y0};
}

std::vector<double> Reversed(std::vector<double> xy) {
  std::vector<double> out;
  for (std::size_t i = xy.size(); i >= 2; i -= 2) {
    out.push_back(xy[i - 2]);
    out.push_back(xy[i - 1]);
  }
  return out;
}

// One degree of longitude at the equator on WGS84, and one of latitude near it: 0.01° × 0.01°
// at the equator is 1,113.19 m × 1,105.75 m (meridian arc from 0° to 0.01°).
constexpr double kSquareCentiDegree = 1113.1949 * 1105.7428;

TEST(Overlap, RectanglesAtTheEquatorMatchTheirDimensionsInMetres) {
  const PlanarRings shape = Rings({Rect(0, 0, 0.02, 0.02)});
  const PlanarRings part = Rings({Rect(0.01, 0.005, 0.03, 0.015)});
  const auto e = MeasureOverlap(shape, part);
  ASSERT_TRUE(e);
  EXPECT_NEAR(e->area_m2, kSquareCentiDegree, kSquareCentiDegree * 1e-4);
  EXPECT_NEAR(e->perimeter_m, 2 * (1113.1949 + 1105.7428), 0.5);
}

TEST(Overlap, RingOrientationDoesNotMatter) {
  const auto a = Rect(0, 0, 0.02, 0.02), b = Rect(0.01, 0.005, 0.03, 0.015);
  const auto want = MeasureOverlap(Rings({a}), Rings({b}));
  ASSERT_TRUE(want);
  for (const auto& [sa, sb] : {std::pair{a, Reversed(b)}, std::pair{Reversed(a), b},
                               std::pair{Reversed(a), Reversed(b)}}) {
    const auto got = MeasureOverlap(Rings({sa}), Rings({sb}));
    ASSERT_TRUE(got);
    EXPECT_NEAR(got->area_m2, want->area_m2, 1e-6);
    EXPECT_NEAR(got->perimeter_m, want->perimeter_m, 1e-6);
  }
}

TEST(Overlap, DisjointContainedAndHoles) {
  const double unit = kSquareCentiDegree;
  // Disjoint: nothing.
  auto e = MeasureOverlap(Rings({Rect(0, 0, 0.01, 0.01)}), Rings({Rect(0.02, 0, 0.03, 0.01)}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->area_m2, 0);
  EXPECT_EQ(e->perimeter_m, 0);
  // The part inside the shape: all of the part; the shape inside the part: all of the shape.
  e = MeasureOverlap(Rings({Rect(0, 0, 0.04, 0.04)}), Rings({Rect(0.01, 0.01, 0.02, 0.02)}));
  ASSERT_TRUE(e);
  EXPECT_NEAR(e->area_m2, unit, unit * 1e-3);
  e = MeasureOverlap(Rings({Rect(0.01, 0.01, 0.02, 0.02)}), Rings({Rect(0, 0, 0.04, 0.04)}));
  ASSERT_TRUE(e);
  EXPECT_NEAR(e->area_m2, unit, unit * 1e-3);
  // A shape with a hole: 4×4 minus the 2×2 hole, overlapped by a part covering its right
  // half (2×4 minus 1×2 of the hole) = 6 units; the hole's ring, given either way round.
  for (bool reverse : {false, true}) {
    auto hole = Rect(0.01, 0.01, 0.03, 0.03);
    if (reverse) hole = Reversed(hole);
    e = MeasureOverlap(Rings({Rect(0, 0, 0.04, 0.04), hole}),
                       Rings({Rect(0.02, -0.01, 0.05, 0.05)}));
    ASSERT_TRUE(e);
    EXPECT_NEAR(e->area_m2, 6 * unit, 6 * unit * 1e-3);
    // Perimeter: right half's outline 2 + 4 + 2 + (4 − 2 along x = 0.02) … walked: bottom 2,
    // right 4, top 2, left side x = 0.02 outside the hole 2, the hole's right half 1 + 2 + 1.
    EXPECT_NEAR(e->perimeter_m, 14 * 1110.0, 14 * 1110.0 * 5e-3);
  }
}

TEST(Overlap, SharedVerticesAndSegmentsAreExact) {
  const double unit = kSquareCentiDegree;
  const auto square = Rect(0, 0, 0.02, 0.02);
  // Neighbours sharing an edge or a corner: nothing in common but a line or a point, as the
  // overlay's polygonal result.
  for (const auto& other : {Rect(0.02, 0, 0.04, 0.02), Rect(0.02, 0.02, 0.04, 0.04),
                            Reversed(Rect(0.02, 0, 0.04, 0.02))}) {
    const auto e = MeasureOverlap(Rings({square}), Rings({other}));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->area_m2, 0);
    EXPECT_EQ(e->perimeter_m, 0);
  }
  // The same polygon twice: all of it, its outline once.
  auto e = MeasureOverlap(Rings({square}), Rings({Reversed(square)}));
  ASSERT_TRUE(e);
  EXPECT_NEAR(e->area_m2, 4 * unit, 4 * unit * 1e-3);
  EXPECT_NEAR(e->perimeter_m, 8 * 1110.0, 8 * 1110.0 * 5e-3);
  // A triangle on the square's bottom edge, inside it: the triangle (area 2 units, sides
  // 2 + 2·√2 units).
  e = MeasureOverlap(Rings({square}), Rings({{0, 0, 0.02, 0, 0.01, 0.01, 0, 0}}));
  ASSERT_TRUE(e);
  EXPECT_NEAR(e->area_m2, unit, unit * 1e-3);
  EXPECT_NEAR(e->perimeter_m, (2 + 2 * std::sqrt(2.0)) * 1110.0, 5 * 1110.0 * 5e-3);
}

TEST(Overlap, ContactsRoundingCouldDecideAreLeftToAnOverlay) {
  // A vertex on the other's edge (not one of its vertices), and edges overlapping in part
  // along a line.
  EXPECT_FALSE(MeasureOverlap(Rings({Rect(0, 0, 0.02, 0.02)}),
                              Rings({{0.01, 0.02, 0.03, 0.03, 0.0, 0.03, 0.01, 0.02}})));
  EXPECT_FALSE(MeasureOverlap(Rings({Rect(0, 0, 0.02, 0.02)}), Rings({Rect(0.01, 0, 0.03, 0.01)})));
  EXPECT_FALSE(MeasureOverlap(Rings({Rect(0, 0, 0.02, 0.02)}), Rings({Rect(0, 0, 0.01, 0.03)})));
  // Unusable rings.
  PlanarRings degenerate;
  const std::vector<double> line = {0, 0, 1, 1, 0, 0};
  degenerate.AddRing(line.data(), 3, false);
  EXPECT_FALSE(degenerate.ok());
  EXPECT_FALSE(MeasureOverlap(Rings({Rect(0, 0, 1, 1)}), degenerate));
}

TEST(Overlap, InsideIsExactOrRefuses) {
  PlanarRings square = Rings({Rect(0, 0, 1, 1), Rect(0.25, 0.25, 0.75, 0.75)});
  EXPECT_EQ(square.Inside(0.1, 0.5), true);
  EXPECT_EQ(square.Inside(0.5, 0.5), false);  // in the hole
  EXPECT_EQ(square.Inside(2, 0.5), false);
  EXPECT_EQ(square.Inside(0, 0.5), std::nullopt);      // on the boundary
  EXPECT_EQ(square.Inside(0.5, 0), std::nullopt);      // on a horizontal edge
  EXPECT_EQ(square.Inside(0.25, 0.25), std::nullopt);  // a vertex
  EXPECT_EQ(square.Inside(0.1, 0.25), true);           // at a vertex's height
}

// --- a second implementation: the GEOS overlay, measured the same way ---

struct Geos {
  GEOSContextHandle_t ctx = GEOS_init_r();
  ~Geos() { GEOS_finish_r(ctx); }
};

GEOSGeometry* FromFeature(GEOSContextHandle_t ctx, const GeoJsonFeature& f) {
  GEOSWKTReader* reader = GEOSWKTReader_create_r(ctx);
  GEOSGeometry* g = GEOSWKTReader_read_r(ctx, reader, ToWkt(f).c_str());
  GEOSWKTReader_destroy_r(ctx, reader);
  if (g && GEOSisValid_r(ctx, g) != 1) {
    GEOSGeometry* valid = GEOSMakeValid_r(ctx, g);
    GEOSGeom_destroy_r(ctx, g);
    g = valid;
  }
  return g;
}

/// Area and perimeter of the polygonal parts of `g`, projected like MeasureOverlap does.
Extent MeasureGeometry(GEOSContextHandle_t ctx, const GEOSGeometry* g,
                       const AuthalicProjection& proj) {
  Extent e;
  ForEachPolygon(ctx, g, [&](const GEOSGeometry* polygon) {
    const Extent p = MeasurePolygon(ctx, polygon, proj);
    e.area_m2 += p.area_m2;
    e.perimeter_m += p.perimeter_m;
  });
  return e;
}

// Random star-shaped polygons on a coarse grid (0.001°, 11 × 11 points): shared vertices,
// identical and collinear segments and vertices on edges are common, crossings too. Every
// answer MeasureOverlap gives must equal the overlay's; it may refuse the contacts rounding
// could decide, but must answer for most pairs.
TEST(Overlap, RandomPolygonsOnAGridAgreeWithGeos) {
  const Geos geos;
  GEOSContextHandle_t ctx = geos.ctx;
  std::mt19937 rng(20261204);
  std::uniform_int_distribution<int> count(3, 9);
  // Sorted distinct angles around the grid centre (5, 5), grid cells [lo, hi]²: a simple
  // polygon unless the snapping makes it degenerate (GEOS decides, invalid ones are skipped).
  auto star = [&](int lo, int hi) {
    std::uniform_int_distribution<int> cell(lo, hi);
    std::vector<std::pair<double, std::pair<int, int>>> pts;
    const int n = count(rng);
    for (int k = 0; k < n; ++k) {
      const int gx = cell(rng), gy = cell(rng);
      if (gx == 5 && gy == 5) continue;
      pts.push_back({std::atan2(gy - 5, gx - 5), {gx, gy}});
    }
    std::sort(pts.begin(), pts.end());
    std::vector<double> xy;
    for (const auto& [angle, g] : pts) {
      xy.push_back(10 + 0.001 * g.first);
      xy.push_back(51 + 0.001 * g.second);
    }
    if (!xy.empty()) {
      xy.push_back(xy[0]);
      xy.push_back(xy[1]);
    }
    return xy;
  };
  // A polygon: its shell, then holes.
  auto geometry = [&](const std::vector<std::vector<double>>& rings) -> GEOSGeometry* {
    std::vector<GEOSGeometry*> lr;
    for (const auto& xy : rings) {
      GEOSCoordSequence* seq =
          GEOSCoordSeq_copyFromBuffer_r(ctx, xy.data(), static_cast<unsigned>(xy.size() / 2), 0, 0);
      GEOSGeometry* ring = seq ? GEOSGeom_createLinearRing_r(ctx, seq) : nullptr;
      if (!ring) {
        for (GEOSGeometry* r : lr) GEOSGeom_destroy_r(ctx, r);
        return nullptr;
      }
      lr.push_back(ring);
    }
    return GEOSGeom_createPolygon_r(ctx, lr[0], lr.data() + 1,
                                    static_cast<unsigned>(lr.size() - 1));
  };
  auto planar = [](const std::vector<std::vector<double>>& rings) {
    PlanarRings out;
    for (std::size_t i = 0; i < rings.size(); ++i) {
      out.AddRing(rings[i].data(), rings[i].size() / 2, i > 0);
    }
    return out;
  };
  std::size_t pairs = 0, answered = 0, differ = 0, with_holes = 0;
  while (pairs < 4000) {
    // Every third pair gives the shape a hole, every third the part (near the centre).
    std::vector<std::vector<double>> a = {star(0, 10)}, b = {star(0, 10)};
    if (pairs % 3 == 1) a.push_back(star(3, 7));
    if (pairs % 3 == 2) b.push_back(star(3, 7));
    if (std::any_of(a.begin(), a.end(), [](const auto& r) { return r.size() < 8; }) ||
        std::any_of(b.begin(), b.end(), [](const auto& r) { return r.size() < 8; })) {
      continue;
    }
    GEOSGeometry* ga = geometry(a);
    GEOSGeometry* gb = geometry(b);
    if (ga && gb && GEOSisValid_r(ctx, ga) == 1 && GEOSisValid_r(ctx, gb) == 1) {
      ++pairs;
      with_holes += a.size() + b.size() > 2;
      const PlanarRings ra = planar(a), rb = planar(b);
      std::optional<Extent> fast;
      if (ra.Clean() && rb.Clean()) fast = MeasureOverlap(ra, rb);
      if (fast) {
        ++answered;
        double x0 = 0, y0 = 0;
        GEOSGeom_getXMin_r(ctx, gb, &x0);
        GEOSGeom_getYMin_r(ctx, gb, &y0);
        GEOSGeometry* inter = GEOSIntersection_r(ctx, gb, ga);
        const Extent want = MeasureGeometry(ctx, inter, AuthalicProjection(y0, x0));
        GEOSGeom_destroy_r(ctx, inter);
        if (std::abs(fast->area_m2 - want.area_m2) > 1e-3 ||
            std::abs(fast->perimeter_m - want.perimeter_m) > 1e-6) {
          if (++differ <= 5) {
            ADD_FAILURE() << ::testing::PrintToString(a) << " ∩ " << ::testing::PrintToString(b)
                          << ": " << fast->area_m2 << " m², " << fast->perimeter_m << " m; overlay "
                          << want.area_m2 << " m², " << want.perimeter_m << " m";
          }
        }
      }
    }
    if (ga) GEOSGeom_destroy_r(ctx, ga);
    if (gb) GEOSGeom_destroy_r(ctx, gb);
  }
  std::cout << "[overlap] random grid polygons: " << pairs << " pairs (" << with_holes
            << " with a hole), " << answered << " answered without an overlay\n";
  EXPECT_EQ(differ, 0u);
  EXPECT_GT(with_holes, 1000u);
  EXPECT_GT(answered * 3, pairs);  // about half (1,944 of 4,000 here)
}

struct Agreement {
  std::size_t compared = 0, refused = 0, differ = 0;
  double worst_area = 0, worst_perimeter = 0;  // relative

  /// Prints the figures; fails on any difference, on fewer overlaps than `at_least`, and when
  /// more than 1 in `min_ratio` went to the overlay.
  void Check(const char* what, std::size_t at_least, std::size_t min_ratio) const {
    std::cout << "[overlap] " << what << ": " << compared << " border overlaps, " << refused
              << " left to the overlay, worst relative difference: area " << worst_area
              << ", perimeter " << worst_perimeter << "\n";
    EXPECT_EQ(differ, 0u);
    EXPECT_GT(compared, at_least);
    EXPECT_LT(refused * min_ratio, compared);
  }
};

/// Every municipality that `shape_feature`'s outline crosses: MeasureOverlap against GEOS.
void Compare(const Geos& geos, const GeoJsonFeature& shape_feature,
             const std::vector<GeoJsonFeature>& municipalities,
             const std::vector<GEOSGeometry*>& geoms, Agreement& a) {
  GEOSContextHandle_t ctx = geos.ctx;
  GEOSGeometry* shape_geom = FromFeature(ctx, shape_feature);
  ASSERT_NE(shape_geom, nullptr);
  PlanarRings shape = PlanarRingsOf(ctx, shape_geom);
  shape.BuildIndex();
  ASSERT_TRUE(shape.Clean());
  const GEOSPreparedGeometry* prepared = GEOSPrepare_r(ctx, shape_geom);
  for (std::size_t i = 0; i < municipalities.size(); ++i) {
    GEOSGeometry* m = geoms[i];
    if (!m || GEOSPreparedIntersects_r(ctx, prepared, m) != 1 ||
        GEOSPreparedContainsProperly_r(ctx, prepared, m) == 1) {
      continue;
    }
    const PlanarRings part = PlanarRingsOf(ctx, m);
    const auto fast = part.Clean() ? MeasureOverlap(shape, part) : std::nullopt;
    ++a.compared;
    if (!fast) {
      ++a.refused;
      continue;
    }
    double x0 = 0, y0 = 0;
    GEOSGeom_getXMin_r(ctx, m, &x0);
    GEOSGeom_getYMin_r(ctx, m, &y0);
    GEOSGeometry* inter = GEOSIntersection_r(ctx, m, shape_geom);
    ASSERT_NE(inter, nullptr);
    const Extent want = MeasureGeometry(ctx, inter, AuthalicProjection(y0, x0));
    GEOSGeom_destroy_r(ctx, inter);
    const double da = std::abs(fast->area_m2 - want.area_m2);
    const double dp = std::abs(fast->perimeter_m - want.perimeter_m);
    a.worst_area = std::max(a.worst_area, da / std::max(want.area_m2, 1.0));
    a.worst_perimeter = std::max(a.worst_perimeter, dp / std::max(want.perimeter_m, 1.0));
    // Rounding of the crossing points only: well under a square metre, a millimetre.
    if (da > 1e-7 * want.area_m2 + 0.01 || dp > 1e-7 * want.perimeter_m + 1e-3) {
      ++a.differ;
      ADD_FAILURE() << shape_feature.properties.at("GEN") << " × "
                    << municipalities[i].properties.at("ARS") << ": " << fast->area_m2 << " m², "
                    << fast->perimeter_m << " m; overlay " << want.area_m2 << " m², "
                    << want.perimeter_m << " m";
    }
  }
  GEOSPreparedGeom_destroy_r(ctx, prepared);
  GEOSGeom_destroy_r(ctx, shape_geom);
}

struct RealData {
  Geos geos;
  std::vector<GeoJsonFeature> municipalities;
  std::vector<GEOSGeometry*> geoms;  // valid ones, nullptr for the few invalid
  RealData() {
    auto m = ReadGeoJsonFeatures(kGeoDir / "de_gemeinden_vg5000_2021.geojson");
    if (!m) throw std::runtime_error(m.error().message);
    municipalities = std::move(*m);
    for (const auto& f : municipalities) {
      GEOSWKTReader* reader = GEOSWKTReader_create_r(geos.ctx);
      GEOSGeometry* g = GEOSWKTReader_read_r(geos.ctx, reader, ToWkt(f).c_str());
      GEOSWKTReader_destroy_r(geos.ctx, reader);
      if (g && GEOSisValid_r(geos.ctx, g) != 1) {
        GEOSGeom_destroy_r(geos.ctx, g);
        g = nullptr;
      }
      geoms.push_back(g);
    }
  }
  ~RealData() {
    for (auto* g : geoms) {
      if (g) GEOSGeom_destroy_r(geos.ctx, g);
    }
  }
};

const RealData& Data() {
  static const RealData* d = new RealData();
  return *d;
}

// Every outline of a file (separately generalised from the municipalities: no shared
// vertices, crossings along the whole border) against every municipality it overlaps.
Agreement CompareFile(const char* file) {
  const RealData& d = Data();
  auto outlines = ReadGeoJsonFeatures(kGeoDir / file);
  EXPECT_TRUE(outlines);
  Agreement a;
  for (const auto& outline : *outlines) Compare(d.geos, outline, d.municipalities, d.geoms, a);
  return a;
}

TEST(Overlap, AgreesWithGeosOnEveryLandOutline) {
  CompareFile("de_laender_vg5000_2021.geojson").Check("Länder", 1000, 50);
}

TEST(Overlap, AgreesWithGeosOnEveryKreisOutline) {
  CompareFile("de_kreise_vg5000_2021.geojson").Check("Kreise", 5000, 50);
}

// A shape copied from the municipality layer shares every vertex and segment with its
// neighbours: exact contacts, no crossings.
TEST(Overlap, AgreesWithGeosOnMunicipalitiesOwnOutlines) {
  const RealData& d = Data();
  Agreement a;
  for (std::size_t i = 0; i < d.municipalities.size(); i += 23) {
    Compare(d.geos, d.municipalities[i], d.municipalities, d.geoms, a);
  }
  a.Check("own outlines", 2000, 10);
}

}  // namespace
}  // namespace fanout::adapters::geos
