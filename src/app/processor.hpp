#pragma once
// Processor (DESIGN §1.3): decodes an owned alert, applies the push policy (status, scope,
// msgType), resolves the area to municipalities, folds in the alerts an Update/Cancel
// references, builds the payloads, stores the plan and emits one work item per fanout unit
// (platform x flow x shard). Thread-safe (stateless between messages).
#include <set>
#include <string>

#include "app/messages.hpp"
#include "app/probe.hpp"
#include "app/settings.hpp"
#include "app/tracker.hpp"
#include "domain/geo/catalog.hpp"
#include "domain/geo/geometry.hpp"
#include "ports/alert_archive.hpp"
#include "ports/alert_decoder.hpp"
#include "ports/clock.hpp"
#include "ports/plan_store.hpp"
#include "ports/protocol_log.hpp"
#include "ports/work_bus.hpp"

namespace fanout::app {

class Processor {
 public:
  Processor(RegionSettings region, ProviderSettings providers, PipelineSettings pipeline,
            const ports::AlertDecoder& decoder, const domain::geo::GeoCatalog& catalog,
            ports::AlertArchive& archive, ports::PlanStore& plans, ports::ProtocolLog& log,
            ports::WorkBus& bus, ports::Clock& clock, CompletionTracker& tracker,
            const domain::geo::GeometryIndex* geometry);

  /// Handles one `alerts.<priority>` message.
  ports::WorkBus::Ack Handle(const ports::BusMessage& msg);
  /// Resumes an alert planned before (recovery after a restart, later takeover): records
  /// `processed` if it is missing and re-publishes the units not in `queued` (units are
  /// derived work, not journaled: a unit whose `unit-queued` event is in the log has all its
  /// batches durable, the others are selected again). False if there is no stored plan.
  bool Resume(const std::string& alert_id, const std::set<std::string>& queued = {});
  /// Takes over an alert another region was responsible for (DESIGN §5; the takeover event
  /// is recorded already): with its stored plan, records `processed` for this region and
  /// `attempt` and re-publishes every unit not in `done` (the queuer selects them again; the
  /// sender skips the batches any region finished); without a plan (the owner never decided),
  /// processes the alert from its raw bytes. False if the work could not be queued (retry).
  bool TakeOver(const AlertWork& work, uint32_t attempt, const std::set<std::string>& done);

 private:
  /// Records `processed` for a stored plan and queues its units (idempotent).
  ports::WorkBus::Ack Planned(const domain::pipeline::AlertPlan& plan, const std::string& notes,
                              const std::set<std::string>& skip = {}, uint32_t attempt = 0);
  ports::WorkBus::Ack PublishUnits(const domain::pipeline::AlertPlan& plan,
                                   const std::set<std::string>& skip);
  /// Appends with this region's name and the time; false if the log refused (retry).
  bool Record(domain::pipeline::Event e);
  ports::WorkBus::Ack Quarantine(const std::string& alert_id, const std::string& hash,
                                 const std::string& provider, const std::string& reasons);

  RegionSettings region_;
  ProviderSettings providers_;
  PipelineSettings pipeline_;
  const ports::AlertDecoder& decoder_;
  const domain::geo::GeoCatalog& catalog_;
  ports::AlertArchive& archive_;
  ports::PlanStore& plans_;
  ports::ProtocolLog& log_;
  ports::WorkBus& bus_;
  ports::Clock& clock_;
  CompletionTracker& tracker_;
  const domain::geo::GeometryIndex* geometry_;  // nullptr: geocodes only
  Probe probe_{region_.name};
};

}  // namespace fanout::app
