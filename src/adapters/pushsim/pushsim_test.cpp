#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>

#include "adapters/http2/client.hpp"
#include "adapters/pushsim/push_sim.hpp"

namespace fanout::adapters::pushsim {
namespace {

using http2::Request;
using http2::Response;

const std::string kTok(64, 'a');

Request Apns(std::string token = kTok, std::string body = R"({"aps":{"alert":"x"}})") {
  Request r;
  r.path = "/3/device/" + token;
  r.headers = {{"apns-topic", "de.bund"}, {"apns-push-type", "alert"}, {"apns-priority", "10"}};
  r.body = std::move(body);
  return r;
}

Request Fcm(std::string body, std::string project = "p1") {
  Request r;
  r.path = "/v1/projects/" + project + "/messages:send";
  r.body = std::move(body);
  return r;
}

class SimTest : public ::testing::Test {
 protected:
  void StartSim(PushSimSettings s = {}) {
    sim_ = std::make_unique<PushSim>(std::move(s));
    sim_->Start();
    http2::ClientSettings cs;
    cs.endpoint = *http2::ParseEndpoint(sim_->endpoint());
    cs.connections = 1;
    client_ = std::make_unique<http2::Client>(cs);
  }
  Response Send(Request r) {
    std::vector<Request> v;
    v.push_back(std::move(r));
    return std::move(client_->Execute(std::move(v))[0]);
  }
  std::string Reason(const Response& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("reason")) return j["reason"];
    if (j.is_object() && j.contains("error")) return j["error"]["status"];
    return "<none>";
  }
  std::unique_ptr<PushSim> sim_;
  std::unique_ptr<http2::Client> client_;
};

struct H1Reply {
  int status = 0;  // 0: no HTTP/1.1 response
  std::string body;
};

// One HTTP/1.1 request on a plain socket with "Connection: close"; reads to EOF (curl's view).
H1Reply Http1(uint16_t port, std::string_view method, std::string_view path,
              std::string_view body = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  H1Reply r;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = std::string(method) + " " + std::string(path) +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8\r\nConnection: close\r\n" +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                    std::string(body);
  [[maybe_unused]] ssize_t w = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string in;
  char buf[16384];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) in.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t end = in.find("\r\n\r\n");
  if (!in.starts_with("HTTP/1.1 ") || end == std::string::npos) return r;
  r.status = std::stoi(in.substr(9, 3));
  r.body = in.substr(end + 4);
  return r;
}

TEST(FaultSpec, ParsesTheDocumentedSpec) {
  std::string err;
  auto f = FaultSpec::Parse(
      "429=0.01,500=0.02,503=0.01,goaway=50000,unregistered=0.001,latency_ms=20,reset=0.005,seed=9",
      &err);
  ASSERT_TRUE(f) << err;
  EXPECT_DOUBLE_EQ(f->rate_429, 0.01);
  EXPECT_DOUBLE_EQ(f->rate_500, 0.02);
  EXPECT_DOUBLE_EQ(f->rate_503, 0.01);
  EXPECT_DOUBLE_EQ(f->rate_reset, 0.005);
  EXPECT_DOUBLE_EQ(f->unregistered, 0.001);
  EXPECT_EQ(f->goaway_every, 50000u);
  EXPECT_EQ(f->latency_ms, 20);
  EXPECT_EQ(f->seed, 9u);
  EXPECT_TRUE(FaultSpec::Parse("", &err));
  EXPECT_FALSE(FaultSpec::Parse("429=2", &err));
  EXPECT_FALSE(FaultSpec::Parse("teapot=0.1", &err));
  EXPECT_THAT(err, ::testing::HasSubstr("teapot"));
  EXPECT_FALSE(FaultSpec::Parse("goaway=x", &err));
  EXPECT_FALSE(FaultSpec::Parse("429", &err));
}

TEST(FaultSpec, DrawsAreDeterministicAndMatchTheRates) {
  FaultSpec f;
  f.rate_429 = 0.1;
  f.rate_503 = 0.2;
  f.seed = 42;
  int n429 = 0, n503 = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    Fault a = DrawFault(f, i);
    ASSERT_EQ(a, DrawFault(f, i));
    n429 += a == Fault::k429;
    n503 += a == Fault::k503;
  }
  EXPECT_NEAR(n429, 10000, 600);
  EXPECT_NEAR(n503, 20000, 800);
  FaultSpec g = f;
  g.seed = 43;
  int differ = 0;
  for (uint64_t i = 0; i < 1000; ++i) differ += DrawFault(f, i) != DrawFault(g, i);
  EXPECT_GT(differ, 100);
  f.unregistered = 0.25;
  int dead = 0;
  for (int i = 0; i < 10000; ++i) dead += TokenIsDead(f, "tok" + std::to_string(i));
  EXPECT_NEAR(dead, 2500, 250);
}

