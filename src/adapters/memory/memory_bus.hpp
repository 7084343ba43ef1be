#pragma once
// In-process WorkBus: one FIFO per subject, competing worker threads, msg-id dedup, delayed
// delivery (a due-time queue per subject; a due message goes before the FIFO backlog, as
// JetStream serves redeliveries before new messages), retries with a delay, delivery
// counts, max-deliver and dead letters. No worker sleeps or spins while a message waits.
//
// Durability is optional, through a BusJournal (adapters/sqlite has one): every published
// message, delivery count and final acknowledgement is journaled in order (a delivery is
// durable before its handler runs), and Recover() puts the unfinished messages of a previous
// process back on their queues with their delivery counts. Without a journal a crash loses
// the queued work. The journal also keeps finished message ids, so dedup survives a restart.
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

/// Durable record of a bus's messages. Writes may complete after the call returns, but in
/// call order (so an acknowledgement is never durable before the messages its handler
/// published); Delivered() and Flush() return once everything before them is durable.
class BusJournal {
 public:
  virtual ~BusJournal() = default;
  /// Records a published message due at `due_epoch_ms`. The bus has checked its id.
  virtual void Add(const ports::BusMessage& m, int64_t due_epoch_ms) = 0;
  /// The message is handed to a handler for the `deliveries`-th time. With `wait`, durable
  /// on return, so a crash during the handler is seen as a redelivery after the restart.
  [[nodiscard]] virtual Result<void, Error> Delivered(const std::string& msg_id,
                                                      uint32_t deliveries, bool wait) = 0;
  /// A retried message is due again at `due_epoch_ms`.
  virtual void Rescheduled(const std::string& msg_id, int64_t due_epoch_ms) = 0;
  /// Acknowledged or dead-lettered: never delivered again (its id stays for dedup).
  virtual void Finished(const std::string& msg_id) = 0;
  /// Waits until every earlier call is durable.
  [[nodiscard]] virtual Result<void, Error> Flush() = 0;
  struct Unfinished {
    ports::BusMessage message;  // deliveries = deliveries recorded so far
    int64_t due_epoch_ms = 0;
  };
  /// Every message not finished, in publish order, and the ids of the finished ones that
  /// are still remembered (dedup across a restart).
  virtual Result<std::vector<Unfinished>, Error> LoadUnfinished() = 0;
  virtual Result<std::vector<std::string>, Error> LoadFinishedIds() = 0;
};

class MemoryBus final : public ports::WorkBus {
 public:
  struct Settings {
    int retry_delay_ms = 20;
    size_t dedup_window = 1'000'000;  // remembered msg ids (without a journal)
  };
  MemoryBus() : MemoryBus(Settings{}) {}
  explicit MemoryBus(Settings s, BusJournal* journal = nullptr) : settings_(s), journal_(journal) {}
  ~MemoryBus() override;

  /// Queues the unfinished messages of the journal (a previous process's work); call once,
  /// before Subscribe. Returns how many were recovered.
  Result<size_t, Error> Recover();

  Result<void, Error> Publish(ports::BusMessage msg) override;
  Result<void, Error> Flush() override;
  void Subscribe(const Subscription& subscription, Handler handler) override;
  void OnDeadLetter(DeadLetterSink sink) override;
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
  Queue& QueueFor(const std::string& subject);                      // requires mu_
  void Enqueue(Queue& q, ports::BusMessage msg, int64_t delay_ms);  // requires mu_
  void Work(Queue* q, Subscription sub, Handler handler);
  void DeadLettered(const ports::BusMessage& msg, const Subscription& sub,
                    std::string reason);  // without mu_

  Settings settings_;
  BusJournal* journal_;
  mutable std::mutex mu_;
  bool stopping_ = false;
  std::map<std::string, std::unique_ptr<Queue>> queues_;
  std::unordered_set<std::string> seen_;  // dedup: the last dedup_window ids
  std::deque<std::string> seen_order_;
  bool Seen(const std::string& msg_id);  // requires mu_; remembers the id
  size_t pending_ = 0;
  uint64_t anonymous_ = 0;  // ids for journaled messages published without one
  DeadLetterSink dead_letters_;
  std::vector<std::thread> threads_;
};

}  // namespace fanout::adapters::memory
