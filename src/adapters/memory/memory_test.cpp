#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "adapters/memory/file_archive.hpp"
#include "adapters/memory/memory_bus.hpp"
#include "adapters/memory/memory_protocol_log.hpp"

namespace fanout::adapters::memory {
namespace {

void WaitFor(const std::function<bool()>& pred) {
  for (int i = 0; i < 500 && !pred(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

TEST(MemoryBus, DeliversEachMessageOnceAcrossWorkersAndDedups) {
  MemoryBus bus;
  std::atomic<int> seen{0};
  bus.Subscribe("s", 4, [&](const ports::BusMessage&) {
    seen++;
    return ports::WorkBus::Ack::kDone;
  });
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(bus.Publish({"s", "id" + std::to_string(i), "x"}));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(bus.Publish({"s", "id" + std::to_string(i), "x"}));
  WaitFor([&] { return bus.Pending() == 0; });
  EXPECT_EQ(seen.load(), 1000);
  EXPECT_EQ(bus.Pending(), 0u);
}

TEST(MemoryBus, RetryRedeliversUntilDone) {
  MemoryBus bus(MemoryBus::Settings{1, 100});
  std::atomic<int> calls{0};
  bus.Subscribe("s", 1, [&](const ports::BusMessage&) {
    return ++calls < 3 ? ports::WorkBus::Ack::kRetry : ports::WorkBus::Ack::kDone;
  });
  ASSERT_TRUE(bus.Publish({"s", "", "x"}));
  WaitFor([&] { return bus.Pending() == 0; });
  EXPECT_EQ(calls.load(), 3);
}

TEST(MemoryBus, SubjectsAreSeparateQueues) {
  MemoryBus bus;
  std::atomic<int> high{0};
  // No consumer for "regular": its backlog must not block "high".
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(bus.Publish({"regular", "", "x"}));
  bus.Subscribe("high", 1, [&](const ports::BusMessage&) {
    high++;
    return ports::WorkBus::Ack::kDone;
  });
  ASSERT_TRUE(bus.Publish({"high", "", "x"}));
  WaitFor([&] { return high.load() == 1; });
  EXPECT_EQ(high.load(), 1);
  EXPECT_EQ(bus.Pending(), 100u);
}

TEST(MemoryProtocolLog, KeepsOrderAndNotifies) {
  MemoryProtocolLog log;
  int heard = 0;
  log.Listen([&](const domain::pipeline::Event&) { heard++; });
  domain::pipeline::Event e;
  e.alert_id = "b";
  log.Append(e);
  e.alert_id = "a";
  log.Append(e);
  log.Append(e);
  EXPECT_EQ(log.AlertIds(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(log.Events("a").size(), 2u);
  EXPECT_EQ(heard, 3);
}

TEST(FileArchive, StoresAndReadsBackIdempotently) {
  auto dir =
      std::filesystem::temp_directory_path() / ("fanout-archive-" + std::to_string(::getpid()));
  FileArchive ar(dir);
  std::string hash(64, 'a');
  ASSERT_TRUE(ar.Put(hash, "body"));
  ASSERT_TRUE(ar.Put(hash, "body"));
  auto got = ar.Get(hash);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, "body");
  EXPECT_FALSE(ar.Put("../../etc", "x"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fanout::adapters::memory
