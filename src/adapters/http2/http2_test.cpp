#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/http2/client.hpp"
#include "adapters/http2/server.hpp"
#include "adapters/http2/session_memory.hpp"

namespace fanout::adapters::http2 {
namespace {

ClientSettings ClientFor(uint16_t port) {
  ClientSettings s;
  s.endpoint = *ParseEndpoint("http://127.0.0.1:" + std::to_string(port));
  s.connections = 2;
  s.request_timeout = std::chrono::seconds(10);
  return s;
}

std::vector<Request> Posts(int n) {
  std::vector<Request> v;
  for (int i = 0; i < n; ++i) {
    Request r;
    r.path = "/echo/" + std::to_string(i);
    r.headers = {{"x-i", std::to_string(i)}};
    r.body = "body-" + std::to_string(i);
    v.push_back(std::move(r));
  }
  return v;
}

ServerResponse Echo(const ServerRequest& req) {
  ServerResponse r;
  r.status = 200;
  r.headers = {{"x-path", req.path}};
  r.body = req.method + " " + req.body + " " +
           (FindHeader(req.headers, "x-i") ? *FindHeader(req.headers, "x-i") : "");
  return r;
}

TEST(Http2Common, ParsesEndpointsAndHostPorts) {
  auto e = ParseEndpoint("https://api.push.apple.com");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->Authority(), "api.push.apple.com");
  e = ParseEndpoint("http://127.0.0.1:8080/");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->tls);
  EXPECT_EQ(e->port, 8080);
  EXPECT_EQ(e->Authority(), "127.0.0.1:8080");
  EXPECT_FALSE(ParseEndpoint("ftp://x"));
  EXPECT_FALSE(ParseEndpoint("http://x/path"));
  auto hp = ParseHostPort("[::1]:0");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "::1");
  EXPECT_FALSE(ParseHostPort("nohost"));
}

TEST(Http2, RequestsAndResponsesRoundTrip) {
  Server server({}, Echo);
  server.Start();
  Client client(ClientFor(server.port()));
  auto resps = client.Execute(Posts(1000));
  ASSERT_EQ(resps.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(resps[i].ok()) << resps[i].error_message;
    EXPECT_EQ(resps[i].status, 200);
    EXPECT_EQ(resps[i].body, "POST body-" + std::to_string(i) + " " + std::to_string(i));
    ASSERT_NE(FindHeader(resps[i].headers, "x-path"), nullptr);
    EXPECT_EQ(*FindHeader(resps[i].headers, "x-path"), "/echo/" + std::to_string(i));
  }
  EXPECT_EQ(server.Stats().streams, 1000u);
}

TEST(Http2, HonoursPeerMaxConcurrentStreams) {
  ServerSettings ss;
  ss.max_concurrent_streams = 10;
  auto handler = [](const ServerRequest&) {
    ServerResponse r;
    r.delay = std::chrono::milliseconds(2);  // keep streams open so they pile up
    return r;
  };
  Server server(ss, handler);
  server.Start();
  auto cs = ClientFor(server.port());
  cs.connections = 1;
  Client client(cs);
  auto resps = client.Execute(Posts(500));
  for (auto& r : resps) ASSERT_EQ(r.status, 200) << r.error_message;
  EXPECT_EQ(server.Stats().max_concurrent_streams_seen, 10u);
  EXPECT_EQ(server.Stats().refused_after_goaway, 0u);
}

TEST(Http2, GoawayRefusesNothingSilently) {
  ServerSettings ss;
  ss.goaway_after_streams = 97;
  std::atomic<int> handled{0};
  Server server(ss, [&](const ServerRequest& req) {
    ServerResponse r;
    r.on_sent = [&] { handled++; };
    r.body = req.body;
    return r;
  });
  server.Start();
  Client client(ClientFor(server.port()));
  auto resps = client.Execute(Posts(3000));
  int ok = 0, refused = 0, other = 0;
  for (auto& r : resps) {
    if (r.ok() && r.status == 200) {
      ok++;
    } else if (r.error == TransportError::kRefused) {
      refused++;
    } else {
      other++;
    }
  }
  EXPECT_EQ(other, 0);
  EXPECT_EQ(ok + refused, 3000);
  EXPECT_EQ(ok, handled.load());  // every response the server sent arrived
  // Each connection serves exactly 97 streams, then refuses the rest.
  EXPECT_EQ(static_cast<uint64_t>(ok), 97 * server.Stats().goaways_sent);
  EXPECT_EQ(static_cast<uint64_t>(refused), client.Stats().refused);
  EXPECT_GE(client.Stats().goaways_received, 1u);
  // Retrying the refused ones on fresh connections eventually gets all through.
  std::vector<Request> again;
  for (int round = 0; round < 200 && refused > 0; ++round) {
    auto rs = client.Execute(Posts(refused));
    refused = 0;
    for (auto& r : rs) {
      if (r.status == 200) {
        ok++;
      } else {
        ASSERT_EQ(r.error, TransportError::kRefused) << r.error_message;
        refused++;
      }
    }
  }
  EXPECT_EQ(ok, 3000);
  EXPECT_EQ(ok, handled.load());
}

