#include "adapters/apns/apns_gateway.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "adapters/pushsim/push_sim.hpp"

namespace fanout::adapters::apns {
namespace {

using ports::PushOutcome;
using ports::PushRequest;
using pushsim::PushSim;
using pushsim::PushSimSettings;

std::string HexToken(int i) {
  char buf[65];
  std::snprintf(buf, sizeof(buf), "%064x", i);
  return buf;
}

PushRequest Req(int i, std::string alert_id = "A1") {
  PushRequest r;
  r.token = HexToken(i);
  r.payload = R"({"aps":{"alert":{"title":"Unwetter","body":"Sturm"}},"fanout":{"alert_id":")" +
              alert_id + R"("}})";
  r.collapse_id = "DE-NW-" + alert_id;
  r.high_priority = true;
  r.expiration_epoch_s = 1900000000;
  return r;
}

std::vector<PushRequest> Reqs(int from, int n) {
  std::vector<PushRequest> v;
  for (int i = from; i < from + n; ++i) v.push_back(Req(i));
  return v;
}

ApnsSettings GatewayFor(const PushSim& sim, std::string jwt = "jwt-ok") {
  ApnsSettings s;
  s.endpoint = sim.endpoint();
  s.topic = "de.bund.bbk.nina";
  s.token_provider = [jwt] { return jwt; };
  s.http.connections = 2;
  s.http.request_timeout = std::chrono::seconds(10);
  return s;
}

struct Captured {
  std::mutex mu;
  std::vector<http2::ServerRequest> requests;
  void Add(const http2::ServerRequest& r) {
    std::lock_guard lk(mu);
    requests.push_back(r);
  }
};

const std::string& H(const http2::ServerRequest& r, std::string_view name) {
  static const std::string kNone = "<absent>";
  const std::string* v = http2::FindHeader(r.headers, name);
  return v ? *v : kNone;
}

