#include "demo_expect.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

namespace fanout::cli {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// The significant prefix of a region key: the key is 12 digits (shorter ones are padded),
/// its level is read from the zero padding (Land 2, Regierungsbezirk 3, Kreis 5,
/// Gemeindeverband 9, Gemeinde 12).
std::string Prefix(std::string key) {
  if (key.size() < 12) key.append(12 - key.size(), '0');
  for (std::size_t len : {2u, 3u, 5u, 9u}) {
    if (key.find_first_not_of('0', len) == std::string::npos) return key.substr(0, len);
  }
  return key;
}

int LevelOf(const std::string& severity) {
  if (severity == "Extreme") return 0;
  if (severity == "Severe") return 1;
  if (severity == "Moderate") return 2;
  if (severity == "Minor") return 3;
  return 4;
}

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',' || c == ';' || std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::vector<std::pair<double, double>> Pairs(const std::string& text) {
  std::vector<std::pair<double, double>> out;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) {
    tok.erase(std::remove_if(tok.begin(), tok.end(), [](char c) { return c == '(' || c == ')'; }),
              tok.end());
    const auto comma = tok.find(',');
    if (comma == std::string::npos) continue;
    try {
      out.emplace_back(std::stod(tok.substr(0, comma)), std::stod(tok.substr(comma + 1)));
    } catch (...) {
    }
  }
  return out;
}

}  // namespace

DemoExpectation::DemoExpectation(const domain::geo::GeoCatalog& catalog) : catalog_(catalog) {
  for (const auto& m : catalog.municipalities()) ars_by_ags_[m.ags] = m.ars;
}

void DemoExpectation::Keys(const std::string& list, ExpectedAlert& out) const {
  for (const std::string& raw : Split(list)) {
    if (raw.find_first_not_of("0123456789") != std::string::npos) continue;
    if (raw.size() == 8) {  // an AGS
      if (auto it = ars_by_ags_.find(raw); it != ars_by_ags_.end())
        out.municipalities.insert(it->second);
      continue;
    }
    const std::string prefix = Prefix(raw);
    for (const auto& m : catalog_.municipalities()) {
      if (m.ars.compare(0, prefix.size(), prefix) == 0) out.municipalities.insert(m.ars);
    }
  }
}

void DemoExpectation::LabelPointsIn(const std::vector<std::pair<double, double>>& ring,
                                    ExpectedAlert& out) const {
  if (ring.size() < 4) return;
  for (const auto& m : catalog_.municipalities()) {
    // Even-odd ray casting in (lon, lat).
    bool inside = false;
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
      const double yi = ring[i].first, xi = ring[i].second;
      const double yj = ring[j].first, xj = ring[j].second;
      if ((yi > m.label_lat) != (yj > m.label_lat) &&
          m.label_lon < (xj - xi) * (m.label_lat - yi) / (yj - yi) + xi) {
        inside = !inside;
      }
    }
    if (inside) out.municipalities.insert(m.ars);
  }
}

void DemoExpectation::LabelPointsNear(double lat, double lon, double radius_km,
                                      ExpectedAlert& out) const {
  constexpr double kRad = 3.14159265358979323846 / 180;
  for (const auto& m : catalog_.municipalities()) {
    const double dlat = (m.label_lat - lat) * kRad, dlon = (m.label_lon - lon) * kRad;
    const double h = std::pow(std::sin(dlat / 2), 2) + std::cos(lat * kRad) *
                                                           std::cos(m.label_lat * kRad) *
                                                           std::pow(std::sin(dlon / 2), 2);
    if (2 * 6371.0088 * std::asin(std::sqrt(h)) <= radius_km) out.municipalities.insert(m.ars);
  }
}

