#pragma once
// The app services' metrics (STYLE: a probe per component). Business code calls
// probe_.OnX(...); only this file knows metric names (fanout_<component>_<what>_<unit>).
// All metrics carry the region, so the regions of one process (the demo) stay apart.
// Thread-safe; handles are looked up per call (once per alert or batch, not per push).
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
  /// A replicated device update that could not be written to the local store.
  void OnFeedApplyFailure() const;

 private:
  std::string region_;
};

}  // namespace fanout::app
