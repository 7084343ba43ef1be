// `fanout demo`: the main job on the embedded default (DESIGN §7.1). Starts N regions and a
// push simulator in one process, registers simulated devices over real municipalities,
// sends the sample alerts to every region over HTTP as a provider would, prints a delivery
// report per alert with its expected status, and exits 0 only if every alert ended as
// expected and every targeted device got every alert exactly once (the simulator's
// deliveries compared with an expectation computed by a second implementation of the area
// and selection rules, demo_expect.hpp — independent of the pipeline's plans, index, queues).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "adapters/apns/apns_gateway.hpp"
#include "adapters/capxml/cap_decoder.hpp"
#include "adapters/fcm/fcm_gateway.hpp"
#include "adapters/geofiles/geo_files.hpp"
#include "adapters/geofiles/geojson_shapes.hpp"
#include "adapters/geos/geos_index.hpp"
#include "adapters/http/http_server.hpp"
#include "adapters/memory/memory_device_feed.hpp"
#include "adapters/memory/memory_plan_store.hpp"
#include "adapters/memory/memory_protocol_log.hpp"
#include "adapters/memory/system_clock.hpp"
#include "adapters/pushsim/push_sim.hpp"
#include "adapters/sqlite/sqlite_journals.hpp"
#include "app/device_generator.hpp"
#include "commands.hpp"
#include "demo_expect.hpp"
#include "demo_regions.hpp"
#include "domain/device/index.hpp"
#include "domain/pipeline/report.hpp"
#include "paths.hpp"
#include "platform/crypto/crypto.hpp"
#include "platform/metrics/metrics.hpp"
#include "platform/text/percent.hpp"
#include "region.hpp"

namespace fanout::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct DemoOptions {
  size_t devices = 100000;
  int regions = 2;
  std::string alerts_dir;
  std::string kill_region;
  uint64_t seed = 1;
  uint32_t shards = 64;
  bool keep = false;
  bool volatile_state = false;      // no SQLite journals (the engine before issue 10)
  std::string engine = "embedded";  // or "distributed": nats-servers + `fanout serve` processes
  int timeout_s = 300;
  std::string faults;  // pushsim fault spec, e.g. "429=0.01,500=0.01,unregistered=0.001"
  app::WatchdogSettings watchdog;
  bool no_watch = false;  // regions do not watch each other (measures watching's overhead)
};

/// `--kill-region NAME@SECONDS`: the region and the delay after the first alert is sent.
struct KillSpec {
  std::string region;
  double after_s = 0;
};
std::optional<KillSpec> ParseKill(const std::string& spec) {
  const auto at = spec.rfind('@');
  if (at == std::string::npos || at == 0) return std::nullopt;
  KillSpec k{spec.substr(0, at), 0};
  char* end = nullptr;
  const std::string num = spec.substr(at + 1);
  k.after_s = std::strtod(num.c_str(), &end);
  if (num.empty() || *end != '\0' || k.after_s < 0) return std::nullopt;
  return k;
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Heap bytes of the demo's own copy of a device (kept for the independent expectation):
// libstdc++ layouts (strings beyond 15 chars and map nodes are allocations, ~16 B malloc
// overhead each). An estimate, printed as such.
size_t DeviceCopyBytes(const domain::device::Device& d) {
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 + 16 : 0; };
  size_t b = sizeof(domain::device::Device) + heap(d.id) + heap(d.token);
  b += d.levels.size() * (32 + sizeof(std::string) + 8 + 16);
  b += d.regions.capacity() * sizeof(std::string) + (d.regions.empty() ? 0 : 16);
  for (const auto& r : d.regions) b += heap(r);
  return b;
}

