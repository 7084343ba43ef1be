#include "app/auth_throttle.hpp"

#include <algorithm>

namespace fanout::app {

int64_t AuthThrottle::Failed(const std::string& client, int64_t now_ms) {
  if (s_.max_failures == 0) return 0;
  std::lock_guard lock(mu_);
  if (clients_.size() >= s_.max_clients && !clients_.contains(client)) {
    // Forget the clients whose window has passed, at most once a second: under a flood of
    // new addresses a scan per request would cost O(clients) each. Still full: an entry the
    // map yields first goes (a client forgotten early only starts a fresh window).
    if (now_ms - last_sweep_ms_ >= 1000) {
      last_sweep_ms_ = now_ms;
      std::erase_if(clients_,
                    [&](const auto& c) { return now_ms - c.second.start_ms >= s_.window_ms; });
    }
    if (clients_.size() >= s_.max_clients) clients_.erase(clients_.begin());
  }
  Window& w = clients_[client];
  if (w.failures == 0 || now_ms - w.start_ms >= s_.window_ms) w = {now_ms, 0};
  ++w.failures;
  if (w.failures <= s_.max_failures) return 0;
  const int64_t left_ms = w.start_ms + s_.window_ms - now_ms;
  return std::max<int64_t>(1, (left_ms + 999) / 1000);
}

size_t AuthThrottle::Throttled(int64_t now_ms) const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count_if(clients_.begin(), clients_.end(), [&](const auto& c) {
    return c.second.failures > s_.max_failures && now_ms - c.second.start_ms < s_.window_ms;
  }));
}

}  // namespace fanout::app
