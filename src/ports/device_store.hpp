#pragma once
// Port: the durable system of record for devices (SQLite embedded, PostgreSQL distributed).
// The in-memory index is rebuilt from it at start.
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "domain/common/result.hpp"
#include "domain/device/device.hpp"

namespace fanout::ports {

class DeviceStore {
 public:
  virtual ~DeviceStore() = default;
  /// Inserts or replaces; returns true when the device was new.
  [[nodiscard]] virtual Result<bool, Error> Upsert(const domain::device::Device& d) = 0;
  /// Many at once, in one transaction.
  [[nodiscard]] virtual Result<void, Error> UpsertMany(
      std::span<const domain::device::Device> devices) = 0;
  /// Returns true when a device was deleted.
  [[nodiscard]] virtual Result<bool, Error> Remove(const std::string& device_id) = 0;
  [[nodiscard]] virtual Result<std::optional<domain::device::Device>, Error> Get(
      const std::string& device_id) = 0;
  /// Streams every device (start-up index rebuild).
  [[nodiscard]] virtual Result<size_t, Error> LoadAll(
      const std::function<void(domain::device::Device&&)>& fn) = 0;
};

}  // namespace fanout::ports
