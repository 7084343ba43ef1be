#include "domain/cap/validate.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <set>

namespace fanout::domain::cap {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on runs of XML whitespace.
std::vector<std::string_view> Tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

size_t CountTokens(std::string_view s) {
  size_t n = 0;
  bool in_token = false;
  for (char c : s) {
    const bool space = IsSpace(c);
    n += !space && !in_token;
    in_token = !space;
  }
  return n;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// A decimal number as CAP geometry uses it: optional sign, digits, optional fraction.
// Rejects exponents, "inf", "nan" and hex, which std::from_chars would accept.
std::optional<double> ParseDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') i = 1;
  bool digits = false, dot = false;
  for (size_t k = i; k < s.size(); ++k) {
    if (s[k] >= '0' && s[k] <= '9') {
      digits = true;
    } else if (s[k] == '.' && !dot) {
      dot = true;
    } else {
      return std::nullopt;
    }
  }
  if (!digits) return std::nullopt;
  std::string_view num = s[0] == '+' ? s.substr(1) : s;
  double v = 0;
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || ptr != num.data() + num.size()) return std::nullopt;
  return v;
}

std::optional<LatLon> ParsePair(std::string_view token) {
  size_t comma = token.find(',');
  if (comma == std::string_view::npos || token.find(',', comma + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  auto a = ParseDecimal(token.substr(0, comma));
  auto b = ParseDecimal(token.substr(comma + 1));
  if (!a || !b) return std::nullopt;
  return LatLon{*a, *b};
}

bool InRange(const LatLon& p) {
  return p.lat >= -90.0 && p.lat <= 90.0 && p.lon >= -180.0 && p.lon <= 180.0;
}

}  // namespace

CoordinateRepair RepairCoordinates(std::vector<LatLon>& points) {
  if (std::all_of(points.begin(), points.end(), InRange)) return CoordinateRepair::kNone;
  auto repair = CoordinateRepair::kOutOfRange;
  const bool lat_beyond = std::any_of(points.begin(), points.end(),
                                      [](const LatLon& p) { return std::abs(p.lat) > 90; });
  const bool lon_fits_lat = std::all_of(points.begin(), points.end(),
                                        [](const LatLon& p) { return std::abs(p.lon) <= 90; });
  if (lat_beyond && lon_fits_lat) {
    for (LatLon& p : points) std::swap(p.lat, p.lon);
    repair = CoordinateRepair::kSwapped;
  }
  if (std::any_of(points.begin(), points.end(),
                  [](const LatLon& p) { return std::abs(p.lat) > 90; })) {
    return CoordinateRepair::kOutOfRange;
  }
  bool wrapped = false;
  for (LatLon& p : points) {
    if (std::abs(p.lon) <= 180) continue;
    if (std::abs(p.lon) >= 540) return CoordinateRepair::kOutOfRange;
    p.lon += p.lon > 0 ? -360 : 360;
    wrapped = true;
  }
  if (repair == CoordinateRepair::kSwapped) return repair;
  return wrapped ? CoordinateRepair::kWrapped : CoordinateRepair::kOutOfRange;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

constexpr std::array<std::string_view, 5> kStatus{"Actual", "Exercise", "System", "Test", "Draft"};
constexpr std::array<std::string_view, 5> kMsgType{"Alert", "Update", "Cancel", "Ack", "Error"};
constexpr std::array<std::string_view, 3> kScope{"Public", "Restricted", "Private"};
constexpr std::array<std::string_view, 12> kCategory{"Geo",       "Met",   "Safety", "Security",
                                                     "Rescue",    "Fire",  "Health", "Env",
                                                     "Transport", "Infra", "CBRNE",  "Other"};
constexpr std::array<std::string_view, 9> kResponseType{
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"};
constexpr std::array<std::string_view, 5> kUrgency{"Immediate", "Expected", "Future", "Past",
                                                   "Unknown"};
constexpr std::array<std::string_view, 5> kSeverity{"Extreme", "Severe", "Moderate", "Minor",
                                                    "Unknown"};
constexpr std::array<std::string_view, 5> kCertainty{"Observed", "Likely", "Possible", "Unlikely",
                                                     "Unknown"};

template <size_t N>
bool In(const std::array<std::string_view, N>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}
template <size_t N>
bool InIgnoreCase(const std::array<std::string_view, N>& values, std::string_view v) {
  return std::any_of(values.begin(), values.end(),
                     [&](std::string_view x) { return IEquals(x, v); });
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "'";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

// xs:language: [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*
bool IsLanguageTag(std::string_view s) {
  if (s.empty()) return false;
  size_t part = 0, len = 0;
  for (char c : s) {
    if (c == '-') {
      if (len == 0) return false;
      ++part;
      len = 0;
      continue;
    }
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (digit && part > 0))) return false;
    if (++len > 8) return false;
  }
  return len > 0;
}

bool HasHtmlTag(std::string_view s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] != '<') continue;
    char c = s[i + 1];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '!') return true;
  }
  return false;
}

