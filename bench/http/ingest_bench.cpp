// Ingest latency and alerts/s over the region API's HTTP/1.1 layer, as a provider's client
// sees it: PUT /v1/alerts/{provider}/{id} of distinct alerts (a real DWD sample with a
// fresh identifier each time) and GET /healthz, over
//   keepalive: one kept-alive connection, requests one after the other (every HTTP library
//              reuses its connection; Nagle + delayed ACK cost 40+ ms per request here);
//   fresh:     a new connection per request;
//   parallel:  C kept-alive connections, one thread each.
// Prints one line per mode: requests, median and p99 latency, requests/s.
//
//   fanout_ingest_bench --url http://127.0.0.1:8080 --token T --alert FILE
//                       [--provider AP2] [--requests 200] [--connections 8] [--tag run1]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  std::string alert_file;
  std::string provider = "AP2";
  std::string tag = "run";
  int requests = 200;
  int connections = 8;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The sample with its <identifier> replaced (and <references> removed, so each is an
/// independent alert).
struct AlertTemplate {
  std::string before, after;
  std::string Body(const std::string& id) const { return before + id + after; }
};

AlertTemplate MakeTemplate(std::string xml) {
  const auto refs = xml.find("<references>");
  if (refs != std::string::npos) {
    const auto end = xml.find("</references>", refs);
    xml.erase(refs, end + std::strlen("</references>") - refs);
    const auto msg = xml.find("<msgType>Update</msgType>");
    if (msg != std::string::npos) xml.replace(msg, 25, "<msgType>Alert</msgType>");
  }
  const auto a = xml.find("<identifier>") + std::strlen("<identifier>");
  const auto b = xml.find("</identifier>");
  return {xml.substr(0, a), xml.substr(b)};
}

struct Stats {
  std::vector<double> ms;
  int errors = 0;
  double wall_s = 0;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void Print(const Options& o, const char* mode, const char* what, const Stats& s) {
  const double rps = s.wall_s > 0 ? static_cast<double>(s.ms.size()) / s.wall_s : 0;
  std::printf("%-8s %-10s %-8s n=%-5zu errors=%-3d p50=%8.3f ms  p99=%8.3f ms  %8.1f req/s\n",
              o.tag.c_str(), mode, what, s.ms.size(), s.errors, Percentile(s.ms, 0.5),
              Percentile(s.ms, 0.99), rps);
}

httplib::Client Connect(const Options& o) {
  httplib::Client cli(o.url);
  cli.set_keep_alive(true);
  cli.set_tcp_nodelay(true);  // as curl does: the client side must not add Nagle's delay
  cli.set_connection_timeout(10, 0);
  cli.set_read_timeout(30, 0);
  return cli;
}

bool Put(httplib::Client& cli, const Options& o, const AlertTemplate& t, const std::string& id) {
  httplib::Headers h{{"Authorization", "Bearer " + o.token}};
  auto r = cli.Put("/v1/alerts/" + o.provider + "/" + id, h, t.Body(id), "application/xml");
  return r && r->status == 202;
}

bool Health(httplib::Client& cli) {
  auto r = cli.Get("/healthz");
  return r && r->status == 200;
}

template <class Fn>
Stats Sequential(int n, Fn fn) {
  Stats s;
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto t = Clock::now();
    const bool ok = fn(i);
    s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    s.errors += ok ? 0 : 1;
  }
  s.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--url")
      o.url = v;
    else if (k == "--token")
      o.token = v;
    else if (k == "--alert")
      o.alert_file = v;
    else if (k == "--provider")
      o.provider = v;
    else if (k == "--requests")
      o.requests = std::stoi(v);
    else if (k == "--connections")
      o.connections = std::stoi(v);
    else if (k == "--tag")
      o.tag = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  if (o.token.empty() || o.alert_file.empty()) {
    std::cerr << "usage: fanout_ingest_bench --url URL --token T --alert FILE [--provider P] "
                 "[--requests N] [--connections C] [--tag T]\n";
    return 2;
  }
  const AlertTemplate t = MakeTemplate(Slurp(o.alert_file));
  static std::atomic<uint64_t> seq{0};
  const std::string run = std::to_string(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
          .count());
  auto next_id = [&] { return "bench." + o.tag + "." + run + "." + std::to_string(seq++); };

  {
    auto cli = Connect(o);
    Print(o, "keepalive", "healthz", Sequential(o.requests, [&](int) { return Health(cli); }));
  }
  Print(o, "fresh", "healthz", Sequential(o.requests, [&](int) {
          auto cli = Connect(o);
          return Health(cli);
        }));
  {
    auto cli = Connect(o);
    Print(o, "keepalive", "ingest",
          Sequential(o.requests, [&](int) { return Put(cli, o, t, next_id()); }));
  }
  Print(o, "fresh", "ingest", Sequential(o.requests, [&](int) {
          auto cli = Connect(o);
          return Put(cli, o, t, next_id());
        }));
  // C kept-alive connections in parallel, the same number of requests in total.
  std::vector<Stats> per(static_cast<size_t>(o.connections));
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      auto cli = Connect(o);
      per[static_cast<size_t>(c)] =
          Sequential(o.requests / o.connections, [&](int) { return Put(cli, o, t, next_id()); });
    });
  }
  for (auto& th : threads) th.join();
  Stats all;
  for (const auto& s : per) {
    all.ms.insert(all.ms.end(), s.ms.begin(), s.ms.end());
    all.errors += s.errors;
  }
  all.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::string mode = "parallel" + std::to_string(o.connections);
  Print(o, mode.c_str(), "ingest", all);
  return 0;
}
