#include "adapters/apns/apns_gateway.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "platform/crypto/crypto.hpp"

namespace fanout::adapters::apns {
namespace {

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

std::shared_ptr<const http2::Headers> ApnsCommonHeaders(const std::string& topic,
                                                        const std::string& bearer) {
  auto h = std::make_shared<http2::Headers>();
  if (!bearer.empty()) h->emplace_back("authorization", "bearer " + bearer);
  h->emplace_back("apns-topic", topic);
  h->emplace_back("apns-push-type", "alert");
  return h;
}

http2::Request BuildApnsRequest(const ports::PushRequest& req,
                                std::shared_ptr<const http2::Headers> common, bool with_apns_id) {
  http2::Request r;
  r.method = "POST";
  r.path.reserve(10 + req.token.size());
  r.path = "/3/device/";
  r.path += req.token;
  r.common_headers = std::move(common);
  r.headers.reserve(4);
  r.headers.emplace_back("apns-priority", req.high_priority ? "10" : "5");
  r.headers.emplace_back("apns-expiration",
                         std::to_string(std::max<int64_t>(0, req.expiration_epoch_s)));
  if (!req.collapse_id.empty()) r.headers.emplace_back("apns-collapse-id", req.collapse_id);
  if (with_apns_id) r.headers.emplace_back("apns-id", platform::FastUuid());
  r.body = req.Payload();
  return r;
}

ApnsGateway::ApnsGateway(ApnsSettings settings) : settings_(std::move(settings)) {
  auto ep = http2::ParseEndpoint(settings_.endpoint);
  if (!ep) throw std::invalid_argument("apns: bad endpoint '" + settings_.endpoint + "'");
  if (settings_.topic.empty()) throw std::invalid_argument("apns: topic is required");
  settings_.http.endpoint = *ep;
  settings_.http.no_index_headers.push_back("apns-id");
  settings_.http.keep_response_headers = {"retry-after"};
  client_ = std::make_unique<http2::Client>(settings_.http);
}

std::vector<ports::PushResult> ApnsGateway::SendBatch(std::span<const ports::PushRequest> batch) {
  std::string bearer;
  if (settings_.token_provider) {
    bearer = settings_.token_provider();
  } else if (settings_.signer) {
    try {
      bearer = settings_.signer->Token();
    } catch (const std::exception& e) {
      ports::PushResult fail;
      fail.outcome = ports::PushOutcome::kAuthFailed;
      fail.reason = std::string("provider token: ") + e.what();
      return std::vector<ports::PushResult>(batch.size(), fail);
    }
  }
  std::vector<ports::PushResult> out = Send(batch, bearer);
  if (!settings_.signer) return out;
  // 403 ExpiredProviderToken: APNs did not take these. Re-sign (the signer does so at
  // most once per 20 min) and send them once more with the new token.
  std::vector<size_t> expired;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].reason == "ExpiredProviderToken") expired.push_back(i);
  }
  if (expired.empty()) return out;
  settings_.signer->Invalidate();
  std::string fresh;
  try {
    fresh = settings_.signer->Token();
  } catch (const std::exception&) {
    return out;  // stays kAuthFailed with APNs' reason
  }
  if (fresh == bearer) return out;  // not re-signed (refreshed < 20 min ago): auth failure
  std::vector<ports::PushRequest> again;
  again.reserve(expired.size());
  for (size_t i : expired) again.push_back(batch[i]);
  std::vector<ports::PushResult> second = Send(again, fresh);
  for (size_t k = 0; k < expired.size() && k < second.size(); ++k) {
    out[expired[k]] = std::move(second[k]);
  }
  return out;
}

std::vector<ports::PushResult> ApnsGateway::Send(std::span<const ports::PushRequest> batch,
                                                 const std::string& bearer) {
  auto common = ApnsCommonHeaders(settings_.topic, bearer);
  // Reused across this thread's batches: the path and apns-id strings keep their
  // capacity, so a request costs no allocation (RunBatch only reads them).
  thread_local std::vector<http2::Request> reqs;
  reqs.clear();
  // A batch normally carries one alert to many devices: the same payload, collapse id,
  // priority and expiration. Then those go into the shared headers and one shared
  // body, and each request only adds its path and apns-id (fewer allocations/copies).
  const auto& first = batch.empty() ? ports::PushRequest{} : batch.front();
  bool uniform = !batch.empty();
  for (const auto& p : batch) {
    uniform = uniform && (&p.Payload() == &first.Payload() || p.Payload() == first.Payload()) &&
              p.collapse_id == first.collapse_id && p.high_priority == first.high_priority &&
              p.expiration_epoch_s == first.expiration_epoch_s;
    if (!uniform) break;
  }
  if (uniform && batch.size() > 1) {
    auto shared = std::make_shared<http2::Headers>(*common);
    http2::Request proto = BuildApnsRequest(first, nullptr, /*with_apns_id=*/false);
    for (auto& h : proto.headers) shared->push_back(std::move(h));
    auto body = first.shared_payload ? first.shared_payload
                                     : std::make_shared<const std::string>(first.payload);
    reqs.resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      http2::Request& r = reqs[i];
      r.path.assign("/3/device/");
      r.path += batch[i].token;
      r.common_headers = shared;
      if (settings_.send_apns_id) {
        r.headers.resize(1);
        r.headers[0].first.assign("apns-id");
        platform::FastUuid(r.headers[0].second);
      } else {
        r.headers.clear();
      }
      r.body.clear();
      r.shared_body = body;
    }
  } else {
    for (const auto& p : batch) {
      reqs.push_back(BuildApnsRequest(p, common, settings_.send_apns_id));
    }
  }
  auto out = client_->ExecuteMapped<ports::PushResult>(
      reqs, [](http2::Response&& r) { return MapApnsResponse(r); });
  for (auto& r : reqs) {  // drop the references now; keep the string capacity
    r.common_headers.reset();
    r.shared_body.reset();
  }
  return out;
}

std::unique_ptr<ApnsGateway> MakeApnsGateway(const ApnsConfig& c) {
  ApnsSettings s;
  s.endpoint = c.endpoint;
  s.topic = c.topic;
  s.http.ca_file = c.ca_file;
  s.http.connections = c.connections;
  s.http.io_threads = c.io_threads;
  s.http.thread_nice = c.thread_nice;
  if (!c.key_file.empty()) {
    ApnsTokenSettings ts;
    ts.key_id = c.key_id;
    ts.team_id = c.team_id;
    s.signer = ApnsTokenSigner::FromFile(c.key_file, ts);
  }
  return std::make_unique<ApnsGateway>(std::move(s));
}

}  // namespace fanout::adapters::apns
