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
  std::string ars;   // 12 digits
  std::string ags;   // 8 digits
  std::string name;
  double label_lat = 0;  // a point inside the municipality
  double label_lon = 0;
};

struct WarnCell {
  std::string id;    // 9 digits, first digit = type
  std::string name;
  std::string land;  // two-letter state code, trimmed
};

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

 private:
  std::vector<Municipality> municipalities_;  // sorted by ars
  std::vector<WarnCell> warn_cells_;          // sorted by id
};

}  // namespace fanout::domain::geo
