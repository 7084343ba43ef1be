#include "domain/pipeline/report.hpp"

#include <gtest/gtest.h>

namespace fanout::domain::pipeline {
namespace {

Event E(EventType t, std::string region, int64_t t_ms) {
  Event e;
  e.type = t;
  e.alert_id = "a1";
  e.region = std::move(region);
  e.t_ms = t_ms;
  return e;
}

TEST(Latency, BucketsAreMonotoneAndQuantilesBoundValues) {
  for (double ms : {0.1, 0.5, 0.7, 1.0, 3.3, 50.0, 999.0}) {
    size_t b = LatencyBucketOf(ms);
    EXPECT_GE(LatencyBucketBoundMs(b), ms);
    if (b > 0) {
      EXPECT_LT(LatencyBucketBoundMs(b - 1), ms);
    }
  }
  LatencyHistogram h{};
  for (int i = 1; i <= 100; ++i) h[LatencyBucketOf(i)]++;
  EXPECT_GE(HistogramQuantileMs(h, 0.5), 50.0);
  EXPECT_LE(HistogramQuantileMs(h, 0.5), 50.0 * 1.25);
  EXPECT_GE(HistogramQuantileMs(h, 0.99), 99.0);
  EXPECT_EQ(HistogramQuantileMs(LatencyHistogram{}, 0.5), 0.0);
}

TEST(UnitKey, RoundTrips) {
  UnitKey k{device::Platform::kFcm, device::Flow::kSelected, 17};
  EXPECT_EQ(k.ToString(), "fcm/selected/17");
  EXPECT_EQ(UnitKey::Parse("fcm/selected/17"), k);
  EXPECT_FALSE(UnitKey::Parse("fcm/selected/"));
  EXPECT_FALSE(UnitKey::Parse("web/all/1"));
  EXPECT_FALSE(UnitKey::Parse("apns/all/1x"));
}

TEST(Detail, ReasonListsRoundTrip) {
  std::vector<std::string> reasons = {"retry_later 503 ServiceUnavailable", "a;b", "x"};
  std::string d = JoinDetail(reasons);
  EXPECT_EQ(d, "retry_later 503 ServiceUnavailable; a;b; x; ");
  auto back = SplitDetail(d);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1], "a;b");
  EXPECT_TRUE(SplitDetail("").empty());
  EXPECT_EQ(SplitDetail("; one; ; two").size(), 2u);  // no empty reasons, last unterminated
}

TEST(Report, DerivedFromEventsCountingDuplicatesOnce) {
  std::vector<Event> ev;
  Event r = E(EventType::kReceived, "eu-west", 1000);
  r.hash = "ab";
  r.provider = "AP1";
  r.priority = "high";
  r.owner = 1;
  ev.push_back(r);
  ev.push_back(E(EventType::kReceived, "eu-central", 990));
  ev.push_back(E(EventType::kOwned, "eu-west", 1001));
  Event p = E(EventType::kProcessed, "eu-west", 1002);
  p.count = 2;
  ev.push_back(p);
  Event q = E(EventType::kUnitQueued, "eu-west", 1003);
  q.unit = "apns/selected/0";
  q.targeted = 3;
  q.count = 1;
  ev.push_back(q);
  ev.push_back(q);  // replayed after a takeover: counted once
  Event b = E(EventType::kBatchDone, "eu-west", 1010);
  b.unit = "apns/selected/0";
  b.accepted = 2;
  b.invalid = 1;
  b.first_push_ms = 1005;
  b.last_push_ms = 1009;
  b.latency[LatencyBucketOf(5)] = 2;
  ev.push_back(b);
  ev.push_back(b);
  // The same batch recorded again by a redelivery elsewhere: its pushes went out twice.
  Event b_again = b;
  b_again.redelivered = 2;
  b_again.t_ms = 1015;
  ev.push_back(b_again);
  Event b2 = b;
  b2.batch = 1;
  b2.accepted = 0;
  b2.invalid = 0;
  b2.failed = 2;
  b2.detail = "retry_later 503 ServiceUnavailable; payload_rejected 400 PayloadTooLarge; ";
  ev.push_back(b2);
  Event b3 = b2;
  b3.batch = 2;
  b3.failed = 1;
  b3.detail = "retry_later 503 ServiceUnavailable; ";
  ev.push_back(b3);
  Event u = E(EventType::kUnitDone, "eu-west", 1011);
  u.unit = "apns/selected/0";
  ev.push_back(u);
  AlertReport rep = DeriveReport("a1", ev);
  EXPECT_EQ(rep.status, "processing");  // no alert-done yet
  EXPECT_EQ(rep.received_ms, 990);
  EXPECT_EQ(rep.received_by.size(), 2u);
  EXPECT_EQ(rep.processing_region, "eu-west");
  EXPECT_EQ(rep.units_planned, 2u);
  EXPECT_EQ(rep.total.targeted, 3u);
  EXPECT_EQ(rep.total.accepted, 2u);     // the batch's counts once
  EXPECT_EQ(rep.total.redelivered, 2u);  // every record's re-sent pushes
  EXPECT_EQ(rep.total.invalid, 1u);
  EXPECT_EQ(rep.total.failed, 3u);
  EXPECT_EQ(rep.push_failure_reasons,
            (std::vector<std::string>{"retry_later 503 ServiceUnavailable",
                                      "payload_rejected 400 PayloadTooLarge"}));
  EXPECT_EQ(rep.total.first_push_ms, 1005);
  EXPECT_EQ(rep.total.units_done, 1u);
  EXPECT_GE(rep.total.p50_ms, 5.0);
  ev.push_back(E(EventType::kAlertDone, "eu-west", 1020));
  EXPECT_EQ(DeriveReport("a1", ev).status, "done");
  Event qu = E(EventType::kQuarantined, "eu-west", 1);
  qu.detail = "INVALID_DATE";
  ev.push_back(qu);
  EXPECT_EQ(DeriveReport("a1", ev).status, "quarantined");
}

