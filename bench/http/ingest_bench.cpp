// Ingest latency and alerts/s over the region API's HTTP/1.1 layer, as a provider's client
// sees it: PUT /v1/alerts/{provider}/{id} of distinct alerts (a real DWD sample with a
// fresh identifier each time) and GET /healthz, over
//   keepalive: one kept-alive connection, requests one after the other (every HTTP library
//              reuses its connection; Nagle + delayed ACK cost 40+ ms per request here);
//   fresh:     a new connection per request;
//   parallel:  C kept-alive connections, one thread each.
//   parallel healthz: the same for GET /healthz (the HTTP layer alone).
// Prints one line per mode: requests, median and p99 latency, requests/s.
// --idle N first opens N other connections that each complete one request and then stay
// open, idle (a keep-alive client between requests); --slow N opens N that send part of a
// header block and then nothing (slowloris). They come from 127.0.0.2... (5 per address,
// as from many clients) and stay open for the whole run. A mode gives up after 3 errors in
// a row (a server that no longer answers) and says so.
//
//   fanout_ingest_bench --url http://127.0.0.1:8080 --token T --alert FILE
//                       [--provider AP2] [--requests 200] [--connections 8] [--tag run1]
//                       [--idle 1000] [--slow 0] [--timeout 5]
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
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
  int idle = 0;
  int slow = 0;
  int timeout_s = 30;
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
  cli.set_connection_timeout(o.timeout_s, 0);
  cli.set_read_timeout(o.timeout_s, 0);
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
  int in_a_row = 0;
  for (int i = 0; i < n && in_a_row < 3; ++i) {
    const auto t = Clock::now();
    const bool ok = fn(i);
    s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    s.errors += ok ? 0 : 1;
    in_a_row = ok ? 0 : in_a_row + 1;
  }
  s.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return s;
}

// A connection from 127.0.0.(2 + i / 5) to the server; -1 on failure.
int Open(const Options& o, int i) {
  const auto hp = o.url.substr(o.url.find("://") + 3);
  const auto port = static_cast<uint16_t>(std::stoi(hp.substr(hp.rfind(':') + 1)));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(0x7f000002u + static_cast<uint32_t>(i / 5));
  ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  // Non-blocking, 1 s at most: a server that stopped accepting is measured, not waited for.
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    rc = ::poll(&p, 1, 1000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
                 err == 0
             ? 0
             : -1;
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, flags);
  return fd;
}

// Opens the idle and slow connections; returns their descriptors (kept open until exit).
std::vector<int> Background(const Options& o) {
  std::vector<int> fds;
  int failed = 0, answered = 0;
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < o.idle + o.slow; ++i) {
    int fd = Open(o, i);
    if (fd < 0) {
      if (++failed >= 20) break;  // the server accepts no more: measure it like that
      continue;
    }
    fds.push_back(fd);
    if (i < o.idle) {
      [[maybe_unused]] auto w = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    } else {
      const std::string part = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
      [[maybe_unused]] auto w = ::send(fd, part.data(), part.size(), MSG_NOSIGNAL);
    }
  }
  // The idle ones' answers (so they are idle between requests, not waiting), 10 s at most
  // in all: a server that cannot answer them all is measured as it is.
  std::vector<pollfd> waiting;
  for (int i = 0; i < std::min<int>(o.idle, static_cast<int>(fds.size())); ++i) {
    waiting.push_back({fds[static_cast<size_t>(i)], POLLIN, 0});
  }
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!waiting.empty() && Clock::now() < deadline) {
    if (::poll(waiting.data(), waiting.size(), 100) <= 0) continue;
    std::vector<pollfd> still;
    for (const pollfd& p : waiting) {
      if (p.revents == 0) {
        still.push_back({p.fd, POLLIN, 0});
        continue;
      }
      char buf[4096];
      if (::recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) ++answered;
    }
    waiting.swap(still);
  }
  std::printf("# background: %d idle (%d answered), %d slow, %d failed to connect\n", o.idle,
              answered, o.slow, failed);
  return fds;
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
    else if (k == "--idle")
      o.idle = std::stoi(v);
    else if (k == "--slow")
      o.slow = std::stoi(v);
    else if (k == "--timeout")
      o.timeout_s = std::stoi(v);
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
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const AlertTemplate t = MakeTemplate(Slurp(o.alert_file));
  static std::atomic<uint64_t> seq{0};
  const std::string run = std::to_string(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
          .count());
  auto next_id = [&] { return "bench." + o.tag + "." + run + "." + std::to_string(seq++); };

  const std::vector<int> background = Background(o);
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
  auto parallel = [&](const char* what, auto fn) {
    std::vector<Stats> per(static_cast<size_t>(o.connections));
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    for (int c = 0; c < o.connections; ++c) {
      threads.emplace_back([&, c] {
        auto cli = Connect(o);
        per[static_cast<size_t>(c)] =
            Sequential(o.requests / o.connections, [&](int) { return fn(cli); });
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
    Print(o, mode.c_str(), what, all);
  };
  parallel("ingest", [&](httplib::Client& cli) { return Put(cli, o, t, next_id()); });
  parallel("healthz", [&](httplib::Client& cli) { return Health(cli); });
  for (int fd : background) ::close(fd);
  return 0;
}
