#pragma once
// Sender (DESIGN §1.5): pushes one batch through the platform's gateway, retries what is
// retryable with exponential backoff and full jitter (honouring Retry-After) within a
// bounded budget, reports invalid tokens back to the registry, and records the batch
// result with per-push latencies (ingest -> accepted). A backoff never blocks the worker:
// the pushes that must wait are republished as a delayed batch message (only that subset,
// the next attempt number and the counts so far); the batch-done event is written once, by
// the call that settles the batch's last push. Thread-safe.
#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "app/probe.hpp"
#include "app/registry.hpp"
#include "app/settings.hpp"
#include "app/tracker.hpp"
#include "ports/clock.hpp"
#include "ports/plan_store.hpp"
#include "ports/protocol_log.hpp"
#include "ports/push_gateway.hpp"
#include "ports/work_bus.hpp"

namespace fanout::app {

struct SenderCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> retried{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> invalid{0};
};

class Sender {
 public:
  Sender(RegionSettings region, RetrySettings retry, Registry& registry, ports::PlanStore& plans,
         ports::ProtocolLog& log, ports::WorkBus& bus, ports::Clock& clock,
         CompletionTracker& tracker, ports::PushGateway& apns, ports::PushGateway& fcm);

  ports::WorkBus::Ack Handle(const ports::BusMessage& msg);
  const SenderCounters& counters() const { return counters_; }

 private:
  int64_t Backoff(int attempt, std::optional<std::chrono::milliseconds> retry_after);

  RegionSettings region_;
  RetrySettings retry_;
  Registry& registry_;
  ports::PlanStore& plans_;
  ports::ProtocolLog& log_;
  ports::WorkBus& bus_;
  ports::Clock& clock_;
  CompletionTracker& tracker_;
  ports::PushGateway& apns_;
  ports::PushGateway& fcm_;
  SenderCounters counters_;
  // Batches (message ids) this process began pushing and has not settled: one delivered
  // again here is a redelivery even when the server's delivery count says otherwise (a
  // restarted server may have lost its record of the delivery); one still being pushed is
  // not pushed twice at once; one whose batch-done the log refused is not pushed again.
  struct Started {
    bool running = false;
    std::optional<domain::pipeline::Event> unrecorded;  // pushed; batch-done not yet logged
  };
  std::mutex started_mu_;
  std::map<std::string, Started> started_;
  // Batch-done records the log refused, appended again at every call until it takes them:
  // the batch's message may be finished by another process meanwhile (from the first
  // record), and a redelivery's record (re-sent pushes) must still reach the report.
  std::vector<std::pair<std::string, domain::pipeline::Event>> unrecorded_;  // message id
  void FlushUnrecorded();
  std::mutex rng_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
  Probe probe_{region_.name};
};

}  // namespace fanout::app