TEST(ApnsGateway, SuccessSendsAppleHeadersAndIsRecorded) {
  Captured cap;
  PushSimSettings ss;
  ss.apns_bearer = "jwt-ok";
  ss.on_request = [&](const http2::ServerRequest& r) { cap.Add(r); };
  PushSim sim(ss);
  sim.Start();
  ApnsGateway gw(GatewayFor(sim));
  EXPECT_EQ(gw.platform(), ports::Platform::kApns);
  std::vector<PushRequest> batch = {Req(1, "A1"), Req(2, "A2")};
  batch[1].high_priority = false;
  batch[1].expiration_epoch_s = 0;
  batch[1].collapse_id.clear();
  auto res = gw.SendBatch(batch);
  ASSERT_EQ(res.size(), 2u);
  for (auto& r : res) {
    EXPECT_EQ(r.outcome, PushOutcome::kAccepted) << r.reason;
    EXPECT_EQ(r.http_status, 200);
  }
  ASSERT_EQ(cap.requests.size(), 2u);
  std::sort(cap.requests.begin(), cap.requests.end(),
            [](auto& a, auto& b) { return a.path < b.path; });
  const auto& a = cap.requests[0];
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.path, "/3/device/" + HexToken(1));
  EXPECT_EQ(H(a, "authorization"), "bearer jwt-ok");
  EXPECT_EQ(H(a, "apns-topic"), "de.bund.bbk.nina");
  EXPECT_EQ(H(a, "apns-push-type"), "alert");
  EXPECT_EQ(H(a, "apns-priority"), "10");
  EXPECT_EQ(H(a, "apns-expiration"), "1900000000");
  EXPECT_EQ(H(a, "apns-collapse-id"), "DE-NW-A1");
  EXPECT_THAT(H(a, "apns-id"),
              ::testing::MatchesRegex(
                  "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_EQ(a.body, batch[0].payload);
  const auto& b = cap.requests[1];
  EXPECT_EQ(H(b, "apns-priority"), "5");
  EXPECT_EQ(H(b, "apns-expiration"), "0");
  EXPECT_EQ(H(b, "apns-collapse-id"), "<absent>");
  EXPECT_NE(H(a, "apns-id"), H(b, "apns-id"));

  auto d = sim.Deliveries();
  ASSERT_EQ(d.size(), 2u);
  std::sort(d.begin(), d.end(), [](auto& x, auto& y) { return x.token < y.token; });
  EXPECT_EQ(d[0].platform, ports::Platform::kApns);
  EXPECT_EQ(d[0].token, HexToken(1));
  EXPECT_EQ(d[0].collapse_id, "DE-NW-A1");
  EXPECT_EQ(d[0].alert_id, "A1");
  EXPECT_EQ(d[1].alert_id, "A2");
  EXPECT_EQ(d[1].collapse_id, "");
  EXPECT_GT(d[0].t_ms, 1700000000000);
  EXPECT_EQ(sim.Stats().Count("apns", "200"), 2u);
}

TEST(ApnsGateway, MapsEveryErrorClassFromTheSim) {
  PushSimSettings ss;
  ss.apns_bearer = "jwt-ok";
  PushSim sim(ss);
  sim.Start();
  ApnsGateway gw(GatewayFor(sim));
  sim.MarkUnregistered(ports::Platform::kApns, HexToken(7));
  std::vector<PushRequest> b;
  b.push_back(Req(1));
  b.back().token = "not-a-hex-token";  // 400 BadDeviceToken
  b.push_back(Req(7));                 // 410 Unregistered
  b.push_back(Req(3));
  b.back().payload = R"({"aps":{"alert":")" + std::string(5000, 'x') + "\"}}";  // 413
  b.push_back(Req(4));
  b.back().payload = "{not json";  // 400 BadPayload
  b.push_back(Req(5));
  b.back().collapse_id = std::string(65, 'c');  // 400 BadCollapseId
  b.push_back(Req(6));
  b.back().payload = "";  // 400 PayloadEmpty
  b.push_back(Req(8));    // fine
  auto r = gw.SendBatch(b);
  ASSERT_EQ(r.size(), b.size());
  EXPECT_EQ(r[0].outcome, PushOutcome::kTokenInvalid);
  EXPECT_EQ(r[0].http_status, 400);
  EXPECT_EQ(r[0].reason, "BadDeviceToken");
  EXPECT_EQ(r[1].outcome, PushOutcome::kTokenInvalid);
  EXPECT_EQ(r[1].http_status, 410);
  EXPECT_EQ(r[1].reason, "Unregistered");
  EXPECT_EQ(r[2].outcome, PushOutcome::kPayloadRejected);
  EXPECT_EQ(r[2].http_status, 413);
  EXPECT_EQ(r[2].reason, "PayloadTooLarge");
  EXPECT_EQ(r[3].outcome, PushOutcome::kPayloadRejected);
  EXPECT_EQ(r[3].reason, "BadPayload");
  EXPECT_EQ(r[4].outcome, PushOutcome::kPayloadRejected);
  EXPECT_EQ(r[4].reason, "BadCollapseId");
  EXPECT_EQ(r[5].outcome, PushOutcome::kPayloadRejected);
  EXPECT_EQ(r[5].reason, "PayloadEmpty");
  EXPECT_EQ(r[6].outcome, PushOutcome::kAccepted);
  EXPECT_EQ(sim.Deliveries().size(), 1u);

  ApnsGateway bad_auth(GatewayFor(sim, "wrong-jwt"));
  auto a = bad_auth.SendBatch(Reqs(1, 1));
  EXPECT_EQ(a[0].outcome, PushOutcome::kAuthFailed);
  EXPECT_EQ(a[0].http_status, 403);
  EXPECT_EQ(a[0].reason, "InvalidProviderToken");
  ApnsGateway no_auth(GatewayFor(sim, ""));
  EXPECT_EQ(no_auth.SendBatch(Reqs(1, 1))[0].reason, "MissingProviderToken");
  EXPECT_EQ(sim.Deliveries().size(), 1u);
}

class ApnsFaultTest : public ::testing::TestWithParam<std::pair<std::string, int>> {};

TEST_P(ApnsFaultTest, ServerFaultsAreRetryLater) {
  std::string error;
  PushSimSettings ss;
  ss.faults = *pushsim::FaultSpec::Parse(GetParam().first + "=1,retry_after_s=7", &error);
  PushSim sim(ss);
  sim.Start();
  ApnsGateway gw(GatewayFor(sim));
  auto r = gw.SendBatch(Reqs(1, 20));
  for (auto& x : r) {
    EXPECT_EQ(x.outcome, PushOutcome::kRetryLater);
    EXPECT_EQ(x.http_status, GetParam().second);
  }
  if (GetParam().second == 429 || GetParam().second == 503) {
    ASSERT_TRUE(r[0].retry_after.has_value());
    EXPECT_EQ(*r[0].retry_after, std::chrono::seconds(7));
  }
  EXPECT_TRUE(sim.Deliveries().empty());
}

INSTANTIATE_TEST_SUITE_P(Faults, ApnsFaultTest,
                         ::testing::Values(std::make_pair("429", 429), std::make_pair("500", 500),
                                           std::make_pair("503", 503), std::make_pair("reset", 0)));

