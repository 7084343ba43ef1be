#pragma once
// Port: a push platform (APNs, FCM). Adapters: adapters/apns, adapters/fcm; fake:
// testing/fake_push_gateway.hpp. Implementations are thread-safe: several sender
// workers may call SendBatch at once; each call blocks until every request of the
// batch has a final outcome for this attempt (the sender owns retries).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::ports {

enum class Platform { kApns, kFcm };
inline std::string_view PlatformName(Platform p) { return p == Platform::kApns ? "apns" : "fcm"; }

struct PushRequest {
  std::string token;
  std::string payload;  // APNs: the JSON body; FCM: the JSON of `message` minus `token`
  // When set, this push's payload instead of `payload`: a batch carries one alert, so the
  // sender shares one copy across it (no copy per push; gateways compare pointers).
  std::shared_ptr<const std::string> shared_payload;
  std::string collapse_id;  // apns-collapse-id / android.collapse_key (<= 64 bytes)
  bool high_priority = false;
  int64_t expiration_epoch_s = 0;  // 0: deliver once, do not store

  const std::string& Payload() const { return shared_payload ? *shared_payload : payload; }
};

/// What the caller does next (STYLE: errors say what the caller does next).
enum class PushOutcome {
  kAccepted,         // the platform took it
  kRetryLater,       // 429/5xx/UNAVAILABLE/connection lost before processing: retry with backoff
  kTokenInvalid,     // 410 Unregistered, BadDeviceToken, UNREGISTERED: remove the device
  kPayloadRejected,  // 400/413 about the request itself: do not retry, fix the payload
  kAuthFailed,       // 403 auth errors: refresh credentials, alert the operator
};
std::string_view PushOutcomeName(PushOutcome o);

struct PushResult {
  PushOutcome outcome = PushOutcome::kRetryLater;
  int http_status = 0;  // 0 when no response was received
  std::string reason;   // APNs reason / FCM error status, or a transport message
  std::optional<std::chrono::milliseconds> retry_after;
};

class PushGateway {
 public:
  virtual ~PushGateway() = default;
  virtual ports::Platform platform() const = 0;
  /// Sends every request once; returns one result per request, in order.
  virtual std::vector<PushResult> SendBatch(std::span<const PushRequest> batch) = 0;
};

inline std::string_view PushOutcomeName(PushOutcome o) {
  switch (o) {
    case PushOutcome::kAccepted:
      return "accepted";
    case PushOutcome::kRetryLater:
      return "retry_later";
    case PushOutcome::kTokenInvalid:
      return "token_invalid";
    case PushOutcome::kPayloadRejected:
      return "payload_rejected";
    case PushOutcome::kAuthFailed:
      return "auth_failed";
  }
  return "unknown";
}

}  // namespace fanout::ports
