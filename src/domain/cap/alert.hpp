#pragma once
// The CAP 1.2 alert model (OASIS CAP 1.2 §3), filled by the XML and JSON readers
// (src/adapters/capxml, src/adapters/capjson) and checked by domain::cap::Validate.
// Plain data, no behaviour beyond small helpers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fanout::domain::cap {

enum class Severity { kExtreme, kSevere, kModerate, kMinor, kUnknown };
enum class Priority { kHigh, kRegular };

struct ValuePair {  // geocode, eventCode, parameter
  std::string name;
  std::string value;
};

struct Reference {  // one `sender,identifier,sent` triplet
  std::string sender;
  std::string identifier;
  std::string sent;
};

struct Area {
  std::string desc;
  std::vector<std::string> polygons;  // raw CAP text "lat,lon lat,lon ..."
  std::vector<std::string> circles;   // raw CAP text "lat,lon radius_km"
  std::vector<ValuePair> geocodes;
  std::optional<std::string> altitude;
  std::optional<std::string> ceiling;
};

struct Resource {
  std::string desc;
  std::string mime_type;
  std::optional<std::string> size;
  std::optional<std::string> uri;
  bool has_deref_uri = false;
  std::optional<std::string> digest;
};

struct Info {
  std::string language;  // as given; empty means en-US per spec
  std::vector<std::string> categories;
  std::string event;
  std::vector<std::string> response_types;
  std::string urgency;
  std::string severity;  // raw text; see ParseSeverity
  std::string certainty;
  std::optional<std::string> audience;
  std::vector<ValuePair> event_codes;
  std::optional<std::string> effective;
  std::optional<std::string> onset;
  std::optional<std::string> expires;
  std::optional<std::string> sender_name;
  std::optional<std::string> headline;
  std::optional<std::string> description;
  std::optional<std::string> instruction;
  std::optional<std::string> web;
  std::optional<std::string> contact;
  std::vector<ValuePair> parameters;
  std::vector<Resource> resources;
  std::vector<Area> areas;
};

struct Alert {
  std::string identifier;
  std::string sender;
  std::string sent;
  std::string status;
  std::string msg_type;
  std::optional<std::string> source;
  std::string scope;
  std::optional<std::string> restriction;
  std::optional<std::string> addresses;
  std::vector<std::string> codes;
  std::optional<std::string> note;
  std::optional<std::string> references_raw;  // the element text as received
  std::vector<Reference> references;          // parsed triplets
  std::optional<std::string> incidents;
  std::vector<Info> infos;
};

/// One finding of a reader or validator. `code` is a stable, upper-snake reason code
/// (e.g. "INVALID_POLYGON", "XML_DOCTYPE_FORBIDDEN") that operators and tests match on.
struct Issue {
  std::string code;
  std::string message;
  /// For errors: true when the finding makes the document unusable (quarantine);
  /// false for deviations real feeds commit that do not change the meaning (the alert is
  /// invalid but usable). Ignored for warnings.
  bool fatal = true;
};

/// What reading + validating one document yields.
struct CheckResult {
  bool valid = false;   // strictly valid CAP 1.2 (schema + spec rules)
  bool usable = false;  // the platform accepts and processes it
  std::vector<Issue> errors;
  std::vector<Issue> warnings;
  std::optional<Alert> alert;  // present when the document could be read at all
};

}  // namespace fanout::domain::cap
