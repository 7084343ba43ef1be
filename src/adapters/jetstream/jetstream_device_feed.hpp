#pragma once
// DeviceFeed on a JetStream stream (DESIGN §4, §6): every region's registry publishes its
// device changes to one replicated stream and listens to all of it. The position of an update
// is its stream sequence, so a registry that restarts from its store's recorded position
// replays exactly what it missed; a stream that no longer holds the updates after that
// position (limits, age) refuses the listener instead of leaving a gap. A group (an import)
// is published asynchronously and confirmed as a whole before Publish returns. Listeners get
// updates one by one, in stream order, on the feed's delivery thread. Thread-safe.
#include <cstdint>
#include <memory>
#include <string>

#include "adapters/jetstream/nats_client.hpp"
#include "adapters/jetstream/region_link.hpp"
#include "ports/device_feed.hpp"

namespace fanout::adapters::jetstream {

struct DeviceFeedSettings {
  std::string url = "nats://127.0.0.1:4222";
  NatsClientSettings client;  // user, password, TLS (nats_client.hpp)
  std::string stream = "FANOUT_DEVICES";
  std::string subject = "devices.updates";
  int replicas = 1;
  /// Updates kept: older ones go; a registry whose snapshot is older must start from a newer
  /// one (its Listen is refused). 0: no age limit.
  int64_t max_age_ms = 7LL * 24 * 3600 * 1000;
  /// Linked regions: this region publishes to `<subject>.<region>`, and the stream sources
  /// every peer's updates (register once, known everywhere: DESIGN §4).
  RegionLink link;
};

class JetStreamDeviceFeed final : public ports::DeviceFeed {
 public:
  static Result<std::unique_ptr<JetStreamDeviceFeed>, Error> Connect(
      const DeviceFeedSettings& settings);
  ~JetStreamDeviceFeed() override;
  JetStreamDeviceFeed(const JetStreamDeviceFeed&) = delete;
  JetStreamDeviceFeed& operator=(const JetStreamDeviceFeed&) = delete;

  /// Publishes and waits until the server has stored the whole group; a failure is logged
  /// and counted (publish_failures): the port has no error path, the registry's own store
  /// already holds the change.
  void Publish(std::span<const ports::DeviceUpdate> updates) override;
  Result<uint64_t, Error> Listen(uint64_t after_position, Listener l) override;
  void Unlisten(uint64_t handle) override;
  uint64_t publish_failures() const;

  /// Whether its NATS connection is up (readiness).
  bool Connected() const;

 private:
  struct Impl;
  explicit JetStreamDeviceFeed(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fanout::adapters::jetstream
