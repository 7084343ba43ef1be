#include "adapters/geofiles/geojson_shapes.hpp"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fanout::adapters::geofiles {

using nlohmann::json;

namespace {

void Round(json& j) {
  if (j.is_array()) {
    for (auto& e : j) Round(e);
  } else if (j.is_number_float()) {
    j = std::round(j.get<double>() * 1e4) / 1e4;
  }
}

}  // namespace

void GeoJsonShapes::Load() const {
  std::call_once(loaded_, [this] {
    std::string lands;
    for (const char* file : {"de_laender_vg5000_2021.geojson", "de_kreise_vg5000_2021.geojson",
                             "de_gemeinden_vg5000_2021.geojson"}) {
      std::ifstream in(dir_ / file, std::ios::binary);
      if (!in) continue;  // a map without that level; Features() leaves its keys out
      std::stringstream ss;
      ss << in.rdbuf();
      json doc = json::parse(ss.str(), nullptr, false);
      if (!doc.is_object() || !doc.contains("features")) continue;
      const bool is_lands = std::string(file).starts_with("de_laender");
      for (auto& f : doc["features"]) {
        if (!f.contains("properties") || !f.contains("geometry")) continue;
        std::string key = f["properties"].value("ARS", "");
        if (key.empty() || key.size() > 12) continue;
        key.resize(12, '0');
        Round(f["geometry"]["coordinates"]);
        Shape s{f["properties"].value("GEN", ""), f["geometry"].dump()};
        if (is_lands) lands += (lands.empty() ? "" : ",") + Feature(key, s);
        // Münster is a Kreis and a municipality with the same key: either shape will do.
        shapes_.try_emplace(key, std::move(s));
      }
    }
    outline_ = R"({"type":"FeatureCollection","features":[)" + lands + "]}";
  });
}

std::string GeoJsonShapes::Feature(const std::string& key, const Shape& s) {
  return R"({"type":"Feature","properties":)" + json{{"key", key}, {"name", s.name}}.dump() +
         R"(,"geometry":)" + s.geometry + "}";
}

std::string GeoJsonShapes::Features(const std::vector<std::string>& keys) const {
  Load();
  std::string out = R"({"type":"FeatureCollection","features":[)";
  bool first = true;
  for (const auto& key : keys) {
    auto it = shapes_.find(key);
    if (it == shapes_.end()) continue;
    if (!first) out += ",";
    first = false;
    out += Feature(key, it->second);
  }
  return out + "]}";
}

std::string GeoJsonShapes::Outline() const {
  Load();
  return outline_;
}

}  // namespace fanout::adapters::geofiles
