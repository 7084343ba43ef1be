// `fanout serve --config FILE [--set key=value ...]`: runs one region on the embedded
// engines until SIGINT/SIGTERM (DESIGN §7.1, §7.4).
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
#include "adapters/geos/geos_index.hpp"
#include "adapters/memory/memory_device_feed.hpp"
#include "adapters/memory/memory_plan_store.hpp"
#include "adapters/memory/memory_protocol_log.hpp"
#include "adapters/memory/system_clock.hpp"
#include "adapters/sqlite/sqlite_journals.hpp"
#include "commands.hpp"
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
  o.providers.known.clear();
  for (const auto& [p, _] : s.auth.provider_tokens) o.providers.known.push_back(p);
  o.pipeline.shards = static_cast<uint32_t>(s.fanout.shards);
  o.pipeline.batch_size = static_cast<uint32_t>(s.fanout.batch_size);
  o.pipeline.sender_workers_high = s.fanout.sender_workers_high;
  o.pipeline.sender_workers_regular = s.fanout.sender_workers_regular;
  o.pipeline.max_body_bytes = static_cast<size_t>(s.cap.max_body_bytes);
  o.pipeline.apns_critical_alerts = s.push.apns.critical_alerts;
  o.pipeline.public_base_url = "http://" + host + ":" + std::to_string(port);
  o.retry.max_attempts = s.push.max_attempts;
  o.retry.base_delay_ms = s.push.retry_base.count();
  o.api.provider_tokens = s.auth.provider_tokens;
  o.api.device_token = s.auth.device_token;
  o.api.admin_token = s.auth.admin_token;
  o.data_dir = s.store.data_dir;
  o.max_deliver = static_cast<uint32_t>(s.fanout.max_deliver);
  o.http_host = host;
  o.http_port = port;
  return o;
}

int RunServe(const std::string& file, const std::vector<std::string>& sets) {
  auto settings = config::LoadSettings(file, sets);
  if (!settings) {
    std::cerr << "fanout serve: invalid configuration:\n" << settings.error().ToString() << "\n";
    return 2;
  }
  const config::Settings& s = *settings;
  log::InitLogging(log::ParseLevel(s.log.level).value_or(log::Level::kInfo), s.log.json);
  auto logger = log::GetLogger("serve");
  if (s.store.mode != "embedded") {
    std::cerr << "fanout serve: store.mode = \"" << s.store.mode
              << "\" needs the distributed engines (NATS JetStream, PostgreSQL), which are "
                 "not built yet; use mode = \"embedded\"\n";
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

  // Durable state of the embedded engine (DESIGN §6): the bus, the protocol log and the
  // plans are journaled to one SQLite file under the data dir (ordered group commits).
  std::unique_ptr<adapters::sqlite::SqliteState> state;
  try {
    state = std::make_unique<adapters::sqlite::SqliteState>(s.store.data_dir / "state.db");
  } catch (const std::exception& e) {
    std::cerr << "fanout serve: " << e.what() << "\n";
    return 1;
  }
  const auto recovery_start = std::chrono::steady_clock::now();
  adapters::memory::MemoryProtocolLog log(&state->log());
  adapters::memory::MemoryPlanStore plans(&state->plans());
  auto events = log.Load();
  auto stored_plans = events ? plans.Load() : Result<size_t, Error>(0);
  if (!events || !stored_plans) {
    std::cerr << "fanout serve: cannot read the durable state in " << s.store.data_dir << ": "
              << (events ? stored_plans.error() : events.error()).message << "\n";
    return 1;
  }
  adapters::memory::MemoryDeviceFeed feed;
  adapters::memory::SystemClock clock;
  if (!s.region.peers.empty()) {
    logger.Warn(
        "{} peer region(s) configured: this region processes only the alerts it owns "
        "(owner = hash mod {}); replication to peers and takeover are not built yet, so "
        "providers must send every alert to every region",
        s.region.peers.size(), s.region.peers.size() + 1);
  }
  try {
    EmbeddedRegion region(ToRegionOptions(s, host, port), *catalog, decoder, log, feed, plans,
                          clock, gateways, geometry->get(), &state->bus());
    region.Start();
    const auto& r = region.recovered();
    logger.Info(
        "recovered in {:.0f} ms: {} events, {} plans, {} queued work items, {} identifiers, "
        "{} open alert(s) resumed",
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - recovery_start)
            .count(),
        *events, *stored_plans, r.messages, r.identifiers, r.open_alerts.size());
    logger.Info("region {} (index {}) serving on {} with {} devices", s.region.name, s.region.index,
                region.url(), region.registry().size());
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
