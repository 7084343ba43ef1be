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
