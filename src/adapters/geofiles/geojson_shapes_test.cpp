// The map's shapes from the real VG5000 files: keys of every level, names, rounding.
#include "adapters/geofiles/geojson_shapes.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace fanout::adapters::geofiles {
namespace {

using nlohmann::json;

TEST(GeoJsonShapes, KeysOfEveryLevelHaveTheirPolygons) {
  GeoJsonShapes shapes(FANOUT_DATA_DIR "/geo");
  json fc = json::parse(
      shapes.Features({"090000000000", "091790000000", "146120000000", "999999999999"}));
  ASSERT_EQ(fc["features"].size(), 3u);  // the unknown key is left out
  EXPECT_EQ(fc["features"][0]["properties"]["key"], "090000000000");
  EXPECT_EQ(fc["features"][0]["properties"]["name"], "Bayern");
  EXPECT_EQ(fc["features"][1]["properties"]["name"], "Fürstenfeldbruck");
  EXPECT_EQ(fc["features"][2]["properties"]["name"], "Dresden");
  const json& ring = fc["features"][2]["geometry"]["coordinates"][0];
  ASSERT_FALSE(ring.empty());
  double lon = ring[0][0].get<double>();
  EXPECT_GT(lon, 13.5);  // Dresden lies at ≈ 13.6–13.97 E
  EXPECT_LT(lon, 14.0);
  EXPECT_DOUBLE_EQ(lon, std::round(lon * 1e4) / 1e4);
}

TEST(GeoJsonShapes, TheOutlineIsTheSixteenLaender) {
  GeoJsonShapes shapes(FANOUT_DATA_DIR "/geo");
  json fc = json::parse(shapes.Outline());
  std::set<std::string> keys;  // a Land may come in parts (land and coastal water)
  for (const auto& f : fc["features"]) keys.insert(f["properties"]["key"].get<std::string>());
  EXPECT_EQ(keys.size(), 16u);
}

}  // namespace
}  // namespace fanout::adapters::geofiles
