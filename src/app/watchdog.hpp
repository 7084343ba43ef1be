#pragma once
// Watchdog (DESIGN §5): a region watches every alert another region is responsible for and
// takes it over when that region stays silent.
//
// An alert's responsible region is its owner (DESIGN §1.2) until a `takeover` event names
// another (the event's `owner` field carries the taker's index). Every protocol event of the
// alert, from any region, counts as a sign of life. Deadlines, measured on this process's
// monotonic clock from the last sign of life it observed (never from another machine's clock):
// - not yet decided (no processed / quarantined / skipped): the priority's deadline
//   (watchdog.deadline_high_ms, watchdog.deadline_regular_ms);
// - decided, not done: watchdog.stall_ms without progress (high priority: at most the high
//   deadline). Progress is per alert: a batch or unit of any unit counts.
// With N regions the successors of the responsible region r are r+1, r+2, ... (mod N); the
// k-th successor acts after k deadlines of silence, so exactly one region takes over first,
// and the next only if that one also stays silent (its takeover resets the clock). The
// responsible region itself comes last (after N deadlines) for an alert nobody decided.
// A takeover is appended as a protocol event with its reason before the work starts; the
// region's TakeOverFn then resumes the unfinished units (or processes the alert from its raw
// bytes when the owner never planned it). Engine-agnostic: fed by the protocol log's
// listener, ticked by the region's thread (tests tick it with a manual clock). Thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "app/probe.hpp"
#include "app/settings.hpp"
#include "ports/clock.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::app {

class Watchdog {
 public:
  struct Takeover {
    std::string alert_id;
    std::string hash;
    std::string provider;
    std::string priority;
    int64_t received_ms = 0;
    bool decided = false;  // the responsible region recorded processed (a plan exists)
    uint32_t attempt = 0;  // this region's takeovers of the alert before this one
    std::string reason;
  };
  /// Starts the work of a takeover whose event is recorded; false: retry at the next tick.
  using TakeOverFn = std::function<bool(const Takeover&)>;

  Watchdog(RegionSettings region, WatchdogSettings settings, ports::ProtocolLog& log,
           ports::Clock& clock, TakeOverFn take_over);

  /// Every protocol event (the log's listener; duplicates and any order are fine).
  void OnEvent(const domain::pipeline::Event& e);
  /// Watches the unfinished alerts of other regions found in the log (at start; their
  /// silence is counted from now).
  void Recover();
  /// Takes over what has been silent too long. Returns the alerts taken over.
  std::vector<std::string> Tick();
  /// Alerts watched now (not done, another region responsible).
  size_t Watching() const;

 private:
  struct Watch {
    std::string hash, provider, priority;
    int64_t received_ms = 0;
    uint32_t responsible = 0;
    bool responsible_known = false;
    bool decided = false;
    int64_t last_sign_ns = 0;
    uint32_t my_takeovers = 0;
  };
  // Requires mu_.
  void Apply(const domain::pipeline::Event& e, int64_t now_ns);
  int64_t DeadlineNs(const Watch& w) const;
  // Starts a recorded takeover's work; kept for the next tick when it cannot start.
  void Start(const Takeover& t, std::vector<std::string>& taken);

  RegionSettings region_;
  WatchdogSettings settings_;
  ports::ProtocolLog& log_;
  ports::Clock& clock_;
  TakeOverFn take_over_;
  Probe probe_{region_.name};
  mutable std::mutex mu_;
  std::map<std::string, Watch> watches_;
  std::set<std::string> finished_;
  std::vector<Takeover> unstarted_;  // recorded, work not started yet  // done, quarantined or
                                     // skipped: never watched again
};

}  // namespace fanout::app
