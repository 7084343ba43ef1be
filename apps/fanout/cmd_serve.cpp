// `fanout serve --config FILE [--set key=value ...]`: runs one region on the embedded
// engines until SIGINT/SIGTERM (DESIGN §7.1, §7.4).
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "adapters/apns/apns_gateway.hpp"
#include "adapters/capxml/cap_decoder.hpp"
#include "adapters/fcm/fcm_gateway.hpp"
#include "adapters/geofiles/geo_files.hpp"
#include "adapters/geofiles/geojson_shapes.hpp"
#include "adapters/geos/geos_index.hpp"
#include "adapters/memory/memory_device_feed.hpp"
#include "adapters/memory/memory_plan_store.hpp"
#include "adapters/memory/memory_protocol_log.hpp"
#include "adapters/memory/system_clock.hpp"
#include "adapters/sqlite/sqlite_journals.hpp"
#include "app/priority_bus.hpp"
#if FANOUT_HAVE_DISTRIBUTED
#include "adapters/jetstream/jetstream_alert_archive.hpp"
#include "adapters/jetstream/jetstream_bus.hpp"
#include "adapters/jetstream/jetstream_device_feed.hpp"
#include "adapters/jetstream/jetstream_plan_store.hpp"
#include "adapters/jetstream/jetstream_protocol_log.hpp"
#include "adapters/postgres/postgres_device_store.hpp"
#endif
#include "commands.hpp"
#include "event_log.hpp"
#include "platform/config/settings.hpp"
#include "platform/log/log.hpp"
#include "region.hpp"

