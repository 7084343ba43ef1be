#pragma once
// Queuer (DESIGN §1.4): selects the devices of one fanout unit from the registry's index and
// emits batches of at most batch_size tokens to the platform's sender queue.
#include "app/probe.hpp"
#include "app/registry.hpp"
#include "app/settings.hpp"
#include "app/tracker.hpp"
#include "ports/clock.hpp"
#include "ports/plan_store.hpp"
#include "ports/protocol_log.hpp"
#include "ports/work_bus.hpp"

namespace fanout::app {

class Queuer {
 public:
  Queuer(RegionSettings region, PipelineSettings pipeline, const Registry& registry,
         ports::PlanStore& plans, ports::ProtocolLog& log, ports::WorkBus& bus, ports::Clock& clock,
         CompletionTracker& tracker);

  ports::WorkBus::Ack Handle(const ports::BusMessage& msg);

 private:
  RegionSettings region_;
  PipelineSettings pipeline_;
  const Registry& registry_;
  ports::PlanStore& plans_;
  ports::ProtocolLog& log_;
  ports::WorkBus& bus_;
  ports::Clock& clock_;
  CompletionTracker& tracker_;
  Probe probe_{region_.name};
};

}  // namespace fanout::app
