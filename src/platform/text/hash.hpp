#pragma once
// FNV-1a 64: a stable, non-cryptographic hash of bytes (the same in every process, build and
// version) for keys and checksums that are stored or shared between processes.
#include <cstdint>
#include <string>
#include <string_view>

namespace fanout::platform {

uint64_t Fnv1a64(std::string_view s);
/// The hash as 16 lowercase hex digits.
std::string Fnv1a64Hex(std::string_view s);

}  // namespace fanout::platform
