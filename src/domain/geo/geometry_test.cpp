#include "domain/geo/geometry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "domain/geo/resolve.hpp"

namespace fanout::domain::geo {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Codes(const std::vector<cap::Issue>& issues) {
  std::vector<std::string> out;
  for (const auto& i : issues) out.push_back(i.code);
  return out;
}

TEST(ParseCapPolygon, WellFormedRing) {
  auto r = ParseCapPolygon("38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14");
  ASSERT_TRUE(r.value);
  EXPECT_FALSE(r.error);
  EXPECT_THAT(r.warnings, IsEmpty());
  ASSERT_EQ(r.value->size(), 5u);
  EXPECT_DOUBLE_EQ((*r.value)[1].lat, 38.34);
  EXPECT_DOUBLE_EQ((*r.value)[1].lon, -119.95);
}

TEST(ParseCapPolygon, RepairsSloppyInput) {
  // Unclosed, trailing whitespace, a repeated last point (DWD), stray parentheses (GDACS).
  auto r = ParseCapPolygon(" (50,8 50,9 51,9 51,9) \n");
  ASSERT_TRUE(r.value);
  EXPECT_THAT(Codes(r.warnings), ElementsAre("POLYGON_STRAY_CHARACTERS", "POLYGON_NOT_CLOSED"));
  ASSERT_EQ(r.value->size(), 4u);
  EXPECT_DOUBLE_EQ(r.value->back().lat, 50);
  EXPECT_DOUBLE_EQ(r.value->back().lon, 8);
}

TEST(ParseCapPolygon, UnwrapsTheAntimeridian) {
  auto r = ParseCapPolygon("-16,179 -16,-179 -18,-179 -18,179 -16,179");
  ASSERT_TRUE(r.value);
  EXPECT_THAT(Codes(r.warnings), ElementsAre("POLYGON_CROSSES_ANTIMERIDIAN"));
  for (const LatLon& p : *r.value) EXPECT_GT(p.lon, 178);
  EXPECT_DOUBLE_EQ((*r.value)[1].lon, 181);
}

// Sloppy but unambiguous (issue 9): a feed writing lon,lat (a "latitude" of 99.97 cannot be
// one, every "longitude" fits a latitude) is swapped back; GDACS's -180.005 at the
// antimeridian is wrapped. Both with a warning, never refused.
TEST(ParseCapPolygon, SwappedAndWrappedCoordinatesAreRepairedWithAWarning) {
  auto r = ParseCapPolygon("99.97,10.5 100.2,10.5 100.2,10.9 99.97,10.5");
  ASSERT_TRUE(r.value) << (r.error ? r.error->message : "");
  EXPECT_THAT(Codes(r.warnings), ElementsAre("COORDINATES_SWAPPED"));
  EXPECT_DOUBLE_EQ((*r.value)[0].lat, 10.5);
  EXPECT_DOUBLE_EQ((*r.value)[0].lon, 99.97);
  auto w = ParseCapPolygon("-16.5,179.9 -16.5,-180.005 -17,-179.5 -17,179.9 -16.5,179.9");
  ASSERT_TRUE(w.value) << (w.error ? w.error->message : "");
  EXPECT_THAT(Codes(w.warnings), Contains("LONGITUDE_WRAPPED"));
  auto c = ParseCapCircle("100.5,13.7 10");  // lon,lat of Bangkok
  ASSERT_TRUE(c.value);
  EXPECT_THAT(Codes(c.warnings), ElementsAre("COORDINATES_SWAPPED"));
  EXPECT_DOUBLE_EQ(c.value->center.lat, 13.7);
  // Berlin written lon,lat (13.4,52.5) is a valid lat,lon elsewhere: not repairable, not
  // touched (it resolves to nothing in Germany, and the alert is quarantined).
  EXPECT_TRUE(ParseCapCircle("13.4,52.5 10").warnings.empty());
  // Ambiguous stays an error: a "latitude" beyond 90 while a "longitude" beyond 90 too.
  EXPECT_TRUE(ParseCapPolygon("95,95 96,95 96,96 95,95").error);
}

TEST(ParseCapPolygon, Errors) {
  for (std::string_view bad :
       {"", "50,8 50,9 50,8", "50,8 50,9 51", "50,8 50,x 51,9 50,8", "91,95 50,9 51,9 91,95",
        "50,8 50,8 50,8 50,8", "50,600 50,9 51,9 50,600"}) {
    auto r = ParseCapPolygon(bad);
    EXPECT_FALSE(r.value) << bad;
    ASSERT_TRUE(r.error) << bad;
    EXPECT_EQ(r.error->code, "INVALID_POLYGON") << bad;
  }
}

TEST(ParseCapPolygon, DegenerateRingsKeepTheirPoints) {
  auto r = ParseCapPolygon("51.437717,13.32218 51.437828,13.332933 51.437717,13.32218");
  ASSERT_TRUE(r.error);
  ASSERT_EQ(r.degenerate_points.size(), 2u);
  EXPECT_DOUBLE_EQ(r.degenerate_points[1].lon, 13.332933);
  EXPECT_TRUE(ParseCapPolygon("50,x 51,9 52,9 50,x").degenerate_points.empty());
}

TEST(ParseCapCircle, ValuesAndErrors) {
  auto c = ParseCapCircle("32.9525,-115.5527 0");
  ASSERT_TRUE(c.value);
  EXPECT_DOUBLE_EQ(c.value->center.lat, 32.9525);
  EXPECT_DOUBLE_EQ(c.value->radius_km, 0);
  c = ParseCapCircle("-35.3888,147.0598 25.0");
  ASSERT_TRUE(c.value);
  EXPECT_DOUBLE_EQ(c.value->radius_km, 25);
  for (std::string_view bad : {"", "50,8", "50,8 -1", "95,95 1", "50,8 1 2"}) {
    EXPECT_TRUE(ParseCapCircle(bad).error) << bad;
  }
}

double HaversineKm(LatLon a, LatLon b) {
  constexpr double kRad = std::numbers::pi / 180;
  const double dlat = (b.lat - a.lat) * kRad, dlon = (b.lon - a.lon) * kRad;
  const double h = std::pow(std::sin(dlat / 2), 2) + std::cos(a.lat * kRad) *
                                                         std::cos(b.lat * kRad) *
                                                         std::pow(std::sin(dlon / 2), 2);
  return 2 * 6371.0088 * std::asin(std::sqrt(h));
}

TEST(CircleToRing, EveryVertexIsAtTheRadius) {
  const Circle c{{52.52, 13.40}, 10};
  const Ring ring = CircleToRing(c, 64);
  ASSERT_EQ(ring.size(), 65u);
  EXPECT_DOUBLE_EQ(ring.front().lat, ring.back().lat);
  for (const LatLon& p : ring) EXPECT_NEAR(HaversineKm(c.center, p), 10.0, 1e-6);
  // Counter-clockwise: positive signed area in (lon, lat).
  double area2 = 0;
  for (std::size_t i = 0; i + 1 < ring.size(); ++i) {
    area2 += ring[i].lon * ring[i + 1].lat - ring[i + 1].lon * ring[i].lat;
  }
  EXPECT_GT(area2, 0);
}

// A fake index: records the shapes it is asked about and answers from a table.
class FakeGeometryIndex : public GeometryIndex {
 public:
  std::optional<uint32_t> Locate(double lat, double) const override {
    if (lat > 50) return 1;
    return std::nullopt;
  }
  GeometryHit Intersect(const AreaShape& area) const override {
    shapes.push_back(area);
    GeometryHit hit;
    hit.municipalities = {static_cast<uint32_t>(area.polygons.size()),
                          static_cast<uint32_t>(area.points.size())};
    if (!area.wkt.empty()) hit.errors.push_back({"INVALID_WKT", "fake", false});
    return hit;
  }
  std::optional<GeometryHit> WarnCellMunicipalities(std::string_view id) const override {
    if (id != "209913000") return std::nullopt;
    GeometryHit hit;
    hit.municipalities = {2};
    return hit;
  }
  mutable std::vector<AreaShape> shapes;
};

GeoCatalog ThreeMunicipalities() {
  return GeoCatalog({{"010010000000", "01001000", "Flensburg", 54.8, 9.4},
                     {"010020000000", "01002000", "Kiel", 54.3, 10.1},
                     {"010030000000", "01003000", "Lübeck", 53.9, 10.7}},
                    {{"209913000", "Chiemsee", "BY", ""}, {"501000005", "Küste", "", ""}});
}

TEST(ResolveAreaWithGeometry, ShapesGoThroughTheIndexOncePerDistinctArea) {
  const GeoCatalog catalog = ThreeMunicipalities();
  FakeGeometryIndex index;
  cap::Alert alert;
  for (int lang = 0; lang < 2; ++lang) {
    cap::Info info;
    cap::Area area;
    area.desc = "polygonal event area";
    area.polygons = {"54,9 54,10 55,10 54,9"};
    area.circles = {"54.5,9.5 0", "54.5,9.5 5"};
    area.geocodes = {{"EXCLUDE_POLYGON", "54.1,9.1 54.1,9.2 54.2,9.2 54.1,9.1"},
                     {"WARNCELLID", "209913000"},
                     {"WARNCELLID", "501000005"}};
    info.areas.push_back(area);
    alert.infos.push_back(info);
  }
  const auto r = ResolveArea(alert, catalog, &index);
  ASSERT_EQ(index.shapes.size(), 1u);              // the second language block is the same area
  EXPECT_EQ(index.shapes[0].polygons.size(), 2u);  // the polygon + the 5 km circle
  EXPECT_EQ(index.shapes[0].points.size(), 1u);    // the radius-0 circle
  EXPECT_EQ(index.shapes[0].exclude.size(), 1u);
  EXPECT_EQ(index.shapes[0].label, "polygonal event area");
  // Fake answers: indexes {2, 1} from the shape, {2} from the lake.
  EXPECT_THAT(r.municipalities, ElementsAre("010020000000", "010030000000"));
  // The coast has no geometry in the fake.
  EXPECT_THAT(Codes(r.unresolved), ElementsAre("NO_GEOMETRY_SUPPORT"));
}

// Older DWD messages draw a generalised outline next to their warn cells; the cells are
// authoritative, so the outline may not widen the area (docs/geo.md). Without cells in the
// same <area>, the outline is the area.
TEST(ResolveAreaWithGeometry, AnOutlineDoesNotWidenItsWarnCells) {
  const GeoCatalog catalog = ThreeMunicipalities();
  FakeGeometryIndex index;  // the polygon "reaches" Flensburg (0) and Kiel (1)
  cap::Alert alert;
  alert.infos.resize(1);
  alert.infos[0].areas.resize(1);
  auto& area = alert.infos[0].areas[0];
  area.desc = "Stadt Kiel";
  area.polygons = {"54.3,10.0 54.3,10.2 54.4,10.2 54.3,10.0"};
  area.geocodes = {{"WARNCELLID", "801002000"}};  // Kiel
  auto r = ResolveArea(alert, catalog, &index);
  EXPECT_THAT(r.municipalities, ElementsAre("010020000000"));
  bool noted = false;
  for (const auto& n : r.notes)
    noted |= n.find("beyond the warn cells of its info (Flensburg)") != std::string::npos;
  EXPECT_TRUE(noted);
  // As the DWD writes it: the outline in an <area> of its own, the cells in others.
  {
    cap::Alert dwd;
    dwd.infos.resize(1);
    dwd.infos[0].areas.resize(2);
    dwd.infos[0].areas[0].desc = "polygonal event area";
    dwd.infos[0].areas[0].polygons = area.polygons;
    dwd.infos[0].areas[1].desc = "Stadt Kiel";
    dwd.infos[0].areas[1].geocodes = {{"WARNCELLID", "801002000"}};
    EXPECT_THAT(ResolveArea(dwd, catalog, &index).municipalities, ElementsAre("010020000000"));
  }
  area.geocodes.clear();
  r = ResolveArea(alert, catalog, &index);
  EXPECT_THAT(r.municipalities, ElementsAre("010010000000", "010020000000"));
  // An unknown cell: the outline is all there is for that part, so it counts.
  area.geocodes = {{"WARNCELLID", "899999999"}};
  r = ResolveArea(alert, catalog, &index);
  EXPECT_THAT(r.municipalities, ElementsAre("010010000000", "010020000000"));
}

TEST(ResolveAreaWithGeometry, ParseErrorsAndIndexErrorsAreUnresolved) {
  const GeoCatalog catalog = ThreeMunicipalities();
  FakeGeometryIndex index;
  cap::Alert alert;
  alert.infos.resize(1);
  alert.infos[0].areas.resize(1);
  auto& area = alert.infos[0].areas[0];
  area.polygons = {"54,9 54,x 55,10", "54,9 54,10 55,10"};
  area.circles = {"bogus"};
  area.geocodes = {{"WKT", "POLYGON((9 54, 10 54, 10 55, 9 54))"}};
  const auto r = ResolveArea(alert, catalog, &index);
  EXPECT_THAT(Codes(r.unresolved), ElementsAre("INVALID_POLYGON", "INVALID_CIRCLE", "INVALID_WKT"));
  EXPECT_THAT(Codes(r.warnings), ElementsAre("POLYGON_NOT_CLOSED"));
  ASSERT_EQ(index.shapes.size(), 1u);
  EXPECT_EQ(index.shapes[0].wkt.size(), 1u);
}

TEST(ResolveAreaWithGeometry, DegeneratePolygonsAreLocatedAsPoints) {
  const GeoCatalog catalog = ThreeMunicipalities();
  FakeGeometryIndex index;
  cap::Alert alert;
  alert.infos.resize(1);
  alert.infos[0].areas.resize(1);
  // Seen in data/cap/dwd-update-thunderstorm-de.xml: two distinct points, closed.
  alert.infos[0].areas[0].polygons = {"51.437717,13.32218 51.437828,13.332933 51.437717,13.32218"};
  const auto r = ResolveArea(alert, catalog, &index);
  EXPECT_THAT(r.unresolved, IsEmpty());
  EXPECT_THAT(Codes(r.warnings), ElementsAre("POLYGON_DEGENERATE"));
  ASSERT_EQ(index.shapes.size(), 1u);
  EXPECT_EQ(index.shapes[0].points.size(), 2u);
  EXPECT_TRUE(index.shapes[0].polygons.empty());
}

TEST(ResolveAreaWithGeometry, WithoutAnIndexShapesAreNoGeometrySupport) {
  const GeoCatalog catalog = ThreeMunicipalities();
  cap::Alert alert;
  alert.infos.resize(1);
  alert.infos[0].areas.resize(1);
  alert.infos[0].areas[0].polygons = {"54,9 54,10 55,10 54,9"};
  alert.infos[0].areas[0].geocodes = {{"EXCLUDE_POLYGON", "54,9 54,10 55,10 54,9"}};
  const auto r = ResolveArea(alert, catalog, nullptr);
  EXPECT_THAT(Codes(r.unresolved), ElementsAre("NO_GEOMETRY_SUPPORT", "NO_GEOMETRY_SUPPORT"));
  EXPECT_THAT(r.municipalities, IsEmpty());
}

}  // namespace
}  // namespace fanout::domain::geo