TEST(ApnsGateway, UnreachableAndSlowServersAreRetryLater) {
  uint16_t port;
  {
    PushSim s;
    s.Start();
    port = s.port();
  }
  ApnsSettings st;
  st.endpoint = "http://127.0.0.1:" + std::to_string(port);
  st.topic = "t";
  ApnsGateway gw(st);
  auto r = gw.SendBatch(Reqs(1, 3));
  for (auto& x : r) {
    EXPECT_EQ(x.outcome, PushOutcome::kRetryLater);
    EXPECT_EQ(x.http_status, 0);
    EXPECT_THAT(x.reason, ::testing::HasSubstr("connect"));
  }

  PushSimSettings ss;
  ss.faults.latency_ms = 2000;
  PushSim slow(ss);
  slow.Start();
  auto gs = GatewayFor(slow);
  gs.http.request_timeout = std::chrono::milliseconds(200);
  ApnsGateway gw2(gs);
  auto r2 = gw2.SendBatch(Reqs(1, 2));
  EXPECT_EQ(r2[0].outcome, PushOutcome::kRetryLater);
  EXPECT_THAT(r2[0].reason, ::testing::HasSubstr("timeout"));
}

// GOAWAY every 700 streams while a 5000-push batch is in flight: every push is either
// accepted (and recorded exactly once by the sim) or comes back kRetryLater.
TEST(ApnsGateway, GoawayMidBatchLosesNothingAndCountsNothingTwice) {
  PushSimSettings ss;
  ss.faults.goaway_every = 700;
  PushSim sim(ss);
  sim.Start();
  ApnsGateway gw(GatewayFor(sim));
  auto batch = Reqs(0, 5000);
  auto r = gw.SendBatch(batch);
  ASSERT_EQ(r.size(), 5000u);
  std::set<std::string> accepted, retry;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].outcome == PushOutcome::kAccepted) {
      accepted.insert(batch[i].token);
    } else {
      ASSERT_EQ(r[i].outcome, PushOutcome::kRetryLater) << r[i].reason;
      retry.insert(batch[i].token);
    }
  }
  EXPECT_EQ(accepted.size() + retry.size(), 5000u);
  EXPECT_GT(accepted.size(), 0u);
  EXPECT_GT(retry.size(), 0u);  // the GOAWAYs really cut streams off
  EXPECT_GE(sim.Stats().server.goaways_sent, 1u);
  auto d = sim.Deliveries();
  std::set<std::string> delivered;
  for (auto& x : d) delivered.insert(x.token);
  EXPECT_EQ(d.size(), accepted.size());  // nothing double-counted
  EXPECT_EQ(delivered, accepted);        // exactly the accepted ones

  // The sender's retries then get everything through, still exactly once.
  for (int round = 0; round < 100 && !retry.empty(); ++round) {
    std::vector<PushRequest> again;
    for (auto& t : retry) {
      again.push_back(Req(0));
      again.back().token = t;
    }
    auto rr = gw.SendBatch(again);
    retry.clear();
    for (size_t i = 0; i < rr.size(); ++i) {
      if (rr[i].outcome != PushOutcome::kAccepted) retry.insert(again[i].token);
    }
  }
  EXPECT_TRUE(retry.empty());
  d = sim.Deliveries();
  delivered.clear();
  for (auto& x : d) delivered.insert(x.token);
  EXPECT_EQ(d.size(), 5000u);
  EXPECT_EQ(delivered.size(), 5000u);
}

TEST(ApnsGateway, HonoursMaxConcurrentStreams) {
  PushSimSettings ss;
  ss.max_concurrent_streams = 10;
  ss.faults.latency_ms = 3;  // keep streams open so they would pile up
  PushSim sim(ss);
  sim.Start();
  auto gs = GatewayFor(sim);
  gs.http.connections = 2;
  ApnsGateway gw(gs);
  auto r = gw.SendBatch(Reqs(0, 400));
  for (auto& x : r) ASSERT_EQ(x.outcome, PushOutcome::kAccepted) << x.reason;
  auto st = sim.Stats();
  EXPECT_EQ(st.server.max_concurrent_streams_seen, 10u);  // used fully, never exceeded
  EXPECT_EQ(st.deliveries, 400u);
}

