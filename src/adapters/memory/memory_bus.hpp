#pragma once
// In-process WorkBus: one FIFO per subject, competing worker threads, msg-id dedup, delayed
// delivery (a due-time queue per subject; a due message goes before the FIFO backlog, as
// JetStream serves redeliveries before new messages), and kRetry as a short delay. No worker
// sleeps or spins while a message waits. Not durable: a crash loses queued work (the
// embedded default accepts that; the watchdog of a peer region recovers unfinished units).
// Thread-safe.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "ports/work_bus.hpp"

namespace fanout::adapters::memory {

class MemoryBus final : public ports::WorkBus {
 public:
  struct Settings {
    int retry_delay_ms = 20;
    size_t dedup_window = 1'000'000;  // remembered msg ids
  };
  MemoryBus() : MemoryBus(Settings{}) {}
  explicit MemoryBus(Settings s) : settings_(s) {}
  ~MemoryBus() override;

  Result<void, Error> Publish(ports::BusMessage msg) override;
  void Subscribe(const std::string& subject, int workers, Handler handler) override;
  size_t Pending() const override;
  void Stop() override;

 private:
  using SteadyClock = std::chrono::steady_clock;
  struct Queue {
    std::deque<ports::BusMessage> items;
    // Equal due times keep their publish order (multimap inserts at the upper bound).
    std::multimap<SteadyClock::time_point, ports::BusMessage> delayed;
    std::condition_variable cv;
  };
  Queue& QueueFor(const std::string& subject);  // requires mu_
  void Work(Queue* q, Handler handler);

  Settings settings_;
  mutable std::mutex mu_;
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<Queue>> queues_;
  std::unordered_set<std::string> seen_;
  std::deque<std::string> seen_order_;
  size_t pending_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace fanout::adapters::memory
