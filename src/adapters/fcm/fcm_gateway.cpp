#include "adapters/fcm/fcm_gateway.hpp"

#include <nlohmann/json.hpp>
#include <numeric>
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
  std::vector<ports::PushResult> out(batch.size());
  std::vector<size_t> all(batch.size());
  std::iota(all.begin(), all.end(), size_t{0});
  Send(batch, all, token, out);
  if (settings_.access_token_provider || !settings_.oauth) return out;
  // 401: the access token expired (or was revoked) before our refresh margin said so.
  // FCM did not take those messages, so after one refresh they are sent once more.
  std::vector<size_t> unauthenticated;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].http_status == 401) unauthenticated.push_back(i);
  }
  if (unauthenticated.empty()) return out;
  settings_.oauth->Invalidate(token);
  auto fresh = settings_.oauth->Token();
  if (!fresh) {
    for (size_t i : unauthenticated) out[i] = fresh.error();
    return out;
  }
  Send(batch, unauthenticated, *fresh, out);
  for (size_t i : unauthenticated) {
    if (out[i].http_status == 401) {
      settings_.oauth->Invalidate(*fresh);  // refused twice: the next batch fetches again
      break;
    }
  }
  return out;
}

void FcmGateway::Send(std::span<const ports::PushRequest> batch, std::span<const size_t> which,
                      const std::string& token, std::vector<ports::PushResult>& out) {
  auto common = std::make_shared<http2::Headers>();
  if (!token.empty()) common->emplace_back("authorization", "Bearer " + token);
  common->emplace_back("content-type", "application/json; charset=UTF-8");
  std::vector<http2::Request> reqs;
  std::vector<size_t> index;  // reqs[k] answers batch[index[k]]
  reqs.reserve(which.size());
  index.reserve(which.size());
  for (size_t i : which) {
    auto body = BuildFcmBody(batch[i].token, batch[i].Payload());
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
  if (reqs.empty()) return;
  auto mapped = client_->ExecuteMapped<ports::PushResult>(
      std::move(reqs), [](http2::Response&& r) { return MapFcmResponse(r); });
  for (size_t k = 0; k < mapped.size(); ++k) out[index[k]] = std::move(mapped[k]);
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
