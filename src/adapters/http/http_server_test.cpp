#include "adapters/http/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>

#include "platform/text/percent.hpp"

namespace fanout::adapters::http {
namespace {

HttpServerSettings Small() {
  HttpServerSettings s;
  s.max_body_bytes = 1024;
  return s;
}

TEST(HttpServer, BridgesRequestsAndResponsesOverRealSockets) {
  app::HttpRequest seen;
  HttpServer server(
      [&](const app::HttpRequest& r) {
        seen = r;
        app::HttpResponse resp;
        resp.status = 202;
        resp.body = "{\"ok\":true}";
        resp.headers.emplace_back("ETag", "\"x\"");
        return resp;
      },
      Small());
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
  EXPECT_EQ(seen.headers["content-type"], "application/xml");
  EXPECT_EQ(seen.body, "<alert/>");
  EXPECT_EQ(seen.remote, "127.0.0.1");
  server.Stop();
  ClientResponse down = HttpCall("GET", url, "/", "", "", "", 1);
  EXPECT_EQ(down.status, 0);
  EXPECT_FALSE(down.error.empty());
}

TEST(HttpServer, PortInUseIsAClearError) {
  HttpServer a([](const app::HttpRequest&) { return app::HttpResponse{}; }, Small());
  auto port = a.Start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  HttpServer b([](const app::HttpRequest&) { return app::HttpResponse{}; }, Small());
  auto again = b.Start("127.0.0.1", *port);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("cannot listen"), std::string::npos);
}

TEST(FairQueue, ServesKeysRoundRobinAndBoundsEachKey) {
  FairQueue q;
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(q.Push(
        "flood", [&order, i] { order.push_back("f" + std::to_string(i)); }, 3));
  }
  EXPECT_FALSE(q.Push(
      "flood", [] {}, 3));  // its 4th waiting request is refused
  EXPECT_TRUE(q.Push(
      "other", [&order] { order.push_back("o"); }, 3));
  while (q.size() > 0) q.Pop()();
  // The other client's request waits for one of the flood's, not for all of them.
  EXPECT_EQ(order, (std::vector<std::string>{"f0", "o", "f1", "f2"}));
  q.Stop();
  EXPECT_FALSE(q.Pop());
}

TEST(HttpServer, ClientKeySeparatesProvidersBehindOneAddress) {
  app::HttpRequest a{"PUT", "/v1/alerts/AP1/x", {}, "", "10.0.0.1"};
  app::HttpRequest b{"PUT", "/v1/alerts/AP2/x", {}, "", "10.0.0.1"};
  app::HttpRequest d{"PUT", "/v1/devices/d1", {}, "", "10.0.0.1"};
  EXPECT_EQ(ClientKey(a), "10.0.0.1 AP1");
  EXPECT_EQ(ClientKey(b), "10.0.0.1 AP2");
  EXPECT_EQ(ClientKey(d), "10.0.0.1");
}

// Every handler thread blocked: /healthz is still answered (on the loop), and a client with
// too many requests waiting gets 429 with Retry-After at once.
TEST(HttpServer, HealthStaysUpAndAFloodingClientGets429) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> blocked{false};
  HttpServerSettings s = Small();
  s.handler_threads = 1;
  s.max_queued_per_client = 2;
  HttpServer server(
      [&](const app::HttpRequest& r) {
        if (r.target == "/block") {
          blocked = true;
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return release; });
        }
        app::HttpResponse out;
        out.body = "{}";
        return out;
      },
      s);
  // Declared after the server: a failed assertion releases the handler before the server
  // stops (Stop waits for it), instead of hanging.
  struct Release {
    std::mutex& mu;
    std::condition_variable& cv;
    bool& release;
    ~Release() {
      {
        std::lock_guard lock(mu);
        release = true;
      }
      cv.notify_all();
    }
  } release_at_exit{mu, cv, release};
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  std::string url = "http://127.0.0.1:" + std::to_string(*port);
  std::vector<std::future<ClientResponse>> waiting;
  // One runs (blocked), then two wait: the client's limit. The first must be in the handler
  // before the others arrive, else three would wait and the third be refused.
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(std::async(std::launch::async,
                                 [&] { return HttpCall("GET", url, "/block", "", "", "", 10); }));
    for (int j = 0; i == 0 && j < 500 && !blocked; ++j) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // Once all three are in (one blocked in the handler, two waiting), a 4th is refused at once.
  for (int i = 0; i < 500 && !(blocked && server.Stats().queued == 2); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(blocked);
  ASSERT_EQ(server.Stats().queued, 2u);
  ClientResponse busy = HttpCall("GET", url, "/more", "", "", "", 10);
  EXPECT_EQ(busy.status, 429);
  EXPECT_NE(busy.body.find("TOO_MANY_REQUESTS"), std::string::npos);
  EXPECT_EQ(HttpCall("GET", url, "/healthz", "", "", "", 2).status, 200);
  EXPECT_GE(server.Stats().rejected_busy, 1u);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& f : waiting) EXPECT_EQ(f.get().status, 200);
}

TEST(HttpServer, StreamsServerSentEventsWithoutHoldingAHandlerThread) {
  HttpServerSettings s = Small();
  s.handler_threads = 1;
  HttpServer server(
      [](const app::HttpRequest& r) {
        app::HttpResponse out;
        if (r.target == "/events") {
          out.content_type = "text/event-stream";
          out.stream = [n = 0](std::string& chunk) mutable {
            if (n == 3) return false;
            chunk = "data: " + std::to_string(n++) + "\n\n";
            return true;
          };
          return out;
        }
        out.body = "{}";
        return out;
      },
      s);
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_TRUE(port);
  std::string url = "http://127.0.0.1:" + std::to_string(*port);
  ClientResponse ev = HttpCall("GET", url, "/events", "", "", "");
  EXPECT_EQ(ev.status, 200);
  EXPECT_EQ(ev.body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  EXPECT_EQ(HttpCall("GET", url, "/other", "", "", "").status, 200);
}

}  // namespace
}  // namespace fanout::adapters::http
