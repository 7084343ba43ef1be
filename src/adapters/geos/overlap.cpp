#include "adapters/geos/overlap.hpp"

#include <algorithm>
#include <cmath>

namespace fanout::adapters::geos {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kRad = kPi / 180;
constexpr double kA = 6378137.0;          // WGS84 semi-major axis, m
constexpr double kE2 = 0.00669437999014;  // WGS84 first eccentricity squared

double Q(double phi) {
  const double e = std::sqrt(kE2), s = std::sin(phi);
  return (1 - kE2) * (s / (1 - kE2 * s * s) - std::log((1 - e * s) / (1 + e * s)) / (2 * e));
}
double Authalic(double phi) {
  static const double qp = Q(kPi / 2);
  return std::asin(std::clamp(Q(phi) / qp, -1.0, 1.0));
}
const double kRq = kA * std::sqrt(Q(kPi / 2) / 2);

/// Shewchuk's error bound for the floating-point orientation determinant ("Adaptive
/// Precision Floating-Point Arithmetic and Fast Robust Geometric Predicates", 1997,
/// ccwerrboundA = (3 + 16ε)ε, ε = 2⁻⁵³): beyond it the sign of the computed determinant is
/// the sign of the exact one.
constexpr double kEpsilon = 1.1102230246251565e-16;
constexpr double kOrientBound = (3 + 16 * kEpsilon) * kEpsilon;
/// A point closer than this to a segment's line (degrees, ~0.1 mm) counts as on it: the walk
/// then refuses. Exact signs alone are not enough — crossing points and midpoints are
/// rounded (~1e-14°), and decimal coordinates that are collinear on paper are not in binary,
/// which leaves nanometre slivers that GEOS's overlay snaps away and the walk would measure.
constexpr double kMarginDeg = 1e-9;

struct Orientation {
  int sign = 0;  // +1: c left of a→b, −1: right, 0: within kMarginDeg of the line
  double det = 0;
};
Orientation Orient(double ax, double ay, double bx, double by, double cx, double cy) {
  const double l = (ax - cx) * (by - cy);
  const double r = (ay - cy) * (bx - cx);
  const double det = l - r;
  // |det| = distance × |b − a|; the L1 length bounds the Euclidean one from above.
  const double bound = kOrientBound * (std::abs(l) + std::abs(r)) +
                       kMarginDeg * (std::abs(bx - ax) + std::abs(by - ay));
  if (det > bound) return {1, det};
  if (-det > bound) return {-1, det};
  return {0, det};
}

}  // namespace

AuthalicProjection::AuthalicProjection(double lat0_deg, double lon0_deg) : lon0_(lon0_deg * kRad) {
  const double beta0 = Authalic(lat0_deg * kRad);
  sin_b0_ = std::sin(beta0);
  cos_b0_ = std::cos(beta0);
}

std::pair<double, double> AuthalicProjection::Project(double lat_deg, double lon_deg) const {
  const double beta = Authalic(lat_deg * kRad);
  const double dl = lon_deg * kRad - lon0_;
  const double sb = std::sin(beta), cb = std::cos(beta), cdl = std::cos(dl);
  const double k = std::sqrt(2 / (1 + sin_b0_ * sb + cos_b0_ * cb * cdl));
  return {kRq * k * cb * std::sin(dl), kRq * k * (cos_b0_ * sb - sin_b0_ * cb * cdl)};
}

Extent MeasureRing(const double* xy, std::size_t points, const AuthalicProjection& proj) {
  double twice_area = 0, length = 0, px = 0, py = 0;
  for (std::size_t i = 0; i < points; ++i) {
    const auto [x, y] = proj.Project(xy[2 * i + 1], xy[2 * i]);
    if (i > 0) {
      twice_area += px * y - x * py;
      length += std::hypot(x - px, y - py);
    }
    px = x;
    py = y;
  }
  return {std::abs(twice_area) / 2, length};
}

