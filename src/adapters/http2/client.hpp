#pragma once
// Http2Client: a pool of HTTP/2 connections to one endpoint, driven by its own
// epoll event loops (libnghttp2, non-blocking sockets, h2c prior knowledge or TLS+ALPN h2).
//
// Lifecycle: the constructor starts `io_threads` loop threads; connections open
// lazily on the first request and reconnect after failures/GOAWAY. The destructor
// fails outstanding requests with kShutdown and joins the threads.
// Thread-safety: Submit/SubmitBatch/Execute may be called from any number of threads.
// Callbacks run on an I/O thread: keep them short, never block and never throw in them
// (they run inside nghttp2's callbacks; an exception terminates the process), and do not
// call this client's blocking methods from them.
//
// Guarantees: every submitted request completes exactly once. A request whose
// stream the peer refused (REFUSED_STREAM, or above GOAWAY's last-stream-id) completes
// with kRefused (the peer did not process it); one that was sent but never answered
// completes with kConnectionLost/kReset/kTimeout (the peer may or may not have processed it).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "adapters/http2/common.hpp"

namespace fanout::adapters::http2 {

struct ClientSettings {
  Endpoint endpoint;    // tls, host, port (see ParseEndpoint)
  std::string ca_file;  // TLS: PEM CA bundle; empty = system trust store
  bool verify_peer = true;
  int connections = 2;  // pool size (spread over the I/O threads)
  int io_threads = 1;   // event-loop threads
  // Our own cap per connection; the peer's SETTINGS_MAX_CONCURRENT_STREAMS lowers it.
  uint32_t max_streams_per_connection = 1000;
  std::chrono::milliseconds connect_timeout{5000};   // TCP + TLS + first SETTINGS
  std::chrono::milliseconds request_timeout{10000};  // from Submit to the response
  size_t max_response_body = 64 * 1024;              // longer bodies are truncated
  // Liveness: a connection that received nothing for `keepalive_interval` (or whose
  // request timed out) gets a PING; no bytes within `ping_timeout` → it is closed and
  // its streams fail as kConnectionLost (a silently dead TCP path, e.g. a NAT drop,
  // would otherwise time out every request forever). keepalive_interval 0 = only
  // after timeouts.
  std::chrono::milliseconds keepalive_interval{60000};
  std::chrono::milliseconds ping_timeout{3000};
  // Nice value of the I/O threads (0 = unchanged). The regular-priority pools run at a
  // higher nice so that, on a shared CPU, they yield to the high-priority path.
  int thread_nice = 0;
  // Header names never put in the HPACK dynamic table (values unique per request,
  // e.g. "apns-id"): indexing them only evicts useful entries on both sides.
  std::vector<std::string> no_index_headers;
  // Non-empty: keep only these response headers (saves allocations per response).
  std::vector<std::string> keep_response_headers;
};

struct Request {
  std::string method = "POST";
  std::string path;
  // Headers shared by many requests (e.g. authorization, topic), sent first; lowercase
  // names, no pseudo-headers. Sharing saves allocations on the hot path.
  std::shared_ptr<const Headers> common_headers;
  Headers headers;  // per-request headers
  std::string body;
  // When set, sent instead of `body` (one payload shared by a whole batch).
  std::shared_ptr<const std::string> shared_body;
};

enum class TransportError {
  kNone,
  kConnect,         // could not connect (TCP/TLS/timeout/backoff); not sent
  kRefused,         // REFUSED_STREAM / above GOAWAY last-stream-id: not processed
  kReset,           // RST_STREAM from the peer before a complete response
  kConnectionLost,  // connection closed before the response
  kTimeout,         // request_timeout elapsed
  kShutdown,        // client destroyed
};
std::string_view TransportErrorName(TransportError e);

struct Response {
  int status = 0;  // 0 when no response was received
  Headers headers;
  std::string body;
  TransportError error = TransportError::kNone;
  std::string error_message;
  bool ok() const { return error == TransportError::kNone; }
};

using Callback = std::function<void(Response&&)>;

struct ClientStats {
  uint64_t connects = 0;  // connections established (after TLS + SETTINGS)
  uint64_t connect_failures = 0;
  uint64_t goaways_received = 0;
  uint64_t requests = 0;
  uint64_t refused = 0;
  uint64_t timeouts = 0;
  uint64_t connection_lost = 0;
};

class Client {
 public:
  explicit Client(ClientSettings settings);  // throws std::runtime_error on bad TLS config
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void Submit(Request request, Callback done);
  /// `done(i, response)` once per request, on I/O threads.
  void SubmitBatch(std::vector<Request> requests, std::function<void(size_t, Response&&)> done);
  /// Blocking convenience: one response per request, in order.
  std::vector<Response> Execute(std::vector<Request> requests);
  /// Blocking: `map(response)` runs on the I/O thread as each response completes (so
  /// responses need not be stored); one T per request, in order.
  template <typename T, typename Map>
  std::vector<T> ExecuteMapped(std::span<const Request> requests, Map map);
  /// Blocking: `on_response(i, response)` on I/O threads once per request; returns when
  /// every request has completed and no I/O thread refers to any of them any more. The
  /// requests are only read, never copied: a caller may reuse them (and their string
  /// capacity) for its next batch.
  void RunBatch(std::span<const Request> requests,
                const std::function<void(size_t, Response&&)>& on_response);

  ClientStats Stats() const;
  const ClientSettings& settings() const { return settings_; }

  class Loop;  // internal
  struct Counters;

 private:
  ClientSettings settings_;
  std::unique_ptr<Counters> counters_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<uint64_t> rr_{0};
};

template <typename T, typename Map>
std::vector<T> Client::ExecuteMapped(std::span<const Request> requests, Map map) {
  std::vector<T> out(requests.size());
  // RunBatch returns only after the last callback (its completion synchronises), so
  // capturing by reference is safe.
  RunBatch(requests, [&out, &map](size_t i, Response&& r) { out[i] = map(std::move(r)); });
  return out;
}

}  // namespace fanout::adapters::http2
