#include "app/processor.hpp"

#include <algorithm>

#include "app/messages.hpp"
#include "app/payload.hpp"
#include "domain/cap/classify.hpp"
#include "domain/cap/validate.hpp"
#include "domain/geo/resolve.hpp"
#include "domain/pipeline/events.hpp"

namespace fanout::app {

using domain::pipeline::AlertPlan;
using domain::pipeline::Event;
using domain::pipeline::EventType;
using domain::pipeline::UnitKey;

Processor::Processor(RegionSettings region, ProviderSettings providers, PipelineSettings pipeline,
                     const ports::AlertDecoder& decoder, const domain::geo::GeoCatalog& catalog,
                     ports::AlertArchive& archive, ports::PlanStore& plans, ports::ProtocolLog& log,
                     ports::WorkBus& bus, ports::Clock& clock, CompletionTracker& tracker,
                     const domain::geo::GeometryIndex* geometry)
    : region_(std::move(region)),
      providers_(std::move(providers)),
      pipeline_(std::move(pipeline)),
      decoder_(decoder),
      catalog_(catalog),
      archive_(archive),
      plans_(plans),
      log_(log),
      bus_(bus),
      clock_(clock),
      tracker_(tracker),
      geometry_(geometry) {}

bool Processor::Record(Event e) {
  e.region = region_.name;
  e.t_ms = clock_.NowMs();
  auto recorded = log_.Append(e);
  if (!recorded) probe_.OnLogFailure();
  return recorded.has_value();
}

ports::WorkBus::Ack Processor::Quarantine(const std::string& alert_id, const std::string& hash,
                                          const std::string& provider, const std::string& reasons) {
  Event q;
  q.type = EventType::kQuarantined;
  q.alert_id = alert_id;
  q.hash = hash;
  q.provider = provider;
  q.detail = reasons;
  if (!Record(q)) return ports::WorkBus::Ack::Retry();
  probe_.OnProcessed("", "quarantined");
  return ports::WorkBus::Ack::Done();
}

namespace {
constexpr uint32_t kArchiveWaits = 40;  // x 250 ms for a replicated raw alert to arrive

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

int64_t LatestExpiry(const domain::cap::Alert& a) {
  int64_t latest = 0;
  for (const auto& info : a.infos) {
    if (!info.expires) continue;
    if (auto t = domain::cap::ParseCapTime(*info.expires)) latest = std::max(latest, *t);
  }
  return latest;
}
}  // namespace

ports::WorkBus::Ack Processor::Handle(const ports::BusMessage& msg) {
  auto work = DecodeAlertWork(msg.payload);
  if (!work) return ports::WorkBus::Ack::GiveUp("undecodable alert work item");
  // Another region took it over (this one was silent): its to do now, not ours.
  if (tracker_.MovedAway(work->alert_id)) return ports::WorkBus::Ack::Done();
  // A redelivery (crash, retry) of an alert planned before: the stored plan is the plan.
  if (auto planned = plans_.Get(work->alert_id)) return Planned(*planned, "");
  auto bytes = archive_.Get(work->hash);
  if (!bytes) return ports::WorkBus::Ack::Retry();  // archive unavailable: retry later
  // Received by another region: its raw bytes are replicated separately from its receipt
  // event and may still be on the way.
  if (!*bytes && msg.deliveries < kArchiveWaits) return ports::WorkBus::Ack::Retry(250);
  if (!*bytes) {
    return Quarantine(work->alert_id, work->hash, work->provider,
                      "ARCHIVE_MISSING: the raw alert is not in this region's archive");
  }
  domain::cap::CheckResult check = decoder_.Decode(**bytes);
  if (!check.usable || !check.alert) {
    std::string reasons;
    for (const auto& e : check.errors) reasons += e.code + ": " + e.message + "; ";
    return Quarantine(work->alert_id, work->hash, work->provider, reasons);
  }
  const domain::cap::Alert& alert = *check.alert;
  Event owned;
  owned.type = EventType::kOwned;
  owned.alert_id = work->alert_id;
  owned.hash = work->hash;
  owned.provider = work->provider;
  owned.priority = work->priority;
  if (!Record(owned)) return ports::WorkBus::Ack::Retry();

  // Push policy: only actual, public warnings reach the public audience.
  std::string skip;
  if (alert.status != "Actual" && !Contains(providers_.allow_non_actual, work->provider)) {
    skip = "status " + alert.status + " is not pushed for provider " + work->provider;
  } else if (alert.scope != "Public") {
    skip = "scope " + alert.scope + " is not pushed to the public audience";
  } else if (alert.msg_type == "Ack" || alert.msg_type == "Error") {
    skip = "msgType " + alert.msg_type + " is not a warning";
  }
  if (!skip.empty()) {
    Event s;
    s.type = EventType::kSkipped;
    s.alert_id = work->alert_id;
    s.detail = skip;
    if (!Record(s)) return ports::WorkBus::Ack::Retry();
    probe_.OnProcessed(work->priority, "skipped");
    return ports::WorkBus::Ack::Done();
  }

  auto plan = std::make_shared<AlertPlan>();
  plan->alert_id = work->alert_id;
  plan->sender = alert.sender;
  plan->sent = alert.sent;
  plan->hash = work->hash;
  plan->provider = work->provider;
  plan->priority = work->priority;
  plan->msg_type = alert.msg_type;
  plan->level = domain::cap::SeverityLevel(domain::cap::AlertSeverity(alert));
  plan->collapse_id = CollapseIdFor(alert.identifier);
  plan->shards = pipeline_.shards;

  domain::geo::AreaResolution area = domain::geo::ResolveArea(alert, catalog_, geometry_);
  std::vector<std::string> municipalities = area.municipalities;
  std::string notes;
  for (const auto& n : area.notes) notes += n + "; ";
  // Update/Cancel: the phones that got the referenced alert must get this one too, with the
  // same collapse id so the notification is replaced.
  if (alert.msg_type == "Update" || alert.msg_type == "Cancel") {
    bool first = true;
    for (const auto& ref : alert.references) {
      // A self-reference (CIRCULAR_REFERENCE warning) names nothing earlier: ignored.
      if (ref.sender == alert.sender && ref.identifier == alert.identifier) continue;
      auto prior = plans_.FindReferenced(ref.sender, ref.identifier, ref.sent);
      if (first) {
        plan->collapse_id = prior ? prior->collapse_id : CollapseIdFor(ref.identifier);
        first = false;
      }
      if (!prior) {
        notes += "referenced alert " + ref.identifier + " unknown here; ";
        continue;
      }
      municipalities.insert(municipalities.end(), prior->municipalities.begin(),
                            prior->municipalities.end());
      plan->level = std::min(plan->level, prior->level);
    }
    std::sort(municipalities.begin(), municipalities.end());
    municipalities.erase(std::unique(municipalities.begin(), municipalities.end()),
                         municipalities.end());
  }
  if (municipalities.empty()) {
    // Without a resolvable area neither flow can be served correctly (mylocation phones
    // filter by the area the payload names), so the alert is quarantined, not dropped.
    std::string reasons = "AREA_UNRESOLVED: no German municipality could be derived";
    for (const auto& u : area.unresolved) reasons += "; " + u.code + ": " + u.message;
    return Quarantine(work->alert_id, work->hash, work->provider, reasons);
  }
  for (const auto& u : area.unresolved) notes += u.code + ": " + u.message + "; ";
  plan->municipalities = std::move(municipalities);

  // Deterministic: a region that recomputes this plan (after a crash, in a takeover) gets
  // the same one. No local clock but the recorded receipt time.
  plan->received_ms = work->received_ms != 0 ? work->received_ms : clock_.NowMs();
  const int64_t received_s = plan->received_ms / 1000;
  plan->expires_epoch_s = LatestExpiry(alert);
  if (plan->expires_epoch_s == 0) {
    const int64_t sent_s = domain::cap::ParseCapTime(alert.sent).value_or(received_s);
    plan->expires_epoch_s = sent_s + providers_.LifetimeOf(work->provider);
  }

  PayloadInput in;
  in.alert = &alert;
  in.provider = work->provider;
  in.priority = work->priority;
  in.level = plan->level;
  in.area_keys = CompactArea(plan->municipalities, catalog_);
  in.collapse_id = plan->collapse_id;
  in.expires_epoch_s = plan->expires_epoch_s;
  in.now_epoch_s = received_s;
  Payloads payloads = BuildPayloads(in, pipeline_);
  plan->apns_payload = std::move(payloads.apns);
  plan->fcm_payload = std::move(payloads.fcm);
  if (payloads.area_as_url) notes += "area sent as URL (payload over 4 KB); ";

  plan->units = domain::device::kPlatformCount * domain::device::kFlowCount * pipeline_.shards;
  auto stored = plans_.PutIfAbsent(plan);
  if (!stored) return ports::WorkBus::Ack::Retry();
  // Another attempt stored a plan first: that one is the plan (its notes are recorded).
  return Planned(**stored, *stored == plan ? notes : "");
}

bool Processor::Resume(const std::string& alert_id, const std::set<std::string>& queued) {
  auto plan = plans_.Get(alert_id);
  if (!plan) return false;
  (void)Planned(*plan, "", queued);  // a failure leaves the queued work; the next start retries
  return true;
}

bool Processor::TakeOver(const AlertWork& work, uint32_t attempt,
                         const std::set<std::string>& done) {
  if (auto plan = plans_.Get(work.alert_id)) {
    return Planned(*plan, "takeover: " + std::to_string(done.size()) + " units done before", done,
                   attempt)
               .kind == ports::WorkBus::Ack::Kind::kDone;
  }
  // Never planned by the owner: processed here as if owned (its own bus deduplicates by hash).
  return static_cast<bool>(
      bus_.Publish({AlertsSubject(work.priority), "alert:" + work.hash, Encode(work)}));
}

ports::WorkBus::Ack Processor::Planned(const AlertPlan& plan, const std::string& notes,
                                       const std::set<std::string>& skip, uint32_t attempt) {
  Event processed;
  processed.type = EventType::kProcessed;
  processed.attempt = attempt;
  processed.alert_id = plan.alert_id;
  processed.count = plan.units;
  processed.targeted = plan.municipalities.size();
  processed.detail = notes;
  // Idempotent: recorded once per (alert, region, attempt), whichever delivery gets here.
  if (!Record(processed)) return ports::WorkBus::Ack::Retry();
  tracker_.OnProcessed(plan.alert_id, plan.units);
  probe_.OnProcessed(plan.priority, "planned");
  // Units finished by any region (an alert taken over and planned again here) stay finished.
  std::set<std::string> finished = tracker_.DoneUnits(plan.alert_id);
  if (finished.empty()) return PublishUnits(plan, skip);
  finished.insert(skip.begin(), skip.end());
  return PublishUnits(plan, finished);
}

ports::WorkBus::Ack Processor::PublishUnits(const AlertPlan& plan,
                                            const std::set<std::string>& skip) {
  // Shard by shard, each with its four units (platform × flow): the first units taken
  // cover both platforms and both flows, so the first pushes do not wait behind a whole
  // platform's or flow's units (most of which are empty for a small area).
  for (uint32_t s = 0; s < plan.shards; ++s) {
    for (int p = 0; p < domain::device::kPlatformCount; ++p) {
      for (int f = 0; f < domain::device::kFlowCount; ++f) {
        std::string key = UnitKey{static_cast<domain::device::Platform>(p),
                                  static_cast<domain::device::Flow>(f), s}
                              .ToString();
        if (skip.count(key)) continue;
        // Derived work (not journaled): recovery re-publishes it from the stored plan.
        ports::BusMessage unit{UnitsSubject(plan.priority), "unit:" + plan.alert_id + ":" + key,
                               Encode(UnitWork{plan.alert_id, key, plan.priority})};
        unit.derived = true;
        auto r = bus_.Publish(std::move(unit));
        if (!r) return ports::WorkBus::Ack::Retry();  // dedup ids make the replay safe
      }
    }
  }
  return ports::WorkBus::Ack::Done();
}

}  // namespace fanout::app