TEST(ApnsGateway, ManyThreadsSendAtOnce) {
  PushSim sim;
  sim.Start();
  ApnsGateway gw(GatewayFor(sim));
  std::atomic<int> accepted{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int k = 0; k < 5; ++k) {
        auto r = gw.SendBatch(Reqs(t * 10000 + k * 1000, 250));
        for (auto& x : r) accepted += x.outcome == PushOutcome::kAccepted;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(accepted.load(), 4 * 5 * 250);
  std::set<std::string> tokens;
  for (auto& d : sim.Deliveries()) tokens.insert(d.token);
  EXPECT_EQ(tokens.size(), 5000u);
  EXPECT_EQ(sim.Deliveries().size(), 5000u);
}

TEST(ApnsMapping, MapsReasonsWithoutAServer) {
  http2::Response r;
  r.status = 400;
  r.body = R"({"reason":"DeviceTokenNotForTopic"})";
  EXPECT_EQ(MapApnsResponse(r).outcome, PushOutcome::kTokenInvalid);
  r.body = R"({"reason":"BadTopic"})";
  EXPECT_EQ(MapApnsResponse(r).outcome, PushOutcome::kPayloadRejected);
  r.status = 410;
  r.body = R"({"reason":"ExpiredToken","timestamp":1})";
  EXPECT_EQ(MapApnsResponse(r).outcome, PushOutcome::kTokenInvalid);
  r.status = 403;
  r.body = R"({"reason":"ExpiredProviderToken"})";
  EXPECT_EQ(MapApnsResponse(r).outcome, PushOutcome::kAuthFailed);
  EXPECT_EQ(MapApnsResponse(r).reason, "ExpiredProviderToken");
  r.status = 429;
  r.body = R"({"reason":"TooManyProviderTokenUpdates"})";
  r.headers = {{"retry-after", "Wed, 21 Oct 2099 07:28:00 GMT"}};
  auto m = MapApnsResponse(r);
  EXPECT_EQ(m.outcome, PushOutcome::kRetryLater);
  EXPECT_EQ(m.reason, "TooManyProviderTokenUpdates");
  ASSERT_TRUE(m.retry_after);
  EXPECT_GT(*m.retry_after, std::chrono::hours(24));
  r.status = 405;
  r.headers.clear();
  EXPECT_EQ(MapApnsResponse(r).outcome, PushOutcome::kPayloadRejected);
  r.status = 502;
  r.body = "<html>bad gateway</html>";
  EXPECT_EQ(MapApnsResponse(r).outcome, PushOutcome::kRetryLater);
  http2::Response lost;
  lost.error = http2::TransportError::kConnectionLost;
  EXPECT_EQ(MapApnsResponse(lost).outcome, PushOutcome::kRetryLater);
  EXPECT_EQ(MapApnsResponse(lost).http_status, 0);
}

TEST(ApnsGateway, RejectsBadConfiguration) {
  ApnsSettings s;
  s.topic = "t";
  s.endpoint = "api.push.apple.com";
  EXPECT_THROW(ApnsGateway{s}, std::invalid_argument);
  s.endpoint = "http://127.0.0.1:1";
  s.topic = "";
  EXPECT_THROW(ApnsGateway{s}, std::invalid_argument);
}

}  // namespace
}  // namespace fanout::adapters::apns

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "adapters/apns/apns_token.hpp"
#include "adapters/http2/jwt.hpp"
#include "adapters/http2/test_certs.hpp"

