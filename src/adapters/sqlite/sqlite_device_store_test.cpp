#include "adapters/sqlite/sqlite_device_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace fanout::adapters::sqlite {
namespace {

using domain::device::Device;
using domain::device::Platform;

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::filesystem::path dir_ =
      std::filesystem::temp_directory_path() / ("fanout-sqlite-" + std::to_string(::getpid()));
  void TearDown() override { std::filesystem::remove_all(dir_); }
};

Device Dev(std::string id) {
  Device d;
  d.id = std::move(id);
  d.platform = Platform::kFcm;
  d.token = "tok-" + d.id;
  d.levels = {{"AP1", 0}, {"AP2", 3}};
  d.mylocation = false;
  d.regions = {"055150000000", "091620000000"};
  return d;
}

TEST_F(SqliteStoreTest, UpsertGetRemoveAndSurviveReopen) {
  {
    SqliteDeviceStore store(dir_ / "devices.db");
    auto r = store.Upsert(Dev("a"));
    ASSERT_TRUE(r);
    EXPECT_TRUE(*r);  // new
    Device changed = Dev("a");
    changed.regions = {"110000000000"};
    r = store.Upsert(changed);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);  // replaced, not new
    std::vector<Device> many{Dev("b"), Dev("c")};
    ASSERT_TRUE(store.UpsertMany(many));
    auto rm = store.Remove("c");
    ASSERT_TRUE(rm);
    EXPECT_TRUE(*rm);
    rm = store.Remove("c");
    ASSERT_TRUE(rm);
    EXPECT_FALSE(*rm);
  }
  SqliteDeviceStore store(dir_ / "devices.db");  // restart
  auto a = store.Get("a");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->regions, std::vector<std::string>{"110000000000"});
  EXPECT_EQ((*a)->levels.at("AP2"), 3);
  EXPECT_EQ((*a)->platform, Platform::kFcm);
  std::vector<std::string> ids;
  auto n = store.LoadAll([&](Device&& d) { ids.push_back(d.id); });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  auto missing = store.Get("zzz");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqliteStoreTest, UnwritableLocationFailsAtStart) {
  EXPECT_THROW(SqliteDeviceStore("/proc/fanout/devices.db"), std::exception);
}

}  // namespace
}  // namespace fanout::adapters::sqlite
