#pragma once
// One region (DESIGN §6): by default on the embedded engines — in-process bus (journaled when
// given a BusJournal: `serve` passes the one of its state.db), SQLite registry — or on the
// distributed ones passed in RegionEngines (JetStream bus, PostgreSQL store); file archive,
// HTTP API, APNs/FCM gateways. The protocol log, device feed and plan store are passed in so that
// the regions of one process (the demo) share them, standing in for replication (DESIGN §5.1:
// protocol events, device updates and plans are replicated); `fanout serve` passes durable ones.
// Start() recovers: the bus's unfinished work goes back on its queues, ingest relearns its
// identifiers, completion is rebuilt from the log and open alerts are resumed.
// Lifecycle: construct, Start(), Stop() (also in the destructor). Not copyable.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http/http_server.hpp"
#include "adapters/memory/file_archive.hpp"
#include "adapters/memory/memory_bus.hpp"
#include "adapters/sqlite/sqlite_device_store.hpp"
#include "app/api.hpp"
#include "app/dashboards.hpp"
#include "app/ingest.hpp"
#include "app/probe.hpp"
#include "app/processor.hpp"
#include "app/queuer.hpp"
#include "app/recovery.hpp"
#include "app/registry.hpp"
#include "app/sender.hpp"
#include "app/watchdog.hpp"
#include "domain/geo/catalog.hpp"
#include "domain/geo/geometry.hpp"
#include "ports/device_feed.hpp"
#include "ports/plan_store.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::cli {

struct RegionOptions {
  app::RegionSettings region;
  app::ProviderSettings providers;
  app::PipelineSettings pipeline;
  app::RetrySettings retry;
  app::ApiSettings api;
  app::Roles roles;  // what this process runs (all on the embedded engines)
  app::WatchdogSettings watchdog;
  std::vector<std::string> region_names;  // every region in index order (console); empty: own
  // Watch other regions' alerts and take over the silent ones (DESIGN §5). Only where the
  // regions see each other's protocol events (the demo's shared log, replicated streams);
  // regions that share nothing would take over every alert they did not own.
  bool watch = false;
  std::filesystem::path data_dir;
  uint32_t max_deliver = 0;  // per work item; 0: retry forever
  std::string http_host = "127.0.0.1";
  int http_port = 0;                        // 0: ephemeral
  adapters::http::HttpServerSettings http;  // limits, timeouts, TLS (max_body_bytes: pipeline's)
};

/// The engines a region runs on when they are not the embedded defaults (DESIGN §6): the
/// distributed ones (`serve` with store.mode = "distributed": JetStream bus and raw alert
/// archive, PostgreSQL store). Null: the embedded default, owned by the region (MemoryBus journaled
/// to `bus_journal`, SQLite `devices.db` in the data dir).
struct RegionEngines {
  ports::DeviceStore* store = nullptr;
  ports::AlertArchive* archive = nullptr;  // null: files under <data dir>/archive
  ports::WorkBus* bus = nullptr;
  adapters::memory::BusJournal* bus_journal = nullptr;
};

/// Makes one push gateway (connection pool) per platform and priority: high and regular
/// never share connections, so a backlog of regular pushes cannot delay an Extreme alert.
using GatewayFactory =
    std::function<std::unique_ptr<ports::PushGateway>(ports::Platform platform, bool high)>;

class EmbeddedRegion {
 public:
  EmbeddedRegion(RegionOptions options, const domain::geo::GeoCatalog& catalog,
                 const ports::AlertDecoder& decoder, ports::ProtocolLog& log,
                 ports::DeviceFeed& feed, ports::PlanStore& plans, ports::Clock& clock,
                 const GatewayFactory& gateways, const domain::geo::GeometryIndex* geometry,
                 RegionEngines engines = {});
  ~EmbeddedRegion();
  EmbeddedRegion(const EmbeddedRegion&) = delete;
  EmbeddedRegion& operator=(const EmbeddedRegion&) = delete;

