#pragma once
// In-process ProtocolLog: the events in append order, indexed by alert and by idempotency key.
// Shared by every region of one process (the demo), standing in for the replicated
// JetStream stream. Durability is optional, through a LogJournal (adapters/sqlite has one):
// events are journaled in append order (Flush() waits for them), and Load() reads the
// journal back after a restart. Thread-safe; listeners run on the appending thread, outside the
// lock.
#include <map>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "ports/protocol_log.hpp"

namespace fanout::adapters::memory {

/// Durable record of a protocol log. Writes may complete after the call returns, in call
/// order; Flush() returns once everything before it is durable.
class LogJournal {
 public:
  virtual ~LogJournal() = default;
  /// Writes the event at `position` (1, 2, ...) with its idempotency key. An error only if
  /// the journal cannot take it at all (stopped, or a failed earlier write).
  [[nodiscard]] virtual Result<void, Error> Write(uint64_t position, const std::string& key,
                                                  const domain::pipeline::Event& e) = 0;
  [[nodiscard]] virtual Result<void, Error> Flush() = 0;
  /// Every journaled event, in position order.
  virtual Result<std::vector<domain::pipeline::Event>, Error> LoadAll() = 0;
};

class MemoryProtocolLog final : public ports::ProtocolLog {
 public:
  explicit MemoryProtocolLog(LogJournal* journal = nullptr) : journal_(journal) {}
  /// Reads the journal's events (a previous process's); call once, before use. Returns how
  /// many were loaded.
  Result<size_t, Error> Load();

  Result<bool, Error> Append(const domain::pipeline::Event& e) override;
  Result<void, Error> Flush() override;
  std::vector<domain::pipeline::Event> Events(const std::string& alert_id) const override;
  std::vector<std::string> AlertIds() const override;
  std::vector<Entry> ReadFrom(uint64_t after, size_t max) const override;
  void Listen(Listener l) override;

 private:
  void AddLocked(const domain::pipeline::Event& e, std::string key);

  LogJournal* journal_;
  mutable std::mutex mu_;
  std::vector<domain::pipeline::Event> all_;             // position = index + 1
  std::map<std::string, std::vector<size_t>> by_alert_;  // indexes into all_
  std::vector<std::string> order_;
  std::unordered_set<std::string> keys_;
  std::vector<Listener> listeners_;
};

}  // namespace fanout::adapters::memory
