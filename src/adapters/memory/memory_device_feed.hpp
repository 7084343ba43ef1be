#pragma once
// In-process DeviceFeed: every Publish reaches every listener (one per region) at once,
// standing in for the replicated device stream. Numbers the updates and keeps the last
// `retain` of them, so a listener that (re)starts from a recorded position catches up without
// a gap; asking for older updates than that is an error, as on a stream past its retention.
// Thread-safe; listeners are called in publication order (one publication at a time).
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "ports/device_feed.hpp"

namespace fanout::adapters::memory {

class MemoryDeviceFeed final : public ports::DeviceFeed {
 public:
  /// `retain`: updates kept for listeners that start behind (0: none, only live updates).
  explicit MemoryDeviceFeed(size_t retain = 0) : retain_(retain) {}

  void Publish(std::span<const ports::DeviceUpdate> updates) override {
    std::lock_guard publishing(publish_mu_);
    std::vector<ports::DeviceUpdate> numbered(updates.begin(), updates.end());
    std::vector<Listener> ls;
    {
      std::lock_guard lock(mu_);
      for (auto& u : numbered) u.position = ++head_;
      if (retain_ > 0) {
        for (const auto& u : numbered) history_.push_back(u);
        while (history_.size() > retain_) history_.pop_front();
      }
      for (const auto& [_, l] : listeners_) ls.push_back(l);
    }
    for (auto& l : ls) l(numbered);
  }

  Result<uint64_t, Error> Listen(uint64_t after_position, Listener l) override {
    std::lock_guard publishing(publish_mu_);  // no publication between catch-up and live
    std::vector<ports::DeviceUpdate> missed;
    {
      std::lock_guard lock(mu_);
      if (after_position < head_) {
        uint64_t oldest = history_.empty() ? head_ + 1 : history_.front().position;
        if (after_position + 1 < oldest) {
          return Fail(Error{Error::Kind::kInternal,
                            "device feed holds updates from position " + std::to_string(oldest) +
                                " on; the listener needs them after " +
                                std::to_string(after_position) + " (start from a newer snapshot)"});
        }
        for (const auto& u : history_) {
          if (u.position > after_position) missed.push_back(u);
        }
      }
    }
    if (!missed.empty()) l(missed);
    std::lock_guard lock(mu_);
    listeners_.emplace(++next_handle_, std::move(l));
    return next_handle_;
  }

  void Unlisten(uint64_t handle) override {
    std::lock_guard publishing(publish_mu_);
    std::lock_guard lock(mu_);
    listeners_.erase(handle);
  }

  uint64_t head() const {
    std::lock_guard lock(mu_);
    return head_;
  }

 private:
  size_t retain_;
  std::mutex publish_mu_;  // one publication (or catch-up) at a time: order is the same for all
  mutable std::mutex mu_;
  uint64_t head_ = 0, next_handle_ = 0;
  std::deque<ports::DeviceUpdate> history_;
  std::map<uint64_t, Listener> listeners_;
};

}  // namespace fanout::adapters::memory