TEST_F(SimTest, ApnsValidatesLikeApple) {
  StartSim();
  EXPECT_EQ(Send(Apns()).status, 200);
  auto ok = Send(Apns());
  ASSERT_NE(http2::FindHeader(ok.headers, "apns-id"), nullptr);
  EXPECT_EQ(http2::FindHeader(ok.headers, "apns-id")->size(), 36u);

  auto r = Apns();
  r.method = "GET";
  r.body.clear();
  EXPECT_EQ(Send(r).status, 405);
  EXPECT_EQ(Reason(Send(r)), "MethodNotAllowed");
  EXPECT_EQ(Reason(Send(Apns("abc"))), "BadDeviceToken");
  r = Apns();
  r.headers.erase(r.headers.begin());
  EXPECT_EQ(Reason(Send(r)), "MissingTopic");
  r = Apns();
  r.headers[1].second = "shout";
  EXPECT_EQ(Reason(Send(r)), "InvalidPushType");
  r = Apns();
  r.headers[2].second = "7";
  EXPECT_EQ(Reason(Send(r)), "BadPriority");
  r = Apns();
  r.headers.emplace_back("apns-expiration", "tomorrow");
  EXPECT_EQ(Reason(Send(r)), "BadExpirationDate");
  r = Apns();
  r.headers.emplace_back("apns-id", "123");
  EXPECT_EQ(Reason(Send(r)), "BadMessageId");
  r = Apns();
  r.headers.emplace_back("apns-collapse-id", std::string(65, 'c'));
  EXPECT_EQ(Reason(Send(r)), "BadCollapseId");
  EXPECT_EQ(Reason(Send(Apns(kTok, ""))), "PayloadEmpty");
  auto big = Send(Apns(kTok, "{\"a\":\"" + std::string(4100, 'x') + "\"}"));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(Reason(big), "PayloadTooLarge");
  // Exactly 4096 bytes is allowed.
  std::string exact = "{\"a\":\"" + std::string(4096 - 8, 'x') + "\"}";
  ASSERT_EQ(exact.size(), 4096u);
  EXPECT_EQ(Send(Apns(kTok, exact)).status, 200);
  EXPECT_EQ(Reason(Send(Apns(kTok, "{oops"))), "BadPayload");
  r = Apns();
  r.path = "/3/devices/x";
  EXPECT_EQ(Reason(Send(r)), "BadPath");

  auto st = sim_->Stats();
  EXPECT_EQ(st.Count("apns", "200"), 3u);
  EXPECT_EQ(st.Count("apns", "413"), 1u);
  EXPECT_EQ(st.deliveries, 3u);
}

TEST_F(SimTest, FcmValidatesLikeGoogle) {
  PushSimSettings s;
  s.fcm_project = "p1";
  StartSim(s);
  const std::string tok = "abc:APA91b" + std::string(30, 'z');
  auto ok = Send(Fcm(R"({"message":{"token":")" + tok + R"(","data":{"alert_id":"X"}}})"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_THAT(ok.body, ::testing::MatchesRegex(R"(\{"name":"projects/p1/messages/0:[0-9]+"\})"));
  auto bad_json = Send(Fcm("{"));
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(Reason(bad_json), "INVALID_ARGUMENT");
  auto no_token = Send(Fcm(R"({"message":{"data":{}}})"));
  EXPECT_EQ(no_token.status, 400);
  EXPECT_THAT(no_token.body, ::testing::HasSubstr("message.token"));
  EXPECT_THAT(no_token.body, ::testing::HasSubstr("google.rpc.BadRequest"));
  EXPECT_EQ(
      Send(Fcm(R"({"message":{"token":")" + tok + R"(","android":{"priority":"URGENT"}}})")).status,
      400);
  EXPECT_EQ(Send(Fcm(R"({"message":{"token":")" + tok + R"("}})", "p2")).status, 403);
  auto d = sim_->Deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].alert_id, "X");
  EXPECT_EQ(d[0].token, tok);
}

TEST_F(SimTest, UnregisteredTokensStayDead) {
  PushSimSettings s;
  s.faults.unregistered = 0.5;
  s.faults.seed = 3;
  StartSim(s);
  int dead = 0;
  for (int i = 0; i < 40; ++i) {
    char tok[65];
    std::snprintf(tok, sizeof(tok), "%064d", i);
    int first = Send(Apns(tok)).status;
    ASSERT_TRUE(first == 200 || first == 410);
    for (int k = 0; k < 3; ++k) ASSERT_EQ(Send(Apns(tok)).status, first);  // never revives
    if (first == 410) {
      dead++;
      auto r = Send(Apns(tok));
      EXPECT_EQ(Reason(r), "Unregistered");
      EXPECT_THAT(r.body, ::testing::HasSubstr("\"timestamp\":"));
    }
  }
  EXPECT_GT(dead, 5);
  EXPECT_LT(dead, 35);
}

