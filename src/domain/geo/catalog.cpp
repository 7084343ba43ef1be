#include "domain/geo/catalog.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace fanout::domain::geo {
namespace {

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

}  // namespace

WarnCellType WarnCellTypeOf(std::string_view id) {
  if (id.size() != 9 || !AllDigits(id)) return WarnCellType::kOther;
  switch (id[0]) {
    case '1':
      return WarnCellType::kKreis;
    case '2':
      return WarnCellType::kLake;
    case '4':
      return WarnCellType::kSea;
    case '5':
      return WarnCellType::kCoast;
    case '6':
      return WarnCellType::kCustomer;
    case '7':
      return WarnCellType::kCityQuarter;
    case '8':
      return WarnCellType::kMunicipality;
    case '9':
      return WarnCellType::kAggregation;
    default:
      return WarnCellType::kOther;
  }
}

bool IsRegionKey(std::string_view key) { return key.size() == 12 && AllDigits(key); }

KeyLevel LevelOf(std::string_view key) {
  // Precondition: IsRegionKey(key). Anything else is read as a municipality so that a
  // caller that skipped the check gets the narrowest (least surprising) interpretation.
  if (!IsRegionKey(key)) return KeyLevel::kGemeinde;
  if (AllZero(key.substr(2))) return KeyLevel::kLand;
  if (AllZero(key.substr(3))) return KeyLevel::kRegierungsbezirk;
  if (AllZero(key.substr(5))) return KeyLevel::kKreis;
  if (AllZero(key.substr(9))) return KeyLevel::kGemeindeverband;
  return KeyLevel::kGemeinde;
}

std::size_t PrefixLength(KeyLevel level) {
  switch (level) {
    case KeyLevel::kLand:
      return 2;
    case KeyLevel::kRegierungsbezirk:
      return 3;
    case KeyLevel::kKreis:
      return 5;
    case KeyLevel::kGemeindeverband:
      return 9;
    case KeyLevel::kGemeinde:
      return 12;
  }
  return 12;
}

std::string_view SignificantPrefix(std::string_view key) {
  if (!IsRegionKey(key)) return key;
  return key.substr(0, PrefixLength(LevelOf(key)));
}

std::optional<std::string> NormaliseKey(std::string_view key) {
  key = TrimAscii(key);
  if (!AllDigits(key)) return std::nullopt;
  switch (key.size()) {
    case 2:
    case 3:
    case 5:
    case 9:
    case 12: {
      std::string out(key);
      out.resize(12, '0');
      return out;
    }
    default:
      return std::nullopt;
  }
}

std::string KreisKeyOf(std::string_view key) {
  std::string out(key.substr(0, std::min<std::size_t>(5, key.size())));
  out.resize(12, '0');
  return out;
}

std::string LandKeyOf(std::string_view key) {
  std::string out(key.substr(0, std::min<std::size_t>(2, key.size())));
  out.resize(12, '0');
  return out;
}

std::string_view LandName(std::string_view land_code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "",
      "Schleswig-Holstein",
      "Hamburg",
      "Niedersachsen",
      "Bremen",
      "Nordrhein-Westfalen",
      "Hessen",
      "Rheinland-Pfalz",
      "Baden-Württemberg",
      "Bayern",
      "Saarland",
      "Berlin",
      "Brandenburg",
      "Mecklenburg-Vorpommern",
      "Sachsen",
      "Sachsen-Anhalt",
      "Thüringen",
  };
  if (land_code.size() < 2 || !AllDigits(land_code.substr(0, 2))) return {};
  const int n = (land_code[0] - '0') * 10 + (land_code[1] - '0');
  if (n < 1 || n > 16) return {};
  return kNames[static_cast<std::size_t>(n)];
}

