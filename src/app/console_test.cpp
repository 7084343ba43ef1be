// The operator console's sign-in and state, through the API as a browser uses it: the page
// is public, everything else needs the session cookie the admin token buys (or the token).
#include "app/console.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "adapters/memory/file_archive.hpp"
#include "adapters/memory/memory_bus.hpp"
#include "adapters/memory/memory_device_feed.hpp"
#include "adapters/memory/memory_protocol_log.hpp"
#include "app/api.hpp"
#include "testing/fakes.hpp"

namespace fanout::app {
namespace {

using domain::pipeline::Event;
using domain::pipeline::EventType;
using nlohmann::json;

class ConsoleTest : public ::testing::Test {
 protected:
  ConsoleTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("fanout-console-" + std::to_string(::getpid()))),
        archive_(dir_),
        registry_("r0", store_, feed_, ProviderSettings{}, 4),
        ingest_(RegionSettings{"r0", 0, 2}, ProviderSettings{}, PipelineSettings{}, decoder_,
                archive_, log_, bus_, clock_),
        api_(ApiSettings{{{"AP1", "t-ap1"}}, "t-dev", "t-admin", Roles{}},
             RegionSettings{"r0", 0, 2}, ingest_, registry_, log_),
        console_(RegionSettings{"r0", 0, 2}, {"r0", "r1"}, "t-admin", log_, clock_) {
    EXPECT_TRUE(registry_.Start());
    api_.SetConsole(&console_);
  }
  ~ConsoleTest() override { std::filesystem::remove_all(dir_); }

  HttpResponse Call(std::string method, std::string target,
                    std::map<std::string, std::string> headers = {}, std::string body = "") {
    return api_.Handle(HttpRequest{std::move(method), std::move(target), std::move(headers),
                                   std::move(body), "192.0.2.1"});
  }
  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return {};
  }
  void Add(EventType type, std::string region, std::string unit = "", uint32_t batch = 0,
           uint64_t accepted = 0, int64_t t = 0) {
    Event e;
    e.type = type;
    e.alert_id = "a1";
    e.region = std::move(region);
    e.hash = "h1";
    e.provider = "AP1";
    e.priority = "high";
    e.owner = 1;
    e.unit = std::move(unit);
    e.batch = batch;
    e.accepted = accepted;
    e.targeted = type == EventType::kUnitQueued ? 30 : 0;
    e.count = type == EventType::kUnitQueued ? 3 : 1;
    e.t_ms = 1000 + t;
    e.last_push_ms = 1000 + t;
    e.detail = type == EventType::kTakeover ? "r1 silent for 3000 ms" : "";
    ASSERT_TRUE(log_.Append(e).has_value());
  }

  std::filesystem::path dir_;
  testing::ManualClock clock_;
  testing::FakeAlertDecoder decoder_;
  testing::FakeDeviceStore store_;
  adapters::memory::MemoryDeviceFeed feed_;
  adapters::memory::MemoryBus bus_;
  adapters::memory::MemoryProtocolLog log_;
  adapters::memory::FileArchive archive_;
  Registry registry_;
  Ingest ingest_;
  Api api_;
  Console console_;
};

TEST_F(ConsoleTest, ThePageIsPublicTheDataNeedsASignIn) {
  HttpResponse page = Call("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("id=\"login\""), std::string::npos);
  // Nothing from the internet (the SVG namespace URI is a name, not a fetch).
  for (const char* fetch : {"src=\"http", "href=\"http", "url(http", "fetch(\"http", "@import"}) {
    EXPECT_EQ(page.body.find(fetch), std::string::npos) << fetch;
  }
  EXPECT_EQ(Call("GET", "/v1/console/state").status, 401);
  EXPECT_EQ(Call("GET", "/v1/console/events").status, 401);
  EXPECT_EQ(Call("GET", "/v1/console/state", {{"cookie", "fanout_session=guess"}}).status, 401);
  // The token in the URL is not a way in.
  EXPECT_EQ(Call("GET", "/v1/console/state?token=t-admin").status, 401);
}

