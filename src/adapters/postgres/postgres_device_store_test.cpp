// Needs a PostgreSQL server reachable through the PG* environment (label `pg`; run under
// scripts/with-postgres.sh). Each test works in its own schema, so tests do not interfere.
#include "adapters/postgres/postgres_device_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "adapters/postgres/migrations.hpp"
#include "domain/device/index.hpp"
#include "testing/device_store_contract.hpp"

namespace fanout::adapters::postgres {
namespace {

using domain::device::Device;
using domain::device::Platform;

class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_ = "t_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : schema_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto c = PgConnection::Connect("");
    ASSERT_TRUE(c) << c.error().message << " (run under scripts/with-postgres.sh)";
    ASSERT_TRUE(c->Exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_));
  }
  // A conninfo whose unqualified names resolve in this test's schema.
  std::string Conninfo() const { return "options=-csearch_path=" + schema_; }
  PgConnection Conn() const { return std::move(*PgConnection::Connect(Conninfo())); }
  std::string schema_;
};

Device Dev(std::string id, Platform p = Platform::kFcm) {
  Device d;
  d.id = std::move(id);
  d.platform = p;
  d.token = "tok-" + d.id;
  d.levels = {{"AP1", 0}, {"AP2", 3}};
  d.regions = {"055150000000", "091620000000"};
  return d;
}

TEST_F(PgTest, VersionedChangesConvergeAndTombstonesHold) {
  PostgresDeviceStore store(Conninfo());
  testing::ExpectVersionedApply(store, [](std::string id) { return Dev(std::move(id)); });
}

TEST_F(PgTest, ChangesSurviveReconnectWithEscapes) {
  {
    PostgresDeviceStore store(Conninfo());
    Device changed = Dev("a");
    changed.regions = {"110000000000"};
    changed.mylocation = true;
    changed.levels = {};
    changed.token = "odd\\token\twith\nescapes";
    EXPECT_EQ(testing::ApplyOne(store, testing::PutChange(Dev("a"), 1)), ports::Applied::kCreated);
    EXPECT_EQ(testing::ApplyOne(store, testing::PutChange(changed, 2), 9),
              ports::Applied::kUpdated);
  }
  PostgresDeviceStore store(Conninfo());  // restart: migrations are a no-op, data is there
  auto a = store.Get("a");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->regions, std::vector<std::string>{"110000000000"});
  EXPECT_TRUE((*a)->mylocation);
  EXPECT_TRUE((*a)->levels.empty());
  EXPECT_EQ((*a)->token, "odd\\token\twith\nescapes");
  auto sync = store.SyncState();
  ASSERT_TRUE(sync);
  EXPECT_EQ(sync->feed_position, 9u);
  auto missing = store.Get("zzz");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  std::vector<Device> all;
  ASSERT_TRUE(store.LoadAll([&](Device&& d) { all.push_back(std::move(d)); }));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].token, "odd\\token\twith\nescapes");  // COPY TO STDOUT unescaped
}

std::vector<ports::DeviceUpdate> Changes(const std::vector<Device>& devices, uint64_t first) {
  std::vector<ports::DeviceUpdate> out;
  for (const Device& d : devices) out.push_back(testing::PutChange(d, first++));
  return out;
}

TEST_F(PgTest, ABatchIsOneCopyWhereTheNewestVersionWins) {
  PostgresDeviceStore store(Conninfo());
  std::vector<Device> batch;
  for (int i = 0; i < 2500; ++i) batch.push_back(Dev("d" + std::to_string(i), Platform::kApns));
  Device again = Dev("d7", Platform::kFcm);
  again.levels = {{"AP4", 1}};
  again.regions = {"090000000000"};
  batch.push_back(again);  // same id twice in one batch, the later with the greater version
  ASSERT_TRUE(store.Apply(Changes(batch, 1), 0));
  ASSERT_TRUE(store.Apply(Changes({Dev("d1")}, 10000), 0));  // updates an existing one
  std::map<std::string, Device> loaded;
  auto n = store.LoadAll([&](Device&& d) { loaded[d.id] = std::move(d); });
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2500u);
  EXPECT_EQ(loaded.at("d7").platform, Platform::kFcm);
  EXPECT_EQ(loaded.at("d7").levels, (std::map<std::string, int>{{"AP4", 1}}));
  EXPECT_EQ(loaded.at("d7").regions, std::vector<std::string>{"090000000000"});
  EXPECT_EQ(loaded.at("d1").platform, Platform::kFcm);
  EXPECT_EQ(loaded.at("d2").platform, Platform::kApns);
}

