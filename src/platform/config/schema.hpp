#pragma once
// The declared settings table (STYLE "Declared settings"): one row per config key with its
// type, default (a TOML literal), meaning and where it lives in `Settings`. Loading, docs,
// the example config and the effective-config printer all iterate this table.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "platform/config/settings.hpp"

namespace fanout::config {

enum class SettingType {
  kString,
  kPath,  // a string; relative values resolve against the config file's folder
  kInt,
  kBool,
  kMilliseconds,  // integer milliseconds
  kSeconds,       // integer seconds
  kStringList,
  kStringMap,  // table of string values (keys are data, e.g. provider names)
  kIntMap,     // table of integer values
};

/// "string", "path", "int", ... as shown in docs and type errors.
std::string_view TypeName(SettingType type);

/// Where a key lives in Settings: captureless lambdas returning a reference to the field.
using Accessor = std::variant<
    std::string& (*)(Settings&), std::filesystem::path& (*)(Settings&), int& (*)(Settings&),
    bool& (*)(Settings&), std::chrono::milliseconds& (*)(Settings&),
    std::chrono::seconds& (*)(Settings&), std::vector<std::string>& (*)(Settings&),
    std::map<std::string, std::string>& (*)(Settings&), std::map<std::string, int>& (*)(Settings&)>;

struct SettingSpec {
  std::string_view key;            // dotted: "push.apns.endpoint"; "roles" is top level
  SettingType type;                //
  std::string_view default_value;  // a TOML value literal
  std::string_view meaning;        // one sentence for docs and example comments
  Accessor field;                  //
  std::int64_t min = 0;            // integers (and integer map values): inclusive range
  std::int64_t max = 0;            // min == max == 0: no range
  bool secret = false;             // redacted when printing the effective config
};

/// Every declared key, in documentation order (grouped by section).
std::span<const SettingSpec> DeclaredSettings();

/// The row for `key`, or nullptr.
const SettingSpec* FindSetting(std::string_view key);

}  // namespace fanout::config
