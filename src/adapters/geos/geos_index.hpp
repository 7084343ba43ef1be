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

/// The artefact ("sliver") rule, absolute and never relative to a municipality's size
/// (docs/geo.md "Intersection rule"). A municipality M whose polygon intersects a polygonal
/// area S is affected when at least one of these holds:
///   (a) S lies within M (a small area inside a big municipality);
///   (b) S covers M's label point (BKG's representative point of M);
///   (c) area(S ∩ M) >= min_overlap_m2 (on the WGS84 ellipsoid);
///   (d) mean width of S ∩ M, 2·area/perimeter, >= min_overlap_width_m.
/// Otherwise the overlap is a boundary artefact of two separately generalised outlines and
/// dropped. Measured on this data: such artefacts are at most 4.19 ha and 2.34 m mean wide
/// (the 6,979 Kreis-polygon/municipality neighbour overlaps; DWD polygons: <= 0.75 ha,
/// <= 0.9 m), while a real overlap is wide or large. Both 0: any contact counts (plain
/// `intersects`, even a shared border). Lake and coast warn cells (WarnCellMunicipalities)
/// always count any contact: their warning is for the shore.
struct GeosIndexSettings {
  double min_overlap_m2 = 50'000;   // 5 ha: above every artefact measured, below 10 ha
  double min_overlap_width_m = 10;  // > 4x the widest artefact measured
  /// Measure every partial overlap with a GEOS overlay instead of MeasureOverlap's boundary
  /// walk first (overlap.hpp): the second implementation tests and benchmarks compare with.
  bool overlay_only = false;
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
