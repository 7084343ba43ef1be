#pragma once
// ApnsGateway: ports::PushGateway for Apple Push Notification service (HTTP/2
// provider API, anchors-push.md §3). One POST /3/device/{token} per request over a
// pool of HTTP/2 connections (adapters/http2).
//
// Per request it sends: apns-topic, apns-push-type: alert, apns-priority (10 if
// high_priority else 5), apns-expiration (request's epoch seconds; 0 = do not store),
// apns-collapse-id (when non-empty), a fresh apns-id (UUID v4) and
// `authorization: bearer <jwt>` when the token provider returns a non-empty token.
// PushRequest::payload is the complete APNs JSON body.
//
// Thread-safe: any number of threads may call SendBatch at once. The token provider
// is called once per SendBatch (never per request) and must cache its JWT itself.
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "adapters/apns/apns_token.hpp"
#include "adapters/http2/client.hpp"
#include "ports/push_gateway.hpp"

namespace fanout::adapters::apns {

struct ApnsSettings {
  // "https://api.push.apple.com" (or sandbox); "http://host:port" = h2c for local tests.
  std::string endpoint = "https://api.push.apple.com";
  std::string topic;  // bundle id; required
  // Returns the provider JWT (without "bearer "); empty / unset = no authorization
  // header (certificate auth).
  std::function<std::string()> token_provider;
  // Token auth from a .p8 key (used when token_provider is unset). The gateway calls
  // signer->Invalidate() when APNs answers 403 ExpiredProviderToken.
  std::shared_ptr<ApnsTokenSigner> signer;
  // A fresh `apns-id` UUID per push (APNs echoes it; without it APNs makes one up). Off
  // only for benchmarks that compare request shapes with h2load, which cannot vary it.
  bool send_apns_id = true;
  // Pool, timeouts and TLS (ca_file, verify_peer). `http.endpoint` is set from `endpoint`.
  http2::ClientSettings http;
};

class ApnsGateway final : public ports::PushGateway {
 public:
  /// Throws std::invalid_argument on a bad endpoint or empty topic, std::runtime_error
  /// on TLS setup errors. Connects lazily.
  explicit ApnsGateway(ApnsSettings settings);
  ports::Platform platform() const override { return ports::Platform::kApns; }
  /// With a signer, pushes answered 403 ExpiredProviderToken are sent once more with a
  /// fresh token inside the call (APNs did not take them), if the signer issued one.
  std::vector<ports::PushResult> SendBatch(std::span<const ports::PushRequest> batch) override;
  http2::ClientStats TransportStats() const { return client_->Stats(); }

 private:
  std::vector<ports::PushResult> Send(std::span<const ports::PushRequest> batch,
                                      const std::string& bearer);
  ApnsSettings settings_;
  std::unique_ptr<http2::Client> client_;
};

/// The `[push.apns]` config section (DESIGN §7.4) in one struct, for the wiring code.
struct ApnsConfig {
  std::string endpoint = "https://api.push.apple.com";
  std::string team_id;
  std::string key_id;
  std::string key_file;  // AuthKey_<key_id>.p8; empty = no provider token (e.g. pushsim)
  std::string topic;
  std::string ca_file;  // empty = system trust store
  int connections = 4;
  int io_threads = 1;
  int thread_nice = 0;  // I/O threads' nice value (regular-priority pools run higher)
};
/// Builds the gateway (with an ApnsTokenSigner when key_file is set). Throws
/// std::invalid_argument / std::runtime_error on bad config or an unreadable key.
std::unique_ptr<ApnsGateway> MakeApnsGateway(const ApnsConfig& config);

/// Maps one HTTP/2 outcome to a PushResult (anchors-push.md §3.5):
/// 200 → kAccepted; 410 (Unregistered, ExpiredToken) and 400 BadDeviceToken /
/// DeviceTokenNotForTopic → kTokenInvalid; 403 → kAuthFailed; 429 (TooManyRequests,
/// TooManyProviderTokenUpdates), 5xx and transport failures → kRetryLater (with
/// Retry-After if sent); other 4xx → kPayloadRejected. Only 403 ExpiredProviderToken
/// invalidates the signer: after TooManyProviderTokenUpdates a new token would be one
/// more update, so the signer keeps its token and the retry succeeds once APNs accepts it.
ports::PushResult MapApnsResponse(const http2::Response& response);

/// Headers shared by a batch: authorization (if `bearer` non-empty), apns-topic,
/// apns-push-type. Exposed for tests and tools.
std::shared_ptr<const http2::Headers> ApnsCommonHeaders(const std::string& topic,
                                                        const std::string& bearer);
/// The request the gateway sends for `req`: path, per-request apns-* headers, body.
http2::Request BuildApnsRequest(const ports::PushRequest& req,
                                std::shared_ptr<const http2::Headers> common,
                                bool with_apns_id = true);

}  // namespace fanout::adapters::apns
