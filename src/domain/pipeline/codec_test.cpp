#include "domain/pipeline/codec.hpp"

#include <gtest/gtest.h>

namespace fanout::domain::pipeline {
namespace {

Event FullBatchDone() {
  Event e;
  e.type = EventType::kBatchDone;
  e.alert_id = "DE-NW-BN-SE030-20260101-30-000";
  e.region = "eu-west";
  e.t_ms = 1'767'225'600'123;
  e.hash = "ab12";
  e.provider = "AP2";
  e.priority = "regular";
  e.owner = 1;
  e.unit = "fcm/selected/63";
  e.batch = 41;
  e.count = 3;
  e.targeted = 1'000'000;
  e.accepted = 498;
  e.failed = 1;
  e.invalid = 1;
  e.first_push_ms = 1'767'225'600'200;
  e.last_push_ms = 1'767'225'600'900;
  e.latency[0] = 2;
  e.latency[63] = 7;
  e.attempt = 2;
  e.redelivered = 500;
  e.detail = "retry_later 503 \"Service\"; ";
  return e;
}

TEST(Codec, EventRoundTripKeepsEveryField) {
  const Event e = FullBatchDone();
  auto d = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(d);
  EXPECT_EQ(EncodeEvent(*d), EncodeEvent(e));
  EXPECT_EQ(d->type, EventType::kBatchDone);
  EXPECT_EQ(d->batch, 41u);
  EXPECT_EQ(d->latency[63], 7u);
  EXPECT_EQ(d->redelivered, 500u);
  EXPECT_EQ(d->detail, e.detail);
}

TEST(Codec, MinimalEventDecodesWithDefaults) {
  auto d = DecodeEvent(R"({"type":"alert-done","alert_id":"a","region":"r","t_ms":5})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, EventType::kAlertDone);
  EXPECT_EQ(d->accepted, 0u);
  EXPECT_TRUE(d->unit.empty());
}

TEST(Codec, MalformedEventsAreRejected) {
  EXPECT_FALSE(DecodeEvent(""));
  EXPECT_FALSE(DecodeEvent("[]"));
  EXPECT_FALSE(DecodeEvent(R"({"type":"no-such","alert_id":"a","region":"r","t_ms":5})"));
  EXPECT_FALSE(DecodeEvent(R"({"type":"received","region":"r","t_ms":5})"));
  EXPECT_FALSE(DecodeEvent(R"({"type":"received","alert_id":"a","region":"r","t_ms":"x"})"));
  EXPECT_FALSE(DecodeEvent(
      R"({"type":"batch-done","alert_id":"a","region":"r","t_ms":5,"latency":[[64,1]]})"));
}

TEST(Codec, PlanRoundTrip) {
  AlertPlan p;
  p.alert_id = "id";
  p.sender = "opendata@dwd.de";
  p.sent = "2026-01-01T00:00:00+01:00";
  p.hash = "ff";
  p.provider = "AP2";
  p.priority = "high";
  p.msg_type = "Update";
  p.level = 1;
  p.municipalities = {"053150000000", "091620000000"};
  p.collapse_id = "c";
  p.expires_epoch_s = 1'767'225'600;
  p.received_ms = 1'767'225'600'000;
  p.apns_payload = R"({"aps":{"alert":"ü"}})";
  p.fcm_payload = "{}";
  p.shards = 64;
  p.units = 256;
  auto d = DecodePlan(EncodePlan(p));
  ASSERT_TRUE(d);
  EXPECT_EQ(EncodePlan(*d), EncodePlan(p));
  EXPECT_EQ(d->municipalities, p.municipalities);
  EXPECT_FALSE(DecodePlan(R"({"alert_id":"id"})"));
}

Event OwnedEvent(std::string alert_id, std::string region, uint32_t attempt) {
  Event e;
  e.type = EventType::kOwned;
  e.alert_id = std::move(alert_id);
  e.region = std::move(region);
  e.attempt = attempt;
  return e;
}

TEST(Codec, IdempotencyKeysIgnoreTimeAndCountsButNotIdentity) {
  Event a = FullBatchDone();
  a.redelivered = 0;
  Event b = a;
  b.t_ms += 1000;
  b.accepted = 0;
  EXPECT_EQ(IdempotencyKey(a), IdempotencyKey(b));  // the same batch reported twice
  // A redelivery's record is its own fact (the report adds its re-sent pushes); appended
  // again (the same record) it keeps its key.
  Event resent = a;
  resent.redelivered = 2;
  resent.t_ms += 5000;
  EXPECT_NE(IdempotencyKey(a), IdempotencyKey(resent));
  Event resent_copy = resent;
  EXPECT_EQ(IdempotencyKey(resent), IdempotencyKey(resent_copy));
  b.batch = 42;
  EXPECT_NE(IdempotencyKey(a), IdempotencyKey(b));
  const Event owned = OwnedEvent("x", "r0", 0);
  Event again = OwnedEvent("x", "r0", 1);  // a later attempt (takeover, re-plan) is a new event
  EXPECT_NE(IdempotencyKey(owned), IdempotencyKey(again));
  again.attempt = 0;
  again.region = "r1";
  EXPECT_NE(IdempotencyKey(owned), IdempotencyKey(again));
}

}  // namespace
}  // namespace fanout::domain::pipeline