TEST(Http2, ConnectFailureFailsFastAsConnectError) {
  uint16_t port;
  {
    Server s({}, Echo);
    s.Start();
    port = s.port();
  }  // closed: nothing listens there now
  auto cs = ClientFor(port);
  cs.connect_timeout = std::chrono::milliseconds(500);
  Client client(cs);
  auto resps = client.Execute(Posts(5));
  for (auto& r : resps) {
    EXPECT_EQ(r.error, TransportError::kConnect) << r.error_message;
    EXPECT_EQ(r.status, 0);
  }
  EXPECT_GE(client.Stats().connect_failures, 1u);
}

TEST(Http2, RequestTimeoutAndResetAreReported) {
  Server server({}, [](const ServerRequest& req) {
    ServerResponse r;
    if (req.path == "/slow") r.delay = std::chrono::milliseconds(3000);
    if (req.path == "/reset") r.reset = true;
    return r;
  });
  server.Start();
  auto cs = ClientFor(server.port());
  cs.request_timeout = std::chrono::milliseconds(200);
  Client client(cs);
  std::vector<Request> reqs(3);
  reqs[0].path = "/slow";
  reqs[1].path = "/reset";
  reqs[2].path = "/fast";
  auto t0 = std::chrono::steady_clock::now();
  auto resps = client.Execute(std::move(reqs));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(resps[0].error, TransportError::kTimeout);
  EXPECT_EQ(resps[1].error, TransportError::kReset);
  EXPECT_EQ(resps[2].status, 200);
  // The connection survives a cancelled stream.
  std::vector<Request> again(1);
  again[0].path = "/fast";
  EXPECT_EQ(client.Execute(std::move(again))[0].status, 200);
}

TEST(Http2, AsynchronousSubmissionsCompleteOnceEvenWhenTheClientIsDestroyed) {
  Server server({}, [](const ServerRequest& req) {
    ServerResponse r = Echo(req);
    if (req.path == "/slow") r.delay = std::chrono::milliseconds(5000);
    return r;
  });
  server.Start();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Response> batch(50);
  std::atomic<int> batch_done{0}, single_done{0}, slow_done{0};
  TransportError slow_error = TransportError::kNone;
  {
    Client client(ClientFor(server.port()));
    client.SubmitBatch(Posts(50), [&](size_t i, Response&& r) {
      batch[i] = std::move(r);
      if (++batch_done == 50) cv.notify_all();
    });
    Request one;
    one.path = "/one";
    one.body = "x";
    client.Submit(std::move(one), [&](Response&& r) {
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, "POST x ");
      ++single_done;
      cv.notify_all();
    });
    {
      std::unique_lock lk(mu);
      ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(5),
                              [&] { return batch_done == 50 && single_done == 1; }));
    }
    // Still in flight when the client goes away: completes once, as kShutdown.
    Request slow;
    slow.path = "/slow";
    client.Submit(std::move(slow), [&](Response&& r) {
      slow_error = r.error;
      ++slow_done;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(slow_done.load(), 1);
  EXPECT_NE(slow_error, TransportError::kNone);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(batch[i].status, 200);
    EXPECT_EQ(batch[i].body, "POST body-" + std::to_string(i) + " " + std::to_string(i));
  }
}

TEST(Http2, RunBatchReadsCallerOwnedRequestsThatCanBeReused) {
  Server server({}, Echo);
  server.Start();
  Client client(ClientFor(server.port()));
  std::vector<Request> reqs = Posts(300);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) reqs[i].body = "r" + std::to_string(round);
    std::vector<std::string> bodies(300);
    client.RunBatch(reqs, [&](size_t i, Response&& r) { bodies[i] = std::move(r.body); });
    for (int i = 0; i < 300; ++i) {
      ASSERT_EQ(bodies[i], "POST r" + std::to_string(round) + " " + std::to_string(i));
    }
    EXPECT_EQ(reqs[7].path, "/echo/7");  // untouched
  }
}

