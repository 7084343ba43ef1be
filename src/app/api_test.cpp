#include "app/api.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "adapters/memory/file_archive.hpp"
#include "adapters/memory/memory_bus.hpp"
#include "adapters/memory/memory_device_feed.hpp"
#include "adapters/memory/memory_protocol_log.hpp"
#include "platform/crypto/crypto.hpp"
#include "testing/fakes.hpp"

namespace fanout::app {
namespace {

using nlohmann::json;

// What the fake decoder answers for a usable Actual/Public alert `id`.
domain::cap::CheckResult UsableAlert(const std::string& id) {
  domain::cap::CheckResult ok;
  ok.valid = ok.usable = true;
  ok.alert.emplace();
  ok.alert->identifier = id;
  ok.alert->status = "Actual";
  ok.alert->scope = "Public";
  ok.alert->msg_type = "Alert";
  return ok;
}

/// A request from TEST-NET-1 with a bearer token (none when empty) and the CN of a verified
/// client certificate (none when empty).
HttpRequest Request(std::string method, std::string target, const std::string& token,
                    std::string body = "", std::string client_cert = "") {
  HttpRequest r{std::move(method), std::move(target), {},
                std::move(body),   "192.0.2.1",       std::move(client_cert)};
  if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
  return r;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : dir_(std::filesystem::temp_directory_path() / ("fanout-api-" + std::to_string(::getpid()))),
        archive_(dir_),
        registry_("r0", store_, feed_, ProviderSettings{}, 4,
                  [](const std::string& k) { return k != "099990000000"; }),
        ingest_(RegionSettings{"r0", 0, 1}, ProviderSettings{}, PipelineSettings{}, decoder_,
                archive_, log_, bus_, clock_),
        api_(ApiSettings{{{"AP1", "t-ap1"}, {"AP2", "t-ap2"}}, "t-dev", "t-admin", Roles{}},
             RegionSettings{"r0", 0, 1}, ingest_, registry_, log_,
             [] { return std::string("fanout_up 1\n"); }) {
    EXPECT_TRUE(registry_.Start());
    decoder_.Add("<alert/>", UsableAlert("a/b c"));
  }
  ~ApiTest() override { std::filesystem::remove_all(dir_); }

  HttpResponse Call(std::string method, std::string target, std::string token = "",
                    std::string body = "") {
    HttpRequest r = Request(std::move(method), std::move(target), token, std::move(body));
    r.remote = remote_;
    return api_.Handle(r);
  }

  std::filesystem::path dir_;
  std::string remote_ = "192.0.2.1";  // TEST-NET-1
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
};

TEST_F(ApiTest, AlertPutNeedsTheProvidersOwnToken) {
  EXPECT_EQ(Call("PUT", "/v1/alerts/AP1/x", "", "<alert/>").status, 401);
  EXPECT_EQ(Call("PUT", "/v1/alerts/AP1/x", "wrong", "<alert/>").status, 401);
  HttpResponse r = Call("PUT", "/v1/alerts/AP1/x", "t-ap2", "<alert/>");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("AP2"), std::string::npos);
}

TEST_F(ApiTest, AlertPutDecodesTheIdAndAnswers202ThenReports) {
  HttpResponse r = Call("PUT", "/v1/alerts/AP1/a%2Fb%20c", "t-ap1", "<alert/>");
  ASSERT_EQ(r.status, 202) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["id"], "a/b c");
  EXPECT_EQ(j["hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["owner"], 0);
  EXPECT_EQ(j["priority"], "high");  // AP1 is high priority
  EXPECT_EQ(Call("GET", "/v1/alerts/a%2Fb%20c").status, 401);
  HttpResponse rep = Call("GET", "/v1/alerts/a%2Fb%20c", "t-admin");
  ASSERT_EQ(rep.status, 200);
  json rj = json::parse(rep.body);
  EXPECT_EQ(rj["id"], "a/b c");
  EXPECT_EQ(rj["flows"].size(), 4u);
  EXPECT_EQ(Call("GET", "/v1/alerts/nope", "t-admin").status, 404);
  EXPECT_EQ(Call("GET", "/v1/alerts/%zz", "t-admin").status, 400);
}

TEST_F(ApiTest, InvalidAlertIs400AndQuarantined) {
  HttpResponse r = Call("PUT", "/v1/alerts/AP2/bad", "t-ap2", "garbage");
  EXPECT_EQ(r.status, 400);
  json j = json::parse(r.body);
  EXPECT_TRUE(j["quarantined"].get<bool>());
  EXPECT_EQ(j["errors"][0]["code"], "UNKNOWN_BODY");
  json rep = json::parse(Call("GET", "/v1/alerts/bad", "t-admin").body);
  EXPECT_EQ(rep["status"], "quarantined");
}

TEST_F(ApiTest, DeviceLifecycle) {
  std::string body = R"({"platform":"apns","token":")" + std::string(64, 'c') +
                     R"(","levels":{"AP1":2},"mylocation":false,"regions":["055150000000"]})";
  EXPECT_EQ(Call("PUT", "/v1/devices/d1", "", body).status, 401);
  EXPECT_EQ(Call("PUT", "/v1/devices/d1", "t-dev", body).status, 201);
  EXPECT_EQ(Call("PUT", "/v1/devices/d1", "t-dev", body).status, 200);  // idempotent
  HttpResponse g = Call("GET", "/v1/devices/d1", "t-dev");
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(json::parse(g.body)["levels"]["AP1"], 2);
  EXPECT_EQ(Call("DELETE", "/v1/devices/d1", "t-dev").status, 204);
  EXPECT_EQ(Call("DELETE", "/v1/devices/d1", "t-dev").status, 404);
  EXPECT_EQ(Call("GET", "/v1/devices/d1", "t-dev").status, 404);
}