/// The embedded engine (DESIGN §6): the regions in this process. The engine state as
/// `serve` keeps it: journaled to SQLite; the protocol log and plans are shared by the regions
/// (standing in for replication) in one file, each region's bus in its own.
class EmbeddedRegions final : public DemoRegions {
 public:
  EmbeddedRegions(const DemoOptions& opt, const fs::path& work,
                  const std::vector<std::string>& names, const domain::geo::GeoCatalog& catalog,
                  const ports::AlertDecoder& decoder, ports::Clock& clock,
                  const domain::geo::GeometryIndex* geometry, const app::ApiSettings& api,
                  const std::string& endpoint, const fs::path& geo_dir)
      : work_(work),
        shapes_(geo_dir),
        shared_state_(opt.volatile_state
                          ? nullptr
                          : std::make_unique<adapters::sqlite::SqliteState>(work / "shared.db")),
        log_(shared_state_ ? &shared_state_->log() : nullptr),
        plans_(shared_state_ ? &shared_state_->plans() : nullptr),
        archive_(work / "archive") {  // raw alerts are replicated too: one archive stands in
    for (size_t i = 0; i < names.size(); ++i) {
      RegionOptions ro;
      ro.region.name = names[i];
      ro.region.index = static_cast<uint32_t>(i);
      ro.region.regions = static_cast<uint32_t>(names.size());
      ro.region_names = names;
      ro.pipeline.shards = opt.shards;
      ro.api = api;
      ro.watchdog = opt.watchdog;
      // The regions share the protocol log (standing in for replication).
      ro.watch = !opt.no_watch;
      ro.data_dir = work / ro.region.name;
      adapters::memory::BusJournal* bus_journal = nullptr;
      if (!opt.volatile_state) {
        region_states_.push_back(
            std::make_unique<adapters::sqlite::SqliteState>(ro.data_dir / "state.db"));
        bus_journal = &region_states_.back()->bus();
      }
      int nice = ro.pipeline.regular_thread_nice;
      GatewayFactory gateways = [endpoint, nice](ports::Platform p,
                                                 bool high) -> std::unique_ptr<ports::PushGateway> {
        if (p == ports::Platform::kApns) {
          adapters::apns::ApnsSettings apns;
          apns.endpoint = endpoint;
          apns.topic = "de.fanout.demo";
          apns.http.connections = 2;
          apns.http.thread_nice = high ? 0 : nice;
          return std::make_unique<adapters::apns::ApnsGateway>(apns);
        }
        adapters::fcm::FcmSettings fcm;
        fcm.endpoint = endpoint;
        fcm.project_id = "fanout-demo";
        fcm.http.connections = 2;
        fcm.http.thread_nice = high ? 0 : nice;
        return std::make_unique<adapters::fcm::FcmGateway>(fcm);
      };
      regions_.push_back(std::make_unique<EmbeddedRegion>(
          ro, catalog, decoder, log_, feed_, plans_, clock, gateways, geometry,
          RegionEngines{.archive = &archive_, .bus_journal = bus_journal}));
      regions_.back()->SetShapes(&shapes_);
      regions_.back()->Start();
    }
  }
  ~EmbeddedRegions() override { Stop(); }

  EmbeddedRegion& region(size_t i) { return *regions_[i]; }
  size_t size() const override { return regions_.size(); }
  std::string name(size_t i) const override { return regions_[i]->name(); }
  std::string url(size_t i) const override { return regions_[i]->url(); }
  void Kill(size_t i) override { regions_[i]->Stop(); }
  std::vector<domain::pipeline::Event> Events(const std::string& id) const override {
    return log_.Events(id);
  }
  size_t Devices(size_t i) const override { return regions_[i]->registry().size(); }
  bool HasDevice(size_t i, const std::string& id) const override {
    return regions_[i]->registry().Get(id).has_value();
  }
  void PrintState() const override {
    if (!shared_state_) {
      std::printf("engine state in memory only (--volatile): a crash would lose it\n");
      return;
    }
    uint64_t tx = shared_state_->transactions(), writes = shared_state_->writes();
    for (const auto& st : region_states_) {
      tx += st->transactions();
      writes += st->writes();
    }
    std::printf("durable state (SQLite, %s): %llu writes in %llu transactions\n",
                work_.string().c_str(), static_cast<unsigned long long>(writes),
                static_cast<unsigned long long>(tx));
  }
  void Stop() override {
    for (auto& r : regions_) r->Stop();
  }

  // Memory per device by component after registration (BENCHMARKS.md, "10 M devices").
  void PrintMemory(const std::vector<domain::device::Device>& registered,
                   size_t rss_before_kb) const {
    const double n = static_cast<double>(std::max<size_t>(registered.size(), 1));
    const size_t rss_kb = metrics::ProcessStatusKb("VmRSS:");
    std::printf(
        "memory after registration: RSS %.0f MB (+%.0f MB for the devices = %.0f B/device)\n",
        static_cast<double>(rss_kb) / 1024.0,
        static_cast<double>(rss_kb - std::min(rss_kb, rss_before_kb)) / 1024.0,
        static_cast<double>(rss_kb - std::min(rss_kb, rss_before_kb)) * 1024.0 / n);
    for (const auto& r : regions_) {
      auto m = r->registry().IndexMemoryUse();
      std::printf(
          "  index %-10s %.1f B/device counted: records %.1f, id table %.1f, ids+tokens %.1f "
          "(tokens %.1f), region keys %.1f, bitmaps %.1f\n",
          r->name().c_str(), static_cast<double>(m.total()) / n, static_cast<double>(m.records) / n,
          static_cast<double>(m.id_table) / n, static_cast<double>(m.arena) / n,
          static_cast<double>(m.token_bytes) / n, static_cast<double>(m.region_pool) / n,
          static_cast<double>(m.bitmaps) / n);
    }
    size_t copy = 0;
    for (const auto& d : registered) copy += DeviceCopyBytes(d);
    std::printf("  demo's own device list (for the independent check) ~%.1f B/device (estimate)\n",
                static_cast<double>(copy) / n);
  }

