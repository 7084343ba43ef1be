// Needs a nats-server with JetStream at FANOUT_NATS_URL (label `nats`; run under
// scripts/with-nats.sh). Two registries with their own stores and feed connections stand
// for two regions (or two processes).
#include "adapters/jetstream/jetstream_device_feed.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "app/registry.hpp"
#include "testing/fakes.hpp"

namespace fanout::adapters::jetstream {
namespace {

using domain::device::Device;

class JetStreamFeedTest : public ::testing::Test {
 protected:
  DeviceFeedSettings Settings() const {
    DeviceFeedSettings s;
    const char* url = std::getenv("FANOUT_NATS_URL");
    s.url = url ? url : "";
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    s.stream = "TDEV" + std::to_string(::getpid()) + "_" + name;
    s.subject = "tdev." + std::to_string(::getpid()) + "." + name;
    return s;
  }
  std::unique_ptr<JetStreamDeviceFeed> Feed() {
    auto s = Settings();
    EXPECT_FALSE(s.url.empty()) << "FANOUT_NATS_URL is not set (run under scripts/with-nats.sh)";
    auto f = JetStreamDeviceFeed::Connect(s);
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    return f ? std::move(*f) : nullptr;
  }
  static Device Dev(std::string id, std::string region) {
    Device d;
    d.id = std::move(id);
    d.platform = domain::device::Platform::kFcm;
    d.token = "tok-" + d.id;
    d.levels = {{"AP1", 2}};
    d.regions = {std::move(region)};
    return d;
  }
  template <typename F>
  static bool WaitFor(F done) {
    for (int i = 0; i < 1000 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  }
};

TEST_F(JetStreamFeedTest, RegistriesReplicateThroughTheStreamAndARestartCatchesUp) {
  auto feed0 = Feed(), feed1 = Feed();
  ASSERT_TRUE(feed0 && feed1);
  testing::FakeDeviceStore store0, store1;
  app::Registry r0("r0", store0, *feed0, app::ProviderSettings{}, 4);
  ASSERT_TRUE(r0.Start());
  {
    app::Registry r1("r1", store1, *feed1, app::ProviderSettings{}, 4);
    ASSERT_TRUE(r1.Start());
    ASSERT_TRUE(r0.Put(Dev("d1", "055150000000")));
    std::vector<Device> many;
    for (int i = 0; i < 500; ++i) many.push_back(Dev("m" + std::to_string(i), "091620000000"));
    ASSERT_TRUE(r0.Import(many));  // one group
    ASSERT_TRUE(WaitFor([&] { return r1.size() == 501; }));
    EXPECT_EQ(r1.Get("m42")->token, "tok-m42");
    EXPECT_EQ(store1.size(), 501u);
  }  // r1 is down
  ASSERT_TRUE(r0.Remove("d1", "api"));
  ASSERT_TRUE(r0.Put(Dev("d2", "055150000000")));
  auto recorded = store1.SyncState()->feed_position;
  EXPECT_GE(recorded, 501u);
  app::Registry r1("r1", store1, *feed1, app::ProviderSettings{}, 4);
  ASSERT_TRUE(r1.Start());  // store (snapshot) + the stream from the recorded position
  ASSERT_TRUE(WaitFor([&] { return r1.Get("d2").has_value() && !r1.Get("d1").has_value(); }));
  EXPECT_EQ(r1.size(), 501u);
  EXPECT_EQ(store1.size(), 501u);
  EXPECT_EQ(feed0->publish_failures(), 0u);
}

}  // namespace
}  // namespace fanout::adapters::jetstream
