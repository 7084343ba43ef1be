// Fuzz target: CAP XML (libxml2 with the XSD, the spec rules, the limits) and the area
// resolution's text parsers on what it read. Seeds: data/cap/*.xml, data/cap/invalid.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/capxml/cap_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fanout::adapters::capxml::CapDecoder decoder;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  if (!body.empty() && (body.front() == '{' || body.front() == '[')) return 0;  // JSON: its own
  auto result = decoder.Decode(body);
  (void)result;
  return 0;
}
