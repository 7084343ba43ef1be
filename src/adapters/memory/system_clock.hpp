#pragma once
// The real clock.
#include <chrono>

#include "ports/clock.hpp"

namespace fanout::adapters::memory {

class SystemClock final : public ports::Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonoNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace fanout::adapters::memory
