// Needs a nats-server with JetStream at FANOUT_NATS_URL (label `nats`; run under
// scripts/with-nats.sh). Each test uses its own streams and consumers.
#include "adapters/jetstream/jetstream_bus.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/jetstream/jetstream_device_feed.hpp"
#include "adapters/jetstream/jetstream_plan_store.hpp"
#include "adapters/jetstream/jetstream_protocol_log.hpp"

namespace fanout::adapters::jetstream {
namespace {

using ports::BusMessage;
using ports::WorkBus;
using Clock = std::chrono::steady_clock;

class JetStreamTest : public ::testing::Test {
 protected:
  JetStreamSettings Settings() const {
    JetStreamSettings s;
    const char* url = std::getenv("FANOUT_NATS_URL");
    s.url = url ? url : "";
    s.stream_prefix = "T" + std::to_string(::getpid()) + "_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
    s.fetch_wait_ms = 200;
    return s;
  }
  std::unique_ptr<JetStreamBus> Bus(JetStreamSettings s) {
    EXPECT_FALSE(s.url.empty()) << "FANOUT_NATS_URL is not set (run under scripts/with-nats.sh)";
    auto bus = JetStreamBus::Connect(s);
    EXPECT_TRUE(bus) << (bus ? "" : bus.error().message);
    return bus ? std::move(*bus) : nullptr;
  }
  std::unique_ptr<JetStreamBus> Bus() { return Bus(Settings()); }

  // Waits (bounded) until `done` holds.
  template <typename F>
  static bool WaitFor(F done, int ms = 10000) {
    auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (!done() && Clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  }
};

TEST_F(JetStreamTest, ACopyOfAPushBatchTheServerTakesForNewIsMarkedRedelivered) {
  // The server forgot the message id (a 100 ms dedup window here; in production a restart
  // or a cluster failover): the copy comes with a first-delivery count, the mark says
  // otherwise.
  JetStreamSettings s = Settings();
  s.dedup_window_ms = 100;
  auto bus = Bus(s);
  ASSERT_TRUE(bus);
  std::mutex mu;
  std::vector<std::string> got;
  bus->Subscribe({"batches.x", "c", 1, 0, /*record_deliveries=*/true}, [&](const BusMessage& m) {
    std::lock_guard lock(mu);
    got.push_back(m.payload + "#" + std::to_string(m.deliveries));
    // The first is not finished (handed back for a minute): its copy is a redelivery of
    // unfinished work.
    if (m.payload == "first") return WorkBus::Ack::Retry(60000);
    return WorkBus::Ack::Done();
  });
  ASSERT_TRUE(bus->Publish({"batches.x", "batch-1", "first"}));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return got.size() == 1;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // beyond the dedup window
  ASSERT_TRUE(bus->Publish({"batches.x", "batch-1", "copy"}));
  ASSERT_TRUE(bus->Publish({"batches.x", "batch-2", "other"}));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return got.size() == 3;
  }));
  bus->Stop();
  EXPECT_EQ(got, (std::vector<std::string>{"first#1", "copy#2", "other#1"}));
}

