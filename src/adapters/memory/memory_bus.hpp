#pragma once
// In-process WorkBus: one FIFO per subject, competing worker threads, msg-id dedup, retry
// with a short delay. Not durable: a crash loses queued work (the embedded default accepts
// that; the watchdog of a peer region recovers unfinished units). Thread-safe.
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
  struct Queue {
    std::deque<ports::BusMessage> items;
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
