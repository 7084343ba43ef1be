#pragma once
// The region API's HTTP server: the project's event-driven HTTP/2 + HTTP/1.1 server
// (adapters/http2, epoll, ADR 0011) in front of app::Api. A few loop threads hold every
// connection, however idle or slow (header, body and idle timeouts; a bound on connections in
// total and per client address); handlers, which may block on disk or PostgreSQL, run on a
// pool of handler threads fed by a fair queue: requests wait in one queue per client (its
// address, plus the provider for alert submissions) served round-robin, so a client that
// floods waits behind itself and never in front of another provider's warning. A client
// with too many requests waiting is answered 429 with Retry-After at once; `GET /healthz`
// is answered on the loop, whatever the handlers are doing. Streamed responses (the
// console's server-sent events) are pumped on threads of their own, a bounded number.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/api.hpp"
#include "app/rate_limit.hpp"

namespace fanout::adapters::http2 {
class Server;
}

namespace fanout::adapters::http {

struct HttpServerSettings {
  size_t max_body_bytes = 1 << 20;  // the app answers 413 above it (one byte more is read)
  int io_threads = 2;               // event loops holding the connections
  int handler_threads = 8;          // threads running app handlers
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  size_t max_connections = 10'000;
  size_t max_connections_per_client = 1'000;
  size_t max_queued_per_client = 256;  // requests waiting for a handler thread, per client
  size_t max_event_streams = 32;       // open server-sent event streams (operator consoles)
  double client_requests_per_s = 0;    // per client address (0: no limit); beyond → 429
  double client_burst = 0;
  std::string tls_cert_file;  // both set: HTTPS (TLS, ALPN h2 or http/1.1)
  std::string tls_key_file;
  std::string tls_client_ca_file;  // clients (providers) may present certificates signed by it
};

struct HttpServerStats {
  uint64_t connections_open = 0;
  uint64_t connections_refused = 0;  // over a connection limit
  uint64_t timeouts = 0;             // connections or streams closed by a timeout
  uint64_t requests = 0;
  uint64_t rejected_busy = 0;  // 429: the client had too many requests waiting
  uint64_t rate_limited = 0;   // 429: the client was over its request rate
  uint64_t queued = 0;         // waiting for a handler thread now
};

/// Round-robin over keys: Pop() takes the oldest request of the next key that has one.
/// Push() refuses when the key already has `max_per_key` waiting.
class FairQueue {
 public:
  using Task = std::function<void()>;
  bool Push(const std::string& key, Task task, size_t max_per_key);
  /// Blocks for the next task; an empty task once Stop() was called.
  Task Pop();
  void Stop();
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, std::deque<Task>> per_key_;
  std::deque<std::string> ring_;  // keys with waiting tasks, in service order
  size_t size_ = 0;
  bool stopped_ = false;
};

/// The queue key of a request: the client's address, and for `PUT /v1/alerts/{p}/...` the
/// provider too (two providers behind one address stay apart).
std::string ClientKey(const app::HttpRequest& request);

class HttpServer {
 public:
  using Handler = std::function<app::HttpResponse(const app::HttpRequest&)>;
  HttpServer(Handler handler, HttpServerSettings settings);
  ~HttpServer();

  /// Binds host:port and starts serving; returns the bound port or an error message.
  Result<int, Error> Start(const std::string& host, int port);
  void Stop();
  HttpServerStats Stats() const;
  bool tls() const { return !settings_.tls_cert_file.empty(); }

 private:
  void Work();

  Handler handler_;
  HttpServerSettings settings_;
  std::unique_ptr<http2::Server> server_;
  FairQueue queue_;
  std::vector<std::thread> workers_;
  std::mutex streams_mu_;  // with streams_done_: Stop() waits for the stream threads
  std::condition_variable streams_done_;
  std::atomic<size_t> open_streams_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> requests_{0}, rejected_busy_{0}, rate_limited_{0};
  app::RateLimiter client_limit_;
};

struct ClientResponse {
  int status = 0;  // 0: no response (connection failed); see error
  std::string body;
  std::string error;
};

/// One blocking request (for `fanout alert send` and tests). `url` is http://host:port;
/// `path` is sent as given (already percent-encoded).
ClientResponse HttpCall(const std::string& method, const std::string& url, const std::string& path,
                        const std::string& bearer, const std::string& body,
                        const std::string& content_type, int timeout_s = 10);

}  // namespace fanout::adapters::http