bool HasHtmlEntity(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') continue;
    size_t j = i + 1;
    if (j < s.size() && s[j] == '#') ++j;
    size_t start = j;
    while (j < s.size() && j - start < 10 &&
           ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
            (s[j] >= '0' && s[j] <= '9'))) {
      ++j;
    }
    if (j > start && j < s.size() && s[j] == ';') return true;
  }
  return false;
}

bool IsAbsoluteUri(std::string_view s) {
  s = Trim(s);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0])) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!(alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) return false;
  }
  return true;
}

class Checker {
 public:
  explicit Checker(const Alert& a) : a_(a) {}

  Findings Run() {
    CheckAlertHeader();
    CheckReferences();
    CheckScope();
    for (size_t i = 0; i < a_.infos.size(); ++i) CheckInfo(a_.infos[i], i);
    if (a_.infos.empty() && (a_.msg_type == "Alert" || a_.msg_type == "Update")) {
      f_.Warn("NO_INFO", "msgType " + a_.msg_type + " without any <info> block");
    }
    if (!html_tags_.empty()) {
      f_.Warn("TEXT_CONTAINS_HTML_TAGS", "HTML tags in " + Join(html_tags_));
    }
    if (!html_entities_.empty()) {
      f_.Warn("TEXT_CONTAINS_HTML_ENTITIES", "HTML entities in " + Join(html_entities_));
    }
    return std::move(f_);
  }

 private:
  static std::string Join(const std::vector<std::string>& where) {
    std::string out;
    for (size_t i = 0; i < where.size() && i < 5; ++i) {
      if (i) out += ", ";
      out += where[i];
    }
    if (where.size() > 5) out += " and " + std::to_string(where.size() - 5) + " more";
    return out;
  }

  void CheckIdChars(std::string_view value, const char* element, const char* code) {
    for (char c : value) {
      if (c == ' ' || c == ',' || c == '<' || c == '&' || c == '\t' || c == '\n' || c == '\r') {
        f_.Error(code,
                 std::string(element) + " " + Quote(value) +
                     " contains a space, comma, '<' or '&' (CAP 1.2 §3.2.1)",
                 false);
        return;
      }
    }
  }

  void CheckAlertHeader() {
    if (a_.identifier.empty()) {
      f_.Error("MISSING_REQUIRED_ELEMENT", "alert/identifier is missing or empty", true);
    } else {
      CheckIdChars(a_.identifier, "identifier", "INVALID_IDENTIFIER");
    }
    if (a_.sender.empty()) {
      f_.Error("MISSING_REQUIRED_ELEMENT", "alert/sender is missing or empty", true);
    } else {
      CheckIdChars(a_.sender, "sender", "INVALID_SENDER");
    }
    if (a_.sent.empty()) {
      f_.Error("MISSING_REQUIRED_ELEMENT", "alert/sent is missing or empty", true);
    } else {
      sent_ = CheckDate(a_.sent, "alert/sent");
    }
    CheckHeaderEnum(a_.status, "status", kStatus);
    CheckHeaderEnum(a_.msg_type, "msgType", kMsgType);
    CheckHeaderEnum(a_.scope, "scope", kScope);
  }

