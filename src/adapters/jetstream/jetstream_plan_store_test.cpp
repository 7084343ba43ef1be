// Needs a nats-server with JetStream at FANOUT_NATS_URL (label `nats`; run under
// scripts/with-nats.sh). Two stores on one bucket stand for two processes.
#include "adapters/jetstream/jetstream_plan_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace fanout::adapters::jetstream {
namespace {

using domain::pipeline::AlertPlan;

std::unique_ptr<JetStreamPlanStore> Store() {
  PlanStoreSettings s;
  const char* url = std::getenv("FANOUT_NATS_URL");
  EXPECT_NE(url, nullptr) << "FANOUT_NATS_URL is not set (run under scripts/with-nats.sh)";
  s.url = url ? url : "";
  s.bucket = "TPLANS" + std::to_string(::getpid());
  auto store = JetStreamPlanStore::Connect(s);
  EXPECT_TRUE(store) << (store ? "" : store.error().message);
  return store ? std::move(*store) : nullptr;
}

std::shared_ptr<const AlertPlan> Plan(std::string id, std::string priority) {
  auto p = std::make_shared<AlertPlan>();
  p->alert_id = std::move(id);
  p->sender = "opendata@dwd.de";
  p->sent = "2026-12-03T10:00:00+01:00";
  p->priority = std::move(priority);
  p->units = 256;
  p->municipalities = {"055150000000", "091620000000"};
  return p;
}

TEST(JetStreamPlans, TheFirstPlanStoredByAnyProcessIsThePlan) {
  auto a = Store(), b = Store();
  ASSERT_TRUE(a && b);
  const std::string id = "2.49.0.0.276.0.DWD.PVW.1687470000000.fe90b61b:MUL";  // ':' '.' in ids
  auto first = a->PutIfAbsent(Plan(id, "regular"));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ((*first)->priority, "regular");
  // A redelivered or taken-over alert recomputed differently elsewhere: the stored one wins.
  auto second = b->PutIfAbsent(Plan(id, "high"));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ((*second)->priority, "regular");
  auto got = b->Get(id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->municipalities, (std::vector<std::string>{"055150000000", "091620000000"}));
  EXPECT_EQ(got->units, 256u);
  EXPECT_EQ(b->FindReferenced("opendata@dwd.de", id, "2026-12-03T10:00:00+01:00"), got);
  EXPECT_EQ(b->Get("unknown-alert"), nullptr);
  EXPECT_EQ(a->FindReferenced("x", "unknown-alert", ""), nullptr);
}

}  // namespace
}  // namespace fanout::adapters::jetstream
