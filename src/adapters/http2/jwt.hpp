#pragma once
// Compact JWS (JWT) helpers for the push providers' auth: ES256 (APNs provider
// tokens) and RS256 (Google OAuth2 service-account assertions), on OpenSSL 3.
// Lives here because both push gateways and pushsim share it; no HTTP involved.
// Thread-safe: keys are immutable after loading (EVP_PKEY is refcounted).
#include <memory>
#include <optional>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace fanout::adapters::http2 {

std::string Base64UrlEncode(std::string_view in);
std::optional<std::string> Base64UrlDecode(std::string_view in);

using PKey = std::shared_ptr<EVP_PKEY>;

/// Loads a PEM private key (PKCS#8 "BEGIN PRIVATE KEY", e.g. an APNs .p8 or the
/// service-account private_key). Throws std::runtime_error.
PKey LoadPrivateKeyPem(std::string_view pem);
PKey LoadPrivateKeyFile(const std::string& path);
/// Loads a PEM public key ("BEGIN PUBLIC KEY"). Throws std::runtime_error.
PKey LoadPublicKeyPem(std::string_view pem);
/// PEM of the public half of `key`.
std::string PublicKeyPem(const PKey& key);

enum class JwtAlg { kES256, kRS256 };

/// header_json/claims_json are JSON object texts; returns header.claims.signature.
/// Throws std::runtime_error if signing fails (e.g. wrong key type).
std::string SignJwt(JwtAlg alg, const PKey& key, std::string_view header_json,
                    std::string_view claims_json);

struct VerifiedJwt {
  std::string header_json;
  std::string claims_json;
};
/// Checks structure, `alg` and the signature; nullopt if anything is wrong.
std::optional<VerifiedJwt> VerifyJwt(JwtAlg alg, const PKey& public_key, std::string_view jwt);

}  // namespace fanout::adapters::http2