TEST(SessionMemory, ReusesFreedBlocksAndKeepsContentsOnReallocate) {
  SessionMemory m;
  nghttp2_mem* mem = m.mem();
  void* a = mem->malloc(40, mem->mem_user_data);
  void* b = mem->malloc(5000, mem->mem_user_data);  // beyond the pooled sizes
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 16, 0u);
  std::memset(a, 'x', 40);
  mem->free(a, mem->mem_user_data);
  void* c = mem->malloc(33, mem->mem_user_data);  // same 48-byte class: the freed block
  EXPECT_EQ(c, a);
  uint64_t fresh = m.fresh_blocks();
  std::memcpy(c, "0123456789012345678901234567890123", 33);
  void* d = mem->realloc(c, 200, mem->mem_user_data);  // grows into another class
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(std::memcmp(d, "0123456789012345678901234567890123", 33), 0);
  auto* z = static_cast<unsigned char*>(mem->calloc(10, 7, mem->mem_user_data));
  for (int i = 0; i < 70; ++i) ASSERT_EQ(z[i], 0);
  EXPECT_EQ(mem->calloc(SIZE_MAX / 2, 4, mem->mem_user_data), nullptr);  // overflow
  EXPECT_EQ(m.fresh_blocks(), fresh + 2);                                // d and z
  mem->free(z, mem->mem_user_data);
  mem->free(d, mem->mem_user_data);
  mem->free(b, mem->mem_user_data);
  mem->free(nullptr, mem->mem_user_data);
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_DEATH(static_cast<volatile char*>(d)[0] = 1, "use-after-poison");
#endif
}  // the destructor frees the pooled blocks (ASan reports leaks otherwise)

TEST(Http2, HandlersSeeWhichConnectionARequestCameOn) {
  std::mutex mu;
  std::set<uint64_t> ids;
  ServerSettings ss;
  ss.threads = 2;
  Server server(ss, [&](const ServerRequest& req) {
    std::lock_guard lk(mu);
    ids.insert(req.connection_id);
    return Echo(req);
  });
  server.Start();
  auto cs = ClientFor(server.port());
  cs.connections = 3;
  std::set<uint64_t> first;
  {
    Client a(cs);
    for (auto& r : a.Execute(Posts(200))) ASSERT_EQ(r.status, 200);
    std::lock_guard lk(mu);
    first = ids;
    ids.clear();
  }
  // The pool may not have used every connection, but never more than it has.
  EXPECT_GE(first.size(), 1u);
  EXPECT_LE(first.size(), 3u);
  Client b(cs);  // new connections get new ids, never reused
  for (auto& r : b.Execute(Posts(200))) ASSERT_EQ(r.status, 200);
  std::lock_guard lk(mu);
  EXPECT_GE(ids.size(), 1u);
  EXPECT_LE(ids.size(), 3u);
  for (uint64_t id : ids) EXPECT_EQ(first.count(id), 0u) << id;
  EXPECT_EQ(first.count(0), 0u);
  EXPECT_EQ(ids.count(0), 0u);
}

TEST(Http2, ReconnectsAfterServerRestartOnSamePort) {
  auto s1 = std::make_unique<Server>(ServerSettings{}, Echo);
  s1->Start();
  uint16_t port = s1->port();
  Client client(ClientFor(port));
  EXPECT_EQ(client.Execute(Posts(10))[9].status, 200);
  s1.reset();
  ServerSettings ss;
  ss.listen = "127.0.0.1:" + std::to_string(port);
  Server s2(ss, Echo);
  s2.Start();
  // The first attempt may see the dead connection; within a few tries it reconnects.
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = client.Execute(Posts(1))[0].status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200);
}

TEST(Http2, ManyThreadsShareOneClient) {
  Server server({}, Echo);
  server.Start();
  Client client(ClientFor(server.port()));
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; ++t) {
    ts.emplace_back([&] {
      for (int k = 0; k < 5; ++k) {
        for (auto& r : client.Execute(Posts(200))) ok += r.status == 200;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 6 * 5 * 200);
}

}  // namespace
}  // namespace fanout::adapters::http2

#include "adapters/http2/test_certs.hpp"