TEST_F(ConsoleTest, SignInBuysASessionCookieSignOutEndsIt) {
  EXPECT_EQ(Call("POST", "/v1/console/login", {{"content-type", "application/json"}},
                 R"({"token":"wrong"})")
                .status,
            401);
  HttpResponse in = Call("POST", "/v1/console/login",
                         {{"content-type", "application/x-www-form-urlencoded"}}, "token=t-admin");
  ASSERT_EQ(in.status, 204);
  const std::string cookie = Header(in, "Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));  // fanout_session=...
  EXPECT_EQ(Call("GET", "/v1/console/state", {{"cookie", "x=1; " + session}}).status, 200);
  EXPECT_EQ(Call("GET", "/v1/console/state", {{"authorization", "Bearer t-admin"}}).status, 200);
  EXPECT_EQ(Call("POST", "/v1/console/logout", {{"cookie", session}}).status, 204);
  EXPECT_EQ(Call("GET", "/v1/console/state", {{"cookie", session}}).status, 401);
  // Sessions expire (12 h).
  HttpResponse again = Call("POST", "/v1/console/login", {{"content-type", "application/json"}},
                            R"({"token":"t-admin"})");
  const std::string s2 =
      Header(again, "Set-Cookie").substr(0, Header(again, "Set-Cookie").find(';'));
  clock_.Advance(12 * 3600 * 1000 + 1);
  EXPECT_EQ(Call("GET", "/v1/console/state", {{"cookie", s2}}).status, 401);
}

TEST_F(ConsoleTest, TheStateShowsProgressPerPlatformAndRegionAndTheTakeover) {
  Add(EventType::kReceived, "r0");
  Add(EventType::kProcessed, "r1");
  Add(EventType::kUnitQueued, "r1", "apns/all/0");
  Add(EventType::kBatchDone, "r1", "apns/all/0", 0, 10, 100);
  Add(EventType::kTakeover, "r0", "", 0, 0, 3000);
  Add(EventType::kBatchDone, "r0", "apns/all/0", 1, 10, 3200);
  json state =
      json::parse(Call("GET", "/v1/console/state", {{"authorization", "Bearer t-admin"}}).body);
  EXPECT_EQ(state["region"], "r0");
  EXPECT_EQ(state["regions"], json::array({"r0", "r1"}));
  ASSERT_EQ(state["alerts"].size(), 1u);
  const json& a = state["alerts"][0];
  EXPECT_EQ(a["owner"], "r1");
  EXPECT_EQ(a["targeted"], 30);
  EXPECT_EQ(a["sent"], 20);
  EXPECT_EQ(a["platforms"]["apns"]["targeted"], 30);
  EXPECT_EQ(a["platforms"]["apns"]["sent"], 20);
  EXPECT_EQ(a["regions"], (json{{"r0", 10}, {"r1", 10}}));
  EXPECT_EQ(a["curve"], json::parse("[[100,10],[3200,20]]"));
  ASSERT_EQ(a["takeovers"].size(), 1u);
  EXPECT_EQ(a["takeovers"][0]["region"], "r0");
  EXPECT_EQ(a["takeovers"][0]["reason"], "r1 silent for 3000 ms");
}

TEST_F(ConsoleTest, ServerSentEventsStartWithTheState) {
  Add(EventType::kReceived, "r0");
  HttpResponse r = Call("GET", "/v1/console/events", {{"authorization", "Bearer t-admin"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream");
  ASSERT_TRUE(r.stream);
  std::string chunk;
  ASSERT_TRUE(r.stream(chunk));
  EXPECT_TRUE(chunk.starts_with("event: state\ndata: {")) << chunk;
  EXPECT_NE(chunk.find("\"a1\""), std::string::npos);
  EXPECT_TRUE(chunk.ends_with("\n\n"));
}

}  // namespace
}  // namespace fanout::app
