#include "platform/thread/thread.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace fanout::platform {
namespace {

int NiceOfThisThread() {
  return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
}

TEST(Thread, NiceAppliesToTheCallingThreadOnly) {
  int main_before = NiceOfThisThread();
  int seen = -100;
  std::thread t([&] {
    ASSERT_TRUE(SetCurrentThreadNice(main_before + 5));
    seen = NiceOfThisThread();
  });
  t.join();
  EXPECT_EQ(seen, main_before + 5);
  EXPECT_EQ(NiceOfThisThread(), main_before);
}

}  // namespace
}  // namespace fanout::platform
