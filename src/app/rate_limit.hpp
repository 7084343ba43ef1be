#pragma once
// Token buckets per key (issue 14): a client address's requests, a provider's alerts. Each
// key may spend `burst` at once and `per_second` on average; beyond that Take() says how long
// until the next token, for a 429 with Retry-After. Bounded memory: when `max_keys` are
// tracked, the buckets that are full again (idle keys) are forgotten. Thread-safe.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fanout::app {

struct RateLimitSettings {
  double per_second = 0;  // 0: no limit
  double burst = 0;       // tokens a key may spend at once (at least 1)
  size_t max_keys = 100'000;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimitSettings s = {}) : s_(s) {}
  /// Takes one token of `key` at `now_ms`: 0 when allowed, else the milliseconds until a
  /// token is there (the request is refused and costs nothing).
  int64_t Take(const std::string& key, int64_t now_ms);
  bool enabled() const { return s_.per_second > 0; }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_ms = 0;
  };
  RateLimitSettings s_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  int64_t last_sweep_ms_ = INT64_MIN / 2;
};

/// Retry-After seconds for a wait in milliseconds (rounded up, at least 1).
int64_t RetryAfterSeconds(int64_t wait_ms);

}  // namespace fanout::app