 private:
  fs::path work_;
  adapters::geofiles::GeoJsonShapes shapes_;  // the console's map
  std::unique_ptr<adapters::sqlite::SqliteState> shared_state_;
  std::vector<std::unique_ptr<adapters::sqlite::SqliteState>> region_states_;
  adapters::memory::MemoryProtocolLog log_;
  adapters::memory::MemoryDeviceFeed feed_;
  adapters::memory::MemoryPlanStore plans_;
  adapters::memory::FileArchive archive_;
  std::vector<std::unique_ptr<EmbeddedRegion>> regions_;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The provider a sample belongs to: MoWaS (civil protection, high priority) is AP1, the
/// weather service AP2, everything else AP3.
std::string ProviderFor(const domain::cap::Alert& a) {
  if (a.identifier.rfind("mow.", 0) == 0) return "AP1";
  if (a.identifier.find("DWD") != std::string::npos || a.identifier.rfind("dwd", 0) == 0) {
    return "AP2";
  }
  return "AP3";
}

std::vector<fs::path> DefaultAlerts(const fs::path& data_dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(data_dir / "cap" / "dwd")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  files.push_back(data_dir / "cap" / "dwd-update-thunderstorm-de.xml");
  std::vector<fs::path> nina;
  for (const auto& e : fs::directory_iterator(data_dir / "cap" / "nina-json")) {
    std::string name = e.path().filename().string();
    if (name.rfind("warning-", 0) == 0 && e.path().extension() == ".json") {
      nina.push_back(e.path());
    }
  }
  std::sort(nina.begin(), nina.end());
  files.insert(files.end(), nina.begin(), nina.end());
  return files;
}

std::string Short(const std::string& id, size_t n = 34) {
  return id.size() <= n ? id : id.substr(0, n / 2 - 1) + ".." + id.substr(id.size() - n / 2 + 1);
}

int RunDemo(const DemoOptions& opt) {
  std::optional<KillSpec> kill;
  if (!opt.kill_region.empty()) {
    kill = ParseKill(opt.kill_region);
    if (!kill) {
      std::cerr << "fanout demo: --kill-region wants NAME@SECONDS (e.g. eu-central@0.5), got '"
                << opt.kill_region << "'\n";
      return 2;
    }
  }
  if (opt.regions < 1 || opt.regions > 16) {
    std::cerr << "fanout demo: --regions must be 1..16\n";
    return 2;
  }
  auto t0 = Clock::now();
  auto data_dir = FindDataDir("demo");
  if (!data_dir) return 2;
  auto catalog = adapters::geofiles::LoadGeoCatalog(*data_dir / "geo");
  if (!catalog) {
    std::cerr << "fanout demo: " << catalog.error().message << "\n";
    return 2;
  }
  auto geometry = adapters::geos::GeosGeometryIndex::Load(*data_dir / "geo", *catalog);
  if (!geometry) {
    std::cerr << "fanout demo: " << geometry.error().message << "\n";
    return 2;
  }
  std::vector<fs::path> files;
  if (opt.alerts_dir.empty()) {
    files = DefaultAlerts(*data_dir);
  } else {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(opt.alerts_dir, ec)) {
      auto ext = e.path().extension();
      if (ext == ".xml" || ext == ".json" || ext == ".cap") files.push_back(e.path());
    }
    if (ec) {
      std::cerr << "fanout demo: cannot read " << opt.alerts_dir << ": " << ec.message() << "\n";
      return 2;
    }
    std::sort(files.begin(), files.end());
  }
  std::printf("fanout demo: %d regions, %zu devices, %zu alerts, geodata %zu municipalities\n",
              opt.regions, opt.devices, files.size(), catalog->municipalities().size());

  // The push simulator answers both APIs and records every delivery.
  adapters::pushsim::PushSimSettings sim_settings;
  sim_settings.listen = "127.0.0.1:0";
  // 8 bytes per delivery instead of ~300: the check below needs (alert, token) pairs only,
  // and a national rehearsal has millions of them.
  sim_settings.compact_deliveries = true;
  if (!opt.faults.empty()) {
    std::string error;
    auto spec = adapters::pushsim::FaultSpec::Parse(opt.faults, &error);
    if (!spec) {
      std::cerr << "fanout demo: --faults: " << error << "\n";
      return 2;
    }
    sim_settings.faults = *spec;
    std::printf("push simulator faults: %s\n", spec->ToString().c_str());
  }
  adapters::pushsim::PushSim sim(sim_settings);
  sim.Start();

