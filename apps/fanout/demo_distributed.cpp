// `fanout demo --engine distributed` (demo_regions.hpp): real nats-servers and `fanout serve`
// processes, started, killed and stopped by the demo.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "adapters/http/http_server.hpp"
#include "demo_regions.hpp"

#if FANOUT_HAVE_DISTRIBUTED
#include "adapters/jetstream/jetstream_protocol_log.hpp"
#endif

extern char** environ;

namespace fanout::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// A free TCP port on loopback (bound once and released; good enough for a local demo).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

std::optional<fs::path> FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    fs::path p = fs::path(dir.empty() ? "." : dir) / program;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

/// Starts `argv` with stdout and stderr appended to `log`; 0 on failure.
pid_t Spawn(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : 0;
}

/// Waits for `pid` up to `seconds`, then SIGKILL. True if it had exited by itself.
bool Reap(pid_t pid, int seconds) {
  const auto until = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < until) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return false;
}

bool Alive(pid_t pid) {
  int status = 0;
  return pid > 0 && ::waitpid(pid, &status, WNOHANG) == 0;
}

std::string Tail(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size(); ++i) {
    last += "    " + lines[i] + "\n";
  }
  return last;
}

struct Region {
  std::string name;
  fs::path dir;
  int client_port = 0, leaf_port = 0, http_port = 0;
  pid_t nats = 0, serve = 0;
  bool killed = false;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port); }
  std::string nats_url() const { return "nats://127.0.0.1:" + std::to_string(client_port); }
};

class DistributedRegions final : public DemoRegions {
 public:
  explicit DistributedRegions(DistributedDemoOptions o) : o_(std::move(o)) {}
  ~DistributedRegions() override { Stop(); }

  bool Start();

  size_t size() const override { return regions_.size(); }
  std::string name(size_t i) const override { return regions_[i].name; }
  std::string url(size_t i) const override { return regions_[i].url(); }
  void Kill(size_t i) override {
    Region& r = regions_[i];
    if (r.killed) return;
    r.killed = true;
    for (pid_t pid : {r.serve, r.nats}) {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  }
  std::vector<domain::pipeline::Event> Events(const std::string& alert_id) const override {
#if FANOUT_HAVE_DISTRIBUTED
    if (log_) return log_->Events(alert_id);
#endif
    (void)alert_id;
    return {};
  }
  size_t Devices(size_t i) const override {
    auto r = adapters::http::HttpCall("GET", url(i), "/metrics", "", "", "");
    std::istringstream lines(r.body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("fanout_registry_devices{", 0) == 0) {
        return static_cast<size_t>(std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr));
      }
    }
    return 0;
  }
  bool HasDevice(size_t i, const std::string& id) const override {
    return adapters::http::HttpCall("GET", url(i), "/v1/devices/" + id, o_.auth.device_token, "",
                                    "")
               .status == 200;
  }
  void PrintState() const override {
    std::printf(
        "engine state: %zu nats-servers (JetStream domains %s linked by leafnodes) and "
        "%zu `fanout serve` processes under %s\n",
        regions_.size(), Names().c_str(), regions_.size(), o_.work_dir.c_str());
  }
  void Stop() override {
#if FANOUT_HAVE_DISTRIBUTED
    log_.reset();
#endif
    for (Region& r : regions_) {
      if (r.serve > 0 && !r.killed) {
        ::kill(r.serve, SIGTERM);
        Reap(r.serve, 20);
      }
      r.serve = 0;
    }
    for (Region& r : regions_) {
      if (r.nats > 0 && !r.killed) {
        ::kill(r.nats, SIGTERM);
        Reap(r.nats, 10);
      }
      r.nats = 0;
    }
  }

 private:
  std::string Names() const {
    std::string s;
    for (const Region& r : regions_) s += (s.empty() ? "" : ", ") + r.name;
    return s;
  }
  bool StartNats(Region& r, const fs::path& nats_server, int hub_leaf_port);
  bool WriteConfig(const Region& r, size_t index, const fs::path& file) const;
  bool WaitReady(const Region& r, int seconds) const;

  DistributedDemoOptions o_;
  std::vector<Region> regions_;
#if FANOUT_HAVE_DISTRIBUTED
  std::unique_ptr<adapters::jetstream::JetStreamProtocolLog> log_;
#endif
};

