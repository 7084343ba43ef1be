// Needs a nats-server with JetStream at FANOUT_NATS_URL (label `nats`; run under
// scripts/with-nats.sh). Each test uses its own stream. Several logs on one stream stand for
// several processes (each has its own connection and view).
#include "adapters/jetstream/jetstream_protocol_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

namespace fanout::adapters::jetstream {
namespace {

using domain::pipeline::Event;
using domain::pipeline::EventType;

class JetStreamLogTest : public ::testing::Test {
 protected:
  ProtocolLogSettings Settings() const {
    ProtocolLogSettings s;
    const char* url = std::getenv("FANOUT_NATS_URL");
    s.url = url ? url : "";
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    s.stream = "TLOG" + std::to_string(::getpid()) + "_" + name;
    s.subject = "tlog." + std::to_string(::getpid()) + "." + name;
    return s;
  }
  std::unique_ptr<JetStreamProtocolLog> Log() {
    auto s = Settings();
    EXPECT_FALSE(s.url.empty()) << "FANOUT_NATS_URL is not set (run under scripts/with-nats.sh)";
    auto log = JetStreamProtocolLog::Connect(s);
    EXPECT_TRUE(log) << (log ? "" : log.error().message);
    return log ? std::move(*log) : nullptr;
  }
  static Event Ev(EventType type, std::string alert, std::string region, uint32_t batch = 0) {
    Event e;
    e.type = type;
    e.alert_id = std::move(alert);
    e.region = std::move(region);
    e.unit = "apns/all/0";
    e.batch = batch;
    e.t_ms = 1000;
    return e;
  }
};

TEST_F(JetStreamLogTest, TwoProcessesShareOneLogAndEachFactIsRecordedOnce) {
  auto a = Log(), b = Log();
  ASSERT_TRUE(a && b);
  std::atomic<int> heard_by_b{0};
  b->Listen([&](const Event&) { ++heard_by_b; });
  auto r = a->Append(Ev(EventType::kReceived, "alert-1", "eu-central"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r);
  // The same fact from the other process (a redelivered work item there): not appended.
  r = b->Append(Ev(EventType::kReceived, "alert-1", "eu-central"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  ASSERT_TRUE(b->Append(Ev(EventType::kBatchDone, "alert-1", "eu-west", 0)));
  ASSERT_TRUE(a->Append(Ev(EventType::kBatchDone, "alert-1", "eu-west", 1)));
  EXPECT_FALSE(*a->Append(Ev(EventType::kBatchDone, "alert-1", "eu-west", 0)));
  // The other process's view follows the stream (eventually, not within Append): wait.
  for (int i = 0; i < 500 && (b->ReadFrom(0, 100).size() < 3 || heard_by_b.load() < 3); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Both views hold the same events at the same positions (the stream's sequence).
  auto in_a = a->ReadFrom(0, 100), in_b = b->ReadFrom(0, 100);
  ASSERT_EQ(in_a.size(), 3u);
  ASSERT_EQ(in_b.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(in_a[i].position, in_b[i].position);
    EXPECT_EQ(in_a[i].event.type, in_b[i].event.type);
    EXPECT_EQ(in_a[i].event.batch, in_b[i].event.batch);
  }
  EXPECT_LT(in_a[0].position, in_a[1].position);
  EXPECT_EQ(a->Events("alert-1").size(), 3u);
  EXPECT_EQ(a->AlertIds(), std::vector<std::string>{"alert-1"});
  EXPECT_EQ(heard_by_b.load(), 3);
  EXPECT_EQ(b->ReadFrom(in_b[1].position, 100).size(), 1u);
}

TEST_F(JetStreamLogTest, AProcessStartingLaterReplaysEverythingBeforeItAnswers) {
  {
    auto first = Log();
    ASSERT_TRUE(first);
    for (uint32_t i = 0; i < 50; ++i) {
      ASSERT_TRUE(first->Append(Ev(EventType::kBatchDone, "alert-2", "eu-central", i)));
    }
  }
  auto later = Log();  // a restarted process, or a returning region
  ASSERT_TRUE(later);
  auto events = later->Events("alert-2");
  ASSERT_EQ(events.size(), 50u);
  std::set<uint32_t> batches;
  for (const auto& e : events) batches.insert(e.batch);
  EXPECT_EQ(batches.size(), 50u);
  EXPECT_FALSE(*later->Append(Ev(EventType::kBatchDone, "alert-2", "eu-central", 7)));
}

}  // namespace
}  // namespace fanout::adapters::jetstream