  // Header enums decide what the alert *is*: an unknown value is fatal; a case or whitespace
  // variant of a known value is unambiguous and only an error.
  template <size_t N>
  void CheckHeaderEnum(const std::string& value, const char* element,
                       const std::array<std::string_view, N>& allowed) {
    if (value.empty()) {
      f_.Error("MISSING_REQUIRED_ELEMENT", std::string("alert/") + element + " is missing or empty",
               true);
      return;
    }
    if (In(allowed, value)) return;
    bool near = InIgnoreCase(allowed, Trim(value));
    f_.Error("INVALID_ENUM_VALUE",
             std::string("alert/") + element + " " + Quote(value) + " is not a CAP 1.2 value",
             !near);
  }

  template <size_t N>
  void CheckInfoEnum(const std::string& value, const std::string& where,
                     const std::array<std::string_view, N>& allowed) {
    if (value.empty()) {
      f_.Error("MISSING_REQUIRED_ELEMENT", where + " is missing or empty", false);
    } else if (!In(allowed, value)) {
      f_.Error("INVALID_ENUM_VALUE", where + " " + Quote(value) + " is not a CAP 1.2 value", false);
    }
  }

  // Returns the epoch seconds when the date is usable.
  std::optional<int64_t> CheckDate(const std::string& text, const std::string& where) {
    bool strict = false;
    auto t = ParseCapTime(text, &strict);
    if (!t) {
      f_.Error("INVALID_DATE", where + " " + Quote(text) + " is not a date-time", true);
    } else if (!strict) {
      f_.Error("INVALID_DATE",
               where + " " + Quote(text) +
                   " is not YYYY-MM-DDThh:mm:ss+hh:mm (no 'Z', no fractional seconds)",
               false);
    }
    return t;
  }

  void CheckReferences() {
    const bool must = a_.msg_type == "Update" || a_.msg_type == "Cancel";
    if (!a_.references_raw) {
      if (must) {
        f_.Error("UPDATE_OR_CANCEL_MUST_REFERENCE",
                 "msgType " + a_.msg_type + " without <references>: nothing to update or cancel",
                 true);
      }
      return;
    }
    ParsedReferences parsed = ParseReferences(*a_.references_raw);
    size_t usable = 0;
    bool circular = false;
    for (const Reference& r : parsed.references) {
      if (r.sender == a_.sender && r.identifier == a_.identifier) {
        circular = true;
        continue;
      }
      ++usable;
      if (sent_) {
        auto rt = ParseCapTime(r.sent);
        if (rt && *rt > *sent_) {
          f_.Warn("POSTDATED_REFERENCE", "reference to " + r.identifier + " sent " + r.sent +
                                             ", after this alert's sent " + a_.sent);
        }
      }
    }
    const bool fatal = must && usable == 0;
    if (circular) {
      // Real feeds do this (the Macao weather service's Updates name themselves). The content
      // is a usable warning: the self-reference is ignored when folding, and an Update or
      // Cancel left without another reference is processed on its own.
      f_.Warn("CIRCULAR_REFERENCE",
              "references contain this alert itself (" + a_.identifier + "); ignored" +
                  (must && usable == 0 ? ", processed as a message of its own" : ""));
    }
    if (Trim(*a_.references_raw).empty()) {
      f_.Error("INVALID_REFERENCES", "<references> is empty", must);
    } else if (!parsed.malformed.empty()) {
      f_.Error("INVALID_REFERENCES",
               std::to_string(parsed.malformed.size()) +
                   " reference(s) are not sender,identifier,sent triplets, first " +
                   Quote(parsed.malformed.front()),
               fatal && !circular);
    }
  }

