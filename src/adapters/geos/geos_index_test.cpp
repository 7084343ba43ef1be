// The GEOS index against the real reference data (data/geo/): label points, Kreis polygons,
// the DWD samples' polygons versus their warn cells, circles, WKT, EXCLUDE_POLYGON, repairs.
#include "adapters/geos/geos_index.hpp"

#include <geos_c.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "adapters/geofiles/geo_files.hpp"
#include "adapters/geos/geojson.hpp"
#include "domain/geo/resolve.hpp"

namespace fanout::adapters::geos {
namespace {

namespace geo = domain::geo;
namespace cap = domain::cap;
using ::testing::Contains;
using ::testing::IsEmpty;

const std::filesystem::path kGeoDir = FANOUT_DATA_DIR "/geo";

struct Fixture {
  geo::GeoCatalog catalog;
  std::unique_ptr<GeosGeometryIndex> index;       // default settings (sliver filter on)
  std::unique_ptr<GeosGeometryIndex> intersects;  // no artefact filter
};

const Fixture& F() {
  static const Fixture* f = [] {
    auto c = geofiles::LoadGeoCatalog(kGeoDir);
    if (!c) throw std::runtime_error(c.error().message);
    auto* fx = new Fixture{std::move(*c), nullptr, nullptr};
    auto idx = GeosGeometryIndex::Load(kGeoDir, fx->catalog);
    if (!idx) throw std::runtime_error(idx.error().message);
    fx->index = std::move(*idx);
    auto plain = GeosGeometryIndex::Load(kGeoDir, fx->catalog,
                                         {.min_overlap_m2 = 0, .min_overlap_width_m = 0});
    if (!plain) throw std::runtime_error(plain.error().message);
    fx->intersects = std::move(*plain);
    return fx;
  }();
  return *f;
}

std::string Ars(uint32_t i) { return F().catalog.municipalities()[i].ars; }

std::set<std::string> Keys(const std::vector<uint32_t>& idx) {
  std::set<std::string> out;
  for (uint32_t i : idx) out.insert(Ars(i));
  return out;
}

std::vector<std::string> Codes(const std::vector<cap::Issue>& issues) {
  std::vector<std::string> out;
  for (const auto& i : issues) out.push_back(i.code);
  return out;
}

TEST(GeosIndex, LoadsEveryMunicipalityAndTheLakesAndCoasts) {
  const auto& s = F().index->stats();
  EXPECT_EQ(s.municipalities, 10997u);
  EXPECT_GT(s.vertices, 170000u);
  EXPECT_EQ(s.warn_cells, 31u);
  std::cout << "[geos] load " << s.load_ms << " ms, " << s.vertices << " vertices\n";
}

TEST(GeosIndex, MissingFileIsNamed) {
  const auto dir = std::filesystem::temp_directory_path() / "fanout-geos-test-empty";
  std::filesystem::create_directories(dir);
  auto idx = GeosGeometryIndex::Load(dir, F().catalog);
  ASSERT_FALSE(idx);
  EXPECT_EQ(idx.error().kind, Error::Kind::kNotFound);
  EXPECT_THAT(idx.error().message, ::testing::HasSubstr("de_gemeinden_vg5000_2021.geojson"));
  std::filesystem::remove_all(dir);
}

TEST(GeosIndex, EveryLabelPointLocatesToItsOwnMunicipality) {
  const auto& f = F();
  std::size_t ok = 0;
  std::vector<std::string> wrong;
  for (uint32_t i = 0; i < f.catalog.municipalities().size(); ++i) {
    const auto& m = f.catalog.municipalities()[i];
    const auto got = f.index->Locate(m.label_lat, m.label_lon);
    if (got && *got == i) {
      ++ok;
    } else if (wrong.size() < 10) {
      wrong.push_back(m.ars + " " + m.name + " -> " + (got ? Ars(*got) : "outside"));
    }
  }
  EXPECT_EQ(ok, 10997u) << ::testing::PrintToString(wrong);
}

TEST(GeosIndex, PointsOutsideGermanyAreOutside) {
  const auto& idx = *F().index;
  EXPECT_FALSE(idx.Locate(0, 0));
  EXPECT_FALSE(idx.Locate(48.8566, 2.3522));  // Paris
  EXPECT_FALSE(idx.Locate(54.5, 6.5));        // North Sea
  EXPECT_FALSE(idx.Locate(47.37, 8.54));      // Zürich
  ASSERT_TRUE(idx.Locate(52.5163, 13.3777));  // Brandenburger Tor
  EXPECT_EQ(Ars(*idx.Locate(52.5163, 13.3777)), "110000000000");
}

// Resolves every Kreis polygon of de_kreise_vg5000_2021.geojson (another conversion of the
// same BKG data, differing by up to ~2.4 m) and compares with the Kreis's municipalities.
struct KreisStats {
  std::size_t exact = 0, missing = 0, extras = 0, max_extras = 0;
  std::string worst;
};

KreisStats ResolveKreisPolygons(const GeosGeometryIndex& index) {
  const auto& f = F();
  auto kreise = ReadGeoJsonFeatures(kGeoDir / "de_kreise_vg5000_2021.geojson");
  EXPECT_TRUE(kreise);
  EXPECT_EQ(kreise->size(), 401u);
  KreisStats s;
  for (const GeoJsonFeature& k : *kreise) {
    const std::string kreis_key = k.properties.at("ARS") + "0000000";
    const std::set<std::string> own = Keys(f.catalog.Expand(kreis_key));
    geo::AreaShape shape;
    shape.wkt = {ToWkt(k)};
    const auto hit = index.Intersect(shape);
    EXPECT_THAT(hit.errors, IsEmpty());
    const std::set<std::string> got = Keys(hit.municipalities);
    std::size_t kreis_extras = 0;
    for (const auto& a : own) s.missing += got.count(a) == 0;
    for (const auto& a : got) kreis_extras += own.count(a) == 0;
    s.extras += kreis_extras;
    if (kreis_extras > s.max_extras) {
      s.max_extras = kreis_extras;
      s.worst = kreis_key;
    }
    s.exact += kreis_extras == 0 && got.size() == own.size();
  }
  return s;
}

TEST(GeosIndex, KreisPolygonsResolveToExactlyTheirMunicipalities) {
  const KreisStats s = ResolveKreisPolygons(*F().index);
  std::cout << "[geos] Kreis polygons (artefact rule 5 ha / 10 m): " << s.exact << "/401 exact, "
            << s.missing << " missed, " << s.extras << " neighbours\n";
  EXPECT_EQ(s.missing, 0u);
  EXPECT_EQ(s.extras, 0u);
  EXPECT_EQ(s.exact, 401u);
}

// Regression: GEOSClipByRect may return an invalid piece whose overlap area is wrong; the
// sliver filter then counted 2,563 false neighbours (e.g. Münster -> Drensteinfurt) although
// the true overlap is 0 m². Every municipality's own polygon must resolve to itself alone.
TEST(GeosIndex, EveryMunicipalityPolygonResolvesToItselfOnly) {
  const auto& f = F();
  auto munis = ReadGeoJsonFeatures(kGeoDir / "de_gemeinden_vg5000_2021.geojson");
  ASSERT_TRUE(munis);
  std::size_t exact = 0, wrong = 0;
  std::string example;
  for (const GeoJsonFeature& m : *munis) {
    geo::AreaShape shape;
    shape.wkt = {ToWkt(m)};
    const std::set<std::string> got = Keys(f.index->Intersect(shape).municipalities);
    if (got == std::set<std::string>{m.properties.at("ARS")}) {
      ++exact;
    } else if (++wrong == 1) {
      example = m.properties.at("ARS");
    }
  }
  EXPECT_EQ(wrong, 0u) << "first wrong: " << example;
  EXPECT_EQ(exact, munis->size());
}

// With plain `intersects` every Kreis also picks up the municipalities along its border.
TEST(GeosIndex, PlainIntersectsAlsoTouchesBorderNeighbours) {
  const KreisStats s = ResolveKreisPolygons(*F().intersects);
  std::cout << "[geos] Kreis polygons (plain intersects): " << s.exact << "/401 exact, "
            << s.missing << " missed, " << s.extras << " border neighbours (max " << s.max_extras
            << " for " << s.worst << ")\n";
  EXPECT_EQ(s.missing, 0u);
  EXPECT_GT(s.extras, 1000u);
}

// Plain intersects with every Kreis polygon shrunk by ~100 m: no neighbour is touched any
// more, which shows those extras are boundary contacts, not wrong answers.
TEST(GeosIndex, ShrunkKreisPolygonsResolveExactly) {
  const auto& f = F();
  auto kreise = ReadGeoJsonFeatures(kGeoDir / "de_kreise_vg5000_2021.geojson");
  ASSERT_TRUE(kreise);
  GEOSContextHandle_t ctx = GEOS_init_r();
  GEOSWKTReader* reader = GEOSWKTReader_create_r(ctx);
  GEOSWKTWriter* writer = GEOSWKTWriter_create_r(ctx);
  std::size_t exact = 0, extras = 0, missing = 0;
  std::vector<std::string> missed;
  for (const GeoJsonFeature& k : *kreise) {
    const std::string kreis_key = k.properties.at("ARS") + "0000000";
    GEOSGeometry* g = GEOSWKTReader_read_r(ctx, reader, ToWkt(k).c_str());
    ASSERT_NE(g, nullptr);
    GEOSGeometry* shrunk = GEOSBuffer_r(ctx, g, -0.001, 8);  // ~70 m east-west, 110 m north-south
    char* wkt = GEOSWKTWriter_write_r(ctx, writer, shrunk);
    geo::AreaShape shape;
    shape.wkt = {wkt};
    GEOSFree_r(ctx, wkt);
    GEOSGeom_destroy_r(ctx, shrunk);
    GEOSGeom_destroy_r(ctx, g);
    const std::set<std::string> own = Keys(f.catalog.Expand(kreis_key));
    const std::set<std::string> got = Keys(f.intersects->Intersect(shape).municipalities);
    std::size_t e = 0, m = 0;
    for (const auto& a : got) e += own.count(a) == 0;
    for (const auto& a : own) {
      if (got.count(a) == 0) {
        ++m;
        missed.push_back(a);
      }
    }
    extras += e;
    missing += m;
    exact += e == 0 && m == 0;
  }
  GEOSWKTWriter_destroy_r(ctx, writer);
  GEOSWKTReader_destroy_r(ctx, reader);
  GEOS_finish_r(ctx);
  std::cout << "[geos] shrunk Kreis polygons: " << exact << "/401 exact, " << extras
            << " neighbours, " << missing << " missed " << ::testing::PrintToString(missed) << "\n";
  EXPECT_EQ(extras, 0u);
}

// ---- DWD samples: polygons and warn cells of the same warning ----

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Every text between `open` and `close` (std::regex overflows the stack on these files).
std::vector<std::string> Between(std::string_view text, std::string_view open,
                                 std::string_view close) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = text.find(open, pos)) != std::string_view::npos) {
    const std::size_t start = pos + open.size();
    const std::size_t end = text.find(close, start);
    if (end == std::string_view::npos) break;
    out.emplace_back(text.substr(start, end - start));
    pos = end + close.size();
  }
  return out;
}

