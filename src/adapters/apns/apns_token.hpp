#pragma once
// ApnsTokenSigner: APNs provider authentication tokens (ES256 JWT from a .p8 key,
// anchors-push.md §3.3). Header {"alg":"ES256","kid":key_id}, claims
// {"iss":team_id,"iat":now}. The token is cached and re-signed only when it is older
// than `refresh_after` (default 45 min: Apple rejects tokens older than 60 min and
// answers 429 TooManyProviderTokenUpdates to refreshes more often than every 20 min),
// or after Invalidate() (e.g. on 403 ExpiredProviderToken) — never per request.
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "adapters/http2/jwt.hpp"

namespace fanout::adapters::apns {

struct ApnsTokenSettings {
  std::string key_id;   // 10-character key id of the .p8 key
  std::string team_id;  // 10-character team id
  std::chrono::seconds refresh_after{45 * 60};
  // Wall clock (Unix seconds); injectable for tests.
  std::function<int64_t()> now_epoch_s;
};

class ApnsTokenSigner {
 public:
  /// `p8_pem`: the contents of AuthKey_<kid>.p8. Throws std::runtime_error on a bad key.
  ApnsTokenSigner(std::string_view p8_pem, ApnsTokenSettings settings);
  static std::shared_ptr<ApnsTokenSigner> FromFile(const std::string& p8_path,
                                                   ApnsTokenSettings settings);

  /// The current token (signs one if none, or if the cached one is due).
  std::string Token();
  /// Forces a new token on the next Token() call.
  void Invalidate();
  /// When the cached token was issued (Unix s), 0 if none.
  int64_t issued_at() const;

 private:
  int64_t Now() const;
  http2::PKey key_;
  ApnsTokenSettings settings_;
  mutable std::mutex mu_;
  std::string token_;
  int64_t iat_ = 0;
};

}  // namespace fanout::adapters::apns
