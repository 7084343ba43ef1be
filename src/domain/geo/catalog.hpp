#pragma once
// The German reference geography as the pipeline needs it: municipalities with their
// 12-digit ARS, the Kreis/Land hierarchy, and the DWD warn-cell list. Immutable after
// construction; safe to share between threads. Loaded by adapters/geofiles.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::domain::geo {

struct Municipality {
  std::string ars;  // 12 digits
  std::string ags;  // 8 digits
  std::string name;
  double label_lat = 0;  // a point inside the municipality
  double label_lon = 0;
};

struct WarnCell {
  std::string id;  // 9 digits, first digit = type
  std::string name;
  std::string land;        // two-letter state code, trimmed
  std::string short_name;  // DWD KURZNAME (may be empty)
};

/// The first digit of a DWD warn-cell id (anchors-cap §2.6). Type 3 and 6 do not occur in
/// the public list; they are kept so that a code can say what it saw.
enum class WarnCellType {
  kKreis = 1,
  kLake = 2,
  kSea = 4,
  kCoast = 5,
  kCustomer = 6,
  kCityQuarter = 7,
  kMunicipality = 8,
  kAggregation = 9,
  kOther = 0,
};
WarnCellType WarnCellTypeOf(std::string_view id);

/// Level of a region key, from its zero padding (DESIGN §3).
enum class KeyLevel { kLand, kRegierungsbezirk, kKreis, kGemeindeverband, kGemeinde };

/// True for 12 ASCII digits.
bool IsRegionKey(std::string_view key);
/// Level implied by the zero padding of a valid 12-digit key.
KeyLevel LevelOf(std::string_view key);
/// The significant prefix of a key at its level (2, 3, 5, 9 or 12 digits).
std::string_view SignificantPrefix(std::string_view key);
/// Normalises a key given at any level: accepts 2/3/5/9/12 digits and pads with zeros.
std::optional<std::string> NormaliseKey(std::string_view key);
/// Number of significant digits of a level (2, 3, 5, 9 or 12).
std::size_t PrefixLength(KeyLevel level);
/// The key of the enclosing Kreis / Land of a 12-digit key ("LLRKK0000000" / "LL0000000000").
std::string KreisKeyOf(std::string_view key);
std::string LandKeyOf(std::string_view key);
/// German name of a Land from its two-digit code ("05" -> "Nordrhein-Westfalen"); empty
/// when unknown.
std::string_view LandName(std::string_view land_code);

class GeoCatalog {
 public:
  GeoCatalog(std::vector<Municipality> municipalities, std::vector<WarnCell> warn_cells);

  std::span<const Municipality> municipalities() const { return municipalities_; }
  const Municipality* FindMunicipality(std::string_view ars) const;
  const WarnCell* FindWarnCell(std::string_view id) const;
  /// Every municipality whose ARS lies under `key` (any level), as indexes into
  /// municipalities(). Empty when the key names nothing known.
  std::vector<uint32_t> Expand(std::string_view key) const;
  /// True when the key (any level) names something that exists in the data.
  bool KnownKey(std::string_view key) const;

  // --- additions (Stage A) ---
  /// Municipality by its 8-digit AGS; nullptr when unknown.
  const Municipality* FindMunicipalityByAgs(std::string_view ags) const;
  std::span<const WarnCell> warn_cells() const { return warn_cells_; }
  /// Index of a municipality returned by FindMunicipality* (position in municipalities()).
  uint32_t IndexOf(const Municipality& m) const {
    return static_cast<uint32_t>(&m - municipalities_.data());
  }
  /// Name of the Kreis `kreis5` (5 digits) as the DWD list spells it for the type-1 cell
  /// ("Eifelkreis Bitburg-Prüm", "Stadt Münster"); empty when the list has no such cell.
  std::string_view KreisName(std::string_view kreis5) const;

 private:
  std::vector<Municipality> municipalities_;  // sorted by ars
  std::vector<WarnCell> warn_cells_;          // sorted by id
  std::vector<uint32_t> by_ags_;              // municipality indexes sorted by ags
};

}  // namespace fanout::domain::geo