namespace fanout::cli {
namespace {

namespace fs = std::filesystem;

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

bool IsCleartext(const std::string& endpoint) { return endpoint.rfind("http://", 0) == 0; }

/// Maps the loaded configuration to the region's settings (the one place that knows both).
RegionOptions ToRegionOptions(const config::Settings& s, const std::string& host, int port) {
  RegionOptions o;
  o.region.name = s.region.name;
  o.region.index = static_cast<uint32_t>(s.region.index);
  o.region.regions = static_cast<uint32_t>(s.region.peers.size() + 1);
  o.providers.high_priority = s.providers.high_priority;
  o.providers.default_levels = s.providers.default_levels;
  o.providers.allow_non_actual = s.providers.allow_non_actual;
  o.providers.default_lifetime_s = s.providers.default_lifetime.count();
  for (const auto& [p, secs] : s.providers.lifetimes) o.providers.lifetime_s[p] = secs;
  o.providers.known.clear();
  for (const auto& [p, _] : s.auth.provider_tokens) o.providers.known.push_back(p);
  o.pipeline.shards = static_cast<uint32_t>(s.fanout.shards);
  o.pipeline.batch_size = static_cast<uint32_t>(s.fanout.batch_size);
  o.pipeline.sender_workers_high = s.fanout.sender_workers_high;
  o.pipeline.queuer_workers = s.fanout.queuer_workers;
  o.pipeline.sender_workers_regular = s.fanout.sender_workers_regular;
  o.pipeline.max_body_bytes = static_cast<size_t>(s.cap.max_body_bytes);
  o.pipeline.apns_critical_alerts = s.push.apns.critical_alerts;
  o.pipeline.public_base_url =
      (s.http.tls_cert_file.empty() ? "http://" : "https://") + host + ":" + std::to_string(port);
  o.retry.max_attempts = s.push.max_attempts;
  o.retry.base_delay_ms = s.push.retry_base.count();
  o.api.provider_tokens = s.auth.provider_tokens;
  o.api.provider_client_certs = s.auth.provider_client_certs;
  o.api.device_token = s.auth.device_token;
  o.api.admin_token = s.auth.admin_token;
  o.api.dashboard_max_age_s = s.http.dashboard_max_age.count();
  o.api.auth_failures_per_minute = static_cast<uint32_t>(s.http.auth_failures_per_minute);
  o.data_dir = s.store.data_dir;
  o.max_deliver = static_cast<uint32_t>(s.fanout.max_deliver);
  o.roles = app::Roles::Of(s.roles);
  o.watchdog.deadline_high_ms = s.watchdog.deadline_high.count();
  o.watchdog.deadline_regular_ms = s.watchdog.deadline_regular.count();
  o.watchdog.stall_ms = s.watchdog.stall.count();
  // Only where the regions see each other's protocol events: the distributed engine with
  // linked regions (region.names). Embedded regions share nothing; a watcher there would see
  // no owner's progress and take over every alert.
  o.watch = s.store.mode == "distributed" && s.region.names.size() > 1;
  o.region_names = s.region.names;
  o.http_host = host;
  o.http_port = port;
  o.http.io_threads = s.http.threads;
  o.http.handler_threads = s.http.handler_threads;
  o.http.header_timeout = s.http.header_timeout;
  o.http.body_timeout = s.http.body_timeout;
  o.http.idle_timeout = s.http.idle_timeout;
  o.http.max_connections = static_cast<size_t>(s.http.max_connections);
  o.http.max_connections_per_client = static_cast<size_t>(s.http.max_connections_per_client);
  o.http.max_queued_per_client = static_cast<size_t>(s.http.max_queued_per_client);
  o.http.max_event_streams = static_cast<size_t>(s.http.max_event_streams);
  o.http.client_requests_per_s = s.http.client_requests_per_s;
  o.http.client_burst = s.http.client_burst;
  o.api.provider_alerts_per_s = s.http.provider_alerts_per_s;
  o.api.provider_alerts_burst = s.http.provider_alerts_burst;
  o.http.tls_cert_file = s.http.tls_cert_file.string();
  o.http.tls_key_file = s.http.tls_key_file.string();
  o.http.tls_client_ca_file = s.http.tls_client_ca_file.string();
  return o;
}

namespace {

// A secret file (APNs key, FCM service account, TLS key) must not be writable by others or
// readable by every user (issue 14); group read is fine (a root-owned file for the service's
// group). Empty when it is acceptable.
std::string SecretFileProblem(const std::string& key, const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";  // missing: reported where it is needed
  const auto mode = st.st_mode & 07777;
  if ((mode & (S_IRWXO | S_IWGRP)) == 0) return "";
  char octal[8];
  std::snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(mode));
  return key + " " + path.string() + " is " +
         ((mode & S_IROTH) ? "readable by every user" : "writable by others") + " (mode " + octal +
         "); it holds a secret: chmod 0600 (or 0640 with the service's group)";
}

// Before any secret is read: no core dumps (they would hold the tokens and keys), and as many
// file descriptors as the hard limit allows (http.max_connections).
void HardenProcess() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
}

}  // namespace