namespace fanout::adapters::apns {
namespace {

// A fresh P-256 key as the PKCS#8 PEM Apple ships in AuthKey_<kid>.p8.
std::string NewP8() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(k);
  return pem;
}

int64_t RealNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct JwtFixture {
  std::string p8 = NewP8();
  std::atomic<int64_t> clock{RealNow()};      // the sender's clock
  std::atomic<int64_t> sim_clock{RealNow()};  // Apple's clock
  std::shared_ptr<ApnsTokenSigner> signer;
  std::mutex mu;
  std::set<std::string> seen_tokens;
  std::unique_ptr<PushSim> sim;

  explicit JwtFixture(std::string sim_public_key_pem = "", int sim_min_token_update_s = 1200) {
    sim_clock = clock.load();
    ApnsTokenSettings ts;
    ts.key_id = "ABC123DEFG";
    ts.team_id = "DEF123GHIJ";
    ts.now_epoch_s = [this] { return clock.load(); };
    signer = std::make_shared<ApnsTokenSigner>(p8, ts);
    PushSimSettings ss;
    ss.apns_jwt_public_key_pem = sim_public_key_pem.empty()
                                     ? http2::PublicKeyPem(http2::LoadPrivateKeyPem(p8))
                                     : sim_public_key_pem;
    ss.apns_key_id = "ABC123DEFG";
    ss.apns_team_id = "DEF123GHIJ";
    ss.apns_min_token_update_s = sim_min_token_update_s;
    ss.now_epoch_s = [this] { return sim_clock.load(); };
    ss.on_request = [this](const http2::ServerRequest& r) {
      std::lock_guard lk(mu);
      if (auto* a = http2::FindHeader(r.headers, "authorization")) seen_tokens.insert(*a);
    };
    sim = std::make_unique<PushSim>(ss);
    sim->Start();
  }
  ApnsGateway Gateway() {
    ApnsSettings s;
    s.endpoint = sim->endpoint();
    s.topic = "de.bund.bbk.nina";
    s.signer = signer;
    return ApnsGateway(s);
  }
};

TEST(ApnsJwt, SignerProducesAVerifiableEs256TokenWithAppleClaims) {
  std::string p8 = NewP8();
  ApnsTokenSettings ts;
  ts.key_id = "ABC123DEFG";
  ts.team_id = "DEF123GHIJ";
  ts.now_epoch_s = [] { return int64_t{1700000000}; };
  ApnsTokenSigner signer(p8, ts);
  std::string jwt = signer.Token();
  auto pub = http2::LoadPublicKeyPem(http2::PublicKeyPem(http2::LoadPrivateKeyPem(p8)));
  auto v = http2::VerifyJwt(http2::JwtAlg::kES256, pub, jwt);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header_json, R"({"alg":"ES256","kid":"ABC123DEFG"})");
  EXPECT_EQ(v->claims_json, R"({"iss":"DEF123GHIJ","iat":1700000000})");
  // Tampering breaks it; a different key does not verify it.
  std::string bad = jwt;
  bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(http2::VerifyJwt(http2::JwtAlg::kES256, pub, bad));
  auto other = http2::LoadPublicKeyPem(http2::PublicKeyPem(http2::LoadPrivateKeyPem(NewP8())));
  EXPECT_FALSE(http2::VerifyJwt(http2::JwtAlg::kES256, other, jwt));
  EXPECT_FALSE(http2::VerifyJwt(http2::JwtAlg::kRS256, pub, jwt));
  EXPECT_THROW(ApnsTokenSigner("not a key", ts), std::runtime_error);
}

TEST(ApnsJwt, TokenIsReusedAndRefreshedOnlyWhenDue) {
  JwtFixture f;
  auto gw = f.Gateway();
  for (int i = 0; i < 3; ++i) {
    for (auto& r : gw.SendBatch(Reqs(i * 100, 50))) {
      ASSERT_EQ(r.outcome, PushOutcome::kAccepted) << r.reason;
    }
  }
  EXPECT_EQ(f.seen_tokens.size(), 1u);  // one token for 150 pushes in 3 batches
  int64_t first_iat = f.signer->issued_at();
  f.clock += 44 * 60;  // not yet due (refresh_after = 45 min)
  f.sim_clock += 44 * 60;
  gw.SendBatch(Reqs(1000, 5));
  EXPECT_EQ(f.signer->issued_at(), first_iat);
  f.clock += 2 * 60;  // 46 min: due
  f.sim_clock += 2 * 60;
  for (auto& r : gw.SendBatch(Reqs(2000, 5))) EXPECT_EQ(r.outcome, PushOutcome::kAccepted);
  EXPECT_EQ(f.signer->issued_at(), first_iat + 46 * 60);
  EXPECT_EQ(f.seen_tokens.size(), 2u);
}

// APNs says the token expired while the signer still considers it fresh (Apple's clock
// is ahead): the gateway re-signs and resends the refused pushes within the same call.
TEST(ApnsJwt, AnExpiredTokenIsReplacedAndTheRefusedPushesResentOnce) {
  JwtFixture f;
  auto gw = f.Gateway();
  for (auto& r : gw.SendBatch(Reqs(0, 2))) ASSERT_EQ(r.outcome, PushOutcome::kAccepted);
  f.clock += 21 * 60;      // the signer: 21 min old, not yet due
  f.sim_clock += 61 * 60;  // APNs: older than an hour
  for (auto& r : gw.SendBatch(Reqs(100, 4))) {
    EXPECT_EQ(r.outcome, PushOutcome::kAccepted) << r.reason;
  }
  EXPECT_EQ(f.seen_tokens.size(), 2u);
  EXPECT_EQ(f.sim->Stats().Count("apns", "403"), 4u);  // each refused once, then taken
  EXPECT_EQ(f.sim->Deliveries().size(), 6u);
}

