#pragma once
// PushSim: an APNs + FCM HTTP v1 compatible HTTP/2 server for tests and rehearsals
// (DESIGN §7.3). It validates requests like the real services, answers with their
// status codes and reason strings, injects faults (faults.hpp) and records every
// accepted push so tests can prove exactly-once delivery.
//
// Endpoints: POST /3/device/{token} (APNs), POST /v1/projects/{p}/messages:send (FCM),
// GET /sim/stats (JSON), GET /sim/deliveries (JSON lines), DELETE /sim/deliveries.
// Lifecycle: construct, Start() (throws on bind/TLS errors), Stop()/destructor.
// Thread-safety: the accessors may be called from any thread while it runs; Start()
// and Stop() must not race with other calls.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/http2/server.hpp"
#include "adapters/pushsim/faults.hpp"
#include "ports/push_gateway.hpp"

namespace fanout::adapters::pushsim {

struct PushSimSettings {
  std::string listen = "127.0.0.1:0";  // host:port, port 0 = ephemeral (see port())
  int threads = 2;                     // event-loop threads
  uint32_t max_concurrent_streams = 1000;
  std::string tls_cert_file;  // both set: TLS (ALPN h2) instead of h2c
  std::string tls_key_file;
  FaultSpec faults;
  std::string fcm_project;  // non-empty: other projects get 403 PERMISSION_DENIED
  // Non-empty: the exact bearer credential required (APNs `authorization: bearer X`,
  // FCM `Authorization: Bearer X`); empty: not checked.
  std::string apns_bearer;
  std::string fcm_bearer;
  // APNs token auth: PEM public key of the provider's .p8 key. When set, APNs requests
  // need `authorization: bearer <ES256 JWT>` with a valid signature (403
  // MissingProviderToken / InvalidProviderToken), kid/iss equal to apns_key_id /
  // apns_team_id when those are set, and iat not older than 1 h (403 ExpiredProviderToken).
  std::string apns_jwt_public_key_pem;
  std::string apns_key_id;
  std::string apns_team_id;
  // 429 TooManyProviderTokenUpdates: a valid token with a newer iat than the current
  // token of the same connection is refused while the current one is younger than this.
  // 0 = off. See README "Auth" for the rule and its sources.
  int apns_min_token_update_s = 1200;
  // FCM OAuth2: PEM public key of the service account. When set, `POST /token` grants
  // access tokens for valid RS256 jwt-bearer assertions, and FCM requests need one of
  // them, unexpired (or fcm_bearer) — 401 UNAUTHENTICATED otherwise.
  std::string fcm_oauth_public_key_pem;
  int fcm_token_lifetime_s = 3600;  // the grant's expires_in; the token is refused after
  // Wall clock (Unix s) for JWT age checks; injectable for tests.
  std::function<int64_t()> now_epoch_s;
  bool record_deliveries = true;  // false for long benchmarks (memory)
  // Record each delivery as 8 bytes, DeliveryKey(alert_id, token), instead of the full
  // Delivery (~300 bytes with its strings): rehearsals with millions of devices (`fanout
  // demo`). /sim/deliveries then serves nothing; DeliveryKeys() returns the keys.
  bool compact_deliveries = false;
  // Test hook: called (on a server thread) with every APNs/FCM request before it is
  // validated. Must be thread-safe and fast.
  std::function<void(const http2::ServerRequest&)> on_request;
};

struct Delivery {
  ports::Platform platform = ports::Platform::kApns;
  std::string token;
  std::string collapse_id;  // apns-collapse-id / message.android.collapse_key
  int64_t t_ms = 0;         // ms since the Unix epoch when accepted
  std::string alert_id;     // APNs payload fanout.alert_id / FCM message.data.alert_id
};

struct SimStats {
  // platform ("apns"/"fcm") → status ("200", "410", ..., "reset") → count
  std::map<std::string, std::map<std::string, uint64_t>> counts;
  uint64_t deliveries = 0;         // accepted pushes recorded (since the last reset)
  uint64_t fcm_access_tokens = 0;  // issued OAuth tokens still remembered (incl. expired)
  http2::ServerStats server;
  uint64_t Count(std::string_view platform, std::string_view status) const;
  std::string ToJson() const;
};

class PushSim {
 public:
  explicit PushSim(PushSimSettings settings = {});
  ~PushSim();
  PushSim(const PushSim&) = delete;
  PushSim& operator=(const PushSim&) = delete;

  void Start();
  void Start(const std::string& listen);  // overrides settings.listen
  void Stop();
  uint16_t port() const;
  /// "http://127.0.0.1:PORT" or "https://..." for clients.
  std::string endpoint() const;

  std::vector<Delivery> Deliveries() const;
  /// With compact_deliveries: one DeliveryKey per accepted push, in no particular order.
  std::vector<uint64_t> DeliveryKeys() const;
  SimStats Stats() const;
  void ResetDeliveries();
  /// Marks a token dead: later pushes to it get 410 Unregistered / 404 UNREGISTERED.
  void MarkUnregistered(ports::Platform platform, const std::string& token);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// 64-bit key of an (alert id, token) delivery for the compact record: two independent
/// string hashes mixed (collisions among 10^7 deliveries: probability ~ 3e-6).
uint64_t DeliveryKey(std::string_view alert_id, std::string_view token);

/// One delivery as the JSON line served by /sim/deliveries (no trailing newline).
std::string DeliveryJson(const Delivery& d);

}  // namespace fanout::adapters::pushsim
