#include "app/recovery.hpp"

#include "app/messages.hpp"

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;

void RecordDeadLetter(const ports::WorkBus::DeadLetter& dead, const std::string& region,
                      ports::ProtocolLog& log, CompletionTracker& tracker, ports::Clock& clock,
                      const Probe& probe) {
  probe.OnDeadLetter(dead.message.subject);
  const std::string& payload = dead.message.payload;
  Event e;
  e.region = region;
  e.t_ms = clock.NowMs();
  e.detail = dead.reason + " (" + dead.message.subject + ", " +
             std::to_string(dead.message.deliveries) + " deliveries)";
  if (auto alert = DecodeAlertWork(payload)) {
    e.type = EventType::kQuarantined;
    e.alert_id = alert->alert_id;
    e.hash = alert->hash;
    e.provider = alert->provider;
    e.detail = "DEAD_LETTER: " + e.detail;
    (void)log.Append(e);
    return;
  }
  if (auto unit = DecodeUnitWork(payload)) {
    e.type = EventType::kDeadLetter;
    e.alert_id = unit->alert_id;
    e.unit = unit->unit;
    (void)log.Append(e);
    return;
  }
  if (auto batch = DecodeBatchWork(payload)) {
    e.type = EventType::kDeadLetter;
    e.alert_id = batch->alert_id;
    e.unit = batch->unit;
    e.batch = batch->batch;
    (void)log.Append(e);
    Event done;
    done.type = EventType::kBatchDone;
    done.alert_id = batch->alert_id;
    done.region = region;
    done.t_ms = e.t_ms;
    done.unit = batch->unit;
    done.batch = batch->batch;
    const BatchProgress& p = batch->progress;
    done.accepted = p.accepted;
    done.invalid = p.invalid;
    done.failed = p.failed + batch->items.size();
    done.first_push_ms = p.first_push_ms;
    done.last_push_ms = p.last_push_ms;
    done.latency = p.latency;
    done.redelivered = p.redelivered;
    done.detail = "dead letter: " + dead.reason + "; ";
    if (log.Append(done)) tracker.OnBatchDone(batch->alert_id, batch->unit, batch->batch);
    return;
  }
  // Not one of ours: nothing to attribute it to; the probe counted it.
}

std::vector<std::string> ResumeOpenAlerts(CompletionTracker& tracker, Processor& processor) {
  std::vector<std::string> open = tracker.Recover();
  for (const std::string& id : open) processor.Resume(id, tracker.QueuedUnits(id));
  return open;
}

}  // namespace fanout::app
