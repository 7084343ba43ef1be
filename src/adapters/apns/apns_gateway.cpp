#include "adapters/apns/apns_gateway.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

namespace fanout::adapters::apns {
namespace {

std::string NewUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string ReasonOf(const std::string& body) {
  if (body.empty()) return {};
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("reason") && j["reason"].is_string()) {
    return j["reason"].get<std::string>();
  }
  return {};
}

}  // namespace

ports::PushResult MapApnsResponse(const http2::Response& r) {
  using ports::PushOutcome;
  ports::PushResult out;
  if (!r.ok()) {
    out.outcome = PushOutcome::kRetryLater;
    out.http_status = 0;
    out.reason = std::string(http2::TransportErrorName(r.error)) + ": " + r.error_message;
    return out;
  }
  out.http_status = r.status;
  if (r.status == 200) {
    out.outcome = PushOutcome::kAccepted;
    return out;
  }
  out.reason = ReasonOf(r.body);
  if (const std::string* ra = http2::FindHeader(r.headers, "retry-after")) {
    out.retry_after = http2::ParseRetryAfter(*ra);
  }
  const std::string& reason = out.reason;
  if (r.status == 410) {
    out.outcome = PushOutcome::kTokenInvalid;
  } else if (r.status == 400 &&
             (reason == "BadDeviceToken" || reason == "DeviceTokenNotForTopic")) {
    out.outcome = PushOutcome::kTokenInvalid;
  } else if (r.status == 403) {
    out.outcome = PushOutcome::kAuthFailed;
  } else if (r.status == 429 || r.status >= 500) {
    out.outcome = PushOutcome::kRetryLater;
  } else if (r.status >= 400) {
    out.outcome = PushOutcome::kPayloadRejected;
  } else {
    out.outcome = PushOutcome::kRetryLater;  // 1xx/3xx: not an answer APNs gives
  }
  return out;
}

http2::Request BuildApnsRequest(const ports::PushRequest& req, const std::string& topic,
                                const std::string& bearer) {
  http2::Request r;
  r.method = "POST";
  r.path = "/3/device/" + req.token;
  r.headers.reserve(7);
  if (!bearer.empty()) r.headers.emplace_back("authorization", "bearer " + bearer);
  r.headers.emplace_back("apns-topic", topic);
  r.headers.emplace_back("apns-push-type", "alert");
  r.headers.emplace_back("apns-priority", req.high_priority ? "10" : "5");
  r.headers.emplace_back("apns-expiration",
                         std::to_string(std::max<int64_t>(0, req.expiration_epoch_s)));
  if (!req.collapse_id.empty()) r.headers.emplace_back("apns-collapse-id", req.collapse_id);
  r.headers.emplace_back("apns-id", NewUuid());
  r.body = req.payload;
  return r;
}

ApnsGateway::ApnsGateway(ApnsSettings settings) : settings_(std::move(settings)) {
  auto ep = http2::ParseEndpoint(settings_.endpoint);
  if (!ep) throw std::invalid_argument("apns: bad endpoint '" + settings_.endpoint + "'");
  if (settings_.topic.empty()) throw std::invalid_argument("apns: topic is required");
  settings_.http.endpoint = *ep;
  client_ = std::make_unique<http2::Client>(settings_.http);
}

std::vector<ports::PushResult> ApnsGateway::SendBatch(std::span<const ports::PushRequest> batch) {
  std::string bearer = settings_.token_provider ? settings_.token_provider() : std::string();
  std::vector<http2::Request> reqs;
  reqs.reserve(batch.size());
  for (const auto& p : batch) reqs.push_back(BuildApnsRequest(p, settings_.topic, bearer));
  auto resps = client_->Execute(std::move(reqs));
  std::vector<ports::PushResult> out;
  out.reserve(resps.size());
  for (const auto& r : resps) out.push_back(MapApnsResponse(r));
  return out;
}

}  // namespace fanout::adapters::apns
