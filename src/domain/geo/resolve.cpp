#include "domain/geo/resolve.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <unordered_set>

namespace fanout::domain::geo {
namespace {

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kWs = " \t\r\n";
  const auto b = s.find_first_not_of(kWs);
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(kWs);
  return s.substr(b, e - b + 1);
}

std::string Upper(std::string_view s) {
  std::string out(Trim(s));
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

/// Splits a list value on commas, semicolons and whitespace (NINA sends comma lists; some
/// feeds put several codes into one <value>).
std::vector<std::string_view> SplitList(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || s[i] == ';' || s[i] == ' ' || s[i] == '\t' ||
                            s[i] == '\r' || s[i] == '\n')) {
      ++i;
    }
    std::size_t j = i;
    while (j < s.size() && !(s[j] == ',' || s[j] == ';' || s[j] == ' ' || s[j] == '\t' ||
                             s[j] == '\r' || s[j] == '\n')) {
      ++j;
    }
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Pad12(std::string_view prefix) {
  std::string out(prefix);
  out.resize(12, '0');
  return out;
}

/// Municipality name `name` matches the place name `place` when equal, or when `name`
/// continues after `place` with a qualifier ("Oldenburg (Oldb)", "Ludwigshafen am Rhein").
bool NameMatches(std::string_view name, std::string_view place) {
  if (place.empty() || !name.starts_with(place)) return false;
  if (name.size() == place.size()) return true;
  const char next = name[place.size()];
  return next == ' ' || next == '(' || next == ',' || next == '/';
}

/// The municipality under `scope_key` named `place`, if exactly one matches.
const Municipality* UniqueByName(const GeoCatalog& catalog, std::string_view scope_key,
                                 std::string_view place, bool exact) {
  const Municipality* found = nullptr;
  for (uint32_t i : catalog.Expand(scope_key)) {
    const Municipality& m = catalog.municipalities()[i];
    if (exact ? m.name == place : NameMatches(m.name, place)) {
      if (found) return nullptr;  // ambiguous
      found = &m;
    }
  }
  return found;
}

/// The place part of a DWD cell name: "Insel Helgoland" -> "Helgoland",
/// "Schleswig-Holstein - Helgoland" -> "Helgoland"; with `cut_hyphen` also
/// "Saarbrücken-West" -> "Saarbrücken" (only safe inside one Kreis: at Land level
/// "Elbe-Weser-Gebiet" would become the municipality "Elbe").
std::string_view PlaceOfCellName(std::string_view name, bool cut_hyphen) {
  if (auto p = name.rfind(" - "); p != std::string_view::npos) name = name.substr(p + 3);
  for (std::string_view prefix : {"Stadt ", "Insel ", "Gemeinde "}) {
    if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
  }
  if (auto p = name.find('-'); cut_hyphen && p != std::string_view::npos) {
    name = name.substr(0, p);
  }
  return Trim(name);
}

/// True when `kreis5` is the Kreis part of some municipality's key. (Padding "03000" gives
/// the Land key of Niedersachsen, which is known but is not a Kreis.)
bool KreisExists(const GeoCatalog& catalog, std::string_view kreis5) {
  const auto members = catalog.Expand(Pad12(kreis5));
  return !members.empty() &&
         std::string_view(catalog.municipalities()[members.front()].ars).starts_with(kreis5);
}

/// Smallest key (Kreis, then Regierungsbezirk, then Land) under which the 5-digit code
/// `kreis5` names something known.
std::optional<std::string> SmallestKnownEnclosing(const GeoCatalog& catalog,
                                                  std::string_view kreis5) {
  for (std::size_t len : {5u, 3u, 2u}) {
    std::string key = Pad12(kreis5.substr(0, len));
    // A "Kreis" whose digits 3-5 are zero is a Land-level code (e.g. 901000001); do not
    // pretend it is a Kreis.
    if (len == 5 && !KreisExists(catalog, kreis5)) continue;
    if (len == 3 && kreis5[2] == '0') continue;
    if (catalog.KnownKey(key)) return key;
  }
  return std::nullopt;
}

WarnCellResolution Make(WarnCellResolution::Kind kind, std::vector<std::string> keys,
                        std::string note) {
  WarnCellResolution r;
  r.kind = kind;
  r.keys = std::move(keys);
  r.note = std::move(note);
  return r;
}

}  // namespace