  void CheckScope() {
    // An empty <restriction/> or <addresses/> (Canadian feeds) counts as absent.
    const bool has_restriction = a_.restriction && !Trim(*a_.restriction).empty();
    const bool has_addresses = a_.addresses && !Trim(*a_.addresses).empty();
    if (a_.scope == "Restricted" && !has_restriction) {
      f_.Error("RESTRICTION_SCOPE_MISMATCH", "scope Restricted requires <restriction>", false);
    } else if (a_.scope != "Restricted" && has_restriction) {
      f_.Error("RESTRICTION_SCOPE_MISMATCH",
               "<restriction> is only used with scope Restricted (scope is " + a_.scope + ")",
               false);
    }
    if (a_.scope == "Private" && !has_addresses) {
      f_.Error("ADDRESSES_SCOPE_MISMATCH", "scope Private requires <addresses>", false);
    }
  }

  void CheckText(const std::optional<std::string>& text, const std::string& where) {
    if (!text) return;
    if (HasHtmlTag(*text)) html_tags_.push_back(where);
    if (HasHtmlEntity(*text)) html_entities_.push_back(where);
  }

  void CheckInfo(const Info& info, size_t index) {
    const std::string p = "info[" + std::to_string(index) + "]";
    if (!info.language.empty() && !IsLanguageTag(info.language)) {
      f_.Error("INVALID_LANGUAGE", p + "/language " + Quote(info.language) + " is not RFC 3066",
               false);
    }
    if (info.categories.empty()) {
      f_.Error("MISSING_REQUIRED_ELEMENT", p + "/category is missing", false);
    }
    for (const std::string& c : info.categories) CheckInfoEnum(c, p + "/category", kCategory);
    if (Trim(info.event).empty()) {
      f_.Error("MISSING_REQUIRED_ELEMENT", p + "/event is missing or empty", false);
    }
    for (const std::string& r : info.response_types) {
      CheckInfoEnum(r, p + "/responseType", kResponseType);
    }
    CheckInfoEnum(info.urgency, p + "/urgency", kUrgency);
    CheckInfoEnum(info.severity, p + "/severity", kSeverity);
    if (info.certainty == "Very Likely") {
      f_.Error("CERTAINTY_VERY_LIKELY_DEPRECATED",
               p + "/certainty 'Very Likely' is CAP 1.0; use 'Likely'", false);
    } else {
      CheckInfoEnum(info.certainty, p + "/certainty", kCertainty);
    }
    std::optional<int64_t> effective = sent_;
    if (info.effective) {
      if (auto t = CheckDate(*info.effective, p + "/effective")) effective = t;
    }
    if (info.onset) CheckDate(*info.onset, p + "/onset");
    if (info.expires) {
      auto t = CheckDate(*info.expires, p + "/expires");
      if (t && effective && *t <= *effective) {
        f_.Warn("EXPIRES_NOT_AFTER_EFFECTIVE",
                p + "/expires " + *info.expires + " is not after effective/sent");
      }
    }
    if (info.web && !IsAbsoluteUri(*info.web)) {
      f_.Error("INVALID_WEB", p + "/web " + Quote(*info.web) + " is not an absolute URI", false);
    }
    CheckText(info.headline, p + "/headline");
    CheckText(info.description, p + "/description");
    CheckText(info.instruction, p + "/instruction");
    for (size_t r = 0; r < info.resources.size(); ++r) {
      const Resource& res = info.resources[r];
      const std::string rp = p + "/resource[" + std::to_string(r) + "]";
      if (Trim(res.desc).empty()) {
        f_.Error("MISSING_REQUIRED_ELEMENT", rp + "/resourceDesc is missing", false);
      }
      if (Trim(res.mime_type).empty()) {
        f_.Error("MISSING_REQUIRED_ELEMENT", rp + "/mimeType is missing", false);
      }
      if (res.size) {
        std::string_view s = Trim(*res.size);
        if (s.empty() ||
            !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          f_.Error("INVALID_RESOURCE_SIZE", rp + "/size " + Quote(*res.size) + " is not an integer",
                   false);
        }
      }
      if (res.uri && !IsAbsoluteUri(*res.uri) && !res.has_deref_uri) {
        f_.Error("RELATIVE_URI_MISSING_DEREF_URI", rp + "/uri is relative and there is no derefUri",
                 false);
      }
    }
    for (size_t k = 0; k < info.areas.size(); ++k) {
      CheckArea(info.areas[k], p + "/area[" + std::to_string(k) + "]");
    }
  }