TEST_F(PgTest, AFailedBatchLeavesNothingBehind) {
  PostgresDeviceStore store(Conninfo());
  std::vector<Device> batch{Dev("ok1"), Dev("ok2")};
  Device bad = Dev("bad");
  bad.platform = static_cast<Platform>(7);  // violates devices_platform_known (0.2.0)
  batch.push_back(bad);
  auto r = store.Apply(Changes(batch, 1), 5);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("devices_platform_known"), std::string::npos)
      << r.error().message;
  auto ok = store.Get("ok1");
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->has_value());
  EXPECT_EQ(store.SyncState()->feed_position, 0u);
  ASSERT_TRUE(store.Apply(Changes({Dev("ok1")}, 1), 0));  // connection still usable
}

TEST_F(PgTest, RestartRebuildsTheSameSelection) {
  std::vector<Device> devices;
  for (int i = 0; i < 600; ++i) {
    Device d = Dev("r" + std::to_string(i), i % 2 ? Platform::kApns : Platform::kFcm);
    d.mylocation = i % 5 == 0;
    d.levels = {{"AP2", i % 5}};
    d.regions = {i % 3 ? "091620000000" : "055150000000"};
    devices.push_back(d);
  }
  auto select = [](const domain::device::DeviceIndex& idx) {
    std::set<std::string> out;
    std::vector<std::string> area{"091620000000"};
    for (uint32_t s = 0; s < idx.shards(); ++s) {
      for (auto p : {Platform::kApns, Platform::kFcm}) {
        for (auto f : {domain::device::Flow::kAll, domain::device::Flow::kSelected}) {
          domain::device::SelectionQuery q{p, f, s, "AP2", 2, &area, nullptr};
          idx.Select(q, 500, [&](std::span<const domain::device::DeviceRef> b) {
            for (const auto& d : b) out.insert(std::string(d.id));
          });
        }
      }
    }
    return out;
  };
  domain::device::DeviceIndex live(8);
  {
    PostgresDeviceStore store(Conninfo());
    ASSERT_TRUE(store.Apply(Changes(devices, 1), 0));
    for (const auto& d : devices) live.Upsert(d);
  }
  domain::device::DeviceIndex rebuilt(8);
  PostgresDeviceStore store(Conninfo());
  rebuilt.BeginBulk();
  ASSERT_TRUE(store.LoadAll([&](Device&& d) { rebuilt.Upsert(d); }));
  rebuilt.EndBulk();
  EXPECT_EQ(rebuilt.size(), 600u);
  EXPECT_FALSE(select(live).empty());
  EXPECT_EQ(select(rebuilt), select(live));
}

TEST(SemVer, ParsesAndOrdersNumerically) {
  EXPECT_LT(*ParseSemVer("0.9.0"), *ParseSemVer("0.10.0"));
  EXPECT_LT(*ParseSemVer("0.10.0"), *ParseSemVer("1.0.0"));
  EXPECT_LT(*ParseSemVer("1.2.3"), *ParseSemVer("1.2.10"));
  EXPECT_FALSE(ParseSemVer("1.2"));
  EXPECT_FALSE(ParseSemVer("1.2.x"));
  EXPECT_FALSE(ParseSemVer("v1.2.3"));
  EXPECT_FALSE(ParseSemVer("1..3"));
}

