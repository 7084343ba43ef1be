#include "adapters/sqlite/sqlite_device_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>

#include "adapters/sqlite/sqlite_db.hpp"

namespace fanout::adapters::sqlite {

namespace {
using domain::device::Device;

// Levels and regions are stored as compact text ("AP1=4,AP2=3" and "k1,k2"): they are read
// back only to rebuild the index, never queried in SQL.
std::string EncodeLevels(const std::map<std::string, int>& levels) {
  std::string out;
  for (const auto& [p, l] : levels) {
    if (!out.empty()) out += ',';
    out += p + "=" + std::to_string(l);
  }
  return out;
}

std::map<std::string, int> DecodeLevels(std::string_view s) {
  std::map<std::string, int> out;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      out[std::string(item.substr(0, eq))] = std::stoi(std::string(item.substr(eq + 1)));
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::string EncodeRegions(const std::vector<std::string>& regions) {
  std::string out;
  for (const auto& r : regions) {
    if (!out.empty()) out += ',';
    out += r;
  }
  return out;
}

std::vector<std::string> DecodeRegions(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

Device RowToDevice(const StatementUse& st) {
  Device d;
  d.id = std::string(st.Text(0));
  d.platform = static_cast<domain::device::Platform>(st.Int(1));
  d.token = std::string(st.Text(2));
  d.levels = DecodeLevels(st.Text(3));
  d.mylocation = st.Int(4) != 0;
  d.regions = DecodeRegions(st.Text(5));
  return d;
}

// Version 2 of the schema adds the change versions, tombstones and the feed position.
constexpr const char* kSchema =
    "PRAGMA cache_size=-65536;"
    "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS devices("
    " device_id TEXT PRIMARY KEY,"
    " platform INTEGER NOT NULL,"
    " token TEXT NOT NULL,"
    " levels TEXT NOT NULL,"
    " mylocation INTEGER NOT NULL,"
    " regions TEXT NOT NULL,"
    " updated_at INTEGER NOT NULL DEFAULT (strftime('%s','now'))"
    ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS device_tombstones("
    " device_id TEXT PRIMARY KEY, version INTEGER NOT NULL, origin TEXT NOT NULL,"
    " removed_at INTEGER NOT NULL DEFAULT (strftime('%s','now'))) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS device_sync("
    " id INTEGER PRIMARY KEY CHECK (id = 0), feed_position INTEGER NOT NULL,"
    " max_version INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO device_sync VALUES(0, 0, 0);";
}  // namespace

SqliteDeviceStore::SqliteDeviceStore(const std::filesystem::path& file)
    : db_(std::make_unique<Db>(file, kSchema)) {
  // Files of schema version 1 lack the version columns (added with defaults: every older
  // row loses to any versioned change, which is what an unversioned write deserves).
  bool versioned = false;
  {
    StatementUse st(db_->Statement("SELECT name FROM pragma_table_info('devices')"));
    while (st.Step() == SQLITE_ROW) versioned = versioned || st.Text(0) == "version";
  }
  if (!versioned) {
    auto r = db_->Exec(
        "ALTER TABLE devices ADD COLUMN version INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE devices ADD COLUMN origin TEXT NOT NULL DEFAULT '';");
    if (!r) throw std::runtime_error("device store " + file.string() + ": " + r.error().message);
  }
  StatementUse st(db_->Statement("SELECT EXISTS(SELECT 1 FROM device_tombstones)"));
  any_tombstones_ = st.Step() == SQLITE_ROW && st.Int(0) != 0;
}

SqliteDeviceStore::~SqliteDeviceStore() = default;

Result<ports::Applied, Error> SqliteDeviceStore::ApplyOne(const ports::DeviceUpdate& u) {
  // What the store holds for the device (its row, else its tombstone): nothing, an older
  // version (found), or a newer one (the change is stale).
  enum class Held { kNone, kFound, kNewer };
  auto held = [&](const char* sql) -> Result<Held, Error> {
    StatementUse st(db_->Statement(sql));
    st.Bind(1, u.device_id);
    int rc = st.Step();
    if (rc == SQLITE_DONE) return Held::kNone;
    if (rc != SQLITE_ROW) return Fail(db_->LastError("read device version"));
    return ports::Supersedes(u.version, u.origin_region, static_cast<uint64_t>(st.Int(0)),
                             st.Text(1))
               ? Held::kFound
               : Held::kNewer;
  };
  auto row = held("SELECT version, origin FROM devices WHERE device_id=?");
  if (!row) return Fail(row.error());
  if (*row == Held::kNewer) return ports::Applied::kStale;
  const bool present = *row == Held::kFound;
  bool tombstone = false;
  if (!present && any_tombstones_) {  // most stores never saw a removal: skip the lookup
    auto t = held("SELECT version, origin FROM device_tombstones WHERE device_id=?");
    if (!t) return Fail(t.error());
    if (*t == Held::kNewer) return ports::Applied::kStale;
    tombstone = *t == Held::kFound;
  }
  const auto version = static_cast<int64_t>(u.version);
  if (u.device) {
    const Device& d = *u.device;
    const std::string levels = EncodeLevels(d.levels), regions = EncodeRegions(d.regions);
    StatementUse st(db_->Statement(
        "INSERT INTO devices(device_id,platform,token,levels,mylocation,regions,version,origin)"
        " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET"
        " platform=excluded.platform, token=excluded.token, levels=excluded.levels,"
        " mylocation=excluded.mylocation, regions=excluded.regions, version=excluded.version,"
        " origin=excluded.origin, updated_at=strftime('%s','now')"));
    st.Bind(1, d.id);
    st.Bind(2, static_cast<int64_t>(d.platform));
    st.Bind(3, d.token);
    st.Bind(4, levels);
    st.Bind(5, int64_t{d.mylocation ? 1 : 0});
    st.Bind(6, regions);
    st.Bind(7, version);
    st.Bind(8, u.origin_region);
    if (st.Step() != SQLITE_DONE) return Fail(db_->LastError("upsert device"));
    if (tombstone) {
      StatementUse del(db_->Statement("DELETE FROM device_tombstones WHERE device_id=?"));
      del.Bind(1, u.device_id);
      if (del.Step() != SQLITE_DONE) return Fail(db_->LastError("delete tombstone"));
    }
    return present ? ports::Applied::kUpdated : ports::Applied::kCreated;
  }
  if (present) {
    StatementUse del(db_->Statement("DELETE FROM devices WHERE device_id=?"));
    del.Bind(1, u.device_id);
    if (del.Step() != SQLITE_DONE) return Fail(db_->LastError("delete device"));
  }
  StatementUse st(db_->Statement(
      "INSERT OR REPLACE INTO device_tombstones(device_id, version, origin) VALUES(?,?,?)"));
  st.Bind(1, u.device_id);
  st.Bind(2, version);
  st.Bind(3, u.origin_region);
  if (st.Step() != SQLITE_DONE) return Fail(db_->LastError("write tombstone"));
  any_tombstones_ = true;
  return present ? ports::Applied::kRemoved : ports::Applied::kAbsent;
}

Result<std::vector<ports::Applied>, Error> SqliteDeviceStore::Apply(
    std::span<const ports::DeviceUpdate> changes, uint64_t feed_position) {
  std::lock_guard lock(mu_);
  if (auto r = db_->Exec("BEGIN IMMEDIATE"); !r) return Fail(r.error());
  auto rollback = [&](Error e) {
    (void)db_->Exec("ROLLBACK");
    return Fail(std::move(e));
  };
  std::vector<ports::Applied> out;
  out.reserve(changes.size());
  uint64_t max_version = 0;
  for (const auto& u : changes) {
    auto r = ApplyOne(u);
    if (!r) return rollback(r.error());
    out.push_back(*r);
    if (*r != ports::Applied::kStale) max_version = std::max(max_version, u.version);
  }
  {
    StatementUse st(
        db_->Statement("UPDATE device_sync SET max_version=max(max_version, ?),"
                       " feed_position=CASE WHEN ?>0 THEN ? ELSE feed_position END WHERE id=0"));
    st.Bind(1, static_cast<int64_t>(max_version));
    st.Bind(2, static_cast<int64_t>(feed_position));
    st.Bind(3, static_cast<int64_t>(feed_position));
    if (st.Step() != SQLITE_DONE) return rollback(db_->LastError("record feed position"));
  }
  if (auto r = db_->Exec("COMMIT"); !r) return rollback(r.error());
  return out;
}

Result<ports::DeviceSyncState, Error> SqliteDeviceStore::SyncState() {
  std::lock_guard lock(mu_);
  StatementUse st(db_->Statement("SELECT feed_position, max_version FROM device_sync"));
  if (st.Step() != SQLITE_ROW) return Fail(db_->LastError("read device_sync"));
  return ports::DeviceSyncState{static_cast<uint64_t>(st.Int(0)), static_cast<uint64_t>(st.Int(1))};
}

Result<std::optional<Device>, Error> SqliteDeviceStore::Get(const std::string& device_id) {
  std::lock_guard lock(mu_);
  StatementUse st(
      db_->Statement("SELECT device_id,platform,token,levels,mylocation,regions FROM devices"
                     " WHERE device_id=?"));
  st.Bind(1, device_id);
  int rc = st.Step();
  if (rc == SQLITE_ROW) return std::optional<Device>{RowToDevice(st)};
  if (rc == SQLITE_DONE) return std::optional<Device>{};
  return Fail(db_->LastError("get device"));
}

Result<size_t, Error> SqliteDeviceStore::LoadAll(const std::function<void(Device&&)>& fn) {
  std::lock_guard lock(mu_);
  StatementUse st(
      db_->Statement("SELECT device_id,platform,token,levels,mylocation,regions FROM devices"));
  size_t n = 0;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    fn(RowToDevice(st));
    ++n;
  }
  if (rc != SQLITE_DONE) return Fail(db_->LastError("load devices"));
  return n;
}

}  // namespace fanout::adapters::sqlite
