#include "app/device_json.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace fanout::app {

namespace {
void AppendString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;  // UTF-8 passes through
    }
  }
  out += '"';
}
}  // namespace

std::string DeviceToJson(const domain::device::Device& d) {
  std::string out;
  out.reserve(96 + d.id.size() + d.token.size() + d.regions.size() * 15);
  out += "{\"device_id\":";
  AppendString(out, d.id);
  out += ",\"platform\":";
  AppendString(out, domain::device::PlatformName(d.platform));
  out += ",\"token\":";
  AppendString(out, d.token);
  out += ",\"levels\":{";
  bool first = true;
  for (const auto& [provider, level] : d.levels) {
    if (!first) out += ',';
    first = false;
    AppendString(out, provider);
    out += ':' + std::to_string(level);
  }
  out +=
      d.mylocation ? "},\"mylocation\":true,\"regions\":[" : "},\"mylocation\":false,\"regions\":[";
  for (size_t i = 0; i < d.regions.size(); ++i) {
    if (i > 0) out += ',';
    AppendString(out, d.regions[i]);
  }
  out += "]}";
  return out;
}

Result<domain::device::Device, domain::cap::Issue> DeviceFromJson(std::string_view text,
                                                                  std::string_view id) {
  using nlohmann::json;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(domain::cap::Issue{"INVALID_JSON", "the body must be a JSON object"});
  }
  domain::device::Device d;
  try {
    d.id = id.empty() ? j.at("device_id").get<std::string>() : std::string(id);
    auto platform = domain::device::ParsePlatform(j.at("platform").get<std::string>());
    if (!platform) {
      return Fail(domain::cap::Issue{"INVALID_PLATFORM", "platform must be \"apns\" or \"fcm\""});
    }
    d.platform = *platform;
    d.token = j.at("token").get<std::string>();
    if (j.contains("levels")) d.levels = j["levels"].get<std::map<std::string, int>>();
    if (j.contains("mylocation")) d.mylocation = j["mylocation"].get<bool>();
    if (j.contains("regions")) d.regions = j["regions"].get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return Fail(domain::cap::Issue{"INVALID_FIELD",
                                   std::string("platform and token are required") +
                                       (id.empty() ? ", and device_id" : "") +
                                       "; levels is an object of integers, mylocation a boolean, "
                                       "regions a list of strings (" +
                                       e.what() + ")"});
  }
  return d;
}

}  // namespace fanout::app
