#include "adapters/fcm/fcm_gateway.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "adapters/pushsim/push_sim.hpp"

namespace fanout::adapters::fcm {
namespace {

using ports::PushOutcome;
using ports::PushRequest;
using pushsim::PushSim;
using pushsim::PushSimSettings;

std::string Token(int i) { return "fcmtok" + std::to_string(i) + ":APA91b" + std::string(40, 'x'); }

PushRequest Req(int i, std::string alert_id = "A1") {
  PushRequest r;
  r.token = Token(i);
  r.payload = R"({"data":{"alert_id":")" + alert_id +
              R"(","headline":"Sturm"},"android":{"priority":"HIGH","collapse_key":"DE-)" +
              alert_id + R"(","ttl":"3600s"}})";
  return r;
}

std::vector<PushRequest> Reqs(int from, int n) {
  std::vector<PushRequest> v;
  for (int i = from; i < from + n; ++i) v.push_back(Req(i));
  return v;
}

FcmSettings GatewayFor(const PushSim& sim, std::string token = "ya29.ok",
                       std::string project = "nina-prod") {
  FcmSettings s;
  s.endpoint = sim.endpoint();
  s.project_id = project;
  s.access_token_provider = [token] { return token; };
  s.http.connections = 2;
  return s;
}

PushSimSettings SimSettings() {
  PushSimSettings ss;
  ss.fcm_bearer = "ya29.ok";
  ss.fcm_project = "nina-prod";
  return ss;
}

TEST(FcmBody, SplicesTheTokenIntoTheMessage) {
  EXPECT_EQ(*BuildFcmBody("t1", R"({"data":{"a":"b"}})"),
            R"({"message":{"token":"t1","data":{"a":"b"}}})");
  EXPECT_EQ(*BuildFcmBody("t1", " {  } "), R"({"message":{"token":"t1"}})");
  EXPECT_EQ(*BuildFcmBody("t\"1", "{}"), R"({"message":{"token":"t\"1"}})");
  EXPECT_FALSE(BuildFcmBody("t", "[1]"));
  EXPECT_FALSE(BuildFcmBody("t", ""));
  auto j = nlohmann::json::parse(*BuildFcmBody("tok", Req(1).payload));
  EXPECT_EQ(j["message"]["token"], "tok");
  EXPECT_EQ(j["message"]["android"]["collapse_key"], "DE-A1");
}

TEST(FcmGateway, SuccessSendsV1RequestsAndIsRecorded) {
  std::mutex mu;
  std::vector<http2::ServerRequest> seen;
  auto ss = SimSettings();
  ss.on_request = [&](const http2::ServerRequest& r) {
    std::lock_guard lk(mu);
    seen.push_back(r);
  };
  PushSim sim(ss);
  sim.Start();
  FcmGateway gw(GatewayFor(sim));
  EXPECT_EQ(gw.platform(), ports::Platform::kFcm);
  auto res = gw.SendBatch(std::vector<PushRequest>{Req(1, "A1"), Req(2, "A2")});
  ASSERT_EQ(res.size(), 2u);
  for (auto& r : res) {
    EXPECT_EQ(r.outcome, PushOutcome::kAccepted) << r.reason;
    EXPECT_EQ(r.http_status, 200);
  }
  ASSERT_EQ(seen.size(), 2u);
  for (auto& r : seen) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/v1/projects/nina-prod/messages:send");
    EXPECT_EQ(*http2::FindHeader(r.headers, "authorization"), "Bearer ya29.ok");
    auto j = nlohmann::json::parse(r.body);
    EXPECT_TRUE(j["message"]["token"] == Token(1) || j["message"]["token"] == Token(2));
    EXPECT_EQ(j["message"]["android"]["priority"], "HIGH");
  }
  auto d = sim.Deliveries();
  ASSERT_EQ(d.size(), 2u);
  std::sort(d.begin(), d.end(), [](auto& a, auto& b) { return a.alert_id < b.alert_id; });
  EXPECT_EQ(d[0].platform, ports::Platform::kFcm);
  EXPECT_EQ(d[0].token, Token(1));
  EXPECT_EQ(d[0].collapse_id, "DE-A1");
  EXPECT_EQ(d[0].alert_id, "A1");
  EXPECT_EQ(d[1].alert_id, "A2");
  EXPECT_EQ(sim.Stats().Count("fcm", "200"), 2u);
}

