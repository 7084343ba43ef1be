#pragma once
// Small crypto helpers on OpenSSL (kept out of hot headers).
#include <string>
#include <string_view>

namespace fanout::platform {

/// Lowercase hex SHA-256 of the bytes.
std::string Sha256Hex(std::string_view bytes);
/// `n` random bytes from the OS CSPRNG, hex-encoded (2n characters).
std::string RandomHex(size_t n);
/// A random RFC 4122 version-4 UUID in canonical form, from the OS CSPRNG (for secrets).
std::string RandomUuid();
/// A version-4 UUID from a per-thread PRNG seeded once from the OS: unique, cheap (one
/// per push), not unpredictable — for ids such as `apns-id`, never for secrets. Writes into
/// `out`, reusing its capacity.
void FastUuid(std::string& out);
std::string FastUuid();

/// Whether a presented secret (a bearer token) matches a configured one, in constant time
/// for a given length: the configured value is either the token itself or `sha256:<hex>` of
/// it (issue 14: secrets stored hashed). An empty configured value matches nothing.
bool SecretMatches(std::string_view presented, std::string_view configured);

}  // namespace fanout::platform