TEST_F(ApiTest, DeviceValidationErrorsAre400WithCodes) {
  auto code = [&](const std::string& body) {
    HttpResponse r = Call("PUT", "/v1/devices/d2", "t-dev", body);
    EXPECT_EQ(r.status, 400) << body;
    json j = json::parse(r.body);
    return j["errors"][0]["code"].get<std::string>();
  };
  EXPECT_EQ(code("nope"), "INVALID_JSON");
  EXPECT_EQ(code(R"({"platform":"web","token":"x"})"), "INVALID_PLATFORM");
  EXPECT_EQ(code(R"({"platform":"apns"})"), "INVALID_FIELD");
  EXPECT_EQ(code(R"({"platform":"apns","token":"short","regions":["055150000000"]})"),
            "INVALID_TOKEN");
  EXPECT_EQ(code(R"({"platform":"fcm","token":"t","regions":["099990000000"]})"),
            "UNKNOWN_REGION_KEY");
  EXPECT_EQ(code(R"({"platform":"fcm","token":"t","levels":{"AP1":"x"},"regions":[]})"),
            "INVALID_FIELD");
}

TEST_F(ApiTest, HealthReadinessMetricsAndUnknownPaths) {
  EXPECT_EQ(Call("GET", "/healthz").status, 200);
  EXPECT_EQ(Call("GET", "/readyz").status, 503);
  api_.SetReady(true);
  EXPECT_EQ(Call("GET", "/readyz").status, 200);
  HttpResponse m = Call("GET", "/metrics");
  EXPECT_EQ(m.body, "fanout_up 1\n");
  EXPECT_NE(m.content_type.find("text/plain"), std::string::npos);
  EXPECT_EQ(Call("GET", "/nowhere").status, 404);
  EXPECT_EQ(Call("GET", "/").status, 200);
}

TEST_F(ApiTest, ReadinessReportsTheDependenciesThatAreAway) {
  api_.SetReady(true);
  std::vector<std::string> away{"postgresql: connection refused"};
  api_.SetDependencyCheck([&] { return away; });
  HttpResponse r = Call("GET", "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("degraded"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("postgresql: connection refused"), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", "/healthz").status, 200);  // alive all the same
  away.clear();
  EXPECT_EQ(Call("GET", "/readyz").status, 200);
}

// The parts an Api stands on, in memory (for tests that need their own ApiSettings).
struct Parts {
  explicit Parts(const std::string& name)
      : dir(std::filesystem::temp_directory_path() /
            ("fanout-api-" + name + "-" + std::to_string(::getpid()))),
        archive(dir),
        registry("r0", store, feed, ProviderSettings{}, 4),
        ingest(RegionSettings{"r0", 0, 1}, ProviderSettings{}, PipelineSettings{}, decoder, archive,
               log, bus, clock) {}
  testing::ManualClock clock;
  testing::FakeAlertDecoder decoder;
  testing::FakeDeviceStore store;
  adapters::memory::MemoryDeviceFeed feed;
  adapters::memory::MemoryBus bus;
  adapters::memory::MemoryProtocolLog log;
  std::filesystem::path dir;
  adapters::memory::FileArchive archive;
  Registry registry;
  Ingest ingest;
};

