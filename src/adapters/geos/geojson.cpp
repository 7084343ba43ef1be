#include "adapters/geos/geojson.hpp"

#include <simdjson.h>

#include <charconv>

namespace fanout::adapters::geos {
namespace {

Error Invalid(const std::filesystem::path& path, const std::string& what) {
  return Error{Error::Kind::kInvalid, path.string() + ": " + what};
}

bool ReadRing(simdjson::dom::array ring, XyRing& out) {
  for (simdjson::dom::element pos : ring) {
    simdjson::dom::array xy;
    if (pos.get_array().get(xy)) return false;
    double v[2];
    std::size_t n = 0;
    for (simdjson::dom::element c : xy) {
      if (n < 2) {
        // Coordinates may be written as integers.
        if (c.get_double().get(v[n])) {
          int64_t i = 0;
          if (c.get_int64().get(i)) return false;
          v[n] = static_cast<double>(i);
        }
      }
      ++n;
    }
    if (n < 2) return false;
    out.push_back(v[0]);
    out.push_back(v[1]);
  }
  return true;
}

bool ReadPolygon(simdjson::dom::array rings, XyPolygon& out) {
  for (simdjson::dom::element r : rings) {
    simdjson::dom::array ring;
    if (r.get_array().get(ring)) return false;
    XyRing xy;
    if (!ReadRing(ring, xy)) return false;
    out.push_back(std::move(xy));
  }
  return !out.empty();
}

void AppendNumber(std::string& out, double v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

}  // namespace

Result<std::vector<GeoJsonFeature>, Error> ReadGeoJsonFeatures(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Fail(Error{Error::Kind::kNotFound, "geo data file missing: " + path.string()});
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.load(path.string()).get(doc)) {
    return Fail(Invalid(path, std::string("not JSON: ") + simdjson::error_message(err)));
  }
  simdjson::dom::array features;
  if (doc["features"].get_array().get(features)) {
    return Fail(Invalid(path, "no 'features' array"));
  }
  std::vector<GeoJsonFeature> out;
  out.reserve(features.size());
  std::size_t n = 0;
  for (simdjson::dom::element f : features) {
    ++n;
    GeoJsonFeature feature;
    simdjson::dom::object props;
    if (!f["properties"].get_object().get(props)) {
      for (auto [key, value] : props) {
        std::string_view s;
        if (!value.get_string().get(s)) feature.properties.emplace(key, s);
      }
    }
    std::string_view type;
    simdjson::dom::array coords;
    if (f["geometry"]["type"].get_string().get(type) ||
        f["geometry"]["coordinates"].get_array().get(coords)) {
      return Fail(Invalid(path, "feature " + std::to_string(n) + " has no geometry"));
    }
    bool ok = true;
    if (type == "Polygon") {
      XyPolygon poly;
      ok = ReadPolygon(coords, poly);
      feature.polygons.push_back(std::move(poly));
    } else if (type == "MultiPolygon") {
      for (simdjson::dom::element p : coords) {
        simdjson::dom::array rings;
        XyPolygon poly;
        ok = ok && !p.get_array().get(rings) && ReadPolygon(rings, poly);
        feature.polygons.push_back(std::move(poly));
      }
    } else {
      return Fail(Invalid(path, "feature " + std::to_string(n) + " is a " + std::string(type) +
                                    ", expected Polygon or MultiPolygon"));
    }
    if (!ok) {
      return Fail(Invalid(path, "feature " + std::to_string(n) + " has malformed coordinates"));
    }
    out.push_back(std::move(feature));
  }
  return out;
}

std::string ToWkt(const GeoJsonFeature& feature) {
  std::string out = "MULTIPOLYGON(";
  for (std::size_t p = 0; p < feature.polygons.size(); ++p) {
    if (p) out += ',';
    out += '(';
    for (std::size_t r = 0; r < feature.polygons[p].size(); ++r) {
      if (r) out += ',';
      out += '(';
      const XyRing& ring = feature.polygons[p][r];
      for (std::size_t i = 0; i + 1 < ring.size(); i += 2) {
        if (i) out += ',';
        AppendNumber(out, ring[i]);
        out += ' ';
        AppendNumber(out, ring[i + 1]);
      }
      out += ')';
    }
    out += ')';
  }
  out += ')';
  return out;
}

}  // namespace fanout::adapters::geos
