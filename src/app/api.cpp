#include "app/api.hpp"

#include <nlohmann/json.hpp>

#include "app/device_json.hpp"
#include "platform/crypto/crypto.hpp"

namespace fanout::app {

using nlohmann::json;

HttpResponse ErrorResponse(int status, const std::string& code, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"errors", json::array({json{{"code", code}, {"message", message}}})}}.dump();
  return r;
}

namespace {

HttpResponse Json(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse Error(int status, const std::string& code, const std::string& message) {
  return ErrorResponse(status, code, message);
}

json IssuesJson(const std::vector<domain::cap::Issue>& issues) {
  json out = json::array();
  for (const auto& i : issues) out.push_back(json{{"code", i.code}, {"message", i.message}});
  return out;
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

json FlowJson(const domain::pipeline::FlowReport& f) {
  return json{{"platform", domain::device::PlatformName(f.platform)},
              {"flow", domain::device::FlowName(f.flow)},
              {"targeted", f.targeted},
              {"sent", f.accepted},
              {"failed", f.failed},
              {"invalid", f.invalid},
              {"redelivered", f.redelivered},
              {"possibly_redelivered", f.possibly_redelivered},
              {"first_push_ms", f.first_push_ms},
              {"last_push_ms", f.last_push_ms},
              {"p50_ms", f.p50_ms},
              {"p99_ms", f.p99_ms},
              {"units_queued", f.units_queued},
              {"units_done", f.units_done}};
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string ReportJson(const domain::pipeline::AlertReport& r, int indent) {
  json flows = json::array();
  for (const auto& f : r.flows) flows.push_back(FlowJson(f));
  json total = FlowJson(r.total);
  total.erase("platform");
  total.erase("flow");
  return json{{"id", r.alert_id},
              {"status", r.status},
              {"hash", r.hash},
              {"provider", r.provider},
              {"priority", r.priority},
              {"owner", r.owner},
              {"processing_region", r.processing_region},
              {"received_by", r.received_by},
              {"received_ms", r.received_ms},
              {"processed_ms", r.processed_ms},
              {"done_ms", r.done_ms},
              {"units_planned", r.units_planned},
              {"takeovers", r.takeovers},
              {"reasons", r.reasons},
              {"push_failure_reasons", r.push_failure_reasons},
              {"dead_letters", r.dead_letters},
              {"flows", flows},
              {"total", total}}
      .dump(indent);
}

Api::Api(ApiSettings settings, RegionSettings region, Ingest& ingest, Registry& registry,
         const ports::ProtocolLog& log, std::function<std::string()> metrics_text)
    : settings_(std::move(settings)),
      region_(std::move(region)),
      ingest_(ingest),
      registry_(registry),
      log_(log),
      metrics_text_(std::move(metrics_text)) {}

bool Api::HasToken(const HttpRequest& req, const std::string& token) const {
  if (token.empty()) return false;
  auto it = req.headers.find("authorization");
  if (it == req.headers.end()) return false;
  const std::string& h = it->second;
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() < kBearer.size() || (h.compare(0, kBearer.size(), kBearer) != 0 &&
                                    h.compare(0, kBearer.size(), "bearer ") != 0)) {
    return false;
  }
  // The configured token may be stored hashed (`sha256:<hex>`).
  return platform::SecretMatches(std::string_view(h).substr(kBearer.size()), token);
}

HttpResponse Api::Handle(const HttpRequest& req) {
  std::string_view target = req.target;
  if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  std::vector<std::string> raw = Split(target);
  std::vector<std::string> seg;
  for (const auto& r : raw) {
    auto d = PercentDecode(r);
    if (!d) return Error(400, "BAD_PATH", "malformed percent-encoding in the path");
    seg.push_back(*d);
  }
  const std::string& m = req.method;
  if (seg.empty() && m == "GET") {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = Console::Page();
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'unsafe-inline'; style-src "
                           "'unsafe-inline'; frame-ancestors 'none'");
    return r;
  }
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "console") return ConsoleCall(req, seg);
  if (seg.size() == 1 && seg[0] == "healthz" && m == "GET") return Json(200, {{"status", "ok"}});
  if (seg.size() == 1 && seg[0] == "readyz" && m == "GET") {
    if (!ready_) return Json(503, {{"status", "starting"}});
    if (dependency_check_) {
      auto problems = dependency_check_();
      if (!problems.empty()) return Json(503, {{"status", "degraded"}, {"problems", problems}});
    }
    return Json(200, {{"status", "ready"}, {"roles", settings_.roles.ToString()}});
  }
  if (seg.size() == 1 && seg[0] == "metrics" && m == "GET") {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_text_ ? metrics_text_() : "";
    return r;
  }
  // A process of a distributed region serves only its roles' calls: a load balancer routes
  // alerts to ingest processes and device calls to registry processes.
  auto not_served = [&](const char* role) {
    return Error(421, "ROLE_NOT_SERVED",
                 std::string("this process does not run the ") + role +
                     " role (roles: " + settings_.roles.ToString() + ")");
  };
  if (seg.size() == 3 && seg[0] == "v1" && seg[1] == "dashboard") {
    if (m != "GET" && m != "HEAD")
      return Error(405, "METHOD_NOT_ALLOWED", m + " is not supported here");
    if (!dashboards_) return not_served("dashboard");
    return GetDashboard(req, seg[2]);
  }
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "alerts") {
    if (seg.size() == 4 && m == "PUT") {
      if (!settings_.roles.ingest) return not_served("ingest");
      return PutAlert(req, seg[2], seg[3]);
    }
    if (!HasToken(req, settings_.admin_token)) {
      return Denied(req, "reports need the admin token");
    }
    if (seg.size() == 3 && m == "GET") return GetAlert(seg[2]);
    if (seg.size() == 2 && m == "GET") return ListAlerts();
    return Error(405, "METHOD_NOT_ALLOWED", m + " is not supported here");
  }
  if (seg.size() == 3 && seg[0] == "v1" && seg[1] == "devices") {
    if (!settings_.roles.registry) return not_served("registry");
    if (!HasToken(req, settings_.device_token)) {
      return Denied(req, "device calls need the device token");
    }
    if (m == "PUT") return PutDevice(req, seg[2]);
    if (m == "GET") return GetDevice(seg[2]);
    if (m == "DELETE") return DeleteDevice(seg[2]);
    return Error(405, "METHOD_NOT_ALLOWED", m + " is not supported here");
  }
  return Error(404, "NOT_FOUND", "no such resource: " + std::string(target));
}

