#include "adapters/sqlite/sqlite_device_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "adapters/sqlite/sqlite_db.hpp"
#include "testing/device_store_contract.hpp"

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

TEST_F(SqliteStoreTest, VersionedChangesConvergeAndTombstonesHold) {
  SqliteDeviceStore store(dir_ / "devices.db");
  testing::ExpectVersionedApply(store, Dev);
}

TEST_F(SqliteStoreTest, ChangesTombstonesAndThePositionSurviveReopen) {
  {
    SqliteDeviceStore store(dir_ / "devices.db");
    Device changed = Dev("a");
    changed.regions = {"110000000000"};
    EXPECT_EQ(testing::ApplyOne(store, testing::PutChange(Dev("a"), 1)), ports::Applied::kCreated);
    EXPECT_EQ(testing::ApplyOne(store, testing::PutChange(changed, 2), 11),
              ports::Applied::kUpdated);
    EXPECT_EQ(testing::ApplyOne(store, testing::PutChange(Dev("c"), 3)), ports::Applied::kCreated);
    EXPECT_EQ(testing::ApplyOne(store, testing::RemoveChange("c", 4)), ports::Applied::kRemoved);
  }
  SqliteDeviceStore store(dir_ / "devices.db");  // restart
  auto a = store.Get("a");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->regions, std::vector<std::string>{"110000000000"});
  EXPECT_EQ((*a)->levels.at("AP2"), 3);
  EXPECT_EQ((*a)->platform, Platform::kFcm);
  auto sync = store.SyncState();
  ASSERT_TRUE(sync);
  EXPECT_EQ(sync->feed_position, 11u);
  EXPECT_EQ(sync->max_version, 4u);
  // The tombstone survived: the removed device's older registration stays stale.
  EXPECT_EQ(testing::ApplyOne(store, testing::PutChange(Dev("c"), 3)), ports::Applied::kStale);
  std::vector<std::string> ids;
  auto n = store.LoadAll([&](Device&& d) { ids.push_back(d.id); });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  auto missing = store.Get("zzz");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqliteStoreTest, AFileOfTheUnversionedSchemaIsUpgradedInPlace) {
  std::filesystem::create_directories(dir_);
  {
    Db old(dir_ / "devices.db",
           "CREATE TABLE devices(device_id TEXT PRIMARY KEY, platform INTEGER NOT NULL,"
           " token TEXT NOT NULL, levels TEXT NOT NULL, mylocation INTEGER NOT NULL,"
           " regions TEXT NOT NULL, updated_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
           "INSERT INTO devices VALUES('old','1','tok-old','AP1=2','0','055150000000',0);");
  }
  SqliteDeviceStore store(dir_ / "devices.db");
  auto old = store.Get("old");
  ASSERT_TRUE(old && *old);
  EXPECT_EQ((*old)->token, "tok-old");
  // Version 0: any versioned change supersedes it.
  EXPECT_EQ(testing::ApplyOne(store, testing::PutChange(Dev("old"), 1)), ports::Applied::kUpdated);
}

TEST_F(SqliteStoreTest, UnwritableLocationFailsAtStart) {
  EXPECT_THROW(SqliteDeviceStore("/proc/fanout/devices.db"), std::exception);
}

}  // namespace
}  // namespace fanout::adapters::sqlite
