// The durable state behind the embedded bus, protocol log and plan store: what one
// process wrote, the next one reads back (the crash itself is exercised on the real binary
// by tests/e2e/crash).
#include "adapters/sqlite/sqlite_journals.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

namespace fanout::adapters::sqlite {
namespace {

using domain::pipeline::Event;
using domain::pipeline::EventType;
using ports::BusMessage;
using ports::WorkBus;

class JournalTest : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("fanout-journal-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { std::filesystem::remove_all(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
};

template <typename F>
bool WaitFor(F done) {
  for (int i = 0; i < 500 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return done();
}

TEST_F(JournalTest, UnacknowledgedMessagesComeBackWithTheirDeliveryCount) {
  {
    SqliteState state(dir_ / "state.db");
    memory::MemoryBus bus({}, &state.bus());
    ASSERT_TRUE(bus.Publish({"s", "done-1", "a"}));
    ASSERT_TRUE(bus.Publish({"s", "crash-1", "b"}));
    ASSERT_TRUE(bus.Publish({"s", "queued-1", "c"}));
    ASSERT_TRUE(bus.Publish({"later", "later-1", "d", 60'000}));  // delayed a minute
    std::atomic<int> calls{0};
    bus.Subscribe({"s", "c", 1, 0, true}, [&](const BusMessage& m) {
      calls++;
      if (m.msg_id == "crash-1") {
        // "Crash" mid-handler: stop the bus while the message is unacknowledged (Stop
        // leaves a retried message pending, as a killed process would).
        return WorkBus::Ack::Retry(60'000);
      }
      return WorkBus::Ack::Done();
    });
    ASSERT_TRUE(WaitFor([&] { return calls.load() >= 3; }));
    bus.Stop();
  }
  SqliteState state(dir_ / "state.db");
  auto unfinished = state.bus().LoadUnfinished();
  ASSERT_TRUE(unfinished);
  ASSERT_EQ(unfinished->size(), 2u);  // crash-1 (delivered once) and later-1 (not yet due)
  EXPECT_EQ((*unfinished)[0].message.msg_id, "crash-1");
  EXPECT_EQ((*unfinished)[0].message.deliveries, 1u);
  EXPECT_EQ((*unfinished)[0].message.payload, "b");
  EXPECT_EQ((*unfinished)[1].message.msg_id, "later-1");
  EXPECT_EQ((*unfinished)[1].message.deliveries, 0u);

  // The next process: recovers them, delivers crash-1 as its second delivery, and still
  // refuses the ids it finished before (dedup across the restart).
  memory::MemoryBus bus({}, &state.bus());
  auto recovered = bus.Recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(*recovered, 2u);
  ASSERT_TRUE(bus.Publish({"s", "done-1", "a"}));  // finished before: dropped
  std::atomic<uint32_t> deliveries{0};
  std::atomic<int> calls{0};
  bus.Subscribe({"s", "c", 1}, [&](const BusMessage& m) {
    calls++;
    if (m.msg_id == "crash-1") deliveries = m.deliveries;
    return WorkBus::Ack::Done();
  });
  // crash-1 was rescheduled a minute ahead before the "crash"; it is still due then.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(bus.Pending(), 2u);
}

// A delivery mark is an append to state.db-marks before the handler runs; its database
// update is committed later. A process killed in between leaves the mark in the file only:
// the next start folds it in (a torn last line, a write cut by the kill, is ignored).
TEST_F(JournalTest, DeliveryMarksOnlyInTheMarksFileAreFoldedInAtStart) {
  {
    SqliteState state(dir_ / "state.db");
    state.bus().Add({"s", "m1", "x"}, 0);
    state.bus().Add({"s", "m2", "y"}, 0);
    state.bus().Add({"s", "m3", "z"}, 0);
    ASSERT_TRUE(state.Flush());
  }
  {
    std::ofstream marks(dir_ / "state.db-marks", std::ios::app);
    marks << "1\tm1\n2\tm1\n1\tm2\n7\tm3";  // m3's line was cut by the kill
  }
  {
    SqliteState state(dir_ / "state.db");
    EXPECT_EQ(std::filesystem::file_size(dir_ / "state.db-marks"), 0u);  // folded, emptied
    auto left = state.bus().LoadUnfinished();
    ASSERT_TRUE(left);
    ASSERT_EQ(left->size(), 3u);
    EXPECT_EQ((*left)[0].message.deliveries, 2u);
    EXPECT_EQ((*left)[1].message.deliveries, 1u);
    EXPECT_EQ((*left)[2].message.deliveries, 0u);
    // A mark written now is in the file at once, before any commit.
    ASSERT_TRUE(state.bus().Delivered("m2", 2, true));
    std::ifstream in(dir_ / "state.db-marks");
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "2\tm2");
  }
  SqliteState state(dir_ / "state.db");
  auto left = state.bus().LoadUnfinished();
  ASSERT_TRUE(left);
  EXPECT_EQ((*left)[1].message.deliveries, 2u);
}

TEST_F(JournalTest, RecoveredMessagesDueNowAreDeliveredAgain) {
  {
    SqliteState state(dir_ / "state.db");
    state.bus().Add({"s", "m1", "x"}, 0);
    ASSERT_TRUE(state.bus().Delivered("m1", 1, true));  // the previous process was in its handler
    state.bus().Add({"s", "m2", "y"}, 0);
  }
  SqliteState state(dir_ / "state.db");
  memory::MemoryBus bus({}, &state.bus());
  ASSERT_TRUE(bus.Recover());
  std::mutex mu;
  std::vector<std::pair<std::string, uint32_t>> seen;
  bus.Subscribe({"s", "c", 1}, [&](const BusMessage& m) {
    std::lock_guard lock(mu);
    seen.emplace_back(m.msg_id, m.deliveries);
    return WorkBus::Ack::Done();
  });
  ASSERT_TRUE(WaitFor([&] { return bus.Pending() == 0; }));
  bus.Stop();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::pair<std::string, uint32_t>{"m1", 2}));  // a redelivery
  EXPECT_EQ(seen[1], (std::pair<std::string, uint32_t>{"m2", 1}));
  auto left = state.bus().LoadUnfinished();
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
}

TEST_F(JournalTest, MaxDeliverAndGiveUpBecomeDeadLetters) {
  SqliteState state(dir_ / "state.db");
  memory::MemoryBus bus({.retry_delay_ms = 1}, &state.bus());
  std::mutex mu;
  std::vector<WorkBus::DeadLetter> dead;
  bus.OnDeadLetter([&](const WorkBus::DeadLetter& d) {
    std::lock_guard lock(mu);
    dead.push_back(d);
  });
  ASSERT_TRUE(bus.Publish({"s", "poison", "p"}));
  ASSERT_TRUE(bus.Publish({"s", "bad", "b"}));
  std::atomic<int> poison_calls{0};
  bus.Subscribe({"s", "worker", 1, 3}, [&](const BusMessage& m) {
    if (m.msg_id == "bad") return WorkBus::Ack::GiveUp("cannot decode");
    poison_calls++;
    return WorkBus::Ack::Retry(1);
  });
  ASSERT_TRUE(WaitFor([&] { return bus.Pending() == 0; }));
  bus.Stop();
  EXPECT_EQ(poison_calls.load(), 3);  // max_deliver = 3, then given up
  std::lock_guard lock(mu);
  ASSERT_EQ(dead.size(), 2u);
  for (const auto& d : dead) {
    EXPECT_EQ(d.consumer, "worker");
    if (d.message.msg_id == "bad") {
      EXPECT_EQ(d.reason, "cannot decode");
    } else {
      EXPECT_EQ(d.message.deliveries, 3u);
      EXPECT_NE(d.reason.find("3 deliveries"), std::string::npos);
    }
  }
  auto left = state.bus().LoadUnfinished();
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());  // dead letters are finished, not redelivered after a restart
}

Event Batch(uint32_t batch) {
  Event e;
  e.type = EventType::kBatchDone;
  e.alert_id = "alert-1";
  e.region = "r0";
  e.unit = "apns/all/3";
  e.batch = batch;
  e.accepted = 500;
  e.latency[5] = 500;
  return e;
}

TEST_F(JournalTest, ProtocolLogSurvivesReopenWithPositionsAndKeys) {
  {
    SqliteState state(dir_ / "state.db");
    memory::MemoryProtocolLog log(&state.log());
    ASSERT_TRUE(log.Load());
    EXPECT_EQ(log.Append(Batch(0)), true);
    EXPECT_EQ(log.Append(Batch(1)), true);
    EXPECT_EQ(log.Append(Batch(1)), false);
  }
  auto state = std::make_unique<SqliteState>(dir_ / "state.db");
  memory::MemoryProtocolLog log(&state->log());
  auto loaded = log.Load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, 2u);
  EXPECT_EQ(log.Append(Batch(1)), false);  // the key is remembered across the restart
  EXPECT_EQ(log.Append(Batch(2)), true);
  auto all = log.ReadFrom(0, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].position, 3u);
  EXPECT_EQ(all[0].event.latency[5], 500u);
  ASSERT_TRUE(log.Flush());
  state.reset();
  SqliteState again(dir_ / "state.db");
  auto events = again.log().LoadAll();
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 3u);
}