HttpResponse Api::Denied(const HttpRequest& req, const std::string& message) {
  if (throttle_ && throttle_clock_) {
    if (int64_t wait = throttle_->Failed(req.remote, throttle_clock_->NowMs()); wait > 0) {
      HttpResponse r = Error(429, "TOO_MANY_FAILED_AUTHENTICATIONS",
                             "too many failed authentications from this client; retry after " +
                                 std::to_string(wait) + " s");
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return r;
    }
  }
  return Error(401, "UNAUTHORIZED", message);
}

HttpResponse Api::GetDashboard(const HttpRequest& req, const std::string& file) {
  constexpr std::string_view kSuffix = ".json";
  if (file.size() != 12 + kSuffix.size() || !file.ends_with(kSuffix)) {
    return Error(404, "UNKNOWN_REGION_KEY",
                 "a dashboard is /v1/dashboard/{12-digit ARS of any level}.json, e.g. "
                 "/v1/dashboard/091620000000.json");
  }
  const std::string key = file.substr(0, 12);
  auto page = dashboards_->Get(key);
  if (!page) {
    return Error(404, "UNKNOWN_REGION_KEY",
                 "region key " + key + " names no Land, district or municipality");
  }
  HttpResponse r;
  r.headers.emplace_back("ETag", page->etag);
  r.headers.emplace_back("Cache-Control",
                         "public, max-age=" + std::to_string(settings_.dashboard_max_age_s));
  auto inm = req.headers.find("if-none-match");
  if (inm != req.headers.end() && (inm->second == page->etag || inm->second == "*" ||
                                   inm->second.find(page->etag) != std::string::npos)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.body = req.method == "HEAD" ? std::string() : page->body;
  return r;
}

HttpResponse Api::PutAlert(const HttpRequest& req, const std::string& provider,
                           const std::string& id) {
  auto it = settings_.provider_tokens.find(provider);
  if (it == settings_.provider_tokens.end() || !HasToken(req, it->second)) {
    for (const auto& [other, token] : settings_.provider_tokens) {
      if (HasToken(req, token)) {
        return Error(403, "FORBIDDEN",
                     "this token belongs to provider " + other + ", not " + provider);
      }
    }
    return Denied(req, "missing or wrong provider token for " + provider);
  }
  if (auto cert = settings_.provider_client_certs.find(provider);
      cert != settings_.provider_client_certs.end() && req.client_cert != cert->second) {
    return Error(403, "CLIENT_CERTIFICATE_REQUIRED",
                 req.client_cert.empty()
                     ? "provider " + provider + " must present its client certificate (CN=" +
                           cert->second + ") over HTTPS"
                     : "the client certificate (CN=" + req.client_cert + ") is not provider " +
                           provider + "'s (CN=" + cert->second + ")");
  }
  if (provider_limit_ && throttle_clock_) {
    if (int64_t wait = provider_limit_->Take(provider, throttle_clock_->NowMs()); wait > 0) {
      int64_t s = RetryAfterSeconds(wait);
      HttpResponse r = Error(429, "PROVIDER_RATE_LIMITED",
                             "provider " + provider +
                                 " sends alerts faster than its limit (http.provider_alerts_per_s)"
                                 "; retry after " +
                                 std::to_string(s) + " s");
      r.headers.emplace_back("Retry-After", std::to_string(s));
      return r;
    }
  }
  IngestOutcome out = ingest_.Accept(provider, id, req.body);
  if (out.http_status == 202) {
    json body{{"id", out.id},           {"hash", out.hash},
              {"owner", out.owner},     {"priority", out.priority},
              {"region", region_.name}, {"duplicate", out.duplicate}};
    if (!out.warnings.empty()) body["warnings"] = IssuesJson(out.warnings);
    if (!out.errors.empty()) body["deviations"] = IssuesJson(out.errors);  // usable, not valid
    return Json(202, body);
  }
  json body{{"errors", IssuesJson(out.errors)}, {"id", out.id}, {"region", region_.name}};
  if (!out.hash.empty()) body["hash"] = out.hash;
  if (out.http_status == 400) body["quarantined"] = true;
  return Json(out.http_status, body);
}

HttpResponse Api::GetAlert(const std::string& id) {
  auto events = log_.Events(id);
  if (events.empty()) return Error(404, "NOT_FOUND", "no alert with id " + id);
  HttpResponse r;
  r.body = ReportJson(domain::pipeline::DeriveReport(id, events));
  return r;
}

HttpResponse Api::ListAlerts() {
  json out = json::array();
  for (const auto& id : log_.AlertIds()) {
    auto rep = domain::pipeline::DeriveReport(id, log_.Events(id));
    out.push_back(json{{"id", id},
                       {"status", rep.status},
                       {"provider", rep.provider},
                       {"priority", rep.priority},
                       {"targeted", rep.total.targeted},
                       {"sent", rep.total.accepted}});
  }
  return Json(200, out);
}

HttpResponse Api::PutDevice(const HttpRequest& req, const std::string& id) {
  auto parsed = DeviceFromJson(req.body, id);
  if (!parsed) return Error(400, parsed.error().code, parsed.error().message);
  auto r = registry_.Put(std::move(*parsed));
  if (!r) {
    bool unavailable = r.error().size() == 1 && r.error()[0].code == "STORE_UNAVAILABLE";
    return Json(unavailable ? 503 : 400, json{{"errors", IssuesJson(r.error())}});
  }
  HttpResponse resp;
  resp.status = *r == Registry::PutResult::kCreated ? 201 : 200;
  auto stored = registry_.Get(id);
  resp.body = stored ? DeviceToJson(*stored) : "{}";
  return resp;
}

HttpResponse Api::GetDevice(const std::string& id) {
  auto d = registry_.Get(id);
  if (!d) return Error(404, "NOT_FOUND", "no device " + id);
  HttpResponse resp;
  resp.body = DeviceToJson(*d);
  return resp;
}

HttpResponse Api::DeleteDevice(const std::string& id) {
  auto r = registry_.Remove(id, "api");
  if (!r) return Error(503, "STORE_UNAVAILABLE", r.error().message);
  if (!*r) return Error(404, "NOT_FOUND", "no device " + id);
  HttpResponse resp;
  resp.status = 204;
  resp.content_type.clear();
  return resp;
}

HttpResponse Api::ConsoleCall(const HttpRequest& req, const std::vector<std::string>& seg) {
  if (!console_) return Error(404, "NOT_FOUND", "this process has no operator console");
  const std::string& m = req.method;
  const std::string what = seg.size() >= 3 ? seg[2] : "";
  if (what == "login" && m == "POST") {
    auto ct = req.headers.find("content-type");
    const std::string session =
        console_->Login(req.body, ct == req.headers.end() ? "" : ct->second);
    if (session.empty()) return Denied(req, "not this region's admin token");
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    r.headers.emplace_back("Set-Cookie", std::string(Console::kCookie) + "=" + session +
                                             "; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
    return r;
  }
  if (what == "logout" && m == "POST") {
    auto c = req.headers.find("cookie");
    if (c != req.headers.end()) {
      const std::string prefix = std::string(Console::kCookie) + "=";
      if (size_t at = c->second.find(prefix); at != std::string::npos) {
        size_t end = c->second.find(';', at);
        console_->Logout(c->second.substr(at + prefix.size(), end == std::string::npos
                                                                  ? std::string::npos
                                                                  : end - at - prefix.size()));
      }
    }
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    r.headers.emplace_back("Set-Cookie", std::string(Console::kCookie) +
                                             "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    return r;
  }
  if (!console_->Authorized(req.headers)) {
    return Denied(req, "the console needs the admin token (sign in at /)");
  }
  if (m != "GET") return Error(405, "METHOD_NOT_ALLOWED", m + " is not supported here");
  if (what == "state" && seg.size() == 3) {
    HttpResponse r;
    r.body = console_->State();
    return r;
  }
  if (what == "events" && seg.size() == 3) {
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.stream = [c = console_, last = std::string()](std::string& chunk) mutable {
      return c->NextEvent(last, chunk);
    };
    return r;
  }
  if (what == "map.json" && seg.size() == 3) {
    HttpResponse r;
    r.body = console_->Outline();
    if (r.body.empty()) return Error(404, "NOT_FOUND", "no geodata for the map");
    r.headers.emplace_back("Cache-Control", "private, max-age=86400");
    return r;
  }
  if (what == "area" && seg.size() == 4 && seg[3].ends_with(".json")) {
    HttpResponse r;
    r.body = console_->Area(seg[3].substr(0, seg[3].size() - 5));
    if (r.body.empty()) return Error(404, "NOT_FOUND", "no area known for this alert here");
    return r;
  }
  return Error(404, "NOT_FOUND", "no such console resource");
}

}  // namespace fanout::app