WarnCellResolution ResolveWarnCell(std::string_view raw_id, const GeoCatalog& catalog) {
  using Kind = WarnCellResolution::Kind;
  const std::string_view id = Trim(raw_id);
  const std::string sid(id);
  const WarnCellType type = WarnCellTypeOf(id);
  const WarnCell* cell = catalog.FindWarnCell(id);

  switch (type) {
    case WarnCellType::kMunicipality: {
      // Verified on the data: every type-8 id is "8" + AGS (data/geo/README.md).
      if (const Municipality* m = catalog.FindMunicipalityByAgs(id.substr(1))) {
        return Make(Kind::kExact, {m->ars}, "type 8 -> municipality (8 + AGS)");
      }
      return Make(
          Kind::kUnknown, {},
          "type 8 id whose AGS " + std::string(id.substr(1)) + " is not a known municipality");
    }
    case WarnCellType::kKreis: {
      // Every type-1 id is "1" + Kreis(5) + "000".
      const std::string key = Pad12(id.substr(1, 5));
      if (id.substr(6) == "000" && KreisExists(catalog, id.substr(1, 5))) {
        return Make(Kind::kExact, {key}, "type 1 -> Kreis (1 + Kreis + 000)");
      }
      return Make(Kind::kUnknown, {}, "type 1 id names no known Kreis");
    }
    default:
      break;
  }
  if (!cell) {
    return Make(Kind::kUnknown, {}, "not in the DWD warn-cell list");
  }
  const std::string_view kreis5 = id.substr(1, 5);
  switch (type) {
    case WarnCellType::kCityQuarter: {
      // City quarters: 7 + Kreis(5) + 3 digits. Two ids are 7 + AGS of a municipality; most
      // lie in a kreisfreie Stadt (one municipality); Saarbrücken's quarters lie in a
      // multi-municipality Kreis and are found by name; Berlin's use Kreis 11001..., which is
      // not a Kreis of the 2021 keys, so the smallest enclosing known key is Berlin (Land 11).
      if (const Municipality* m = catalog.FindMunicipalityByAgs(id.substr(1))) {
        return Make(Kind::kExact, {m->ars}, "type 7 -> municipality (7 + AGS)");
      }
      const std::string kreis_key = Pad12(kreis5);
      if (KreisExists(catalog, kreis5)) {
        const auto members = catalog.Expand(kreis_key);
        if (members.size() == 1) {
          return Make(Kind::kExact, {catalog.municipalities()[members[0]].ars},
                      "type 7 -> the one municipality of its Kreis");
        }
        if (const Municipality* m =
                UniqueByName(catalog, kreis_key, PlaceOfCellName(cell->name, true), false)) {
          return Make(Kind::kExact, {m->ars}, "type 7 -> municipality of its Kreis by name");
        }
      }
      if (auto key = SmallestKnownEnclosing(catalog, kreis5)) {
        const auto members = catalog.Expand(*key);
        const Kind kind = members.size() == 1 ? Kind::kExact : Kind::kSuperset;
        return Make(kind, {*key},
                    std::string("type 7 -> smallest enclosing known key ") + *key +
                        (kind == Kind::kExact ? " (one municipality)" : " (superset)"));
      }
      return Make(Kind::kUnknown, {}, "type 7 cell with no derivable enclosing key");
    }
    case WarnCellType::kAggregation: {
      // Type 9: Kreis parts (9 + Kreis + 001/002/...: Binnenland/Küste/Bergland, islands),
      // "Kreis und Stadt X" (9 + Kreis + 999) and Land-level regions (9 + LL + 000 + nnn).
      const bool land_level = kreis5.substr(2) == "000";
      const std::string scope = land_level ? Pad12(kreis5.substr(0, 2)) : Pad12(kreis5);
      if (land_level ? !catalog.KnownKey(scope) : !KreisExists(catalog, kreis5)) {
        return Make(Kind::kUnknown, {}, "type 9 cell whose Kreis/Land is unknown");
      }
      // An island or named place that is exactly one municipality's name ("Insel
      // Helgoland", "Insel Borkum", "Schleswig-Holstein - Helgoland"). Exact match only:
      // "Köln-Niederrheinische Bucht" is a region, not the city of Köln.
      if (const Municipality* m =
              UniqueByName(catalog, scope, PlaceOfCellName(cell->name, false), true)) {
        return Make(Kind::kExact, {m->ars}, "type 9 -> the municipality it names");
      }
      if (!land_level && id.substr(6) == "999") {
        // "Kreis und Stadt X": the Kreis plus the kreisfreie Stadt found through its type-1
        // cell "Stadt X..." in the same Land.
        const auto p = cell->name.find("Stadt ");
        if (p != std::string::npos) {
          const std::string_view city = std::string_view(cell->name).substr(p + 6);
          for (const WarnCell& c : catalog.warn_cells()) {
            if (WarnCellTypeOf(c.id) != WarnCellType::kKreis || c.land != cell->land) continue;
            std::string_view n = c.name;
            if (!n.starts_with("Stadt ")) continue;
            n.remove_prefix(6);
            if (NameMatches(n, city)) {
              return Make(Kind::kExact, {scope, Pad12(std::string_view(c.id).substr(1, 5))},
                          "type 9 'Kreis und Stadt' -> Kreis + kreisfreie Stadt");
            }
          }
        }
        return Make(Kind::kSuperset, {scope},
                    "type 9 'Kreis und Stadt' -> Kreis only (city not found by name)");
      }
      if (land_level) {
        return Make(Kind::kSuperset, {scope},
                    "type 9 Land-level region -> whole Land " + scope + " (superset)");
      }
      return Make(Kind::kSuperset, {scope},
                  "type 9 Kreis part -> whole Kreis " + scope + " (superset; the part has no key)");
    }
    case WarnCellType::kLake:
      return Make(Kind::kNeedsGeometry, {}, "type 2 lake: needs warn-cell geometry");
    case WarnCellType::kCoast:
      return Make(Kind::kNeedsGeometry, {}, "type 5 coast: needs warn-cell geometry");
    case WarnCellType::kSea:
      return Make(Kind::kNoMunicipality, {}, "type 4 sea area: covers no municipality");
    default:
      return Make(Kind::kUnknown, {}, "warn-cell type not resolvable");
  }
}