void PlanarRings::AddRing(const double* xy, std::size_t points, bool hole) {
  // The distinct points in order: repeated points dropped, the closing point too.
  std::vector<double> pts;
  pts.reserve(2 * points);
  for (std::size_t i = 0; i < points; ++i) {
    const std::size_t n = pts.size();
    if (n >= 2 && pts[n - 2] == xy[2 * i] && pts[n - 1] == xy[2 * i + 1]) continue;
    pts.push_back(xy[2 * i]);
    pts.push_back(xy[2 * i + 1]);
  }
  while (pts.size() >= 4 && pts[0] == pts[pts.size() - 2] && pts[1] == pts[pts.size() - 1]) {
    pts.resize(pts.size() - 2);
  }
  const std::size_t n = pts.size() / 2;
  if (n < 3) {
    ok_ = false;
    return;
  }
  Ring ring;
  ring.first = static_cast<uint32_t>(xy_.size() / 2);
  ring.points = static_cast<uint32_t>(n + 1);
  // The orientation from the shoelace sum relative to the first point (absolute lon/lat
  // products would carry rounding errors of ~1e-13 deg², larger than a millimetre ring's area).
  double twice_area = 0, magnitude = 0;
  for (std::size_t i = 0; i <= n; ++i) {
    const std::size_t k = i % n, next = (i + 1) % n;
    const double x = pts[2 * k], y = pts[2 * k + 1];
    xy_.push_back(x);
    xy_.push_back(y);
    if (i < n) {
      const double term =
          (x - pts[0]) * (pts[2 * next + 1] - pts[1]) - (pts[2 * next] - pts[0]) * (y - pts[1]);
      twice_area += term;
      magnitude += std::abs(term);
      seg_start_.push_back(ring.first + static_cast<uint32_t>(i));
      seg_ring_.push_back(static_cast<uint32_t>(rings_.size()));
    }
    if (box_.x0 > box_.x1) {
      box_ = {x, y, x, y};
    } else {
      box_.x0 = std::min(box_.x0, x);
      box_.x1 = std::max(box_.x1, x);
      box_.y0 = std::min(box_.y0, y);
      box_.y1 = std::max(box_.y1, y);
    }
  }
  // A sign the rounding could have decided (a ring of no area, or nearly none) is unusable.
  if (!std::isfinite(twice_area) ||
      std::abs(twice_area) <= 8 * kEpsilon * static_cast<double>(n) * magnitude) {
    ok_ = false;
  }
  // An outer ring has the interior on its left when counter-clockwise, a hole when clockwise.
  ring.sign = (twice_area > 0) != hole ? 1 : -1;
  rings_.push_back(ring);
}

int PlanarRings::Column(double x) const {
  return static_cast<int>(std::clamp(std::floor((x - box_.x0) / cell_w_), 0.0, cells_ - 1.0));
}
int PlanarRings::Row(double y) const {
  return static_cast<int>(std::clamp(std::floor((y - box_.y0) / cell_h_), 0.0, cells_ - 1.0));
}

void PlanarRings::BuildIndex() {
  if (!ok() || segments() < 64) return;
  // About two segments per cell along a ring that crosses ~cells_ cells per row.
  cells_ = std::clamp(static_cast<int>(std::sqrt(static_cast<double>(segments()) * 2)), 2, 512);
  cell_w_ = (box_.x1 - box_.x0) / cells_;
  cell_h_ = (box_.y1 - box_.y0) / cells_;
  if (!(cell_w_ > 0) || !(cell_h_ > 0)) {
    cells_ = 0;
    return;
  }
  const std::size_t n = static_cast<std::size_t>(cells_) * static_cast<std::size_t>(cells_);
  cell_offset_.assign(n + 1, 0);
  auto each_cell = [&](uint32_t s, auto&& fn) {
    const uint32_t p = seg_start_[s];
    const int c0 = Column(std::min(X(p), X(p + 1))), c1 = Column(std::max(X(p), X(p + 1)));
    const int r0 = Row(std::min(Y(p), Y(p + 1))), r1 = Row(std::max(Y(p), Y(p + 1)));
    for (int r = r0; r <= r1; ++r) {
      for (int c = c0; c <= c1; ++c) fn(static_cast<std::size_t>(r) * cells_ + c);
    }
  };
  for (uint32_t s = 0; s < segments(); ++s)
    each_cell(s, [&](std::size_t i) { ++cell_offset_[i + 1]; });
  for (std::size_t i = 0; i < n; ++i) cell_offset_[i + 1] += cell_offset_[i];
  cell_items_.resize(cell_offset_[n]);
  std::vector<uint32_t> fill(cell_offset_.begin(), cell_offset_.end() - 1);
  for (uint32_t s = 0; s < segments(); ++s) {
    each_cell(s, [&](std::size_t i) { cell_items_[fill[i]++] = s; });
  }
}