TEST(ApnsJwt, ExpiredAndForeignTokensAreAuthFailures) {
  JwtFixture f;
  auto gw = f.Gateway();
  f.clock = f.sim_clock - 3601;  // the signer's clock is behind: its token is > 1 h old
  auto r = gw.SendBatch(Reqs(0, 3));
  for (auto& x : r) {
    EXPECT_EQ(x.outcome, PushOutcome::kAuthFailed);
    EXPECT_EQ(x.http_status, 403);
    EXPECT_EQ(x.reason, "ExpiredProviderToken");
  }
  EXPECT_TRUE(f.signer->refresh_pending());  // the gateway invalidated it
  // Re-signing with the same (wrong) clock cannot help, and a token younger than 20 min
  // is never replaced: the next batch uses the same token.
  for (auto& x : gw.SendBatch(Reqs(0, 3))) EXPECT_EQ(x.reason, "ExpiredProviderToken");
  EXPECT_EQ(f.seen_tokens.size(), 1u);
  f.clock = f.sim_clock.load();
  for (auto& x : gw.SendBatch(Reqs(0, 3))) EXPECT_EQ(x.outcome, PushOutcome::kAccepted);
  EXPECT_EQ(f.seen_tokens.size(), 2u);

  // A sim that trusts a different key rejects our (valid-looking) tokens.
  JwtFixture g(http2::PublicKeyPem(http2::LoadPrivateKeyPem(NewP8())));
  auto gw2 = g.Gateway();
  auto r2 = gw2.SendBatch(Reqs(0, 2));
  EXPECT_EQ(r2[0].outcome, PushOutcome::kAuthFailed);
  EXPECT_EQ(r2[0].reason, "InvalidProviderToken");
  // No token at all.
  ApnsSettings s;
  s.endpoint = g.sim->endpoint();
  s.topic = "t";
  ApnsGateway anon(s);
  EXPECT_EQ(anon.SendBatch(Reqs(0, 1))[0].reason, "MissingProviderToken");
  EXPECT_TRUE(g.sim->Deliveries().empty());
}

// A new token on a connection less than 20 min after the connection's current one:
// APNs answers 429 TooManyProviderTokenUpdates. The gateway reports retry-later and
// keeps its token (a new one would be one more update); once the connection's token is
// 20 minutes old the same token is accepted there. Other connections (another region's
// gateway with its own signer) are not affected.
TEST(ApnsJwt, TooFrequentTokenUpdatesAreRetryLaterAndNotResigned) {
  JwtFixture f;
  const int64_t t0 = f.clock.load();
  ApnsTokenSettings ts;
  ts.key_id = "ABC123DEFG";
  ts.team_id = "DEF123GHIJ";
  ts.now_epoch_s = [t0] { return t0 - 60; };
  ApnsTokenSigner early(f.p8, ts);
  // One connection whose token is swapped from `early`'s (iat t0-60) to the fixture
  // signer's (iat t0) after the first batch.
  std::atomic<bool> use_new{false};
  ApnsSettings es;
  es.endpoint = f.sim->endpoint();
  es.topic = "de.bund.bbk.nina";
  es.http.connections = 1;
  es.token_provider = [&] { return use_new ? f.signer->Token() : early.Token(); };
  ApnsGateway gw(es);
  for (auto& r : gw.SendBatch(Reqs(0, 2))) ASSERT_EQ(r.outcome, PushOutcome::kAccepted);

  use_new = true;
  for (auto& r : gw.SendBatch(Reqs(100, 3))) {
    EXPECT_EQ(r.outcome, PushOutcome::kRetryLater);
    EXPECT_EQ(r.http_status, 429);
    EXPECT_EQ(r.reason, "TooManyProviderTokenUpdates");
  }
  EXPECT_FALSE(f.signer->refresh_pending());
  const int64_t iat = f.signer->issued_at();
  EXPECT_EQ(iat, t0);
  // The same new token on fresh connections (another gateway) is a first token there.
  auto other = f.Gateway();
  for (auto& r : other.SendBatch(Reqs(300, 2))) EXPECT_EQ(r.outcome, PushOutcome::kAccepted);
  // The older token is not an update: still accepted on the first connection.
  use_new = false;
  EXPECT_EQ(gw.SendBatch(Reqs(200, 1))[0].outcome, PushOutcome::kAccepted);
  use_new = true;
  f.clock += 19 * 60 - 1;
  f.sim_clock += 19 * 60 - 1;  // 20 min minus 1 s after the connection's current token
  EXPECT_EQ(gw.SendBatch(Reqs(100, 1))[0].reason, "TooManyProviderTokenUpdates");
  f.clock += 1;
  f.sim_clock += 1;
  for (auto& r : gw.SendBatch(Reqs(100, 3))) EXPECT_EQ(r.outcome, PushOutcome::kAccepted);
  EXPECT_EQ(f.signer->issued_at(), iat);  // no re-signing along the way
  EXPECT_EQ(f.sim->Stats().Count("apns", "429"), 4u);
  EXPECT_EQ(f.sim->Deliveries().size(), 8u);

  // apns_min_token_update_s = 0 turns the check off.
  JwtFixture off("", 0);
  ApnsTokenSettings ts2 = ts;
  ts2.now_epoch_s = [&off] { return off.clock.load() - 60; };
  ApnsTokenSigner early2(off.p8, ts2);
  es.endpoint = off.sim->endpoint();
  use_new = false;
  es.token_provider = [&] { return use_new ? off.signer->Token() : early2.Token(); };
  ApnsGateway gw2(es);
  EXPECT_EQ(gw2.SendBatch(Reqs(0, 1))[0].outcome, PushOutcome::kAccepted);
  use_new = true;
  EXPECT_EQ(gw2.SendBatch(Reqs(1, 1))[0].outcome, PushOutcome::kAccepted);
}

