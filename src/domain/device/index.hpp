#pragma once
// In-memory selection index over the registered devices (DESIGN §4): postings per region
// key prefix and per (platform, shard) for mylocation devices. Not thread-safe: the
// registry (app/registry) guards it with a reader/writer lock. Issue #4 replaces the
// posting vectors with roaring bitmaps; the interface stays.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/device/device.hpp"

namespace fanout::domain::device {

/// One fanout unit's selection: which devices of (platform, flow, shard) get an alert.
struct SelectionQuery {
  Platform platform = Platform::kApns;
  Flow flow = Flow::kSelected;
  uint32_t shard = 0;
  std::string provider;
  int level = 4;  // the alert's severity level (0 = Extreme)
  /// Sorted 12-digit municipality keys of the alert area (flow selected only).
  const std::vector<std::string>* municipalities = nullptr;
  const std::map<std::string, int>* default_levels = nullptr;
};

class DeviceIndex {
 public:
  explicit DeviceIndex(uint32_t shards);

  /// Inserts or replaces the device with the same id.
  void Upsert(Device d);
  /// Removes the device; false when it was not there.
  bool Remove(std::string_view id);
  const Device* Find(std::string_view id) const;
  size_t size() const { return by_id_.size(); }
  uint32_t shards() const { return shards_; }

  /// Emits the matching devices in batches of at most `batch_size`, each device once.
  /// Returns the number of devices emitted.
  size_t Select(const SelectionQuery& q, size_t batch_size,
                const std::function<void(std::span<const Device* const>)>& emit) const;

  /// Calls `fn` for every device (order unspecified).
  void ForEach(const std::function<void(const Device&)>& fn) const;

 private:
  struct Slot {
    Device device;
    uint32_t shard = 0;
    bool used = false;
  };
  void Unlink(uint32_t slot);
  bool Matches(const Slot& s, const SelectionQuery& q) const;

  uint32_t shards_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::unordered_map<std::string, uint32_t> by_id_;
  std::unordered_map<std::string, std::vector<uint32_t>> by_prefix_;  // significant prefix
  std::vector<std::vector<uint32_t>> mylocation_;                     // [platform * shards + shard]
};

/// The significant prefix of a region key by its zero padding (2, 3, 5, 9 or 12 digits).
std::string_view RegionPrefix(std::string_view key);

/// Reference implementation of the selection rules, device by device, independent of
/// the index (used by the demo's exactly-once check and by tests).
bool DeviceMatches(const Device& d, uint32_t shard_of_device, const SelectionQuery& q);

}  // namespace fanout::domain::device
