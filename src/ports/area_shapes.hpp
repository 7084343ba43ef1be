#pragma once
// Port: shapes of region keys for drawing (the operator console's map). Adapter:
// adapters/geofiles/GeoJsonShapes (the project's VG5000 GeoJSON).
#include <string>
#include <vector>

namespace fanout::ports {

class AreaShapes {
 public:
  virtual ~AreaShapes() = default;
  /// A GeoJSON FeatureCollection of the keys' polygons (12-digit keys of a Land, Kreis or
  /// municipality, as CompactArea gives them), each feature with properties {key, name};
  /// unknown keys are left out.
  virtual std::string Features(const std::vector<std::string>& keys) const = 0;
  /// The Länder outlines (the map's background), a FeatureCollection.
  virtual std::string Outline() const = 0;
};

}  // namespace fanout::ports
