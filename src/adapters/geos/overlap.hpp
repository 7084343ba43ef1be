#pragma once
// The area and perimeter of the overlap of two polygons on the WGS84 ellipsoid, without a
// GEOS overlay: the fast path of the artefact rule (docs/adr/0009-overlap-without-overlay.md).
//
// By Green's theorem the area of P ∩ Q is the sum of (x dy − y dx) / 2 along the boundary of
// P ∩ Q, and that boundary is made of the pieces of P's rings that lie inside Q and the pieces
// of Q's rings that lie inside P (each with its own polygon's interior on the left), split
// where the rings cross. So an overlap needs only the crossings of the two boundaries and one
// point-in-polygon test per ring: no noding, no topology graph, no result geometry. The answer
// is exact for rings in general position, and for rings that share vertices and whole
// segments exactly (a shape copied from the municipality layer). Whenever a decision could
// depend on rounding — a vertex on or within 1e-9° (~0.1 mm) of the other's segment, collinear
// overlapping edges — MeasureOverlap returns nullopt and the caller falls back to a full GEOS
// overlay.
//
// Pure C++, no GEOS: PlanarRings hold the rings, the caller extracts them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace fanout::adapters::geos {

/// Area and perimeter in metres (square metres) on the WGS84 ellipsoid.
struct Extent {
  double area_m2 = 0;
  double perimeter_m = 0;
};

/// Lambert azimuthal equal-area projection of the WGS84 ellipsoid through the authalic
/// sphere (Snyder, "Map Projections — A Working Manual", 1987, eq. 3-11, 3-12, 24-2, 24-3):
/// latitudes become authalic latitudes, then the spherical LAEA with the authalic radius.
/// Areas are exact; lengths near the centre are nearly true.
class AuthalicProjection {
 public:
  AuthalicProjection(double lat0_deg, double lon0_deg);
  /// Metres east and north of the centre.
  std::pair<double, double> Project(double lat_deg, double lon_deg) const;

 private:
  double lon0_, sin_b0_, cos_b0_;
};

/// The area enclosed by a closed ring of lon/lat points (`xy` = x0, y0, …, last = first) and
/// its length, projected with `proj`: straight lines between the projected points.
Extent MeasureRing(const double* xy, std::size_t points, const AuthalicProjection& proj);

/// The rings of a valid polygon or multipolygon in lon/lat degrees (outer rings and holes, in
/// any orientation). Immutable once built; queries are const and thread-compatible.
class PlanarRings {
 public:
  /// `xy` = x0, y0, x1, y1, … (lon, lat); closed (last point = first) or not. A ring with
  /// fewer than three distinct points or no area makes the rings unusable (ok() false).
  void AddRing(const double* xy, std::size_t points, bool hole);
  /// Buckets the segments in a grid so that queries look only at nearby ones: for rings with
  /// many vertices (an alert's shape). Call after the last AddRing.
  void BuildIndex();

  bool ok() const { return ok_ && !rings_.empty(); }
  /// Whether no vertex comes within 1e-9° (~0.1 mm) of a segment of the rings other than
  /// those it is an endpoint of (vertices identical to one of the segment's endpoints — rings
  /// touching at a shared vertex — are not counted), and no vertex is the tip of a spike. GEOS
  /// calls a ring valid that folds back on itself a nanometre apart (decimal coordinates on one
  /// line are not quite on one line in binary); its overlay snaps such spikes away, the walk would
  /// measure them. MeasureOverlap requires both sides clean.
  bool Clean() const;
  std::size_t segments() const { return seg_start_.size(); }

  /// Whether (x, y) lies in the interior: nullopt when it lies on the boundary or within
  /// ~0.1 mm (1e-9°) of it.
  std::optional<bool> Inside(double x, double y) const;

 private:
  friend std::optional<Extent> MeasureOverlap(const PlanarRings&, const PlanarRings&);
  struct Ring {
    uint32_t first = 0;   // index of its first point
    uint32_t points = 0;  // including the closing point
    double sign = 1;      // +1 when its interior is on the left of its stored order
  };
  struct Box {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  };
  double X(uint32_t p) const { return xy_[2 * p]; }
  double Y(uint32_t p) const { return xy_[2 * p + 1]; }
  /// Segments (by their first point) whose box may meet `box`, sorted, without duplicates.
  void SegmentsNear(const Box& box, std::vector<uint32_t>& out) const;
  int Column(double x) const;
  int Row(double y) const;

  std::vector<double> xy_;  // all points, rings one after another
  std::vector<Ring> rings_;
  std::vector<uint32_t> seg_start_;  // every segment, by its first point
  std::vector<uint32_t> seg_ring_;   // its ring
  Box box_{1, 1, 0, 0};
  bool ok_ = true;
  // Grid (BuildIndex): cells_ x cells_ over box_, CSR layout.
  int cells_ = 0;
  double cell_w_ = 0, cell_h_ = 0;
  std::vector<uint32_t> cell_offset_;  // cells_² + 1
  std::vector<uint32_t> cell_items_;   // indexes into seg_start_
};

/// Area and perimeter on the ellipsoid of `shape` ∩ `part` (both valid): the same figures as
/// measuring the overlay's result polygon with the equal-area projection centred at `part`'s
/// south-west corner. nullopt when a vertex lies on (or within 1e-9° of) the other's segment,
/// segments overlap in part along a line, or either is unusable: then only an overlay can tell.
/// Identical vertices and identical segments are handled.
std::optional<Extent> MeasureOverlap(const PlanarRings& shape, const PlanarRings& part);

}  // namespace fanout::adapters::geos
