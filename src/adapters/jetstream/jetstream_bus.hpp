#pragma once
// WorkBus on NATS JetStream (DESIGN §6, distributed engine): one work-queue stream per
// subject (`alerts.high`, `batches.regular.apns`, ...: priorities and platforms never share a
// stream), durable pull consumers named by Subscription::consumer (processes with the same
// name share the queue, each message goes to one of them), explicit acks, `Nats-Msg-Id`
// dedup over a window longer than any retry, NAK with delay for retries, Term + a dead letter
// for give-up and max-deliver. The delivery count is the server's (persisted with the
// consumer), so `record_deliveries` costs nothing extra here. Vendor headers stay in the .cpp.
// Thread-safe.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/jetstream/nats_client.hpp"
#include "ports/work_bus.hpp"

namespace fanout::adapters::jetstream {

struct JetStreamSettings {
  std::string url = "nats://127.0.0.1:4222";
  NatsClientSettings client;  // user, password, TLS (nats_client.hpp)
  /// Stream names are this prefix + the subject in capitals ("FANOUT_BATCHES_HIGH_APNS").
  std::string stream_prefix = "FANOUT";
  /// Prepended to every subject on the wire ("eu-west" → "eu-west.batches.high.apns"), so
  /// the work queues of several regions can share one NATS system; handlers see the
  /// subjects without it.
  std::string subject_prefix;
  int replicas = 1;
  /// `Nats-Msg-Id` dedup window: longer than any retry chain of one message.
  int64_t dedup_window_ms = 2 * 3600 * 1000;
  /// A delivery not acknowledged within this is redelivered (to any consumer).
  int64_t ack_wait_ms = 30000;
  /// Retry delay when a handler does not name one.
  int64_t retry_delay_ms = 1000;
  /// Longest wait of one fetch (bounds how long Stop() takes).
  int64_t fetch_wait_ms = 500;
  /// Messages a worker fetches at once (handled one after the other).
  int fetch_batch = 8;
  /// While a handler works (up to this long) the bus tells the server every third of the ack
  /// wait that its message is in progress; a handler stuck longer loses its message to
  /// another process, as a dead one does.
  int64_t max_working_ms = 5 * 60 * 1000;
};

class JetStreamBus final : public ports::WorkBus {
 public:
  /// Connects; an unreachable server is an error (start-up).
  static Result<std::unique_ptr<JetStreamBus>, Error> Connect(const JetStreamSettings& settings);
  ~JetStreamBus() override;
  JetStreamBus(const JetStreamBus&) = delete;
  JetStreamBus& operator=(const JetStreamBus&) = delete;

  Result<void, Error> Publish(ports::BusMessage msg) override;
  Result<void, Error> Flush() override;
  void Subscribe(const Subscription& subscription, Handler handler) override;
  void OnDeadLetter(DeadLetterSink sink) override;
  /// Messages stored and not yet acknowledged in the streams this bus has used (shared with
  /// every other process on them: a work-queue stream holds exactly the unacknowledged ones).
  size_t Pending() const override;
  void Stop() override;

  /// The stream that holds `subject`.
  std::string StreamFor(const std::string& subject) const;
  /// Messages waiting (stored, not acknowledged) on `subject`, from the server (queue depth
  /// for metrics and tests). An error if the stream does not exist.
  Result<uint64_t, Error> Depth(const std::string& subject) const;

  /// Whether its NATS connection is up (readiness).
  bool Connected() const;

 private:
  struct Impl;
  explicit JetStreamBus(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fanout::adapters::jetstream
