#include "platform/text/hash.hpp"

#include <cstdio>

namespace fanout::platform {

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;  // the standard offset basis
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string Fnv1a64Hex(std::string_view s) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(Fnv1a64(s)));
  return buf;
}

}  // namespace fanout::platform
