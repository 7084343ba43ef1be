#pragma once
// The regions `fanout demo` runs on (DESIGN §7.1): in this process on the embedded engines, or
// — `--engine distributed` — each a `fanout serve` process on its own nats-server (a
// JetStream domain named after the region, linked by leafnodes), started and stopped by the
// demo, the way `cockroach demo` starts a real local cluster. The demo sends, kills and checks
// through this interface, so both engines face the same expectation.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/settings.hpp"
#include "domain/pipeline/events.hpp"
#include "platform/config/settings.hpp"

namespace fanout::cli {

class DemoRegions {
 public:
  virtual ~DemoRegions() = default;
  virtual size_t size() const = 0;
  virtual std::string name(size_t i) const = 0;
  /// Base URL of region i's HTTP API.
  virtual std::string url(size_t i) const = 0;
  /// Stops region i abruptly (no drain): embedded, its workers stop where they are;
  /// distributed, its `fanout serve` and its nats-server get SIGKILL.
  virtual void Kill(size_t i) = 0;
  /// Every region's protocol events of an alert, as a region still alive sees them.
  virtual std::vector<domain::pipeline::Event> Events(const std::string& alert_id) const = 0;
  /// Devices in region i's index, and whether it still holds device `id`.
  virtual size_t Devices(size_t i) const = 0;
  virtual bool HasDevice(size_t i, const std::string& id) const = 0;
  /// One line on the engine state (where it lives, what it wrote or holds).
  virtual void PrintState() const = 0;
  virtual void Stop() = 0;
};

struct DistributedDemoOptions {
  std::vector<std::string> names;  // the regions, in index order
  size_t devices = 0;
  uint64_t seed = 1;
  uint32_t shards = 64;
  std::string push_endpoint;  // the demo's simulator
  config::AuthSettings auth;
  app::WatchdogSettings watchdog;
  std::filesystem::path work_dir;
  std::filesystem::path geo_dir;  // absolute
  int observer = 0;               // the region whose view of the protocol the demo reads
};

/// Starts the distributed regions: a nats-server per region (needs `nats-server` on PATH),
/// the devices generated into each region's store (`fanout devices generate --data-dir`,
/// same seed as the demo's own copy), one `fanout serve` per region; returns once every
/// region is ready. Null with the reason printed when something cannot start.
std::unique_ptr<DemoRegions> StartDistributedDemo(const DistributedDemoOptions& options);

}  // namespace fanout::cli