TEST(FcmGateway, MapsEveryErrorClassFromTheSim) {
  PushSim sim(SimSettings());
  sim.Start();
  FcmGateway gw(GatewayFor(sim));
  sim.MarkUnregistered(ports::Platform::kFcm, Token(7));
  std::vector<PushRequest> b;
  b.push_back(Req(1));
  b.back().token = "short";  // INVALID_ARGUMENT on message.token
  b.push_back(Req(7));       // UNREGISTERED
  b.push_back(Req(3));
  b.back().payload = R"({"data":{"blob":")" + std::string(5000, 'x') + "\"}}";  // too big
  b.push_back(Req(4));
  b.back().payload = R"({"data":{"n":5}})";  // data values must be strings
  b.push_back(Req(5));
  b.back().payload = "not an object";  // rejected locally
  b.push_back(Req(6));
  b.back().payload = R"({"android":{"ttl":"1h"}})";  // bad duration
  b.push_back(Req(8));
  auto r = gw.SendBatch(b);
  ASSERT_EQ(r.size(), b.size());
  EXPECT_EQ(r[0].outcome, PushOutcome::kTokenInvalid);
  EXPECT_EQ(r[0].http_status, 400);
  EXPECT_EQ(r[0].reason, "INVALID_ARGUMENT");
  EXPECT_EQ(r[1].outcome, PushOutcome::kTokenInvalid);
  EXPECT_EQ(r[1].http_status, 404);
  EXPECT_EQ(r[1].reason, "UNREGISTERED");
  EXPECT_EQ(r[2].outcome, PushOutcome::kPayloadRejected);
  EXPECT_EQ(r[2].http_status, 400);
  EXPECT_EQ(r[3].outcome, PushOutcome::kPayloadRejected);
  EXPECT_EQ(r[4].outcome, PushOutcome::kPayloadRejected);
  EXPECT_EQ(r[4].http_status, 0);
  EXPECT_EQ(r[5].outcome, PushOutcome::kPayloadRejected);
  EXPECT_EQ(r[6].outcome, PushOutcome::kAccepted);
  EXPECT_EQ(sim.Deliveries().size(), 1u);
  // The local rejection never reached the sim: 7 requests, 6 sent.
  auto st = sim.Stats();
  uint64_t total = 0;
  for (auto& [status, n] : st.counts["fcm"]) total += n;
  EXPECT_EQ(total, 6u);

  FcmGateway bad_token(GatewayFor(sim, "ya29.expired"));
  auto a = bad_token.SendBatch(Reqs(1, 1));
  EXPECT_EQ(a[0].outcome, PushOutcome::kAuthFailed);
  EXPECT_EQ(a[0].http_status, 401);
  FcmGateway other_project(GatewayFor(sim, "ya29.ok", "someone-else"));
  a = other_project.SendBatch(Reqs(1, 1));
  EXPECT_EQ(a[0].outcome, PushOutcome::kAuthFailed);
  EXPECT_EQ(a[0].http_status, 403);
  EXPECT_EQ(sim.Deliveries().size(), 1u);
}

class FcmFaultTest : public ::testing::TestWithParam<std::pair<std::string, int>> {};

TEST_P(FcmFaultTest, ServerFaultsAreRetryLater) {
  std::string error;
  auto ss = SimSettings();
  ss.faults = *pushsim::FaultSpec::Parse(GetParam().first + "=1,retry_after_s=3", &error);
  PushSim sim(ss);
  sim.Start();
  FcmGateway gw(GatewayFor(sim));
  auto r = gw.SendBatch(Reqs(1, 20));
  for (auto& x : r) {
    EXPECT_EQ(x.outcome, PushOutcome::kRetryLater);
    EXPECT_EQ(x.http_status, GetParam().second);
  }
  if (GetParam().second == 429) {
    EXPECT_EQ(r[0].reason, "QUOTA_EXCEEDED");
  }
  if (GetParam().second == 503) {
    EXPECT_EQ(r[0].reason, "UNAVAILABLE");
  }
  if (GetParam().second == 429 || GetParam().second == 503) {
    ASSERT_TRUE(r[0].retry_after.has_value());
    EXPECT_EQ(*r[0].retry_after, std::chrono::seconds(3));
  }
  EXPECT_TRUE(sim.Deliveries().empty());
}