// A faithful-enough Alert from the DWD XML (test fixture only: the real decoder is
// adapters/capxml): infos, their areas, polygons, and all geocodes.
cap::Alert DwdAlert(const std::string& xml) {
  cap::Alert alert;
  for (const std::string& body : Between(xml, "<info>", "</info>")) {
    cap::Info info;
    for (const std::string& ab : Between(body, "<area>", "</area>")) {
      cap::Area area;
      const auto desc = Between(ab, "<areaDesc>", "</areaDesc>");
      if (!desc.empty()) area.desc = desc[0];
      area.polygons = Between(ab, "<polygon>", "</polygon>");
      for (const std::string& g : Between(ab, "<geocode>", "</geocode>")) {
        const auto name = Between(g, "<valueName>", "</valueName>");
        const auto value = Between(g, "<value>", "</value>");
        if (name.size() == 1 && value.size() == 1) area.geocodes.push_back({name[0], value[0]});
      }
      info.areas.push_back(std::move(area));
    }
    alert.infos.push_back(std::move(info));
  }
  return alert;
}

// The alert with only its polygon areas (polygons) or only its warn-cell areas.
cap::Alert Only(cap::Alert a, bool polygons) {
  for (auto& info : a.infos) {
    std::erase_if(info.areas, [polygons](const cap::Area& area) {
      return polygons ? area.polygons.empty() : !area.polygons.empty();
    });
  }
  return a;
}