namespace {

class Resolver {
 public:
  Resolver(const GeoCatalog& catalog, const GeometryIndex* geometry)
      : catalog_(catalog), geometry_(geometry) {}

  void Info(const cap::Info& info) {
    bool has_area_parameter = false;
    for (const cap::ValuePair& p : info.parameters) {
      if (Upper(p.name) == Upper(kNinaAreaParameter)) {
        has_area_parameter = true;
        if (!Seen("P", p.value)) RegionKeys(p.value, "parameter warnVerwaltungsbereiche");
      }
    }
    // DWD warn cells are the authoritative definition of a DWD warning's area; the DWD puts
    // an outline polygon of those cells in another <area> of the same <info> (older messages
    // draw it generalised, ~15 % wider). When every cell of the info resolves, its polygons
    // and circles only cross-check the cells: what they add is noted, not warned
    // (docs/geo.md "Outlines next to warn cells"). Otherwise CAP's union applies.
    const bool has_cells = std::any_of(info.areas.begin(), info.areas.end(), [](const auto& a) {
      return std::any_of(a.geocodes.begin(), a.geocodes.end(), [](const cap::ValuePair& g) {
        const std::string name = Upper(g.name);
        return name == "WARNCELLID" || name == "WARNCELL";
      });
    });
    if (!has_cells || !geometry_) {
      for (const cap::Area& area : info.areas) {
        AreaShapes(area, nullptr);
        for (const cap::ValuePair& g : area.geocodes) Geocode(g);
        AreaWithoutCodes(area, has_area_parameter);
      }
      return;
    }
    const std::size_t hits_before = hits_.size(), unresolved_before = out_.unresolved.size();
    for (const cap::Area& area : info.areas) {
      for (const cap::ValuePair& g : area.geocodes) Geocode(g);
    }
    std::vector<uint32_t> cells(hits_.begin() + static_cast<std::ptrdiff_t>(hits_before),
                                hits_.end());
    std::sort(cells.begin(), cells.end());
    const bool cells_resolved = out_.unresolved.size() == unresolved_before;
    for (const cap::Area& area : info.areas) {
      AreaShapes(area, cells_resolved ? &cells : nullptr);
      AreaWithoutCodes(area, has_area_parameter);
    }
  }

  AreaResolution Finish() {
    std::sort(hits_.begin(), hits_.end());
    hits_.erase(std::unique(hits_.begin(), hits_.end()), hits_.end());
    out_.municipalities.reserve(hits_.size());
    for (uint32_t i : hits_) out_.municipalities.push_back(catalog_.municipalities()[i].ars);
    std::vector<std::string> notes;
    for (const auto& [rule, n] : counts_) {
      notes.push_back(rule + ": " + std::to_string(n) + " code(s)");
    }
    notes.insert(notes.end(), out_.notes.begin(), out_.notes.end());
    out_.notes = std::move(notes);
    return std::move(out_);
  }

