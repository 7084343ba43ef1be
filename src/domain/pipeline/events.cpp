#include "domain/pipeline/events.hpp"

#include <cmath>
#include <cstdlib>

namespace fanout::domain::pipeline {

namespace {
constexpr std::string_view kEventNames[] = {"received",    "owned",      "quarantined", "processed",
                                            "unit-queued", "batch-done", "unit-done",   "takeover",
                                            "alert-done",  "skipped",    "dead-letter"};
}

std::string_view EventTypeName(EventType t) { return kEventNames[static_cast<size_t>(t)]; }

std::optional<EventType> ParseEventType(std::string_view s) {
  for (size_t i = 0; i < std::size(kEventNames); ++i) {
    if (kEventNames[i] == s) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

std::string IdempotencyKey(const Event& e) {
  std::string k(EventTypeName(e.type));
  k += '|';
  k += e.alert_id;
  k += '|';
  switch (e.type) {
    case EventType::kReceived:
    case EventType::kQuarantined:
      k += e.region + '|' + e.hash;
      break;
    case EventType::kOwned:
    case EventType::kProcessed:
    case EventType::kSkipped:
    case EventType::kTakeover:
      k += e.region + '|' + std::to_string(e.attempt);
      break;
    case EventType::kUnitQueued:
    case EventType::kUnitDone:
      k += e.unit;
      break;
    case EventType::kBatchDone:
      k += e.unit + '|' + std::to_string(e.batch);
      // A redelivery's record is kept next to the first one (the report takes the batch's
      // counts once and adds every record's re-sent pushes): which of two processes records
      // the batch first must not hide that its pushes went out twice. Its time tells two
      // redeliveries apart; the same record appended again keeps its key.
      if (e.redelivered > 0) k += "|r" + std::to_string(e.t_ms);
      if (e.attempt > 0) k += "|t" + e.region;
      break;
    case EventType::kAlertDone:
      break;
    case EventType::kDeadLetter:
      k += e.unit + '|' + std::to_string(e.batch) + '|' + e.detail;
      break;
  }
  return k;
}

double LatencyBucketBoundMs(size_t i) { return 0.5 * std::pow(1.25, static_cast<double>(i)); }

size_t LatencyBucketOf(double ms) {
  if (ms <= 0.5) return 0;
  size_t i = static_cast<size_t>(std::ceil(std::log(ms / 0.5) / std::log(1.25)));
  // Guard against rounding at exact bounds.
  while (i > 0 && LatencyBucketBoundMs(i - 1) >= ms) --i;
  return i < kLatencyBuckets ? i : kLatencyBuckets - 1;
}

double HistogramQuantileMs(const LatencyHistogram& h, double q) {
  uint64_t total = 0;
  for (uint32_t c : h) total += c;
  if (total == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    seen += h[i];
    if (seen >= rank) return LatencyBucketBoundMs(i);
  }
  return LatencyBucketBoundMs(h.size() - 1);
}

std::string UnitKey::ToString() const {
  return std::string(device::PlatformName(platform)) + "/" + std::string(device::FlowName(flow)) +
         "/" + std::to_string(shard);
}

std::optional<UnitKey> UnitKey::Parse(std::string_view s) {
  size_t a = s.find('/');
  if (a == std::string_view::npos) return std::nullopt;
  size_t b = s.find('/', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto p = device::ParsePlatform(s.substr(0, a));
  auto f = device::ParseFlow(s.substr(a + 1, b - a - 1));
  std::string shard(s.substr(b + 1));
  if (!p || !f || shard.empty() || shard.size() > 9) return std::nullopt;
  for (char c : shard) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return UnitKey{*p, *f, static_cast<uint32_t>(std::strtoul(shard.c_str(), nullptr, 10))};
}

std::string JoinDetail(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) {
    out += r;
    out += "; ";
  }
  return out;
}

std::vector<std::string_view> SplitDetail(std::string_view detail) {
  std::vector<std::string_view> out;
  while (!detail.empty()) {
    size_t end = detail.find("; ");
    std::string_view one = detail.substr(0, end);
    detail = end == std::string_view::npos ? std::string_view() : detail.substr(end + 2);
    if (!one.empty()) out.push_back(one);
  }
  return out;
}

}  // namespace fanout::domain::pipeline
