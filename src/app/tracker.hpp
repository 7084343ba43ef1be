#pragma once
// Completion of units and alerts in the processing region: a unit is done when all of its
// batches are done, an alert when all of its planned units are. Appends unit-done and
// alert-done exactly once each. Events can arrive in any order (a fast sender may finish a
// batch before the queuer reports the unit's batch count). The sender reports a batch once,
// when its last push is final: pushes waiting in a delayed retry message keep it open.
// Thread-safe.
#include <map>
#include <mutex>
#include <string>

#include "ports/clock.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::app {

class CompletionTracker {
 public:
  CompletionTracker(std::string region, ports::ProtocolLog& log, ports::Clock& clock)
      : region_(std::move(region)), log_(log), clock_(clock) {}

  void OnProcessed(const std::string& alert_id, uint32_t units);
  void OnUnitQueued(const std::string& alert_id, const std::string& unit, uint32_t batches);
  void OnBatchDone(const std::string& alert_id, const std::string& unit);
  /// Alerts processed here and not yet done.
  size_t Open() const;

 private:
  struct Unit {
    int64_t batches = -1;  // unknown until the queuer reports
    int64_t done = 0;
    bool finished = false;
  };
  struct Alert {
    int64_t units = -1;
    int64_t units_done = 0;
    bool finished = false;
    std::map<std::string, Unit> units_by_key;
  };
  // Requires mu_; returns the events to append after unlocking.
  void Check(const std::string& alert_id, Alert& a, const std::string& unit,
             std::vector<domain::pipeline::Event>& out);

  std::string region_;
  ports::ProtocolLog& log_;
  ports::Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Alert> alerts_;
};

}  // namespace fanout::app