void DemoExpectation::Area(const domain::cap::Info& info, ExpectedAlert& out,
                           bool& unresolvable) const {
  bool area_parameter = false;
  for (const auto& p : info.parameters) {
    if (Upper(p.name) == "WARNVERWALTUNGSBEREICHE") {
      Keys(p.value, out);
      area_parameter = true;
    }
  }
  // DWD warn cells in an info are authoritative over its outlines (docs/geo.md).
  const bool info_has_cells = std::any_of(info.areas.begin(), info.areas.end(), [](auto& a) {
    return std::any_of(a.geocodes.begin(), a.geocodes.end(), [](auto& g) {
      const std::string name = Upper(g.name);
      return name == "WARNCELLID" || name == "WARNCELL";
    });
  });
  for (const auto& area : info.areas) {
    if (area.polygons.empty() && area.circles.empty() && area.geocodes.empty() && !area_parameter) {
      // Only a description (NINA's DWD JSON): the documented rule looks it up as the exact
      // name of DWD municipality (8) or Kreis (1) warn cells.
      for (const auto& cell : catalog_.warn_cells()) {
        if (cell.name != area.desc || cell.id.size() != 9) continue;
        if (cell.id[0] == '8') {
          if (auto it = ars_by_ags_.find(cell.id.substr(1)); it != ars_by_ags_.end()) {
            out.municipalities.insert(it->second);
          }
        } else if (cell.id[0] == '1') {
          Keys(cell.id.substr(1, 5), out);
        }
      }
      continue;
    }
    bool codes = false;
    for (const auto& g : area.geocodes) {
      const std::string name = Upper(g.name);
      if (name == "ARS" || name == "SHN") {
        Keys(g.value, out);
        codes = true;
      } else if (name == "WARNCELLID" || name == "WARNCELL") {
        codes = true;
        const std::string id = g.value;
        if (id.size() == 9 && id[0] == '8') {
          if (auto it = ars_by_ags_.find(id.substr(1)); it != ars_by_ags_.end()) {
            out.municipalities.insert(it->second);
          } else {
            unresolvable = true;
          }
        } else if (id.size() == 9 && id[0] == '1' && id.substr(6) == "000") {
          Keys(id.substr(1, 5), out);
        } else {
          unresolvable = true;  // lake, coast, quarter or aggregation cells: not restated here
        }
      }
    }
    if (codes || info_has_cells) continue;  // codes are authoritative for their area
    for (const auto& poly : area.polygons) {
      out.lower_bound = true;
      LabelPointsIn(Pairs(poly), out);
    }
    for (const auto& circle : area.circles) {
      out.lower_bound = true;
      std::istringstream in(circle);
      std::string centre;
      double r = 0;
      in >> centre >> r;
      const auto c = Pairs(centre);
      if (!c.empty()) LabelPointsNear(c[0].first, c[0].second, r, out);
    }
  }
}

ExpectedAlert DemoExpectation::Expect(const domain::cap::CheckResult& check,
                                      const std::string& provider,
                                      const std::map<std::string, int>& allowed_non_actual) {
  ExpectedAlert e;
  e.provider = provider;
  if (!check.alert || !check.usable) {
    e.status = "quarantined";
    e.why = "the CAP reader refuses it";
    if (!check.errors.empty()) e.why += " (" + check.errors.front().code + ")";
    return e;
  }
  const auto& a = *check.alert;
  e.id = a.identifier;
  if (a.status != "Actual" && !allowed_non_actual.count(provider)) {
    e.status = "skipped";
    e.why = "status " + a.status;
    return e;
  }
  if (a.scope != "Public" || a.msg_type == "Ack" || a.msg_type == "Error") {
    e.status = "skipped";
    e.why = a.scope != "Public" ? "scope " + a.scope : "msgType " + a.msg_type;
    return e;
  }
  bool unresolvable = false;
  for (const auto& info : a.infos) {
    e.level = std::min(e.level, LevelOf(info.severity));
    Area(info, e, unresolvable);
  }
  std::string folded;
  if (a.msg_type == "Update" || a.msg_type == "Cancel") {
    for (const auto& ref : a.references) {
      if (ref.sender == a.sender && ref.identifier == a.identifier) continue;  // itself
      auto it = sent_.find(ref.identifier);
      if (it == sent_.end() || it->second.status != "done") continue;
      e.municipalities.insert(it->second.municipalities.begin(), it->second.municipalities.end());
      e.level = std::min(e.level, it->second.level);
      e.lower_bound |= it->second.lower_bound;
      folded = " + the area of " + ref.identifier;
    }
  }
  if (unresolvable && !e.lower_bound) {
    // A warn-cell kind the reference does not restate (lake, coast, quarter, aggregation):
    // the pipeline's answer cannot be checked here, so only the lower bound is.
    e.lower_bound = true;
  }
  if (e.municipalities.empty() && !unresolvable) {
    e.status = "quarantined";
    e.why = "no German municipality in its area";
    return e;
  }
  e.status = "done";
  e.why = std::to_string(e.municipalities.size()) + " municipalities from " +
          (e.lower_bound ? "codes and label points in its shapes (lower bound)" : "its codes") +
          folded;
  return e;
}

bool DemoExpectation::Receives(const domain::device::Device& d, const ExpectedAlert& a,
                               const std::map<std::string, int>& default_levels) {
  int threshold = 4;
  if (auto it = d.levels.find(a.provider); it != d.levels.end()) {
    threshold = it->second;
  } else if (auto def = default_levels.find(a.provider); def != default_levels.end()) {
    threshold = def->second;
  }
  if (a.level > threshold) return false;
  if (d.mylocation) return true;
  for (const std::string& key : d.regions) {
    const std::string prefix = Prefix(key);
    auto it = a.municipalities.lower_bound(prefix);
    if (it != a.municipalities.end() && it->compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

}  // namespace fanout::cli