 private:
  /// The polygons, circles, WKT and EXCLUDE_POLYGON of one area; without a geometry index
  /// each is NO_GEOMETRY_SUPPORT.
  void AreaShapes(const cap::Area& area, const std::vector<uint32_t>* authoritative) {
    if (geometry_) {
      Shapes(area, authoritative);
      return;
    }
    for (const std::string& poly : area.polygons) {
      if (!Seen("G", poly)) {
        Unresolved("NO_GEOMETRY_SUPPORT",
                   "polygon not resolved: geometric resolution is not available (area '" +
                       area.desc + "')");
      }
    }
    for (const std::string& circle : area.circles) {
      if (!Seen("C", circle)) {
        Unresolved("NO_GEOMETRY_SUPPORT", "circle '" + std::string(Trim(circle)) +
                                              "' not resolved: geometric resolution is not "
                                              "available");
      }
    }
  }

  void AreaWithoutCodes(const cap::Area& area, bool info_has_area_parameter) {
    if (area.polygons.empty() && area.circles.empty() && area.geocodes.empty() &&
        !info_has_area_parameter) {
      EmptyArea(area);
    }
  }

  /// An area with only an areaDesc (e.g. NINA's DWD JSON, whose area is in the undocumented
  /// ZGEM parameter). If the description is exactly the name of DWD municipality/Kreis warn
  /// cells that all mean the same municipalities ("Stadt Wernigerode"), use them, with a
  /// warning; otherwise report the area as unresolved.
  void EmptyArea(const cap::Area& area) {
    const std::string_view desc = Trim(area.desc);
    if (Seen("E", desc)) return;
    std::vector<uint32_t> found;
    bool ambiguous = false, any = false;
    for (const WarnCell& c : catalog_.warn_cells()) {
      const WarnCellType t = WarnCellTypeOf(c.id);
      if ((t != WarnCellType::kMunicipality && t != WarnCellType::kKreis) || c.name != desc) {
        continue;
      }
      const WarnCellResolution r = ResolveWarnCell(c.id, catalog_);
      std::vector<uint32_t> members;
      for (const std::string& key : r.keys) {
        const auto e = catalog_.Expand(key);
        members.insert(members.end(), e.begin(), e.end());
      }
      std::sort(members.begin(), members.end());
      if (any && members != found) ambiguous = true;
      found = std::move(members);
      any = true;
    }
    if (any && !ambiguous && !found.empty()) {
      hits_.insert(hits_.end(), found.begin(), found.end());
      out_.warnings.push_back(
          cap::Issue{"AREA_RESOLVED_BY_NAME",
                     "area '" + std::string(desc) +
                         "' has no polygon, circle or geocode; resolved by its DWD warn-cell name",
                     false});
      return;
    }
    Unresolved(ambiguous ? "AMBIGUOUS_AREA_NAME" : "NO_AREA_CODES",
               "area '" + std::string(desc) + "' has no polygon, circle or geocode" +
                   (ambiguous ? " and its name matches several DWD warn cells" : ""));
  }

