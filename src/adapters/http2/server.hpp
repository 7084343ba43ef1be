#pragma once
// Http2Server: a small multi-threaded HTTP/2 server (libnghttp2 server sessions),
// h2c with prior knowledge, or TLS with ALPN h2 when a cert/key is given. A cleartext
// port also answers plain HTTP/1.1 (curl, scripts): a connection whose first bytes are
// not the HTTP/2 client preface is served as HTTP/1.1, one request at a time, by the
// same handler (ServerRequest::http1 says which). No h2c Upgrade; TLS is h2 only unless
// `tls_http1` (then ALPN decides, and a client without ALPN gets HTTP/1.1).
//
// Threads: `threads` workers, each with its own epoll loop; all share the listening
// socket (EPOLLEXCLUSIVE) and keep the connections they accept. The handler runs on
// the worker thread that owns the connection, so it must be thread-safe and fast;
// delays (ServerResponse::delay) are timers, not sleeps.
// An asynchronous handler (the region API: handlers that may block on disk or PostgreSQL
// run on the caller's own threads) gets a Responder and answers later, from any thread,
// with one response or a streamed one (server-sent events); the loop never waits for it.
// Limits against idle and slow clients (slowloris): a header, body and idle timeout, and a
// bound on connections in total and per client address; all off by default.
// Lifecycle: construct, Start() (throws on bind/TLS errors), Stop() or destructor.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http2/common.hpp"

namespace fanout::adapters::http2 {

struct ServerRequest {
  std::string method;
  std::string path;
  std::string authority;
  Headers headers;  // lowercase names, pseudo-headers excluded
  std::string body;
  bool body_truncated = false;  // longer than ServerSettings::max_request_body
  // The connection it came on, unique within this Server (never reused): for state a
  // handler keeps per connection. A connection is served by one worker thread only.
  uint64_t connection_id = 0;
  bool http1 = false;       // came over HTTP/1.x (cleartext port), not HTTP/2
  std::string remote;       // the client's address (IP, without port)
  std::string client_cert;  // CN of the verified client certificate (tls_client_ca_file)
};

struct ServerResponse {
  int status = 200;
  Headers headers;
  std::string body;
  std::chrono::milliseconds delay{0};  // answer after this long, without blocking the loop
  bool reset = false;  // answer with RST_STREAM(INTERNAL_ERROR) instead (HTTP/1.1: close)
  std::function<void()> on_sent;  // called when the response is handed to nghttp2
                                  // (not if the stream died before; not for resets)
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;

/// The way back to one request, for asynchronous handlers. Copyable; every call is
/// thread-safe and never blocks. Answer exactly once: Send(), or Begin() + Write()... + End()
/// for a streamed body (HTTP/1.1 chunked, HTTP/2 DATA frames). Calls after the first answer
/// (or after End) are ignored; a response to a client that has gone is dropped.
class Responder {
 public:
  struct Exchange;  // internal
  Responder() = default;
  explicit Responder(std::shared_ptr<Exchange> x) : x_(std::move(x)) {}
  void Send(ServerResponse response) const;
  void Begin(ServerResponse head) const;  // status and headers; the body follows by Write
  /// False once the client has gone (or the stream was ended): stop producing.
  bool Write(std::string chunk) const;
  void End() const;
  bool Gone() const;

 private:
  std::shared_ptr<Exchange> x_;
};

using AsyncHandler = std::function<void(ServerRequest& request, Responder responder)>;

struct ServerSettings {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 = ephemeral
  int threads = 2;
  uint32_t max_concurrent_streams = 1000;  // advertised SETTINGS_MAX_CONCURRENT_STREAMS
  std::string tls_cert_file;               // both set: TLS only; else h2c
  std::string tls_key_file;
  bool tls_http1 = false;          // TLS also serves HTTP/1.1 (ALPN http/1.1 or none); else h2 only
  std::string tls_client_ca_file;  // clients may present certificates signed by it
  uint64_t goaway_after_streams = 0;  // per connection: GOAWAY(NO_ERROR) after N streams
  size_t max_request_body = 1 << 20;
  // HTTP/1.1 (cleartext only): request line + headers larger than this get 431.
  size_t max_http1_header_bytes = 16 * 1024;
  // Rapid-reset limiter (CVE-2023-44487): Debian's default (1000 burst, 33/s) kills
  // connections of honest clients that cancel timed-out requests; raised here.
  uint64_t stream_reset_burst = 10000;
  uint64_t stream_reset_rate = 10000;
  // Response header names never HPACK-indexed (per-response unique values, "apns-id").
  std::vector<std::string> no_index_headers;
  // Slow and idle clients (0 = no limit). header_timeout: the TLS handshake, and the header
  // block of an HTTP/1.1 request, counted from accept (first request) or from its first byte
  // (later ones); 408 and close. body_timeout: the body after the header block (408 and
  // close); an HTTP/2 request must be complete within header + body timeout (else
  // RST_STREAM(CANCEL)). idle_timeout: a connection with no request in progress closes after
  // this long without bytes (HTTP/2: GOAWAY first).
  std::chrono::milliseconds header_timeout{0};
  std::chrono::milliseconds body_timeout{0};
  std::chrono::milliseconds idle_timeout{0};
  // Connections beyond these are answered "503" (HTTP/1.1 text) and closed at once.
  size_t max_connections = 0;
  size_t max_connections_per_client = 0;  // per client address
  // A streamed response whose client reads slower than this many unsent bytes is dropped.
  size_t max_stream_backlog = 4 << 20;
};

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t streams = 0;
  uint64_t goaways_sent = 0;
  uint64_t refused_after_goaway = 0;
  uint32_t max_concurrent_streams_seen = 0;  // on any one connection
  uint64_t http1_requests = 0;               // requests handled over HTTP/1.x
  uint64_t connections_open = 0;
  uint64_t connections_refused = 0;  // over max_connections / max_connections_per_client
  uint64_t timeouts = 0;             // connections or streams closed by a timeout
};

class Server {
 public:
  Server(ServerSettings settings, Handler handler);
  Server(ServerSettings settings, AsyncHandler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void Start();
  void Stop();
  uint16_t port() const { return port_; }
  bool tls() const { return !settings_.tls_cert_file.empty(); }
  ServerStats Stats() const;

  class Worker;  // internal
  struct Counters;
  struct Clients;

 private:
  ServerSettings settings_;
  Handler handler_;
  AsyncHandler async_handler_;
  std::unique_ptr<Clients> clients_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::unique_ptr<Counters> counters_;
  std::atomic<uint64_t> next_connection_id_{16};  // below 16: the workers' epoll tags
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace fanout::adapters::http2
