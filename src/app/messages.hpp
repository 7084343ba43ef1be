#pragma once
// The work items the stages pass over the WorkBus, their subjects and their encoding.
#include <optional>
#include <string>
#include <vector>

#include "domain/device/device.hpp"
#include "domain/pipeline/events.hpp"

namespace fanout::app {

struct AlertWork {  // ingest -> processor
  std::string alert_id;
  std::string hash;
  std::string provider;
  std::string priority;
  int64_t received_ms = 0;  // receipt in the ingesting region: the latency origin
};

struct UnitWork {  // processor -> queuer
  std::string alert_id;
  std::string unit;  // UnitKey::ToString()
  std::string priority;
};

struct BatchItem {
  std::string device_id;
  std::string token;  // empty in the durable (compact) form: looked up by device id
};

/// What the earlier attempts of a batch settled. A retry message carries it, so the batch's
/// one batch-done event (written when its last push is final) counts every push once.
struct BatchProgress {
  uint64_t accepted = 0;
  uint64_t failed = 0;
  uint64_t invalid = 0;
  int64_t first_push_ms = 0;
  int64_t last_push_ms = 0;
  domain::pipeline::LatencyHistogram latency{};
  std::vector<std::string> reasons;  // the first few failures
  uint64_t redelivered = 0;          // pushes sent again after a redelivery
};

struct BatchWork {  // queuer -> sender, and sender -> sender for a delayed retry
  std::string alert_id;
  std::string unit;
  uint32_t batch = 0;
  std::string priority;
  std::vector<BatchItem> items;  // a retry message: only the pushes still to retry
  int attempt = 0;               // the attempt number of the next send (0 = first)
  BatchProgress progress{};      // attempt > 0 only
};

std::string AlertsSubject(const std::string& priority);
std::string UnitsSubject(const std::string& priority);
std::string BatchesSubject(const std::string& priority, domain::device::Platform p);

/// Bus message ids: deterministic, so a redelivered unit or retry deduplicates; a retry
/// message gets its own id per attempt (`<batch id>/r<attempt>`).
std::string BatchMsgId(const BatchWork& w);

std::string Encode(const AlertWork& w);
std::string Encode(const UnitWork& w);
std::string Encode(const BatchWork& w);
/// The durable form of a batch message (BusMessage::durable_payload): the same without the
/// tokens, 5-10x smaller; a redelivered batch in this form gets its tokens from the registry.
std::string EncodeWithoutTokens(const BatchWork& w);
std::optional<AlertWork> DecodeAlertWork(const std::string& s);
std::optional<UnitWork> DecodeUnitWork(const std::string& s);
std::optional<BatchWork> DecodeBatchWork(const std::string& s);

}  // namespace fanout::app
