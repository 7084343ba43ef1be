#include "app/tracker.hpp"

#include <algorithm>

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;

void CompletionTracker::Check(const std::string& alert_id, Alert& a, const std::string& unit,
                              std::vector<Event>& out) {
  if (!unit.empty()) {
    Unit& u = a.units_by_key[unit];
    if (!u.finished && u.batches >= 0 && static_cast<int64_t>(u.done.size()) >= u.batches) {
      u.finished = true;
      a.units_done++;
      Event e;
      e.type = EventType::kUnitDone;
      e.alert_id = alert_id;
      e.region = region_;
      e.t_ms = clock_.NowMs();
      e.unit = unit;
      out.push_back(std::move(e));
    }
  }
  if (!a.finished && a.units >= 0 && a.units_done >= a.units) {
    a.finished = true;
    Event e;
    e.type = EventType::kAlertDone;
    e.alert_id = alert_id;
    e.region = region_;
    e.t_ms = clock_.NowMs();
    out.push_back(std::move(e));
  }
}

void CompletionTracker::Append(const std::vector<Event>& events) {
  // A refused append (storage failure) is repaired by the next start's Recover(), which
  // finds the unit or alert complete without its event.
  for (const Event& e : events) (void)log_.Append(e);
}

void CompletionTracker::OnEvent(const Event& e) {
  // This region took the alert over (whichever of its processes did): every region's
  // progress on it counts here from now on.
  if (e.type == EventType::kTakeover && e.region != region_) {
    std::lock_guard lock(mu_);
    moved_.insert(e.alert_id);
    return;
  }
  if (e.type == EventType::kTakeover && e.region == region_) {
    bool known;
    {
      std::lock_guard lock(mu_);
      moved_.erase(e.alert_id);
      known = adopted_.contains(e.alert_id);
    }
    if (!known) Adopt(e.alert_id);
    return;
  }
  if (e.region != region_) {
    std::vector<Event> out;
    {
      std::lock_guard lock(mu_);
      if (!adopted_.contains(e.alert_id)) return;
      Alert& a = alerts_[e.alert_id];
      Import(a, e);
      Check(e.alert_id, a, e.unit, out);
    }
    Append(out);
    return;
  }
  switch (e.type) {
    case EventType::kProcessed:
      OnProcessed(e.alert_id, e.count);
      break;
    case EventType::kUnitQueued:
      OnUnitQueued(e.alert_id, e.unit, e.count);
      break;
    case EventType::kBatchDone:
      OnBatchDone(e.alert_id, e.unit, e.batch);
      break;
    default:
      break;
  }
}

void CompletionTracker::OnProcessed(const std::string& alert_id, uint32_t units) {
  std::vector<Event> out;
  {
    std::lock_guard lock(mu_);
    Alert& a = alerts_[alert_id];
    a.units = units;
    Check(alert_id, a, "", out);
  }
  Append(out);
}

void CompletionTracker::OnUnitQueued(const std::string& alert_id, const std::string& unit,
                                     uint32_t batches) {
  std::vector<Event> out;
  {
    std::lock_guard lock(mu_);
    Alert& a = alerts_[alert_id];
    a.units_by_key[unit].batches = batches;
    Check(alert_id, a, unit, out);
  }
  Append(out);
}

void CompletionTracker::OnBatchDone(const std::string& alert_id, const std::string& unit,
                                    uint32_t batch) {
  std::vector<Event> out;
  {
    std::lock_guard lock(mu_);
    Alert& a = alerts_[alert_id];
    a.units_by_key[unit].done.insert(batch);
    Check(alert_id, a, unit, out);
  }
  Append(out);
}

