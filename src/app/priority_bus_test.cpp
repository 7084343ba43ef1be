// The two priorities on two buses: each subject goes to its priority's bus, subscriptions
// too, and the combined view adds both up.
#include "app/priority_bus.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "adapters/memory/memory_bus.hpp"
#include "app/messages.hpp"

namespace fanout::app {
namespace {

using domain::device::Platform;

TEST(PriorityBus, EachPriorityHasItsOwnBus) {
  EXPECT_TRUE(IsHighPrioritySubject(AlertsSubject("high")));
  EXPECT_TRUE(IsHighPrioritySubject(BatchesSubject("high", Platform::kFcm)));
  EXPECT_FALSE(IsHighPrioritySubject(UnitsSubject("regular")));
  EXPECT_FALSE(IsHighPrioritySubject("high.regular"));  // the second word decides
  EXPECT_FALSE(IsHighPrioritySubject("alerts.higher"));
  EXPECT_FALSE(IsHighPrioritySubject("high"));

  adapters::memory::MemoryBus high, regular;
  PriorityBus bus(high, regular);
  ASSERT_TRUE(bus.Publish({AlertsSubject("high"), "a1", ""}));
  ASSERT_TRUE(bus.Publish({BatchesSubject("high", Platform::kApns), "b1", ""}));
  ASSERT_TRUE(bus.Publish({UnitsSubject("regular"), "u1", ""}));
  EXPECT_EQ(high.Pending(), 2u);
  EXPECT_EQ(regular.Pending(), 1u);
  EXPECT_EQ(bus.Pending(), 3u);
  std::atomic<int> got{0};
  for (const std::string& s :
       {AlertsSubject("high"), BatchesSubject("high", Platform::kApns), UnitsSubject("regular")}) {
    bus.Subscribe({s, "c", 1}, [&](const ports::BusMessage&) {
      ++got;
      return ports::WorkBus::Ack::Done();
    });
  }
  for (int i = 0; i < 500 && bus.Pending() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  bus.Stop();
  EXPECT_EQ(got.load(), 3);
  EXPECT_TRUE(bus.Flush());
}

}  // namespace
}  // namespace fanout::app
