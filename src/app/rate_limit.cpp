#include "app/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace fanout::app {

int64_t RateLimiter::Take(const std::string& key, int64_t now_ms) {
  if (s_.per_second <= 0) return 0;
  const double burst = std::max(1.0, s_.burst);
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= s_.max_keys) {
      // Forget the idle keys (full again), at most once a second: under a flood of new keys
      // a scan per request would cost O(keys) each. Still full: the oldest entry the map
      // yields goes (a key forgotten early only gets a fresh burst).
      if (now_ms - last_sweep_ms_ >= 1000) {
        last_sweep_ms_ = now_ms;
        std::erase_if(buckets_, [&](const auto& kv) {
          const Bucket& b = kv.second;
          return b.tokens + static_cast<double>(now_ms - b.at_ms) * s_.per_second / 1000.0 >= burst;
        });
      }
      if (buckets_.size() >= s_.max_keys) buckets_.erase(buckets_.begin());
    }
    it = buckets_.emplace(key, Bucket{burst, now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.at_ms) {
    b.tokens =
        std::min(burst, b.tokens + static_cast<double>(now_ms - b.at_ms) * s_.per_second / 1000.0);
    b.at_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil((1.0 - b.tokens) * 1000.0 / s_.per_second)));
}

int64_t RetryAfterSeconds(int64_t wait_ms) { return std::max<int64_t>(1, (wait_ms + 999) / 1000); }

}  // namespace fanout::app
