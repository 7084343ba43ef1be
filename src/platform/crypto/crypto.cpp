#include "platform/crypto/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

namespace fanout::platform {

namespace {
std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}
}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return Hex(md, len);
}

std::string RandomHex(size_t n) {
  std::vector<unsigned char> buf(n);
  if (RAND_bytes(buf.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes");
  return Hex(buf.data(), n);
}

namespace {
// 16 random bytes → version-4 UUID text (8-4-4-4-12, lowercase), into `out`.
void FormatUuid(unsigned char b[16], std::string& out) {
  static const auto kHex2 = [] {
    std::array<std::array<char, 2>, 256> t{};
    constexpr char kDigits[] = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) t[i] = {kDigits[i >> 4], kDigits[i & 15]};
    return t;
  }();
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10
  out.resize(36);
  char* p = out.data();
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = kHex2[b[i]][0];
    *p++ = kHex2[b[i]][1];
  }
}
}  // namespace

std::string RandomUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, 16) != 1) throw std::runtime_error("RAND_bytes");
  std::string out;
  FormatUuid(b, out);
  return out;
}

void FastUuid(std::string& out) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t w[2] = {rng(), rng()};
  unsigned char b[16];
  std::memcpy(b, w, sizeof(b));
  FormatUuid(b, out);
}

std::string FastUuid() {
  std::string out;
  FastUuid(out);
  return out;
}

bool SecretMatches(std::string_view presented, std::string_view configured) {
  if (configured.empty()) return false;
  constexpr std::string_view kSha = "sha256:";
  if (configured.starts_with(kSha)) {
    std::string want(configured.substr(kSha.size()));
    for (char& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string got = Sha256Hex(presented);
    return want.size() == got.size() && CRYPTO_memcmp(want.data(), got.data(), got.size()) == 0;
  }
  return presented.size() == configured.size() &&
         CRYPTO_memcmp(presented.data(), configured.data(), configured.size()) == 0;
}

}  // namespace fanout::platform
