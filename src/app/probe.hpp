#pragma once
// The app services' metrics (STYLE: a probe per component). Business code calls
// probe_.OnX(...); only this file knows metric names (fanout_<component>_<what>_<unit>).
// All metrics carry the region, so the regions of one process (the demo) stay apart.
// Thread-safe; handles are looked up per call (once per alert or batch, not per push).
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::app {

class Probe {
 public:
  explicit Probe(std::string region) : region_(std::move(region)) {}

  /// outcome: accepted | duplicate | quarantined | conflict | too_large | unavailable
  void OnIngest(std::string_view provider, std::string_view outcome) const;
  /// outcome: planned | skipped | quarantined
  void OnProcessed(std::string_view priority, std::string_view outcome) const;
  void OnSelected(std::string_view platform, std::string_view flow, uint64_t devices) const;
  /// Per batch: pushes by final outcome, retries, and ingest->accepted latencies.
  void OnBatch(std::string_view platform, std::string_view priority, uint64_t accepted,
               uint64_t failed, uint64_t invalid, uint64_t retries) const;
  void OnPushLatencies(std::string_view priority, const std::vector<double>& seconds) const;
  void OnDevices(uint64_t count) const;
  /// An alert this region completed: seconds from its first receipt (any region) to its
  /// alert-done — the SLA figure (DESIGN §8).
  void OnAlertDone(std::string_view priority, double seconds) const;
  /// A protocol event the log refused (the work item is retried).
  void OnLogFailure() const;
  /// A work item given up as a dead letter (subject: its queue).
  void OnDeadLetter(std::string_view subject) const;
  /// Work recovered at start: messages back on their queues, identifiers, open alerts.
  void OnRecovered(uint64_t messages, uint64_t open_alerts) const;
  /// This region took over another's alert; reason: undecided | stalled.
  void OnTakeover(std::string_view priority, std::string_view reason) const;
  /// Replication of the protocol log from a linked peer region: messages behind, and seconds
  /// since the peer was last heard (-1: never).
  void OnReplication(std::string_view peer, uint64_t lag, double idle_s) const;
  /// Replicated device updates the local store could not write, as a running total (the
  /// registry counts them; the probe exports the increase since the last call).
  void OnFeedStoreFailures(uint64_t total) const;
  /// The API's HTTP server, sampled at scrape time (totals since start).
  struct HttpFigures {
    uint64_t connections_open = 0;
    uint64_t connections_refused = 0;
    uint64_t timeouts = 0;
    uint64_t rejected_busy = 0;
    uint64_t rate_limited = 0;
    uint64_t queued = 0;
  };
  void OnHttp(const HttpFigures& figures) const;

 private:
  std::string region_;
  mutable std::atomic<uint64_t> feed_failures_seen_{0};
  mutable std::atomic<uint64_t> http_refused_seen_{0}, http_timeouts_seen_{0},
      http_rejected_seen_{0}, http_limited_seen_{0};
};

}  // namespace fanout::app