  /// Polygons, circles, WKT and EXCLUDE_POLYGON of one area, intersected as one shape:
  /// (union of polygons, circles, WKT) minus (union of exclude rings).
  /// With `authoritative` (the sorted municipalities of the info's warn cells), the shape only
  /// cross-checks them: what it adds beyond them is noted, not warned.
  void Shapes(const cap::Area& area, const std::vector<uint32_t>* authoritative) {
    // The same area repeated per language block is resolved (and warned about) once.
    std::string signature;
    auto add = [&signature](char kind, std::string_view name, std::string_view text) {
      signature.push_back(kind);
      signature.append(name);
      signature.append(Trim(text));
      signature.push_back('\x1f');
    };
    for (const std::string& text : area.polygons) add('P', "", text);
    for (const std::string& text : area.circles) add('C', "", text);
    for (const cap::ValuePair& g : area.geocodes) {
      const std::string name = Upper(g.name);
      if (name == "WKT" || name == "EXCLUDE_POLYGON") add('G', name, g.value);
    }
    if (signature.empty() || Seen("S", signature)) return;

    AreaShape shape;
    shape.label = area.desc;
    for (const std::string& text : area.polygons) {
      auto r = ParseCapPolygon(text);
      if (r.error && !r.degenerate_points.empty()) {
        // A "polygon" of one or two distinct points has no area, but its points still say
        // where the warning is: locate them rather than drop the shape.
        out_.warnings.push_back(cap::Issue{"POLYGON_DEGENERATE",
                                           r.error->message + "; its " +
                                               std::to_string(r.degenerate_points.size()) +
                                               " point(s) are located instead",
                                           false});
        shape.points.insert(shape.points.end(), r.degenerate_points.begin(),
                            r.degenerate_points.end());
      } else if (r.error) {
        Unresolved(r.error->code, "polygon: " + r.error->message);
      } else {
        Collect(r.warnings);
        shape.polygons.push_back(std::move(*r.value));
      }
    }
    for (const std::string& text : area.circles) {
      auto c = ParseCapCircle(text);
      Collect(c.warnings);
      if (c.error) {
        Unresolved(c.error->code, c.error->message);
      } else if (c.value->radius_km == 0) {
        shape.points.push_back(c.value->center);
      } else {
        shape.polygons.push_back(CircleToRing(*c.value));
      }
    }
    for (const cap::ValuePair& g : area.geocodes) {
      const std::string name = Upper(g.name);
      if (name == "WKT") {
        shape.wkt.emplace_back(Trim(g.value));
      } else if (name == "EXCLUDE_POLYGON") {
        if (auto r = ParsePolygonText(g.value, "EXCLUDE_POLYGON")) {
          shape.exclude.push_back(std::move(*r));
        }
      }
    }
    if (shape.empty()) {
      if (!shape.exclude.empty()) {
        out_.notes.push_back("EXCLUDE_POLYGON without polygon/circle in area '" + area.desc +
                             "' ignored");
      }
      return;
    }
    GeometryHit hit = geometry_->Intersect(shape);
    if (authoritative) {  // sorted
      std::vector<uint32_t> beyond;
      std::set_difference(hit.municipalities.begin(), hit.municipalities.end(),
                          authoritative->begin(), authoritative->end(), std::back_inserter(beyond));
      if (!beyond.empty()) {
        std::string names;
        for (std::size_t k = 0; k < beyond.size() && k < 5; ++k) {
          names += (k ? ", " : "") + catalog_.municipalities()[beyond[k]].name;
        }
        out_.notes.push_back(
            "outline of area '" + area.desc + "' reaches " + std::to_string(beyond.size()) +
            " municipalities beyond the warn cells of its info (" + names +
            (beyond.size() > 5 ? ", ..." : "") + "): not warned, the warn cells are authoritative");
      }
    } else {
      hits_.insert(hits_.end(), hit.municipalities.begin(), hit.municipalities.end());
    }
    Collect(hit.warnings);
    for (cap::Issue& e : hit.errors) out_.unresolved.push_back(std::move(e));
    ++counts_[std::string("geometry (polygon/circle/WKT") +
              (shape.exclude.empty() ? "" : " minus EXCLUDE_POLYGON") +
              ") -> intersecting municipalities"];
  }

  std::optional<Ring> ParsePolygonText(const std::string& text, std::string_view what) {
    auto r = ParseCapPolygon(text);
    if (r.error) {
      Unresolved(r.error->code, std::string(what) + ": " + r.error->message);
      return std::nullopt;
    }
    Collect(r.warnings);
    return std::move(r.value);
  }

  void Collect(std::vector<cap::Issue>& warnings) {
    for (cap::Issue& w : warnings) out_.warnings.push_back(std::move(w));
  }

  void Geocode(const cap::ValuePair& g) {
    const std::string name = Upper(g.name);
    if (Seen(name, g.value)) return;  // the same code repeated in every language block
    if (name == "SHN" || name == "ARS") {
      RegionKeys(g.value, "geocode " + name);
    } else if (name == "AGS") {
      for (std::string_view v : SplitList(g.value)) Ags(v, "geocode AGS");
    } else if (name == "WARNCELLID" || name == "WARNCELL") {
      for (std::string_view v : SplitList(g.value)) WarnCellCode(v, name);
    } else if (name == "WKT" || name == "EXCLUDE_POLYGON") {
      if (geometry_) return;  // handled with the area's shapes
      Unresolved("NO_GEOMETRY_SUPPORT",
                 "geocode " + name + " not resolved: geometric resolution is not available");
    } else if (name == "AREAID" && Trim(g.value) == "0") {
      ++counts_["geocode AreaId=0 (NINA placeholder) ignored"];
    } else {
      Unresolved("UNSUPPORTED_GEOCODE", "geocode system '" + std::string(Trim(g.name)) +
                                            "' (value '" + std::string(Trim(g.value)) +
                                            "') is not a German region code");
    }
  }

