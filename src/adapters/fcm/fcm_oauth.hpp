#pragma once
// FCM OAuth2 for a Google service account (RFC 7523 jwt-bearer grant): an RS256 JWT
// assertion {iss: client_email, scope, aud: token_uri, iat, exp: iat+3600} signed with
// the account's private key is POSTed to token_uri; the answer's access_token is cached
// and refreshed `refresh_margin` before it expires (or after Invalidate(), e.g. on a 401:
// Google refuses an expired token with 401 UNAUTHENTICATED / ACCESS_TOKEN_EXPIRED).
// The token endpoint is reached with our own HTTP/2 client (Google's endpoint speaks h2;
// pushsim serves POST /token). Thread-safe; one fetch at a time, callers wait for it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <tl/expected.hpp>

#include "adapters/http2/client.hpp"
#include "adapters/http2/jwt.hpp"
#include "ports/push_gateway.hpp"

namespace fanout::adapters::fcm {

/// The fields of a service-account JSON key file that the flow needs.
struct ServiceAccount {
  std::string project_id;
  std::string client_email;
  std::string private_key_id;
  std::string private_key_pem;
  std::string token_uri = "https://oauth2.googleapis.com/token";
  /// Throws std::runtime_error on malformed JSON or missing fields.
  static ServiceAccount FromJson(std::string_view json);
  static ServiceAccount FromFile(const std::string& path);
};

struct FcmOAuthSettings {
  ServiceAccount account;
  std::string token_uri;  // non-empty: overrides account.token_uri (tests, proxies)
  std::string scope = "https://www.googleapis.com/auth/firebase.messaging";
  std::chrono::seconds refresh_margin{300};
  http2::ClientSettings http;  // TLS/timeouts for the token endpoint; endpoint is filled in
  std::function<int64_t()> now_epoch_s;  // injectable clock (Unix s)
};

class FcmAccessTokenSource {
 public:
  /// Throws std::runtime_error on a bad key or token URI.
  explicit FcmAccessTokenSource(FcmOAuthSettings settings);
  /// A valid access token, fetching one if needed. On failure, the PushResult every push
  /// of the batch should get: kRetryLater (endpoint unreachable, 5xx, 429) or kAuthFailed
  /// (the grant was refused: bad key, clock skew, revoked account).
  tl::expected<std::string, ports::PushResult> Token();
  /// Drops the cached token if it is `rejected` (empty: whatever is cached), so the next
  /// Token() fetches a new one. Many threads reporting the same rejected token cause one
  /// fetch, not one each.
  void Invalidate(std::string_view rejected = {});
  /// The signed assertion for `now` (exposed for tests).
  std::string Assertion(int64_t now) const;
  uint64_t fetches() const;

 private:
  int64_t Now() const;
  FcmOAuthSettings settings_;
  http2::Url token_url_;
  http2::PKey key_;
  std::unique_ptr<http2::Client> client_;
  mutable std::mutex mu_;
  std::string token_;
  int64_t expires_at_ = 0;
  uint64_t fetches_ = 0;
};

}  // namespace fanout::adapters::fcm
