#include "adapters/http/http_server.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace fanout::adapters::http {

HttpServer::HttpServer(Handler handler, size_t max_body_bytes)
    : handler_(std::move(handler)), server_(std::make_unique<httplib::Server>()) {
  // Read one byte more than the limit so the app answers 413 with its own message.
  server_->set_payload_max_length(max_body_bytes + 1);
  server_->set_keep_alive_max_count(10000);
  // httplib's default also sets SO_REUSEPORT, which lets a second server silently share a
  // port already in use; an operator must get "address in use" instead.
  // TCP_NODELAY: httplib writes a response in several send(2) calls (status line and
  // headers, then the body); with Nagle's algorithm the second waits for the client's
  // delayed ACK, 40+ ms per request on a kept-alive connection. Set on the listening socket,
  // it is inherited by every accepted one (Linux). (Our socket options replace httplib's,
  // so this is the one place it is set.)
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  auto bridge = [this](const httplib::Request& req, httplib::Response& res) {
    app::HttpRequest r;
    r.method = req.method;
    r.target = req.target.empty() ? req.path : req.target;
    for (const auto& [k, v] : req.headers) {
      std::string name = k;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      r.headers[name] = v;
    }
    r.body = req.body;
    r.remote = req.remote_addr;
    app::HttpResponse out = handler_(r);
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    if (out.stream) {
      // Server-sent events: chunks until the stream ends or the client goes away (one of
      // the server's threads is held meanwhile).
      res.set_chunked_content_provider(
          out.content_type, [stream = std::move(out.stream)](size_t, httplib::DataSink& sink) {
            std::string chunk;
            if (!sink.is_writable() || !stream(chunk)) {
              sink.done();
              return true;
            }
            return sink.write(chunk.data(), chunk.size());
          });
      return;
    }
    if (!out.content_type.empty()) res.set_content(out.body, out.content_type);
  };
  server_->Get(".*", bridge);
  server_->Put(".*", bridge);
  server_->Post(".*", bridge);
  server_->Delete(".*", bridge);
}

HttpServer::~HttpServer() { Stop(); }

Result<int, Error> HttpServer::Start(const std::string& host, int port) {
  int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return Fail(Error{Error::Kind::kInvalid, "cannot listen on " + host + ":" +
                                                 std::to_string(port) +
                                                 " (in use or not a local address)"});
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs; wait for it so Stop() cannot race.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return bound;
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
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
