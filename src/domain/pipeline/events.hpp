#pragma once
// Alert lifecycle events (DESIGN §1.6) and the fanout unit naming shared by the stages.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/device/device.hpp"

namespace fanout::domain::pipeline {

enum class EventType : uint8_t {
  kReceived,     // ingest stored the bytes (every region that got them)
  kOwned,        // the owner region started processing
  kQuarantined,  // not usable: reasons in detail
  kProcessed,    // parsed, area resolved, units planned (count = units)
  kUnitQueued,   // queuer finished a unit: count = batches, targeted = devices
  kBatchDone,    // sender finished a batch: accepted/failed/invalid, latencies
  kUnitDone,     // every batch of the unit is done
  kTakeover,     // a watcher took over unfinished units (detail = reason)
  kAlertDone,    // every planned unit is done
  kSkipped,      // usable but not pushed (status/scope policy): reason in detail
  kDeadLetter,   // a work item given up (max deliveries or a terminal error): reason in detail
};
std::string_view EventTypeName(EventType t);
std::optional<EventType> ParseEventType(std::string_view s);

/// Latency histogram: bucket i holds values <= kBucketBoundsMs[i] (geometric, x1.25).
inline constexpr size_t kLatencyBuckets = 64;
double LatencyBucketBoundMs(size_t i);
size_t LatencyBucketOf(double ms);
using LatencyHistogram = std::array<uint32_t, kLatencyBuckets>;
/// The bucket bound at quantile q (0..1) of a histogram; 0 for an empty one.
double HistogramQuantileMs(const LatencyHistogram& h, double q);

/// Event::detail holding a list of reasons: "a; b; " (each followed by "; ").
std::string JoinDetail(const std::vector<std::string>& reasons);
/// The reasons of such a detail, without empty ones.
std::vector<std::string_view> SplitDetail(std::string_view detail);

/// A fanout unit: one (platform, flow, shard) of one alert.
struct UnitKey {
  device::Platform platform = device::Platform::kApns;
  device::Flow flow = device::Flow::kAll;
  uint32_t shard = 0;
  std::string ToString() const;  // "apns/all/17"
  static std::optional<UnitKey> Parse(std::string_view s);
  auto operator<=>(const UnitKey&) const = default;
};

struct Event {
  EventType type = EventType::kReceived;
  std::string alert_id;
  std::string region;  // the region that recorded the event
  int64_t t_ms = 0;

  // received / processed
  std::string hash;
  std::string provider;
  std::string priority;  // "high" | "regular"
  uint32_t owner = 0;

  // units and batches
  std::string unit;  // UnitKey::ToString()
  uint32_t batch = 0;
  uint32_t count = 0;  // processed: units planned; unit-queued: batches
  uint64_t targeted = 0;
  uint64_t accepted = 0;
  uint64_t failed = 0;
  uint64_t invalid = 0;
  int64_t first_push_ms = 0;
  int64_t last_push_ms = 0;
  LatencyHistogram latency{};  // batch-done: ingest -> accepted, per push

  // owned / processed / takeover: the processing attempt (0 first; a takeover or a
  // recovery that re-plans counts up), so each is recorded once per (alert, region, attempt).
  // batch-done: > 0 when pushed by a region that took the alert over; its record is kept
  // next to the original region's, so a batch pushed by both (a partition, or the owner's
  // record replicated late) shows as re-sent in the report. 2: the region before had queued
  // the unit, so it may have pushed the batch without a record (report: possibly re-sent).
  uint32_t attempt = 0;
  // batch-done: pushes of this batch sent again because its message was redelivered after
  // a crash (at-least-once: the phone may show them once thanks to the collapse id).
  uint64_t redelivered = 0;

  std::string detail;  // quarantine reasons, skip reason, takeover reason, notes
};

/// The event's idempotency key: appending two events with the same key records one. Built
/// from what makes the event unique in the protocol (DESIGN §1.6), never from its time:
/// received (alert, region, hash), owned/processed/skipped/takeover (alert, region, attempt),
/// quarantined (alert, region, hash), unit-queued/unit-done (alert, unit), batch-done
/// (alert, unit, batch), alert-done (alert), dead-letter (alert, detail).
std::string IdempotencyKey(const Event& e);

}  // namespace fanout::domain::pipeline