TEST_F(PgTest, MigrationsRunInSemverOrderAndStopAtTheFirstFailure) {
  auto conn = Conn();
  auto step = [](const char* v) {
    return Migration{v, std::string("step ") + v,
                     std::string("INSERT INTO trail(v) VALUES ('") + v + "')"};
  };
  std::vector<Migration> ms{step("0.10.0"),
                            step("0.9.0"),
                            {"0.1.0", "trail", "CREATE TABLE trail(n serial, v text)"},
                            step("0.2.0")};
  auto r = ApplyMigrations(conn, ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"0.1.0", "0.2.0", "0.9.0", "0.10.0"}));
  auto trail = conn.Exec("SELECT string_agg(v, ',' ORDER BY n) FROM trail");
  ASSERT_TRUE(trail);
  EXPECT_EQ(trail->get(0, 0), "0.2.0,0.9.0,0.10.0");  // not lexicographic (0.10 < 0.2)

  // A failing migration is rolled back and stops the run; later ones wait.
  ms.push_back({"0.11.0", "half-done", "CREATE TABLE half(x int); SELECT no_such_function()"});
  ms.push_back(step("0.12.0"));
  r = ApplyMigrations(conn, ms);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("0.11.0"), std::string::npos) << r.error().message;
  EXPECT_FALSE(conn.Exec("SELECT * FROM half"));  // rolled back
  auto versions =
      conn.Exec("SELECT string_agg(version, ',' ORDER BY applied_at) FROM schema_migrations");
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->get(0, 0), "0.1.0,0.2.0,0.9.0,0.10.0");

  // Fixed: the run continues where it stopped; nothing is applied twice.
  ms[4].sql = "CREATE TABLE half(x int)";
  r = ApplyMigrations(conn, ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::string>{"0.11.0", "0.12.0"}));
  r = ApplyMigrations(conn, ms);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  trail = conn.Exec("SELECT count(*) FROM trail");
  EXPECT_EQ(trail->get(0, 0), "4");
}

TEST_F(PgTest, EditedAppliedMigrationOrBadVersionIsRefused) {
  auto conn = Conn();
  std::vector<Migration> ms{{"1.0.0", "t", "CREATE TABLE t(x int)"}};
  ASSERT_TRUE(ApplyMigrations(conn, ms));
  ms[0].sql = "CREATE TABLE t(x bigint)";
  auto r = ApplyMigrations(conn, ms);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("changed after it was applied"), std::string::npos);
  std::vector<Migration> bad{{"1.0", "t", "SELECT 1"}};
  EXPECT_FALSE(ApplyMigrations(conn, bad));
  std::vector<Migration> dup{{"2.0.0", "a", "SELECT 1"}, {"2.0.0", "b", "SELECT 1"}};
  EXPECT_FALSE(ApplyMigrations(conn, dup));
}

TEST(PgCodec, LevelsRegionsAndCopyFieldsRoundTrip) {
  std::map<std::string, int> levels{{"AP1", 0}, {"A\"P", 4}};
  EXPECT_EQ(ParseLevelsJson(LevelsJson(levels)), levels);
  EXPECT_EQ(ParseLevelsJson("{\"AP1\": 4, \"AP2\": 0}"),
            (std::map<std::string, int>{{"AP1", 4}, {"AP2", 0}}));
  std::vector<std::string> regions{"055150000000", "a,b", "q\"x"};
  EXPECT_EQ(ParseRegionsArray(RegionsArray(regions)), regions);
  EXPECT_EQ(ParseRegionsArray("{055150000000,091620000000}"),
            (std::vector<std::string>{"055150000000", "091620000000"}));
  EXPECT_TRUE(ParseRegionsArray("{}").empty());
  std::string line;
  CopyEscape("a\tb\\c\nd", line);
  line += "\t\\N\tx";
  auto f = CopySplit(line);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(*f[0], "a\tb\\c\nd");
  EXPECT_FALSE(f[1]);
  EXPECT_EQ(*f[2], "x");
}

