#pragma once
// In-memory selection index over the registered devices (DESIGN §4, docs/devices.md,
// docs/adr/0100-device-index-roaring.md): compressed (roaring) bitmaps of device slots per
// region-key prefix, per (platform, shard), for mylocation and per provider threshold; ids
// and tokens live in a byte arena, not in one std::string per device.
//
// Not thread-safe for writers: the registry (app/registry) guards it with a reader/writer
// lock. Select() may run concurrently with other Select() calls (it only shares an
// internally locked cache of area unions); Upsert/Remove/BeginBulk/EndBulk/Compact need
// exclusive access.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

/// A selected device as the sender needs it. The views point into the index's arena and
/// are valid only during the emit callback (the caller holds the registry's read lock).
struct DeviceRef {
  std::string_view id;
  std::string_view token;
};

/// Bytes used by the index, by part (see docs/devices.md "memory math").
struct IndexMemory {
  size_t devices = 0;
  size_t records = 0;        // fixed-size per-slot records
  size_t id_table = 0;       // open-addressing id -> slot table
  size_t arena = 0;          // id + token bytes allocated (including garbage)
  size_t arena_garbage = 0;  // bytes of replaced/removed ids and tokens
  size_t token_bytes = 0;    // live token bytes (the "+ token" of the target)
  size_t region_pool = 0;    // region-key lists of devices with 2+ regions
  size_t bitmaps = 0;        // all roaring bitmaps (roaring_bitmap_size_in_bytes + headers)
  size_t keys = 0;           // interned region keys and providers
  size_t total() const { return records + id_table + arena + region_pool + bitmaps + keys; }
};

class DeviceIndex {
 public:
  explicit DeviceIndex(uint32_t shards);
  ~DeviceIndex();
  DeviceIndex(const DeviceIndex&) = delete;
  DeviceIndex& operator=(const DeviceIndex&) = delete;

  /// Inserts or replaces the device with the same id. Throws std::invalid_argument for a
  /// device the index cannot represent (id > 255 bytes, token > 65535 bytes, > 65535
  /// regions): callers validate first (ValidateDevice allows far less).
  void Upsert(const Device& d);
  /// Removes the device; false when it was not there.
  bool Remove(std::string_view id);
  /// The device as registered (rebuilt from the compact form).
  std::optional<Device> Find(std::string_view id) const;
  bool Contains(std::string_view id) const;
  size_t size() const;
  uint32_t shards() const;

  /// Emits the matching devices in batches of at most `batch_size`, each device once, in
  /// slot order, without building the unit's device list first. Returns the number emitted.
  size_t Select(const SelectionQuery& q, size_t batch_size,
                const std::function<void(std::span<const DeviceRef>)>& emit) const;

  /// Calls `fn` for every device (order unspecified).
  void ForEach(const std::function<void(const Device&)>& fn) const;

  /// Bulk loading (start-up rebuild, imports into an empty index): between BeginBulk and
  /// EndBulk, bitmap inserts are buffered and applied in sorted runs at EndBulk, and
  /// selections must not run. Upsert/Remove keep their meaning.
  void BeginBulk();
  void EndBulk();

  /// Rewrites the arena and region pool without garbage (also done automatically when
  /// garbage exceeds the live bytes).
  void Compact();
  IndexMemory Memory() const;
  /// Forgets the cached area unions (benchmarks measure cold selections with it).
  void DropAreaCache() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The significant prefix of a region key by its zero padding (2, 3, 5, 9 or 12 digits).
std::string_view RegionPrefix(std::string_view key);

/// Reference implementation of the selection rules, device by device, independent of
/// the index (used by the demo's exactly-once check and by tests).
bool DeviceMatches(const Device& d, uint32_t shard_of_device, const SelectionQuery& q);

}  // namespace fanout::domain::device
