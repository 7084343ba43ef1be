// Sender-side push throughput vs h2load against the same in-process pushsim
// (DESIGN §8: the sender must reach at least h2load's rate).
//
//   fanout_push_bench [--requests N] [--connections C] [--streams M] [--io-threads T]
//                     [--sim-threads S] [--senders K] [--batch B] [--platform apns|fcm]
//                     [--tls] [--skip-h2load] [--h2load PATH] [--h2load-threads T] [--repeat R]
//
// One run: start PushSim (deliveries not recorded), run h2load with the same request
// shape (path, headers, body, connections x streams), then the gateway with K sender
// threads calling SendBatch(B) until N pushes are accepted. Prints one JSON line each,
// then a summary (best and median of R alternating runs; ratio_median = median of the
// per-pair gateway/h2load ratios).
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/apns/apns_gateway.hpp"
#include "adapters/fcm/fcm_gateway.hpp"
#include "adapters/http2/test_certs.hpp"
#include "adapters/memory/memory_bus.hpp"
#include "adapters/memory/memory_device_feed.hpp"
#include "adapters/memory/memory_plan_store.hpp"
#include "adapters/memory/memory_protocol_log.hpp"
#include "adapters/memory/system_clock.hpp"
#include "adapters/pushsim/push_sim.hpp"
#include "app/messages.hpp"
#include "app/registry.hpp"
#include "app/sender.hpp"
#include "app/tracker.hpp"
#include "testing/fakes.hpp"

using namespace fanout;
using namespace fanout::adapters;

