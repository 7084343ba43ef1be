#include "app/tracker.hpp"

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;

void CompletionTracker::Check(const std::string& alert_id, Alert& a, const std::string& unit,
                              std::vector<Event>& out) {
  if (!unit.empty()) {
    Unit& u = a.units_by_key[unit];
    if (!u.finished && u.batches >= 0 && u.done >= u.batches) {
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

void CompletionTracker::OnProcessed(const std::string& alert_id, uint32_t units) {
  std::vector<Event> out;
  {
    std::lock_guard lock(mu_);
    Alert& a = alerts_[alert_id];
    a.units = units;
    Check(alert_id, a, "", out);
  }
  for (const Event& e : out) log_.Append(e);
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
  for (const Event& e : out) log_.Append(e);
}

void CompletionTracker::OnBatchDone(const std::string& alert_id, const std::string& unit) {
  std::vector<Event> out;
  {
    std::lock_guard lock(mu_);
    Alert& a = alerts_[alert_id];
    a.units_by_key[unit].done++;
    Check(alert_id, a, unit, out);
  }
  for (const Event& e : out) log_.Append(e);
}

size_t CompletionTracker::Open() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [_, a] : alerts_) n += a.finished ? 0 : 1;
  return n;
}

}  // namespace fanout::app