bool DistributedRegions::StartNats(Region& r, const fs::path& nats_server, int hub_leaf_port) {
  const fs::path conf = r.dir / "nats.conf";
  std::ofstream f(conf);
  f << "server_name: " << r.name << "\nlisten: 127.0.0.1:" << r.client_port
    << "\nmax_payload: 8MB\njetstream { store_dir: \"" << (r.dir / "jetstream").string()
    << "\", domain: " << r.name << " }\n";
  if (hub_leaf_port == 0) {
    f << "leafnodes { listen: 127.0.0.1:" << r.leaf_port << " }\n";
  } else {
    f << "leafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:" << hub_leaf_port << "\" } ] }\n";
  }
  f.close();
  const fs::path log = r.dir / "nats-server.log";
  r.nats = Spawn({nats_server.string(), "-c", conf.string()}, log);
  if (r.nats == 0) {
    std::cerr << "fanout demo: cannot start " << nats_server << "\n";
    return false;
  }
  const auto until = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < until) {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    if (ss.str().find("Server is ready") != std::string::npos) return true;
    if (!Alive(r.nats)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "fanout demo: nats-server of " << r.name << " did not start:\n" << Tail(log);
  return false;
}

bool DistributedRegions::WriteConfig(const Region& r, size_t index, const fs::path& file) const {
  config::ExampleOptions eo;
  eo.distributed = true;
  eo.geo_data_dir = o_.geo_dir;
  eo.region = r.name;
  eo.regions = o_.names;
  eo.nats_url = r.nats_url();
  eo.auth = o_.auth;
  config::Settings s = config::ExampleSettings(eo);
  s.store.postgres_url = "";  // the region's devices in SQLite under its data dir
  s.store.data_dir = r.dir / "data";
  s.http.listen = "127.0.0.1:" + std::to_string(r.http_port);
  s.region.peers.clear();
  for (size_t i = 0; i < regions_.size(); ++i) {
    if (i != index) s.region.peers.push_back(regions_[i].url());
  }
  s.push.apns.endpoint = o_.push_endpoint;
  s.push.fcm.endpoint = o_.push_endpoint;
  s.push.fcm.token_uri = o_.push_endpoint + "/token";
  s.fanout.shards = static_cast<int>(o_.shards);
  s.watchdog.deadline_high = std::chrono::milliseconds(o_.watchdog.deadline_high_ms);
  s.watchdog.deadline_regular = std::chrono::milliseconds(o_.watchdog.deadline_regular_ms);
  s.watchdog.stall = std::chrono::milliseconds(o_.watchdog.stall_ms);
  std::ofstream f(file);
  f << "# fanout demo --engine distributed: region " << r.name << "\n"
    << config::RenderToml(s, {.comments = false, .show_secrets = true});
  return static_cast<bool>(f);
}

bool DistributedRegions::WaitReady(const Region& r, int seconds) const {
  const auto until = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < until) {
    if (adapters::http::HttpCall("GET", r.url(), "/readyz", "", "", "", 2).status == 200) {
      return true;
    }
    if (!Alive(r.serve)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "fanout demo: region " << r.name << " did not become ready; its log "
            << (r.dir / "serve.log").string() << " ends:\n"
            << Tail(r.dir / "serve.log");
  return false;
}

bool DistributedRegions::Start() {
#if !FANOUT_HAVE_DISTRIBUTED
  std::cerr << "fanout demo: --engine distributed needs a build with the distributed engines "
               "(libnats and libpq)\n";
  return false;
#else
  auto nats_server = FindOnPath("nats-server");
  if (!nats_server) {
    std::cerr << "fanout demo: --engine distributed needs nats-server on PATH (Debian: "
                 "apt-get install nats-server)\n";
    return false;
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::cerr << "fanout demo: cannot find this binary: " << ec.message() << "\n";
    return false;
  }
  for (const std::string& name : o_.names) {
    Region r;
    r.name = name;
    r.dir = o_.work_dir / name;
    fs::create_directories(r.dir / "data", ec);
    r.client_port = FreePort();
    r.leaf_port = FreePort();
    r.http_port = FreePort();
    regions_.push_back(std::move(r));
  }
  // Region 0 is the leafnode hub, the others its leaves (reference/stack.md §2).
  for (size_t i = 0; i < regions_.size(); ++i) {
    if (!StartNats(regions_[i], *nats_server, i == 0 ? 0 : regions_[0].leaf_port)) return false;
  }
  // Every region's store holds the devices at the start (the same seed as the demo's copy).
  for (Region& r : regions_) {
    const fs::path log = r.dir / "devices.log";
    pid_t pid = Spawn({self.string(), "devices", "generate", "--count", std::to_string(o_.devices),
                       "--seed", std::to_string(o_.seed), "--geo-dir", o_.geo_dir.string(),
                       "--data-dir", (r.dir / "data").string()},
                      log);
    int status = 0;
    if (pid == 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      std::cerr << "fanout demo: generating the devices of " << r.name << " failed:\n" << Tail(log);
      return false;
    }
  }
  for (size_t i = 0; i < regions_.size(); ++i) {
    Region& r = regions_[i];
    const fs::path conf = r.dir / "fanout.toml";
    if (!WriteConfig(r, i, conf)) {
      std::cerr << "fanout demo: cannot write " << conf << "\n";
      return false;
    }
    r.serve = Spawn({self.string(), "serve", "--config", conf.string()}, r.dir / "serve.log");
    if (r.serve == 0) return false;
  }
  for (const Region& r : regions_) {
    if (!WaitReady(r, 120)) return false;
  }
  // The demo reads the protocol as one region sees it (every region's events are there).
  const Region& obs = regions_[static_cast<size_t>(o_.observer)];
  adapters::jetstream::ProtocolLogSettings ls;
  ls.url = obs.nats_url();
  ls.link.region = obs.name;
  for (const Region& r : regions_) {
    if (r.name != obs.name) ls.link.peers.push_back(r.name);
  }
  auto log = adapters::jetstream::JetStreamProtocolLog::Connect(ls);
  if (!log) {
    std::cerr << "fanout demo: reading the protocol of " << obs.name << ": " << log.error().message
              << "\n";
    return false;
  }
  log_ = std::move(*log);
  return true;
#endif
}

}  // namespace

std::unique_ptr<DemoRegions> StartDistributedDemo(const DistributedDemoOptions& options) {
  auto regions = std::make_unique<DistributedRegions>(options);
  if (!regions->Start()) return nullptr;
  return regions;
}

}  // namespace fanout::cli
