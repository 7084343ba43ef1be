// Fuzz target: the NINA JSON rendering of CAP (simdjson, the spec rules, the limits).
// Seeds: data/cap/nina-json.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/capjson/cap_json_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fanout::adapters::capjson::CapJsonReader reader;
  auto result = reader.Read(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)result;
  return 0;
}
