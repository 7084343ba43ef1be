#include "adapters/http2/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "adapters/http2/transport.hpp"

namespace fanout::adapters::http2 {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

PKey Wrap(EVP_PKEY* k) { return PKey(k, EVP_PKEY_free); }

std::string Sign(const PKey& key, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("JWT sign: " + OpenSslErrors());
  return sig;
}

bool Verify(const PKey& key, std::string_view data, std::string_view sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// JWS ES256 signatures are raw r||s (32 + 32 bytes); OpenSSL speaks DER.
std::string DerToRaw(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (s == nullptr) throw std::runtime_error("ES256: bad DER signature");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(s), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(s), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(s);
  return raw;
}

std::optional<std::string> RawToDer(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* s = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* ss = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(s, r, ss);
  int len = i2d_ECDSA_SIG(s, nullptr);
  std::string der(static_cast<size_t>(std::max(len, 0)), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(s, &p);
  ECDSA_SIG_free(s);
  if (len <= 0) return std::nullopt;
  return der;
}

}  // namespace

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<unsigned char>(in[k]); };
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = b(i) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

PKey LoadPrivateKeyPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (k == nullptr) throw std::runtime_error("cannot read PEM private key: " + OpenSslErrors());
  return Wrap(k);
}

PKey LoadPrivateKeyFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open key file '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return LoadPrivateKeyPem(ss.str());
}

PKey LoadPublicKeyPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (k == nullptr) throw std::runtime_error("cannot read PEM public key: " + OpenSslErrors());
  return Wrap(k);
}

std::string PublicKeyPem(const PKey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string SignJwt(JwtAlg alg, const PKey& key, std::string_view header_json,
                    std::string_view claims_json) {
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(claims_json);
  std::string sig = Sign(key, input);
  if (alg == JwtAlg::kES256) sig = DerToRaw(sig);
  return input + "." + Base64UrlEncode(sig);
}

std::optional<VerifiedJwt> VerifyJwt(JwtAlg alg, const PKey& public_key, std::string_view jwt) {
  auto d1 = jwt.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  auto d2 = jwt.find('.', d1 + 1);
  if (d2 == std::string_view::npos || jwt.find('.', d2 + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  auto header = Base64UrlDecode(jwt.substr(0, d1));
  auto claims = Base64UrlDecode(jwt.substr(d1 + 1, d2 - d1 - 1));
  auto sig = Base64UrlDecode(jwt.substr(d2 + 1));
  if (!header || !claims || !sig) return std::nullopt;
  const char* want = alg == JwtAlg::kES256 ? "\"ES256\"" : "\"RS256\"";
  // The caller parses the JSON; here only make sure alg is the expected one.
  auto pos = header->find("\"alg\"");
  if (pos == std::string::npos) return std::nullopt;
  auto colon = header->find(':', pos);
  auto vpos = header->find_first_not_of(" \t\r\n", colon + 1);
  if (colon == std::string::npos || vpos == std::string::npos ||
      header->compare(vpos, std::strlen(want), want) != 0) {
    return std::nullopt;
  }
  std::string signature = *sig;
  if (alg == JwtAlg::kES256) {
    auto der = RawToDer(signature);
    if (!der) return std::nullopt;
    signature = *der;
  }
  if (!Verify(public_key, jwt.substr(0, d2), signature)) return std::nullopt;
  return VerifiedJwt{std::move(*header), std::move(*claims)};
}

}  // namespace fanout::adapters::http2
