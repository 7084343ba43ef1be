#include "adapters/http/http_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

#include "adapters/http2/server.hpp"

namespace fanout::adapters::http {

bool FairQueue::Push(const std::string& key, Task task, size_t max_per_key) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    auto& q = per_key_[key];
    if (max_per_key > 0 && q.size() >= max_per_key) return false;
    if (q.empty()) ring_.push_back(key);
    q.push_back(std::move(task));
    ++size_;
  }
  cv_.notify_one();
  return true;
}

FairQueue::Task FairQueue::Pop() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopped_ || !ring_.empty(); });
  if (stopped_) return {};
  std::string key = std::move(ring_.front());
  ring_.pop_front();
  auto it = per_key_.find(key);
  Task task = std::move(it->second.front());
  it->second.pop_front();
  --size_;
  if (it->second.empty()) {
    per_key_.erase(it);
  } else {
    ring_.push_back(std::move(key));  // its next request waits for every other key's turn
  }
  return task;
}

void FairQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    per_key_.clear();
    ring_.clear();
    size_ = 0;
  }
  cv_.notify_all();
}

size_t FairQueue::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

std::string ClientKey(const app::HttpRequest& request) {
  static constexpr std::string_view kAlerts = "/v1/alerts/";
  std::string key = request.remote;
  if (request.method == "PUT" && request.target.starts_with(kAlerts)) {
    size_t end = request.target.find('/', kAlerts.size());
    if (end != std::string::npos) {
      key += ' ';
      key.append(request.target, kAlerts.size(), end - kAlerts.size());
    }
  }
  return key;
}

