// Fuzz target: the config reader (toml++, the key table, the cross-field checks).
// Seeds: fuzz/seeds/config (the example configs).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "platform/config/settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto settings = fanout::config::LoadSettingsFromString(
      std::string_view(reinterpret_cast<const char*>(data), size), "/nonexistent");
  (void)settings;
  return 0;
}
