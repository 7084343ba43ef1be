#pragma once
// HTTP/1.1 server for the region API on cpp-httplib (Debian libcpp-httplib-dev): a thread
// pool, keep-alive, body limit. Routing and auth live in app::Api; this only translates.
// Start() binds (port 0 = ephemeral) and serves on a background thread; Stop() joins.
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "app/api.hpp"

namespace httplib {
class Server;
}

namespace fanout::adapters::http {

class HttpServer {
 public:
  using Handler = std::function<app::HttpResponse(const app::HttpRequest&)>;
  HttpServer(Handler handler, size_t max_body_bytes);
  ~HttpServer();

  /// Binds host:port and starts serving; returns the bound port or an error message.
  Result<int, Error> Start(const std::string& host, int port);
  void Stop();

 private:
  Handler handler_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
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
