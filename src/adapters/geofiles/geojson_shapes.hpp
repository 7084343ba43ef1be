#pragma once
// ports::AreaShapes from the project's VG5000 GeoJSON (data/geo: Länder, Kreise,
// Gemeinden): read on first use (≈ 8 MB of JSON, a fraction of a second), coordinates
// rounded to 4 decimals (≈ 10 m, plenty for a map). Thread-safe.
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "ports/area_shapes.hpp"

namespace fanout::adapters::geofiles {

class GeoJsonShapes final : public ports::AreaShapes {
 public:
  explicit GeoJsonShapes(std::filesystem::path geo_dir) : dir_(std::move(geo_dir)) {}
  std::string Features(const std::vector<std::string>& keys) const override;
  std::string Outline() const override;

 private:
  struct Shape {
    std::string name;
    std::string geometry;  // GeoJSON geometry object
  };
  void Load() const;
  static std::string Feature(const std::string& key, const Shape& s);

  std::filesystem::path dir_;
  mutable std::once_flag loaded_;
  mutable std::map<std::string, Shape> shapes_;  // 12-digit key -> shape
  mutable std::string outline_;
};

}  // namespace fanout::adapters::geofiles
