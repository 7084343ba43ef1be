#pragma once
// A registered phone (DESIGN §4) and the rules that decide whether it gets an alert.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/cap/alert.hpp"

namespace fanout::domain::device {

enum class Platform : uint8_t { kApns = 0, kFcm = 1 };
inline constexpr int kPlatformCount = 2;
std::string_view PlatformName(Platform p);
std::optional<Platform> ParsePlatform(std::string_view s);

enum class Flow : uint8_t { kAll = 0, kSelected = 1 };
inline constexpr int kFlowCount = 2;
std::string_view FlowName(Flow f);
std::optional<Flow> ParseFlow(std::string_view s);

struct Device {
  std::string id;
  Platform platform = Platform::kApns;
  std::string token;
  std::map<std::string, int> levels;  // provider -> highest level (0..4) the device accepts
  bool mylocation = false;
  std::vector<std::string> regions;  // 12-digit region keys at any level
};

/// Threshold used for `provider`: the device's own, else the configured default, else 4.
int Threshold(const Device& d, std::string_view provider,
              const std::map<std::string, int>& default_levels);

/// Receive when the alert level is at most the device's threshold for the provider.
bool AcceptsLevel(const Device& d, std::string_view provider, int alert_level,
                  const std::map<std::string, int>& default_levels);

/// Shard of a device id among `shards` (stable across processes): an FNV-1a-shaped hash with a
/// truncated offset basis (1469598103934665603; standard FNV-1a uses 14695981039346656037).
/// Kept as is: changing it would move devices between shards of alerts in flight.
uint32_t ShardOf(std::string_view device_id, uint32_t shards);

/// Checks a device registration; returns the problems (empty when fine).
/// Region keys are checked for form only here (12 digits); existence needs the geo catalog.
std::vector<cap::Issue> ValidateDevice(const Device& d, const std::vector<std::string>& providers);

}  // namespace fanout::domain::device
