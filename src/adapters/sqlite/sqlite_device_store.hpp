#pragma once
// DeviceStore on SQLite (WAL, synchronous=NORMAL): the embedded system of record.
// One connection guarded by a mutex: writes are serialised by SQLite anyway, and the hot
// read path (selection) runs on the in-memory index, not here. Thread-safe.
#include <filesystem>
#include <memory>
#include <mutex>

#include "ports/device_store.hpp"

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

  Result<std::vector<ports::Applied>, Error> Apply(std::span<const ports::DeviceUpdate> changes,
                                                   uint64_t feed_position) override;
  Result<ports::DeviceSyncState, Error> SyncState() override;
  Result<std::optional<domain::device::Device>, Error> Get(const std::string& device_id) override;
  Result<size_t, Error> LoadAll(const std::function<void(domain::device::Device&&)>& fn) override;

 private:
  Result<ports::Applied, Error> ApplyOne(const ports::DeviceUpdate& u);
  std::mutex mu_;
  std::unique_ptr<Db> db_;       // the connection (WAL, synchronous=NORMAL), guarded by mu_
  bool any_tombstones_ = false;  // guarded by mu_ (false: no tombstone lookups needed)
};

}  // namespace fanout::adapters::sqlite