namespace {

// CPU seconds (user+sys) of this process's threads for which `want(thread name)` holds.
template <typename Want>
double TasksCpuSeconds(Want want) {
  double total = 0;
  long hz = sysconf(_SC_CLK_TCK);
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (!want(name)) continue;
    std::ifstream st(e.path() / "stat");
    std::string line;
    std::getline(st, line);
    std::istringstream in(line.substr(line.rfind(')') + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> f; ++i) {
      if (i == 14) utime = std::stoull(f);
      if (i == 15) stime = std::stoull(f);
    }
    total += static_cast<double>(utime + stime) / static_cast<double>(hz);
  }
  return total;
}

// Threads whose name starts with `prefix` (e.g. the gateway's "h2-client" loops).
double ThreadsCpuSeconds(const std::string& prefix) {
  return TasksCpuSeconds([&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
}

// Every thread except those named `skip` (the in-process pushsim's "h2-server" threads).
double ProcessCpuSecondsExcept(const std::string& skip) {
  return TasksCpuSeconds([&](const std::string& n) { return n != skip; });
}

double ChildrenCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double ThisThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Options {
  int requests = 200000;
  int connections = 4;
  int streams = 100;
  int io_threads = 1;
  int sim_threads = 1;
  int senders = 8;
  int batch = 500;
  std::string platform = "apns";
  bool tls = false;
  bool skip_h2load = false;
  std::string h2load = "/usr/bin/h2load";
  int repeat = 3;
  int h2load_threads = 1;   // alternate h2load and gateway runs; the machine is shared and noisy
  bool via_sender = false;  // drive the gateway through app::Sender and the in-process bus
  bool no_apns_id = false;  // the request shape of h2load (which cannot vary apns-id)
};

const std::string kApnsPayload =
    R"({"aps":{"alert":{"title":"Amtliche Unwetterwarnung","body":"Es tritt markantes Wetter auf: Sturmboeen mit Geschwindigkeiten um 70 km/h"},"sound":"default","interruption-level":"time-sensitive"},"fanout":{"alert_id":"DWD-1234"}})";
const std::string kFcmPayload =
    R"({"data":{"alert_id":"DWD-1234","headline":"Amtliche Unwetterwarnung vor Sturmboeen"},"android":{"priority":"HIGH","collapse_key":"DWD-1234","ttl":"3600s"}})";
const std::string kJwt(180, 'j');  // ~ the size of a real ES256 provider token

std::string Token(ports::Platform p, int i) {
  char buf[80];
  if (p == ports::Platform::kApns) {
    std::snprintf(buf, sizeof(buf), "%064x", i);
  } else {
    std::snprintf(buf, sizeof(buf), "fcm%08d:APA91b%040d", i, i);
  }
  return buf;
}

double RunH2load(const Options& o, const std::string& base, ports::Platform p, std::string* line,
                 double* cpu_seconds) {
  char tmpl[] = "/tmp/push-bench-XXXXXX";
  int fd = mkstemp(tmpl);
  std::string body;
  std::string uri;
  std::string headers;
  if (p == ports::Platform::kApns) {
    body = kApnsPayload;
    uri = base + "/3/device/" + Token(p, 1);
    headers =
        " -H 'apns-topic: de.bund.bbk.nina' -H 'apns-push-type: alert' -H 'apns-priority: 10'"
        " -H 'apns-expiration: 0' -H 'apns-collapse-id: DWD-1234' -H 'authorization: bearer " +
        kJwt + "'";
  } else {
    body = *fcm::BuildFcmBody(Token(p, 1), kFcmPayload);
    uri = base + "/v1/projects/bench/messages:send";
    headers = " -H 'authorization: Bearer " + kJwt + "' -H 'content-type: application/json'";
  }
  [[maybe_unused]] ssize_t w = ::write(fd, body.data(), body.size());
  ::close(fd);
  std::string cmd = o.h2load + " -n " + std::to_string(o.requests) + " -c " +
                    std::to_string(o.connections) + " -m " + std::to_string(o.streams) + " -t " +
                    std::to_string(o.h2load_threads) + " -d " + tmpl + headers + " " + uri +
                    " 2>&1";
  double cpu0 = ChildrenCpuSeconds();
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (f && fgets(buf, sizeof(buf), f)) out += buf;
  if (f) pclose(f);
  *cpu_seconds = ChildrenCpuSeconds() - cpu0;
  unlink(tmpl);
  std::smatch m;
  double rps = 0;
  if (std::regex_search(out, m, std::regex(R"(finished in ([0-9.]+)(m?s), ([0-9.]+) req/s)"))) {
    rps = std::stod(m[3]);
  }
  std::regex_search(out, m, std::regex(R"(status codes: [^\n]*)"));
  *line = m.size() ? m[0].str() : out.substr(0, 400);
  return rps;
}

// The pipeline's last stage as in `fanout serve`: batch messages (one alert, `batch`
// tokens each) on the in-process bus, `senders` bus workers running app::Sender::Handle
// (decode, build the pushes, send through `gw`, record the batch event and metrics).
// The messages are published before the clock starts; the run ends when the bus has
// nothing pending. CPU: every thread of the process except pushsim's.
struct SenderRun {
  double seconds = 0;
  uint64_t accepted = 0;
  uint64_t other = 0;
  double cpu_seconds = 0;
};

SenderRun RunViaSender(const Options& o, ports::PushGateway& gw, ports::Platform platform,
                       int rep) {
  namespace mem = adapters::memory;
  mem::MemoryBus bus;
  mem::MemoryPlanStore plans;
  mem::MemoryProtocolLog log;
  mem::SystemClock clock;
  mem::MemoryDeviceFeed feed;
  testing::FakeDeviceStore store;
  app::Registry registry("bench", store, feed, app::ProviderSettings{}, 1);
  app::CompletionTracker tracker("bench", log, clock);
  app::Sender sender(app::RegionSettings{}, app::RetrySettings{}, registry, plans, log, bus, clock,
                     tracker, gw, gw);
  auto plan = std::make_shared<domain::pipeline::AlertPlan>();
  plan->alert_id = "bench-" + std::to_string(rep);
  plan->priority = "high";
  plan->collapse_id = "DWD-1234";
  plan->apns_payload = kApnsPayload;
  plan->fcm_payload = kFcmPayload;
  plan->received_ms = clock.NowMs();
  (void)plans.PutIfAbsent(plan);
  auto dplatform = platform == ports::Platform::kApns ? domain::device::Platform::kApns
                                                      : domain::device::Platform::kFcm;
  std::string unit = domain::pipeline::UnitKey{dplatform, domain::device::Flow::kAll, 0}.ToString();
  std::string subject = app::BatchesSubject("high", dplatform);
  for (int b = 0, i = 0; i < o.requests; ++b) {
    app::BatchWork w{plan->alert_id, unit, static_cast<uint32_t>(b), "high", {}};
    for (int k = 0; k < o.batch && i < o.requests; ++k, ++i) {
      w.items.push_back({"d" + std::to_string(i), Token(platform, i)});
    }
    auto published = bus.Publish({subject, app::BatchMsgId(w), app::Encode(w)});
    if (!published) {
      std::cerr << "publish failed\n";
      std::exit(1);
    }
  }
  SenderRun run;
  double cpu0 = ProcessCpuSecondsExcept("h2-server");
  auto t0 = std::chrono::steady_clock::now();
  bus.Subscribe({subject, "sender", o.senders},
                [&](const ports::BusMessage& m) { return sender.Handle(m); });
  while (bus.Pending() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.cpu_seconds = ProcessCpuSecondsExcept("h2-server") - cpu0;
  bus.Stop();
  run.accepted = sender.counters().accepted;
  run.other = sender.counters().failed + sender.counters().invalid;
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--requests")
      o.requests = std::stoi(next());
    else if (a == "--connections")
      o.connections = std::stoi(next());
    else if (a == "--streams")
      o.streams = std::stoi(next());
    else if (a == "--io-threads")
      o.io_threads = std::stoi(next());
    else if (a == "--sim-threads")
      o.sim_threads = std::stoi(next());
    else if (a == "--senders")
      o.senders = std::stoi(next());
    else if (a == "--batch")
      o.batch = std::stoi(next());
    else if (a == "--platform")
      o.platform = next();
    else if (a == "--tls")
      o.tls = true;
    else if (a == "--skip-h2load")
      o.skip_h2load = true;
    else if (a == "--h2load")
      o.h2load = next();
    else if (a == "--h2load-threads")
      o.h2load_threads = std::stoi(next());
    else if (a == "--repeat")
      o.repeat = std::stoi(next());
    else if (a == "--via-sender")
      o.via_sender = true;
    else if (a == "--no-apns-id")
      o.no_apns_id = true;
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  auto platform = o.platform == "fcm" ? ports::Platform::kFcm : ports::Platform::kApns;

  pushsim::PushSimSettings ss;
  ss.threads = o.sim_threads;
  ss.record_deliveries = false;
  ss.max_concurrent_streams = static_cast<uint32_t>(o.streams);
  http2::testing::TestCert cert;
  if (o.tls) {
    cert = http2::testing::MakeSelfSignedCert();
    ss.tls_cert_file = cert.cert_file;
    ss.tls_key_file = cert.key_file;
  }
  pushsim::PushSim sim(ss);
  sim.Start();
  std::string base = sim.endpoint();

  http2::ClientSettings hs;
  hs.connections = o.connections;
  hs.io_threads = o.io_threads;
  hs.max_streams_per_connection = static_cast<uint32_t>(o.streams);
  hs.ca_file = cert.cert_file;
  std::unique_ptr<ports::PushGateway> gw;
  if (platform == ports::Platform::kApns) {
    apns::ApnsSettings a;
    a.endpoint = base;
    a.topic = "de.bund.bbk.nina";
    a.token_provider = [] { return kJwt; };
    a.send_apns_id = !o.no_apns_id;
    a.http = hs;
    gw = std::make_unique<apns::ApnsGateway>(a);
  } else {
    fcm::FcmSettings f;
    f.endpoint = base;
    f.project_id = "bench";
    f.access_token_provider = [] { return kJwt; };
    f.http = hs;
    gw = std::make_unique<fcm::FcmGateway>(f);
  }
  // Pre-build the batches so the timed part is the gateway, not test data (gateway mode
  // only; --via-sender builds bus messages per run). Like the sender, a batch shares one
  // payload.
  int nbatches = o.via_sender ? 1 : (o.requests + o.batch - 1) / o.batch;
  auto payload = std::make_shared<const std::string>(
      platform == ports::Platform::kApns ? kApnsPayload : kFcmPayload);
  std::vector<std::vector<ports::PushRequest>> batches(nbatches);
  for (int b = 0, i = 0; b < nbatches; ++b) {
    for (int k = 0; k < o.batch && i < o.requests; ++k, ++i) {
      ports::PushRequest r;
      r.token = Token(platform, i);
      r.shared_payload = payload;
      r.collapse_id = "DWD-1234";
      r.high_priority = true;
      batches[b].push_back(std::move(r));
    }
  }
  // Warm up the connections (not timed).
  gw->SendBatch(std::vector<ports::PushRequest>(batches[0].begin(), batches[0].begin() + 1));

  std::vector<double> h2, ours, h2_cpu_us, our_cpu_us;
  bool all_ok = true;
  for (int rep = 0; rep < o.repeat; ++rep) {
    double h2load_rps = 0, h2load_cpu = 0;
    if (!o.skip_h2load) {
      std::string line;
      h2load_rps = RunH2load(o, base, platform, &line, &h2load_cpu);
      h2_cpu_us.push_back(h2load_cpu * 1e6 / o.requests);
      std::printf(
          "{\"tool\":\"h2load\",\"platform\":\"%s\",\"tls\":%s,\"requests\":%d,\"connections\":%d,"
          "\"streams\":%d,\"threads\":%d,\"req_per_s\":%.0f,\"client_cpu_us_per_req\":%.2f,"
          "\"detail\":\"%s\"}\n",
          o.platform.c_str(), o.tls ? "true" : "false", o.requests, o.connections, o.streams,
          o.h2load_threads, h2load_rps, h2load_cpu * 1e6 / o.requests, line.c_str());
      std::fflush(stdout);
    }

    if (o.via_sender) {
      SenderRun run = RunViaSender(o, *gw, platform, rep);
      double rps = static_cast<double>(run.accepted + run.other) / run.seconds;
      our_cpu_us.push_back(run.cpu_seconds * 1e6 / o.requests);
      std::printf(
          "{\"tool\":\"sender\",\"platform\":\"%s\",\"tls\":%s,\"requests\":%d,"
          "\"connections\":%d,\"streams\":%d,\"io_threads\":%d,\"workers\":%d,\"batch\":%d,"
          "\"accepted\":%llu,\"other\":%llu,\"seconds\":%.3f,\"req_per_s\":%.0f,"
          "\"client_cpu_us_per_req\":%.2f,\"vs_h2load\":%.2f}\n",
          o.platform.c_str(), o.tls ? "true" : "false", o.requests, o.connections, o.streams,
          o.io_threads, o.senders, o.batch, static_cast<unsigned long long>(run.accepted),
          static_cast<unsigned long long>(run.other), run.seconds, rps,
          run.cpu_seconds * 1e6 / o.requests, h2load_rps > 0 ? rps / h2load_rps : 0.0);
      std::fflush(stdout);
      h2.push_back(h2load_rps);
      ours.push_back(rps);
      all_ok = all_ok && run.other == 0 && run.accepted == static_cast<uint64_t>(o.requests);
      continue;
    }
    std::atomic<int> next{0};
    std::atomic<uint64_t> accepted{0}, other{0};
    std::atomic<double> sender_cpu{0};
    double io_cpu0 = ThreadsCpuSeconds("h2-client");
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> senders;
    for (int s = 0; s < o.senders; ++s) {
      senders.emplace_back([&] {
        pthread_setname_np(pthread_self(), "bench-sender");
        double c0 = ThisThreadCpuSeconds();
        for (int b; (b = next.fetch_add(1)) < nbatches;) {
          for (const auto& r : gw->SendBatch(batches[b])) {
            (r.outcome == ports::PushOutcome::kAccepted ? accepted : other)++;
          }
        }
        double d = ThisThreadCpuSeconds() - c0;
        double cur = sender_cpu.load();
        while (!sender_cpu.compare_exchange_weak(cur, cur + d)) {
        }
      });
    }
    for (auto& t : senders) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double rps = static_cast<double>(accepted + other) / secs;
    double io_cpu = ThreadsCpuSeconds("h2-client") - io_cpu0;
    double cpu = io_cpu + sender_cpu.load();
    our_cpu_us.push_back(cpu * 1e6 / o.requests);
    std::printf(
        "{\"tool\":\"gateway\",\"platform\":\"%s\",\"tls\":%s,\"requests\":%d,\"connections\":%d,"
        "\"streams\":%d,\"io_threads\":%d,\"senders\":%d,\"batch\":%d,\"accepted\":%llu,"
        "\"other\":%llu,\"seconds\":%.3f,\"req_per_s\":%.0f,\"client_cpu_us_per_req\":%.2f,"
        "\"io_cpu_us_per_req\":%.2f,\"sender_cpu_us_per_req\":%.2f,\"vs_h2load\":%.2f}\n",
        o.platform.c_str(), o.tls ? "true" : "false", o.requests, o.connections, o.streams,
        o.io_threads, o.senders, o.batch, static_cast<unsigned long long>(accepted.load()),
        static_cast<unsigned long long>(other.load()), secs, rps, cpu * 1e6 / o.requests,
        io_cpu * 1e6 / o.requests, sender_cpu.load() * 1e6 / o.requests,
        h2load_rps > 0 ? rps / h2load_rps : 0.0);
    std::fflush(stdout);
    h2.push_back(h2load_rps);
    ours.push_back(rps);
    all_ok = all_ok && other == 0;
  }
  auto best = [](const std::vector<double>& v) {
    return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
  };
  auto least = [](const std::vector<double>& v) {
    return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
  };
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  };
  std::vector<double> ratios;  // per alternating pair (same moment, same load)
  for (size_t i = 0; i < ours.size(); ++i) {
    if (h2[i] > 0) ratios.push_back(ours[i] / h2[i]);
  }
  std::printf(
      "{\"summary\":true,\"platform\":\"%s\",\"tls\":%s,\"connections\":%d,\"streams\":%d,"
      "\"repeat\":%d,\"h2load_best\":%.0f,\"gateway_best\":%.0f,\"ratio_best\":%.2f,"
      "\"h2load_median\":%.0f,\"gateway_median\":%.0f,\"ratio_median\":%.2f,"
      "\"h2load_cpu_us_per_req_min\":%.2f,\"gateway_cpu_us_per_req_min\":%.2f,"
      "\"h2load_cpu_us_per_req_median\":%.2f,\"gateway_cpu_us_per_req_median\":%.2f}\n",
      o.platform.c_str(), o.tls ? "true" : "false", o.connections, o.streams, o.repeat, best(h2),
      best(ours), best(h2) > 0 ? best(ours) / best(h2) : 0.0, median(h2), median(ours),
      median(ratios), least(h2_cpu_us), least(our_cpu_us), median(h2_cpu_us), median(our_cpu_us));
  return all_ok ? 0 : 1;
}
