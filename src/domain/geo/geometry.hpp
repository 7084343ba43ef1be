#pragma once
// Geometry of an alert area as the domain sees it: CAP polygon/circle text parsed into
// WGS84 rings, and the port `GeometryIndex` ("geometry -> municipality set") that
// adapters/geos implements over the municipality polygons. Pure C++, no vendor types.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/cap/alert.hpp"

namespace fanout::domain::geo {

struct LatLon {
  double lat = 0;
  double lon = 0;
};

/// A closed ring (first == last), at least 4 points, WGS84 degrees. Longitudes of a ring
/// that crossed the antimeridian are unwrapped into (180, 360) so the ring is continuous.
using Ring = std::vector<LatLon>;

struct Circle {
  LatLon center;
  double radius_km = 0;  // 0 = a point
};

/// Parse result: the value, plus warnings for what was repaired (unclosed ring,
/// antimeridian, stray characters); or an error issue when nothing usable is left.
template <class T>
struct Parsed {
  std::optional<T> value;
  std::vector<cap::Issue> warnings;
  std::optional<cap::Issue> error;
  /// For a degenerate polygon (1 or 2 distinct points, error INVALID_POLYGON): those
  /// points, so a caller can still locate them (DWD sends such slivers).
  std::vector<LatLon> degenerate_points;
};

/// CAP `<polygon>` (and DWD `EXCLUDE_POLYGON`) text: whitespace-separated `lat,lon` pairs.
/// Lenient where feeds are sloppy (anchors-cap §1.4): stray `(`/`)`, trailing whitespace,
/// consecutive duplicate points, an unclosed ring (closed, warning POLYGON_NOT_CLOSED), a
/// ring crossing ±180° (unwrapped, warning POLYGON_CROSSES_ANTIMERIDIAN). Errors
/// (INVALID_POLYGON): unparsable numbers, out-of-range coordinates, < 3 distinct points.
Parsed<Ring> ParseCapPolygon(std::string_view text);

/// CAP `<circle>` text `lat,lon radius_km` (INVALID_CIRCLE on error).
Parsed<Circle> ParseCapCircle(std::string_view text);

/// A circle as a closed ring of `segments` points on the sphere (radius > 0).
Ring CircleToRing(const Circle& circle, int segments = 64);

/// One CAP area's geometry: union of `polygons` (rings), `wkt` (POLYGON/MULTIPOLYGON text,
/// lon lat order) and `points` (circles of radius 0), minus the union of `exclude` rings.
struct AreaShape {
  std::vector<Ring> polygons;
  std::vector<std::string> wkt;
  std::vector<LatLon> points;
  std::vector<Ring> exclude;
  std::string label;  // for messages, e.g. the areaDesc
  bool empty() const { return polygons.empty() && wkt.empty() && points.empty(); }
};

struct GeometryHit {
  std::vector<uint32_t> municipalities;  // indexes into GeoCatalog::municipalities()
  std::vector<cap::Issue> warnings;      // repairs (e.g. POLYGON_MADE_VALID)
  std::vector<cap::Issue> errors;        // parts that could not be used (e.g. INVALID_WKT)
};

/// Port: municipality polygons, queried by point and by area. Indexes refer to the
/// GeoCatalog the index was built for. Implementations are immutable after construction
/// and safe to call from several threads.
class GeometryIndex {
 public:
  virtual ~GeometryIndex() = default;
  /// The municipality containing the point (on a shared border: one of them), or nullopt.
  virtual std::optional<uint32_t> Locate(double lat, double lon) const = 0;
  /// Every municipality whose polygon intersects the area (true geometric intersection).
  virtual GeometryHit Intersect(const AreaShape& area) const = 0;
  /// Municipalities touched by a DWD warn cell that only geometry can resolve (lakes,
  /// coasts); nullopt when the index has no geometry for the cell.
  virtual std::optional<GeometryHit> WarnCellMunicipalities(std::string_view /*id*/) const {
    return std::nullopt;
  }
};

}  // namespace fanout::domain::geo
