#pragma once
// In-process DeviceFeed: every Publish reaches every listener (one per region) at once,
// standing in for the replicated device stream. Thread-safe.
#include <mutex>
#include <vector>

#include "ports/device_feed.hpp"

namespace fanout::adapters::memory {

class MemoryDeviceFeed final : public ports::DeviceFeed {
 public:
  void Publish(std::span<const ports::DeviceUpdate> u) override {
    std::vector<Listener> ls;
    {
      std::lock_guard lock(mu_);
      ls = listeners_;
    }
    for (auto& l : ls) l(u);
  }
  void Listen(Listener l) override {
    std::lock_guard lock(mu_);
    listeners_.push_back(std::move(l));
  }

 private:
  std::mutex mu_;
  std::vector<Listener> listeners_;
};

}  // namespace fanout::adapters::memory
