#pragma once
// GeosGeometryIndex: the domain::geo::GeometryIndex over the VG5000 municipality polygons
// (data/geo/de_gemeinden_vg5000_2021.geojson) and the DWD lake/coast warn-cell polygons,
// with GEOS (reentrant C API): an STRtree over the municipality envelopes, prepared
// geometries for the exact tests. Immutable after Load; queries are serialised by an
// internal mutex (a GEOS context handle must not be used by two threads at once).
#include <filesystem>
#include <memory>
#include <string_view>

#include "domain/common/result.hpp"
#include "domain/geo/catalog.hpp"
#include "domain/geo/geometry.hpp"

namespace fanout::adapters::geos {

inline constexpr std::string_view kMunicipalitiesGeoJson = "de_gemeinden_vg5000_2021.geojson";
inline constexpr std::string_view kWarnCellsGeoJson = "dwd_warncells_lakes_coasts.geojson";

struct GeosIndexSettings {
  /// Sliver filter. A municipality whose polygon intersects a polygonal area counts only if
  /// the overlap is at least this fraction of the smaller of (municipality, area part).
  /// Boundary slivers from different generalisations of the same borders are < 0.2 % (DWD
  /// polygons vs VG5000: <= 0.04 %; VG5000 Kreise vs Gemeinden: <= 0.165 %), while a small
  /// area inside a large municipality covers 100 % of itself, so 1 % never drops a real
  /// hit. 0 = plain `intersects` (any contact counts, even a shared border).
  double min_overlap_fraction = 0.01;
};

struct GeosIndexStats {
  std::size_t municipalities = 0;  // polygons indexed
  std::size_t vertices = 0;
  std::size_t warn_cells = 0;  // lake/coast cells with geometry
  double load_ms = 0;          // parse + build, wall clock
};

class GeosGeometryIndex final : public domain::geo::GeometryIndex {
 public:
  /// Reads `geo_dir`/de_gemeinden_vg5000_2021.geojson (required) and
  /// `geo_dir`/dwd_warncells_lakes_coasts.geojson (optional: without it lakes/coasts stay
  /// NO_GEOMETRY_SUPPORT). Every feature's `ARS` must be a municipality of `catalog`, and
  /// every municipality of `catalog` must have a polygon (kInvalid otherwise). The index
  /// keeps no reference to `catalog`; its indexes refer to `catalog.municipalities()`.
  [[nodiscard]] static Result<std::unique_ptr<GeosGeometryIndex>, Error> Load(
      const std::filesystem::path& geo_dir, const domain::geo::GeoCatalog& catalog,
      GeosIndexSettings settings = {});

  ~GeosGeometryIndex() override;
  GeosGeometryIndex(const GeosGeometryIndex&) = delete;
  GeosGeometryIndex& operator=(const GeosGeometryIndex&) = delete;

  std::optional<uint32_t> Locate(double lat, double lon) const override;
  domain::geo::GeometryHit Intersect(const domain::geo::AreaShape& area) const override;
  std::optional<domain::geo::GeometryHit> WarnCellMunicipalities(
      std::string_view id) const override;

  const GeosIndexStats& stats() const;

 private:
  struct Impl;
  explicit GeosGeometryIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fanout::adapters::geos