TEST_F(SimTest, ServesStatsAndDeliveriesOverHttp) {
  StartSim();
  auto r = Apns();
  r.body = R"({"aps":{},"fanout":{"alert_id":"AL-1"}})";
  r.headers.emplace_back("apns-collapse-id", "col-1");
  ASSERT_EQ(Send(r).status, 200);
  ASSERT_EQ(Send(Apns("zz")).status, 400);
  Request get;
  get.method = "GET";
  get.path = "/sim/stats";
  auto stats = nlohmann::json::parse(Send(get).body);
  EXPECT_EQ(stats["apns"]["200"], 1);
  EXPECT_EQ(stats["apns"]["400"], 1);
  EXPECT_EQ(stats["deliveries"], 1);
  get.path = "/sim/deliveries";
  auto lines = Send(get).body;
  std::istringstream in(lines);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["platform"], "apns");
    EXPECT_EQ(j["token"], kTok);
    EXPECT_EQ(j["collapse_id"], "col-1");
    EXPECT_EQ(j["alert_id"], "AL-1");
    EXPECT_GT(j["t_ms"].get<int64_t>(), 0);
    n++;
  }
  EXPECT_EQ(n, 1);
  Request del;
  del.method = "DELETE";
  del.path = "/sim/deliveries";
  EXPECT_EQ(Send(del).status, 204);
  EXPECT_TRUE(sim_->Deliveries().empty());
}

TEST_F(SimTest, LatencyDelaysWithoutBlockingOtherStreams) {
  PushSimSettings s;
  s.faults.latency_ms = 100;
  s.threads = 1;
  StartSim(s);
  std::vector<Request> many;
  for (int i = 0; i < 200; ++i) many.push_back(Apns());
  auto t0 = std::chrono::steady_clock::now();
  auto rs = client_->Execute(std::move(many));
  auto took = std::chrono::steady_clock::now() - t0;
  for (auto& r : rs) ASSERT_EQ(r.status, 200);
  EXPECT_GE(took, std::chrono::milliseconds(100));
  EXPECT_LT(took, std::chrono::milliseconds(2000));  // 200 x 100 ms would be 20 s if serial
}

TEST_F(SimTest, SimEndpointsAnswerPlainHttp1LikeCurl) {
  StartSim();
  ASSERT_EQ(Send(Apns()).status, 200);
  ASSERT_EQ(Send(Apns("zz")).status, 400);
  Request get;
  get.method = "GET";
  get.path = "/sim/stats";
  auto h2 = nlohmann::json::parse(Send(get).body);
  auto r = Http1(sim_->port(), "GET", "/sim/stats");
  ASSERT_EQ(r.status, 200);
  auto h1 = nlohmann::json::parse(r.body);
  // The same document; only the count of connections differs (the HTTP/1.1 one is new).
  EXPECT_EQ(h1["connections"], h2["connections"].get<int>() + 1);
  h1.erase("connections");
  h2.erase("connections");
  EXPECT_EQ(h1, h2);
  EXPECT_EQ(h1["apns"]["200"], 1);
  EXPECT_EQ(h1["deliveries"], 1);
  auto d = Http1(sim_->port(), "GET", "/sim/deliveries");
  EXPECT_EQ(d.status, 200);
  EXPECT_THAT(d.body, ::testing::HasSubstr(kTok));
  EXPECT_EQ(Http1(sim_->port(), "DELETE", "/sim/deliveries").status, 204);
  EXPECT_TRUE(sim_->Deliveries().empty());
  EXPECT_EQ(Http1(sim_->port(), "GET", "/nope").status, 404);
  EXPECT_EQ(sim_->Stats().server.http1_requests, 4u);
}

TEST_F(SimTest, ApnsOverHttp1Gets505LikeAnHttp2OnlyService) {
  PushSimSettings s;
  std::atomic<int> seen{0};
  s.on_request = [&](const http2::ServerRequest&) { seen++; };
  StartSim(s);
  auto r = Http1(sim_->port(), "POST", "/3/device/" + kTok, R"({"aps":{"alert":"x"}})");
  EXPECT_EQ(r.status, 505);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["reason"], "HTTP2Required");
  EXPECT_THAT(j["detail"].get<std::string>(), ::testing::HasSubstr("HTTP/2"));
  EXPECT_EQ(Http1(sim_->port(), "POST", "/3/device/zz").status, 505);
  // Not a push: not counted, not recorded, not shown to the request hook.
  EXPECT_EQ(seen.load(), 0);
  EXPECT_TRUE(sim_->Deliveries().empty());
  EXPECT_EQ(sim_->Stats().Count("apns", "505"), 0u);
  // Google serves FCM HTTP v1 over HTTP/1.1, and so does the sim.
  const std::string tok = "abc:APA91b" + std::string(30, 'z');
  auto fcm = Http1(sim_->port(), "POST", "/v1/projects/p1/messages:send",
                   R"({"message":{"token":")" + tok + R"("}})");
  EXPECT_EQ(fcm.status, 200);
  EXPECT_EQ(sim_->Deliveries().size(), 1u);
  // HTTP/2 on the same port is unaffected.
  EXPECT_EQ(Send(Apns()).status, 200);
}

}  // namespace
}  // namespace fanout::adapters::pushsim
