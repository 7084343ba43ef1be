#include "app/watchdog.hpp"

#include <algorithm>

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;

Watchdog::Watchdog(RegionSettings region, WatchdogSettings settings, ports::ProtocolLog& log,
                   ports::Clock& clock, TakeOverFn take_over)
    : region_(std::move(region)),
      settings_(settings),
      log_(log),
      clock_(clock),
      take_over_(std::move(take_over)) {}

void Watchdog::Apply(const Event& e, int64_t now_ns) {
  if (finished_.contains(e.alert_id)) return;
  switch (e.type) {
    case EventType::kAlertDone:
    case EventType::kQuarantined:
    case EventType::kSkipped:
      watches_.erase(e.alert_id);
      finished_.insert(e.alert_id);
      return;
    default:
      break;
  }
  Watch& w = watches_[e.alert_id];
  w.last_sign_ns = std::max(w.last_sign_ns, now_ns);
  switch (e.type) {
    case EventType::kReceived:
      if (w.hash.empty()) {
        w.hash = e.hash;
        w.provider = e.provider;
        w.priority = e.priority;
        w.received_ms = e.t_ms;
      }
      if (!w.responsible_known) {
        w.responsible = e.owner;
        w.responsible_known = true;
      }
      break;
    case EventType::kProcessed:
      w.decided = true;
      break;
    case EventType::kTakeover:
      w.responsible = e.owner;
      w.responsible_known = true;
      if (e.region == region_.name) w.my_takeovers = std::max(w.my_takeovers, e.attempt + 1);
      if (w.priority.empty()) w.priority = e.priority;
      break;
    default:
      break;
  }
}

void Watchdog::OnEvent(const Event& e) {
  const int64_t now = clock_.MonoNs();
  std::lock_guard lock(mu_);
  Apply(e, now);
}

void Watchdog::Recover() {
  const int64_t now = clock_.MonoNs();
  for (const std::string& id : log_.AlertIds()) {
    const std::vector<Event> events = log_.Events(id);
    std::lock_guard lock(mu_);
    for (const Event& e : events) Apply(e, now);
  }
}

int64_t Watchdog::DeadlineNs(const Watch& w) const {
  const bool high = w.priority == "high";
  int64_t ms = high ? settings_.deadline_high_ms : settings_.deadline_regular_ms;
  if (w.decided) ms = high ? std::min(settings_.stall_ms, ms) : settings_.stall_ms;
  return ms * 1'000'000;
}

std::vector<std::string> Watchdog::Tick() {
  const int64_t now = clock_.MonoNs();
  const uint32_t n = std::max<uint32_t>(region_.regions, 1);
  std::vector<Takeover> due;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, w] : watches_) {
      if (!w.responsible_known) continue;
      if (!w.decided && w.hash.empty()) continue;  // nothing to process it from yet
      uint32_t rank = (region_.index + n - w.responsible % n) % n;
      if (rank == 0) {
        // This region's own alert that nobody decided: its processor has it (ingest hands it
        // on receipt); a receipt that came while this region was away is its successors'
        // part, and only if all of them stay silent does it act itself, last in line.
        if (w.decided) continue;
        rank = n;
      }
      const int64_t deadline = DeadlineNs(w);
      if (now - w.last_sign_ns < static_cast<int64_t>(rank) * deadline) continue;
      Takeover t;
      t.alert_id = id;
      t.hash = w.hash;
      t.provider = w.provider;
      t.priority = w.priority;
      t.received_ms = w.received_ms;
      t.decided = w.decided;
      t.attempt = w.my_takeovers;
      const std::string silent = std::to_string((now - w.last_sign_ns) / 1'000'000) + " ms";
      const std::string whom = "region #" + std::to_string(w.responsible);
      t.reason = w.decided ? whom + " made no progress for " + silent
                           : whom + " recorded no decision for " + silent + " (deadline " +
                                 std::to_string(deadline / 1'000'000) + " ms, " + w.priority + ")";
      if (rank > 1) t.reason += "; successor " + std::to_string(rank) + " in line";
      due.push_back(std::move(t));
    }
  }
  std::vector<std::string> taken;
  // Takeovers recorded earlier whose work could not start (queue unavailable): again.
  std::vector<Takeover> retry;
  {
    std::lock_guard lock(mu_);
    retry.swap(unstarted_);
  }
  for (const Takeover& t : retry) Start(t, taken);
  for (const Takeover& t : due) {
    Event e;
    e.type = EventType::kTakeover;
    e.alert_id = t.alert_id;
    e.region = region_.name;
    e.t_ms = clock_.NowMs();
    e.hash = t.hash;
    e.provider = t.provider;
    e.priority = t.priority;
    e.owner = region_.index;
    e.attempt = t.attempt;
    e.detail = t.reason;
    auto recorded = log_.Append(e);
    if (!recorded) {  // storage failure: the next tick tries again
      probe_.OnLogFailure();
      continue;
    }
    {
      // Responsible from now on (the log's listener may deliver the event later).
      std::lock_guard lock(mu_);
      auto it = watches_.find(t.alert_id);
      if (it != watches_.end()) {
        it->second.responsible = region_.index;
        it->second.my_takeovers = std::max(it->second.my_takeovers, t.attempt + 1);
        it->second.last_sign_ns = now;
      }
    }
    probe_.OnTakeover(t.priority, t.decided ? "stalled" : "undecided");
    Start(t, taken);
  }
  return taken;
}

void Watchdog::Start(const Takeover& t, std::vector<std::string>& taken) {
  if (take_over_(t)) {
    taken.push_back(t.alert_id);
    return;
  }
  std::lock_guard lock(mu_);
  unstarted_.push_back(t);
}

size_t Watchdog::Watching() const {
  std::lock_guard lock(mu_);
  size_t count = 0;
  for (const auto& [_, w] : watches_) count += w.responsible != region_.index ? 1 : 0;
  return count;
}

}  // namespace fanout::app