INSTANTIATE_TEST_SUITE_P(Faults, FcmFaultTest,
                         ::testing::Values(std::make_pair("429", 429), std::make_pair("500", 500),
                                           std::make_pair("503", 503), std::make_pair("reset", 0)));

TEST(FcmGateway, GoawayMidBatchLosesNothingAndCountsNothingTwice) {
  auto ss = SimSettings();
  ss.faults.goaway_every = 700;
  PushSim sim(ss);
  sim.Start();
  FcmGateway gw(GatewayFor(sim));
  auto batch = Reqs(0, 5000);
  auto r = gw.SendBatch(batch);
  std::set<std::string> accepted;
  size_t retry = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].outcome == PushOutcome::kAccepted) {
      accepted.insert(batch[i].token);
    } else {
      ASSERT_EQ(r[i].outcome, PushOutcome::kRetryLater) << r[i].reason;
      retry++;
    }
  }
  EXPECT_EQ(accepted.size() + retry, 5000u);
  EXPECT_GT(retry, 0u);
  auto d = sim.Deliveries();
  std::set<std::string> delivered;
  for (auto& x : d) delivered.insert(x.token);
  EXPECT_EQ(d.size(), accepted.size());
  EXPECT_EQ(delivered, accepted);
}

TEST(FcmGateway, HonoursMaxConcurrentStreamsAndManyThreads) {
  auto ss = SimSettings();
  ss.max_concurrent_streams = 10;
  PushSim sim(ss);
  sim.Start();
  FcmGateway gw(GatewayFor(sim));
  std::atomic<int> accepted{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int k = 0; k < 3; ++k) {
        for (auto& x : gw.SendBatch(Reqs(t * 10000 + k * 1000, 300))) {
          accepted += x.outcome == PushOutcome::kAccepted;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(accepted.load(), 4 * 3 * 300);
  auto st = sim.Stats();
  EXPECT_LE(st.server.max_concurrent_streams_seen, 10u);
  EXPECT_EQ(st.deliveries, 3600u);
}

TEST(FcmMapping, MapsErrorBodiesWithoutAServer) {
  http2::Response r;
  r.status = 403;
  r.body =
      R"({"error":{"code":403,"status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"SENDER_ID_MISMATCH"}]}})";
  EXPECT_EQ(MapFcmResponse(r).outcome, PushOutcome::kAuthFailed);
  EXPECT_EQ(MapFcmResponse(r).reason, "SENDER_ID_MISMATCH");
  r.status = 401;
  r.body =
      R"({"error":{"code":401,"status":"UNAUTHENTICATED","details":[{"errorCode":"THIRD_PARTY_AUTH_ERROR"}]}})";
  EXPECT_EQ(MapFcmResponse(r).outcome, PushOutcome::kAuthFailed);
  r.status = 400;
  r.body =
      R"({"error":{"code":400,"message":"Invalid value at 'message.android.ttl'","status":"INVALID_ARGUMENT"}})";
  EXPECT_EQ(MapFcmResponse(r).outcome, PushOutcome::kPayloadRejected);
  r.body =
      R"({"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT"}})";
  EXPECT_EQ(MapFcmResponse(r).outcome, PushOutcome::kTokenInvalid);
  r.status = 404;
  r.body = R"({"error":{"code":404,"status":"NOT_FOUND"}})";  // no UNREGISTERED detail
  EXPECT_EQ(MapFcmResponse(r).outcome, PushOutcome::kPayloadRejected);
  r.status = 429;
  r.body = "";
  r.headers = {{"retry-after", "12"}};
  auto m = MapFcmResponse(r);
  EXPECT_EQ(m.outcome, PushOutcome::kRetryLater);
  EXPECT_EQ(*m.retry_after, std::chrono::seconds(12));
  http2::Response refused;
  refused.error = http2::TransportError::kRefused;
  EXPECT_EQ(MapFcmResponse(refused).outcome, PushOutcome::kRetryLater);
}

}  // namespace
}  // namespace fanout::adapters::fcm

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "adapters/fcm/fcm_oauth.hpp"
#include "adapters/http2/jwt.hpp"