namespace {

app::HttpResponse Busy(int status, const std::string& code, const std::string& message,
                       int64_t retry_after_s = 1) {
  app::HttpResponse r = app::ErrorResponse(status, code, message);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

http2::ServerResponse ToServer(app::HttpResponse&& out) {
  http2::ServerResponse r;
  r.status = out.status;
  r.headers.reserve(out.headers.size() + 1);
  if (!out.content_type.empty()) r.headers.emplace_back("content-type", out.content_type);
  for (auto& [k, v] : out.headers) {
    std::string name = k;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    r.headers.emplace_back(std::move(name), std::move(v));
  }
  r.body = std::move(out.body);
  return r;
}

}  // namespace

HttpServer::HttpServer(Handler handler, HttpServerSettings settings)
    : handler_(std::move(handler)),
      settings_(std::move(settings)),
      client_limit_({settings_.client_requests_per_s, settings_.client_burst, 100'000}) {}

HttpServer::~HttpServer() { Stop(); }

Result<int, Error> HttpServer::Start(const std::string& host, int port) {
  http2::ServerSettings s;
  bool v6 = host.find(':') != std::string::npos && !host.starts_with('[');
  s.listen = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  s.threads = std::max(1, settings_.io_threads);
  s.max_concurrent_streams = 100;
  s.tls_cert_file = settings_.tls_cert_file;
  s.tls_key_file = settings_.tls_key_file;
  s.tls_http1 = true;
  s.tls_client_ca_file = settings_.tls_client_ca_file;
  // One byte more than the limit, so the app itself answers 413 with its own message.
  s.max_request_body = settings_.max_body_bytes + 1;
  s.header_timeout = settings_.header_timeout;
  s.body_timeout = settings_.body_timeout;
  s.idle_timeout = settings_.idle_timeout;
  s.max_connections = settings_.max_connections;
  s.max_connections_per_client = settings_.max_connections_per_client;
  server_ = std::make_unique<http2::Server>(
      std::move(s), [this](http2::ServerRequest& req, http2::Responder responder) {
        requests_++;
        app::HttpRequest r;
        r.method = std::move(req.method);
        r.target = std::move(req.path);
        for (auto& [k, v] : req.headers) r.headers[k] = std::move(v);
        if (!req.authority.empty()) r.headers["host"] = std::move(req.authority);
        r.body = std::move(req.body);
        r.remote = req.remote;
        r.client_cert = req.client_cert;
        if (r.method == "GET" && r.target == "/healthz") {  // never waits for a handler
          responder.Send(ToServer(handler_(r)));
          return;
        }
        if (client_limit_.enabled()) {
          auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
          if (int64_t wait = client_limit_.Take(r.remote, now); wait > 0) {
            rate_limited_++;
            responder.Send(ToServer(Busy(429, "RATE_LIMITED",
                                         "this client sends requests faster than its limit "
                                         "(http.client_requests_per_s); retry after the time in "
                                         "Retry-After",
                                         app::RetryAfterSeconds(wait))));
            return;
          }
        }
        std::string key = ClientKey(r);
        auto task = [this, r = std::move(r), responder]() mutable {
          if (responder.Gone()) return;
          app::HttpResponse out = handler_(r);
          if (!out.stream) {
            responder.Send(ToServer(std::move(out)));
            return;
          }
          // A streamed body (server-sent events): pumped on a thread of its own, so an open
          // console never holds a handler thread.
          if (open_streams_.fetch_add(1) >= settings_.max_event_streams) {
            open_streams_--;
            responder.Send(ToServer(Busy(503, "TOO_MANY_STREAMS",
                                         "too many open event streams on this server; retry "
                                         "later")));
            return;
          }
          auto stream = std::move(out.stream);
          out.stream = nullptr;
          responder.Begin(ToServer(std::move(out)));
          // Detached: a finished stream leaves nothing behind (a joinable thread per console
          // ever opened would pile up); Stop() waits for the count to reach zero instead.
          std::thread([this, stream = std::move(stream), responder] {
            std::string chunk;
            while (!stopping_ && !responder.Gone()) {
              chunk.clear();
              if (!stream(chunk)) break;
              if (!chunk.empty() && !responder.Write(chunk)) break;
            }
            responder.End();
            std::lock_guard lock(streams_mu_);
            open_streams_--;
            streams_done_.notify_all();  // the last use of `this`
          }).detach();
        };
        if (!queue_.Push(key, std::move(task), settings_.max_queued_per_client)) {
          rejected_busy_++;
          responder.Send(ToServer(Busy(429, "TOO_MANY_REQUESTS",
                                       "too many requests from this client are waiting; retry "
                                       "after the time in Retry-After")));
        }
      });
  try {
    server_->Start();
  } catch (const std::exception& e) {
    server_.reset();
    return Fail(Error{Error::Kind::kInvalid, "cannot listen on " + host + ":" +
                                                 std::to_string(port) + " (" + e.what() + ")"});
  }
  stopping_ = false;
  for (int i = 0; i < std::max(1, settings_.handler_threads); ++i) {
    workers_.emplace_back([this] { Work(); });
  }
  return static_cast<int>(server_->port());
}

void HttpServer::Work() {
  for (;;) {
    FairQueue::Task task = queue_.Pop();
    if (!task) return;
    task();
  }
}

void HttpServer::Stop() {
  if (!server_) return;
  stopping_ = true;
  server_->Stop();  // no new requests; answers still posted go nowhere
  queue_.Stop();
  for (auto& t : workers_) t.join();
  workers_.clear();
  {
    // Each open stream notices `stopping_` within a second.
    std::unique_lock lock(streams_mu_);
    streams_done_.wait(lock, [this] { return open_streams_ == 0; });
  }
  server_.reset();
}

HttpServerStats HttpServer::Stats() const {
  HttpServerStats s;
  if (server_) {
    http2::ServerStats x = server_->Stats();
    s.connections_open = x.connections_open;
    s.connections_refused = x.connections_refused;
    s.timeouts = x.timeouts;
  }
  s.requests = requests_;
  s.rejected_busy = rejected_busy_;
  s.rate_limited = rate_limited_;
  s.queued = queue_.size();
  return s;
}

ClientResponse HttpCall(const std::string& method, const std::string& url, const std::string& path,
                        const std::string& bearer, const std::string& body,
                        const std::string& content_type, int timeout_s) {
  ClientResponse out;
  httplib::Client cli(url);
  cli.set_connection_timeout(timeout_s, 0);
  cli.set_read_timeout(timeout_s, 0);
  cli.set_write_timeout(timeout_s, 0);
  cli.set_tcp_nodelay(true);
  httplib::Headers headers;
  if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
  httplib::Result res(nullptr, httplib::Error::Unknown);
  if (method == "PUT") {
    res = cli.Put(path, headers, body, content_type);
  } else if (method == "POST") {
    res = cli.Post(path, headers, body, content_type);
  } else if (method == "DELETE") {
    res = cli.Delete(path, headers);
  } else {
    res = cli.Get(path, headers);
  }
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  return out;
}

}  // namespace fanout::adapters::http