  void CheckArea(const Area& area, const std::string& p) {
    if (Trim(area.desc).empty()) {
      f_.Error("MISSING_REQUIRED_ELEMENT", p + "/areaDesc is missing or empty", false);
    }
    for (size_t i = 0; i < area.polygons.size(); ++i) {
      const std::string where = p + "/polygon[" + std::to_string(i) + "]";
      bool parentheses = false;
      auto pts = ParseCoordinatePairs(area.polygons[i], &parentheses);
      if (!pts) {
        f_.Error("INVALID_POLYGON", where + " is not a list of lat,lon pairs", true);
        continue;
      }
      if (parentheses) {
        f_.Error("INVALID_POLYGON", where + " contains stray '(' or ')' (ignored)", false);
      }
      auto bad =
          std::find_if(pts->begin(), pts->end(), [](const LatLon& x) { return !InRange(x); });
      const LatLon first_bad = bad != pts->end() ? *bad : LatLon{};
      switch (RepairCoordinates(*pts)) {
        case CoordinateRepair::kNone:
          break;
        case CoordinateRepair::kSwapped:
          f_.Warn("COORDINATES_SWAPPED",
                  where + " is written lon,lat (a latitude of " + std::to_string(first_bad.lat) +
                      " is impossible, every longitude fits a latitude); read as lat,lon");
          break;
        case CoordinateRepair::kWrapped:
          f_.Warn("LONGITUDE_WRAPPED", where + " has a longitude beyond ±180 (" +
                                           std::to_string(first_bad.lon) + "); wrapped");
          break;
        case CoordinateRepair::kOutOfRange:
          f_.Error("INVALID_POLYGON",
                   where + " has a point out of range (" + std::to_string(first_bad.lat) + "," +
                       std::to_string(first_bad.lon) + "); lat must be within ±90, lon within ±180",
                   true);
          continue;
      }
      if (pts->size() < 4) {
        f_.Error("INVALID_POLYGON",
                 where + " has " + std::to_string(pts->size()) + " pairs; at least 4 required",
                 false);
      } else if (!(pts->front() == pts->back())) {
        f_.Error("INVALID_POLYGON", where + " is not closed (first pair != last pair)", false);
      }
    }
    for (size_t i = 0; i < area.circles.size(); ++i) {
      const std::string where = p + "/circle[" + std::to_string(i) + "]";
      auto c = ParseCircle(area.circles[i]);
      std::vector<LatLon> centre;
      if (c) centre.push_back(c->center);
      const CoordinateRepair repair = c ? RepairCoordinates(centre) : CoordinateRepair::kOutOfRange;
      if (repair == CoordinateRepair::kSwapped) {
        f_.Warn("COORDINATES_SWAPPED",
                where + " " + Quote(area.circles[i]) + " is written lon,lat; read as lat,lon");
      } else if (repair == CoordinateRepair::kWrapped) {
        f_.Warn("LONGITUDE_WRAPPED",
                where + " " + Quote(area.circles[i]) + " has a longitude beyond ±180; wrapped");
      }
      if (!c || repair == CoordinateRepair::kOutOfRange || c->radius_km < 0) {
        f_.Error("INVALID_CIRCLE",
                 where + " " + Quote(area.circles[i]) + " is not 'lat,lon radius_km'", true);
      } else if (c->radius_km == 0) {
        f_.Warn("NONZERO_CIRCLE_RADIUS_RECOMMENDED", where + " has radius 0 (a point)");
      }
    }
    size_t empty_geocodes = 0;
    for (const ValuePair& g : area.geocodes) {
      if (Trim(g.name).empty() || Trim(g.value).empty()) ++empty_geocodes;
    }
    if (empty_geocodes) {
      f_.Warn("EMPTY_GEOCODE_FIELD", p + " has " + std::to_string(empty_geocodes) +
                                         " geocode(s) with empty valueName/value");
    }
    std::optional<double> alt, ceil;
    if (area.altitude) {
      alt = ParseDecimal(Trim(*area.altitude));
      if (!alt) f_.Error("INVALID_AREA", p + "/altitude is not a number", false);
    }
    if (area.ceiling) {
      ceil = ParseDecimal(Trim(*area.ceiling));
      if (!ceil) f_.Error("INVALID_AREA", p + "/ceiling is not a number", false);
      if (!area.altitude) {
        f_.Error("INVALID_AREA", p + "/ceiling given without altitude", false);
      }
    }
    if (alt && ceil && *alt > *ceil) {
      f_.Error("INVALID_ALTITUDE_CEILING_RANGE", p + " altitude is above ceiling", false);
    }
  }

