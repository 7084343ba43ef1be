#include "adapters/capxml/cap_check.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "adapters/capxml/cap_decoder.hpp"
#include "domain/cap/classify.hpp"

namespace fanout::adapters::capxml {
namespace {

namespace cap = domain::cap;
using Json = nlohmann::ordered_json;

Json Issues(const std::vector<cap::Issue>& issues) {
  Json out = Json::array();
  for (const cap::Issue& i : issues) out.push_back(Json{{"code", i.code}, {"message", i.message}});
  return out;
}

}  // namespace

Json CheckReportJson(std::string_view file, const cap::CheckResult& r,
                     const CapCheckOptions& options) {
  Json j;
  j["file"] = std::string(file);
  j["valid"] = r.valid;
  j["usable"] = r.usable;
  j["errors"] = Issues(r.errors);
  j["warnings"] = Issues(r.warnings);
  const cap::Alert* a = r.alert ? &*r.alert : nullptr;
  for (const char* k : {"identifier", "sender", "sent", "status", "msgType", "scope", "severity",
                        "level", "priority"}) {
    j[k] = nullptr;
  }
  j["languages"] = Json::array();
  j["references"] = Json::array();
  j["areas"] = Json::array();
  if (a == nullptr) return j;
  j["identifier"] = a->identifier;
  j["sender"] = a->sender;
  j["sent"] = a->sent;
  j["status"] = a->status;
  j["msgType"] = a->msg_type;
  j["scope"] = a->scope;
  const cap::Severity sev = cap::AlertSeverity(*a);
  j["severity"] = std::string(cap::SeverityName(sev));
  j["level"] = cap::SeverityLevel(sev);
  j["priority"] = std::string(cap::PriorityName(
      cap::ClassifyPriority(*a, options.provider, options.high_priority_providers)));
  for (const cap::Info& info : a->infos) {
    // CAP 1.2: an absent language means en-US. Listed once each, in document order.
    const std::string lang = info.language.empty() ? "en-US" : info.language;
    if (std::find(j["languages"].begin(), j["languages"].end(), lang) == j["languages"].end()) {
      j["languages"].push_back(lang);
    }
    for (const cap::Area& area : info.areas) {
      Json geocodes = Json::array();
      for (const cap::ValuePair& g : area.geocodes) {
        geocodes.push_back(Json{{"name", g.name}, {"value", g.value}});
      }
      j["areas"].push_back(Json{{"desc", area.desc},
                                {"polygons", area.polygons.size()},
                                {"circles", area.circles.size()},
                                {"geocodes", std::move(geocodes)}});
    }
  }
  for (const cap::Reference& ref : a->references) {
    j["references"].push_back(
        Json{{"sender", ref.sender}, {"identifier", ref.identifier}, {"sent", ref.sent}});
  }
  return j;
}

int RunCapCheck(const std::vector<std::string>& files, const CapCheckOptions& options,
                std::ostream& out) {
  const CapDecoder decoder;
  bool any_invalid = false, any_io_error = false;
  for (const std::string& file : files) {
    cap::CheckResult result;
    std::error_code ec;
    const bool is_dir = std::filesystem::is_directory(file, ec);
    std::ifstream in;
    errno = 0;
    if (!is_dir) in.open(file, std::ios::binary);
    const int open_errno = errno;
    std::ostringstream buf;
    if (in.is_open()) buf << in.rdbuf();
    if (!in.is_open() || in.bad()) {
      std::string why = is_dir ? "is a directory" : std::strerror(open_errno);
      result.errors.push_back(cap::Issue{"IO_ERROR", "cannot read " + file + ": " + why, true});
      any_io_error = true;
    } else {
      result = decoder.Decode(buf.str());
    }
    any_invalid = any_invalid || !result.valid;
    // Invalid UTF-8 cannot come out of the readers, but never let one byte abort a report.
    out << CheckReportJson(file, result, options)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << '\n';
  }
  out.flush();
  if (any_io_error) return 2;
  return any_invalid ? 1 : 0;
}

}  // namespace fanout::adapters::capxml