  void RegionKeys(std::string_view list, const std::string& source) {
    for (std::string_view v : SplitList(list)) {
      if (v.size() == 8 && IsDigits(v)) {
        Ags(v, source + " (8 digits read as AGS)");
        continue;
      }
      const auto key = NormaliseKey(v);
      if (!key) {
        Unresolved("INVALID_REGION_KEY",
                   source + " value '" + std::string(v) + "' is not a 2/3/5/9/12-digit region key");
        continue;
      }
      const auto members = catalog_.Expand(*key);
      if (members.empty()) {
        Unresolved("UNKNOWN_REGION_KEY",
                   source + " key " + *key + " names no known municipality, Kreis or Land");
        continue;
      }
      hits_.insert(hits_.end(), members.begin(), members.end());
      ++counts_[source + " -> " + LevelName(LevelOf(*key))];
    }
  }

  void Ags(std::string_view v, const std::string& source) {
    if (const Municipality* m = catalog_.FindMunicipalityByAgs(v)) {
      hits_.push_back(catalog_.IndexOf(*m));
      ++counts_[source + " -> municipality"];
    } else {
      Unresolved("UNKNOWN_REGION_KEY",
                 source + " value " + std::string(v) + " is not the AGS of a known municipality");
    }
  }

  void WarnCellCode(std::string_view id, const std::string& name) {
    using Kind = WarnCellResolution::Kind;
    const WarnCellResolution r = ResolveWarnCell(id, catalog_);
    const std::string label = name + " " + std::string(id);
    switch (r.kind) {
      case Kind::kExact:
      case Kind::kSuperset: {
        for (const std::string& key : r.keys) {
          const auto members = catalog_.Expand(key);
          hits_.insert(hits_.end(), members.begin(), members.end());
        }
        if (r.kind == Kind::kExact &&
            (r.note.starts_with("type 8") || r.note.starts_with("type 1"))) {
          ++counts_[name + " " + r.note];
        } else {
          out_.notes.push_back(label + ": " + r.note);
        }
        break;
      }
      case Kind::kNoMunicipality:
        out_.notes.push_back(label + ": " + r.note);
        break;
      case Kind::kNeedsGeometry: {
        std::optional<GeometryHit> hit;
        if (geometry_) hit = geometry_->WarnCellMunicipalities(id);
        if (!hit) {
          Unresolved("NO_GEOMETRY_SUPPORT", label + ": " + r.note);
          break;
        }
        hits_.insert(hits_.end(), hit->municipalities.begin(), hit->municipalities.end());
        Collect(hit->warnings);
        out_.notes.push_back(label + ": warn-cell geometry -> " +
                             std::to_string(hit->municipalities.size()) +
                             " intersecting municipalities");
        break;
      }
      case Kind::kUnknown:
        Unresolved("UNKNOWN_WARNCELL", label + ": " + r.note);
        break;
    }
  }

  static std::string LevelName(KeyLevel level) {
    switch (level) {
      case KeyLevel::kLand:
        return "Land";
      case KeyLevel::kRegierungsbezirk:
        return "Regierungsbezirk";
      case KeyLevel::kKreis:
        return "Kreis";
      case KeyLevel::kGemeindeverband:
        return "Gemeindeverband";
      case KeyLevel::kGemeinde:
        return "Gemeinde";
    }
    return "?";
  }

  bool Seen(std::string_view kind, std::string_view value) {
    std::string k(kind);
    k.push_back('\x1f');
    k.append(Trim(value));
    return !seen_.insert(std::move(k)).second;
  }

  void Unresolved(std::string code, std::string message) {
    out_.unresolved.push_back(cap::Issue{std::move(code), std::move(message), false});
  }

  const GeoCatalog& catalog_;
  const GeometryIndex* geometry_;
  std::vector<uint32_t> hits_;
  std::unordered_set<std::string> seen_;
  std::map<std::string, int> counts_;
  AreaResolution out_;
};

}  // namespace

AreaResolution ResolveArea(const cap::Alert& alert, const GeoCatalog& catalog) {
  return ResolveArea(alert, catalog, nullptr);
}

AreaResolution ResolveArea(const cap::Alert& alert, const GeoCatalog& catalog,
                           const GeometryIndex* geometry) {
  Resolver r(catalog, geometry);
  for (const cap::Info& info : alert.infos) r.Info(info);
  return r.Finish();
}

}  // namespace fanout::domain::geo
