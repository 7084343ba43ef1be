#pragma once
// Failed-authentication throttling per client (issue 14): after `max_failures` wrong or
// missing tokens from one client address within a window, that client's further attempts
// with a wrong token are answered 429 with Retry-After until the window has passed, so
// guessing tokens costs time. A valid token is never refused: the API checks credentials
// first and consults the throttle only for a request that failed them — a provider whose
// address a guesser shares still gets its alerts in. Bounded memory (clients whose window has
// passed are forgotten first). Thread-safe.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fanout::app {

struct AuthThrottleSettings {
  uint32_t max_failures = 20;  // per client and window; 0: never throttle
  int64_t window_ms = 60'000;
  size_t max_clients = 100'000;
};

class AuthThrottle {
 public:
  explicit AuthThrottle(AuthThrottleSettings s = {}) : s_(s) {}

  /// Records a failed authentication of `client` at `now_ms`. Returns 0 when the client may
  /// be told 401, else the seconds to put in Retry-After (answer 429).
  int64_t Failed(const std::string& client, int64_t now_ms);
  /// Clients currently throttled (for /metrics).
  size_t Throttled(int64_t now_ms) const;

 private:
  struct Window {
    int64_t start_ms = 0;
    uint32_t failures = 0;
  };
  AuthThrottleSettings s_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Window> clients_;
  int64_t last_sweep_ms_ = INT64_MIN / 2;
};

}  // namespace fanout::app
