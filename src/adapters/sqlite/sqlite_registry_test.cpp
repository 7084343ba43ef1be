// Restart recovery on the embedded store: a child process registers devices through the
// Registry (SQLite, WAL) and is SIGKILLed mid-run; a fresh Registry started from the file
// must hold every device the child reported committed and select exactly what the
// reference rules select.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "adapters/memory/memory_device_feed.hpp"
#include "adapters/sqlite/sqlite_device_store.hpp"
#include "app/registry.hpp"

namespace fanout::adapters::sqlite {
namespace {

using domain::device::Device;
using domain::device::Platform;

Device Nth(uint32_t i) {
  static const char* kKeys[] = {"055150000000", "091620000000", "090000000000", "010515163003"};
  Device d;
  d.id = "k" + std::to_string(i);
  d.platform = i % 3 ? Platform::kApns : Platform::kFcm;
  d.token = d.platform == Platform::kApns ? std::string(64, "0123456789abcdef"[i % 16])
                                          : "fcm-" + std::to_string(i);
  d.mylocation = i % 4 == 0;
  d.regions = {kKeys[i % 4]};
  if (i % 2) d.levels = {{"AP1", static_cast<int>(i % 5)}};
  return d;
}

TEST(SqliteRegistryRecovery, RestartsFromTheFileOfAKilledWriter) {
  auto dir = std::filesystem::temp_directory_path() / ("fanout-kill-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    SqliteDeviceStore store(dir / "devices.db");
    memory::MemoryDeviceFeed feed;
    app::Registry reg("child", store, feed, app::ProviderSettings{}, 8);
    if (!reg.Start()) ::_exit(3);
    for (uint32_t i = 0; i < 1000000; ++i) {
      if (!reg.Put(Nth(i))) ::_exit(4);
      if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(5);  // committed
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  uint32_t last = 0, v;
  bool any = false;
  while (::read(fds[0], &v, sizeof v) == sizeof v) {
    last = v;
    any = true;
    if (last >= 400) break;
  }
  ASSERT_TRUE(any);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  while (::read(fds[0], &v, sizeof v) == sizeof v) last = v;  // reports before the kill
  ::close(fds[0]);

  SqliteDeviceStore store(dir / "devices.db");
  memory::MemoryDeviceFeed feed;
  app::Registry reg("parent", store, feed, app::ProviderSettings{}, 8);
  auto n = reg.Start();
  ASSERT_TRUE(n) << n.error().message;
  // Everything reported is there; at most the one write in flight at the kill is extra.
  EXPECT_GE(*n, last + 1);
  EXPECT_LE(*n, last + 2);
  for (uint32_t i = 0; i <= last; ++i) ASSERT_TRUE(reg.Get("k" + std::to_string(i))) << i;

  const std::vector<std::string> area{"091620000000", "091790113113"};
  std::set<std::string> expected, got;
  reg.ForEach([&](const Device& d) {
    for (uint32_t s = 0; s < 8; ++s) {
      for (auto f : {domain::device::Flow::kAll, domain::device::Flow::kSelected}) {
        domain::device::SelectionQuery q{
            d.platform, f, s, "AP1", 2, &area, &reg.providers().default_levels};
        if (domain::device::DeviceMatches(d, domain::device::ShardOf(d.id, 8), q)) {
          expected.insert(d.id);
        }
      }
    }
  });
  for (uint32_t s = 0; s < 8; ++s) {
    for (auto p : {Platform::kApns, Platform::kFcm}) {
      for (auto f : {domain::device::Flow::kAll, domain::device::Flow::kSelected}) {
        domain::device::SelectionQuery q{p, f, s, "AP1", 2, &area, &reg.providers().default_levels};
        reg.Select(q, 500, [&](std::span<const domain::device::DeviceRef> b) {
          for (const auto& d : b) EXPECT_TRUE(got.insert(std::string(d.id)).second);
        });
      }
    }
  }
  EXPECT_GT(expected.size(), 100u);
  EXPECT_EQ(got, expected);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fanout::adapters::sqlite
