#pragma once
// DeviceStore on SQLite (WAL, synchronous=NORMAL): the embedded system of record.
// One connection guarded by a mutex: writes are serialised by SQLite anyway, and the hot
// read path (selection) runs on the in-memory index, not here. Thread-safe.
#include <filesystem>
#include <memory>
#include <mutex>

#include "ports/device_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace fanout::adapters::sqlite {

class Db;  // sqlite_db.hpp

class SqliteDeviceStore final : public ports::DeviceStore {
 public:
  /// Opens (creating if needed) the database; throws std::runtime_error on failure
  /// (start-up only).
  explicit SqliteDeviceStore(const std::filesystem::path& file);
  ~SqliteDeviceStore() override;
  SqliteDeviceStore(const SqliteDeviceStore&) = delete;
  SqliteDeviceStore& operator=(const SqliteDeviceStore&) = delete;

  Result<bool, Error> Upsert(const domain::device::Device& d) override;
  Result<void, Error> UpsertMany(std::span<const domain::device::Device> devices) override;
  Result<bool, Error> Remove(const std::string& device_id) override;
  Result<std::optional<domain::device::Device>, Error> Get(const std::string& device_id) override;
  Result<size_t, Error> LoadAll(const std::function<void(domain::device::Device&&)>& fn) override;

 private:
  Result<bool, Error> UpsertLocked(const domain::device::Device& d);
  Error LastError(const char* what) const;
  std::mutex mu_;
  std::unique_ptr<Db> owner_;       // the connection (WAL, synchronous=NORMAL)
  sqlite3* db_ = nullptr;           // owner_'s handle
  sqlite3_stmt* exists_ = nullptr;  // cached, guarded by mu_
  sqlite3_stmt* upsert_ = nullptr;
};

}  // namespace fanout::adapters::sqlite