namespace fanout::adapters::http2 {
namespace {

TEST(Http2Tls, RoundTripOverTlsWithAlpnH2AndVerifiedCert) {
  auto cert = testing::MakeSelfSignedCert();
  ServerSettings ss;
  ss.tls_cert_file = cert.cert_file;
  ss.tls_key_file = cert.key_file;
  Server server(ss, Echo);
  server.Start();
  ClientSettings cs;
  cs.endpoint = *ParseEndpoint("https://127.0.0.1:" + std::to_string(server.port()));
  cs.ca_file = cert.cert_file;
  Client client(cs);
  auto resps = client.Execute(Posts(300));
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(resps[i].ok()) << resps[i].error_message;
    EXPECT_EQ(resps[i].body, "POST body-" + std::to_string(i) + " " + std::to_string(i));
  }
  // h2c client against the TLS server fails as a transport error, not a hang.
  auto plain = cs;
  plain.endpoint.tls = false;
  plain.connect_timeout = std::chrono::milliseconds(1000);
  Client wrong(plain);
  EXPECT_FALSE(wrong.Execute(Posts(1))[0].ok());
}

TEST(Http2Tls, UntrustedCertificateIsAConnectError) {
  auto cert = testing::MakeSelfSignedCert();
  auto other = testing::MakeSelfSignedCert();
  ServerSettings ss;
  ss.tls_cert_file = cert.cert_file;
  ss.tls_key_file = cert.key_file;
  Server server(ss, Echo);
  server.Start();
  ClientSettings cs;
  cs.endpoint = *ParseEndpoint("https://127.0.0.1:" + std::to_string(server.port()));
  cs.ca_file = other.cert_file;  // trusts a different cert
  Client client(cs);
  auto r = client.Execute(Posts(2));
  EXPECT_EQ(r[0].error, TransportError::kConnect);
  EXPECT_THAT(r[0].error_message, ::testing::HasSubstr("certificate"));
  cs.verify_peer = false;
  Client insecure(cs);
  EXPECT_EQ(insecure.Execute(Posts(1))[0].status, 200);
}

}  // namespace
}  // namespace fanout::adapters::http2

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

namespace fanout::adapters::http2 {
namespace {

// A TCP relay to a server that can "blackhole" the connections it currently carries:
// they stay open but forward nothing, like a NAT that silently dropped its mapping.
// New connections keep working.
class BlackholeRelay {
 public:
  explicit BlackholeRelay(uint16_t target) : target_(target) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(lfd_, 16);
    socklen_t len = sizeof(a);
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~BlackholeRelay() {
    stop_ = true;
    ::shutdown(lfd_, SHUT_RDWR);
    ::close(lfd_);
    acceptor_.join();
    for (auto& t : pumps_) t.join();
  }
  uint16_t port() const { return port_; }
  void BlackholeExisting() { generation_++; }

 private:
  void Accept() {
    for (;;) {
      int c = ::accept(lfd_, nullptr, nullptr);
      if (c < 0) return;
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(target_);
      ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
      int gen = generation_;
      std::lock_guard lk(mu_);
      pumps_.emplace_back([this, c, s, gen] { Pump(c, s, gen); });
    }
  }
  void Pump(int a, int b, int gen) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[16384];
    while (!stop_) {
      if (::poll(fds, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          ::close(a);
          ::close(b);
          return;
        }
        if (gen == generation_) {
          [[maybe_unused]] ssize_t w = ::write(fds[1 - i].fd, buf, static_cast<size_t>(n));
        }
      }
    }
    ::close(a);
    ::close(b);
  }
  uint16_t target_;
  int lfd_;
  uint16_t port_;
  std::atomic<int> generation_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::thread acceptor_;
  std::vector<std::thread> pumps_;
};

TEST(Http2, SilentlyDeadConnectionIsDetectedByPingAndReplaced) {
  Server server({}, Echo);
  server.Start();
  BlackholeRelay relay(server.port());
  auto cs = ClientFor(relay.port());
  cs.connections = 1;
  cs.request_timeout = std::chrono::milliseconds(300);
  cs.ping_timeout = std::chrono::milliseconds(300);
  Client client(cs);
  for (auto& r : client.Execute(Posts(10))) ASSERT_EQ(r.status, 200);
  relay.BlackholeExisting();
  for (auto& r : client.Execute(Posts(3))) EXPECT_EQ(r.error, TransportError::kTimeout);
  // The timeout triggered a PING; its silence closes the connection, the next one works.
  int status = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (status != 200 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)) {
    status = client.Execute(Posts(1))[0].status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_GE(client.Stats().connects, 2u);
}

TEST(Http2, IdleKeepalivePingsKeepAHealthyConnection) {
  Server server({}, Echo);
  server.Start();
  auto cs = ClientFor(server.port());
  cs.connections = 1;
  cs.keepalive_interval = std::chrono::milliseconds(50);
  cs.ping_timeout = std::chrono::milliseconds(200);
  Client client(cs);
  EXPECT_EQ(client.Execute(Posts(1))[0].status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // ~10 keepalive rounds
  EXPECT_EQ(client.Execute(Posts(1))[0].status, 200);
  EXPECT_EQ(client.Stats().connects, 1u);  // answered PINGs never drop the connection
}

}  // namespace
}  // namespace fanout::adapters::http2