namespace fanout::adapters::fcm {
namespace {

std::string NewRsaPem() {
  EVP_PKEY* k = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(k);
  return pem;
}

std::string ServiceAccountJson(const std::string& pem) {
  nlohmann::json j = {{"type", "service_account"},
                      {"project_id", "nina-prod"},
                      {"private_key_id", "k1"},
                      {"private_key", pem},
                      {"client_email", "fanout@nina-prod.iam.gserviceaccount.com"},
                      {"token_uri", "https://oauth2.googleapis.com/token"}};
  return j.dump();
}

int64_t RealNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(FcmOAuth, ServiceAccountFlowGetsCachesAndRefreshesTheAccessToken) {
  static const std::string pem = NewRsaPem();
  std::atomic<int64_t> clock{RealNow()};  // shared by sender and "Google"
  PushSimSettings ss;
  ss.now_epoch_s = [&] { return clock.load(); };
  ss.fcm_project = "nina-prod";
  ss.fcm_oauth_public_key_pem = http2::PublicKeyPem(http2::LoadPrivateKeyPem(pem));
  PushSim sim(ss);
  sim.Start();

  auto account = ServiceAccount::FromJson(ServiceAccountJson(pem));
  EXPECT_EQ(account.client_email, "fanout@nina-prod.iam.gserviceaccount.com");
  FcmOAuthSettings os;
  os.account = account;
  os.token_uri = sim.endpoint() + "/token";
  os.now_epoch_s = [&] { return clock.load(); };
  auto oauth = std::make_shared<FcmAccessTokenSource>(os);

  // The assertion is a verifiable RS256 JWT with Google's claims.
  auto v =
      http2::VerifyJwt(http2::JwtAlg::kRS256, http2::LoadPublicKeyPem(ss.fcm_oauth_public_key_pem),
                       oauth->Assertion(1700000000));
  ASSERT_TRUE(v);
  auto claims = nlohmann::json::parse(v->claims_json);
  EXPECT_EQ(claims["iss"], account.client_email);
  EXPECT_EQ(claims["scope"], "https://www.googleapis.com/auth/firebase.messaging");
  EXPECT_EQ(claims["aud"], sim.endpoint() + "/token");
  EXPECT_EQ(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 3600);

  FcmSettings fs;
  fs.endpoint = sim.endpoint();
  fs.project_id = account.project_id;
  fs.oauth = oauth;
  FcmGateway gw(fs);
  for (int i = 0; i < 3; ++i) {
    for (auto& r : gw.SendBatch(Reqs(i * 100, 20))) {
      ASSERT_EQ(r.outcome, PushOutcome::kAccepted) << r.reason;
    }
  }
  EXPECT_EQ(oauth->fetches(), 1u);  // cached across batches
  clock += 3600 - 299;              // inside the 5-minute refresh margin
  for (auto& r : gw.SendBatch(Reqs(1000, 5))) EXPECT_EQ(r.outcome, PushOutcome::kAccepted);
  EXPECT_EQ(oauth->fetches(), 2u);
  EXPECT_EQ(sim.Deliveries().size(), 65u);

  // A token the sim never issued is rejected.
  FcmGateway forged(GatewayFor(sim, "ya29.forged", "nina-prod"));
  EXPECT_EQ(forged.SendBatch(Reqs(1, 1))[0].outcome, PushOutcome::kAuthFailed);
}

TEST(FcmOAuth, RefusedGrantIsAuthFailedAndUnreachableEndpointIsRetryLater) {
  static const std::string pem = NewRsaPem();
  static const std::string other = NewRsaPem();
  PushSimSettings ss;
  ss.fcm_oauth_public_key_pem = http2::PublicKeyPem(http2::LoadPrivateKeyPem(other));
  PushSim sim(ss);
  sim.Start();
  FcmOAuthSettings os;
  os.account = ServiceAccount::FromJson(ServiceAccountJson(pem));  // not the key sim trusts
  os.token_uri = sim.endpoint() + "/token";
  auto oauth = std::make_shared<FcmAccessTokenSource>(os);
  FcmSettings fs;
  fs.endpoint = sim.endpoint();
  fs.project_id = "nina-prod";
  fs.oauth = oauth;
  FcmGateway gw(fs);
  auto r = gw.SendBatch(Reqs(0, 4));
  ASSERT_EQ(r.size(), 4u);
  for (auto& x : r) {
    EXPECT_EQ(x.outcome, PushOutcome::kAuthFailed);
    EXPECT_EQ(x.http_status, 400);
    EXPECT_EQ(x.reason, "oauth: invalid_grant");
  }
  EXPECT_EQ(sim.Stats().counts["fcm"].size(), 0u);  // no push was attempted

  // A clock 2 h behind makes an expired assertion: also refused.
  PushSimSettings ok_ss;
  ok_ss.fcm_oauth_public_key_pem = http2::PublicKeyPem(http2::LoadPrivateKeyPem(pem));
  PushSim ok_sim(ok_ss);
  ok_sim.Start();
  os.token_uri = ok_sim.endpoint() + "/token";
  os.now_epoch_s = [] { return RealNow() - 7200; };
  FcmAccessTokenSource skewed(os);
  auto t = skewed.Token();
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().outcome, PushOutcome::kAuthFailed);

