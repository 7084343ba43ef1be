#pragma once
// Port: work queues between pipeline stages (DESIGN §1, §6). At-least-once: a handler that
// returns kRetry (or a process that dies mid-handler, with a durable adapter) gets the
// message again. Subjects carry the priority, so high and regular never share a queue or
// a worker pool. A message may be delayed (`delay_ms`): the sender reschedules pushes that must
// wait out a backoff instead of sleeping in its worker. Adapters: adapters/memory
// (in-process), NATS JetStream (distributed).
#include <cstdint>
#include <functional>
#include <string>

#include "domain/common/result.hpp"

namespace fanout::ports {

struct BusMessage {
  std::string subject;  // e.g. "units.high"
  std::string msg_id;   // dedup key: publishing the same id twice delivers once
  std::string payload;
  /// Deliver no earlier than this many milliseconds after Publish (0: at once). A waiting
  /// message counts in Pending() and occupies no worker. Relative, so the publisher's clock
  /// (a ManualClock in tests) and the bus's need not agree. JetStream: publish at once with
  /// the delay in a header; a consumer that gets the message before its stream timestamp +
  /// delay NAKs it with the remaining delay (`nak` with delay, the worker moves on) and the
  /// server redelivers it when due, so MaxDeliver must allow for those early deliveries.
  int64_t delay_ms = 0;
};

class WorkBus {
 public:
  enum class Ack { kDone, kRetry };
  using Handler = std::function<Ack(const BusMessage&)>;

  virtual ~WorkBus() = default;
  [[nodiscard]] virtual Result<void, Error> Publish(BusMessage msg) = 0;
  /// Starts `workers` threads that consume `subject` (competing consumers).
  virtual void Subscribe(const std::string& subject, int workers, Handler handler) = 0;
  /// Messages published but not yet acknowledged, over all subjects.
  virtual size_t Pending() const = 0;
  /// Stops the workers after their current message; unconsumed messages stay queued.
  virtual void Stop() = 0;
};

}  // namespace fanout::ports