// ---- HTTP/1.1 on the cleartext (h2c) port ----------------------------------------------
#include <sys/time.h>

namespace fanout::adapters::http2 {
namespace {

// A blocking HTTP/1.1 client on a plain socket (the server is the unit under test).
class H1Socket {
 public:
  struct Reply {
    int status = 0;  // 0: no complete response before EOF/timeout
    std::string reason;
    Headers headers;  // names lowercased
    std::string body;
  };

  explicit H1Socket(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~H1Socket() { ::close(fd_); }
  bool connected() const { return connected_; }

  void Send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(static_cast<size_t>(n));
    }
  }

  // One response, framed by Content-Length (or none: 1xx/204/304 and HEAD replies).
  Reply Read(bool head = false) {
    Reply r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    std::string_view hdr(buf_.data(), end);
    size_t eol = hdr.find("\r\n");
    std::string_view line = hdr.substr(0, eol);
    if (!line.starts_with("HTTP/1.1 ") || line.size() < 12) return r;
    int status = std::stoi(std::string(line.substr(9, 3)));
    r.reason = std::string(line.substr(line.size() > 13 ? 13 : line.size()));
    size_t clen = 0;
    while (eol != std::string_view::npos) {
      hdr.remove_prefix(eol + 2);
      eol = hdr.find("\r\n");
      std::string_view h = hdr.substr(0, eol);
      size_t colon = h.find(':');
      std::string name(h.substr(0, colon));
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value(h.substr(colon + 2));
      if (name == "content-length") clen = std::stoul(value);
      r.headers.emplace_back(std::move(name), std::move(value));
    }
    buf_.erase(0, end + 4);
    if (head) clen = 0;
    while (buf_.size() < clen) {
      if (!Fill()) return r;
    }
    r.body = buf_.substr(0, clen);
    buf_.erase(0, clen);
    r.status = status;
    return r;
  }

  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // At least `n` raw bytes (fewer on EOF/timeout).
  std::string Raw(size_t n) {
    while (buf_.size() < n && Fill()) {
    }
    std::string out = buf_.substr(0, std::min(n, buf_.size()));
    buf_.erase(0, out.size());
    return out;
  }

  // True if the server closed the connection (after anything still buffered).
  bool ClosedByPeer() {
    char c;
    return buf_.empty() && ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool Fill() {
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(extra) +
         "\r\n";
}

TEST(Http1, PlainRequestOnTheH2cPortIsAnsweredByTheSameHandler) {
  std::mutex mu;
  std::vector<ServerRequest> seen;
  Server server({}, [&](const ServerRequest& req) {
    std::lock_guard lk(mu);
    seen.push_back(req);
    return Echo(req);
  });
  server.Start();
  H1Socket s(server.port());
  ASSERT_TRUE(s.connected());
  s.Send(
      "POST /echo/1?q=2 HTTP/1.1\r\nHost: example.test:1\r\nX-I: 7\r\nContent-Length: 4\r\n"
      "Connection: keep-alive\r\n\r\nabcd");
  auto r = s.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.body, "POST abcd 7");
  ASSERT_NE(FindHeader(r.headers, "x-path"), nullptr);
  EXPECT_EQ(*FindHeader(r.headers, "x-path"), "/echo/1?q=2");
  ASSERT_NE(FindHeader(r.headers, "content-length"), nullptr);
  EXPECT_EQ(*FindHeader(r.headers, "content-length"), "11");
  EXPECT_NE(FindHeader(r.headers, "date"), nullptr);
  EXPECT_EQ(FindHeader(r.headers, "connection"), nullptr);  // HTTP/1.1: keep-alive by default
  {
    std::lock_guard lk(mu);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].http1);
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_EQ(seen[0].authority, "example.test:1");
    EXPECT_NE(seen[0].connection_id, 0u);
    // Lowercase names, no Host/Connection (HTTP/2 carries neither as a header).
    EXPECT_THAT(seen[0].headers,
                ::testing::UnorderedElementsAre(Header{"x-i", "7"}, Header{"content-length", "4"}));
  }
  // The same port still speaks HTTP/2 with prior knowledge.
  Client client(ClientFor(server.port()));
  auto h2 = client.Execute(Posts(3));
  for (auto& x : h2) EXPECT_EQ(x.status, 200) << x.error_message;
  EXPECT_EQ(server.Stats().http1_requests, 1u);
  EXPECT_EQ(server.Stats().streams, 3u);
  std::lock_guard lk(mu);
  EXPECT_FALSE(seen.back().http1);
}

