#pragma once
// Port: the replicated log of alert lifecycle events (DESIGN §1.6). Every region appends;
// every region reads every region's events; the delivery report is derived from them.
// Appends are idempotent by IdempotencyKey(event), so a stage that runs twice (a redelivered
// message, a recovery, a takeover racing the owner) records each fact once. Readers replay
// from a position, so a restarted process (and a returning region) catches up.
// Adapters: adapters/memory (in-process), adapters/sqlite (durable, embedded), a JetStream
// stream (distributed).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "domain/common/result.hpp"
#include "domain/pipeline/events.hpp"

namespace fanout::ports {

class ProtocolLog {
 public:
  using Listener = std::function<void(const domain::pipeline::Event&)>;
  struct Entry {
    uint64_t position = 0;  // 1, 2, ...: strictly increasing in append order
    domain::pipeline::Event event;
  };

  virtual ~ProtocolLog() = default;
  /// Records `e` unless an event with the same idempotency key is recorded already.
  /// true: appended; false: a duplicate, nothing changed. An error means it is not recorded
  /// (storage failure): the caller retries its work item. A durable adapter may make the
  /// event durable after returning, in append order, and before any bus acknowledgement
  /// that follows it; Flush() waits for it.
  [[nodiscard]] virtual Result<bool, Error> Append(const domain::pipeline::Event& e) = 0;
  /// Waits until every event appended so far by this process is durable.
  [[nodiscard]] virtual Result<void, Error> Flush() = 0;
  /// All events of one alert, in append order.
  virtual std::vector<domain::pipeline::Event> Events(const std::string& alert_id) const = 0;
  /// Alert ids in order of their first event.
  virtual std::vector<std::string> AlertIds() const = 0;
  /// Up to `max` entries after position `after` (0: from the start), in order.
  virtual std::vector<Entry> ReadFrom(uint64_t after, size_t max) const = 0;
  /// Called for every event appended (not for duplicates) after the call, on the appending
  /// thread.
  virtual void Listen(Listener l) = 0;
};

}  // namespace fanout::ports