// However often Invalidate() is called (every answer of a batch of ExpiredProviderToken,
// from many threads), the signer produces at most one new token per 20 minutes.
TEST(ApnsJwt, InvalidateStormsSignAtMostOncePer20Minutes) {
  std::string p8 = NewP8();
  std::atomic<int64_t> clock{1700000000};
  ApnsTokenSettings ts;
  ts.key_id = "ABC123DEFG";
  ts.team_id = "DEF123GHIJ";
  ts.now_epoch_s = [&clock] { return clock.load(); };
  ApnsTokenSigner signer(p8, ts);
  const std::string first = signer.Token();
  std::atomic<int> changed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        signer.Invalidate();
        if (signer.Token() != first) changed++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(changed.load(), 0);
  EXPECT_TRUE(signer.refresh_pending());
  clock += 20 * 60 - 1;
  EXPECT_EQ(signer.Token(), first);
  clock += 1;
  const std::string second = signer.Token();
  EXPECT_NE(second, first);
  EXPECT_FALSE(signer.refresh_pending());
  signer.Invalidate();
  EXPECT_EQ(signer.Token(), second);
  clock -= 30;  // a small clock step back (NTP) does not re-sign either
  EXPECT_EQ(signer.Token(), second);

  // A refresh_after below 20 minutes is raised to it.
  ts.refresh_after = std::chrono::seconds(60);
  ApnsTokenSigner eager(p8, ts);
  const std::string a = eager.Token();
  clock += 10 * 60;
  EXPECT_EQ(eager.Token(), a);
  clock += 10 * 60;
  EXPECT_NE(eager.Token(), a);
}

TEST(ApnsGateway, WorksOverTlsWithAVerifiedCertificate) {
  auto cert = http2::testing::MakeSelfSignedCert();
  PushSimSettings ss;
  ss.tls_cert_file = cert.cert_file;
  ss.tls_key_file = cert.key_file;
  PushSim sim(ss);
  sim.Start();
  ASSERT_EQ(sim.endpoint().rfind("https://", 0), 0u);
  auto gs = GatewayFor(sim);
  gs.http.ca_file = cert.cert_file;
  ApnsGateway gw(gs);
  for (auto& r : gw.SendBatch(Reqs(0, 200)))
    ASSERT_EQ(r.outcome, PushOutcome::kAccepted) << r.reason;
  EXPECT_EQ(sim.Deliveries().size(), 200u);
  // Without trusting the cert: a transport failure, reported as retry-later.
  auto gs2 = GatewayFor(sim);
  ApnsGateway untrusted(gs2);
  auto r = untrusted.SendBatch(Reqs(0, 1));
  EXPECT_EQ(r[0].outcome, PushOutcome::kRetryLater);
  EXPECT_THAT(r[0].reason, ::testing::HasSubstr("certificate"));
}

}  // namespace
}  // namespace fanout::adapters::apns

