// The watchdog's deadlines and successor order (DESIGN §5), with a manual clock and the
// in-process log: three regions watch each other's alerts; the expectations are written by
// hand from the rule (k-th successor acts after k deadlines of silence).
#include "app/watchdog.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "adapters/memory/memory_protocol_log.hpp"
#include "app/tracker.hpp"
#include "testing/fakes.hpp"

namespace fanout::app {
namespace {

using domain::pipeline::Event;
using domain::pipeline::EventType;

struct Cluster {
  explicit Cluster(uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
      RegionSettings r{"r" + std::to_string(i), i, n};
      watchdogs.push_back(std::make_unique<Watchdog>(r, settings, log, clock,
                                                     [this, i](const Watchdog::Takeover& t) {
                                                       taken.push_back({i, t});
                                                       return accept;
                                                     }));
    }
    log.Listen([this](const Event& e) {
      for (auto& w : watchdogs) w->OnEvent(e);
    });
  }
  void Append(EventType type, const std::string& alert, uint32_t region, uint32_t owner,
              std::string priority = "high", std::string unit = "", uint32_t batch = 0) {
    Event e;
    e.type = type;
    e.alert_id = alert;
    e.region = "r" + std::to_string(region);
    e.t_ms = clock.NowMs();
    e.hash = "h-" + alert;
    e.provider = "AP1";
    e.priority = std::move(priority);
    e.owner = owner;
    e.unit = std::move(unit);
    e.batch = batch;
    ASSERT_TRUE(log.Append(e).has_value());
  }
  /// Advances the clock in 100 ms steps, ticking every watchdog, for `ms`.
  void Run(int64_t ms) {
    for (int64_t t = 0; t < ms; t += 100) {
      clock.Advance(100);
      for (auto& w : watchdogs) (void)w->Tick();
    }
  }
  size_t TakeoverEvents(const std::string& alert) const {
    size_t n = 0;
    for (const Event& e : log.Events(alert)) n += e.type == EventType::kTakeover ? 1 : 0;
    return n;
  }