// Least privilege (issue 14) and an upgrade that keeps the registry: a database left at an
// older release's schema with devices in it; the application role (no DDL) refuses to start
// on it and names the command; the owner migrates and grants; the application role then
// reads the old devices, writes new ones, and cannot change the schema or its record.
TEST_F(PgTest, ApplicationRoleNeedsAMigratedSchemaAndCannotChangeIt) {
  auto owner = Conn();
  const std::string role = "app_" + std::to_string(::getpid());
  ASSERT_TRUE(owner.Exec("DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN"));
  std::vector<Migration> old_release(DeviceMigrations().begin(), DeviceMigrations().begin() + 2);
  ASSERT_TRUE(ApplyMigrations(owner, old_release));
  ASSERT_TRUE(owner.Exec(
      "INSERT INTO devices(device_id, platform, token, levels, mylocation, regions) VALUES "
      "('old-1', 1, 'tok-old-1', '{\"AP1\": 2}', false, '{055150000000}')"));
  ASSERT_TRUE(GrantAppRole(owner, role));  // a grant from the old release

  const std::string app = Conninfo() + " user=" + role;
  try {
    PostgresDeviceStore refused(app, /*migrate=*/false);
    ADD_FAILURE() << "an application role started on an old schema";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("lacks migrations 0.10.0, 0.11.0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fanout db migrate"), std::string::npos) << msg;
  }
  // Allowed to migrate but without the privilege: the database's own refusal, not a crash.
  EXPECT_THROW(PostgresDeviceStore(app, /*migrate=*/true), std::runtime_error);

  auto applied = ApplyMigrations(owner, DeviceMigrations());
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, (std::vector<std::string>{"0.10.0", "0.11.0"}));
  ASSERT_TRUE(GrantAppRole(owner, role));

  {
    PostgresDeviceStore store(app, /*migrate=*/false);
    auto kept = store.Get("old-1");
    ASSERT_TRUE(kept && *kept) << "the upgrade lost a device";
    EXPECT_EQ((*kept)->token, "tok-old-1");
    EXPECT_EQ(testing::ApplyOne(store, testing::PutChange(Dev("new-1"), 1)),
              ports::Applied::kCreated);
    EXPECT_EQ(testing::ApplyOne(store, testing::RemoveChange("old-1", 2)),
              ports::Applied::kRemoved);
    size_t n = 0;
    ASSERT_TRUE(store.LoadAll([&](Device&&) { ++n; }));
    EXPECT_EQ(n, 1u);
  }
  auto as_app = PgConnection::Connect(app);
  ASSERT_TRUE(as_app) << as_app.error().message;
  for (const char* ddl :
       {"DROP TABLE devices", "ALTER TABLE devices ADD COLUMN x int", "TRUNCATE devices",
        "CREATE TABLE mine(x int)", "DELETE FROM schema_migrations",
        "UPDATE schema_migrations SET checksum = ''", "CREATE INDEX i ON devices(token)"}) {
    auto r = as_app->Exec(ddl);
    EXPECT_FALSE(r) << ddl << " was allowed to the application role";
    if (!r) {
      const std::string& why = r.error().message;
      EXPECT_TRUE(why.find("permission denied") != std::string::npos ||
                  why.find("must be owner") != std::string::npos)
          << ddl << ": " << why;
    }
  }
  EXPECT_TRUE(as_app->Exec("SELECT count(*) FROM schema_migrations"));
  as_app = PgConnection::Connect("");  // close before dropping the role
  auto dropped = owner.Exec("DROP SCHEMA " + schema_ + " CASCADE; DROP OWNED BY " + role +
                            "; DROP ROLE " + role);
  ASSERT_TRUE(dropped) << dropped.error().message;
  ASSERT_TRUE(owner.Exec("CREATE SCHEMA " + schema_));
}

TEST_F(PgTest, GrantToAMissingRoleNamesIt) {
  auto owner = Conn();
  auto r = GrantAppRole(owner, "no_such_role_x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("role 'no_such_role_x' does not exist"), std::string::npos);
}

}  // namespace
}  // namespace fanout::adapters::postgres
