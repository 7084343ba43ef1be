// The region's registry: validation, replication through the feed, restart from the store,
// and the device JSON form shared by the API and the `fanout devices` files.
#include "app/registry.hpp"

#include <gtest/gtest.h>

#include <set>

#include "adapters/memory/memory_device_feed.hpp"
#include "app/device_json.hpp"
#include "testing/fakes.hpp"

namespace fanout::app {
namespace {

using domain::device::Device;
using domain::device::DeviceRef;
using domain::device::Flow;
using domain::device::Platform;

Device Apns(std::string id, std::vector<std::string> regions, bool myloc = false) {
  Device d;
  d.id = std::move(id);
  d.platform = Platform::kApns;
  d.token = std::string(64, 'a');
  d.regions = std::move(regions);
  d.mylocation = myloc;
  return d;
}

std::vector<std::string> Codes(const std::vector<domain::cap::Issue>& issues) {
  std::vector<std::string> out;
  for (const auto& i : issues) out.push_back(i.code);
  return out;
}

std::set<std::string> Selected(const Registry& r, const std::vector<std::string>& area) {
  std::set<std::string> out;
  for (uint32_t s = 0; s < 4; ++s) {
    for (Platform p : {Platform::kApns, Platform::kFcm}) {
      for (Flow f : {Flow::kAll, Flow::kSelected}) {
        domain::device::SelectionQuery q{p, f, s, "AP1", 1, &area, &r.providers().default_levels};
        r.Select(q, 500, [&](std::span<const DeviceRef> b) {
          for (const auto& d : b) out.insert(std::string(d.id));
        });
      }
    }
  }
  return out;
}

class RegistryTest : public ::testing::Test {
 protected:
  static bool Known(const std::string& k) { return k != "099990000000"; }
  testing::FakeDeviceStore store0_, store1_;
  adapters::memory::MemoryDeviceFeed feed_;
  Registry r0_{"r0", store0_, feed_, ProviderSettings{}, 4, Known};
  Registry r1_{"r1", store1_, feed_, ProviderSettings{}, 4, Known};
  void SetUp() override {
    ASSERT_TRUE(r0_.Start());
    ASSERT_TRUE(r1_.Start());
  }
};

TEST_F(RegistryTest, PutAndRemoveReachEveryRegionsIndexAndStore) {
  auto put = r0_.Put(Apns("d1", {"055150000000"}));
  ASSERT_TRUE(put);
  EXPECT_EQ(*put, Registry::PutResult::kCreated);
  ASSERT_TRUE(r1_.Get("d1"));
  EXPECT_EQ(store1_.size(), 1u);
  EXPECT_EQ(Selected(r1_, {"055150000000"}), std::set<std::string>{"d1"});
  // Removed in the other region (e.g. invalid-token feedback there): gone everywhere.
  auto rm = r1_.Remove("d1", "token_invalid");
  ASSERT_TRUE(rm);
  EXPECT_TRUE(*rm);
  EXPECT_FALSE(r0_.Get("d1"));
  EXPECT_EQ(store0_.size(), 0u);
  EXPECT_TRUE(Selected(r0_, {"055150000000"}).empty());
}

TEST_F(RegistryTest, PutIsIdempotentAndReportsCreatedThenUpdated) {
  Device d = Apns("d2", {"055150000000"});
  EXPECT_EQ(*r0_.Put(d), Registry::PutResult::kCreated);
  EXPECT_EQ(*r0_.Put(d), Registry::PutResult::kUpdated);
  EXPECT_EQ(r0_.size(), 1u);
  EXPECT_EQ(r1_.size(), 1u);
}

TEST_F(RegistryTest, InvalidDevicesAreRejectedWithEveryIssueAndNotReplicated) {
  Device d = Apns("bad", {"099990000000", "123"});
  d.token = "zz";
  d.levels = {{"AP9", 1}, {"AP1", 5}};
  auto r = r0_.Put(d);
  ASSERT_FALSE(r);
  auto codes = Codes(r.error());
  std::set<std::string> got(codes.begin(), codes.end());
  EXPECT_EQ(got, (std::set<std::string>{"INVALID_TOKEN", "UNKNOWN_PROVIDER", "INVALID_LEVEL",
                                        "INVALID_REGION_KEY", "UNKNOWN_REGION_KEY"}));
  EXPECT_FALSE(r0_.Get("bad"));
  EXPECT_FALSE(r1_.Get("bad"));
  EXPECT_EQ(store0_.size(), 0u);
}

TEST_F(RegistryTest, StoreOutageIsReportedAndNothingChanges) {
  store0_.fail_writes = true;
  auto r = r0_.Put(Apns("d3", {"055150000000"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(Codes(r.error()), std::vector<std::string>{"STORE_UNAVAILABLE"});
  EXPECT_FALSE(r0_.Get("d3"));
  EXPECT_FALSE(r1_.Get("d3"));
}

TEST_F(RegistryTest, PeerStoreFailureIsCountedAndItsIndexStaysCurrent) {
  store1_.fail_writes = true;
  ASSERT_TRUE(r0_.Put(Apns("d4", {"055150000000"})));
  EXPECT_TRUE(r1_.Get("d4"));  // selection in r1 still sees it
  EXPECT_EQ(store1_.size(), 0u);
  EXPECT_EQ(r1_.feed_store_failures(), 1u);
  ASSERT_TRUE(r0_.Remove("d4", "api"));
  EXPECT_FALSE(r1_.Get("d4"));
  EXPECT_EQ(r1_.feed_store_failures(), 2u);
  EXPECT_EQ(r0_.feed_store_failures(), 0u);
}

TEST_F(RegistryTest, RestartRebuildsTheSameSelectionFromTheStore) {
  for (int i = 0; i < 200; ++i) {
    Device d = Apns("r" + std::to_string(i), {i % 2 ? "091620000000" : "055150000000"}, i % 7 == 0);
    if (i % 3 == 0) d.platform = Platform::kFcm;
    d.levels = {{"AP1", i % 5}};
    ASSERT_TRUE(r0_.Put(d));
  }
  ASSERT_TRUE(r0_.Remove("r10", "api"));
  adapters::memory::MemoryDeviceFeed other_feed;
  Registry restarted("r0", store0_, other_feed, ProviderSettings{}, 4, Known);
  auto n = restarted.Start();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 199u);
  const std::vector<std::string> area{"091620000000"};
  EXPECT_EQ(Selected(restarted, area), Selected(r0_, area));
  EXPECT_GT(Selected(restarted, area).size(), 50u);
}

// Two regions receive the same changes of one device from a third in opposite orders (a
// replicated stream may redeliver or reorder across regions): both end with the newest.
TEST(RegistryVersions, OutOfOrderUpdatesConvergeByVersionAndTombstonesHold) {
  testing::FakeDeviceStore store_a, store_b;
  adapters::memory::MemoryDeviceFeed feed_a, feed_b;
  Registry a("a", store_a, feed_a, ProviderSettings{}, 4),
      b("b", store_b, feed_b, ProviderSettings{}, 4);
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  Device v1 = Apns("x", {"055150000000"}), v2 = Apns("x", {"091620000000"});
  v2.token = std::string(64, 'b');
  ports::DeviceUpdate put1{"x", v1, "r9", "api", 100}, put2{"x", v2, "r9", "api", 200},
      remove{"x", std::nullopt, "r9", "api", 300}, late_put{"x", v1, "r9", "api", 250};
  for (const auto& u : {put1, put2}) feed_a.Publish(std::span(&u, 1));
  for (const auto& u : {put2, put1}) feed_b.Publish(std::span(&u, 1));
  ASSERT_TRUE(a.Get("x"));
  ASSERT_TRUE(b.Get("x"));
  EXPECT_EQ(a.Get("x")->token, v2.token);
  EXPECT_EQ(b.Get("x")->token, v2.token);
  EXPECT_EQ(Selected(a, {"091620000000"}), std::set<std::string>{"x"});
  EXPECT_EQ(Selected(b, {"055150000000"}), std::set<std::string>{});
  // A removal, then an older registration that arrives late: the device stays removed.
  feed_a.Publish(std::span(&remove, 1));
  feed_a.Publish(std::span(&late_put, 1));
  feed_b.Publish(std::span(&late_put, 1));
  feed_b.Publish(std::span(&remove, 1));
  EXPECT_FALSE(a.Get("x"));
  EXPECT_FALSE(b.Get("x"));
  EXPECT_EQ(store_a.size(), 0u);
  EXPECT_EQ(store_b.size(), 0u);
  // A local change after seeing version 300 gets a greater version, so it wins everywhere.
  ASSERT_TRUE(a.Put(v1));
  EXPECT_GT(store_a.SyncState()->max_version, 300u);
}

// A region that was down restarts from its store (the snapshot) and the feed position
// recorded with it; what the others published meanwhile is replayed: nothing is missed.
TEST(RegistryVersions, RestartFromTheSnapshotAndFeedPositionMissesNothing) {
  testing::FakeDeviceStore store0, store1;
  adapters::memory::MemoryDeviceFeed feed(/*retain=*/1000);
  Registry r0("r0", store0, feed, ProviderSettings{}, 4);
  ASSERT_TRUE(r0.Start());
  {
    Registry r1("r1", store1, feed, ProviderSettings{}, 4);
    ASSERT_TRUE(r1.Start());
    ASSERT_TRUE(r0.Put(Apns("before", {"055150000000"})));
    EXPECT_TRUE(r1.Get("before"));
  }  // r1 is down
  ASSERT_TRUE(r0.Put(Apns("during", {"055150000000"})));
  ASSERT_TRUE(r0.Remove("before", "api"));
  Registry r1("r1", store1, feed, ProviderSettings{}, 4);
  auto loaded = r1.Start();
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, 1u);  // the snapshot held "before" only
  EXPECT_TRUE(r1.Get("during"));
  EXPECT_FALSE(r1.Get("before"));
  EXPECT_EQ(Selected(r1, {"055150000000"}), std::set<std::string>{"during"});
  EXPECT_EQ(store1.SyncState()->feed_position, feed.head());
  // A feed that no longer holds what the snapshot needs is a start-up error, not a gap.
  adapters::memory::MemoryDeviceFeed short_feed(/*retain=*/1);
  testing::FakeDeviceStore store2, store3;
  Registry w("w", store2, short_feed, ProviderSettings{}, 4);
  ASSERT_TRUE(w.Start());
  ASSERT_TRUE(w.Put(Apns("p1", {"055150000000"})));
  ASSERT_TRUE(w.Put(Apns("p2", {"055150000000"})));
  Registry late("late", store3, short_feed, ProviderSettings{}, 4);
  auto refused = late.Start();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("newer snapshot"), std::string::npos)
      << refused.error().message;
}

TEST(RegistryProcesses, ProcessesOfOneRegionShareTheStoreAndEachIndexFollows) {
  // A distributed region: the front (registry role) and a queuer, one store, one feed.
  testing::FakeDeviceStore store;
  adapters::memory::MemoryDeviceFeed feed(/*retain=*/100);
  Registry front("r0", store, feed, ProviderSettings{}, 4);
  Registry queuer("r0", store, feed, ProviderSettings{}, 4);
  ASSERT_TRUE(front.Start());
  ASSERT_TRUE(queuer.Start());
  const std::vector<std::string> area{"091620000000"};
  ASSERT_TRUE(front.Put(Apns("d1", area)));
  ASSERT_TRUE(front.Put(Apns("d2", area)));
  EXPECT_EQ(Selected(queuer, area), (std::set<std::string>{"d1", "d2"}));
  ASSERT_TRUE(front.Remove("d1", "api"));
  EXPECT_EQ(Selected(queuer, area), (std::set<std::string>{"d2"}));
  // A queuer started later replays the feed from the start over a newer snapshot: it ends
  // with the store's state (d1 removed), not the replayed history's intermediate states.
  Registry late("r0", store, feed, ProviderSettings{}, 4);
  ASSERT_TRUE(late.Start());
  EXPECT_EQ(Selected(late, area), (std::set<std::string>{"d2"}));
  EXPECT_EQ(late.size(), 1u);
}

TEST(RegistryConfig, MoreThanEightProvidersIsAStartupError) {
  testing::FakeDeviceStore store;
  adapters::memory::MemoryDeviceFeed feed;
  ProviderSettings p;
  for (int i = 5; i <= 9; ++i) p.known.push_back("AP" + std::to_string(i));
  EXPECT_THROW(Registry("r", store, feed, p, 4), std::invalid_argument);
}

TEST(DeviceJson, RoundTripsAndNamesBadFields) {
  Device d = Apns("id:1", {"055150000000", "091620000000"}, true);
  d.platform = Platform::kFcm;
  d.token = "tok\"with\\odd\x01chars";
  d.levels = {{"AP1", 0}, {"AP3", 4}};
  auto back = DeviceFromJson(DeviceToJson(d));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, d.id);
  EXPECT_EQ(back->platform, d.platform);
  EXPECT_EQ(back->token, d.token);
  EXPECT_EQ(back->levels, d.levels);
  EXPECT_EQ(back->mylocation, d.mylocation);
  EXPECT_EQ(back->regions, d.regions);
  EXPECT_EQ(DeviceFromJson(DeviceToJson(d), "other")->id, "other");  // the URL's id wins
  EXPECT_EQ(DeviceFromJson("[1]").error().code, "INVALID_JSON");
  EXPECT_EQ(DeviceFromJson(R"({"platform":"apns","token":"t"})").error().code, "INVALID_FIELD");
  EXPECT_EQ(DeviceFromJson(R"({"device_id":"x","platform":"web","token":"t"})").error().code,
            "INVALID_PLATFORM");
  EXPECT_EQ(DeviceFromJson(R"({"device_id":"x","platform":"fcm","token":"t","mylocation":"yes"})")
                .error()
                .code,
            "INVALID_FIELD");
}

}  // namespace
}  // namespace fanout::app