TEST(GeosIndex, DwdSamplesPolygonsAgreeWithTheirWarnCells) {
  const auto& f = F();
  for (const auto& entry : std::filesystem::directory_iterator(FANOUT_DATA_DIR "/cap/dwd")) {
    const cap::Alert alert = DwdAlert(Slurp(entry.path()));
    ASSERT_EQ(alert.infos.size(), 8u);
    const auto by_poly = geo::ResolveArea(Only(alert, true), f.catalog, f.index.get());
    const auto by_cell = geo::ResolveArea(Only(alert, false), f.catalog, f.index.get());
    const auto both = geo::ResolveArea(alert, f.catalog, f.index.get());
    const auto by_poly_plain = geo::ResolveArea(Only(alert, true), f.catalog, f.intersects.get());
    EXPECT_THAT(by_poly.unresolved, IsEmpty());
    EXPECT_THAT(by_cell.unresolved, IsEmpty());
    EXPECT_THAT(both.unresolved, IsEmpty());
    const std::set<std::string> p(by_poly.municipalities.begin(), by_poly.municipalities.end());
    const std::set<std::string> c(by_cell.municipalities.begin(), by_cell.municipalities.end());
    std::size_t common = 0;
    for (const auto& a : c) common += p.count(a);
    std::cout << "[geos] " << entry.path().filename().string().substr(23, 13) << ": polygons -> "
              << p.size() << ", warn cells -> " << c.size() << ", common " << common << ", union "
              << both.municipalities.size() << "; plain intersects -> "
              << by_poly_plain.municipalities.size() << "\n";
    // The polygons and the warn cells name exactly the same municipalities.
    EXPECT_EQ(p, c) << entry.path();
    EXPECT_EQ(both.municipalities, by_cell.municipalities);
    // Plain intersects adds the neighbours along the polygon boundary.
    EXPECT_GT(by_poly_plain.municipalities.size(), p.size());
  }
}

