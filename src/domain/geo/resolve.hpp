#pragma once
// Alert area -> affected municipalities (DESIGN §3).
#include <string>
#include <string_view>
#include <vector>

#include "domain/cap/alert.hpp"
#include "domain/geo/catalog.hpp"
#include "domain/geo/geometry.hpp"

namespace fanout::domain::geo {

struct AreaResolution {
  std::vector<std::string> municipalities;  // sorted, unique 12-digit ARS
  /// Codes or shapes that could not be turned into municipalities, with the reason,
  /// e.g. {"UNKNOWN_GEOCODE","WARNCELLID 712345678 not in the DWD list"}.
  std::vector<cap::Issue> unresolved;
  /// How each part was resolved (e.g. "WARNCELLID type 7 -> smallest enclosing Kreis"),
  /// for operators.
  std::vector<std::string> notes;
  /// Repairs made to the input geometry (POLYGON_NOT_CLOSED, POLYGON_MADE_VALID, ...).
  std::vector<cap::Issue> warnings;
};

/// Resolves the union of all areas of all info blocks of the alert.
AreaResolution ResolveArea(const cap::Alert& alert, const GeoCatalog& catalog);

// --- additions ---

/// As above, with polygons, circles, WKT and EXCLUDE_POLYGON resolved through `geometry`
/// (true intersection with the municipality polygons) and lake/coast warn cells through
/// its warn-cell geometry. `geometry` may be null: then shapes are reported as
/// NO_GEOMETRY_SUPPORT, exactly like the two-argument overload.
AreaResolution ResolveArea(const cap::Alert& alert, const GeoCatalog& catalog,
                           const GeometryIndex* geometry);

/// How one DWD warn-cell id maps onto region keys (docs/geo.md "Warn cells").
struct WarnCellResolution {
  enum class Kind {
    kExact,           // the keys cover exactly the cell (type 8, type 1, derivable type 7/9)
    kSuperset,        // the keys are the smallest enclosing area we can derive
    kNeedsGeometry,   // lakes (2) and coasts (5): only warn-cell geometry can resolve them
    kNoMunicipality,  // sea areas (4): known, but cover no municipality
    kUnknown,         // not in the DWD list / not derivable
  };
  Kind kind = Kind::kUnknown;
  std::vector<std::string> keys;  // 12-digit region keys at any level, to be expanded
  std::string note;               // what rule was applied, for operators
};
WarnCellResolution ResolveWarnCell(std::string_view id, const GeoCatalog& catalog);

/// Geocode value names (compared case-insensitively) and the NINA info parameter that carry
/// region keys.
inline constexpr std::string_view kNinaAreaParameter = "warnVerwaltungsbereiche";

}  // namespace fanout::domain::geo