TEST(Http1, KeepAliveServesSeveralRequestsOnOneSocketInOrder) {
  std::mutex mu;
  std::set<uint64_t> conn_ids;
  Server server({}, [&](const ServerRequest& req) {
    {
      std::lock_guard lk(mu);
      conn_ids.insert(req.connection_id);
    }
    ServerResponse r = Echo(req);
    if (req.path == "/slow") r.delay = std::chrono::milliseconds(50);  // the timer path
    if (req.path == "/empty") {
      r.status = 204;
      r.body.clear();
    }
    return r;
  });
  server.Start();
  H1Socket s(server.port());
  s.Send(Get("/a"));
  auto a = s.Read();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(*FindHeader(a.headers, "x-path"), "/a");
  s.Send(Get("/b"));
  EXPECT_EQ(*FindHeader(s.Read().headers, "x-path"), "/b");
  // Pipelined: a delayed response holds back the ones behind it, order is kept.
  s.Send(Get("/slow") + Get("/empty") + Get("/c"));
  auto slow = s.Read();
  EXPECT_EQ(*FindHeader(slow.headers, "x-path"), "/slow");
  auto empty = s.Read();
  EXPECT_EQ(empty.status, 204);
  EXPECT_EQ(empty.reason, "No Content");
  EXPECT_EQ(FindHeader(empty.headers, "content-length"), nullptr);
  EXPECT_EQ(*FindHeader(s.Read().headers, "x-path"), "/c");
  // HEAD: the length of the body that GET would send, no body.
  s.Send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = s.Read(/*head=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(*FindHeader(head.headers, "content-length"), "6");  // "HEAD  "
  // "Connection: close" is honoured: answered, then the server closes.
  s.Send(Get("/last", "Connection: close\r\n"));
  auto last = s.Read();
  EXPECT_EQ(last.status, 200);
  ASSERT_NE(FindHeader(last.headers, "connection"), nullptr);
  EXPECT_EQ(*FindHeader(last.headers, "connection"), "close");
  EXPECT_TRUE(s.ClosedByPeer());
  EXPECT_EQ(server.Stats().connections_accepted, 1u);
  EXPECT_EQ(server.Stats().http1_requests, 7u);
  std::lock_guard lk(mu);
  EXPECT_EQ(conn_ids.size(), 1u);
}

TEST(Http1, Http10ClosesUnlessKeepAliveIsAsked) {
  Server server({}, Echo);
  server.Start();
  H1Socket s(server.port());
  s.Send("GET /k HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  auto k = s.Read();
  EXPECT_EQ(k.status, 200);
  EXPECT_EQ(*FindHeader(k.headers, "connection"), "keep-alive");
  s.Send("GET /c HTTP/1.0\r\n\r\n");
  EXPECT_EQ(s.Read().status, 200);
  EXPECT_TRUE(s.ClosedByPeer());
}

TEST(Http1, MalformedRequestsGet400AndTheConnectionIsClosed) {
  Server server({}, Echo);
  server.Start();
  struct Case {
    std::string request;
    int status;
  };
  const Case cases[] = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET /x HTTP/1.1\r\n\r\n", 400},                                   // no Host
      {"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},             // two Hosts
      {"GET /x HTTP/1.1\r\nHost: a\r\nBad Name: v\r\n\r\n", 400},         // space in a name
      {"GET /x HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n", 400},    // obs-fold
      {"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400},  // bad length
      {"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"GET /x HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400},
      {"GET /x HTTP/9.9\r\nHost: a\r\n\r\n", 505},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
       411},
      {"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
       400},
  };
  for (const auto& c : cases) {
    H1Socket s(server.port());
    s.Send(c.request);
    auto r = s.Read();
    EXPECT_EQ(r.status, c.status) << c.request;
    ASSERT_NE(FindHeader(r.headers, "connection"), nullptr) << c.request;
    EXPECT_EQ(*FindHeader(r.headers, "connection"), "close");
    EXPECT_TRUE(s.ClosedByPeer()) << c.request;
  }
  // A good request before a bad one is answered; the bad one ends the connection.
  H1Socket s(server.port());
  s.Send(Get("/ok") + "BAD REQUEST LINE HERE\r\n\r\n" + Get("/never"));
  EXPECT_EQ(s.Read().status, 200);
  EXPECT_EQ(s.Read().status, 400);
  EXPECT_TRUE(s.ClosedByPeer());
  EXPECT_EQ(server.Stats().http1_requests, 1u);
}

TEST(Http1, OversizeHeadersGet431) {
  Server server({}, Echo);
  server.Start();
  {  // a complete but too large header block
    H1Socket s(server.port());
    s.Send(Get("/big", "X-Big: " + std::string(17 * 1024, 'a') + "\r\n"));
    auto r = s.Read();
    EXPECT_EQ(r.status, 431);
    EXPECT_EQ(r.reason, "Request Header Fields Too Large");
    EXPECT_TRUE(s.ClosedByPeer());
  }
  {  // a header block that never ends: refused once it passes the limit, not buffered on
    H1Socket s(server.port());
    s.Send("GET /big HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 40; ++i)
      s.Send("X-" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n");
    EXPECT_EQ(s.Read().status, 431);
    EXPECT_TRUE(s.ClosedByPeer());
  }
  {  // just below the limit is fine
    H1Socket s(server.port());
    s.Send(Get("/fits", "X-Big: " + std::string(15 * 1024, 'a') + "\r\n"));
    EXPECT_EQ(s.Read().status, 200);
  }
}

TEST(Http1, BodiesAreCappedLikeHttp2AndExpectContinueIsAnswered) {
  ServerSettings ss;
  ss.max_request_body = 8;
  std::atomic<bool> truncated{false};
  Server server(ss, [&](const ServerRequest& req) {
    truncated = req.body_truncated;
    return Echo(req);
  });
  server.Start();
  H1Socket s(server.port());
  s.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij");
  EXPECT_EQ(s.Read().body, "POST 01234567 ");  // kept max_request_body bytes
  EXPECT_TRUE(truncated);
  s.Send("POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  auto cont = s.Read();
  EXPECT_EQ(cont.status, 100);
  s.Send("xyz");
  EXPECT_EQ(s.Read().body, "POST xyz ");
  EXPECT_FALSE(truncated);
}

TEST(Http1, AClientThatHalfClosesAfterItsRequestsGetsTheAnswers) {
  Server server({}, [](const ServerRequest& req) {
    ServerResponse r = Echo(req);
    if (req.path == "/slow") r.delay = std::chrono::milliseconds(50);
    return r;
  });
  server.Start();
  for (std::string path : {"/fast", "/slow"}) {
    H1Socket s(server.port());
    s.Send(Get(path));
    s.ShutdownWrite();  // like `nc -N`
    auto r = s.Read();
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(*FindHeader(r.headers, "x-path"), path);
    EXPECT_TRUE(s.ClosedByPeer()) << path;
  }
}

TEST(Http1, ResetClosesTheConnectionWithoutAResponse) {
  Server server({}, [](const ServerRequest&) {
    ServerResponse r;
    r.reset = true;
    return r;
  });
  server.Start();
  H1Socket s(server.port());
  s.Send(Get("/r"));
  EXPECT_EQ(s.Read().status, 0);
}

TEST(Http1, AnHttp2PrefaceSplitAcrossReadsIsStillHttp2) {
  Server server({}, Echo);
  server.Start();
  H1Socket s(server.port());
  const std::string preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  s.Send(preface.substr(0, 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  s.Send(preface.substr(5));
  s.Send(std::string("\0\0\0\x04\0\0\0\0\0", 9));  // empty SETTINGS
  // The server's first frame is its SETTINGS (type 4, stream 0), not an HTTP/1.1 reply.
  std::string frame = s.Raw(9);
  ASSERT_EQ(frame.size(), 9u);
  EXPECT_EQ(frame[3], '\x04');
  EXPECT_EQ(frame.substr(5), std::string(4, '\0'));
  EXPECT_EQ(server.Stats().http1_requests, 0u);
}

// ---- limits against slow and idle clients ----------------------------------------------

ServerSettings Limited() {
  ServerSettings s;
  s.header_timeout = std::chrono::milliseconds(300);
  s.body_timeout = std::chrono::milliseconds(300);
  s.idle_timeout = std::chrono::milliseconds(400);
  return s;
}

TEST(ServerLimits, SlowHeadersGet408AndDoNotBlockOtherClients) {
  Server server(Limited(), Echo);
  server.Start();
  // 64 slowloris connections: a partial header block each, then nothing.
  std::vector<std::unique_ptr<H1Socket>> slow;
  for (int i = 0; i < 64; ++i) {
    slow.push_back(std::make_unique<H1Socket>(server.port()));
    slow.back()->Send("GET /slow HTTP/1.1\r\nHost: x\r\nX-A: ");
  }
  // Meanwhile another client is served at once.
  H1Socket ok(server.port());
  ok.Send(Get("/ok"));
  EXPECT_EQ(ok.Read().status, 200);
  // Each slow one is told 408 and closed.
  for (auto& s : slow) {
    auto r = s->Read();
    EXPECT_EQ(r.status, 408);
    EXPECT_TRUE(s->ClosedByPeer());
  }
  EXPECT_GE(server.Stats().timeouts, 64u);
}

TEST(ServerLimits, SlowBodiesGet408AndSilentOrIdleConnectionsAreClosed) {
  Server server(Limited(), Echo);
  server.Start();
  H1Socket body(server.port());
  body.Send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(body.Read().status, 408);
  H1Socket silent(server.port());  // connects, never sends: closed without an answer
  EXPECT_EQ(silent.Read().status, 0);
  EXPECT_TRUE(silent.ClosedByPeer());
  H1Socket idle(server.port());  // served, then idle past idle_timeout: closed
  idle.Send(Get("/i"));
  EXPECT_EQ(idle.Read().status, 200);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.ClosedByPeer());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
  // An HTTP/2 connection without streams is sent GOAWAY when idle; the client reconnects.
  Client client(ClientFor(server.port()));
  EXPECT_EQ(client.Execute(Posts(1))[0].status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(client.Execute(Posts(1))[0].status, 200);
  EXPECT_GE(client.Stats().goaways_received, 1u);
}

TEST(ServerLimits, ConnectionsBeyondTheLimitsGet503) {
  ServerSettings settings;
  settings.max_connections_per_client = 3;
  Server server(settings, Echo);
  server.Start();
  std::vector<std::unique_ptr<H1Socket>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<H1Socket>(server.port()));
    held.back()->Send(Get("/h"));
    EXPECT_EQ(held.back()->Read().status, 200);
  }
  H1Socket fourth(server.port());
  auto r = fourth.Read();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "too many connections\n");
  EXPECT_EQ(server.Stats().connections_refused, 1u);
  EXPECT_EQ(server.Stats().connections_open, 3u);
  held.pop_back();  // one goes away: a new one is admitted once the server noticed
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    H1Socket again(server.port());
    again.Send(Get("/again"));
    status = again.Read().status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, 200);
}

// ---- asynchronous handlers --------------------------------------------------------------

TEST(ServerAsync, AnswersFromAnotherThreadOverHttp1AndHttp2) {
  std::mutex mu;
  std::vector<std::thread> threads;
  std::vector<std::string> remotes;
  Server server(ServerSettings{}, [&](ServerRequest& req, Responder responder) {
    std::lock_guard lk(mu);
    remotes.push_back(req.remote);
    ServerResponse r = Echo(req);
    threads.emplace_back([r = std::move(r), responder]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      responder.Send(std::move(r));
      responder.Send(ServerResponse{});  // a second answer is ignored
    });
  });
  server.Start();
  H1Socket s(server.port());
  for (int i = 0; i < 3; ++i) {
    s.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-I: 1\r\n\r\nhi");
    auto r = s.Read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "POST hi 1");
  }
  Client client(ClientFor(server.port()));
  for (auto& x : client.Execute(Posts(20))) EXPECT_EQ(x.status, 200) << x.error_message;
  server.Stop();
  std::lock_guard lk(mu);
  for (auto& t : threads) t.join();
  ASSERT_EQ(remotes.size(), 23u);
  for (const auto& r : remotes) EXPECT_EQ(r, "127.0.0.1");
}

TEST(ServerAsync, StreamsABodyChunkByChunkAndNoticesAClientThatLeft) {
  std::atomic<bool> noticed{false};
  std::vector<std::thread> threads;
  std::mutex mu;
  Server server(ServerSettings{}, [&](ServerRequest& req, Responder responder) {
    bool forever = req.path == "/forever";
    std::lock_guard lk(mu);
    threads.emplace_back([&, forever, responder] {
      ServerResponse head;
      head.headers = {{"content-type", "text/event-stream"}};
      responder.Begin(head);
      for (int i = 0; forever || i < 3; ++i) {
        if (!responder.Write("data: " + std::to_string(i) + "\n\n")) {
          noticed = true;
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      responder.End();
    });
  });
  server.Start();
  {
    H1Socket s(server.port());
    s.Send(Get("/three", "Connection: close\r\n"));
    std::string raw = s.Raw(1000);  // until the server closes
    EXPECT_NE(raw.find("transfer-encoding: chunked"), std::string::npos) << raw;
    EXPECT_NE(raw.find("9\r\ndata: 2\n\n\r\n0\r\n\r\n"), std::string::npos) << raw;
  }
  Client client(ClientFor(server.port()));
  Request get;
  get.method = "GET";
  get.path = "/three";
  auto r = client.Execute({get});
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  {
    H1Socket s(server.port());
    s.Send(Get("/forever"));
    EXPECT_NE(s.Raw(200).find("data: 0"), std::string::npos);
  }  // the client leaves
  for (int i = 0; i < 300 && !noticed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(noticed);
  server.Stop();
  std::lock_guard lk(mu);
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace fanout::adapters::http2
