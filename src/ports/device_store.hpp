#pragma once
// Port: the durable system of record for devices (SQLite embedded, PostgreSQL distributed).
// The in-memory index is rebuilt from it at start. Every write is a versioned change
// (ports::DeviceUpdate), applied last-writer-by-version with tombstones for removals.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "domain/common/result.hpp"
#include "domain/device/device.hpp"
#include "ports/device_feed.hpp"

namespace fanout::ports {

/// What applying one versioned change did.
enum class Applied : uint8_t {
  kStale,    // the store holds a newer version (or tombstone): nothing changed
  kCreated,  // a device that was not there
  kUpdated,  // replaced an older version
  kRemoved,  // deleted an older version; a tombstone keeps the removal's version
  kAbsent,   // a removal of a device that was not there; the tombstone is kept all the same
};

/// Where a store's content stands relative to the device feed.
struct DeviceSyncState {
  uint64_t feed_position = 0;  // last feed position applied with the content (0: none)
  uint64_t max_version = 0;    // greatest version stored (rows and tombstones)
};

class DeviceStore {
 public:
  virtual ~DeviceStore() = default;
  /// Applies versioned changes in one transaction, each only when it supersedes what the
  /// store holds for its device (row or tombstone; ports::Supersedes). When `feed_position`
  /// is non-zero it is recorded in the same transaction. Returns one outcome per change.
  [[nodiscard]] virtual Result<std::vector<Applied>, Error> Apply(
      std::span<const DeviceUpdate> changes, uint64_t feed_position) = 0;
  [[nodiscard]] virtual Result<DeviceSyncState, Error> SyncState() = 0;
  [[nodiscard]] virtual Result<std::optional<domain::device::Device>, Error> Get(
      const std::string& device_id) = 0;
  /// Streams every device (start-up index rebuild).
  [[nodiscard]] virtual Result<size_t, Error> LoadAll(
      const std::function<void(domain::device::Device&&)>& fn) = 0;
};

}  // namespace fanout::ports
