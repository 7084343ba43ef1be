#include "adapters/sqlite/sqlite_device_store.hpp"

#include <sqlite3.h>

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

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

std::string Text(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
}

Device RowToDevice(sqlite3_stmt* s) {
  Device d;
  d.id = Text(s, 0);
  d.platform = static_cast<domain::device::Platform>(sqlite3_column_int(s, 1));
  d.token = Text(s, 2);
  d.levels = DecodeLevels(Text(s, 3));
  d.mylocation = sqlite3_column_int(s, 4) != 0;
  d.regions = DecodeRegions(Text(s, 5));
  return d;
}
}  // namespace

SqliteDeviceStore::SqliteDeviceStore(const std::filesystem::path& file)
    : owner_(std::make_unique<Db>(file,
                                  "PRAGMA cache_size=-65536;"
                                  "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT "
                                  "NULL);"
                                  "CREATE TABLE IF NOT EXISTS devices("
                                  " device_id TEXT PRIMARY KEY,"
                                  " platform INTEGER NOT NULL,"
                                  " token TEXT NOT NULL,"
                                  " levels TEXT NOT NULL,"
                                  " mylocation INTEGER NOT NULL,"
                                  " regions TEXT NOT NULL,"
                                  " updated_at INTEGER NOT NULL DEFAULT (strftime('%s','now'))"
                                  ") WITHOUT ROWID;")),
      db_(owner_->handle()) {}

SqliteDeviceStore::~SqliteDeviceStore() {
  sqlite3_finalize(exists_);
  sqlite3_finalize(upsert_);
}

Error SqliteDeviceStore::LastError(const char* what) const {
  int code = sqlite3_errcode(db_);
  auto kind = (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR)
                  ? Error::Kind::kRetryLater
                  : Error::Kind::kInternal;
  return Error{kind, std::string(what) + ": " + sqlite3_errmsg(db_)};
}

Result<bool, Error> SqliteDeviceStore::UpsertLocked(const Device& d) {
  if (exists_ == nullptr) {
    if (sqlite3_prepare_v2(db_, "SELECT 1 FROM devices WHERE device_id=?", -1, &exists_, nullptr) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db_,
                           "INSERT INTO devices(device_id,platform,token,levels,mylocation,"
                           "regions) VALUES(?,?,?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET"
                           " platform=excluded.platform, token=excluded.token,"
                           " levels=excluded.levels, mylocation=excluded.mylocation,"
                           " regions=excluded.regions, updated_at=strftime('%s','now')",
                           -1, &upsert_, nullptr) != SQLITE_OK) {
      return Fail(LastError("prepare"));
    }
  }
  sqlite3_reset(exists_);
  sqlite3_bind_text(exists_, 1, d.id.data(), static_cast<int>(d.id.size()), SQLITE_STATIC);
  bool existed = sqlite3_step(exists_) == SQLITE_ROW;
  sqlite3_reset(exists_);
  std::string levels = EncodeLevels(d.levels), regions = EncodeRegions(d.regions);
  sqlite3_reset(upsert_);
  sqlite3_bind_text(upsert_, 1, d.id.data(), static_cast<int>(d.id.size()), SQLITE_STATIC);
  sqlite3_bind_int(upsert_, 2, static_cast<int>(d.platform));
  sqlite3_bind_text(upsert_, 3, d.token.data(), static_cast<int>(d.token.size()), SQLITE_STATIC);
  sqlite3_bind_text(upsert_, 4, levels.data(), static_cast<int>(levels.size()), SQLITE_STATIC);
  sqlite3_bind_int(upsert_, 5, d.mylocation ? 1 : 0);
  sqlite3_bind_text(upsert_, 6, regions.data(), static_cast<int>(regions.size()), SQLITE_STATIC);
  int rc = sqlite3_step(upsert_);
  sqlite3_reset(upsert_);
  if (rc != SQLITE_DONE) return Fail(LastError("upsert device"));
  return !existed;
}

Result<bool, Error> SqliteDeviceStore::Upsert(const Device& d) {
  std::lock_guard lock(mu_);
  return UpsertLocked(d);
}

Result<void, Error> SqliteDeviceStore::UpsertMany(std::span<const Device> devices) {
  std::lock_guard lock(mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(LastError("begin"));
  }
  for (const Device& d : devices) {
    if (auto r = UpsertLocked(d); !r) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return Fail(r.error());
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = LastError("commit");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return Fail(e);
  }
  return {};
}

Result<bool, Error> SqliteDeviceStore::Remove(const std::string& device_id) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_, "DELETE FROM devices WHERE device_id=?", -1, &st.s, nullptr) !=
      SQLITE_OK) {
    return Fail(LastError("prepare"));
  }
  sqlite3_bind_text(st.s, 1, device_id.data(), static_cast<int>(device_id.size()), SQLITE_STATIC);
  if (sqlite3_step(st.s) != SQLITE_DONE) return Fail(LastError("delete device"));
  return sqlite3_changes(db_) > 0;
}

Result<std::optional<Device>, Error> SqliteDeviceStore::Get(const std::string& device_id) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT device_id,platform,token,levels,mylocation,regions FROM devices"
                         " WHERE device_id=?",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return Fail(LastError("prepare"));
  }
  sqlite3_bind_text(st.s, 1, device_id.data(), static_cast<int>(device_id.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st.s);
  if (rc == SQLITE_ROW) return std::optional<Device>{RowToDevice(st.s)};
  if (rc == SQLITE_DONE) return std::optional<Device>{};
  return Fail(LastError("get device"));
}

Result<size_t, Error> SqliteDeviceStore::LoadAll(const std::function<void(Device&&)>& fn) {
  std::lock_guard lock(mu_);
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT device_id,platform,token,levels,mylocation,regions FROM devices",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return Fail(LastError("prepare"));
  }
  size_t n = 0;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    fn(RowToDevice(st.s));
    ++n;
  }
  if (rc != SQLITE_DONE) return Fail(LastError("load devices"));
  return n;
}

}  // namespace fanout::adapters::sqlite
