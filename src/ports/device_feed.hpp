#pragma once
// Port: the replicated stream of device updates (DESIGN §4): a registration, change or
// removal in any region reaches every region's registry. Updates are versioned, so regions
// that apply the same updates in different orders converge; a registry restarts from its
// store (a snapshot) plus the feed position recorded with it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/common/result.hpp"
#include "domain/device/device.hpp"

namespace fanout::ports {

struct DeviceUpdate {
  std::string device_id;
  std::optional<domain::device::Device> device;  // nullopt: removed
  std::string origin_region;
  std::string reason;  // "api", "token_invalid", "import", ...
  /// Lamport clock of the change, issued by the origin region (greater than every version it
  /// has seen). The greater version wins wherever updates are applied, in any order; equal
  /// versions are ordered by origin_region. A removal is kept as a tombstone with its version.
  uint64_t version = 0;
  /// Set by the feed on publication: the update's position in the stream (1, 2, ...).
  uint64_t position = 0;
  /// The registry instance (process) that made the change, random per instance (0:
  /// unknown). Processes of one distributed region share its store but each has its own
  /// index: a change of the own region made by another instance still reaches the index.
  uint64_t origin_instance = 0;
};

/// The wall clock as a version (microseconds since the epoch): every writer's versions are
/// max(this, last version seen + 1), so versions follow time and never repeat or go back.
inline uint64_t WallClockVersion() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

/// True when a change of (version, origin) supersedes the stored (version, origin).
inline bool Supersedes(uint64_t version, std::string_view origin, uint64_t stored_version,
                       std::string_view stored_origin) {
  return version != stored_version ? version > stored_version : origin > stored_origin;
}

class DeviceFeed {
 public:
  using Listener = std::function<void(std::span<const DeviceUpdate>)>;
  virtual ~DeviceFeed() = default;
  /// Publishes a group of updates (an import is one group), numbering them; listeners see
  /// them in order.
  virtual void Publish(std::span<const DeviceUpdate> updates) = 0;
  /// Delivers every update after `after_position` that the feed still holds, then the live
  /// ones; returns a handle for Unlisten. Fails when updates after `after_position` are no
  /// longer held (the listener would miss them: it must start from a newer snapshot).
  [[nodiscard]] virtual Result<uint64_t, Error> Listen(uint64_t after_position, Listener l) = 0;
  /// Stops a listener; after return it is not called again.
  virtual void Unlisten(uint64_t handle) = 0;
};

}  // namespace fanout::ports
