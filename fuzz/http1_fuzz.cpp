// Fuzz target: the HTTP/1.1 side of the event-driven server (request line, headers,
// framing, pipelining, timeouts) as the region API runs it: asynchronous handler, streamed
// and delayed answers. Each input is one connection's bytes, then a half-close.
// Seeds: fuzz/seeds/http1.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "adapters/http2/server.hpp"
#include "fuzz_util.hpp"

namespace {

fanout::adapters::http2::Server& TheServer() {
  using namespace fanout::adapters::http2;
  // Destroyed at exit: stopped cleanly, so the leak check sees every connection freed.
  static const std::unique_ptr<Server> server = [] {
    ServerSettings s;
    s.threads = 1;
    s.max_request_body = 4096;
    s.header_timeout = std::chrono::milliseconds(500);
    s.body_timeout = std::chrono::milliseconds(500);
    s.idle_timeout = std::chrono::milliseconds(500);
    auto srv = std::make_unique<Server>(s, [](ServerRequest& req, Responder responder) {
      if (req.path == "/stream") {
        responder.Begin(ServerResponse{});
        responder.Write(req.body);
        responder.Write("tail");
        responder.End();
        return;
      }
      ServerResponse r;
      r.status = req.body_truncated ? 413 : 200;
      r.headers = {{"content-type", "text/plain"}};
      r.body = req.method + " " + req.path + " " + std::to_string(req.body.size());
      responder.Send(std::move(r));
    });
    srv->Start();
    return srv;
  }();
  return *server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fanout::fuzz::RoundTrip(TheServer().port(), {}, data, size);
  return 0;
}