int RunServe(const std::string& file, const std::vector<std::string>& sets) {
  auto settings = config::LoadSettings(file, sets);
  if (!settings) {
    std::cerr << "fanout serve: invalid configuration:\n" << settings.error().ToString() << "\n";
    return 2;
  }
  const config::Settings& s = *settings;
  log::InitLogging(log::ParseLevel(s.log.level).value_or(log::Level::kInfo), s.log.json);
  auto logger = log::GetLogger("serve");
  const bool distributed = s.store.mode == "distributed";
  const app::Roles roles = app::Roles::Of(s.roles);
  if (!distributed && !roles.all()) {
    std::cerr << "fanout serve: roles = [" << roles.ToString()
              << "] splits a region over processes, which needs store.mode = \"distributed\" "
                 "(the embedded engines live in one process: list every role)\n";
    return 2;
  }
  auto colon = s.http.listen.rfind(':');
  std::string host = s.http.listen.substr(0, colon);
  int port = std::stoi(s.http.listen.substr(colon + 1));

  auto catalog = adapters::geofiles::LoadGeoCatalog(s.geo.data_dir);
  if (!catalog) {
    std::cerr << "fanout serve: " << catalog.error().message << "\n";
    return 2;
  }
  auto geometry = adapters::geos::GeosGeometryIndex::Load(
      s.geo.data_dir, *catalog,
      {.min_overlap_m2 = static_cast<double>(s.geo.min_overlap_m2),
       .min_overlap_width_m = static_cast<double>(s.geo.min_overlap_width_m)});
  if (!geometry) {
    std::cerr << "fanout serve: " << geometry.error().message << "\n";
    return 2;
  }
  adapters::capxml::CapDecoderSettings dec;
  dec.limits.max_body_bytes = static_cast<size_t>(s.cap.max_body_bytes);
  dec.limits.max_depth = static_cast<size_t>(s.cap.max_depth);
  dec.limits.max_elements = static_cast<size_t>(s.cap.max_elements);
  dec.limits.max_polygon_points = static_cast<size_t>(s.cap.max_polygon_points);
  adapters::capxml::CapDecoder decoder(dec);

  HardenProcess();
  for (const auto& [key, path] :
       {std::pair{"push.apns.key_file", s.push.apns.key_file},
        {"push.fcm.service_account_file", s.push.fcm.service_account_file},
        {"http.tls_key_file", s.http.tls_key_file},
        {"store.nats_key_file", s.store.nats_key_file}}) {
    if (path.empty()) continue;
    if (auto problem = SecretFileProblem(key, path); !problem.empty()) {
      std::cerr << "fanout serve: " << problem << "\n";
      return 2;
    }
  }
  // Missing credentials are fine only for a cleartext local simulator.
  std::string apns_key = fs::exists(s.push.apns.key_file) ? s.push.apns.key_file.string() : "";
  std::string fcm_key =
      fs::exists(s.push.fcm.service_account_file) ? s.push.fcm.service_account_file.string() : "";
  if (apns_key.empty() && !IsCleartext(s.push.apns.endpoint)) {
    std::cerr << "fanout serve: push.apns.key_file " << s.push.apns.key_file
              << " does not exist (needed for " << s.push.apns.endpoint << ")\n";
    return 2;
  }
  if (fcm_key.empty() && !IsCleartext(s.push.fcm.endpoint)) {
    std::cerr << "fanout serve: push.fcm.service_account_file " << s.push.fcm.service_account_file
              << " does not exist (needed for " << s.push.fcm.endpoint << ")\n";
    return 2;
  }
  if (apns_key.empty())
    logger.Warn("no APNs key: pushing to {} without provider token", s.push.apns.endpoint);
  if (fcm_key.empty())
    logger.Warn("no FCM service account: pushing to {} without access token", s.push.fcm.endpoint);
  int nice = 10;  // PipelineSettings::regular_thread_nice default
  GatewayFactory gateways = [&](ports::Platform p,
                                bool high) -> std::unique_ptr<ports::PushGateway> {
    if (p == ports::Platform::kApns) {
      adapters::apns::ApnsConfig a;
      a.endpoint = s.push.apns.endpoint;
      a.team_id = s.push.apns.team_id;
      a.key_id = s.push.apns.key_id;
      a.key_file = apns_key;
      a.topic = s.push.apns.topic;
      a.ca_file = s.push.apns.ca_file.string();
      if (s.push.apns.connections > 0) a.connections = s.push.apns.connections;
      a.thread_nice = high ? 0 : nice;
      return adapters::apns::MakeApnsGateway(a);
    }
    adapters::fcm::FcmConfig f;
    f.endpoint = s.push.fcm.endpoint;
    f.token_uri = s.push.fcm.token_uri;
    f.project_id = s.push.fcm.project_id;
    f.service_account_file = fcm_key;
    f.ca_file = s.push.fcm.ca_file.string();
    if (s.push.fcm.connections > 0) f.connections = s.push.fcm.connections;
    f.thread_nice = high ? 0 : nice;
    return adapters::fcm::MakeFcmGateway(f);
  };

  adapters::memory::SystemClock clock;
  if (!s.region.peers.empty() && s.store.mode == "distributed") {
    logger.Info(
        "region {} of {} ({}): linked through NATS leafnodes; protocol events, device updates "
        "and raw alerts are replicated, alerts of silent regions are taken over",
        s.region.index, s.region.peers.size() + 1, CLI::detail::join(s.region.names, ", "));
  } else if (!s.region.peers.empty()) {
    logger.Warn(
        "{} peer region(s) configured on the embedded engine: this region processes only the "
        "alerts it owns (owner = hash mod {}) and shares nothing with its peers (no "
        "replication, no takeover: that needs store.mode = \"distributed\"), so providers must "
        "send every alert to every region",
        s.region.peers.size(), s.region.peers.size() + 1);
  }
  const auto recovery_start = std::chrono::steady_clock::now();
  // The engines (DESIGN §6). Embedded: the bus, the protocol log and the plans journaled to
  // one SQLite file under the data dir (ordered group commits), devices in SQLite.
  // Distributed: NATS JetStream (work queues of this region, the shared protocol log, device
  // feed and plans) and PostgreSQL (devices).
  std::unique_ptr<adapters::sqlite::SqliteState> state;
  std::unique_ptr<ports::ProtocolLog> log;
  std::unique_ptr<ports::PlanStore> plans;
  std::unique_ptr<ports::DeviceFeed> feed;
  std::unique_ptr<ports::WorkBus> bus;
  std::vector<std::unique_ptr<ports::WorkBus>> bus_parts;  // distributed: one per priority
  std::unique_ptr<ports::DeviceStore> store;
  std::unique_ptr<ports::AlertArchive> archive;  // distributed: raw alerts on JetStream
  size_t events = 0, stored_plans = 0;
  std::function<std::vector<std::string>()> dependencies;  // for /readyz (distributed)
  std::function<void()> scrape;                            // before /metrics (distributed)
  if (distributed) {
#if !FANOUT_HAVE_DISTRIBUTED
    std::cerr << "fanout serve: store.mode = \"distributed\" needs libnats and libpq, which "
                 "this build did not find (scripts/install-deps.sh --with-services)\n";
    return 2;
#else
    auto fail = [&](const std::string& what, const Error& e) {
      std::cerr << "fanout serve: " << what << ": " << e.message << "\n";
      return 1;
    };
    // Who this process is to NATS: its user (one per role, `fanout config nats`), TLS.
    adapters::jetstream::NatsClientSettings client;
    client.user = s.store.nats_user;
    client.password = s.store.nats_password;
    client.ca_file = s.store.nats_ca_file.string();
    client.cert_file = s.store.nats_cert_file.string();
    client.key_file = s.store.nats_key_file.string();
    client.name = "fanout " + s.region.name;
    for (const auto& role : s.roles) client.name += " " + role;
    adapters::jetstream::JetStreamSettings js;
    js.url = s.store.nats_url;
    js.client = client;
    js.stream_prefix = "FANOUT_" + s.region.name;  // a region's work queues are its own
    js.subject_prefix = s.region.name;
    js.ack_wait_ms = s.fanout.ack_wait.count();
    js.replicas = s.store.nats_replicas;
    // High and regular on separate connections (and streams, consumers, threads): a backlog
    // of regular work on one socket cannot hold up an Extreme alert (ADR 0004).
    auto high = adapters::jetstream::JetStreamBus::Connect(js);
    if (!high) return fail("work bus (high)", high.error());
    auto regular = adapters::jetstream::JetStreamBus::Connect(js);
    if (!regular) return fail("work bus (regular)", regular.error());
    auto* high_js = high->get();
    auto* regular_js = regular->get();
    bus = std::make_unique<app::PriorityBus>(**high, **regular);
    bus_parts.push_back(std::move(*high));
    bus_parts.push_back(std::move(*regular));
    // Linked regions (DESIGN §5.1): every region's protocol events, device updates and raw
    // alerts are sourced into this region's streams across the leafnodes.
    adapters::jetstream::RegionLink link;
    link.region = s.region.name;
    for (const auto& n : s.region.names) {
      if (n != s.region.name) link.peers.push_back(n);
    }
    adapters::jetstream::ProtocolLogSettings ls;
    ls.url = s.store.nats_url;
    ls.client = client;
    ls.replicas = s.store.nats_replicas;
    ls.link = link;
    auto l = adapters::jetstream::JetStreamProtocolLog::Connect(ls);
    if (!l) return fail("protocol log", l.error());
    events = (*l)->ReadFrom(0, SIZE_MAX).size();
    log = std::move(*l);
    adapters::jetstream::DeviceFeedSettings fs_;
    fs_.url = s.store.nats_url;
    fs_.client = client;
    fs_.replicas = s.store.nats_replicas;
    fs_.link = link;
    auto f = adapters::jetstream::JetStreamDeviceFeed::Connect(fs_);
    if (!f) return fail("device feed", f.error());
    feed = std::move(*f);
    adapters::jetstream::PlanStoreSettings ps;
    ps.url = s.store.nats_url;
    ps.client = client;
    ps.replicas = s.store.nats_replicas;
    ps.link = link;
    auto p = adapters::jetstream::JetStreamPlanStore::Connect(ps);
    if (!p) return fail("plan store", p.error());
    plans = std::move(*p);
    adapters::jetstream::AlertArchiveSettings as;
    as.url = s.store.nats_url;
    as.client = client;
    as.replicas = s.store.nats_replicas;
    as.link = link;
    auto a = adapters::jetstream::JetStreamAlertArchive::Connect(as);
    if (!a) return fail("raw alert archive", a.error());
    if (s.cap.max_body_bytes > (*a)->MaxBodyBytes()) {
      std::cerr << "fanout serve: cap.max_body_bytes = " << s.cap.max_body_bytes
                << " but the NATS server carries alerts of at most " << (*a)->MaxBodyBytes()
                << " bytes: lower cap.max_body_bytes or raise max_payload in the nats-server "
                   "configuration\n";
      return 2;
    }
    auto* archive_js = a->get();
    archive = std::move(*a);
    if (link.linked()) {
      // A returning region catches up with what the others did while it was away before it
      // works (its queues may hold work of alerts another region has taken over since).
      const int64_t wait_ms =
          2 * std::max(s.watchdog.stall.count(), s.watchdog.deadline_regular.count());
      const auto t_catch = std::chrono::steady_clock::now();
      if (static_cast<adapters::jetstream::JetStreamProtocolLog*>(log.get())->CatchUp(wait_ms)) {
        logger.Info(
            "caught up with the peer regions' protocol events in {:.0f} ms",
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_catch)
                .count());
      } else {
        logger.Warn(
            "not caught up with every peer region after {} ms (a peer down or not linked): "
            "starting with what is replicated so far",
            wait_ms);
      }
      // Replication from each peer region on /metrics (lag, and how long it has been silent).
      scrape = [log_js = static_cast<adapters::jetstream::JetStreamProtocolLog*>(log.get()),
                probe = std::make_shared<app::Probe>(s.region.name)] {
        for (const auto& source : log_js->Replication()) {
          probe->OnReplication(
              source.peer, source.lag,
              source.idle_ms < 0 ? -1.0 : static_cast<double>(source.idle_ms) / 1000.0);
        }
      };
    }
    std::unique_ptr<adapters::postgres::PostgresDeviceStore> pg;
    if (!s.store.postgres_url.empty()) {
      try {
        pg = std::make_unique<adapters::postgres::PostgresDeviceStore>(s.store.postgres_url,
                                                                       s.store.postgres_migrate);
      } catch (const std::exception& e) {
        std::cerr << "fanout serve: device store (PostgreSQL): " << e.what() << "\n";
        return 1;
      }
    }
    // Not ready while NATS or PostgreSQL is away (the adapters reconnect by themselves).
    dependencies = [high_js, regular_js,
                    log_js = static_cast<adapters::jetstream::JetStreamProtocolLog*>(log.get()),
                    feed_js = static_cast<adapters::jetstream::JetStreamDeviceFeed*>(feed.get()),
                    plans_js = static_cast<adapters::jetstream::JetStreamPlanStore*>(plans.get()),
                    archive_js, pg_store = pg.get()] {
      std::vector<std::string> problems;
      if (!high_js->Connected() || !regular_js->Connected() || !log_js->Connected() ||
          !feed_js->Connected() || !plans_js->Connected() || !archive_js->Connected()) {
        problems.push_back("nats: not connected (reconnecting)");
      }
      if (!pg_store) return problems;
      if (auto ping = pg_store->Ping(); !ping) {
        problems.push_back("postgresql: " + ping.error().message);
      }
      return problems;
    };
    if (pg) {
      store = std::move(pg);
    } else {
      // DESIGN §5.1: a region's PostgreSQL is optional; without one its devices are in SQLite
      // under the data dir (the region's processes on one host share the file).
      logger.Info("store.postgres_url is empty: devices in {}",
                  (s.store.data_dir / "devices.db").string());
      store =
          std::make_unique<adapters::sqlite::SqliteDeviceStore>(s.store.data_dir / "devices.db");
    }
#endif
  } else {
    try {
      state = std::make_unique<adapters::sqlite::SqliteState>(s.store.data_dir / "state.db");
    } catch (const std::exception& e) {
      std::cerr << "fanout serve: " << e.what() << "\n";
      return 1;
    }
    auto memory_log = std::make_unique<adapters::memory::MemoryProtocolLog>(&state->log());
    auto memory_plans = std::make_unique<adapters::memory::MemoryPlanStore>(&state->plans());
    auto loaded_events = memory_log->Load();
    auto loaded_plans = loaded_events ? memory_plans->Load() : Result<size_t, Error>(0);
    if (!loaded_events || !loaded_plans) {
      std::cerr << "fanout serve: cannot read the durable state in " << s.store.data_dir << ": "
                << (loaded_events ? loaded_plans.error() : loaded_events.error()).message << "\n";
      return 1;
    }
    events = *loaded_events;
    stored_plans = *loaded_plans;
    log = std::move(memory_log);
    plans = std::move(memory_plans);
    feed = std::make_unique<adapters::memory::MemoryDeviceFeed>();
  }
  RegionEngines engines;
  engines.store = store.get();
  engines.archive = archive.get();
  engines.bus = bus.get();
  engines.bus_journal = state ? &state->bus() : nullptr;
  try {
    adapters::geofiles::GeoJsonShapes shapes(s.geo.data_dir);  // the console's map
    // Every fact this process records is also a structured log line (alert, batch ids).
    LoggedProtocolLog logged(*log);
    EmbeddedRegion region(ToRegionOptions(s, host, port), *catalog, decoder, logged, *feed, *plans,
                          clock, gateways, geometry->get(), engines);
    region.SetShapes(&shapes);
    region.Start();
    if (dependencies) region.SetDependencyCheck(dependencies);
    if (scrape) region.SetScrapeHook(scrape);
    const auto& r = region.recovered();
    logger.Info(
        "recovered in {:.0f} ms: {} events, {} plans, {} queued work items, {} identifiers, "
        "{} open alert(s) resumed",
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - recovery_start)
            .count(),
        events, stored_plans, r.messages, r.identifiers, r.open_alerts.size());
    logger.Info("region {} (index {}, {} engines, roles {}) serving on {} with {} devices{}",
                s.region.name, s.region.index, s.store.mode, roles.ToString(), region.url(),
                region.registry().size(),
                roles.needs_index() ? "" : " (no index: neither queuer nor registry)");
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    logger.Info("stopping");
    region.Stop();
  } catch (const std::exception& e) {
    std::cerr << "fanout serve: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterServeCommand(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("serve", "Run one region (embedded engines) until SIGTERM");
  cmd->add_option("--config", *file, "TOML configuration (see `fanout config example`)")
      ->required();
  cmd->add_option("--set", *sets, "override a key: --set region.index=1 (value read as TOML)");
  cmd->callback([file, sets] { ExitCode() = RunServe(*file, *sets); });
}

}  // namespace fanout::cli