TEST_F(JournalTest, PlansArePutIfAbsentAndSurviveReopen) {
  auto plan = std::make_shared<domain::pipeline::AlertPlan>();
  plan->alert_id = "id-1";
  plan->sender = "s@x";
  plan->sent = "2026-01-01T00:00:00+00:00";
  plan->municipalities = {"091620000000"};
  plan->units = 256;
  {
    SqliteState state(dir_ / "state.db");
    memory::MemoryPlanStore plans(&state.plans());
    ASSERT_TRUE(plans.Load());
    auto stored = plans.PutIfAbsent(plan);
    ASSERT_TRUE(stored);
    EXPECT_EQ(*stored, plan);
    auto other = std::make_shared<domain::pipeline::AlertPlan>(*plan);
    other->municipalities = {"110000000000"};  // a different recomputation
    auto kept = plans.PutIfAbsent(other);
    ASSERT_TRUE(kept);
    EXPECT_EQ(*kept, plan);  // the first plan stays the plan
  }
  SqliteState state(dir_ / "state.db");
  memory::MemoryPlanStore plans(&state.plans());
  ASSERT_TRUE(plans.Load());
  auto p = plans.Get("id-1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->municipalities, plan->municipalities);
  EXPECT_EQ(plans.FindReferenced("s@x", "id-1", plan->sent), p);
  EXPECT_EQ(plans.FindReferenced("s@x", "id-1", ""), p);
  EXPECT_EQ(plans.FindReferenced("other@x", "id-1", ""), p);  // sender spelled otherwise
  EXPECT_EQ(plans.FindReferenced("s@x", "id-2", ""), nullptr);
}

TEST_F(JournalTest, UnreadableFileIsAClearStartupError) {
  std::filesystem::create_directories(dir_);
  {
    std::ofstream f(dir_ / "state.db");
    f << "this is not a database, it is a text file that is long enough to be a header";
  }
  try {
    SqliteState state(dir_ / "state.db");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("state.db"), std::string::npos) << e.what();
  }
}

TEST_F(JournalTest, ConcurrentWritersShareCommits) {
  SqliteState state(dir_ / "state.db");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&state, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        state.bus().Add({"s", id, "payload"}, 0);
        EXPECT_TRUE(state.bus().Delivered(id, 1, true));
        state.bus().Finished(id);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(state.Flush());
  EXPECT_EQ(state.writes(), 8u * 50 * 3 + 1);
  // Group commit: transactions carry several writes (the ratio is measured in BENCHMARKS.md).
  EXPECT_LT(state.transactions(), state.writes());
  EXPECT_EQ(state.write_failures(), 0u);
  auto finished = state.bus().LoadFinishedIds();
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->size(), 400u);
}

}  // namespace
}  // namespace fanout::adapters::sqlite