TEST_F(JetStreamTest, ACopyOfAPushBatchWhoseHandlerFinishedIsNotHandledAgain) {
  // Its acknowledgement lost (a failover), the message comes again: the mark says finished.
  JetStreamSettings s = Settings();
  s.dedup_window_ms = 100;
  auto bus = Bus(s);
  ASSERT_TRUE(bus);
  std::atomic<int> handled{0};
  bus->Subscribe({"batches.y", "c", 1, 0, /*record_deliveries=*/true}, [&](const BusMessage&) {
    handled.fetch_add(1);
    return WorkBus::Ack::Done();
  });
  ASSERT_TRUE(bus->Publish({"batches.y", "batch-1", "first"}));
  ASSERT_TRUE(WaitFor([&] { return handled.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // beyond the dedup window
  ASSERT_TRUE(bus->Publish({"batches.y", "batch-1", "copy"}));
  ASSERT_TRUE(bus->Publish({"batches.y", "batch-2", "other"}));
  ASSERT_TRUE(WaitFor([&] { return handled.load() == 2; }));
  ASSERT_TRUE(WaitFor([&] { return bus->Depth("batches.y").value_or(1) == 0; }));
  bus->Stop();
  EXPECT_EQ(handled.load(), 2);  // batch-1 once, batch-2 once
}

TEST_F(JetStreamTest, AMessagePublishedTwiceWithOneIdIsDeliveredOnce) {
  auto bus = Bus();
  ASSERT_TRUE(bus);
  ASSERT_TRUE(bus->Publish({"work.a", "id-1", "one"}));
  ASSERT_TRUE(bus->Publish({"work.a", "id-1", "one again"}));  // a redelivered publisher
  ASSERT_TRUE(bus->Publish({"work.a", "id-2", "two"}));
  EXPECT_EQ(bus->Pending(), 2u);
  std::mutex mu;
  std::multiset<std::string> got;
  bus->Subscribe({"work.a", "c", 2}, [&](const BusMessage& m) {
    std::lock_guard lock(mu);
    got.insert(m.msg_id + "=" + m.payload + "#" + std::to_string(m.deliveries));
    return WorkBus::Ack::Done();
  });
  ASSERT_TRUE(WaitFor([&] { return bus->Pending() == 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // nothing more arrives
  bus->Stop();
  EXPECT_EQ(got, (std::multiset<std::string>{"id-1=one#1", "id-2=two#1"}));
}

TEST_F(JetStreamTest, ProcessesSharingADurableConsumerSplitTheQueueWithoutDuplicates) {
  auto publisher = Bus(), p1 = Bus(), p2 = Bus();  // three connections: three processes
  ASSERT_TRUE(publisher && p1 && p2);
  constexpr int kMessages = 200;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(publisher->Publish({"work.b", "m" + std::to_string(i), std::to_string(i)}));
  }
  std::mutex mu;
  std::map<std::string, int> seen;
  int by_p1 = 0, by_p2 = 0;
  auto handler = [&](int* count) {
    return [&, count](const BusMessage& m) {
      std::lock_guard lock(mu);
      ++seen[m.msg_id];
      ++*count;
      return WorkBus::Ack::Done();
    };
  };
  p1->Subscribe({"work.b", "senders", 2}, handler(&by_p1));
  p2->Subscribe({"work.b", "senders", 2}, handler(&by_p2));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return seen.size() == kMessages;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  p1->Stop();
  p2->Stop();
  std::lock_guard lock(mu);
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(by_p1 + by_p2, kMessages);
  EXPECT_EQ(publisher->Pending(), 0u);
}

TEST_F(JetStreamTest, RetriesCountDeliveriesAndGivingUpIsADeadLetter) {
  auto bus = Bus();
  ASSERT_TRUE(bus);
  std::mutex mu;
  std::vector<WorkBus::DeadLetter> dead;
  std::map<std::string, std::vector<uint32_t>> deliveries;
  bus->OnDeadLetter([&](const WorkBus::DeadLetter& d) {
    std::lock_guard lock(mu);
    dead.push_back(d);
  });
  ASSERT_TRUE(bus->Publish({"work.c", "retry-once", ""}));
  ASSERT_TRUE(bus->Publish({"work.c", "hopeless", ""}));
  ASSERT_TRUE(bus->Publish({"work.c", "poison", ""}));
  bus->Subscribe({"work.c", "c", 1, /*max_deliver=*/3}, [&](const BusMessage& m) {
    std::lock_guard lock(mu);
    deliveries[m.msg_id].push_back(m.deliveries);
    if (m.msg_id == "poison") return WorkBus::Ack::GiveUp("undecodable");
    if (m.msg_id == "retry-once" && m.deliveries == 1) return WorkBus::Ack::Retry(50);
    if (m.msg_id == "hopeless") return WorkBus::Ack::Retry(20);
    return WorkBus::Ack::Done();
  });
  ASSERT_TRUE(WaitFor([&] { return bus->Pending() == 0; }));
  bus->Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(deliveries["retry-once"], (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(deliveries["hopeless"], (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(deliveries["poison"], (std::vector<uint32_t>{1}));
  ASSERT_EQ(dead.size(), 2u);
  std::map<std::string, std::string> reasons;
  for (const auto& d : dead) reasons[d.message.msg_id] = d.reason;
  EXPECT_EQ(reasons["poison"], "undecodable");
  EXPECT_EQ(reasons["hopeless"], "gave up after 3 deliveries");
  EXPECT_EQ(dead[0].consumer, "c");
}

// A consumer process that dies in its handler never acknowledges: after the ack wait the
// server hands the message to another process of the same consumer, as a redelivery.
TEST_F(JetStreamTest, AMessageNotAcknowledgedInTimeGoesToAnotherProcessAsARedelivery) {
  auto s = Settings();
  s.ack_wait_ms = 1000;
  auto stuck_settings = s;
  stuck_settings.max_working_ms = 0;  // stops reporting progress at once, like a dead process
  auto stuck = Bus(stuck_settings), healthy = Bus(s);
  ASSERT_TRUE(stuck && healthy);
  ASSERT_TRUE(stuck->Publish({"work.d", "batch-7", "pushes"}));
  std::mutex mu;
  std::condition_variable cv;
  bool in_handler = false, release = false;
  stuck->Subscribe({"work.d", "senders", 1}, [&](const BusMessage&) {
    std::unique_lock lock(mu);
    in_handler = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });  // hangs like a killed process, never acks
    return WorkBus::Ack::Retry(60000);
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return in_handler; }));
  }
  uint32_t redelivered_with = 0;
  healthy->Subscribe({"work.d", "senders", 1}, [&](const BusMessage& m) {
    std::lock_guard lock(mu);
    redelivered_with = m.deliveries;
    return WorkBus::Ack::Done();
  });
  bool got = WaitFor([&] {
    std::lock_guard lock(mu);
    return redelivered_with != 0;
  });
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  stuck->Stop();
  healthy->Stop();
  ASSERT_TRUE(got);
  EXPECT_EQ(redelivered_with, 2u);
}

// A batch that takes longer than the ack wait is not handed to another process while its
// handler still works: the bus tells the server it is in progress.
TEST_F(JetStreamTest, ALongHandlerKeepsItsMessageWithInProgressAcks) {
  auto s = Settings();
  s.ack_wait_ms = 600;
  auto slow = Bus(s), other = Bus(s);
  ASSERT_TRUE(slow && other);
  ASSERT_TRUE(slow->Publish({"work.long", "long-batch", ""}));
  std::atomic<int> slow_calls{0}, other_calls{0};
  slow->Subscribe({"work.long", "senders", 1}, [&](const BusMessage&) {
    ++slow_calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // > 3 ack waits
    return WorkBus::Ack::Done();
  });
  ASSERT_TRUE(WaitFor([&] { return slow_calls.load() == 1; }));
  other->Subscribe({"work.long", "senders", 1}, [&](const BusMessage&) {
    ++other_calls;
    return WorkBus::Ack::Done();
  });
  ASSERT_TRUE(WaitFor([&] { return slow->Depth("work.long").value_or(1) == 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  slow->Stop();
  other->Stop();
  EXPECT_EQ(slow_calls.load(), 1);
  EXPECT_EQ(other_calls.load(), 0);
}

TEST_F(JetStreamTest, ADelayedMessageIsNotDeliveredBeforeItsTime) {
  auto bus = Bus();
  ASSERT_TRUE(bus);
  BusMessage later{"work.e", "later", "x"};
  later.delay_ms = 800;
  auto published = Clock::now();
  ASSERT_TRUE(bus->Publish(later));
  std::atomic<int64_t> after_ms{-1};
  std::atomic<uint32_t> deliveries{0};
  bus->Subscribe({"work.e", "c", 1}, [&](const BusMessage& m) {
    after_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - published).count();
    deliveries = m.deliveries;
    return WorkBus::Ack::Done();
  });
  ASSERT_TRUE(WaitFor([&] { return after_ms >= 0; }));
  bus->Stop();
  EXPECT_GE(after_ms, 750);
  EXPECT_EQ(deliveries, 1u);  // the early hand-back is not one of the handler's deliveries
}

// A stage (the queuer) publishes many outputs from its handler: asynchronously, all confirmed
// before its input is acknowledged, so an acknowledged input always has durable outputs.
TEST_F(JetStreamTest, AHandlersOutputsAreStoredBeforeItsInputIsAcknowledged) {
  auto stage = Bus(), observer = Bus();
  ASSERT_TRUE(stage && observer);
  constexpr int kOutputs = 300;
  ASSERT_TRUE(stage->Publish({"work.unit", "unit-1", ""}));
  std::atomic<int> failed{0};
  stage->Subscribe({"work.unit", "queuer", 1}, [&](const BusMessage&) {
    for (int i = 0; i < kOutputs; ++i) {
      if (!stage->Publish({"work.batch", "batch-" + std::to_string(i), std::string(500, 'b')}))
        ++failed;
    }
    return WorkBus::Ack::Done();
  });
  // Watch the unit's queue: the moment it is empty (acknowledged), every batch is stored.
  uint64_t batches_when_acked = 0;
  ASSERT_TRUE(WaitFor([&] {
    auto unit = observer->Depth("work.unit");
    if (!unit || *unit != 0) return false;
    batches_when_acked = observer->Depth("work.batch").value_or(0);
    return true;
  }));
  stage->Stop();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(batches_when_acked, static_cast<uint64_t>(kOutputs));
}

// Every adapter of this folder names the server it could not reach.
TEST(JetStreamConnect, AnUnreachableServerIsAClearErrorForEveryAdapter) {
  const std::string url = "nats://127.0.0.1:1";
  auto names = [&](const Error& e) { return e.message.find(url) != std::string::npos; };
  JetStreamSettings bus;
  bus.url = url;
  auto b = JetStreamBus::Connect(bus);
  ASSERT_FALSE(b);
  EXPECT_TRUE(names(b.error())) << b.error().message;
  ProtocolLogSettings log;
  log.url = url;
  auto l = JetStreamProtocolLog::Connect(log);
  ASSERT_FALSE(l);
  EXPECT_TRUE(names(l.error())) << l.error().message;
  DeviceFeedSettings feed;
  feed.url = url;
  auto f = JetStreamDeviceFeed::Connect(feed);
  ASSERT_FALSE(f);
  EXPECT_TRUE(names(f.error())) << f.error().message;
  PlanStoreSettings plans;
  plans.url = url;
  auto p = JetStreamPlanStore::Connect(plans);
  ASSERT_FALSE(p);
  EXPECT_TRUE(names(p.error())) << p.error().message;
}

}  // namespace
}  // namespace fanout::adapters::jetstream