  /// Rebuilds the index, starts the workers and the HTTP server. Throws on failure.
  void Start();
  void Stop();

  const std::string& name() const { return options_.region.name; }
  std::string url() const {
    return (options_.http.tls_cert_file.empty() ? "http://" : "https://") + options_.http_host +
           ":" + std::to_string(port_);
  }
  app::Registry& registry() { return registry_; }
  ports::PlanStore& plans() { return plans_; }
  const app::SenderCounters& sender_counters(bool high) const {
    return high ? sender_high_.counters() : sender_regular_.counters();
  }
  size_t pending() const { return bus_.Pending(); }
  /// Runs before every /metrics scrape (gauges read from the engines, e.g. replication).
  void SetScrapeHook(std::function<void()> hook) { scrape_hook_ = std::move(hook); }
  /// Dependencies `/readyz` checks besides the region's own start (distributed engines).
  void SetDependencyCheck(std::function<std::vector<std::string>()> check) {
    api_.SetDependencyCheck(std::move(check));
  }
  /// Alerts of other regions watched now.
  size_t watching() const { return watchdog_.Watching(); }
  /// The region's dashboards (role `dashboard`).
  app::Dashboards& dashboards() { return dashboards_; }
  /// Shapes for the console's map (the project's geodata); without them no map is drawn.
  void SetShapes(const ports::AreaShapes* shapes) { console_.SetShapes(shapes); }
  /// More health facts for the console (JSON object text, merged under "engine").
  void SetHealthExtra(std::function<std::string()> extra) { health_extra_ = std::move(extra); }
  /// What the last Start() recovered.
  const app::RecoveryResult& recovered() const { return recovered_; }

 private:
  RegionOptions options_;
  std::unique_ptr<adapters::sqlite::SqliteDeviceStore> own_store_;  // embedded default
  std::unique_ptr<adapters::memory::MemoryBus> own_bus_;            // embedded default
  ports::DeviceStore& store_;
  std::unique_ptr<adapters::memory::FileArchive> own_archive_;  // embedded default
  ports::AlertArchive& archive_;
  ports::WorkBus& bus_;
  ports::PlanStore& plans_;
  std::unique_ptr<ports::PushGateway> apns_high_, fcm_high_, apns_regular_, fcm_regular_;
  app::Registry registry_;
  app::CompletionTracker tracker_;
  app::Ingest ingest_;
  app::Processor processor_;
  app::Queuer queuer_;
  app::Sender sender_high_;
  app::Sender sender_regular_;
  app::Probe probe_{options_.region.name};
  app::Watchdog watchdog_;
  app::Dashboards dashboards_;
  std::thread dashboard_thread_;
  app::Console console_;
  app::AuthThrottle auth_throttle_;
  app::RateLimiter provider_limit_;
  std::function<void(const domain::pipeline::Event&)> sla_;  // alert-done -> SLA histogram
  std::function<std::string()> health_extra_;
  std::function<void()> scrape_hook_;
  std::thread watch_thread_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ = false;
  app::Api api_;
  adapters::http::HttpServer http_;
  ports::ProtocolLog& log_;
  ports::Clock& clock_;
  app::RecoveryResult recovered_;
  // The log's listener reaches the tracker through this link, cut in Stop(): the log may
  // outlive the region (and a JetStream tail may deliver an event meanwhile).
  struct TrackerLink {
    std::atomic<app::CompletionTracker*> tracker{nullptr};
    std::atomic<app::Watchdog*> watchdog{nullptr};
    std::atomic<app::Ingest*> ingest{nullptr};  // hands alerts other regions received
    std::atomic<app::Dashboards*> dashboards{nullptr};
    std::atomic<std::function<void(const domain::pipeline::Event&)>*> sla{nullptr};
    std::atomic<int> users{0};  // listener calls in progress (they may nest: an append inside)
  };
  std::shared_ptr<TrackerLink> tracker_link_ = std::make_shared<TrackerLink>();
  bool listening_ = false;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace fanout::cli
