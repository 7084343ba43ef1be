#include "adapters/fcm/fcm_gateway.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace fanout::adapters::fcm {
namespace {

std::string_view Trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> BuildFcmBody(std::string_view token, std::string_view payload) {
  payload = Trim(payload);
  if (payload.size() < 2 || payload.front() != '{' || payload.back() != '}') return std::nullopt;
  std::string_view inner = Trim(payload.substr(1, payload.size() - 2));
  std::string body;
  body.reserve(payload.size() + token.size() + 32);
  body += "{\"message\":{\"token\":";
  body += http2::JsonQuote(token);
  if (!inner.empty()) {
    body += ',';
    body += inner;
  }
  body += "}}";
  return body;
}

ports::PushResult MapFcmResponse(const http2::Response& r) {
  using ports::PushOutcome;
  ports::PushResult out;
  if (!r.ok()) {
    out.outcome = PushOutcome::kRetryLater;
    out.reason = std::string(http2::TransportErrorName(r.error)) + ": " + r.error_message;
    return out;
  }
  out.http_status = r.status;
  if (r.status == 200) {
    out.outcome = PushOutcome::kAccepted;
    return out;
  }
  if (const std::string* ra = http2::FindHeader(r.headers, "retry-after")) {
    out.retry_after = http2::ParseRetryAfter(*ra);
  }
  std::string rpc_status, error_code, message;
  bool token_violation = false;
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    if (e.contains("status") && e["status"].is_string()) rpc_status = e["status"];
    if (e.contains("message") && e["message"].is_string()) message = e["message"];
    if (e.contains("details") && e["details"].is_array()) {
      for (const auto& d : e["details"]) {
        if (!d.is_object()) continue;
        if (d.contains("errorCode") && d["errorCode"].is_string()) error_code = d["errorCode"];
        if (d.contains("fieldViolations") && d["fieldViolations"].is_array()) {
          for (const auto& v : d["fieldViolations"]) {
            if (v.is_object() && v.contains("field") && v["field"].is_string() &&
                v["field"].get<std::string>().find("token") != std::string::npos) {
              token_violation = true;
            }
          }
        }
      }
    }
  }
  out.reason = !error_code.empty() ? error_code : rpc_status;
  bool invalid_argument = error_code == "INVALID_ARGUMENT" || rpc_status == "INVALID_ARGUMENT";
  if (error_code == "UNREGISTERED") {
    out.outcome = PushOutcome::kTokenInvalid;
  } else if (invalid_argument &&
             (token_violation || message.find("registration token") != std::string::npos)) {
    out.outcome = PushOutcome::kTokenInvalid;
  } else if (r.status == 429 || r.status >= 500 || error_code == "QUOTA_EXCEEDED" ||
             error_code == "UNAVAILABLE" || error_code == "INTERNAL") {
    out.outcome = PushOutcome::kRetryLater;
  } else if (r.status == 401 || r.status == 403) {
    out.outcome = PushOutcome::kAuthFailed;
  } else if (r.status >= 400) {
    out.outcome = PushOutcome::kPayloadRejected;
  } else {
    out.outcome = PushOutcome::kRetryLater;
  }
  return out;
}

FcmGateway::FcmGateway(FcmSettings settings) : settings_(std::move(settings)) {
  auto ep = http2::ParseEndpoint(settings_.endpoint);
  if (!ep) throw std::invalid_argument("fcm: bad endpoint '" + settings_.endpoint + "'");
  if (settings_.project_id.empty()) throw std::invalid_argument("fcm: project_id is required");
  settings_.http.endpoint = *ep;
  settings_.http.keep_response_headers = {"retry-after"};
  path_ = "/v1/projects/" + settings_.project_id + "/messages:send";
  client_ = std::make_unique<http2::Client>(settings_.http);
}

std::vector<ports::PushResult> FcmGateway::SendBatch(std::span<const ports::PushRequest> batch) {
  std::string token;
  if (settings_.access_token_provider) {
    token = settings_.access_token_provider();
  } else if (settings_.oauth) {
    auto t = settings_.oauth->Token();
    if (!t) return std::vector<ports::PushResult>(batch.size(), t.error());
    token = std::move(*t);
  }
  auto common = std::make_shared<http2::Headers>();
  if (!token.empty()) common->emplace_back("authorization", "Bearer " + token);
  common->emplace_back("content-type", "application/json; charset=UTF-8");
  std::vector<ports::PushResult> out(batch.size());
  std::vector<http2::Request> reqs;
  std::vector<size_t> index;  // reqs[i] answers batch[index[i]]
  reqs.reserve(batch.size());
  index.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto body = BuildFcmBody(batch[i].token, batch[i].payload);
    if (!body) {
      out[i].outcome = ports::PushOutcome::kPayloadRejected;
      out[i].reason = "payload is not a JSON object";
      continue;
    }
    http2::Request r;
    r.method = "POST";
    r.path = path_;
    r.common_headers = common;
    r.body = std::move(*body);
    reqs.push_back(std::move(r));
    index.push_back(i);
  }
  if (reqs.empty()) return out;
  auto mapped = client_->ExecuteMapped<ports::PushResult>(
      std::move(reqs), [](http2::Response&& r) { return MapFcmResponse(r); });
  bool unauthenticated = false;
  for (size_t k = 0; k < mapped.size(); ++k) {
    unauthenticated = unauthenticated || mapped[k].http_status == 401;
    out[index[k]] = std::move(mapped[k]);
  }
  if (unauthenticated && settings_.oauth) settings_.oauth->Invalidate();
  return out;
}

std::unique_ptr<FcmGateway> MakeFcmGateway(const FcmConfig& c) {
  FcmSettings s;
  s.endpoint = c.endpoint;
  s.project_id = c.project_id;
  s.http.ca_file = c.ca_file;
  s.http.connections = c.connections;
  s.http.io_threads = c.io_threads;
  s.http.thread_nice = c.thread_nice;
  if (!c.service_account_file.empty()) {
    FcmOAuthSettings os;
    os.account = ServiceAccount::FromFile(c.service_account_file);
    os.token_uri = c.token_uri;
    os.http.ca_file = c.ca_file;
    if (s.project_id.empty()) s.project_id = os.account.project_id;
    s.oauth = std::make_shared<FcmAccessTokenSource>(std::move(os));
  }
  return std::make_unique<FcmGateway>(std::move(s));
}

}  // namespace fanout::adapters::fcm