  uint16_t dead_port = ok_sim.port();
  ok_sim.Stop();
  os.token_uri = "http://127.0.0.1:" + std::to_string(dead_port) + "/token";
  os.now_epoch_s = nullptr;
  FcmAccessTokenSource unreachable(os);
  auto u = unreachable.Token();
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().outcome, PushOutcome::kRetryLater);
  EXPECT_THROW(ServiceAccount::FromJson("{}"), std::runtime_error);
}

}  // namespace
}  // namespace fanout::adapters::fcm

#include <fstream>

namespace fanout::adapters::fcm {
namespace {

TEST(FcmGateway, MakeFromConfigUsesTheServiceAccountFile) {
  static const std::string pem = NewRsaPem();
  std::string path = ::testing::TempDir() + "/service-account.json";
  std::ofstream(path) << ServiceAccountJson(pem);
  PushSimSettings ss;
  ss.fcm_project = "nina-prod";
  ss.fcm_oauth_public_key_pem = http2::PublicKeyPem(http2::LoadPrivateKeyPem(pem));
  PushSim sim(ss);
  sim.Start();
  FcmConfig c;
  c.endpoint = sim.endpoint();
  c.token_uri = sim.endpoint() + "/token";
  c.service_account_file = path;  // project_id comes from the file
  auto gw = MakeFcmGateway(c);
  for (auto& r : gw->SendBatch(Reqs(0, 10)))
    EXPECT_EQ(r.outcome, PushOutcome::kAccepted) << r.reason;
  FcmConfig anon;
  anon.endpoint = sim.endpoint();
  EXPECT_THROW(MakeFcmGateway(anon), std::invalid_argument);  // no project id anywhere
}

}  // namespace
}  // namespace fanout::adapters::fcm