void PlanarRings::SegmentsNear(const Box& box, std::vector<uint32_t>& out) const {
  out.clear();
  if (box.x1 < box_.x0 || box_.x1 < box.x0 || box.y1 < box_.y0 || box_.y1 < box.y0) return;
  if (cells_ == 0) {
    out.resize(segments());
    for (uint32_t s = 0; s < segments(); ++s) out[s] = s;
    return;
  }
  for (int r = Row(box.y0); r <= Row(box.y1); ++r) {
    const std::size_t row = static_cast<std::size_t>(r) * cells_;
    out.insert(out.end(), cell_items_.begin() + cell_offset_[row + Column(box.x0)],
               cell_items_.begin() + cell_offset_[row + Column(box.x1) + 1]);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

bool PlanarRings::Clean() const {
  if (!ok()) return false;
  constexpr double m = kMarginDeg;
  std::vector<uint32_t> near;
  auto near_segment = [&](uint32_t p, double x, double y) {  // (x, y) within m of segment p
    const double ax = X(p), ay = Y(p), bx = X(p + 1), by = Y(p + 1);
    return std::min(ax, bx) - m <= x && x <= std::max(ax, bx) + m && std::min(ay, by) - m <= y &&
           y <= std::max(ay, by) + m && Orient(ax, ay, bx, by, x, y).sign == 0;
  };
  for (uint32_t s = 0; s < segments(); ++s) {
    const uint32_t p = seg_start_[s];
    const Ring& ring = rings_[seg_ring_[s]];
    // The next segment of the ring (wrapping): a spike when it folds back along this one.
    const uint32_t n = p + 2 < ring.first + ring.points ? p + 1 : ring.first;
    const double dx1 = X(p) - X(p + 1), dy1 = Y(p) - Y(p + 1);
    const double dx2 = X(n + 1) - X(n), dy2 = Y(n + 1) - Y(n);
    if (Orient(X(p), Y(p), X(p + 1), Y(p + 1), X(n + 1), Y(n + 1)).sign == 0 &&
        dx1 * dx2 + dy1 * dy2 > 0) {
      return false;
    }
    const double x0 = std::min(X(p), X(p + 1)), x1 = std::max(X(p), X(p + 1));
    const double y0 = std::min(Y(p), Y(p + 1)), y1 = std::max(Y(p), Y(p + 1));
    SegmentsNear({x0 - m, y0 - m, x1 + m, y1 + m}, near);
    for (uint32_t o : near) {
      const uint32_t q = seg_start_[o];
      if (q == p) continue;
      // The endpoints of the other segment, except a vertex it shares with this one.
      for (const uint32_t v : {q, q + 1}) {
        if (X(v) == X(p) && Y(v) == Y(p)) continue;
        if (X(v) == X(p + 1) && Y(v) == Y(p + 1)) continue;
        if (near_segment(p, X(v), Y(v))) return false;
      }
    }
  }
  return true;
}

std::optional<bool> PlanarRings::Inside(double x, double y) const {
  constexpr double m = kMarginDeg;
  if (x < box_.x0 - m || box_.x1 + m < x || y < box_.y0 - m || box_.y1 + m < y) return false;
  // Count the crossings of the ray from (x, y) towards +x with the rings; half-open in y, so
  // a vertex at the ray's height counts once. Only segments right of x can cross the ray;
  // any segment within the margin of the point makes the answer unsafe.
  bool inside = false, unsafe = false;
  auto test = [&](uint32_t s) {
    const uint32_t p = seg_start_[s];
    const double ax = X(p), ay = Y(p), bx = X(p + 1), by = Y(p + 1);
    if (std::max(ax, bx) < x - m) return;  // left of the point: neither crossed nor close
    const bool close = std::min(ax, bx) - m <= x && x <= std::max(ax, bx) + m &&
                       std::min(ay, by) - m <= y && y <= std::max(ay, by) + m;
    const bool a_above = ay > y, b_above = by > y;
    if (!close && a_above == b_above) return;
    const Orientation o = Orient(ax, ay, bx, by, x, y);
    if (o.sign == 0) {  // on the boundary, or too close to tell
      unsafe = true;
      return;
    }
    if (a_above == b_above) return;
    // The segment crosses the ray right of the point when the point is left of it, taken
    // upwards.
    if ((b_above ? o.sign : -o.sign) > 0) inside = !inside;
  };
  if (cells_ == 0) {
    for (uint32_t s = 0; s < segments() && !unsafe; ++s) test(s);
  } else {
    thread_local std::vector<uint32_t> near;
    SegmentsNear({x - m, y - m, box_.x1, y + m}, near);
    for (std::size_t i = 0; i < near.size() && !unsafe; ++i) test(near[i]);
  }
  if (unsafe) return std::nullopt;
  return inside;
}

std::optional<Extent> MeasureOverlap(const PlanarRings& shape, const PlanarRings& part) {
  if (!shape.ok() || !part.ok()) return std::nullopt;
  std::vector<uint32_t> near;  // the shape's segments near the part
  shape.SegmentsNear({part.box_.x0 - kMarginDeg, part.box_.y0 - kMarginDeg,
                      part.box_.x1 + kMarginDeg, part.box_.y1 + kMarginDeg},
                     near);

  // Contacts of the part's segments with the shape's. Allowed: proper crossings (one point
  // inside both segments), a shared endpoint (identical coordinates) of two otherwise
  // separate segments, and identical segments. Anything else — a vertex on the other's
  // segment, collinear overlaps, contacts too close to call — only an overlay can settle.
  struct Crossing {
    uint32_t part_seg;   // index into part.seg_start_
    uint32_t shape_seg;  // index into `near`
    double t, u;         // parameters along the part's and the shape's segment
    double x, y;
  };
  std::vector<Crossing> crossings;
  constexpr uint32_t kNone = ~uint32_t{0};
  std::vector<uint32_t> same_as;   // by part segment: the identical shape segment
  std::vector<bool> shape_shared;  // by `near` index: identical to a part segment
  bool exact_contacts = false;     // shared endpoints or identical segments
  for (uint32_t ps = 0; ps < part.segments(); ++ps) {
    const uint32_t p = part.seg_start_[ps];
    const double p1x = part.X(p), p1y = part.Y(p), p2x = part.X(p + 1), p2y = part.Y(p + 1);
    // The part segment's box grown by the margin: a shape vertex that close must be tested.
    const double px0 = std::min(p1x, p2x) - kMarginDeg, px1 = std::max(p1x, p2x) + kMarginDeg;
    const double py0 = std::min(p1y, p2y) - kMarginDeg, py1 = std::max(p1y, p2y) + kMarginDeg;
    for (uint32_t k = 0; k < near.size(); ++k) {
      const uint32_t q = shape.seg_start_[near[k]];
      const double q1x = shape.X(q), q1y = shape.Y(q), q2x = shape.X(q + 1), q2y = shape.Y(q + 1);
      if (std::max(q1x, q2x) < px0 || px1 < std::min(q1x, q2x) || std::max(q1y, q2y) < py0 ||
          py1 < std::min(q1y, q2y)) {
        continue;
      }
      const bool p1q1 = p1x == q1x && p1y == q1y, p1q2 = p1x == q2x && p1y == q2y;
      const bool p2q1 = p2x == q1x && p2y == q1y, p2q2 = p2x == q2x && p2y == q2y;
      if ((p1q1 && p2q2) || (p1q2 && p2q1)) {  // the same segment
        if (same_as.empty()) same_as.assign(part.segments(), kNone);
        if (shape_shared.empty()) shape_shared.assign(near.size(), false);
        same_as[ps] = k;
        shape_shared[k] = true;
        exact_contacts = true;
        continue;
      }
      if (p1q1 || p1q2 || p2q1 || p2q2) {
        // One shared endpoint v: they meet only there unless they run along the same line
        // in the same direction from v (nearly collinear and at an acute angle).
        const double vx = p1q1 || p1q2 ? p1x : p2x, vy = p1q1 || p1q2 ? p1y : p2y;
        const double ex = p1q1 || p1q2 ? p2x : p1x, ey = p1q1 || p1q2 ? p2y : p1y;
        const double fx = p1q1 || p2q1 ? q2x : q1x, fy = p1q1 || p2q1 ? q2y : q1y;
        if ((Orient(q1x, q1y, q2x, q2y, ex, ey).sign == 0 ||
             Orient(p1x, p1y, p2x, p2y, fx, fy).sign == 0) &&
            (ex - vx) * (fx - vx) + (ey - vy) * (fy - vy) >= 0) {
          return std::nullopt;
        }
        exact_contacts = true;
        continue;
      }
      const Orientation o1 = Orient(q1x, q1y, q2x, q2y, p1x, p1y);
      const Orientation o2 = Orient(q1x, q1y, q2x, q2y, p2x, p2y);
      if (o1.sign != 0 && o1.sign == o2.sign) continue;  // the part's segment on one side
      const Orientation o3 = Orient(p1x, p1y, p2x, p2y, q1x, q1y);
      const Orientation o4 = Orient(p1x, p1y, p2x, p2y, q2x, q2y);
      if (o3.sign != 0 && o3.sign == o4.sign) continue;  // the shape's segment on one side
      if (o1.sign == 0 || o2.sign == 0 || o3.sign == 0 || o4.sign == 0) return std::nullopt;
      const double t = std::clamp(o1.det / (o1.det - o2.det), 0.0, 1.0);
      const double u = std::clamp(o3.det / (o3.det - o4.det), 0.0, 1.0);
      crossings.push_back({ps, k, t, u, p1x + t * (p2x - p1x), p1y + t * (p2y - p1y)});
    }
  }

  // Walk both boundaries, adding the pieces inside the other polygon to the Green sum, in
  // metres on the equal-area projection centred at the part's south-west corner.
  const AuthalicProjection proj(part.box_.y0, part.box_.x0);
  double twice_area = 0, perimeter = 0, magnitude = 0;
  // A walk's pieces follow each other: the end of one is usually the start of the next, so
  // the last projected point is kept.
  double last_lon = std::nan(""), last_lat = std::nan("");
  std::pair<double, double> last_xy;
  auto project = [&](double lon, double lat) {
    if (lon != last_lon || lat != last_lat) {
      last_xy = proj.Project(lat, lon);
      last_lon = lon;
      last_lat = lat;
    }
    return last_xy;
  };
  auto add = [&](double sign, double ax, double ay, double bx, double by) {
    const auto [x1, y1] = project(ax, ay);
    const auto [x2, y2] = project(bx, by);
    twice_area += sign * (x1 * y2 - x2 * y1);
    magnitude += std::abs(x1 * y2 - x2 * y1);
    perimeter += std::hypot(x2 - x1, y2 - y1);
  };
  // Adds the pieces of one segment — from (x, y) through the crossings [c, c_end), sorted
  // along it, to (x_end, y_end) — that lie inside `other`. Without exact contacts `inside` is
  // the state at (x, y) and toggles at each crossing (one point-in-polygon test per ring).
  // Where the rings share vertices, a ring may touch the other boundary without crossing it,
  // so each piece is tested at its midpoint instead, which lies off the other boundary or
  // the test refuses.
  auto split = [&](const PlanarRings& other, double sign, bool& inside, double x, double y,
                   const Crossing* c, const Crossing* c_end, double x_end, double y_end) {
    for (;; ++c) {
      const bool last = c == c_end;
      const double nx = last ? x_end : c->x, ny = last ? y_end : c->y;
      if (exact_contacts) {
        const std::optional<bool> in = other.Inside((x + nx) / 2, (y + ny) / 2);
        if (!in) return false;
        inside = *in;
      }
      if (inside) add(sign, x, y, nx, ny);
      if (last) return true;
      inside = !inside;
      x = nx;
      y = ny;
    }
  };

  // The part's rings, in order, splitting each segment at its crossings.
  std::sort(crossings.begin(), crossings.end(), [](const Crossing& a, const Crossing& b) {
    return a.part_seg != b.part_seg ? a.part_seg < b.part_seg : a.t < b.t;
  });
  std::size_t next = 0;
  uint32_t seg = 0;
  for (const PlanarRings::Ring& ring : part.rings_) {
    std::optional<bool> start;
    if (!exact_contacts) {
      start = shape.Inside(part.X(ring.first), part.Y(ring.first));
      if (!start) return std::nullopt;
    }
    bool inside = start.value_or(false);
    for (uint32_t i = 0; i + 1 < ring.points; ++i, ++seg) {
      const uint32_t p = ring.first + i;
      const std::size_t first = next;
      while (next < crossings.size() && crossings[next].part_seg == seg) ++next;
      if (!same_as.empty() && same_as[seg] != kNone) {
        // On the shape's boundary (and crossed by none of the valid shape's segments): part
        // of the overlap's boundary when both interiors lie on the same side, counted here
        // once; not when they lie on opposite sides.
        const uint32_t q = shape.seg_start_[near[same_as[seg]]];
        const bool same_order = part.X(p) == shape.X(q) && part.Y(p) == shape.Y(q);
        const double shape_sign = shape.rings_[shape.seg_ring_[near[same_as[seg]]]].sign;
        if ((same_order ? shape_sign : -shape_sign) == ring.sign) {
          add(ring.sign, part.X(p), part.Y(p), part.X(p + 1), part.Y(p + 1));
        }
        continue;
      }
      if (!split(shape, ring.sign, inside, part.X(p), part.Y(p), crossings.data() + first,
                 crossings.data() + next, part.X(p + 1), part.Y(p + 1))) {
        return std::nullopt;
      }
    }
    if (start && inside != *start) return std::nullopt;  // a crossing was missed: do not guess
  }

  // The shape's segments near the part, each split at its crossings.
  std::sort(crossings.begin(), crossings.end(), [](const Crossing& a, const Crossing& b) {
    return a.shape_seg != b.shape_seg ? a.shape_seg < b.shape_seg : a.u < b.u;
  });
  // Without exact contacts, consecutive segments of a ring form a run: the state at one's end
  // is the next one's start, and the point-in-polygon test at the run's end checks that no
  // crossing was missed along it.
  next = 0;
  constexpr uint32_t kNoRun = ~uint32_t{0};
  uint32_t run_end = kNoRun;  // the point where the current run ends so far
  bool run_inside = false;
  auto run_checks_out = [&] {
    return run_end == kNoRun ||
           part.Inside(shape.X(run_end), shape.Y(run_end)) == std::optional<bool>(run_inside);
  };
  for (uint32_t k = 0; k < near.size(); ++k) {
    const std::size_t first = next;
    while (next < crossings.size() && crossings[next].shape_seg == k) ++next;
    if (!shape_shared.empty() && shape_shared[k]) continue;  // settled on the part's side
    const uint32_t q = shape.seg_start_[near[k]];
    bool inside = false;
    if (!exact_contacts) {
      if (run_end == q) {
        inside = run_inside;
      } else {
        if (!run_checks_out()) return std::nullopt;  // a crossing was missed, or on the boundary
        const std::optional<bool> start = part.Inside(shape.X(q), shape.Y(q));
        if (!start) return std::nullopt;
        inside = *start;
      }
    }
    if (!split(part, shape.rings_[shape.seg_ring_[near[k]]].sign, inside, shape.X(q), shape.Y(q),
               crossings.data() + first, crossings.data() + next, shape.X(q + 1), shape.Y(q + 1))) {
      return std::nullopt;
    }
    run_end = q + 1;
    run_inside = inside;
  }
  if (!exact_contacts && !run_checks_out()) return std::nullopt;
  // A negative sum means the boundary did not close as it should: do not turn it into 0 m².
  if (twice_area < -1e-12 * magnitude - 1e-6) return std::nullopt;
  return Extent{std::max(0.0, twice_area / 2), perimeter};
}

}  // namespace fanout::adapters::geos
