#include "adapters/http/http_server.hpp"

#include <gtest/gtest.h>

#include "platform/text/percent.hpp"

namespace fanout::adapters::http {
namespace {

TEST(HttpServer, BridgesRequestsAndResponsesOverRealSockets) {
  app::HttpRequest seen;
  HttpServer server(
      [&](const app::HttpRequest& r) {
        seen = r;
        app::HttpResponse resp;
        resp.status = 202;
        resp.body = "{\"ok\":true}";
        return resp;
      },
      1024);
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port) << port.error().message;
  std::string url = "http://127.0.0.1:" + std::to_string(*port);
  ClientResponse r = HttpCall("PUT", url, "/v1/alerts/AP1/" + platform::PercentEncode("a/b c"),
                              "tok", "<alert/>", "application/xml");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "{\"ok\":true}");
  EXPECT_EQ(seen.method, "PUT");
  EXPECT_EQ(seen.target, "/v1/alerts/AP1/a%2Fb%20c");  // raw, still encoded
  EXPECT_EQ(seen.headers["authorization"], "Bearer tok");
  EXPECT_EQ(seen.body, "<alert/>");
  server.Stop();
  ClientResponse down = HttpCall("GET", url, "/", "", "", "", 1);
  EXPECT_EQ(down.status, 0);
  EXPECT_FALSE(down.error.empty());
}

TEST(HttpServer, PortInUseIsAClearError) {
  HttpServer a([](const app::HttpRequest&) { return app::HttpResponse{}; }, 10);
  auto port = a.Start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  HttpServer b([](const app::HttpRequest&) { return app::HttpResponse{}; }, 10);
  auto again = b.Start("127.0.0.1", *port);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("cannot listen"), std::string::npos);
}

}  // namespace
}  // namespace fanout::adapters::http
