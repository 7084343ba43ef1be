#pragma once
// FcmGateway: ports::PushGateway for Firebase Cloud Messaging HTTP v1
// (anchors-push.md §4): one POST /v1/projects/{project}/messages:send per token over
// a pool of HTTP/2 connections (adapters/http2), `authorization: Bearer <token>`.
//
// PAYLOAD CONVENTION. PushRequest::payload is the JSON *object text* of the FCM
// `message` fields other than `token`, e.g.
//   {"data":{"alert_id":"DE-1","headline":"..."},
//    "android":{"priority":"HIGH","collapse_key":"DE-1","ttl":"3600s"}}
// The gateway splices the token in and sends
//   {"message":{"token":"<token>","data":{...},"android":{...}}}
// The payload must be a JSON object, must not contain "token"/"topic"/"condition",
// and is authoritative: PushRequest::collapse_id, high_priority and
// expiration_epoch_s are NOT injected (put android.collapse_key / priority / ttl in
// the payload). `{}` is allowed (token only). A payload that is not `{...}` is
// rejected locally as kPayloadRejected without a request.
//
// Thread-safe: any number of threads may call SendBatch at once. The access-token
// provider is called once per SendBatch and must cache its token.
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adapters/fcm/fcm_oauth.hpp"
#include "adapters/http2/client.hpp"
#include "ports/push_gateway.hpp"

namespace fanout::adapters::fcm {

struct FcmSettings {
  // "https://fcm.googleapis.com"; "http://host:port" = h2c for local tests.
  std::string endpoint = "https://fcm.googleapis.com";
  std::string project_id;  // required
  // Returns the OAuth2 access token (without "Bearer "); empty / unset = no header.
  std::function<std::string()> access_token_provider;
  // OAuth2 service-account flow (used when access_token_provider is unset). On a 401
  // the gateway invalidates the access token it used, fetches a new one and sends the
  // 401 subset of the batch once more with it (FCM took none of them).
  std::shared_ptr<FcmAccessTokenSource> oauth;
  // Pool, timeouts and TLS (ca_file, verify_peer). `http.endpoint` is set from `endpoint`.
  http2::ClientSettings http;
};

class FcmGateway final : public ports::PushGateway {
 public:
  /// Throws std::invalid_argument on a bad endpoint or empty project id,
  /// std::runtime_error on TLS setup errors. Connects lazily.
  explicit FcmGateway(FcmSettings settings);
  ports::Platform platform() const override { return ports::Platform::kFcm; }
  std::vector<ports::PushResult> SendBatch(std::span<const ports::PushRequest> batch) override;
  http2::ClientStats TransportStats() const { return client_->Stats(); }

 private:
  // Sends batch[i] for every i in `which` with `token`; writes out[i].
  void Send(std::span<const ports::PushRequest> batch, std::span<const size_t> which,
            const std::string& token, std::vector<ports::PushResult>& out);
  FcmSettings settings_;
  std::string path_;
  std::unique_ptr<http2::Client> client_;
};

/// The `[push.fcm]` config section (DESIGN §7.4) in one struct, for the wiring code.
struct FcmConfig {
  std::string endpoint = "https://fcm.googleapis.com";
  std::string token_uri;             // empty = the service account's token_uri
  std::string project_id;            // empty = the service account's project_id
  std::string service_account_file;  // empty = no authorization (e.g. pushsim)
  std::string ca_file;               // empty = system trust store (FCM and token URI)
  int connections = 4;
  int io_threads = 1;
  int thread_nice = 0;  // I/O threads' nice value (regular-priority pools run higher)
};
/// Builds the gateway (with an FcmAccessTokenSource when service_account_file is set).
/// Throws std::invalid_argument / std::runtime_error on bad config or key.
std::unique_ptr<FcmGateway> MakeFcmGateway(const FcmConfig& config);

/// The request body for `token` + `payload` (see the convention above); nullopt if
/// the payload is not a JSON object text.
std::optional<std::string> BuildFcmBody(std::string_view token, std::string_view payload);

/// Maps one HTTP/2 outcome to a PushResult (anchors-push.md §4.3):
/// 200 → kAccepted; errorCode UNREGISTERED, or INVALID_ARGUMENT about the token
/// (BadRequest field violation on message.token) → kTokenInvalid; 429 / QUOTA_EXCEEDED,
/// 5xx (UNAVAILABLE, INTERNAL) and transport failures → kRetryLater (Retry-After);
/// 401/403 (incl. SENDER_ID_MISMATCH, THIRD_PARTY_AUTH_ERROR) → kAuthFailed;
/// other 4xx → kPayloadRejected. `reason` = FCM errorCode, else the google.rpc status.
ports::PushResult MapFcmResponse(const http2::Response& response);

}  // namespace fanout::adapters::fcm
