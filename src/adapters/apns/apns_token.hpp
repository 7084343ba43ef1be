#pragma once
// ApnsTokenSigner: APNs provider authentication tokens (ES256 JWT from a .p8 key,
// anchors-push.md §3.3). Header {"alg":"ES256","kid":key_id}, claims
// {"iss":team_id,"iat":now}. The token is cached and re-signed only when it is older
// than `refresh_after` (default 45 min: Apple rejects tokens older than 60 min), or
// after Invalidate() (e.g. on 403 ExpiredProviderToken) — never per request, and never
// before the cached token is `min_refresh_interval` (20 min) old: Apple answers 429
// TooManyProviderTokenUpdates to refreshes more often than that, so a burst of
// Invalidate() calls (a whole batch of ExpiredProviderToken answers, many threads)
// yields at most one new token per 20 minutes. Thread-safe.
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
  // Lower bound between two signings (also caps a smaller refresh_after).
  std::chrono::seconds min_refresh_interval{20 * 60};
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
  /// Asks for a new token: the next Token() call re-signs, as soon as the cached token
  /// is min_refresh_interval old (until then it keeps returning the cached one).
  void Invalidate();
  /// When the cached token was issued (Unix s), 0 if none.
  int64_t issued_at() const;
  /// Invalidate() was called and the re-signing has not happened yet.
  bool refresh_pending() const;

 private:
  int64_t Now() const;
  http2::PKey key_;
  ApnsTokenSettings settings_;
  mutable std::mutex mu_;
  std::string token_;
  int64_t iat_ = 0;
  bool invalidated_ = false;
};

}  // namespace fanout::adapters::apns