namespace fanout::adapters::fcm {
namespace {

// A sim granting access tokens (living `lifetime_s`) for the service account `pem`;
// `clock` (may be null: real time) is its clock.
PushSimSettings OAuthSim(const std::string& pem, int lifetime_s, std::atomic<int64_t>* clock) {
  PushSimSettings ss;
  ss.fcm_project = "nina-prod";
  ss.fcm_oauth_public_key_pem = http2::PublicKeyPem(http2::LoadPrivateKeyPem(pem));
  ss.fcm_token_lifetime_s = lifetime_s;
  if (clock != nullptr) ss.now_epoch_s = [clock] { return clock->load(); };
  return ss;
}

// The token source for `sim`, refreshing 1 s before expiry, on `clock` (null: real time).
FcmOAuthSettings OAuthOf(const PushSim& sim, const std::string& pem, std::atomic<int64_t>* clock) {
  FcmOAuthSettings os;
  os.account = ServiceAccount::FromJson(ServiceAccountJson(pem));
  os.token_uri = sim.endpoint() + "/token";
  os.refresh_margin = std::chrono::seconds(1);
  if (clock != nullptr) os.now_epoch_s = [clock] { return clock->load(); };
  return os;
}

FcmSettings GatewayWith(const PushSim& sim, std::shared_ptr<FcmAccessTokenSource> oauth) {
  FcmSettings fs;
  fs.endpoint = sim.endpoint();
  fs.project_id = "nina-prod";
  fs.oauth = std::move(oauth);
  fs.http.connections = 2;
  return fs;
}

// Issued access tokens expire after expires_in; Google then answers 401 UNAUTHENTICATED
// with ErrorInfo ACCESS_TOKEN_EXPIRED (README "Auth" in adapters/pushsim for the source).
TEST(FcmOAuth, SimRefusesExpiredMissingAndUnknownAccessTokensLikeGoogle) {
  static const std::string pem = NewRsaPem();
  std::atomic<int64_t> clock{RealNow()};
  PushSim sim(OAuthSim(pem, 60, &clock));
  sim.Start();
  FcmAccessTokenSource oauth(OAuthOf(sim, pem, &clock));
  auto token = oauth.Token();
  ASSERT_TRUE(token);
  http2::ClientSettings cs;
  cs.endpoint = *http2::ParseEndpoint(sim.endpoint());
  http2::Client client(cs);
  auto send = [&](const std::string& authorization) {
    http2::Request r;
    r.method = "POST";
    r.path = "/v1/projects/nina-prod/messages:send";
    if (!authorization.empty()) r.headers = {{"authorization", authorization}};
    r.body = *BuildFcmBody(Token(1), "{}");
    std::vector<http2::Request> v;
    v.push_back(std::move(r));
    return std::move(client.Execute(std::move(v))[0]);
  };
  const std::string invalid =
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
      "cookie or other valid authentication credential. See "
      "https://developers.google.com/identity/sign-in/web/devconsole-project.";
  EXPECT_EQ(send("Bearer " + *token).status, 200);
  clock += 59;
  EXPECT_EQ(send("Bearer " + *token).status, 200);
  clock += 1;  // expires_in has run out
  auto expired = send("Bearer " + *token);
  ASSERT_EQ(expired.status, 401);
  auto j = nlohmann::json::parse(expired.body);
  EXPECT_EQ(j["error"]["code"], 401);
  EXPECT_EQ(j["error"]["status"], "UNAUTHENTICATED");
  EXPECT_EQ(j["error"]["message"], invalid);
  EXPECT_EQ(j["error"]["details"][0]["@type"], "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_EQ(j["error"]["details"][0]["reason"], "ACCESS_TOKEN_EXPIRED");
  EXPECT_EQ(j["error"]["details"][0]["metadata"]["service"], "fcm.googleapis.com");
  auto mapped = MapFcmResponse(expired);
  EXPECT_EQ(mapped.outcome, PushOutcome::kAuthFailed);
  EXPECT_EQ(mapped.reason, "UNAUTHENTICATED");

  auto unknown = send("Bearer ya29.never-issued");
  ASSERT_EQ(unknown.status, 401);
  j = nlohmann::json::parse(unknown.body);
  EXPECT_EQ(j["error"]["message"], invalid);
  EXPECT_FALSE(j["error"].contains("details"));
  auto missing = send("");
  ASSERT_EQ(missing.status, 401);
  j = nlohmann::json::parse(missing.body);
  EXPECT_THAT(j["error"]["message"].get<std::string>(),
              ::testing::StartsWith("Request is missing required authentication credential."));
  EXPECT_EQ(j["error"]["details"][0]["reason"], "CREDENTIALS_MISSING");

  // Bounded memory: an expired token is remembered for an hour, then dropped at the next
  // grant (and answered like any unknown token).
  EXPECT_EQ(sim.Stats().fcm_access_tokens, 1u);
  clock += 3600;
  oauth.Invalidate();
  auto next = oauth.Token();
  ASSERT_TRUE(next);
  EXPECT_EQ(sim.Stats().fcm_access_tokens, 1u);
  j = nlohmann::json::parse(send("Bearer " + *token).body);
  EXPECT_FALSE(j["error"].contains("details"));
  EXPECT_EQ(send("Bearer " + *next).status, 200);
}

// The access token expires in the middle of a batch (the sim's clock jumps 5 s after
// the 50th push; tokens live 2 s): the gateway fetches a new token and resends the 401
// subset once, so every push is accepted, exactly once, within the same SendBatch.
TEST(FcmGateway, AccessTokenExpiringMidBatchIsRefreshedAndTheRestResent) {
  static const std::string pem = NewRsaPem();
  std::atomic<int64_t> clock{RealNow()};
  std::atomic<int> pushes{0};
  PushSimSettings ss = OAuthSim(pem, 2, &clock);
  ss.on_request = [&](const http2::ServerRequest& r) {
    if (r.path.ends_with("messages:send") && ++pushes == 50) clock += 5;
  };
  PushSim sim(ss);
  sim.Start();
  auto oauth = std::make_shared<FcmAccessTokenSource>(OAuthOf(sim, pem, &clock));
  FcmGateway gw(GatewayWith(sim, oauth));
  auto r = gw.SendBatch(Reqs(0, 200));
  for (auto& x : r) ASSERT_EQ(x.outcome, PushOutcome::kAccepted) << x.http_status << x.reason;
  EXPECT_EQ(oauth->fetches(), 2u);
  auto st = sim.Stats();
  EXPECT_GT(st.Count("fcm", "401"), 0u);
  EXPECT_EQ(st.Count("fcm", "200"), 200u);
  std::set<std::string> delivered;
  for (auto& d : sim.Deliveries()) delivered.insert(d.token);
  EXPECT_EQ(delivered.size(), 200u);
  EXPECT_EQ(sim.Deliveries().size(), 200u);

  // Refused again with the fresh token (here: tokens that are born expired): one resend
  // only, then kAuthFailed.
  ss.fcm_token_lifetime_s = 0;
  ss.on_request = nullptr;
  PushSim stale(ss);
  stale.Start();
  auto stale_oauth = std::make_shared<FcmAccessTokenSource>(OAuthOf(stale, pem, &clock));
  FcmGateway refused(GatewayWith(stale, stale_oauth));
  for (auto& x : refused.SendBatch(Reqs(0, 3))) {
    EXPECT_EQ(x.outcome, PushOutcome::kAuthFailed);
    EXPECT_EQ(x.http_status, 401);
  }
  EXPECT_EQ(stale_oauth->fetches(), 2u);
  EXPECT_EQ(stale.Stats().Count("fcm", "401"), 6u);
}

// Real time: tokens live 2 s, the source refreshes 1 s before expiry; batches for ~3 s
// go through without a single failed push.
TEST(FcmGateway, ShortLivedAccessTokensAreRefreshedDuringARun) {
  static const std::string pem = NewRsaPem();
  PushSim sim(OAuthSim(pem, 2, nullptr));
  sim.Start();
  auto oauth = std::make_shared<FcmAccessTokenSource>(OAuthOf(sim, pem, nullptr));
  FcmGateway gw(GatewayWith(sim, oauth));
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(3200);
  int sent = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (auto& x : gw.SendBatch(Reqs(sent, 20))) {
      ASSERT_EQ(x.outcome, PushOutcome::kAccepted) << x.http_status << x.reason;
    }
    sent += 20;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(oauth->fetches(), 3u);
  EXPECT_EQ(sim.Deliveries().size(), static_cast<size_t>(sent));
  EXPECT_EQ(sim.Stats().Count("fcm", "200"), static_cast<uint64_t>(sent));
}

}  // namespace
}  // namespace fanout::adapters::fcm
