#pragma once
// The region's HTTP API (DESIGN §7.2), transport-neutral: the http adapter turns wire
// requests into HttpRequest and back, so routing, authentication and JSON shapes are tested
// without sockets. Thread-safe.
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/auth_throttle.hpp"
#include "app/console.hpp"
#include "app/dashboards.hpp"
#include "app/ingest.hpp"
#include "app/rate_limit.hpp"
#include "app/registry.hpp"
#include "app/settings.hpp"
#include "domain/pipeline/report.hpp"
#include "ports/clock.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::app {

struct HttpRequest {
  std::string method;
  std::string target;                          // raw path (+ query), percent-encoded as received
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;       // the client's address (throttling failed authentications)
  std::string client_cert{};  // CN of the client certificate the TLS layer verified; "" none
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// A streamed body (server-sent events): the transport calls it for each next chunk until
  /// it returns false or the client goes away; `body` is then ignored.
  std::function<bool(std::string& chunk)> stream;
};

/// The API's error body, `{"errors":[{"code","message"}]}`, for the transport's own answers
/// (429/503 from adapters/http) as for the app's.
HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message);

struct ApiSettings {
  std::map<std::string, std::string> provider_tokens;  // provider -> bearer token
  std::string device_token;
  std::string admin_token;
  /// The process's roles: alerts are accepted only with `ingest`, device calls answered only
  /// with `registry` (elsewhere 421 ROLE_NOT_SERVED, naming the roles served here).
  Roles roles;
  /// Cache-Control max-age of dashboard responses (`http.dashboard_max_age_s`).
  int64_t dashboard_max_age_s = 5;
  /// Failed authentications per client and minute before 429 (`http.auth_failures_per_minute`;
  /// 0: never).
  uint32_t auth_failures_per_minute = 20;
  /// Alerts per provider and second on average, and at once (`http.provider_alerts_per_s`,
  /// `http.provider_alerts_burst`; 0: no limit).
  double provider_alerts_per_s = 0;
  double provider_alerts_burst = 0;
  /// Mutual TLS (auth.provider_client_certs): a provider listed here must also present a
  /// client certificate with this common name, verified against http.tls_client_ca_file.
  std::map<std::string, std::string> provider_client_certs{};
};

class Api {
 public:
  Api(ApiSettings settings, RegionSettings region, Ingest& ingest, Registry& registry,
      const ports::ProtocolLog& log, std::function<std::string()> metrics_text = nullptr);

  HttpResponse Handle(const HttpRequest& req);
  void SetReady(bool ready) { ready_ = ready; }
  /// What `/readyz` also asks once started: the unavailable dependencies (e.g. "nats: ...",
  /// "postgresql: ..."); any makes the region not ready (503 "degraded" with the list).
  /// The region's dashboards (role `dashboard`); without them the route answers 421.
  void SetDashboards(Dashboards* d) { dashboards_ = d; }
  /// The operator console behind `GET /` and `/v1/console/*`.
  void SetConsole(Console* c) { console_ = c; }
  /// Failed authentications per client beyond the throttle's limit answer 429.
  void SetAuthThrottle(AuthThrottle* t, ports::Clock* clock) {
    throttle_ = t;
    throttle_clock_ = clock;
  }
  /// A provider's alerts beyond the limiter's rate answer 429 PROVIDER_RATE_LIMITED (checked
  /// after its token; uses the throttle's clock).
  void SetProviderRateLimit(RateLimiter* limiter) { provider_limit_ = limiter; }
  void SetDependencyCheck(std::function<std::vector<std::string>()> check) {
    dependency_check_ = std::move(check);
  }

 private:
  HttpResponse PutAlert(const HttpRequest& req, const std::string& provider, const std::string& id);
  HttpResponse GetAlert(const std::string& id);
  HttpResponse ListAlerts();
  HttpResponse PutDevice(const HttpRequest& req, const std::string& id);
  HttpResponse GetDevice(const std::string& id);
  HttpResponse DeleteDevice(const std::string& id);
  HttpResponse ConsoleCall(const HttpRequest& req, const std::vector<std::string>& seg);
  HttpResponse GetDashboard(const HttpRequest& req, const std::string& file);
  bool HasToken(const HttpRequest& req, const std::string& token) const;
  /// 401 with `message`, or 429 + Retry-After once the client failed too often.
  HttpResponse Denied(const HttpRequest& req, const std::string& message);

  ApiSettings settings_;
  RegionSettings region_;
  Ingest& ingest_;
  Registry& registry_;
  const ports::ProtocolLog& log_;
  std::function<std::string()> metrics_text_;
  std::atomic<bool> ready_{false};
  std::function<std::vector<std::string>()> dependency_check_;
  Dashboards* dashboards_ = nullptr;
  Console* console_ = nullptr;
  AuthThrottle* throttle_ = nullptr;
  RateLimiter* provider_limit_ = nullptr;
  ports::Clock* throttle_clock_ = nullptr;
};

/// Percent-decodes a path segment; nullopt for malformed escapes or an encoded NUL.
std::optional<std::string> PercentDecode(std::string_view s);

/// The report as the API and the demo print it.
std::string ReportJson(const domain::pipeline::AlertReport& r, int indent = -1);

}  // namespace fanout::app
