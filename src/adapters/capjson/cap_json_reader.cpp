#include "adapters/capjson/cap_json_reader.hpp"

#include <simdjson.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace fanout::adapters::capjson {
namespace {

namespace cap = domain::cap;
using simdjson::dom::element;
using simdjson::dom::element_type;

const char* TypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::STRING:
      return "string";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string Trimmed(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// Counts values and checks nesting against the limits (simdjson's own depth limit is 1024).
bool CheckLimits(element e, size_t depth, const cap::DecodeLimits& limits, size_t& count,
                 cap::Findings& f) {
  if (++count > limits.max_elements) {
    f.Error("TOO_MANY_ELEMENTS", "more than " + std::to_string(limits.max_elements) + " values",
            true);
    return false;
  }
  if (depth > limits.max_depth) {
    f.Error("TOO_DEEP", "values nested deeper than " + std::to_string(limits.max_depth), true);
    return false;
  }
  if (e.type() == element_type::ARRAY) {
    simdjson::dom::array arr = e.get_array().value_unsafe();  // keep alive for the loop
    for (element c : arr) {
      if (!CheckLimits(c, depth + 1, limits, count, f)) return false;
    }
  } else if (e.type() == element_type::OBJECT) {
    simdjson::dom::object obj = e.get_object().value_unsafe();
    for (auto field : obj) {
      if (!CheckLimits(field.value, depth + 1, limits, count, f)) return false;
    }
  }
  return true;
}

class AlertBuilder {
 public:
  AlertBuilder(const CapJsonReaderSettings& s, cap::Findings& f) : s_(s), f_(f) {}

  cap::Alert Build(simdjson::dom::object root) {
    cap::Alert a;
    for (auto [key, v] : root) {
      if (key == "identifier") {
        Str(v, "identifier", a.identifier);
      } else if (key == "sender") {
        Str(v, "sender", a.sender);
      } else if (key == "sent") {
        Str(v, "sent", a.sent);
      } else if (key == "status") {
        Str(v, "status", a.status);
      } else if (key == "msgType") {
        Str(v, "msgType", a.msg_type);
      } else if (key == "source") {
        Opt(v, "source", a.source);
      } else if (key == "scope") {
        Str(v, "scope", a.scope);
      } else if (key == "restriction") {
        Opt(v, "restriction", a.restriction);
      } else if (key == "addresses") {
        Opt(v, "addresses", a.addresses);
      } else if (key == "code") {
        StrList(v, "code", a.codes);
      } else if (key == "note") {
        Opt(v, "note", a.note);
      } else if (key == "references") {
        // CAP text is one whitespace-separated list; accept an array of triplets too.
        std::vector<std::string> parts;
        StrList(v, "references", parts);
        if (v.type() == element_type::STRING || !parts.empty()) {
          std::string joined;
          for (const std::string& p : parts) joined += (joined.empty() ? "" : " ") + p;
          a.references_raw = joined;
        }
      } else if (key == "incidents") {
        Opt(v, "incidents", a.incidents);
      } else if (key == "info") {
        ForEachObject(v, "info", [&](simdjson::dom::object o, const std::string& where) {
          a.infos.push_back(BuildInfo(o, where));
        });
      } else {
        Unknown(key);
      }
    }
    if (a.references_raw) a.references = cap::ParseReferences(*a.references_raw).references;
    if (!unknown_.empty()) {
      std::string list;
      for (const std::string& k : unknown_) list += (list.empty() ? "" : ", ") + k;
      f_.Warn("UNSUPPORTED_ELEMENT", "keys that are not CAP 1.2 elements were ignored: " + list);
    }
    if (dropped_pairs_ > 0) {
      f_.Warn("POLYGON_FILLER_PAIR_DROPPED",
              std::to_string(dropped_pairs_) + " '-1.0,-1.0' filler pair(s) dropped from polygons");
    }
    return a;
  }

 private:
  void Unknown(std::string_view key) {
    if (unknown_.size() < 20) unknown_.insert(std::string(key));
  }

  void Mismatch(const std::string& where, element v, const char* expected) {
    f_.Error("JSON_TYPE_MISMATCH",
             where + ": expected " + expected + ", got " + TypeName(v.type()) + " (ignored)",
             false);
  }

  // Strings; numbers are accepted as their JSON text for numeric CAP fields (size, altitude).
  bool Scalar(element v, const std::string& where, std::string& out, bool numbers_ok = false) {
    if (v.type() == element_type::STRING) {
      out = std::string(v.get_string().value_unsafe());
      return true;
    }
    if (v.type() == element_type::NULL_VALUE) return false;
    if (numbers_ok && (v.type() == element_type::INT64 || v.type() == element_type::UINT64 ||
                       v.type() == element_type::DOUBLE)) {
      out = simdjson::minify(v);
      return true;
    }
    Mismatch(where, v, "a string");
    return false;
  }

  void Str(element v, const std::string& where, std::string& field) {
    std::string s;
    if (Scalar(v, where, s)) field = Trimmed(s);
  }
  void Opt(element v, const std::string& where, std::optional<std::string>& field,
           bool numbers_ok = false) {
    std::string s;
    if (Scalar(v, where, s, numbers_ok)) field = std::move(s);
  }
  void StrList(element v, const std::string& where, std::vector<std::string>& out) {
    if (v.type() == element_type::STRING) {  // a single value where an array is usual
      out.push_back(Trimmed(v.get_string().value_unsafe()));
      return;
    }
    if (v.type() != element_type::ARRAY) {
      if (v.type() != element_type::NULL_VALUE) Mismatch(where, v, "an array of strings");
      return;
    }
    simdjson::dom::array arr = v.get_array().value_unsafe();
    for (element e : arr) {
      std::string s;
      if (Scalar(e, where + "[]", s)) out.push_back(Trimmed(s));
    }
  }

  template <class Fn>
  void ForEachObject(element v, const std::string& where, Fn&& fn) {
    if (v.type() == element_type::OBJECT) {  // a single object where an array is usual
      fn(v.get_object().value_unsafe(), where + "[0]");
      return;
    }
    if (v.type() != element_type::ARRAY) {
      if (v.type() != element_type::NULL_VALUE) Mismatch(where, v, "an array of objects");
      return;
    }
    size_t i = 0;
    simdjson::dom::array arr = v.get_array().value_unsafe();
    for (element e : arr) {
      const std::string w = where + "[" + std::to_string(i++) + "]";
      if (e.type() == element_type::OBJECT) {
        fn(e.get_object().value_unsafe(), w);
      } else {
        Mismatch(w, e, "an object");
      }
    }
  }

  void Pairs(element v, const std::string& where, std::vector<cap::ValuePair>& out) {
    ForEachObject(v, where, [&](simdjson::dom::object o, const std::string& w) {
      cap::ValuePair p;
      for (auto [key, val] : o) {
        if (key == "valueName") {
          Str(val, w + "/valueName", p.name);
        } else if (key == "value") {
          std::string s;
          if (Scalar(val, w + "/value", s, true)) p.value = Trimmed(s);
        } else {
          Unknown(key);
        }
      }
      out.push_back(std::move(p));
    });
  }

  cap::Info BuildInfo(simdjson::dom::object o, const std::string& p) {
    cap::Info i;
    for (auto [key, v] : o) {
      const std::string w = p + "/" + std::string(key);
      if (key == "language") {
        Str(v, w, i.language);
      } else if (key == "category") {
        StrList(v, w, i.categories);
      } else if (key == "event") {
        Str(v, w, i.event);
      } else if (key == "responseType") {
        StrList(v, w, i.response_types);
      } else if (key == "urgency") {
        Str(v, w, i.urgency);
      } else if (key == "severity") {
        Str(v, w, i.severity);
      } else if (key == "certainty") {
        Str(v, w, i.certainty);
      } else if (key == "audience") {
        Opt(v, w, i.audience);
      } else if (key == "eventCode") {
        Pairs(v, w, i.event_codes);
      } else if (key == "effective") {
        Opt(v, w, i.effective);
      } else if (key == "onset") {
        Opt(v, w, i.onset);
      } else if (key == "expires") {
        Opt(v, w, i.expires);
      } else if (key == "senderName") {
        Opt(v, w, i.sender_name);
      } else if (key == "headline") {
        Opt(v, w, i.headline);
      } else if (key == "description") {
        Opt(v, w, i.description);
      } else if (key == "instruction") {
        Opt(v, w, i.instruction);
      } else if (key == "web") {
        Opt(v, w, i.web);
      } else if (key == "contact") {
        Opt(v, w, i.contact);
      } else if (key == "parameter") {
        Pairs(v, w, i.parameters);
      } else if (key == "resource") {
        ForEachObject(v, w, [&](simdjson::dom::object r, const std::string& rw) {
          i.resources.push_back(BuildResource(r, rw));
        });
      } else if (key == "area") {
        ForEachObject(v, w, [&](simdjson::dom::object a, const std::string& aw) {
          i.areas.push_back(BuildArea(a, aw));
        });
      } else {
        Unknown(key);
      }
    }
    return i;
  }

  cap::Resource BuildResource(simdjson::dom::object o, const std::string& p) {
    cap::Resource r;
    for (auto [key, v] : o) {
      const std::string w = p + "/" + std::string(key);
      if (key == "resourceDesc") {
        Str(v, w, r.desc);
      } else if (key == "mimeType") {
        Str(v, w, r.mime_type);
      } else if (key == "size") {
        Opt(v, w, r.size, true);
      } else if (key == "uri") {
        Opt(v, w, r.uri);
      } else if (key == "derefUri") {
        r.has_deref_uri = v.type() == element_type::STRING;
      } else if (key == "digest") {
        Opt(v, w, r.digest);
      } else {
        Unknown(key);
      }
    }
    return r;
  }

  // `lon,lat lon,lat ...` -> `lat,lon lat,lon ...`, dropping `-1,-1` fillers. Tokens that are
  // not a pair are kept verbatim so the spec rules report the polygon as malformed.
  std::string ConvertPolygon(std::string_view text) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && IsSpace(text[i])) ++i;
      size_t start = i;
      while (i < text.size() && !IsSpace(text[i])) ++i;
      if (i == start) break;
      std::string_view tok = text.substr(start, i - start);
      std::string converted(tok);
      if (auto pairs = cap::ParseCoordinatePairs(tok); pairs && pairs->size() == 1) {
        const cap::LatLon& lonlat = pairs->front();  // as written: first = lon, second = lat
        if (lonlat.lat == -1.0 && lonlat.lon == -1.0) {
          ++dropped_pairs_;
          continue;
        }
        if (s_.polygons_lon_lat) {
          size_t comma = tok.find(',');
          converted = std::string(tok.substr(comma + 1)) + "," + std::string(tok.substr(0, comma));
        }
      }
      if (!out.empty()) out += ' ';
      out += converted;
    }
    return out;
  }

  cap::Area BuildArea(simdjson::dom::object o, const std::string& p) {
    cap::Area a;
    for (auto [key, v] : o) {
      const std::string w = p + "/" + std::string(key);
      if (key == "areaDesc") {
        Str(v, w, a.desc);
      } else if (key == "polygon") {
        std::vector<std::string> polys;
        StrList(v, w, polys);
        for (const std::string& poly : polys) {
          std::string converted = ConvertPolygon(poly);
          if (!converted.empty()) a.polygons.push_back(std::move(converted));
        }
      } else if (key == "circle") {
        StrList(v, w, a.circles);
      } else if (key == "geocode") {
        Pairs(v, w, a.geocodes);
      } else if (key == "altitude") {
        Opt(v, w, a.altitude, true);
      } else if (key == "ceiling") {
        Opt(v, w, a.ceiling, true);
      } else {
        Unknown(key);
      }
    }
    return a;
  }

  const CapJsonReaderSettings& s_;
  cap::Findings& f_;
  std::set<std::string> unknown_;
  size_t dropped_pairs_ = 0;
};

