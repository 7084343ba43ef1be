#pragma once
// Minimal GeoJSON reading (simdjson) for the reference polygons in data/geo/: features with
// string properties and Polygon/MultiPolygon geometry. Stateless; thread-safe.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "domain/common/result.hpp"

namespace fanout::adapters::geos {

/// One ring as GeoJSON has it: [x=lon, y=lat] pairs, flattened (x0, y0, x1, y1, ...).
using XyRing = std::vector<double>;
/// A polygon: exterior ring first, then holes.
using XyPolygon = std::vector<XyRing>;

struct GeoJsonFeature {
  std::map<std::string, std::string> properties;  // string-valued properties only
  std::vector<XyPolygon> polygons;                // 1 for Polygon, n for MultiPolygon
};

/// Reads every feature of a FeatureCollection. Features with another geometry type are an
/// error (the reference files hold only polygons). Errors name the file.
[[nodiscard]] Result<std::vector<GeoJsonFeature>, Error> ReadGeoJsonFeatures(
    const std::filesystem::path& path);

/// The feature's geometry as WKT (MULTIPOLYGON, lon lat), for tests and tools.
std::string ToWkt(const GeoJsonFeature& feature);

}  // namespace fanout::adapters::geos