  fs::path work = fs::temp_directory_path() / ("fanout-demo-" + std::to_string(::getpid()));
  adapters::memory::SystemClock clock;
  adapters::capxml::CapDecoder decoder;

  app::ApiSettings api;
  for (const char* p : {"AP1", "AP2", "AP3", "AP4"})
    api.provider_tokens[p] = platform::RandomHex(16);
  api.device_token = platform::RandomHex(16);
  api.admin_token = platform::RandomHex(16);

  static const char* kNames[] = {"eu-central", "eu-west", "eu-north", "eu-south"};
  std::vector<std::string> names;
  for (int i = 0; i < opt.regions; ++i) {
    names.push_back(i < 4 ? kNames[i] : "region-" + std::to_string(i));
  }
  int killed = -1;  // index of the region --kill-region names
  if (kill) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == kill->region) killed = static_cast<int>(i);
    }
    if (killed < 0) {
      std::cerr << "fanout demo: --kill-region: no region named '" << kill->region << "' (regions:";
      for (const auto& n : names) std::cerr << " " << n;
      std::cerr << ")\n";
      return 2;
    }
    if (names.size() < 2) {
      std::cerr << "fanout demo: --kill-region needs at least 2 regions\n";
      return 2;
    }
    if (opt.no_watch) {
      std::cerr << "fanout demo: --kill-region needs the regions to watch each other (drop "
                   "--no-watch)\n";
      return 2;
    }
  }
  if (opt.no_watch && opt.engine == "distributed") {
    std::cerr << "fanout demo: --no-watch is for the embedded engine\n";
    return 2;
  }

  // Devices: generated once; the demo keeps its own copy for the independent expectation
  // below (the registry loses devices whose tokens the platforms report invalid).
  app::GeneratorSettings gen;
  gen.seed = opt.seed;
  const size_t chunk = 20000;
  std::vector<domain::device::Device> registered;
  registered.reserve(opt.devices);
  std::unique_ptr<DemoRegions> regions;
  if (opt.engine == "distributed") {
    for (size_t done = 0; done < opt.devices; done += chunk) {
      auto batch = app::GenerateDevices(std::min(chunk, opt.devices - done), *catalog, gen, done);
      registered.insert(registered.end(), batch.begin(), batch.end());
    }
    DistributedDemoOptions d;
    d.names = names;
    d.devices = opt.devices;
    d.seed = opt.seed;
    d.shards = opt.shards;
    d.push_endpoint = sim.endpoint();
    d.auth.provider_tokens = api.provider_tokens;
    d.auth.device_token = api.device_token;
    d.auth.admin_token = api.admin_token;
    d.watchdog = opt.watchdog;
    d.work_dir = work;
    d.geo_dir = fs::absolute(*data_dir / "geo");
    d.observer = killed == 0 ? 1 : 0;  // a region that stays alive
    auto tg = Clock::now();
    std::fprintf(stderr, "starting %d regions (nats-server + fanout serve each)...\n", opt.regions);
    regions = StartDistributedDemo(d);
    if (!regions) {
      sim.Stop();
      if (!opt.keep) {
        std::error_code ec;
        fs::remove_all(work, ec);
      }
      return 1;
    }
    std::printf("started %d regions with %zu devices each in %.2f s (distributed: %s)\n",
                opt.regions, opt.devices, SecondsSince(tg), work.c_str());
  } else {
    auto embedded =
        std::make_unique<EmbeddedRegions>(opt, work, names, *catalog, decoder, clock,
                                          geometry->get(), api, sim.endpoint(), *data_dir / "geo");
    const size_t rss_before_devices = metrics::ProcessStatusKb("VmRSS:");
    auto tg = Clock::now();
    for (size_t done = 0; done < opt.devices; done += chunk) {
      size_t n = std::min(chunk, opt.devices - done);
      auto batch = app::GenerateDevices(n, *catalog, gen, done);
      registered.insert(registered.end(), batch.begin(), batch.end());
      // Registered once, replicated to every region through the device feed.
      auto r = embedded->region(0).registry().Import(std::move(batch));
      if (!r) {
        std::cerr << "fanout demo: device import failed: " << r.error().message << "\n";
        return 1;
      }
      std::fprintf(stderr, "\rregistering devices: %zu/%zu", done + n, opt.devices);
    }
    double reg_s = SecondsSince(tg);
    std::fprintf(stderr, "\n");
    for (size_t i = 0; i < embedded->size(); ++i) {
      if (embedded->Devices(i) != opt.devices) {
        std::cerr << "fanout demo: region " << embedded->name(i) << " has " << embedded->Devices(i)
                  << " devices, expected " << opt.devices << "\n";
        return 1;
      }
    }
    std::printf("registered %zu devices in %.2f s (%.0f/s, into %d regions)\n", opt.devices, reg_s,
                static_cast<double>(opt.devices) / reg_s, opt.regions);
    embedded->PrintMemory(registered, rss_before_devices);
    regions = std::move(embedded);
  }

  // Send every sample to every region, as a provider does.
  struct Sent {
    std::string id, provider, file;
    bool accepted = false;
    ExpectedAlert expect;  // independent of the pipeline (demo_expect.hpp)
  };
  std::vector<Sent> sent;
  DemoExpectation reference(*catalog);
  // Wait until every alert is finished (done, skipped or quarantined) in the protocol.
  auto terminal = [&](const std::string& id) {
    auto st = domain::pipeline::DeriveReport(id, regions->Events(id)).status;
    return st == "done" || st == "skipped" || st == "quarantined";
  };
  auto ts = Clock::now();
  // The region dies abruptly: its API, workers and watchdog stop where they are; what it
  // had queued is not drained (its journal stays on disk, unused).
  std::atomic<bool> kill_done{false};
  int64_t killed_at_ms = 0;
  std::thread killer;
  if (kill) {
    killer = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::duration<double>(kill->after_s));
      regions->Kill(static_cast<size_t>(killed));
      killed_at_ms = clock.NowMs();
      kill_done = true;
      std::printf("killed region %s at %.2f s\n", kill->region.c_str(), SecondsSince(ts));
      std::fflush(stdout);
    });
  }
  for (const auto& f : files) {
    std::string body = ReadFile(f);
    auto check = decoder.Decode(body);
    Sent s;
    s.file = f.filename().string();
    s.id = check.alert ? check.alert->identifier : f.stem().string();
    s.provider = check.alert ? ProviderFor(*check.alert) : "AP3";
    // A provider sends an Update or Cancel after the alert it refers to, not in the same
    // instant: wait for a referenced sample to finish so the folding is deterministic.
    if (check.alert) {
      for (const auto& ref : check.alert->references) {
        if (ref.identifier == s.id) continue;
        if (std::none_of(sent.begin(), sent.end(),
                         [&](const Sent& o) { return o.id == ref.identifier && o.accepted; })) {
          continue;
        }
        auto until = Clock::now() + std::chrono::seconds(opt.timeout_s);
        while (!terminal(ref.identifier) && Clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      }
    }
    s.expect = reference.Expect(check, s.provider);
    if (s.expect.id.empty()) s.expect.id = s.id;
    for (size_t i = 0; i < regions->size(); ++i) {
      auto resp = adapters::http::HttpCall(
          "PUT", regions->url(i), "/v1/alerts/" + s.provider + "/" + platform::PercentEncode(s.id),
          api.provider_tokens[s.provider], body,
          body.starts_with("{") ? "application/json" : "application/xml");
      s.accepted = s.accepted || resp.status == 202;
      // The killed region refuses connections (or is being killed right now).
      const bool dead = static_cast<int>(i) == killed && resp.status == 0;
      if (resp.status != 202 && resp.status != 400 && !dead) {
        std::printf("  %-10s %s -> %d %s\n", regions->name(i).c_str(), s.file.c_str(), resp.status,
                    resp.status == 0 ? resp.error.c_str() : resp.body.c_str());
      }
    }
    reference.Record(s.expect);
    sent.push_back(s);
  }

  auto deadline = Clock::now() + std::chrono::seconds(opt.timeout_s);
  bool all_terminal = false;
  while (Clock::now() < deadline) {
    all_terminal = std::all_of(sent.begin(), sent.end(),
                               [&](const Sent& s) { return !s.accepted || terminal(s.id); });
    if (all_terminal) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  double run_s = SecondsSince(ts);
  if (killer.joinable()) killer.join();

  // Expected deliveries, device by device from what was registered, per alert, from the
  // independent reference (demo_expect.hpp) — never from the pipeline's plans.
  // Keys of (alert id, token), compared as sorted vectors of 8-byte keys (DeliveryKey).
  std::vector<uint64_t> got = sim.DeliveryKeys();
  std::printf("memory: push simulator's delivery record %.1f MB (8 B per push); peak RSS %.0f MB\n",
              static_cast<double>(got.size() * sizeof(uint64_t)) / 1048576.0,
              static_cast<double>(metrics::ProcessStatusKb("VmHWM:")) / 1024.0);
  std::sort(got.begin(), got.end());
  uint64_t expected_total = 0, missing = 0, duplicates = 0, unexpected = 0;
  std::vector<uint64_t> expected;
  std::vector<uint64_t> allowed_extra;  // lower-bound alerts: more deliveries are fine
  std::set<std::string> dead_targeted;
  const auto default_levels = app::ProviderSettings{}.default_levels;  // both engines' defaults
  const auto& defaults = default_levels;
  for (const Sent& s : sent) {
    if (!s.accepted || s.expect.status != "done") continue;
    for (const domain::device::Device& d : registered) {
      const uint64_t key = adapters::pushsim::DeliveryKey(s.id, d.token);
      if (!DemoExpectation::Receives(d, s.expect, defaults)) {
        if (s.expect.lower_bound) allowed_extra.push_back(key);
        continue;
      }
      if (adapters::pushsim::TokenIsDead(sim_settings.faults, d.token)) {
        dead_targeted.insert(d.id);  // the platform refuses it: must leave every registry
      } else {
        expected.push_back(key);
      }
    }
  }
  std::sort(expected.begin(), expected.end());
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  std::sort(allowed_extra.begin(), allowed_extra.end());
  expected_total = expected.size();
  // One merge over both sorted lists: each expected key must appear exactly once; a key
  // not expected is unexpected unless a lower-bound alert allows it (then only once).
  size_t e = 0;
  for (size_t g = 0; g < got.size();) {
    size_t n = 1;
    while (g + n < got.size() && got[g + n] == got[g]) ++n;
    const uint64_t key = got[g];
    while (e < expected.size() && expected[e] < key) {
      ++missing;
      ++e;
    }
    if (e < expected.size() && expected[e] == key) {
      ++e;
      duplicates += n - 1;
    } else if (std::binary_search(allowed_extra.begin(), allowed_extra.end(), key)) {
      duplicates += n - 1;
    } else {
      unexpected += n;
    }
    g += n;
  }
  missing += expected.size() - e;
  // Every alert ends as the reference expects: a valid German alert must not end quarantined.
  size_t status_mismatches = 0;

  // The report.
  std::printf("\n%-36s %-4s %-8s %-10s %-11s %-11s %8s %8s %6s %7s %9s %9s %8s %8s\n", "alert",
              "prov", "priority", "owner", "expected", "status", "targeted", "sent", "failed",
              "invalid", "first_ms", "last_ms", "p50_ms", "p99_ms");
  uint64_t total_sent = 0, reported_redelivered = 0, reported_possibly = 0;
  int64_t first_recv = 0, last_push = 0;
  // takeover - max(receipt, kill), alert-done - takeover
  std::vector<double> detect_ms, complete_ms;
  // With one region killed and the others alive, an alert is taken over at most once, and
  // by the first successor of the region responsible for it (DESIGN §5).
  size_t takeover_mismatches = 0;
  for (const Sent& s : sent) {
    auto rep = domain::pipeline::DeriveReport(s.id, regions->Events(s.id));
    const auto& t = rep.total;
    total_sent += t.accepted;
    reported_redelivered += t.redelivered;
    reported_possibly += t.possibly_redelivered;
    if (first_recv == 0 || (rep.received_ms && rep.received_ms < first_recv)) {
      first_recv = rep.received_ms;
    }
    last_push = std::max(last_push, t.last_push_ms);
    auto rel = [&](int64_t ms) {
      return ms == 0 ? 0.0 : static_cast<double>(ms - rep.received_ms);
    };
    std::printf(
        "%-36s %-4s %-8s %-10s %-11s %-11s %8llu %8llu %6llu %7llu %9.0f %9.0f %8.1f %8.1f\n",
        Short(s.id).c_str(), s.provider.c_str(), rep.priority.c_str(),
        rep.owner < regions->size() ? regions->name(rep.owner).c_str() : "-",
        s.expect.status.c_str(), rep.status.c_str(), static_cast<unsigned long long>(t.targeted),
        static_cast<unsigned long long>(t.accepted), static_cast<unsigned long long>(t.failed),
        static_cast<unsigned long long>(t.invalid), rel(t.first_push_ms), rel(t.last_push_ms),
        t.p50_ms, t.p99_ms);
    const std::string actual = s.accepted ? rep.status : "quarantined";
    if (actual != s.expect.status) {
      ++status_mismatches;
      std::printf("    STATUS MISMATCH: expected %s (%s), got %s\n", s.expect.status.c_str(),
                  s.expect.why.c_str(), actual.c_str());
    } else {
      std::printf("    expected %s: %s\n", s.expect.status.c_str(), s.expect.why.c_str());
    }
    std::set<std::string> printed;
    for (const auto& reason : rep.reasons) {
      if (!printed.insert(reason).second) continue;
      std::printf("    %s: %s\n", rep.status.c_str(), Short(reason, 150).c_str());
    }
    if (rep.takeovers) {
      int64_t first_takeover = 0;
      for (const auto& ev : regions->Events(s.id)) {
        if (ev.type == domain::pipeline::EventType::kTakeover && first_takeover == 0) {
          first_takeover = ev.t_ms;
        }
      }
      // Silence starts when the alert arrived or the region died, whichever was later.
      const int64_t silent_from = std::max(rep.received_ms, killed_at_ms);
      detect_ms.push_back(static_cast<double>(first_takeover - silent_from));
      const std::string successor = regions->name((rep.owner + 1) % regions->size());
      if (rep.takeovers != 1 || static_cast<int>(rep.owner) != killed ||
          rep.processing_region != successor) {
        ++takeover_mismatches;
        std::printf("    TAKEOVER MISMATCH: expected one takeover by %s of an alert owned by %s\n",
                    successor.c_str(), killed >= 0 ? kill->region.c_str() : "a killed region");
      }
      if (rep.done_ms) complete_ms.push_back(static_cast<double>(rep.done_ms - first_takeover));
      std::printf(
          "    takeovers: %u, by %s, %.0f ms after receipt, %.0f ms after the silence began; "
          "done %.0f ms later\n",
          rep.takeovers, rep.processing_region.c_str(),
          static_cast<double>(first_takeover - rep.received_ms),
          static_cast<double>(first_takeover - silent_from),
          rep.done_ms ? static_cast<double>(rep.done_ms - first_takeover) : -1.0);
    }
  }
  double push_window_s =
      last_push > first_recv ? static_cast<double>(last_push - first_recv) / 1000.0 : 0;
  std::printf(
      "\ntotal: %llu pushes accepted by the simulator in %.2f s from first receipt to "
      "last push (%.0f pushes/s); whole send+deliver phase %.2f s\n",
      static_cast<unsigned long long>(total_sent), push_window_s,
      push_window_s > 0 ? static_cast<double>(total_sent) / push_window_s : 0.0, run_s);
  if (kill) {
    auto summary = [](std::vector<double> v) {
      if (v.empty()) return std::string("-");
      std::sort(v.begin(), v.end());
      char buf[96];
      std::snprintf(buf, sizeof buf, "median %.0f ms, max %.0f ms", v[v.size() / 2], v.back());
      return std::string(buf);
    };
    std::printf(
        "takeover: region %s killed at %.2f s; %zu alerts taken over; detection (takeover - "
        "the later of receipt and kill) %s; completion (alert-done - takeover) %s\n",
        kill->region.c_str(),
        killed_at_ms ? static_cast<double>(killed_at_ms - first_recv) / 1000.0 : -1.0,
        detect_ms.size(), summary(detect_ms).c_str(), summary(complete_ms).c_str());
  }
  if (takeover_mismatches) {
    std::printf("takeover check: %zu alert(s) not taken over once by the first successor\n",
                takeover_mismatches);
  } else if (!detect_ms.empty()) {
    std::printf("takeover check: every alert of %s taken over once, by its first successor\n",
                kill->region.c_str());
  }
  regions->PrintState();
  std::printf(
      "exactly-once check: expected %llu (alert, device) deliveries, simulator recorded "
      "%zu; missing %llu, duplicates %llu, unexpected %llu (pushes the reports count as "
      "re-sent: %llu, possibly re-sent: %llu)\n",
      static_cast<unsigned long long>(expected_total), got.size(),
      static_cast<unsigned long long>(missing), static_cast<unsigned long long>(duplicates),
      static_cast<unsigned long long>(unexpected),
      static_cast<unsigned long long>(reported_redelivered),
      static_cast<unsigned long long>(reported_possibly));
  // Devices whose tokens the platforms reported invalid are gone from every region's registry.
  bool registries_ok = true;
  for (size_t i = 0; i < regions->size(); ++i) {
    if (static_cast<int>(i) == killed) continue;  // dead: its index is not served any more
    size_t want = opt.devices - dead_targeted.size();
    size_t still = 0;
    for (const auto& id : dead_targeted) still += regions->HasDevice(i, id) ? 1 : 0;
    const size_t has = regions->Devices(i);
    if (has != want || still != 0) {
      registries_ok = false;
      std::printf("registry of %s has %zu devices, expected %zu (%zu dead tokens still there)\n",
                  regions->name(i).c_str(), has, want, still);
    }
  }
  if (!dead_targeted.empty() && registries_ok) {
    std::printf(
        "invalid tokens: %zu targeted devices had dead tokens; all were removed from "
        "every region's registry\n",
        dead_targeted.size());
  }
  if (status_mismatches) {
    std::printf("status check: %zu alert(s) did not end as expected\n", status_mismatches);
  } else {
    std::printf("status check: every alert ended as expected (%zu)\n", sent.size());
  }
  // A duplicate is acceptable only when the report says so (a batch in flight when its
  // region died is sent again, at-least-once; the collapse id hides it on the phone) — or,
  // when a distributed region was killed with its nats-server, up to what its senders had in
  // flight: those pushes went out in its last moments and their records died with its
  // server (they are reported once it comes back; regions_e2e checks that).
  uint64_t unreported_bound = 0;
  if (kill && opt.engine == "distributed") {
    const app::PipelineSettings p;
    unreported_bound = static_cast<uint64_t>(p.sender_workers_high + p.sender_workers_regular) *
                       domain::device::kPlatformCount * p.batch_size;
  }
  const uint64_t unreported = duplicates > reported_redelivered + reported_possibly
                                  ? duplicates - reported_redelivered - reported_possibly
                                  : 0;
  if (unreported > 0) {
    std::printf(
        "duplicates not in the reports: %llu (allowed: %llu, the pushes the killed "
        "region's senders can have in flight)\n",
        static_cast<unsigned long long>(unreported),
        static_cast<unsigned long long>(unreported_bound));
  }
  bool ok = all_terminal && registries_ok && missing == 0 && unreported <= unreported_bound &&
            unexpected == 0 && status_mismatches == 0 && takeover_mismatches == 0;
  if (!all_terminal)
    std::printf("NOT FINISHED: some alerts did not finish within %d s\n", opt.timeout_s);
  std::printf("%s (total %.1f s)\n",
              !ok          ? "FAILED"
              : duplicates ? (unreported ? "OK: every targeted device got every alert; some twice "
                                           "(in flight when their region was killed)"
                                         : "OK: every targeted device got every alert, "
                                           "duplicates reported")
                           : "OK: every targeted device got every alert exactly once",
              SecondsSince(t0));

  regions->Stop();
  sim.Stop();
  if (!opt.keep) {
    std::error_code ec;
    fs::remove_all(work, ec);
  } else {
    std::printf("data kept in %s\n", work.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace

void RegisterDemoCommand(CLI::App& app) {
  auto opt = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand("demo",
                                 "Run N regions + push simulator in one process and "
                                 "prove exactly-once delivery of the sample alerts");
  cmd->add_option("--devices", opt->devices, "simulated devices")->capture_default_str();
  cmd->add_option("--regions", opt->regions, "regions in this process")->capture_default_str();
  cmd->add_option("--alerts", opt->alerts_dir,
                  "folder of CAP XML / NINA JSON alerts (default: the DWD and NINA samples)");
  cmd->add_option("--kill-region", opt->kill_region,
                  "NAME@SECONDS: kill a region that long after the first alert is sent; the "
                  "others take over its alerts");
  cmd->add_option("--deadline-high", opt->watchdog.deadline_high_ms,
                  "watchdog: ms without a decision before a high alert is taken over")
      ->capture_default_str();
  cmd->add_option("--deadline-regular", opt->watchdog.deadline_regular_ms,
                  "watchdog: the same for regular alerts, ms")
      ->capture_default_str();
  cmd->add_option("--stall", opt->watchdog.stall_ms,
                  "watchdog: ms without progress before a decided alert is taken over")
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "device generator seed")->capture_default_str();
  cmd->add_option("--shards", opt->shards, "shards per (platform, flow)")->capture_default_str();
  cmd->add_option("--timeout", opt->timeout_s, "seconds to wait for delivery")
      ->capture_default_str();
  cmd->add_option("--engine", opt->engine,
                  "embedded: the regions in this process; distributed: each region a `fanout "
                  "serve` on its own nats-server (JetStream domain, leafnode-linked), started "
                  "by the demo (needs nats-server)")
      ->check(CLI::IsMember({"embedded", "distributed"}))
      ->capture_default_str();
  cmd->add_flag("--keep", opt->keep, "keep the regions' data directories");
  cmd->add_flag("--no-watch", opt->no_watch,
                "embedded: the regions do not watch each other (no takeover; for measuring "
                "watching's cost)");
  cmd->add_flag("--volatile", opt->volatile_state,
                "keep the engine state in memory only (no SQLite journals), for comparison");
  cmd->add_option("--faults", opt->faults,
                  "push simulator faults, e.g. 429=0.01,500=0.01,goaway=5000,unregistered=0.001");
  cmd->callback([opt] { ExitCode() = RunDemo(*opt); });
}

}  // namespace fanout::cli
