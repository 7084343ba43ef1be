#pragma once
// Port: work queues between pipeline stages (DESIGN §1, §6). At-least-once: a handler that
// asks for a retry, or a process that dies mid-handler (with a durable adapter), gets the
// message again, with its delivery count raised. Stages are idempotent, so a redelivery is
// harmless. Subjects carry the priority, so high and regular never share a queue or a worker
// pool. A message may be delayed (`delay_ms`): the sender reschedules pushes that must wait
// out a backoff instead of sleeping in its worker. Adapters: adapters/memory (in-process,
// optionally journaled to SQLite so queued work survives a crash), NATS JetStream
// (distributed).
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
  /// Set by the bus on delivery: 1 the first time, more after a retry or a crash
  /// (JetStream: the consumer's delivery count).
  uint32_t deliveries = 0;
  /// Optional: what a durable adapter stores instead of `payload` — a compact form the
  /// consumer also accepts, delivered only after a restart (push batches journal device ids
  /// without tokens; the sender looks the tokens up). Empty: the payload is stored.
  std::string durable_payload{};
  /// Derived work: recreated from durable state by the publisher's own recovery (a unit from
  /// its stored plan: Processor::Resume), so a durable adapter need not store it, nor its
  /// acknowledgement. Delivered like any other message while the process runs.
  bool derived = false;
};

class WorkBus {
 public:
  /// A handler's answer.
  struct Ack {
    enum class Kind { kDone, kRetry, kGiveUp };
    Kind kind = Kind::kDone;
    int64_t delay_ms = -1;  // kRetry: redeliver after this long (-1: the bus's default)
    std::string reason;     // kGiveUp: why (recorded in the dead letter)

    static Ack Done() { return {}; }
    static Ack Retry(int64_t delay_ms = -1) { return {Kind::kRetry, delay_ms, {}}; }
    /// Terminal: the message is dropped and reported as a dead letter with `reason`.
    static Ack GiveUp(std::string reason) { return {Kind::kGiveUp, -1, std::move(reason)}; }
  };
  using Handler = std::function<Ack(const BusMessage&)>;

  struct Subscription {
    std::string subject;
    /// Durable consumer name: processes subscribing with the same name share the queue
    /// (each message goes to one of them) and a restarted one resumes where it left off.
    std::string consumer;
    int workers = 1;
    /// A message retried this many times is given up as a dead letter (0: never).
    uint32_t max_deliver = 0;
    /// The handler has effects outside the system (pushes): a durable adapter records each
    /// delivery durably before the handler runs, so a delivery cut off by a crash is known
    /// as a redelivery afterwards (BusMessage::deliveries > 1). Costs one durable write per
    /// message (SQLite engine: an append to the marks file, no commit wait). JetStream: the
    /// server counts deliveries; workers fetch such messages one at a time, so a process
    /// that dies holds only the ones it was working on.
    bool record_deliveries = false;
  };
  /// A message that was given up: by the handler (kGiveUp) or at max_deliver.
  struct DeadLetter {
    BusMessage message;
    std::string consumer;
    std::string reason;
  };
  using DeadLetterSink = std::function<void(const DeadLetter&)>;

  virtual ~WorkBus() = default;
  /// Queues a message. A durable adapter may make it durable after returning, but always
  /// before the publishing handler's own message is acknowledged (a handler's outputs are
  /// never lost while its input is acknowledged). Flush() waits for it.
  [[nodiscard]] virtual Result<void, Error> Publish(BusMessage msg) = 0;
  /// Waits until every message published so far by this process is durable (ingest calls
  /// it before answering 202). An error: they may not be.
  [[nodiscard]] virtual Result<void, Error> Flush() = 0;
  /// Starts `workers` threads that consume the subject (competing consumers).
  virtual void Subscribe(const Subscription& subscription, Handler handler) = 0;
  /// Where dead letters are reported (set before Subscribe); without one they are logged
  /// by the adapter only.
  virtual void OnDeadLetter(DeadLetterSink sink) = 0;
  /// Messages published but not yet acknowledged, over all subjects.
  virtual size_t Pending() const = 0;
  /// Stops the workers after their current message; unconsumed messages stay queued (and,
  /// in a durable adapter, are delivered again after a restart).
  virtual void Stop() = 0;
};

}  // namespace fanout::ports
