#pragma once
// Alert area -> affected municipalities (DESIGN §3).
#include <string>
#include <vector>

#include "domain/cap/alert.hpp"
#include "domain/geo/catalog.hpp"

namespace fanout::domain::geo {

struct AreaResolution {
  std::vector<std::string> municipalities;  // sorted, unique 12-digit ARS
  /// Codes or shapes that could not be turned into municipalities, with the reason,
  /// e.g. {"UNKNOWN_GEOCODE","WARNCELLID 712345678 not in the DWD list"}.
  std::vector<cap::Issue> unresolved;
  /// How each part was resolved (e.g. "WARNCELLID type 7 -> smallest enclosing Kreis"),
  /// for operators.
  std::vector<std::string> notes;
};

/// Resolves the union of all areas of all info blocks of the alert.
AreaResolution ResolveArea(const cap::Alert& alert, const GeoCatalog& catalog);

}  // namespace fanout::domain::geo
