#pragma once
// Completion of units and alerts in the processing region: a unit is done when all of its
// batches are done, an alert when all of its planned units are. Appends unit-done and
// alert-done once each (the log's idempotency keys make a repeat harmless). Events can arrive
// in any order (a fast sender may finish a batch before the queuer reports the unit's batch
// count) and more than once (redelivered work): batches are counted by their distinct
// numbers, not by calls. The sender reports a batch once, when its last push is final:
// pushes waiting in a delayed retry message keep it open. Recover() rebuilds the state from
// the protocol log after a restart. Thread-safe.
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ports/clock.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::app {

class CompletionTracker {
 public:
  CompletionTracker(std::string region, ports::ProtocolLog& log, ports::Clock& clock)
      : region_(std::move(region)), log_(log), clock_(clock) {}

  void OnProcessed(const std::string& alert_id, uint32_t units);
  void OnUnitQueued(const std::string& alert_id, const std::string& unit, uint32_t batches);
  void OnBatchDone(const std::string& alert_id, const std::string& unit, uint32_t batch);
  /// The same, from the protocol log: `processed`, `unit-queued` and `batch-done` of this
  /// region, whichever process of the region appended them (the stages' direct calls and the
  /// log's delivery of the same event count once). Other events and regions are ignored.
  void OnEvent(const domain::pipeline::Event& e);

  /// Rebuilds completion from the log: every alert this region processed (or took over),
  /// with its queued units and done batches. Appends the unit-done and alert-done events a
  /// crash left unwritten. Returns the ids of the alerts that are still open, i.e. the work
  /// to resume.
  std::vector<std::string> Recover();

  /// Takes over completion of an alert another region was processing (DESIGN §5): its
  /// progress so far is read from the log, and from now on the batches and units any region
  /// records for it count here too (batches are the same whoever queues them).
  void Adopt(const std::string& alert_id);
  /// Whether this region took the alert over (its batch records say so).
  bool Adopted(const std::string& alert_id) const;
  /// Whether another region took the alert over last (DESIGN §5): its work left in this
  /// region's queues is dropped, the taker does every unfinished unit itself.
  bool MovedAway(const std::string& alert_id) const;
  /// Whether a batch of this unit, pushed here under a takeover, may have been pushed by
  /// another region too: that region had queued the unit (its senders may have had the
  /// batch in flight when it died, before its batch-done was recorded or replicated).
  bool QueuedElsewhere(const std::string& alert_id, const std::string& unit) const;
  /// Units of an alert known complete (all batches done, or a unit-done by any region).
  std::set<std::string> DoneUnits(const std::string& alert_id) const;

  /// Alerts processed here and not yet done.
  size_t Open() const;
  /// Whether the batch is known done (its batch-done event was appended, by any process).
  bool BatchDone(const std::string& alert_id, const std::string& unit, uint32_t batch) const;
  /// The units of an alert whose `unit-queued` is known (their batches are all published).
  std::set<std::string> QueuedUnits(const std::string& alert_id) const;

 private:
  struct Unit {
    int64_t batches = -1;  // unknown until the queuer reports
    std::set<uint32_t> done;
    bool finished = false;
    bool queued_elsewhere = false;  // another region's unit-queued or first batch is known
  };
  struct Alert {
    int64_t units = -1;
    int64_t units_done = 0;
    bool finished = false;
    std::map<std::string, Unit> units_by_key;
  };
  // Requires mu_: one event of the alert into its state (any region's).
  void Import(Alert& a, const domain::pipeline::Event& e) const;
  // Requires mu_; returns the events to append after unlocking.
  void Check(const std::string& alert_id, Alert& a, const std::string& unit,
             std::vector<domain::pipeline::Event>& out);
  void Append(const std::vector<domain::pipeline::Event>& events);

  std::string region_;
  ports::ProtocolLog& log_;
  ports::Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Alert> alerts_;
  std::set<std::string> adopted_;  // taken over: every region's progress counts
  std::set<std::string> moved_;    // taken over by another region last
};

}  // namespace fanout::app
