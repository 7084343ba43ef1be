#pragma once
// The per-alert delivery report, derived only from protocol events (DESIGN §1.6, §7.2).
#include <cstdint>
#include <string>
#include <vector>

#include "domain/pipeline/events.hpp"

namespace fanout::domain::pipeline {

struct FlowReport {
  device::Platform platform = device::Platform::kApns;
  device::Flow flow = device::Flow::kAll;
  uint32_t units_queued = 0;
  uint32_t units_done = 0;
  uint64_t targeted = 0;
  uint64_t accepted = 0;  // "sent": the platform accepted the push
  uint64_t failed = 0;
  uint64_t invalid = 0;
  // Pushes sent a second time because their batch was in flight when a region crashed
  // (at-least-once; the collapse id keeps one notification on the phone).
  uint64_t redelivered = 0;
  // Pushes a region that took the alert over sent for batches the region before it had queued
  // and left no record of: that region may have pushed them before it died (an upper bound;
  // a record that turns up later moves the batch to `redelivered`).
  uint64_t possibly_redelivered = 0;
  int64_t first_push_ms = 0;  // wall clock, 0 when none
  int64_t last_push_ms = 0;
  double p50_ms = 0;  // ingest -> accepted
  double p99_ms = 0;
};

struct AlertReport {
  std::string alert_id;
  /// received | quarantined | skipped | processing | done
  std::string status;
  std::string hash;
  std::string provider;
  std::string priority;
  uint32_t owner = 0;
  std::vector<std::string> received_by;  // regions
  std::string processing_region;
  int64_t received_ms = 0;  // first receipt in any region
  int64_t processed_ms = 0;
  int64_t done_ms = 0;
  uint32_t units_planned = 0;
  uint32_t takeovers = 0;
  std::vector<std::string> reasons;  // quarantine / skip reasons, takeover reasons
  // Work given up (a unit or batch that reached its maximum deliveries, or failed for good):
  // "<unit>#<batch>: <reason>" per dead letter. Non-empty means some devices were not pushed.
  std::vector<std::string> dead_letters;
  // Why pushes failed (from the batch-done events' details, e.g. "retry_later 503
  // ServiceUnavailable"): distinct reasons, at most kMaxPushFailureReasons.
  std::vector<std::string> push_failure_reasons;
  std::vector<FlowReport> flows;  // apns/all, apns/selected, fcm/all, fcm/selected
  FlowReport total;               // sums; percentiles over all pushes
};

inline constexpr size_t kMaxPushFailureReasons = 20;

AlertReport DeriveReport(const std::string& alert_id, const std::vector<Event>& events);

}  // namespace fanout::domain::pipeline