GeoCatalog::GeoCatalog(std::vector<Municipality> municipalities, std::vector<WarnCell> warn_cells)
    : municipalities_(std::move(municipalities)), warn_cells_(std::move(warn_cells)) {
  std::sort(municipalities_.begin(), municipalities_.end(),
            [](const Municipality& a, const Municipality& b) { return a.ars < b.ars; });
  for (std::size_t i = 0; i < municipalities_.size(); ++i) {
    if (!IsRegionKey(municipalities_[i].ars)) {
      throw std::invalid_argument("GeoCatalog: municipality key is not 12 digits: '" +
                                  municipalities_[i].ars + "'");
    }
    if (i > 0 && municipalities_[i - 1].ars == municipalities_[i].ars) {
      throw std::invalid_argument("GeoCatalog: duplicate municipality key " +
                                  municipalities_[i].ars);
    }
  }
  std::sort(warn_cells_.begin(), warn_cells_.end(),
            [](const WarnCell& a, const WarnCell& b) { return a.id < b.id; });
  warn_cells_.erase(std::unique(warn_cells_.begin(), warn_cells_.end(),
                                [](const WarnCell& a, const WarnCell& b) { return a.id == b.id; }),
                    warn_cells_.end());
  by_ags_.reserve(municipalities_.size());
  for (uint32_t i = 0; i < municipalities_.size(); ++i) {
    if (!municipalities_[i].ags.empty()) by_ags_.push_back(i);
  }
  std::sort(by_ags_.begin(), by_ags_.end(), [this](uint32_t a, uint32_t b) {
    return municipalities_[a].ags < municipalities_[b].ags;
  });
}

const Municipality* GeoCatalog::FindMunicipality(std::string_view ars) const {
  auto it = std::lower_bound(municipalities_.begin(), municipalities_.end(), ars,
                             [](const Municipality& m, std::string_view k) { return m.ars < k; });
  if (it == municipalities_.end() || it->ars != ars) return nullptr;
  return &*it;
}

const Municipality* GeoCatalog::FindMunicipalityByAgs(std::string_view ags) const {
  auto it = std::lower_bound(
      by_ags_.begin(), by_ags_.end(), ags,
      [this](uint32_t i, std::string_view k) { return municipalities_[i].ags < k; });
  if (it == by_ags_.end() || municipalities_[*it].ags != ags) return nullptr;
  // AGS are unique in the official data; if two municipalities ever share one the code is
  // ambiguous and we refuse to guess.
  if (std::next(it) != by_ags_.end() && municipalities_[*std::next(it)].ags == ags) {
    return nullptr;
  }
  return &municipalities_[*it];
}

const WarnCell* GeoCatalog::FindWarnCell(std::string_view id) const {
  auto it = std::lower_bound(warn_cells_.begin(), warn_cells_.end(), id,
                             [](const WarnCell& c, std::string_view k) { return c.id < k; });
  if (it == warn_cells_.end() || it->id != id) return nullptr;
  return &*it;
}

std::vector<uint32_t> GeoCatalog::Expand(std::string_view key) const {
  std::vector<uint32_t> out;
  if (!IsRegionKey(key)) return out;
  const std::string_view prefix = SignificantPrefix(key);
  // All keys are 12 digits, so the keys under `prefix` form one contiguous range of the
  // sorted vector: [prefix000..., prefix999...].
  std::string lo(prefix), hi(prefix);
  lo.resize(12, '0');
  hi.resize(12, '9');
  auto first =
      std::lower_bound(municipalities_.begin(), municipalities_.end(), lo,
                       [](const Municipality& m, const std::string& k) { return m.ars < k; });
  auto last =
      std::upper_bound(first, municipalities_.end(), hi,
                       [](const std::string& k, const Municipality& m) { return k < m.ars; });
  out.reserve(static_cast<std::size_t>(last - first));
  for (auto it = first; it != last; ++it) {
    out.push_back(static_cast<uint32_t>(it - municipalities_.begin()));
  }
  return out;
}

bool GeoCatalog::KnownKey(std::string_view key) const {
  if (!IsRegionKey(key)) return false;
  const std::string_view prefix = SignificantPrefix(key);
  std::string lo(prefix);
  lo.resize(12, '0');
  auto it = std::lower_bound(municipalities_.begin(), municipalities_.end(), lo,
                             [](const Municipality& m, const std::string& k) { return m.ars < k; });
  return it != municipalities_.end() && std::string_view(it->ars).starts_with(prefix);
}

std::string_view GeoCatalog::KreisName(std::string_view kreis5) const {
  if (kreis5.size() != 5) return {};
  std::string id = "1";
  id.append(kreis5);
  id.append("000");
  const WarnCell* c = FindWarnCell(id);
  return c ? std::string_view(c->name) : std::string_view();
}

}  // namespace fanout::domain::geo