TEST(GeosIndex, CirclesAndPoints) {
  const auto& f = F();
  const auto* koeln = f.catalog.FindMunicipality("053150000000");
  ASSERT_NE(koeln, nullptr);
  geo::AreaShape point;
  point.points = {{koeln->label_lat, koeln->label_lon}};
  EXPECT_EQ(Keys(f.index->Intersect(point).municipalities), std::set<std::string>{"053150000000"});
  geo::AreaShape disc;
  disc.polygons = {geo::CircleToRing({{koeln->label_lat, koeln->label_lon}, 20})};
  const auto around = Keys(f.index->Intersect(disc).municipalities);
  EXPECT_THAT(around, Contains("053150000000"));
  EXPECT_THAT(around, Contains("053160000000"));  // Leverkusen, ~15 km
  EXPECT_GT(around.size(), 10u);
  EXPECT_LT(around.size(), 60u);
  // A 300 m circle covers < 0.1 % of Köln: it lies within Köln, so it is a hit.
  geo::AreaShape small;
  small.polygons = {geo::CircleToRing({{koeln->label_lat, koeln->label_lon}, 0.3})};
  EXPECT_EQ(Keys(f.index->Intersect(small).municipalities), std::set<std::string>{"053150000000"});
}

// Overlap of two GEOS geometries in m², approximated independently of the index (degrees²
// scaled by the local metres per degree; good to ~1 % over a few hundred metres).
double ApproxOverlapM2(GEOSContextHandle_t ctx, const GEOSGeometry* a, const GEOSGeometry* b,
                       double lat) {
  GEOSGeometry* inter = GEOSIntersection_r(ctx, a, b);
  double deg2 = 0;
  if (inter) GEOSArea_r(ctx, inter, &deg2);
  if (inter) GEOSGeom_destroy_r(ctx, inter);
  const double m_per_deg = 111'195.0;
  return deg2 * m_per_deg * m_per_deg * std::cos(lat * 3.14159265358979323846 / 180);
}