// Mutual TLS per provider: AP1 needs its token and a verified client certificate with its
// common name; AP2 (not listed) its token only; a certificate never replaces a token.
TEST(ApiClientCerts, AProviderWithACertificateRuleNeedsBoth) {
  Parts parts("mtls");
  auto& [clock, decoder, store, feed, bus, log, dir, archive, registry, ingest] = parts;
  ApiSettings settings{{{"AP1", "t-ap1"}, {"AP2", "t-ap2"}}, "t-dev", "t-admin", Roles{}};
  settings.provider_client_certs = {{"AP1", "mowas.bbk.example"}};
  Api api(settings, RegionSettings{"r0", 0, 1}, ingest, registry, log);
  decoder.Add("<alert/>", UsableAlert("x"));
  auto put = [&](const std::string& provider, const std::string& token, const std::string& cn) {
    return api.Handle(Request("PUT", "/v1/alerts/" + provider + "/x", token, "<alert/>", cn));
  };
  HttpResponse none = put("AP1", "t-ap1", "");
  EXPECT_EQ(none.status, 403);
  EXPECT_NE(none.body.find("CLIENT_CERTIFICATE_REQUIRED"), std::string::npos) << none.body;
  EXPECT_NE(none.body.find("CN=mowas.bbk.example"), std::string::npos) << none.body;
  HttpResponse other = put("AP1", "t-ap1", "dwd.example");
  EXPECT_EQ(other.status, 403);
  EXPECT_NE(other.body.find("CN=dwd.example"), std::string::npos) << other.body;
  EXPECT_EQ(put("AP1", "wrong", "mowas.bbk.example").status, 401);  // never instead of a token
  EXPECT_EQ(put("AP1", "t-ap1", "mowas.bbk.example").status, 202);
  EXPECT_EQ(put("AP2", "t-ap2", "").status, 202);
  std::filesystem::remove_all(dir);
}