// A partition (or the owner's records replicated after the takeover): the watcher pushed a
// batch the owner had pushed too. Both records are kept (the taker's key names its region),
// the report counts the batch once and every push of the second record as re-sent.
TEST(Report, ABatchPushedByTheOwnerAndByTheTakerShowsAsReSent) {
  Event owner = E(EventType::kBatchDone, "eu-west", 1010);
  owner.unit = "fcm/all/3";
  owner.accepted = 5;
  Event taker = owner;
  taker.region = "eu-central";
  taker.attempt = 1;  // pushed under a takeover
  taker.t_ms = 4000;
  EXPECT_NE(IdempotencyKey(owner), IdempotencyKey(taker));
  Event t = E(EventType::kTakeover, "eu-central", 3900);
  t.detail = "region #1 made no progress for 3000 ms";
  for (const auto& order :
       {std::vector<Event>{owner, t, taker}, std::vector<Event>{t, taker, owner}}) {
    AlertReport rep = DeriveReport("a1", order);
    EXPECT_EQ(rep.total.accepted, 5u);
    EXPECT_EQ(rep.total.redelivered, 5u);
    EXPECT_EQ(rep.takeovers, 1u);
    EXPECT_EQ(rep.processing_region, "eu-central");
  }
}

TEST(Report, ATakersBatchOfAUnitTheOwnerQueuedIsPossiblyReSentUntilTheOwnersRecordTurnsUp) {
  Event owner = E(EventType::kBatchDone, "eu-west", 1010);
  owner.unit = "fcm/all/3";
  owner.accepted = 5;
  Event taker = owner;
  taker.region = "eu-central";
  taker.attempt = 2;  // the owner had queued the unit: it may have pushed the batch
  taker.t_ms = 4000;
  Event other = taker;  // a batch the owner never pushed: possibly re-sent, never confirmed
  other.batch = 1;
  struct Case {
    std::vector<Event> events;
    uint64_t accepted, redelivered, possibly;
  };
  for (const Case& c :
       {Case{{taker, other}, 10, 0, 10}, Case{{owner, taker}, 5, 5, 0},
        Case{{taker, owner, other}, 10, 5, 5}, Case{{owner, taker, owner}, 5, 5, 0}}) {
    AlertReport rep = DeriveReport("a1", c.events);
    EXPECT_EQ(rep.total.accepted, c.accepted);
    EXPECT_EQ(rep.total.redelivered, c.redelivered);
    EXPECT_EQ(rep.total.possibly_redelivered, c.possibly);
  }
}

}  // namespace
}  // namespace fanout::domain::pipeline