namespace fanout::adapters::apns {
namespace {

// The sim dies while a batch is in flight: nothing may be reported accepted that the
// sim did not accept; everything else is retry-later (never lost silently).
TEST(ApnsGateway, ServerDeathMidBatchNeverFakesAnAcceptance) {
  PushSimSettings ss;
  ss.faults.latency_ms = 30;
  ss.max_concurrent_streams = 50;
  PushSim sim(ss);
  sim.Start();
  auto gs = GatewayFor(sim);
  gs.http.request_timeout = std::chrono::seconds(5);
  ApnsGateway gw(gs);
  auto batch = Reqs(0, 2000);
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    sim.Stop();
  });
  auto r = gw.SendBatch(batch);
  killer.join();
  std::set<std::string> delivered;
  for (auto& d : sim.Deliveries()) delivered.insert(d.token);
  size_t accepted = 0, retry = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].outcome == PushOutcome::kAccepted) {
      accepted++;
      EXPECT_TRUE(delivered.count(batch[i].token)) << batch[i].token;
    } else {
      ASSERT_EQ(r[i].outcome, PushOutcome::kRetryLater) << r[i].reason;
      retry++;
    }
  }
  EXPECT_EQ(accepted + retry, 2000u);
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(retry, 0u);
  EXPECT_LE(accepted, delivered.size());
}

}  // namespace
}  // namespace fanout::adapters::apns

#include <fstream>

namespace fanout::adapters::apns {
namespace {

TEST(ApnsGateway, MakeFromConfigSignsWithTheP8File) {
  std::string p8 = NewP8();
  std::string path = ::testing::TempDir() + "/AuthKey_ABC123DEFG.p8";
  std::ofstream(path) << p8;
  PushSimSettings ss;
  ss.apns_jwt_public_key_pem = http2::PublicKeyPem(http2::LoadPrivateKeyPem(p8));
  ss.apns_key_id = "ABC123DEFG";
  ss.apns_team_id = "DEF123GHIJ";
  PushSim sim(ss);
  sim.Start();
  ApnsConfig c;
  c.endpoint = sim.endpoint();
  c.team_id = "DEF123GHIJ";
  c.key_id = "ABC123DEFG";
  c.key_file = path;
  c.topic = "de.bund.bbk.nina";
  auto gw = MakeApnsGateway(c);
  for (auto& r : gw->SendBatch(Reqs(0, 10)))
    EXPECT_EQ(r.outcome, PushOutcome::kAccepted) << r.reason;
  c.key_file = path + ".missing";
  EXPECT_THROW(MakeApnsGateway(c), std::runtime_error);
}

}  // namespace
}  // namespace fanout::adapters::apns

namespace fanout::adapters::apns {
namespace {

TEST(ApnsGateway, UniformBatchSendsTheSameHeadersAndBodyPerRequest) {
  Captured cap;
  PushSimSettings ss;
  ss.on_request = [&](const http2::ServerRequest& r) { cap.Add(r); };
  PushSim sim(ss);
  sim.Start();
  ApnsGateway gw(GatewayFor(sim));
  auto batch = Reqs(0, 3);  // one alert to three devices: the shared-header path
  for (auto& r : gw.SendBatch(batch)) EXPECT_EQ(r.outcome, PushOutcome::kAccepted);
  ASSERT_EQ(cap.requests.size(), 3u);
  std::set<std::string> ids, paths;
  for (const auto& r : cap.requests) {
    EXPECT_EQ(H(r, "authorization"), "bearer jwt-ok");
    EXPECT_EQ(H(r, "apns-topic"), "de.bund.bbk.nina");
    EXPECT_EQ(H(r, "apns-push-type"), "alert");
    EXPECT_EQ(H(r, "apns-priority"), "10");
    EXPECT_EQ(H(r, "apns-expiration"), "1900000000");
    EXPECT_EQ(H(r, "apns-collapse-id"), "DE-NW-A1");
    EXPECT_EQ(r.body, batch[0].payload);
    EXPECT_THAT(H(r, "apns-id"),
                ::testing::MatchesRegex(
                    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
    ids.insert(H(r, "apns-id"));
    paths.insert(r.path);
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(paths.size(), 3u);

  // The next, smaller batch on the same thread reuses the request objects: nothing of
  // the first batch may leak into it.
  cap.requests.clear();
  auto next = Reqs(10, 2);
  // ... and shares one payload as the sender does.
  auto shared = std::make_shared<const std::string>(R"({"aps":{"alert":"second"}})");
  for (auto& p : next) {
    p.payload.clear();
    p.shared_payload = shared;
  }
  for (auto& r : gw.SendBatch(next)) EXPECT_EQ(r.outcome, PushOutcome::kAccepted);
  ASSERT_EQ(cap.requests.size(), 2u);
  std::set<std::string> next_paths;
  for (const auto& r : cap.requests) {
    next_paths.insert(r.path);
    EXPECT_EQ(r.body, *shared);
    EXPECT_EQ(ids.count(H(r, "apns-id")), 0u);
  }
  EXPECT_EQ(next_paths,
            (std::set<std::string>{"/3/device/" + next[0].token, "/3/device/" + next[1].token}));
}

}  // namespace
}  // namespace fanout::adapters::apns