TEST(ApiRoles, AProcessServesOnlyItsRolesCalls) {
  Parts parts("roles");
  auto& [clock, decoder, store, feed, bus, log, dir, archive, registry, ingest] = parts;
  ApiSettings settings{{{"AP1", "t-ap1"}}, "t-dev", "t-admin", Roles{}};
  settings.roles = Roles::Of({"queuer", "sender"});
  Api api(settings, RegionSettings{"r0", 0, 1}, ingest, registry, log);
  api.SetReady(true);
  auto call = [&](std::string method, std::string target, std::string token) {
    return api.Handle(Request(std::move(method), std::move(target), token, "<alert/>"));
  };
  HttpResponse put = call("PUT", "/v1/alerts/AP1/x", "t-ap1");
  EXPECT_EQ(put.status, 421);
  EXPECT_NE(put.body.find("ROLE_NOT_SERVED"), std::string::npos) << put.body;
  EXPECT_NE(put.body.find("ingest"), std::string::npos) << put.body;
  HttpResponse dev = call("GET", "/v1/devices/d1", "t-dev");
  EXPECT_EQ(dev.status, 421);
  EXPECT_NE(dev.body.find("roles: queuer,sender"), std::string::npos) << dev.body;
  // Reports, health and readiness everywhere.
  EXPECT_EQ(call("GET", "/v1/alerts/x", "t-admin").status, 404);
  HttpResponse ready = call("GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find("queuer,sender"), std::string::npos) << ready.body;
  EXPECT_EQ(bus.Pending(), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fanout::app

namespace fanout::app {
namespace {

// The dashboard route: no token needed, ETag/304, Cache-Control, 404 for an unknown key, 421
// where the process does not run the dashboard role.
TEST_F(ApiTest, DashboardsAnswerWithETagAndCacheControl) {
  EXPECT_EQ(Call("GET", "/v1/dashboard/091620000000.json").status, 421);
  domain::geo::GeoCatalog catalog({{"091620000000", "09162000", "München", 48.14, 11.58}}, {});
  Dashboards dashboards(ProviderSettings{}, log_, archive_, decoder_, catalog, nullptr, clock_);
  api_.SetDashboards(&dashboards);
  HttpResponse r = Call("GET", "/v1/dashboard/091620000000.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "[]");
  std::string etag, cache;
  for (const auto& [k, v] : r.headers) {
    if (k == "ETag") etag = v;
    if (k == "Cache-Control") cache = v;
  }
  EXPECT_EQ(etag.size(), 34u);  // quoted, 32 hex digits
  EXPECT_EQ(cache, "public, max-age=5");
  HttpRequest again{
      "GET", "/v1/dashboard/090000000000.json", {{"if-none-match", etag}}, "", "192.0.2.1"};
  HttpResponse not_modified = api_.Handle(again);
  EXPECT_EQ(not_modified.status, 304);  // Bayern's list is München's: both empty
  EXPECT_TRUE(not_modified.body.empty());
  EXPECT_EQ(Call("GET", "/v1/dashboard/099990000000.json").status, 404);
  EXPECT_EQ(Call("GET", "/v1/dashboard/0916.json").status, 404);
  EXPECT_EQ(Call("PUT", "/v1/dashboard/091620000000.json").status, 405);
  api_.SetDashboards(nullptr);
}

}  // namespace
}  // namespace fanout::app

namespace fanout::app {
namespace {

// Guessing tokens: after the limit a client's wrong tokens get 429 + Retry-After, while a
// valid token from the same address still works and other clients are not affected; the
// window passes and 401s come back.
TEST_F(ApiTest, FailedAuthenticationsAreThrottledPerClientNeverAValidToken) {
  AuthThrottle throttle({/*max_failures=*/5, /*window_ms=*/60'000, /*max_clients=*/100});
  api_.SetAuthThrottle(&throttle, &clock_);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Call("PUT", "/v1/alerts/AP1/x", "guess-" + std::to_string(i), "<alert/>").status,
              401);
  }
  HttpResponse slow = Call("GET", "/v1/alerts/x", "guess");
  EXPECT_EQ(slow.status, 429);
  std::string retry;
  for (const auto& [k, v] : slow.headers) {
    if (k == "Retry-After") retry = v;
  }
  EXPECT_EQ(retry, "60");
  // A valid token from the same address is never refused.
  EXPECT_EQ(Call("PUT", "/v1/alerts/AP1/a%2Fb%20c", "t-ap1", "<alert/>").status, 202);
  remote_ = "198.51.100.7";  // another client: unaffected
  EXPECT_EQ(Call("GET", "/v1/alerts/x", "guess").status, 401);
  remote_ = "192.0.2.1";
  clock_.Advance(30'000);
  HttpResponse later = Call("GET", "/v1/alerts/x", "guess");
  EXPECT_EQ(later.status, 429);
  clock_.Advance(30'000);  // the window has passed
  EXPECT_EQ(Call("GET", "/v1/alerts/x", "guess").status, 401);
  EXPECT_EQ(throttle.Throttled(clock_.NowMs()), 0u);
  api_.SetAuthThrottle(nullptr, nullptr);
}

}  // namespace
}  // namespace fanout::app

namespace fanout::app {
namespace {

// Tokens may be configured as their SHA-256 (issue 14): the clear token still works, the hash
// itself is not a token.
TEST(ApiHashedTokens, AHashedAdminTokenAcceptsTheClearToken) {
  testing::ManualClock clock;
  testing::FakeAlertDecoder decoder;
  testing::FakeDeviceStore store;
  adapters::memory::MemoryDeviceFeed feed;
  adapters::memory::MemoryBus bus;
  adapters::memory::MemoryProtocolLog log;
  const auto dir =
      std::filesystem::temp_directory_path() / ("fanout-api-hashed-" + std::to_string(::getpid()));
  adapters::memory::FileArchive archive(dir);
  Registry registry("r0", store, feed, ProviderSettings{}, 4);
  Ingest ingest(RegionSettings{"r0", 0, 1}, ProviderSettings{}, PipelineSettings{}, decoder,
                archive, log, bus, clock);
  const std::string hashed = "sha256:" + platform::Sha256Hex("t-admin");
  Api api(ApiSettings{{}, "", hashed, Roles{}}, RegionSettings{"r0", 0, 1}, ingest, registry, log);
  auto get = [&](const std::string& token) {
    return api.Handle(Request("GET", "/v1/alerts", token)).status;
  };
  EXPECT_EQ(get("t-admin"), 200);
  EXPECT_EQ(get(hashed), 401);
  EXPECT_EQ(get("t-admiN"), 401);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fanout::app
