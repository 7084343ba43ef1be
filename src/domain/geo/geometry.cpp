#include "domain/geo/geometry.hpp"

#include <charconv>
#include <cmath>
#include <numbers>

#include "domain/cap/validate.hpp"

namespace fanout::domain::geo {
namespace {

cap::Issue Warn(std::string code, std::string message) {
  return cap::Issue{std::move(code), std::move(message), false};
}

std::string Excerpt(std::string_view s) {
  return s.size() <= 60 ? std::string(s) : std::string(s.substr(0, 57)) + "...";
}

/// Reads every number of `text`, separators being whitespace and commas. Returns false on
/// a token that is not a number. Sets `stray` when `(` or `)` had to be skipped.
bool ReadNumbers(std::string_view text, std::vector<double>& out, bool& stray) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
      ++i;
      continue;
    }
    if (c == '(' || c == ')') {
      stray = true;
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\r' &&
           text[j] != '\n' && text[j] != ',' && text[j] != '(' && text[j] != ')') {
      ++j;
    }
    std::string_view tok = text.substr(i, j - i);
    if (!tok.empty() && tok.front() == '+') tok.remove_prefix(1);
    double v = 0;
    const auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec != std::errc() || p != tok.data() + tok.size() || !std::isfinite(v)) return false;
    out.push_back(v);
    i = j;
  }
  return true;
}

bool SamePoint(const LatLon& a, const LatLon& b) { return a.lat == b.lat && a.lon == b.lon; }

}  // namespace

Parsed<Ring> ParseCapPolygon(std::string_view text) {
  Parsed<Ring> out;
  std::vector<double> nums;
  bool stray = false;
  if (!ReadNumbers(text, nums, stray) || nums.size() % 2 != 0) {
    out.error =
        Warn("INVALID_POLYGON", "polygon is not a list of lat,lon pairs: '" + Excerpt(text) + "'");
    return out;
  }
  if (stray) {
    out.warnings.push_back(
        Warn("POLYGON_STRAY_CHARACTERS", "ignored '(' or ')' in polygon '" + Excerpt(text) + "'"));
  }
  std::vector<cap::LatLon> points;
  points.reserve(nums.size() / 2);
  for (std::size_t k = 0; k < nums.size(); k += 2) points.push_back({nums[k], nums[k + 1]});
  // The same repairs, with the same codes, as the validator (cap::RepairCoordinates).
  switch (cap::RepairCoordinates(points)) {
    case cap::CoordinateRepair::kNone:
      break;
    case cap::CoordinateRepair::kSwapped:
      out.warnings.push_back(Warn("COORDINATES_SWAPPED", "polygon written lon,lat; swapped"));
      break;
    case cap::CoordinateRepair::kWrapped:
      out.warnings.push_back(
          Warn("LONGITUDE_WRAPPED", "polygon longitude beyond ±180 wrapped into range"));
      break;
    case cap::CoordinateRepair::kOutOfRange:
      out.error =
          Warn("INVALID_POLYGON", "coordinate out of range in polygon '" + Excerpt(text) + "'");
      return out;
  }
  Ring ring;
  ring.reserve(points.size() + 1);
  for (const cap::LatLon& q : points) {
    const LatLon p{q.lat, q.lon};
    if (!ring.empty() && SamePoint(ring.back(), p)) continue;  // DWD repeats the last point
    ring.push_back(p);
  }
  if (ring.size() >= 2 && !SamePoint(ring.front(), ring.back())) {
    out.warnings.push_back(
        Warn("POLYGON_NOT_CLOSED", "polygon ring closed by repeating its first point"));
    ring.push_back(ring.front());
  }
  if (ring.size() < 4) {
    out.degenerate_points = ring;
    if (ring.size() > 1 && SamePoint(ring.front(), ring.back())) {
      out.degenerate_points.pop_back();
    }
    out.warnings.clear();
    out.error = Warn("INVALID_POLYGON",
                     "polygon has fewer than 3 distinct points: '" + Excerpt(text) + "'");
    return out;
  }
  bool crosses = false;
  for (std::size_t k = 1; k < ring.size(); ++k) {
    crosses |= std::abs(ring[k].lon - ring[k - 1].lon) > 180;
  }
  if (crosses) {
    for (LatLon& p : ring) {
      if (p.lon < 0) p.lon += 360;
    }
    out.warnings.push_back(Warn("POLYGON_CROSSES_ANTIMERIDIAN",
                                "polygon crosses 180°; longitudes unwrapped to 0..360"));
  }
  out.value = std::move(ring);
  return out;
}

Parsed<Circle> ParseCapCircle(std::string_view text) {
  Parsed<Circle> out;
  std::vector<double> nums;
  bool stray = false;
  if (!ReadNumbers(text, nums, stray) || nums.size() != 3) {
    out.error = Warn("INVALID_CIRCLE", "circle is not 'lat,lon radius': '" + Excerpt(text) + "'");
    return out;
  }
  std::vector<cap::LatLon> centre{{nums[0], nums[1]}};
  const cap::CoordinateRepair repair = cap::RepairCoordinates(centre);
  if (repair == cap::CoordinateRepair::kOutOfRange || nums[2] < 0) {
    out.error = Warn("INVALID_CIRCLE", "circle out of range: '" + Excerpt(text) + "'");
    return out;
  }
  if (repair == cap::CoordinateRepair::kSwapped) {
    out.warnings.push_back(Warn("COORDINATES_SWAPPED", "circle written lon,lat; swapped"));
  } else if (repair == cap::CoordinateRepair::kWrapped) {
    out.warnings.push_back(Warn("LONGITUDE_WRAPPED", "circle longitude wrapped into ±180"));
  }
  Circle c{{centre[0].lat, centre[0].lon}, nums[2]};
  out.value = c;
  return out;
}

Ring CircleToRing(const Circle& circle, int segments) {
  constexpr double kEarthRadiusKm = 6371.0088;
  constexpr double kRad = std::numbers::pi / 180.0;
  const double lat1 = circle.center.lat * kRad;
  const double lon1 = circle.center.lon * kRad;
  const double d = circle.radius_km / kEarthRadiusKm;
  Ring ring;
  ring.reserve(static_cast<std::size_t>(segments) + 1);
  for (int k = 0; k < segments; ++k) {
    // Counter-clockwise (bearing decreasing) so the ring is a valid exterior ring.
    const double brng = -2.0 * std::numbers::pi * k / segments;
    const double lat2 =
        std::asin(std::sin(lat1) * std::cos(d) + std::cos(lat1) * std::sin(d) * std::cos(brng));
    const double lon2 = lon1 + std::atan2(std::sin(brng) * std::sin(d) * std::cos(lat1),
                                          std::cos(d) - std::sin(lat1) * std::sin(lat2));
    ring.push_back({lat2 / kRad, lon2 / kRad});
  }
  ring.push_back(ring.front());
  return ring;
}

}  // namespace fanout::domain::geo
