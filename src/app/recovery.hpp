#pragma once
// What a region does with work it cannot finish, and with work a previous process left
// (DESIGN §5: recovery of one's own region and takeover of another's are one mechanism —
// find what is not done, resume it from the durable state).
#include <string>
#include <vector>

#include "app/probe.hpp"
#include "app/processor.hpp"
#include "app/tracker.hpp"
#include "ports/clock.hpp"
#include "ports/protocol_log.hpp"
#include "ports/work_bus.hpp"

namespace fanout::app {

/// Records a work item the bus gave up, so the alert's report shows it and completion does
/// not wait forever:
/// - an alert item: the alert is quarantined with reason "DEAD_LETTER: ...";
/// - a unit item: a dead-letter event for the unit (the report lists it; the unit stays
///   open, the alert is not reported done);
/// - a batch item: a dead-letter event and the batch counted done with all its pushes
///   failed (reason in the report), so the unit completes.
void RecordDeadLetter(const ports::WorkBus::DeadLetter& dead, const std::string& region,
                      ports::ProtocolLog& log, CompletionTracker& tracker, ports::Clock& clock,
                      const Probe& probe);

struct RecoveryResult {
  size_t messages = 0;     // queued work items of the previous process, back on their queues
  size_t identifiers = 0;  // alert identifiers ingest knows again (409 across restarts)
  std::vector<std::string> open_alerts;  // processed here, not done: resumed
};

/// Resumes every open alert this region processed: the stored plan is re-announced and its
/// units re-published (message ids deduplicate what is queued or finished already, so only
/// missing work is added). Returns the alerts resumed.
std::vector<std::string> ResumeOpenAlerts(CompletionTracker& tracker, Processor& processor);

}  // namespace fanout::app