  WatchdogSettings settings{3000, 10000, 10000, 100};
  adapters::memory::MemoryProtocolLog log;
  testing::ManualClock clock;
  bool accept = true;
  std::vector<std::unique_ptr<Watchdog>> watchdogs;
  std::vector<std::pair<uint32_t, Watchdog::Takeover>> taken;
};

TEST(Watchdog, OwnerSilentBeforeDecidingFirstSuccessorTakesOverAtTheDeadline) {
  Cluster c(3);
  // Owner r1; every region received it.
  for (uint32_t r = 0; r < 3; ++r) c.Append(EventType::kReceived, "a", r, 1);
  c.Run(2900);
  EXPECT_TRUE(c.taken.empty());
  c.Run(200);  // 3.1 s: r2 (first successor of r1) acts, r0 (second) does not
  ASSERT_EQ(c.taken.size(), 1u);
  EXPECT_EQ(c.taken[0].first, 2u);
  EXPECT_FALSE(c.taken[0].second.decided);
  EXPECT_EQ(c.taken[0].second.hash, "h-a");
  EXPECT_NE(c.taken[0].second.reason.find("no decision"), std::string::npos);
  EXPECT_EQ(c.TakeoverEvents("a"), 1u);
  // r2 is responsible now and works: nobody else takes over.
  c.Append(EventType::kProcessed, "a", 2, 0);
  for (int i = 0; i < 20; ++i) {
    c.Run(500);
    c.Append(EventType::kBatchDone, "a", 2, 0, "high", "apns/all/0", static_cast<uint32_t>(i));
  }
  EXPECT_EQ(c.taken.size(), 1u);
  c.Append(EventType::kAlertDone, "a", 2, 0);
  c.Run(30000);
  EXPECT_EQ(c.taken.size(), 1u);
  for (auto& w : c.watchdogs) EXPECT_EQ(w->Watching(), 0u);
}

TEST(Watchdog, SecondSuccessorActsOnlyWhenTheFirstAlsoStaysSilent) {
  Cluster c(3);
  c.Append(EventType::kReceived, "a", 0, 0);
  c.Run(3000);  // at 3.0 s
  ASSERT_EQ(c.taken.size(), 1u);
  EXPECT_EQ(c.taken[0].first, 1u);  // r1 follows r0
  // r1 recorded its takeover and died: r2 is now the first successor of r1 (r0 the second).
  c.Run(2900);
  EXPECT_EQ(c.taken.size(), 1u);
  c.Run(100);  // 3 s after r1's takeover
  ASSERT_EQ(c.taken.size(), 2u);
  EXPECT_EQ(c.taken[1].first, 2u);
  EXPECT_EQ(c.TakeoverEvents("a"), 2u);
}

TEST(Watchdog, RegularAlertsWaitTheirDeadlineAndDecidedOnesTheStall) {
  Cluster c(2);
  c.Append(EventType::kReceived, "reg", 0, 0, "regular");
  c.Run(9900);
  EXPECT_TRUE(c.taken.empty());
  c.Append(EventType::kProcessed, "reg", 0, 0, "regular");  // decided: the stall rule now
  c.Run(9900);
  EXPECT_TRUE(c.taken.empty());
  c.Append(EventType::kUnitQueued, "reg", 0, 0, "regular", "fcm/all/3");  // progress
  c.Run(9900);
  EXPECT_TRUE(c.taken.empty());
  c.Run(200);
  ASSERT_EQ(c.taken.size(), 1u);
  EXPECT_EQ(c.taken[0].first, 1u);
  EXPECT_TRUE(c.taken[0].second.decided);
  EXPECT_NE(c.taken[0].second.reason.find("no progress"), std::string::npos);
}

TEST(Watchdog, DecidedHighAlertStallsAfterTheHighDeadline) {
  Cluster c(2);
  c.Append(EventType::kReceived, "hi", 1, 1);
  c.Append(EventType::kProcessed, "hi", 1, 1);
  c.Run(3100);
  ASSERT_EQ(c.taken.size(), 1u);
  EXPECT_EQ(c.taken[0].first, 0u);
}

TEST(Watchdog, FinishedQuarantinedAndOwnAlertsAreNotTakenOver) {
  Cluster c(2);
  c.Append(EventType::kReceived, "done", 0, 0);
  c.Append(EventType::kAlertDone, "done", 0, 0);
  c.Append(EventType::kReceived, "bad", 0, 0);
  c.Append(EventType::kQuarantined, "bad", 0, 0);
  c.Append(EventType::kReceived, "mine", 1, 1);  // r1 owns it: r1 does not watch itself
  c.Run(3100);
  ASSERT_EQ(c.taken.size(), 1u);
  EXPECT_EQ(c.taken[0].second.alert_id, "mine");
  EXPECT_EQ(c.taken[0].first, 0u);
  c.Append(EventType::kAlertDone, "mine", 0, 1);
  // A late receipt of a finished alert does not start a watch again.
  c.Append(EventType::kReceived, "done", 1, 0);
  c.Run(30000);
  EXPECT_EQ(c.taken.size(), 1u);
}

TEST(Watchdog, RecoverWatchesWhatTheLogLeftOpen) {
  Cluster c(2);
  c.Append(EventType::kReceived, "a", 0, 0);
  RegionSettings r1{"r1", 1, 2};
  std::vector<std::string> fresh_taken;
  Watchdog fresh(r1, c.settings, c.log, c.clock, [&](const Watchdog::Takeover& t) {
    fresh_taken.push_back(t.alert_id);
    return true;
  });
  fresh.Recover();
  EXPECT_EQ(fresh.Watching(), 1u);
  c.clock.Advance(3100);
  EXPECT_EQ(fresh.Tick(), std::vector<std::string>{"a"});
}

TEST(Watchdog, WorkThatCouldNotStartIsTakenOverAgainLater) {
  Cluster c(2);
  c.accept = false;  // the region's queue refuses
  c.Append(EventType::kReceived, "a", 0, 0);
  c.Run(3000);
  ASSERT_EQ(c.taken.size(), 1u);  // one call, refused
  c.accept = true;
  c.Run(100);  // the next tick starts it again, under the same takeover event
  ASSERT_EQ(c.taken.size(), 2u);
  EXPECT_EQ(c.taken[1].first, 1u);
  EXPECT_EQ(c.taken[1].second.attempt, 0u);
  EXPECT_EQ(c.TakeoverEvents("a"), 1u);
}

// The tracker of the region that took over counts the progress every region made.
TEST(Watchdog, AdoptingTrackerCountsEveryRegionsBatches) {
  adapters::memory::MemoryProtocolLog log;
  testing::ManualClock clock;
  CompletionTracker t1("r1", log, clock);
  log.Listen([&](const Event& e) { t1.OnEvent(e); });
  auto add = [&](EventType type, const std::string& region, const std::string& unit, uint32_t batch,
                 uint32_t count) {
    Event e;
    e.type = type;
    e.alert_id = "a";
    e.region = region;
    e.unit = unit;
    e.batch = batch;
    e.count = count;
    ASSERT_TRUE(log.Append(e).has_value());
  };
  add(EventType::kProcessed, "r0", "", 0, 2);
  add(EventType::kUnitQueued, "r0", "apns/all/0", 0, 2);
  add(EventType::kBatchDone, "r0", "apns/all/0", 0, 0);
  add(EventType::kUnitQueued, "r0", "apns/all/1", 0, 1);
  add(EventType::kBatchDone, "r0", "apns/all/1", 0, 0);  // unit 1 complete, no unit-done yet
  EXPECT_FALSE(t1.BatchDone("a", "apns/all/0", 0));      // not r1's alert yet
  t1.Adopt("a");
  EXPECT_TRUE(t1.BatchDone("a", "apns/all/0", 0));
  // The old owner queued unit 0: its remaining batch may be in flight there.
  EXPECT_TRUE(t1.QueuedElsewhere("a", "apns/all/0"));
  EXPECT_FALSE(t1.QueuedElsewhere("a", "fcm/all/0"));
  EXPECT_EQ(t1.DoneUnits("a"), std::set<std::string>{"apns/all/1"});
  EXPECT_EQ(t1.Open(), 1u);
  add(EventType::kBatchDone, "r0", "apns/all/0", 1, 0);  // the old owner finishes a batch
  EXPECT_EQ(t1.Open(), 0u);
  size_t done = 0;
  for (const Event& e : log.Events("a")) done += e.type == EventType::kAlertDone ? 1 : 0;
  EXPECT_EQ(done, 1u);
}

}  // namespace
}  // namespace fanout::app
