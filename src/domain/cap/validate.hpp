#pragma once
// CAP 1.2 rules the XSD cannot express (OASIS CAP 1.2 §3, Google cap-library CapValidator
// reason codes), in pure C++: no I/O, no clock, no vendor headers. Used by both readers
// (adapters/capxml, adapters/capjson) on the model they filled. Thread-safe (stateless).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/cap/alert.hpp"

namespace fanout::domain::cap {

/// Errors and warnings of one document. Errors carry `fatal` (see Issue).
struct Findings {
  std::vector<Issue> errors;
  std::vector<Issue> warnings;

  void Error(std::string code, std::string message, bool fatal) {
    errors.push_back(Issue{std::move(code), std::move(message), fatal});
  }
  void Warn(std::string code, std::string message) {
    warnings.push_back(Issue{std::move(code), std::move(message), false});
  }
  void Append(Findings&& other);
};

/// Parses a CAP dateTime to seconds since the Unix epoch (UTC).
/// Accepted: `YYYY-MM-DDThh:mm:ss±hh:mm` (strict CAP 1.2) and, leniently, a `Z` designator,
/// fractional seconds, and surrounding whitespace. `*strict` (if given) is set to true only for
/// the exact CAP 1.2 form. Returns nullopt for anything else (including out-of-range fields
/// such as month 13 or hour 24, and offsets beyond ±14:00).
std::optional<int64_t> ParseCapTime(std::string_view text, bool* strict = nullptr);

struct LatLon {
  double lat = 0;
  double lon = 0;
  bool operator==(const LatLon&) const = default;
};

/// Parses a whitespace-separated list of `a,b` coordinate pairs as they appear in CAP text
/// (surrounding/trailing whitespace tolerated). No range or ring checks: see Validate.
/// Stray `(` `)` inside tokens (a GDACS defect) are skipped and reported via
/// `*had_parentheses`. Returns nullopt if any token is not two decimal numbers separated by
/// one comma. Geo code should parse polygons with this function, so it reads what Validate
/// accepted.
std::optional<std::vector<LatLon>> ParseCoordinatePairs(std::string_view text,
                                                        bool* had_parentheses = nullptr);

/// What RepairCoordinates did to a polygon's (or a circle centre's) points.
enum class CoordinateRepair {
  kNone,        // all within ±90 / ±180
  kSwapped,     // written lon,lat: some "latitude" is beyond ±90 while every "longitude" is
                // within ±90, so the only reading is the swapped one (warning
                // COORDINATES_SWAPPED)
  kWrapped,     // a longitude slightly beyond ±180 (GDACS writes -180.005 at the
                // antimeridian) wrapped into ±180 (warning LONGITUDE_WRAPPED)
  kOutOfRange,  // neither applies: INVALID_POLYGON / INVALID_CIRCLE
};
/// Repairs coordinates where the intent is unambiguous (DESIGN §2: sloppy but unambiguous
/// is usable with a warning). Swapping is decided for the whole list at once (one feed
/// writes one order); wrapping applies to longitudes within (-540, 540) after a swap.
CoordinateRepair RepairCoordinates(std::vector<LatLon>& points);

struct Circle {
  LatLon center;
  double radius_km = 0;
};
/// `lat,lon radius_km` (one or more spaces before the radius); nullopt if malformed.
std::optional<Circle> ParseCircle(std::string_view text);

struct ParsedReferences {
  std::vector<Reference> references;   // well-formed triplets, in order
  std::vector<std::string> malformed;  // whitespace-separated tokens that are not triplets
};
/// Splits `references` text into `sender,identifier,sent` triplets. A triplet is malformed
/// when it has not exactly three non-empty comma-separated parts or its `sent` does not parse.
ParsedReferences ParseReferences(std::string_view text);

/// Checks the spec rules on a read alert and returns the findings (see docs/cap.md for the
/// codes and which are fatal). `Validate` never throws.
Findings Validate(const Alert& alert);

/// Hard limits against hostile or runaway input (DESIGN §2). Both readers take them in their
/// settings; the defaults fit every real sample with a wide margin (largest: DWD MUL 407 KB,
/// ~32 k elements, 405 pairs per polygon).
struct DecodeLimits {
  size_t max_body_bytes = 2 * 1024 * 1024;  // TOO_LARGE
  size_t max_depth = 32;                    // TOO_DEEP (CAP needs 5, EDXL+XML-DSig ~12)
  size_t max_elements = 200'000;            // TOO_MANY_ELEMENTS (XML elements / JSON values)
  // Safety limits well above the largest real message seen (a met service's national
  // polygon of 41,009 points), not at it.
  size_t max_polygon_points = 200'000;  // TOO_MANY_POLYGON_POINTS, per polygon
  size_t max_total_points = 1'000'000;  // TOO_MANY_POLYGON_POINTS, whole alert
  // The message's shape (each fatal, a 400 naming the limit). Real messages: at most a few
  // infos (one per language), a Land's worth of areas, ~11,000 geocodes for a nationwide
  // list of municipality keys.
  size_t max_infos = 64;          // TOO_MANY_INFOS
  size_t max_languages = 32;      // TOO_MANY_LANGUAGES (distinct info languages)
  size_t max_areas = 2'000;       // TOO_MANY_AREAS, whole alert
  size_t max_polygons = 20'000;   // TOO_MANY_POLYGONS, polygons and circles, whole alert
  size_t max_geocodes = 100'000;  // TOO_MANY_GEOCODES, whole alert
};

/// The message's complexity against the limits: infos, languages, areas, polygons and
/// circles, geocodes (fatal TOO_MANY_INFOS / _LANGUAGES / _AREAS / _POLYGONS / _GEOCODES),
/// then polygon pairs (counted cheaply, by whitespace-separated tokens; fatal
/// TOO_MANY_POLYGON_POINTS). The first limit exceeded is reported, naming it.
void CheckComplexityLimits(const Alert& alert, const DecodeLimits& limits, Findings& findings);

/// Sets result.valid / result.usable from its errors: usable = an alert was read and no error
/// is fatal; valid = no errors at all.
void Finalize(CheckResult& result);

/// True when `text` is one of the CAP 1.2 enumeration values of that element (exact case).
bool IsCapEnumValue(std::string_view element, std::string_view text);

}  // namespace fanout::domain::cap