// The regression of issue 9: the old rule compared the overlap with 1 % of the
// municipality's own area, so a big municipality overlapped by tens of hectares was never
// warned. Now any real overlap counts: a 600 m square centred on a vertex of a municipality's
// outline overlaps it by a wide piece (not a sliver), and the municipality must be in the
// result, whatever its size — also when the square is part of a large alert area (here a
// MULTIPOLYGON with a 30 km square in the North Sea), the case the relative rule lost.
// Checked for every 21st municipality.
TEST(GeosIndex, EveryRealOverlapIsWarnedWhateverTheMunicipalitySize) {
  const auto& f = F();
  auto munis = ReadGeoJsonFeatures(kGeoDir / "de_gemeinden_vg5000_2021.geojson");
  ASSERT_TRUE(munis);
  GEOSContextHandle_t ctx = GEOS_init_r();
  GEOSWKTReader* reader = GEOSWKTReader_create_r(ctx);
  std::size_t checked = 0, missed = 0, old_rule_dropped = 0;
  std::string first_missed;
  for (std::size_t i = 0; i < munis->size(); i += 21) {
    const GeoJsonFeature& m = (*munis)[i];
    const double lon = m.polygons[0][0][0], lat = m.polygons[0][0][1];
    const double dlat = 0.3 / 111.195, dlon = dlat / std::cos(lat * 3.14159265358979323846 / 180);
    geo::Ring square{{lat - dlat, lon - dlon},
                     {lat - dlat, lon + dlon},
                     {lat + dlat, lon + dlon},
                     {lat + dlat, lon - dlon},
                     {lat - dlat, lon - dlon}};
    std::ostringstream wkt;
    wkt.precision(12);
    wkt << "POLYGON((";
    for (std::size_t k = 0; k < square.size(); ++k) {
      wkt << (k ? "," : "") << square[k].lon << " " << square[k].lat;
    }
    wkt << "))";
    GEOSGeometry* sq = GEOSWKTReader_read_r(ctx, reader, wkt.str().c_str());
    GEOSGeometry* mg = GEOSWKTReader_read_r(ctx, reader, ToWkt(m).c_str());
    ASSERT_NE(sq, nullptr);
    ASSERT_NE(mg, nullptr);
    const double overlap = ApproxOverlapM2(ctx, sq, mg, lat);
    double m_deg2 = 0;
    GEOSArea_r(ctx, mg, &m_deg2);
    const double m_m2 =
        m_deg2 * 111'195.0 * 111'195.0 * std::cos(lat * 3.14159265358979323846 / 180);
    GEOSGeom_destroy_r(ctx, sq);
    GEOSGeom_destroy_r(ctx, mg);
    if (overlap < 60'000) continue;  // a sharp spike of the outline: not clearly wide
    ++checked;
    old_rule_dropped += overlap < 0.01 * m_m2;  // 1 % of the municipality: the old filter
    std::string multi = wkt.str();
    multi = "MULTIPOLYGON(((" + multi.substr(9, multi.size() - 11) +
            ")),((5 55.3,5.5 55.3,5.5 55.6,5 55.6,5 55.3)))";
    geo::AreaShape shape;
    shape.wkt = {multi};
    const auto got = Keys(f.index->Intersect(shape).municipalities);
    if (!got.count(m.properties.at("ARS")) && ++missed == 1) first_missed = m.properties.at("ARS");
  }
  GEOSWKTReader_destroy_r(ctx, reader);
  GEOS_finish_r(ctx);
  std::cout << "[geos] 600 m squares on municipality outlines: " << checked << " checked, "
            << missed << " missed; the old relative rule would have dropped " << old_rule_dropped
            << "\n";
  EXPECT_GT(checked, 400u);
  EXPECT_GT(old_rule_dropped, 100u);  // the test covers the regression
  EXPECT_EQ(missed, 0u) << "first missed: " << first_missed;
}

// The rule's overlaps measured by MeasureOverlap's boundary walk (overlap.hpp) decide exactly
// like GEOS overlays (overlay_only): every Land and Kreis outline, circles of 1–50 km on
// every 97th label point, squares on every 97th municipality's outline (which cut through
// municipalities at arbitrary angles).
TEST(GeosIndex, BoundaryWalkDecidesLikeTheOverlay) {
  const auto& f = F();
  auto overlay = GeosGeometryIndex::Load(kGeoDir, f.catalog, {.overlay_only = true});
  ASSERT_TRUE(overlay);
  std::vector<std::pair<std::string, geo::AreaShape>> shapes;
  for (const char* file : {"de_laender_vg5000_2021.geojson", "de_kreise_vg5000_2021.geojson"}) {
    auto features = ReadGeoJsonFeatures(kGeoDir / file);
    ASSERT_TRUE(features);
    for (const GeoJsonFeature& g : *features) {
      geo::AreaShape shape;
      shape.wkt = {ToWkt(g)};
      shapes.emplace_back(g.properties.at("GEN"), std::move(shape));
    }
  }
  const auto& munis = f.catalog.municipalities();
  for (std::size_t i = 0; i < munis.size(); i += 97) {
    geo::AreaShape shape;
    const double r = 1 + static_cast<double>(i % 50);
    shape.polygons = {geo::CircleToRing({{munis[i].label_lat, munis[i].label_lon}, r})};
    shapes.emplace_back("circle " + std::to_string(r) + " km at " + munis[i].ars, std::move(shape));
  }
  auto outlines = ReadGeoJsonFeatures(kGeoDir / "de_gemeinden_vg5000_2021.geojson");
  ASSERT_TRUE(outlines);
  for (std::size_t i = 0; i < outlines->size(); i += 97) {
    const auto& ring = (*outlines)[i].polygons[0][0];
    const double lon = ring[0], lat = ring[1], d = 0.002 + 0.0001 * static_cast<double>(i % 7);
    geo::AreaShape shape;  // a square turned by ~30° around a vertex of the outline
    shape.polygons = {{{lat - d, lon - d / 2},
                       {lat - d / 2, lon + d},
                       {lat + d, lon + d / 2},
                       {lat + d / 2, lon - d},
                       {lat - d, lon - d / 2}}};
    shapes.emplace_back("square at " + (*outlines)[i].properties.at("ARS"), std::move(shape));
  }
  std::size_t differ = 0;
  for (const auto& [name, shape] : shapes) {
    const auto walk = Keys(f.index->Intersect(shape).municipalities);
    const auto geos = Keys((*overlay)->Intersect(shape).municipalities);
    if (walk != geos && ++differ <= 5) {
      ADD_FAILURE() << name << ": boundary walk " << ::testing::PrintToString(walk) << ", overlay "
                    << ::testing::PrintToString(geos);
    }
  }
  EXPECT_GT(shapes.size(), 600u);
  EXPECT_EQ(differ, 0u);
}

// A small circle on a border (here 150 m around a vertex of Dresden's outline) is neither
// within one municipality nor large: it counts by its width, in every municipality it
// really overlaps. The old relative rule also kept it; the point is that the absolute rule
// does not lose small areas.
TEST(GeosIndex, SmallCircleOnABorderWarnsBothSides) {
  const auto& f = F();
  auto munis = ReadGeoJsonFeatures(kGeoDir / "de_gemeinden_vg5000_2021.geojson");
  ASSERT_TRUE(munis);
  const GeoJsonFeature* dresden = nullptr;
  for (const auto& m : *munis) {
    if (m.properties.at("ARS") == "146120000000") dresden = &m;
  }
  ASSERT_NE(dresden, nullptr);
  const double lon = dresden->polygons[0][0][0], lat = dresden->polygons[0][0][1];
  geo::AreaShape disc;
  disc.polygons = {geo::CircleToRing({{lat, lon}, 0.15})};
  const auto got = Keys(f.index->Intersect(disc).municipalities);
  const auto plain = Keys(f.intersects->Intersect(disc).municipalities);
  EXPECT_THAT(got, Contains("146120000000"));
  EXPECT_GE(got.size(), 2u);
  EXPECT_EQ(got, plain);  // every municipality the disc touches has a real share of it
}

// The thresholds are configurable: with absurdly high ones only criteria (a) and (b) — the
// area within the municipality, or covering its label point — remain, so a 30 km disc around
// Dresden loses the neighbours it only partly covers and keeps Dresden.
TEST(GeosIndex, ArtefactThresholdsAreConfigurable) {
  const auto& f = F();
  auto strict = GeosGeometryIndex::Load(kGeoDir, f.catalog,
                                        {.min_overlap_m2 = 1e12, .min_overlap_width_m = 1e6});
  ASSERT_TRUE(strict);
  const auto* dresden = f.catalog.FindMunicipality("146120000000");
  ASSERT_NE(dresden, nullptr);
  geo::AreaShape disc;
  disc.polygons = {geo::CircleToRing({{dresden->label_lat, dresden->label_lon}, 30})};
  const auto normal = Keys(f.index->Intersect(disc).municipalities);
  const auto filtered = Keys((*strict)->Intersect(disc).municipalities);
  EXPECT_LT(filtered.size(), normal.size());  // partially covered neighbours dropped
  EXPECT_THAT(filtered, Contains("146120000000"));
}

TEST(GeosIndex, DwdExcludePolygonsChangeTheResult) {
  const auto& f = F();
  const cap::Alert alert = DwdAlert(
      Slurp(std::filesystem::path(FANOUT_DATA_DIR) / "cap/dwd" /
            "2.49.0.0.276.0.DWD.PVW.1687514160000.20999218-5d5e-4761-b271-6c243f695568.MUL.xml"));
  cap::Alert without = Only(alert, true);
  std::size_t excludes = 0;
  for (auto& info : without.infos) {
    for (auto& area : info.areas) {
      excludes += std::erase_if(
          area.geocodes, [](const cap::ValuePair& g) { return g.name == "EXCLUDE_POLYGON"; });
    }
  }
  ASSERT_EQ(excludes, 16u);
  const auto with_ex = geo::ResolveArea(Only(alert, true), f.catalog, f.index.get());
  const auto without_ex = geo::ResolveArea(without, f.catalog, f.index.get());
  std::cout << "[geos] 1687514160000 polygons: " << with_ex.municipalities.size()
            << " with EXCLUDE_POLYGON, " << without_ex.municipalities.size() << " without\n";
  EXPECT_LT(with_ex.municipalities.size(), without_ex.municipalities.size());
}

TEST(GeosIndex, ExcludePolygonIsSubtracted) {
  const auto& f = F();
  // A box over Münster, excluding a box over its eastern half.
  geo::AreaShape shape;
  shape.polygons = {{{51.85, 7.45}, {51.85, 7.75}, {52.05, 7.75}, {52.05, 7.45}, {51.85, 7.45}}};
  const auto all = Keys(f.index->Intersect(shape).municipalities);
  shape.exclude = {{{51.80, 7.62}, {51.80, 7.90}, {52.10, 7.90}, {52.10, 7.62}, {51.80, 7.62}}};
  const auto west = Keys(f.index->Intersect(shape).municipalities);
  EXPECT_THAT(all, Contains("055150000000"));
  EXPECT_THAT(west, Contains("055150000000"));
  EXPECT_LT(west.size(), all.size());
  shape.exclude = shape.polygons;  // everything excluded
  EXPECT_THAT(f.index->Intersect(shape).municipalities, IsEmpty());
}

TEST(GeosIndex, InvalidRingsAreRepairedWithAWarning) {
  const auto& f = F();
  const auto* m = f.catalog.FindMunicipality("055150000000");
  const double la = m->label_lat, lo = m->label_lon;
  geo::AreaShape bowtie;  // self-intersecting figure eight around Münster's label point
  bowtie.polygons = {{{la - 0.01, lo - 0.01},
                      {la + 0.01, lo + 0.01},
                      {la + 0.01, lo - 0.01},
                      {la - 0.01, lo + 0.01},
                      {la - 0.01, lo - 0.01}}};
  const auto hit = f.index->Intersect(bowtie);
  EXPECT_THAT(Codes(hit.warnings), Contains("POLYGON_MADE_VALID"));
  EXPECT_EQ(Keys(hit.municipalities), std::set<std::string>{"055150000000"});
}

// Repairs err towards warning (docs/geo.md). Helgoland (1.7 km² in the North Sea, nothing else
// near) and shapes in units of 0.001° around its label point, checked with GEOS by hand:
// - a WKT polygon whose hole crosses its shell: "structure" alone subtracts the whole hole;
//   the part of the hole outside the shell (here over Helgoland) is kept ("linework");
// - an EXCLUDE_POLYGON ring that winds twice around the label point: "linework" does not
//   exclude a region wound twice, "structure" would exclude all of the 4 × 4 area.
TEST(GeosIndex, RepairsErrTowardsWarning) {
  const auto& f = F();
  const std::string helgoland = "010560025025";
  const auto* m = f.catalog.FindMunicipality(helgoland);
  ASSERT_NE(m, nullptr);
  auto at = [&](double u, double v) {  // (5, 5) is the label point
    return geo::LatLon{m->label_lat + (v - 5) * 0.001, m->label_lon + (u - 5) * 0.001};
  };
  auto wkt_ring = [&](std::initializer_list<std::pair<double, double>> uv) {
    std::ostringstream out;
    out.precision(12);
    out << "(";
    bool first = true;
    for (const auto& [u, v] : uv) {
      const geo::LatLon p = at(u, v);
      out << (first ? "" : ",") << p.lon << " " << p.lat;
      first = false;
    }
    return out.str() + ")";
  };
  // Shell 95–115 units east (7–8.5 km, open sea), hole from x = −5 to 105 across the shell.
  const std::string shell = wkt_ring({{95, -5}, {115, -5}, {115, 15}, {95, 15}, {95, -5}});
  const std::string hole = wkt_ring({{-5, 3}, {105, 3}, {105, 7}, {-5, 7}, {-5, 3}});
  geo::AreaShape shell_only;
  shell_only.wkt = {"POLYGON(" + shell + ")"};
  ASSERT_THAT(Keys(f.index->Intersect(shell_only).municipalities), IsEmpty());
  geo::AreaShape crossing_hole;
  crossing_hole.wkt = {"POLYGON(" + shell + "," + hole + ")"};
  auto hit = f.index->Intersect(crossing_hole);
  EXPECT_THAT(Codes(hit.warnings), Contains("POLYGON_MADE_VALID"));
  EXPECT_EQ(Keys(hit.municipalities), std::set<std::string>{helgoland});

  geo::AreaShape excluded_twice;
  excluded_twice.polygons = {{at(3, 3), at(7, 3), at(7, 7), at(3, 7), at(3, 3)}};
  excluded_twice.exclude = {{at(0, 0), at(10, 0), at(10, 10), at(0, 10), at(0, 4), at(2, 4),
                             at(2, 2), at(8, 2), at(8, 8), at(4, 8), at(4, -2), at(0, -2),
                             at(0, 0)}};
  hit = f.index->Intersect(excluded_twice);
  EXPECT_THAT(Codes(hit.warnings), Contains("POLYGON_MADE_VALID"));
  EXPECT_EQ(Keys(hit.municipalities), std::set<std::string>{helgoland});
}

TEST(GeosIndex, WktPolygonsAndErrors) {
  const auto& f = F();
  geo::AreaShape shape;
  shape.wkt = {"POLYGON((13.3 52.45, 13.5 52.45, 13.5 52.55, 13.3 52.55, 13.3 52.45))",
               "MULTIPOLYGON(((", "POINT(9.99 53.55)"};
  const auto hit = f.index->Intersect(shape);
  EXPECT_EQ(Keys(hit.municipalities), (std::set<std::string>{"020000000000", "110000000000"}));
  EXPECT_EQ(Codes(hit.errors), std::vector<std::string>{"INVALID_WKT"});
}

TEST(GeosIndex, AntimeridianPolygonsTouchNothingInGermany) {
  const auto& f = F();
  auto r = geo::ParseCapPolygon("-16,179 -16,-179 -18,-179 -18,179 -16,179");
  ASSERT_TRUE(r.value);
  geo::AreaShape shape;
  shape.polygons = {*r.value};
  const auto hit = f.index->Intersect(shape);
  EXPECT_THAT(hit.municipalities, IsEmpty());
  EXPECT_THAT(hit.errors, IsEmpty());
}

TEST(GeosIndex, LakeAndCoastWarnCellsResolveByGeometry) {
  const auto& f = F();
  const auto chiemsee = f.index->WarnCellMunicipalities("209913000");
  ASSERT_TRUE(chiemsee);
  const auto keys = Keys(chiemsee->municipalities);
  for (const auto& k : keys) EXPECT_TRUE(k.starts_with("09187") || k.starts_with("09189")) << k;
  // The shore, not only the lake's own unit: the island municipality Chiemsee and lakeside
  // municipalities such as Breitbrunn, which touch the DWD outline by a sliver only.
  EXPECT_THAT(keys, Contains("091899451451"));  // Chiemsee (See), the lake itself
  EXPECT_THAT(keys, Contains("091875160123"));  // Chiemsee, the island municipality
  EXPECT_THAT(keys, Contains("091875160121"));  // Breitbrunn a. Chiemsee
  EXPECT_GT(keys.size(), 5u);
  EXPECT_FALSE(f.index->WarnCellMunicipalities("805515000"));  // no geometry for type 8
  cap::Alert a;
  a.infos.resize(1);
  a.infos[0].areas.resize(1);
  a.infos[0].areas[0].geocodes = {{"WARNCELLID", "209913000"}, {"WARNCELLID", "501000005"}};
  const auto r = geo::ResolveArea(a, f.catalog, f.index.get());
  EXPECT_THAT(r.unresolved, IsEmpty());
  std::size_t coast = 0;
  for (const auto& k : r.municipalities) coast += k.starts_with("01054");  // Nordfriesland
  EXPECT_GT(coast, 0u);
}

}  // namespace
}  // namespace fanout::adapters::geos
