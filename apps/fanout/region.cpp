#include "region.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "app/messages.hpp"
#include "platform/metrics/metrics.hpp"
#include "platform/thread/thread.hpp"

namespace fanout::cli {

EmbeddedRegion::EmbeddedRegion(RegionOptions options, const domain::geo::GeoCatalog& catalog,
                               const ports::AlertDecoder& decoder, ports::ProtocolLog& log,
                               ports::DeviceFeed& feed, ports::PlanStore& plans,
                               ports::Clock& clock, const GatewayFactory& gateways,
                               const domain::geo::GeometryIndex* geometry, RegionEngines engines)
    : options_(std::move(options)),
      own_store_(engines.store ? nullptr
                               : std::make_unique<adapters::sqlite::SqliteDeviceStore>(
                                     options_.data_dir / "devices.db")),
      own_bus_(engines.bus ? nullptr
                           : std::make_unique<adapters::memory::MemoryBus>(
                                 adapters::memory::MemoryBus::Settings{}, engines.bus_journal)),
      store_(engines.store ? *engines.store : *own_store_),
      own_archive_(engines.archive ? nullptr
                                   : std::make_unique<adapters::memory::FileArchive>(
                                         options_.data_dir / "archive")),
      archive_(engines.archive ? *engines.archive : *own_archive_),
      bus_(engines.bus ? *engines.bus : *own_bus_),
      plans_(plans),
      apns_high_(gateways(ports::Platform::kApns, true)),
      fcm_high_(gateways(ports::Platform::kFcm, true)),
      apns_regular_(gateways(ports::Platform::kApns, false)),
      fcm_regular_(gateways(ports::Platform::kFcm, false)),
      registry_(options_.region.name, store_, feed, options_.providers, options_.pipeline.shards,
                [&catalog](const std::string& key) { return catalog.KnownKey(key); }),
      tracker_(options_.region.name, log, clock),
      ingest_(options_.region, options_.providers, options_.pipeline, decoder, archive_, log, bus_,
              clock),
      processor_(options_.region, options_.providers, options_.pipeline, decoder, catalog, archive_,
                 plans_, log, bus_, clock, tracker_, geometry),
      queuer_(options_.region, options_.pipeline, registry_, plans_, log, bus_, clock, tracker_),
      sender_high_(options_.region, options_.retry, registry_, plans_, log, bus_, clock, tracker_,
                   *apns_high_, *fcm_high_),
      sender_regular_(options_.region, options_.retry, registry_, plans_, log, bus_, clock,
                      tracker_, *apns_regular_, *fcm_regular_),
      watchdog_(options_.region, options_.watchdog, log, clock,
                [this](const app::Watchdog::Takeover& t) {
                  // Completion follows every region's progress on it from now on; the units
                  // done anywhere are not sent again.
                  tracker_.Adopt(t.alert_id);
                  return processor_.TakeOver(
                      app::AlertWork{t.alert_id, t.hash, t.provider, t.priority, t.received_ms},
                      t.attempt, tracker_.DoneUnits(t.alert_id));
                }),
      dashboards_(options_.providers, log, archive_, decoder, catalog, geometry, clock),
      console_(options_.region,
               options_.region_names.empty() ? std::vector<std::string>{options_.region.name}
                                             : options_.region_names,
               options_.api.admin_token, log, clock),
      auth_throttle_({options_.api.auth_failures_per_minute, 60'000, 100'000}),
      provider_limit_(
          {options_.api.provider_alerts_per_s, options_.api.provider_alerts_burst, 10'000}),
      api_(
          [this] {
            app::ApiSettings a = options_.api;
            a.roles = options_.roles;
            return a;
          }(),
          options_.region, ingest_, registry_, log,
          [this] {
            // Registry figures are sampled at scrape time.
            probe_.OnDevices(registry_.size());
            probe_.OnFeedStoreFailures(registry_.feed_store_failures());
            adapters::http::HttpServerStats h = http_.Stats();
            probe_.OnHttp({h.connections_open, h.connections_refused, h.timeouts, h.rejected_busy,
                           h.rate_limited, h.queued});
            if (scrape_hook_) scrape_hook_();
            return metrics::Registry::Default().Render();
          }),
      http_([this](const app::HttpRequest& r) { return api_.Handle(r); },
            [this] {
              adapters::http::HttpServerSettings h = options_.http;
              h.max_body_bytes = options_.pipeline.max_body_bytes;
              return h;
            }()),
      log_(log),
      clock_(clock) {}

EmbeddedRegion::~EmbeddedRegion() { Stop(); }

void EmbeddedRegion::Start() {
  // Completion follows the protocol log, so the batches and units finished by the region's
  // other processes (distributed engine) count here too; before recovery reads the log, so
  // nothing appended meanwhile is missed (counting twice is harmless: distinct batches).
  tracker_link_->tracker = &tracker_;
  if (!listening_) {
    listening_ = true;
    log_.Listen([link = tracker_link_](const domain::pipeline::Event& e) {
      link->users.fetch_add(1);
      if (auto* tracker = link->tracker.load()) tracker->OnEvent(e);
      if (auto* watchdog = link->watchdog.load()) watchdog->OnEvent(e);
      if (auto* ingest = link->ingest.load()) ingest->OnEvent(e);
      if (auto* dashboards = link->dashboards.load()) dashboards->OnEvent(e);
      if (auto* sla = link->sla.load(); sla && e.type == domain::pipeline::EventType::kAlertDone) {
        (*sla)(e);
      }
      link->users.fetch_sub(1);
    });
  }
  const app::Roles& roles = options_.roles;
  // The selection index (10 M devices: gigabytes) only where it is used: selection (queuer)
  // and the device API (registry). Senders get the tokens in their batches.
  if (roles.needs_index()) {
    auto loaded = registry_.Start();
    if (!loaded) throw std::runtime_error("device store: " + loaded.error().message);
  }
  // Recovery (DESIGN §5), before any worker runs: the previous process's queued work, the
  // identifiers ingest accepted, completion from the log, and the open alerts resumed.
  // The embedded bus re-queues its journal; a distributed one keeps unacknowledged work on
  // the server, which redelivers it to the consumers below (of whichever process runs them).
  if (own_bus_) {
    auto messages = own_bus_->Recover();
    if (!messages) throw std::runtime_error("work journal: " + messages.error().message);
    recovered_.messages = *messages;
  }
  if (roles.ingest) {
    // Alerts received by another region and owned here (multi-region); before Recover, so
    // none falls between the two.
    if (options_.region.regions > 1) {
      ingest_.SetPeerHandOffWindow(
          std::min(options_.watchdog.deadline_high_ms, options_.watchdog.deadline_regular_ms));
      tracker_link_->ingest = &ingest_;
    }
    recovered_.identifiers = ingest_.Recover();
  }
  if (roles.processor) {
    recovered_.open_alerts = app::ResumeOpenAlerts(tracker_, processor_);
  } else {
    (void)tracker_.Recover();  // completion known here too (reports; the last batch's sender)
  }
  probe_.OnRecovered(recovered_.messages, recovered_.open_alerts.size());
  bus_.OnDeadLetter([this](const ports::WorkBus::DeadLetter& d) {
    app::RecordDeadLetter(d, options_.region.name, log_, tracker_, clock_, probe_);
  });
  const auto& p = options_.pipeline;
  // Regular-priority workers yield the CPU to the high-priority path (ADR 0004).
  auto lowered = [nice =
                      p.regular_thread_nice](ports::WorkBus::Handler h) -> ports::WorkBus::Handler {
    if (nice == 0) return h;
    return [nice, h = std::move(h)](const ports::BusMessage& m) {
      thread_local bool applied = false;
      if (!applied) {
        platform::SetCurrentThreadNice(nice);
        applied = true;
      }
      return h(m);
    };
  };
  // High and regular never share a queue or a worker pool (DESIGN §1).
  for (const std::string prio : {"high", "regular"}) {
    bool high = prio == "high";
    auto weight = [&](ports::WorkBus::Handler h) { return high ? h : lowered(std::move(h)); };
    const uint32_t max = options_.max_deliver;
    // Durable consumer names: processes of one region sharing a queue use the same name.
    if (roles.processor) {
      bus_.Subscribe({app::AlertsSubject(prio), "processor-" + prio, p.processor_workers, max},
                     weight([this](const ports::BusMessage& m) { return processor_.Handle(m); }));
    }
    if (roles.queuer) {
      bus_.Subscribe({app::UnitsSubject(prio), "queuer-" + prio, p.queuer_workers, max},
                     weight([this](const ports::BusMessage& m) { return queuer_.Handle(m); }));
    }
    if (!roles.sender) continue;
    for (auto platform : {domain::device::Platform::kApns, domain::device::Platform::kFcm}) {
      const std::string subject = app::BatchesSubject(prio, platform);
      // Pushes leave the system: each delivery is recorded before the handler runs, so
      // after a crash the redelivered pushes are known and reported.
      bus_.Subscribe(
          {subject, "sender-" + prio + "-" + std::string(domain::device::PlatformName(platform)),
           high ? p.sender_workers_high : p.sender_workers_regular, max, true},
          weight([this, high](const ports::BusMessage& m) {
            return (high ? sender_high_ : sender_regular_).Handle(m);
          }));
    }
  }
  // Watch and takeover (DESIGN §5): where this process can resume the work it takes over.
  if (options_.watch && roles.watchdog && roles.processor && options_.region.regions > 1) {
    tracker_link_->watchdog = &watchdog_;
    watchdog_.Recover();
    watch_stop_ = false;
    watch_thread_ = std::thread([this] {
      std::unique_lock lock(watch_mu_);
      while (!watch_stop_) {
        lock.unlock();
        (void)watchdog_.Tick();
        lock.lock();
        watch_cv_.wait_for(lock, std::chrono::milliseconds(options_.watchdog.tick_ms),
                           [this] { return watch_stop_; });
      }
    });
  }
  // Dashboards (DESIGN §7.2) from the replicated log and archive: rebuilt from the log at
  // start, then kept current by its listener; the work runs on their own thread, never on
  // the appending one.
  if (roles.dashboard) {
    tracker_link_->dashboards = &dashboards_;
    dashboards_.Recover();
    dashboard_thread_ = std::thread([this] {
      while (tracker_link_->dashboards.load()) {
        dashboards_.Wait(500);
        (void)dashboards_.Pump();
      }
    });
    api_.SetDashboards(&dashboards_);
  }
  // SLA per alert (receipt -> alert-done), observed once: by the processor processes of the
  // region that recorded the alert-done.
  if (roles.processor) {
    sla_ = [this](const domain::pipeline::Event& done) {
      if (done.region != options_.region.name) return;
      int64_t received = 0;
      std::string priority;
      for (const auto& e : log_.Events(done.alert_id)) {
        if (e.type != domain::pipeline::EventType::kReceived) continue;
        if (received == 0 || e.t_ms < received) received = e.t_ms;
        if (priority.empty()) priority = e.priority;
      }
      if (received > 0 && done.t_ms >= received) {
        probe_.OnAlertDone(priority, static_cast<double>(done.t_ms - received) / 1000.0);
      }
    };
    tracker_link_->sla = &sla_;
  }
  // The operator console (GET /): live alerts from the log, areas from the dashboards.
  console_.SetDashboards(roles.dashboard ? &dashboards_ : nullptr);
  console_.SetHealth([this] {
    std::string out = "{\"roles\":\"" + options_.roles.ToString() +
                      "\",\"devices\":" + std::to_string(registry_.size()) +
                      ",\"open_alerts\":" + std::to_string(tracker_.Open()) +
                      ",\"queued_work\":" + std::to_string(bus_.Pending()) +
                      ",\"watching\":" + std::to_string(watchdog_.Watching());
    if (health_extra_) out += ",\"engine\":" + health_extra_();
    return out + "}";
  });
  api_.SetConsole(&console_);
  api_.SetAuthThrottle(&auth_throttle_, &clock_);
  api_.SetProviderRateLimit(&provider_limit_);
  auto port = http_.Start(options_.http_host, options_.http_port);
  if (!port) throw std::runtime_error(port.error().message);
  port_ = *port;
  api_.SetReady(true);
  started_ = true;
}

void EmbeddedRegion::Stop() {
  // Cut the log's way to the tracker and wait for the calls in progress.
  tracker_link_->tracker = nullptr;
  tracker_link_->watchdog = nullptr;
  tracker_link_->ingest = nullptr;
  tracker_link_->dashboards = nullptr;
  tracker_link_->sla = nullptr;
  dashboards_.Stop();
  if (dashboard_thread_.joinable()) dashboard_thread_.join();
  {
    std::lock_guard lock(watch_mu_);
    watch_stop_ = true;
  }
  watch_cv_.notify_all();
  if (watch_thread_.joinable()) watch_thread_.join();
  while (tracker_link_->users.load() > 0) std::this_thread::yield();
  if (!started_) return;
  started_ = false;
  api_.SetReady(false);
  http_.Stop();
  bus_.Stop();
}

}  // namespace fanout::cli
