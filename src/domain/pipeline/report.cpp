#include "domain/pipeline/report.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace fanout::domain::pipeline {

namespace {
void MergeTimes(FlowReport& r, int64_t first, int64_t last) {
  if (first != 0 && (r.first_push_ms == 0 || first < r.first_push_ms)) r.first_push_ms = first;
  if (last > r.last_push_ms) r.last_push_ms = last;
}
}  // namespace

AlertReport DeriveReport(const std::string& alert_id, const std::vector<Event>& events) {
  AlertReport r;
  r.alert_id = alert_id;
  r.status = events.empty() ? "unknown" : "received";
  for (int p = 0; p < device::kPlatformCount; ++p) {
    for (int f = 0; f < device::kFlowCount; ++f) {
      FlowReport fr;
      fr.platform = static_cast<device::Platform>(p);
      fr.flow = static_cast<device::Flow>(f);
      r.flows.push_back(fr);
    }
  }
  auto flow_of = [&](const std::string& unit) -> FlowReport* {
    auto key = UnitKey::Parse(unit);
    if (!key) return nullptr;
    return &r.flows[static_cast<size_t>(key->platform) * device::kFlowCount +
                    static_cast<size_t>(key->flow)];
  };
  std::vector<LatencyHistogram> hist(r.flows.size(), LatencyHistogram{});
  LatencyHistogram total_hist{};
  // A unit or batch may be reported twice after a takeover; count each once.
  std::set<std::string> units_queued, units_done;
  struct BatchSeen {
    std::string region;     // the first record's
    bool both = false;      // recorded by two regions: counted re-sent once
    uint64_t possibly = 0;  // counted possibly re-sent (a taker's record, attempt 2)
  };
  std::map<std::pair<std::string, uint32_t>, BatchSeen> batches_done;
  bool done = false, quarantined = false, skipped = false, processed = false;
  for (const Event& e : events) {
    switch (e.type) {
      case EventType::kReceived:
        if (r.received_ms == 0 || e.t_ms < r.received_ms) r.received_ms = e.t_ms;
        if (std::find(r.received_by.begin(), r.received_by.end(), e.region) ==
            r.received_by.end()) {
          r.received_by.push_back(e.region);
        }
        if (r.hash.empty()) {
          r.hash = e.hash;
          r.provider = e.provider;
          r.priority = e.priority;
          r.owner = e.owner;
        }
        break;
      case EventType::kOwned:
        r.processing_region = e.region;
        break;
      case EventType::kQuarantined:
        quarantined = true;
        r.reasons.push_back(e.detail);
        break;
      case EventType::kSkipped:
        skipped = true;
        r.processed_ms = e.t_ms;
        r.reasons.push_back(e.detail);
        break;
      case EventType::kProcessed:
        processed = true;
        r.processed_ms = e.t_ms;
        r.units_planned = e.count;
        if (r.processing_region.empty()) r.processing_region = e.region;
        break;
      case EventType::kUnitQueued:
        if (units_queued.insert(e.unit).second) {
          if (FlowReport* f = flow_of(e.unit)) {
            f->units_queued++;
            f->targeted += e.targeted;
          }
        }
        break;
      case EventType::kBatchDone: {
        auto [first, fresh] = batches_done.try_emplace({e.unit, e.batch}, BatchSeen{e.region});
        if (!fresh) {
          // Another record of a batch already counted: only the pushes it re-sent — all of
          // its accepted ones when another region pushed the batch too (a takeover), which
          // confirms what a taker's record counted as possibly re-sent.
          BatchSeen& seen = first->second;
          FlowReport* f = flow_of(e.unit);
          if (seen.region == e.region) {
            if (f) f->redelivered += e.redelivered;
          } else if (!seen.both) {
            seen.both = true;
            if (f) {
              f->redelivered += e.accepted;
              f->possibly_redelivered -= seen.possibly;
            }
            seen.possibly = 0;
          }
          break;
        }
        if (e.attempt == 2) first->second.possibly = e.accepted;
        if (FlowReport* f = flow_of(e.unit)) f->possibly_redelivered += first->second.possibly;
        if (FlowReport* f = flow_of(e.unit)) {
          f->accepted += e.accepted;
          f->failed += e.failed;
          f->invalid += e.invalid;
          f->redelivered += e.redelivered;
          MergeTimes(*f, e.first_push_ms, e.last_push_ms);
          // the sender's first few distinct failure reasons (JoinDetail)
          for (std::string_view one : SplitDetail(e.detail)) {
            if (r.push_failure_reasons.size() >= kMaxPushFailureReasons) break;
            if (std::find(r.push_failure_reasons.begin(), r.push_failure_reasons.end(), one) ==
                r.push_failure_reasons.end()) {
              r.push_failure_reasons.emplace_back(one);
            }
          }
          auto& h = hist[static_cast<size_t>(f - r.flows.data())];
          for (size_t i = 0; i < kLatencyBuckets; ++i) {
            h[i] += e.latency[i];
            total_hist[i] += e.latency[i];
          }
        }
        break;
      }
      case EventType::kUnitDone:
        if (units_done.insert(e.unit).second) {
          if (FlowReport* f = flow_of(e.unit)) f->units_done++;
        }
        break;
      case EventType::kTakeover:
        r.takeovers++;
        r.processing_region = e.region;  // the watcher that took it over serves it now
        r.reasons.push_back("takeover by " + e.region + ": " + e.detail);
        break;
      case EventType::kAlertDone:
        done = true;
        if (r.done_ms == 0) r.done_ms = e.t_ms;
        break;
      case EventType::kDeadLetter:
        r.dead_letters.push_back((e.unit.empty() ? std::string("alert") : e.unit) + "#" +
                                 std::to_string(e.batch) + ": " + e.detail);
        break;
    }
  }
  for (size_t i = 0; i < r.flows.size(); ++i) {
    FlowReport& f = r.flows[i];
    f.p50_ms = HistogramQuantileMs(hist[i], 0.50);
    f.p99_ms = HistogramQuantileMs(hist[i], 0.99);
    r.total.units_queued += f.units_queued;
    r.total.units_done += f.units_done;
    r.total.targeted += f.targeted;
    r.total.accepted += f.accepted;
    r.total.failed += f.failed;
    r.total.invalid += f.invalid;
    r.total.redelivered += f.redelivered;
    r.total.possibly_redelivered += f.possibly_redelivered;
    MergeTimes(r.total, f.first_push_ms, f.last_push_ms);
  }
  r.total.p50_ms = HistogramQuantileMs(total_hist, 0.50);
  r.total.p99_ms = HistogramQuantileMs(total_hist, 0.99);
  if (quarantined) {
    r.status = "quarantined";
  } else if (skipped) {
    r.status = "skipped";
  } else if (done) {
    r.status = "done";
  } else if (processed || !r.processing_region.empty()) {
    r.status = "processing";
  }
  return r;
}

}  // namespace fanout::domain::pipeline