bool HasAnyAlertKey(simdjson::dom::object o) {
  for (const char* k : {"identifier", "sender", "sent", "status", "msgType", "scope", "info"}) {
    if (o.at_key(k).error() == simdjson::SUCCESS) return true;
  }
  return false;
}

}  // namespace

cap::CheckResult CapJsonReader::Read(std::string_view body) const {
  cap::CheckResult result;
  cap::Findings f;
  auto finish = [&]() {
    result.errors = std::move(f.errors);
    result.warnings = std::move(f.warnings);
    cap::Finalize(result);
    return std::move(result);
  };
  if (body.size() > settings_.limits.max_body_bytes) {
    f.Error("TOO_LARGE",
            "body has " + std::to_string(body.size()) + " bytes; limit " +
                std::to_string(settings_.limits.max_body_bytes),
            true);
    return finish();
  }
  // A dom::parser reuses its buffers; it is not thread-safe, hence one per thread.
  thread_local simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(body.data(), body.size()).get(root); err) {
    f.Error("JSON_MALFORMED", std::string("not valid JSON: ") + simdjson::error_message(err), true);
    return finish();
  }
  size_t count = 0;
  if (!CheckLimits(root, 1, settings_.limits, count, f)) return finish();

  if (root.type() == element_type::ARRAY) {
    f.Error("NOT_AN_ALERT",
            "a JSON array of " + std::to_string(root.get_array().value_unsafe().size()) +
                " entries (a NINA mapData/dashboard list?), not one alert",
            true);
    return finish();
  }
  if (root.type() != element_type::OBJECT) {
    f.Error("NOT_AN_ALERT", std::string("a JSON ") + TypeName(root.type()) + ", not an alert",
            true);
    return finish();
  }
  simdjson::dom::object obj = root.get_object().value_unsafe();
  std::string_view type;
  if (obj.at_key("type").get(type) == simdjson::SUCCESS &&
      (type == "FeatureCollection" || type == "Feature")) {
    f.Error("NOT_AN_ALERT", "a GeoJSON " + std::string(type) + ", not an alert", true);
    return finish();
  }
  if (!HasAnyAlertKey(obj)) {
    size_t nested = 0;
    for (auto field : obj) {
      if (field.value.type() == element_type::OBJECT &&
          HasAnyAlertKey(field.value.get_object().value_unsafe())) {
        ++nested;
      }
    }
    f.Error("NOT_AN_ALERT",
            nested > 0 ? "a map of " + std::to_string(nested) +
                             " warnings keyed by id; send one alert per document"
                       : std::string("a JSON object without CAP alert fields"),
            true);
    return finish();
  }

  result.alert = AlertBuilder(settings_, f).Build(obj);
  cap::CheckComplexityLimits(*result.alert, settings_.limits, f);
  f.Append(cap::Validate(*result.alert));
  return finish();
}

}  // namespace fanout::adapters::capjson
