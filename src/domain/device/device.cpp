#include "domain/device/device.hpp"

#include <algorithm>
#include <cctype>

namespace fanout::domain::device {

std::string_view PlatformName(Platform p) { return p == Platform::kApns ? "apns" : "fcm"; }

std::optional<Platform> ParsePlatform(std::string_view s) {
  if (s == "apns") return Platform::kApns;
  if (s == "fcm") return Platform::kFcm;
  return std::nullopt;
}

std::string_view FlowName(Flow f) { return f == Flow::kAll ? "all" : "selected"; }

std::optional<Flow> ParseFlow(std::string_view s) {
  if (s == "all") return Flow::kAll;
  if (s == "selected") return Flow::kSelected;
  return std::nullopt;
}

int Threshold(const Device& d, std::string_view provider,
              const std::map<std::string, int>& default_levels) {
  if (auto it = d.levels.find(std::string(provider)); it != d.levels.end()) return it->second;
  if (auto it = default_levels.find(std::string(provider)); it != default_levels.end()) {
    return it->second;
  }
  return 4;
}

bool AcceptsLevel(const Device& d, std::string_view provider, int alert_level,
                  const std::map<std::string, int>& default_levels) {
  return alert_level <= Threshold(d, provider, default_levels);
}

uint32_t ShardOf(std::string_view device_id, uint32_t shards) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : device_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return shards == 0 ? 0 : static_cast<uint32_t>(h % shards);
}

namespace {
bool AllOf(std::string_view s, int (*pred)(int)) {
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return pred(static_cast<unsigned char>(c)); });
}
}  // namespace

std::vector<cap::Issue> ValidateDevice(const Device& d, const std::vector<std::string>& providers) {
  std::vector<cap::Issue> out;
  if (d.id.empty() || d.id.size() > 128 || !AllOf(d.id, [](int c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' ? 1 : 0;
      })) {
    out.push_back({"INVALID_DEVICE_ID", "device_id must be 1..128 of [A-Za-z0-9._:-]"});
  }
  if (d.platform == Platform::kApns) {
    if (d.token.size() != 64 || !AllOf(d.token, [](int c) { return std::isxdigit(c); })) {
      out.push_back({"INVALID_TOKEN", "an APNs device token is 64 hexadecimal characters"});
    }
  } else if (d.token.empty() || d.token.size() > 4096 ||
             !AllOf(d.token, [](int c) { return std::isgraph(c); })) {
    out.push_back({"INVALID_TOKEN", "an FCM registration token is 1..4096 printable characters"});
  }
  for (const auto& [provider, level] : d.levels) {
    if (std::find(providers.begin(), providers.end(), provider) == providers.end()) {
      out.push_back({"UNKNOWN_PROVIDER", "levels names unknown provider '" + provider + "'"});
    }
    if (level < 0 || level > 4) {
      out.push_back({"INVALID_LEVEL", "level for '" + provider + "' must be 0..4"});
    }
  }
  if (d.regions.size() > 256) out.push_back({"TOO_MANY_REGIONS", "at most 256 regions"});
  for (const std::string& r : d.regions) {
    if (r.size() != 12 || !AllOf(r, [](int c) { return std::isdigit(c); })) {
      out.push_back({"INVALID_REGION_KEY", "region key '" + r + "' is not 12 digits"});
    }
  }
  if (!d.mylocation && d.regions.empty()) {
    out.push_back({"NO_REGIONS", "a device without mylocation must subscribe to a region"});
  }
  return out;
}

}  // namespace fanout::domain::device
