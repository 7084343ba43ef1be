#pragma once
// Port: the replicated stream of device updates (DESIGN §4): a registration, change or
// removal in any region reaches every region's registry.
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "domain/device/device.hpp"

namespace fanout::ports {

struct DeviceUpdate {
  std::string device_id;
  std::optional<domain::device::Device> device;  // nullopt: removed
  std::string origin_region;
  std::string reason;  // "api", "token_invalid", "import", ...
};

class DeviceFeed {
 public:
  using Listener = std::function<void(std::span<const DeviceUpdate>)>;
  virtual ~DeviceFeed() = default;
  /// Publishes a group of updates (an import is one group); listeners see them in order.
  virtual void Publish(std::span<const DeviceUpdate> updates) = 0;
  virtual void Listen(Listener l) = 0;
};

}  // namespace fanout::ports
