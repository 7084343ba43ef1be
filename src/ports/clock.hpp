#pragma once
// Port: time. SystemClock in adapters/memory, ManualClock in testing/.
#include <chrono>
#include <cstdint>

namespace fanout::ports {

class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock milliseconds since the Unix epoch (for events and reports).
  virtual int64_t NowMs() const = 0;
  /// Monotonic nanoseconds (for latencies and deadlines).
  virtual int64_t MonoNs() const = 0;
  /// Blocks the calling thread (retry backoff). A manual clock advances instead.
  virtual void SleepMs(int64_t ms) = 0;
};

}  // namespace fanout::ports