std::vector<std::string> CompletionTracker::Recover() {
  std::vector<std::string> open;
  std::vector<Event> out;
  for (const std::string& id : log_.AlertIds()) {
    const std::vector<Event> events = log_.Events(id);
    // Whose alert is it? The region that processed it last (a takeover moves it).
    std::string processing;
    for (const Event& e : events) {
      if (e.type == EventType::kProcessed || e.type == EventType::kTakeover) processing = e.region;
    }
    std::string taker;  // the region that took it over last
    for (const Event& e : events) {
      if (e.type == EventType::kTakeover) taker = e.region;
    }
    if (!taker.empty() && taker != region_) {
      std::lock_guard lock(mu_);
      moved_.insert(id);
    }
    const bool processing_took_over = std::any_of(
        events.begin(), events.end(),
        [&](const Event& e) { return e.type == EventType::kTakeover && e.region == processing; });
    if (processing != region_) continue;
    std::lock_guard lock(mu_);
    Alert& a = alerts_[id];
    for (const Event& e : events) Import(a, e);
    // A region that took the alert over counts every region's progress from now on.
    if (processing_took_over) adopted_.insert(id);
    // Completions whose events the crash cut off.
    for (auto& [key, unit] : a.units_by_key) Check(id, a, key, out);
    Check(id, a, "", out);
    if (!a.finished) open.push_back(id);
  }
  Append(out);
  return open;
}

void CompletionTracker::Import(Alert& a, const Event& e) const {
  switch (e.type) {
    case EventType::kProcessed:
      a.units = e.count;
      break;
    case EventType::kUnitQueued: {
      Unit& u = a.units_by_key[e.unit];
      u.batches = e.count;
      if (e.region != region_) u.queued_elsewhere = true;
      break;
    }
    case EventType::kBatchDone: {
      Unit& u = a.units_by_key[e.unit];
      u.done.insert(e.batch);
      // Pushing there means its queuer had published the unit's batches.
      if (e.region != region_ && e.attempt == 0) u.queued_elsewhere = true;
      break;
    }
    case EventType::kUnitDone: {
      Unit& u = a.units_by_key[e.unit];
      if (!u.finished) {
        u.finished = true;
        a.units_done++;
      }
      break;
    }
    case EventType::kAlertDone:
      a.finished = true;
      break;
    default:
      break;
  }
}

void CompletionTracker::Adopt(const std::string& alert_id) {
  const std::vector<Event> events = log_.Events(alert_id);
  std::vector<Event> out;
  {
    std::lock_guard lock(mu_);
    adopted_.insert(alert_id);
    Alert& a = alerts_[alert_id];
    for (const Event& e : events) Import(a, e);
    for (auto& [key, unit] : a.units_by_key) Check(alert_id, a, key, out);
    Check(alert_id, a, "", out);
  }
  Append(out);
}

bool CompletionTracker::MovedAway(const std::string& alert_id) const {
  std::lock_guard lock(mu_);
  return moved_.contains(alert_id);
}

bool CompletionTracker::Adopted(const std::string& alert_id) const {
  std::lock_guard lock(mu_);
  return adopted_.contains(alert_id);
}

std::set<std::string> CompletionTracker::DoneUnits(const std::string& alert_id) const {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  auto it = alerts_.find(alert_id);
  if (it == alerts_.end()) return out;
  for (const auto& [key, unit] : it->second.units_by_key) {
    if (unit.finished) out.insert(key);
  }
  return out;
}

size_t CompletionTracker::Open() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [_, a] : alerts_) n += a.finished ? 0 : 1;
  return n;
}

bool CompletionTracker::BatchDone(const std::string& alert_id, const std::string& unit,
                                  uint32_t batch) const {
  std::lock_guard lock(mu_);
  auto a = alerts_.find(alert_id);
  if (a == alerts_.end()) return false;
  auto u = a->second.units_by_key.find(unit);
  return u != a->second.units_by_key.end() && u->second.done.contains(batch);
}

bool CompletionTracker::QueuedElsewhere(const std::string& alert_id,
                                        const std::string& unit) const {
  std::lock_guard lock(mu_);
  auto a = alerts_.find(alert_id);
  if (a == alerts_.end()) return false;
  auto u = a->second.units_by_key.find(unit);
  return u != a->second.units_by_key.end() && u->second.queued_elsewhere;
}

std::set<std::string> CompletionTracker::QueuedUnits(const std::string& alert_id) const {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  auto it = alerts_.find(alert_id);
  if (it == alerts_.end()) return out;
  for (const auto& [key, unit] : it->second.units_by_key) {
    if (unit.batches >= 0) out.insert(key);
  }
  return out;
}

}  // namespace fanout::app