  const Alert& a_;
  Findings f_;
  std::optional<int64_t> sent_;
  std::vector<std::string> html_tags_;
  std::vector<std::string> html_entities_;
};

}  // namespace

void Findings::Append(Findings&& other) {
  for (Issue& i : other.errors) errors.push_back(std::move(i));
  for (Issue& i : other.warnings) warnings.push_back(std::move(i));
}

std::optional<int64_t> ParseCapTime(std::string_view text, bool* strict) {
  if (strict) *strict = false;
  std::string_view raw = text;
  text = Trim(text);
  int year, month, day, hour, minute, second;
  if (!Digits(text, 0, 4, &year) || text.size() < 19 || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text[7] != '-' || !Digits(text, 8, 2, &day) ||
      text[10] != 'T' || !Digits(text, 11, 2, &hour) || text[13] != ':' ||
      !Digits(text, 14, 2, &minute) || text[16] != ':' || !Digits(text, 17, 2, &second)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return std::nullopt;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int mdays = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day > mdays || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  size_t i = 19;
  bool fraction = false;
  if (i < text.size() && text[i] == '.') {
    size_t start = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return std::nullopt;
    fraction = true;
  }
  int offset_min = 0;
  bool zulu = false;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    zulu = true;
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh, om;
    if (!Digits(text, i + 1, 2, &oh) || i + 3 >= text.size() || text[i + 3] != ':' ||
        !Digits(text, i + 4, 2, &om) || oh > 14 || om > 59) {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (text[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;  // no zone: local time of an unknown place is not a point in time
  }
  if (i != text.size()) return std::nullopt;
  if (strict) *strict = !zulu && !fraction && raw.size() == text.size();
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
}

std::optional<std::vector<LatLon>> ParseCoordinatePairs(std::string_view text,
                                                        bool* had_parentheses) {
  if (had_parentheses) *had_parentheses = false;
  std::vector<LatLon> out;
  std::string cleaned;
  for (std::string_view tok : Tokens(text)) {
    if (tok.find_first_of("()") != std::string_view::npos) {
      // GDACS writes `8.7),-68.1` / `8.7,(-68.1`: stray parentheses around numbers.
      if (had_parentheses) *had_parentheses = true;
      cleaned.clear();
      for (char c : tok) {
        if (c != '(' && c != ')') cleaned += c;
      }
      tok = cleaned;
    }
    auto p = ParsePair(tok);
    if (!p) return std::nullopt;
    out.push_back(*p);
  }
  return out;
}

std::optional<Circle> ParseCircle(std::string_view text) {
  auto toks = Tokens(text);
  if (toks.size() != 2) return std::nullopt;
  auto c = ParsePair(toks[0]);
  auto r = ParseDecimal(toks[1]);
  if (!c || !r) return std::nullopt;
  return Circle{*c, *r};
}

ParsedReferences ParseReferences(std::string_view text) {
  ParsedReferences out;
  for (std::string_view tok : Tokens(text)) {
    size_t c1 = tok.find(',');
    size_t c2 = c1 == std::string_view::npos ? c1 : tok.find(',', c1 + 1);
    bool ok = c2 != std::string_view::npos && tok.find(',', c2 + 1) == std::string_view::npos &&
              c1 > 0 && c2 > c1 + 1 && c2 + 1 < tok.size();
    if (ok) {
      Reference r{std::string(tok.substr(0, c1)), std::string(tok.substr(c1 + 1, c2 - c1 - 1)),
                  std::string(tok.substr(c2 + 1))};
      if (ParseCapTime(r.sent)) {
        out.references.push_back(std::move(r));
        continue;
      }
    }
    out.malformed.emplace_back(tok);
  }
  return out;
}

Findings Validate(const Alert& alert) { return Checker(alert).Run(); }

void CheckComplexityLimits(const Alert& alert, const DecodeLimits& limits, Findings& findings) {
  size_t areas = 0, polygons = 0, geocodes = 0;
  std::set<std::string_view> languages;
  for (const Info& info : alert.infos) {
    languages.insert(info.language);
    areas += info.areas.size();
    for (const Area& area : info.areas) {
      polygons += area.polygons.size() + area.circles.size();
      geocodes += area.geocodes.size();
    }
  }
  auto over = [&](const char* code, size_t n, size_t limit, const std::string& what) {
    if (n <= limit) return false;
    findings.Error(
        code,
        "the alert has " + std::to_string(n) + " " + what + "; limit " + std::to_string(limit),
        true);
    return true;
  };
  if (over("TOO_MANY_INFOS", alert.infos.size(), limits.max_infos, "<info> blocks") ||
      over("TOO_MANY_LANGUAGES", languages.size(), limits.max_languages, "languages") ||
      over("TOO_MANY_AREAS", areas, limits.max_areas, "<area> blocks") ||
      over("TOO_MANY_POLYGONS", polygons, limits.max_polygons, "polygons and circles") ||
      over("TOO_MANY_GEOCODES", geocodes, limits.max_geocodes, "geocodes")) {
    return;
  }
  size_t total = 0;
  for (const Info& info : alert.infos) {
    for (const Area& area : info.areas) {
      for (const std::string& poly : area.polygons) {
        size_t n = CountTokens(poly);
        total += n;
        if (n > limits.max_polygon_points) {
          findings.Error("TOO_MANY_POLYGON_POINTS",
                         "a polygon of area " + Quote(area.desc) + " has " + std::to_string(n) +
                             " points; limit " + std::to_string(limits.max_polygon_points),
                         true);
          return;
        }
      }
    }
  }
  if (total > limits.max_total_points) {
    findings.Error("TOO_MANY_POLYGON_POINTS",
                   "the alert's polygons have " + std::to_string(total) + " points; limit " +
                       std::to_string(limits.max_total_points),
                   true);
  }
}

void Finalize(CheckResult& result) {
  result.valid = result.alert.has_value() && result.errors.empty();
  result.usable =
      result.alert.has_value() && std::none_of(result.errors.begin(), result.errors.end(),
                                               [](const Issue& i) { return i.fatal; });
}

bool IsCapEnumValue(std::string_view element, std::string_view text) {
  if (element == "status") return In(kStatus, text);
  if (element == "msgType") return In(kMsgType, text);
  if (element == "scope") return In(kScope, text);
  if (element == "category") return In(kCategory, text);
  if (element == "responseType") return In(kResponseType, text);
  if (element == "urgency") return In(kUrgency, text);
  if (element == "severity") return In(kSeverity, text);
  if (element == "certainty") return In(kCertainty, text);
  return false;
}

}  // namespace fanout::domain::cap
