#include "app/queuer.hpp"

#include "app/messages.hpp"
#include "domain/pipeline/events.hpp"

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;

Queuer::Queuer(RegionSettings region, PipelineSettings pipeline, const Registry& registry,
               ports::PlanStore& plans, ports::ProtocolLog& log, ports::WorkBus& bus,
               ports::Clock& clock, CompletionTracker& tracker)
    : region_(std::move(region)),
      pipeline_(std::move(pipeline)),
      registry_(registry),
      plans_(plans),
      log_(log),
      bus_(bus),
      clock_(clock),
      tracker_(tracker) {}

ports::WorkBus::Ack Queuer::Handle(const ports::BusMessage& msg) {
  auto work = DecodeUnitWork(msg.payload);
  if (!work) return ports::WorkBus::Ack::GiveUp("undecodable unit work item");
  // Another region took the alert over: it selects every unfinished unit itself.
  if (tracker_.MovedAway(work->alert_id)) return ports::WorkBus::Ack::Done();
  auto unit = domain::pipeline::UnitKey::Parse(work->unit);
  auto plan = plans_.Get(work->alert_id);
  if (!unit || !plan) return ports::WorkBus::Ack::Retry();  // plan not visible yet

  domain::device::SelectionQuery q;
  q.platform = unit->platform;
  q.flow = unit->flow;
  q.shard = unit->shard;
  q.provider = plan->provider;
  q.level = plan->level;
  q.municipalities = &plan->municipalities;
  q.default_levels = &registry_.providers().default_levels;

  uint32_t batches = 0;
  bool publish_failed = false;
  std::string subject = BatchesSubject(work->priority, unit->platform);
  size_t targeted = registry_.Select(
      q, pipeline_.batch_size, [&](std::span<const domain::device::DeviceRef> devices) {
        BatchWork b{work->alert_id, work->unit, batches, work->priority, {}};
        b.items.reserve(devices.size());
        for (const auto& d : devices) b.items.push_back({std::string(d.id), std::string(d.token)});
        // Deterministic ids: a redelivered unit re-selects the same batches, which the bus
        // deduplicates (the index may have changed in between; then the extra devices of the
        // new selection are the ones that were not registered before).
        // Journaled without the tokens (5-10x fewer bytes to store per push); a batch
        // redelivered after a crash gets them from the registry.
        ports::BusMessage m{subject, BatchMsgId(b), Encode(b)};
        m.durable_payload = EncodeWithoutTokens(b);
        auto r = bus_.Publish(std::move(m));
        if (!r) publish_failed = true;
        ++batches;
      });
  if (publish_failed) return ports::WorkBus::Ack::Retry();
  Event e;
  e.type = EventType::kUnitQueued;
  e.alert_id = work->alert_id;
  e.region = region_.name;
  e.t_ms = clock_.NowMs();
  e.unit = work->unit;
  e.count = batches;
  e.targeted = targeted;
  // Once per unit (idempotency key): a redelivered unit re-selects the same batches.
  if (!log_.Append(e)) return ports::WorkBus::Ack::Retry();
  tracker_.OnUnitQueued(work->alert_id, work->unit, batches);
  probe_.OnSelected(domain::device::PlatformName(unit->platform),
                    domain::device::FlowName(unit->flow), targeted);
  return ports::WorkBus::Ack::Done();
}

}  // namespace fanout::app
