#include "adapters/pushsim/push_sim.hpp"

#include <simdjson.h>

#include <array>
#include <atomic>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "adapters/http2/jwt.hpp"
#include "platform/crypto/crypto.hpp"
#include "platform/text/json_string.hpp"

namespace fanout::adapters::pushsim {

using http2::FindHeader;
using http2::ServerRequest;
using http2::ServerResponse;
using platform::AppendJsonString;

namespace {

constexpr size_t kApnsMaxPayload = 4096;
constexpr size_t kFcmMaxMessage = 4096;  // message bytes excluding the token
constexpr int kResetSlot = 600;          // status slot used to count resets
// Expired FCM access tokens are remembered this long (answer ACCESS_TOKEN_EXPIRED), then
// forgotten (answered like any unknown token), so the table stays bounded.
constexpr int64_t kKeepExpiredFcmTokenS = 3600;
constexpr std::string_view kTooManyProviderTokenUpdates = "TooManyProviderTokenUpdates";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsHex64(std::string_view t) {
  if (t.size() != 64) return false;
  for (char c : t) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool IsDigits(std::string_view s) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// FCM registration tokens are long URL-safe strings ("<instance>:APA91b...").
bool IsFcmToken(std::string_view t) {
  if (t.size() < 20 || t.size() > 4096) return false;
  for (char c : t) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':')) {
      return false;
    }
  }
  return true;
}

bool IsDuration(std::string_view s) {  // protobuf Duration JSON: "3600s", "1.5s"
  if (s.size() < 2 || s.back() != 's') return false;
  bool dot = false, digit = false;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == '.' && !dot) {
      dot = true;
    } else if (s[i] >= '0' && s[i] <= '9') {
      digit = true;
    } else {
      return false;
    }
  }
  return digit;
}

bool CaseInsensitivePrefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

struct PushSim::Impl {
  explicit Impl(PushSimSettings s) : settings(std::move(s)) {
    for (auto& p : counts) {
      for (auto& c : p) c.store(0, std::memory_order_relaxed);
    }
  }

  PushSimSettings settings;
  std::unique_ptr<http2::Server> server;
  http2::ServerStats final_server_stats;  // kept after Stop()
  std::array<std::array<std::atomic<uint64_t>, kResetSlot + 1>, 2> counts;
  std::atomic<uint64_t> seq{0};
  std::atomic<uint64_t> fcm_message_id{0};
  mutable std::mutex deliveries_mu;
  std::vector<Delivery> deliveries;
  std::vector<uint64_t> keys;  // compact_deliveries
  mutable std::shared_mutex dead_mu;
  std::unordered_set<std::string> dead[2];
  std::atomic<bool> any_dead{false};
  http2::PKey apns_key;  // set when APNs JWT checking is on
  http2::PKey fcm_key;   // set when the OAuth token endpoint is on
  mutable std::shared_mutex tokens_mu;
  std::unordered_map<std::string, int64_t> issued_tokens;  // FCM access token → expires at
  std::atomic<uint64_t> token_counter{0};

  int64_t Now() const {
    if (settings.now_epoch_s) return settings.now_epoch_s();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // APNs provider token check; returns the 403 (or 429 TooManyProviderTokenUpdates)
  // reason or "" if fine. Verified tokens are cached per server thread: a JWT is reused
  // for up to an hour.
  std::string CheckApnsJwt(std::string_view jwt, uint64_t connection_id) {
    struct Cache {
      std::string token;
      std::string error;  // "" = valid signature and claims
      std::string iss;
      int64_t iat = 0;
    };
    thread_local Cache cache;
    if (cache.token != jwt) {
      cache.token = std::string(jwt);
      cache.error.clear();
      auto v = http2::VerifyJwt(http2::JwtAlg::kES256, apns_key, jwt);
      if (!v) {
        cache.error = "InvalidProviderToken";
      } else {
        simdjson::dom::parser p;
        simdjson::dom::element h, c;
        std::string_view kid, iss;
        int64_t iat = 0;
        if (p.parse(v->header_json).get(h) != simdjson::SUCCESS ||
            h["kid"].get_string().get(kid) != simdjson::SUCCESS ||
            (!settings.apns_key_id.empty() && kid != settings.apns_key_id)) {
          cache.error = "InvalidProviderToken";
        } else if (p.parse(v->claims_json).get(c) != simdjson::SUCCESS ||
                   c["iss"].get_string().get(iss) != simdjson::SUCCESS ||
                   c["iat"].get_int64().get(iat) != simdjson::SUCCESS ||
                   (!settings.apns_team_id.empty() && iss != settings.apns_team_id)) {
          cache.error = "InvalidProviderToken";
        }
        cache.iat = iat;
        cache.iss = std::string(iss);
      }
    }
    if (!cache.error.empty()) return cache.error;
    int64_t now = Now();
    if (cache.iat > now + 60) return "InvalidProviderToken";
    if (now - cache.iat > 3600) return "ExpiredProviderToken";
    if (!AdmitApnsToken(connection_id, cache.iat, now)) {
      return std::string(kTooManyProviderTokenUpdates);
    }
    return {};
  }

  // Apple: "The provider token is being updated too often. Update the authentication
  // token no more than once every 20 minutes." Per connection (Apple engineers: a token
  // changed on an open connection makes "that connection ... unusable until enough time
  // has passed"): a valid token whose iat is newer than the connection's current token is
  // an update; it is refused while the current token is younger than
  // apns_min_token_update_s (and admitted, becoming current, after that). The same or an
  // older iat is not an update (requests signed before a refresh may still be in
  // flight). A connection is served by one server thread, so the state is per thread.
  bool AdmitApnsToken(uint64_t connection_id, int64_t iat, int64_t now) {
    const int64_t min_age = settings.apns_min_token_update_s;
    if (min_age <= 0) return true;
    struct PerThread {
      std::unordered_map<uint64_t, int64_t> iat_by_connection;
      uint64_t last_connection = 0;  // fast path: the last connection's current token
      int64_t last_iat = 0;
    };
    thread_local PerThread t;
    if (connection_id == t.last_connection && iat == t.last_iat && connection_id != 0) {
      return true;
    }
    if (t.iat_by_connection.size() > 4096) {
      // Closed connections are never announced; an entry older than min_age admits any
      // newer token anyway, so dropping it changes nothing.
      std::erase_if(t.iat_by_connection, [&](const auto& e) { return now - e.second >= min_age; });
    }
    auto [it, first] = t.iat_by_connection.try_emplace(connection_id, iat);
    if (!first && iat > it->second) {
      if (now - it->second < min_age) return false;
      it->second = iat;
    }
    if (iat == it->second) {
      t.last_connection = connection_id;
      t.last_iat = iat;
    }
    return true;
  }

  enum class FcmAuth { kOk, kMissing, kUnknown, kExpired };

  FcmAuth CheckFcmBearer(const std::string* authorization) {
    if (authorization == nullptr || !CaseInsensitivePrefix(*authorization, "bearer ")) {
      return FcmAuth::kMissing;
    }
    std::string_view token = std::string_view(*authorization).substr(7);
    if (!settings.fcm_bearer.empty() && token == settings.fcm_bearer) return FcmAuth::kOk;
    if (!fcm_key) return FcmAuth::kUnknown;
    std::shared_lock lk(tokens_mu);
    auto it = issued_tokens.find(std::string(token));
    if (it == issued_tokens.end()) return FcmAuth::kUnknown;
    return Now() < it->second ? FcmAuth::kOk : FcmAuth::kExpired;
  }

  // Google's 401 for FCM HTTP v1 (google.rpc.Status with an ErrorInfo detail; texts as
  // Google sends them, see README "Auth").
  static void FcmAuthError(ServerResponse& r, FcmAuth why) {
    r.status = 401;
    r.headers.emplace_back("content-type", "application/json; charset=UTF-8");
    std::string_view message =
        why == FcmAuth::kMissing
            ? "Request is missing required authentication credential. Expected OAuth 2 "
              "access token, login cookie or other valid authentication credential. See "
              "https://developers.google.com/identity/sign-in/web/devconsole-project."
            : "Request had invalid authentication credentials. Expected OAuth 2 access "
              "token, login cookie or other valid authentication credential. See "
              "https://developers.google.com/identity/sign-in/web/devconsole-project.";
    std::string_view reason = why == FcmAuth::kMissing   ? "CREDENTIALS_MISSING"
                              : why == FcmAuth::kExpired ? "ACCESS_TOKEN_EXPIRED"
                                                         : "";
    std::string& b = r.body;
    b = "{\"error\":{\"code\":401,\"message\":";
    AppendJsonString(b, message);
    b += ",\"status\":\"UNAUTHENTICATED\"";
    if (!reason.empty()) {
      b += ",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":";
      AppendJsonString(b, reason);
      b += ",\"domain\":\"googleapis.com\",\"metadata\":{\"method\":\"google.firebase.fcm.v1."
           "FcmService.SendMessage\",\"service\":\"fcm.googleapis.com\"}}]";
    }
    b += "}}";
  }

  static std::string FormValue(std::string_view body, std::string_view key) {
    while (!body.empty()) {
      auto amp = body.find('&');
      std::string_view kv = body.substr(0, amp);
      body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
      auto eq = kv.find('=');
      if (eq == std::string_view::npos || kv.substr(0, eq) != key) continue;
      std::string out;
      std::string_view v = kv.substr(eq + 1);
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '+') {
          out += ' ';
        } else if (v[i] == '%' && i + 2 < v.size()) {
          out += static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16));
          i += 2;
        } else {
          out += v[i];
        }
      }
      return out;
    }
    return {};
  }

  // Google's OAuth2 token endpoint for service accounts (RFC 7523 jwt-bearer grant).
  ServerResponse HandleToken(const ServerRequest& req) {
    ServerResponse r;
    r.headers.emplace_back("content-type", "application/json; charset=utf-8");
    auto fail = [&](int status, std::string_view error, std::string_view desc) {
      r.status = status;
      r.body = "{\"error\":";
      AppendJsonString(r.body, error);
      r.body += ",\"error_description\":";
      AppendJsonString(r.body, desc);
      r.body += "}";
      return std::move(r);
    };
    if (!fcm_key) return fail(404, "not_found", "pushsim: no fcm_oauth_public_key configured");
    if (req.method != "POST") return fail(405, "invalid_request", "POST required");
    if (FormValue(req.body, "grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return fail(400, "unsupported_grant_type", "Invalid grant_type");
    }
    std::string assertion = FormValue(req.body, "assertion");
    auto v = http2::VerifyJwt(http2::JwtAlg::kRS256, fcm_key, assertion);
    if (!v) return fail(400, "invalid_grant", "Invalid JWT Signature.");
    simdjson::dom::parser p;
    simdjson::dom::element c;
    std::string_view iss, scope, aud;
    int64_t iat = 0, exp = 0;
    if (p.parse(v->claims_json).get(c) != simdjson::SUCCESS ||
        c["iss"].get_string().get(iss) != simdjson::SUCCESS ||
        c["scope"].get_string().get(scope) != simdjson::SUCCESS ||
        c["aud"].get_string().get(aud) != simdjson::SUCCESS ||
        c["iat"].get_int64().get(iat) != simdjson::SUCCESS ||
        c["exp"].get_int64().get(exp) != simdjson::SUCCESS) {
      return fail(400, "invalid_grant", "Invalid JWT: missing claims.");
    }
    int64_t now = Now();
    if (!aud.ends_with("/token")) return fail(400, "invalid_grant", "Invalid JWT audience.");
    if (scope.find("firebase.messaging") == std::string_view::npos &&
        scope.find("cloud-platform") == std::string_view::npos) {
      return fail(400, "invalid_scope", "Invalid OAuth scope.");
    }
    if (exp <= now || iat > now + 60 || exp - iat > 3600) {
      return fail(400, "invalid_grant",
                  "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                  "reasonable timeframe.");
    }
    std::string token =
        "ya29.pushsim." + std::to_string(token_counter.fetch_add(1)) + "." + platform::RandomUuid();
    {
      std::unique_lock lk(tokens_mu);
      std::erase_if(issued_tokens,
                    [&](const auto& t) { return t.second + kKeepExpiredFcmTokenS <= now; });
      issued_tokens.emplace(token, now + settings.fcm_token_lifetime_s);
    }
    r.status = 200;
    r.body = "{\"access_token\":";
    AppendJsonString(r.body, token);
    r.body += ",\"expires_in\":" + std::to_string(settings.fcm_token_lifetime_s) +
              ",\"token_type\":\"Bearer\"}";
    return r;
  }

  void Count(ports::Platform p, int status) {
    counts[static_cast<int>(p)][std::min(status, kResetSlot)].fetch_add(1,
                                                                        std::memory_order_relaxed);
  }

  bool IsDead(ports::Platform p, const std::string& token) {
    if (TokenIsDead(settings.faults, token)) return true;
    if (!any_dead.load(std::memory_order_acquire)) return false;
    std::shared_lock lk(dead_mu);
    return dead[static_cast<int>(p)].count(token) > 0;
  }

  void Record(Delivery d) {
    if (!settings.record_deliveries) return;
    std::lock_guard lk(deliveries_mu);
    deliveries.push_back(std::move(d));
  }
  void RecordKey(uint64_t key) {
    std::lock_guard lk(deliveries_mu);
    keys.push_back(key);
  }
  /// What on_sent records for an accepted push: the key only (compact) or the whole record.
  std::function<void()> Recorder(ports::Platform p, std::string token, std::string_view collapse,
                                 std::string_view alert_id) {
    if (!settings.record_deliveries) return nullptr;
    if (settings.compact_deliveries) {
      return [this, key = DeliveryKey(alert_id, token)] { RecordKey(key); };
    }
    return [this, d = Delivery{p, std::move(token), std::string(collapse), 0,
                               std::string(alert_id)}]() mutable {
      d.t_ms = NowMs();
      Record(std::move(d));
    };
  }

  // Applies fault draw and latency to a response that would otherwise succeed.
  // Returns true if a fault replaced the success.
  bool ApplyFault(ports::Platform p, ServerResponse& r) {
    Fault f = DrawFault(settings.faults, seq.fetch_add(1, std::memory_order_relaxed));
    bool apns = p == ports::Platform::kApns;
    auto retry_after = [&] {
      if (settings.faults.retry_after_s > 0) {
        r.headers.emplace_back("retry-after", std::to_string(settings.faults.retry_after_s));
      }
    };
    switch (f) {
      case Fault::kNone:
        return false;
      case Fault::k429:
        if (apns) {
          ApnsError(r, 429, "TooManyRequests");
        } else {
          FcmError(r, 429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric.",
                   "QUOTA_EXCEEDED");
        }
        retry_after();
        return true;
      case Fault::k500:
        if (apns) {
          ApnsError(r, 500, "InternalServerError");
        } else {
          FcmError(r, 500, "INTERNAL", "Internal error encountered.", "INTERNAL");
        }
        return true;
      case Fault::k503:
        if (apns) {
          ApnsError(r, 503, "ServiceUnavailable");
        } else {
          FcmError(r, 503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE");
        }
        retry_after();
        return true;
      case Fault::kReset:
        r.reset = true;
        return true;
    }
    return false;
  }

  static void ApnsError(ServerResponse& r, int status, std::string_view reason,
                        int64_t timestamp_ms = 0) {
    r.status = status;
    r.headers.emplace_back("content-type", "application/json");
    r.body = "{\"reason\":";
    AppendJsonString(r.body, reason);
    if (timestamp_ms > 0) r.body += ",\"timestamp\":" + std::to_string(timestamp_ms);
    r.body += "}";
  }

  // google.rpc.Status JSON as FCM HTTP v1 returns it.
  static void FcmError(ServerResponse& r, int status, std::string_view rpc_status,
                       std::string_view message, std::string_view fcm_code,
                       std::string_view bad_field = {}) {
    r.status = status;
    r.headers.emplace_back("content-type", "application/json; charset=UTF-8");
    std::string& b = r.body;
    b = "{\"error\":{\"code\":" + std::to_string(status) + ",\"message\":";
    AppendJsonString(b, message);
    b += ",\"status\":";
    AppendJsonString(b, rpc_status);
    b += ",\"details\":[";
    bool first = true;
    if (!fcm_code.empty()) {
      b += "{\"@type\":\"type.googleapis.com/google.firebase.fcm.v1.FcmError\",\"errorCode\":";
      AppendJsonString(b, fcm_code);
      b += "}";
      first = false;
    }
    if (!bad_field.empty()) {
      if (!first) b += ",";
      b += "{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\",\"fieldViolations\":[{"
           "\"field\":";
      AppendJsonString(b, bad_field);
      b += ",\"description\":";
      AppendJsonString(b, message);
      b += "}]}";
    }
    b += "]}}";
  }

  ServerResponse HandleApns(const ServerRequest& req) {
    ServerResponse r;
    const auto p = ports::Platform::kApns;
    auto finish = [&]() -> ServerResponse {
      if (!r.reset) Count(p, r.status);
      if (r.reset) Count(p, kResetSlot);
      r.delay = std::chrono::milliseconds(settings.faults.latency_ms);
      return std::move(r);
    };
    if (req.method != "POST") {
      ApnsError(r, 405, "MethodNotAllowed");
      return finish();
    }
    std::string_view token =
        std::string_view(req.path).substr(std::string_view("/3/device/").size());
    if (token.empty()) {
      ApnsError(r, 400, "MissingDeviceToken");
      return finish();
    }
    if (apns_key) {
      const std::string* auth = FindHeader(req.headers, "authorization");
      if (auth == nullptr) {
        ApnsError(r, 403, "MissingProviderToken");
        return finish();
      }
      std::string err = CaseInsensitivePrefix(*auth, "bearer ")
                            ? CheckApnsJwt(std::string_view(*auth).substr(7), req.connection_id)
                            : std::string("InvalidProviderToken");
      if (!err.empty()) {
        ApnsError(r, err == kTooManyProviderTokenUpdates ? 429 : 403, err);
        return finish();
      }
    } else if (!settings.apns_bearer.empty()) {
      const std::string* auth = FindHeader(req.headers, "authorization");
      if (auth == nullptr) {
        ApnsError(r, 403, "MissingProviderToken");
        return finish();
      }
      if (!CaseInsensitivePrefix(*auth, "bearer ") ||
          std::string_view(*auth).substr(7) != settings.apns_bearer) {
        ApnsError(r, 403, "InvalidProviderToken");
        return finish();
      }
    }
    if (!IsHex64(token)) {
      ApnsError(r, 400, "BadDeviceToken");
      return finish();
    }
    const std::string* topic = FindHeader(req.headers, "apns-topic");
    if (topic == nullptr || topic->empty()) {
      ApnsError(r, 400, "MissingTopic");
      return finish();
    }
    if (const std::string* pt = FindHeader(req.headers, "apns-push-type")) {
      static const char* kTypes[] = {"alert",        "background",   "location", "voip",
                                     "complication", "fileprovider", "mdm",      "liveactivity",
                                     "pushtotalk",   "widgets"};
      bool ok = false;
      for (const char* t : kTypes) ok = ok || *pt == t;
      if (!ok) {
        ApnsError(r, 400, "InvalidPushType");
        return finish();
      }
    }
    if (const std::string* pr = FindHeader(req.headers, "apns-priority")) {
      if (*pr != "10" && *pr != "5" && *pr != "1") {
        ApnsError(r, 400, "BadPriority");
        return finish();
      }
    }
    if (const std::string* ex = FindHeader(req.headers, "apns-expiration")) {
      if (!IsDigits(*ex)) {
        ApnsError(r, 400, "BadExpirationDate");
        return finish();
      }
    }
    const std::string* apns_id = FindHeader(req.headers, "apns-id");
    if (apns_id != nullptr && !IsUuid(*apns_id)) {
      ApnsError(r, 400, "BadMessageId");
      return finish();
    }
    const std::string* collapse = FindHeader(req.headers, "apns-collapse-id");
    if (collapse != nullptr && collapse->size() > 64) {
      ApnsError(r, 400, "BadCollapseId");
      return finish();
    }
    if (req.body.size() > kApnsMaxPayload || req.body_truncated) {
      ApnsError(r, 413, "PayloadTooLarge");
      return finish();
    }
    if (req.body.empty()) {
      ApnsError(r, 400, "PayloadEmpty");
      return finish();
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(req.body.data(), req.body.size()).get(doc) != simdjson::SUCCESS ||
        !doc.is_object()) {
      // Apple documents no reason for malformed JSON; this one is the sim's own.
      ApnsError(r, 400, "BadPayload");
      return finish();
    }
    std::string tok(token);
    if (IsDead(p, tok)) {
      ApnsError(r, 410, "Unregistered", NowMs() - 3600 * 1000);
      return finish();
    }
    if (ApplyFault(p, r)) return finish();
    std::string_view alert_id;
    if (doc.at_pointer("/fanout/alert_id").get_string().get(alert_id) != simdjson::SUCCESS) {
      alert_id = {};
    }
    r.status = 200;
    r.headers.emplace_back("apns-id", apns_id != nullptr ? *apns_id : platform::FastUuid());
    r.on_sent =
        Recorder(p, std::move(tok),
                 collapse != nullptr ? std::string_view(*collapse) : std::string_view(), alert_id);
    return finish();
  }

  ServerResponse HandleFcm(const ServerRequest& req, std::string_view project) {
    ServerResponse r;
    const auto p = ports::Platform::kFcm;
    auto finish = [&]() -> ServerResponse {
      Count(p, r.reset ? kResetSlot : r.status);
      r.delay = std::chrono::milliseconds(settings.faults.latency_ms);
      return std::move(r);
    };
    if (req.method != "POST") {
      FcmError(r, 405, "METHOD_NOT_ALLOWED", "Method not allowed.", "");
      return finish();
    }
    if (!settings.fcm_bearer.empty() || fcm_key) {
      FcmAuth auth = CheckFcmBearer(FindHeader(req.headers, "authorization"));
      if (auth != FcmAuth::kOk) {
        FcmAuthError(r, auth);
        return finish();
      }
    }
    if (!settings.fcm_project.empty() && project != settings.fcm_project) {
      FcmError(r, 403, "PERMISSION_DENIED",
               "Permission 'cloudmessaging.messages.create' denied on resource.", "");
      return finish();
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (req.body_truncated ||
        parser.parse(req.body.data(), req.body.size()).get(doc) != simdjson::SUCCESS ||
        !doc.is_object()) {
      FcmError(r, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "INVALID_ARGUMENT");
      return finish();
    }
    simdjson::dom::object msg;
    if (doc["message"].get_object().get(msg) != simdjson::SUCCESS) {
      FcmError(r, 400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
               "INVALID_ARGUMENT", "message");
      return finish();
    }
    std::string_view token;
    if (msg["token"].get_string().get(token) != simdjson::SUCCESS || !IsFcmToken(token)) {
      FcmError(r, 400, "INVALID_ARGUMENT",
               "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT",
               "message.token");
      return finish();
    }
    if (req.body.size() - token.size() > kFcmMaxMessage) {
      FcmError(r, 400, "INVALID_ARGUMENT", "Android message is too big", "INVALID_ARGUMENT",
               "message");
      return finish();
    }
    std::string_view alert_id, collapse_key;
    simdjson::dom::object data;
    if (msg["data"].get_object().get(data) == simdjson::SUCCESS) {
      for (auto field : data) {
        if (!field.value.is_string()) {
          FcmError(r, 400, "INVALID_ARGUMENT",
                   "Invalid value at 'message.data' (map<string, string>)", "INVALID_ARGUMENT",
                   "message.data[" + std::string(field.key) + "]");
          return finish();
        }
        if (field.key == "alert_id") alert_id = field.value.get_string().value_unsafe();
      }
    }
    simdjson::dom::object android;
    if (msg["android"].get_object().get(android) == simdjson::SUCCESS) {
      std::string_view v;
      if (android["priority"].get_string().get(v) == simdjson::SUCCESS && v != "HIGH" &&
          v != "NORMAL" && v != "high" && v != "normal") {
        FcmError(r, 400, "INVALID_ARGUMENT", "Invalid value at 'message.android.priority'",
                 "INVALID_ARGUMENT", "message.android.priority");
        return finish();
      }
      if (android["ttl"].get_string().get(v) == simdjson::SUCCESS && !IsDuration(v)) {
        FcmError(r, 400, "INVALID_ARGUMENT", "Invalid value at 'message.android.ttl'",
                 "INVALID_ARGUMENT", "message.android.ttl");
        return finish();
      }
      if (android["collapse_key"].get_string().get(v) == simdjson::SUCCESS) collapse_key = v;
    }
    std::string tok(token);
    if (IsDead(p, tok)) {
      FcmError(r, 404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED");
      return finish();
    }
    if (ApplyFault(p, r)) return finish();
    r.status = 200;
    r.headers.emplace_back("content-type", "application/json; charset=UTF-8");
    r.body = "{\"name\":\"projects/" + std::string(project) + "/messages/0:" +
             std::to_string(fcm_message_id.fetch_add(1, std::memory_order_relaxed)) + "\"}";
    r.on_sent = Recorder(p, std::move(tok), collapse_key, alert_id);
    return finish();
  }

  ServerResponse HandleSim(const ServerRequest& req) {
    ServerResponse r;
    if (req.path == "/sim/stats" && req.method == "GET") {
      r.headers.emplace_back("content-type", "application/json");
      r.body = Stats().ToJson();
    } else if (req.path == "/sim/deliveries" && req.method == "GET") {
      r.headers.emplace_back("content-type", "application/x-ndjson");
      std::lock_guard lk(deliveries_mu);
      r.body.reserve(deliveries.size() * 160);
      for (const auto& d : deliveries) {
        r.body += DeliveryJson(d);
        r.body += '\n';
      }
    } else if (req.path == "/sim/deliveries" && req.method == "DELETE") {
      std::lock_guard lk(deliveries_mu);
      deliveries.clear();
      keys.clear();
      r.status = 204;
    } else {
      r.status = 404;
    }
    return r;
  }

  ServerResponse Handle(const ServerRequest& req) {
    std::string_view path(req.path);
    if (req.http1 && path.starts_with("/3/")) {
      // Apple: "Use HTTP/2 and TLS 1.2 or later" — APNs has no HTTP/1.1 API. FCM HTTP v1,
      // /token and /sim/* are served over HTTP/1.1 too (Google serves them over HTTP/1.1).
      ServerResponse r;
      r.status = 505;
      r.headers.emplace_back("content-type", "application/json");
      r.body =
          "{\"reason\":\"HTTP2Required\",\"detail\":\"APNs is served over HTTP/2 only; on this "
          "cleartext port use HTTP/2 with prior knowledge (curl --http2-prior-knowledge)\"}";
      return r;
    }
    if (settings.on_request && !path.starts_with("/sim/")) settings.on_request(req);
    if (path.starts_with("/3/device/")) return HandleApns(req);
    constexpr std::string_view kFcmPrefix = "/v1/projects/", kFcmSuffix = "/messages:send";
    if (path.starts_with(kFcmPrefix) && path.ends_with(kFcmSuffix) &&
        path.size() > kFcmPrefix.size() + kFcmSuffix.size()) {
      std::string_view project =
          path.substr(kFcmPrefix.size(), path.size() - kFcmPrefix.size() - kFcmSuffix.size());
      if (project.find('/') == std::string_view::npos) return HandleFcm(req, project);
    }
    if (path.starts_with("/sim/")) return HandleSim(req);
    if (path == "/token") return HandleToken(req);
    ServerResponse r;
    if (path.starts_with("/3/")) {
      ApnsError(r, 404, "BadPath");
      Count(ports::Platform::kApns, 404);
    } else {
      r.status = 404;
    }
    return r;
  }

  SimStats Stats() const {
    SimStats s;
    for (int p = 0; p < 2; ++p) {
      std::string name(ports::PlatformName(static_cast<ports::Platform>(p)));
      auto& m = s.counts[name];
      for (int st = 0; st <= kResetSlot; ++st) {
        uint64_t v = counts[p][st].load(std::memory_order_relaxed);
        if (v != 0) m[st == kResetSlot ? "reset" : std::to_string(st)] = v;
      }
    }
    {
      std::lock_guard lk(deliveries_mu);
      s.deliveries = deliveries.size() + keys.size();
    }
    {
      std::shared_lock lk(tokens_mu);
      s.fcm_access_tokens = issued_tokens.size();
    }
    s.server = server ? server->Stats() : final_server_stats;
    return s;
  }
};

uint64_t SimStats::Count(std::string_view platform, std::string_view status) const {
  auto p = counts.find(std::string(platform));
  if (p == counts.end()) return 0;
  auto c = p->second.find(std::string(status));
  return c == p->second.end() ? 0 : c->second;
}

std::string SimStats::ToJson() const {
  std::string o = "{";
  for (const auto& [platform, m] : counts) {
    AppendJsonString(o, platform);
    o += ":{";
    bool first = true;
    for (const auto& [status, n] : m) {
      if (!first) o += ",";
      first = false;
      AppendJsonString(o, status);
      o += ":" + std::to_string(n);
    }
    o += "},";
  }
  o += "\"deliveries\":" + std::to_string(deliveries) +
       ",\"fcm_access_tokens\":" + std::to_string(fcm_access_tokens) +
       ",\"connections\":" + std::to_string(server.connections_accepted) +
       ",\"streams\":" + std::to_string(server.streams) +
       ",\"goaways\":" + std::to_string(server.goaways_sent) +
       ",\"max_concurrent_streams_seen\":" + std::to_string(server.max_concurrent_streams_seen) +
       "}";
  return o;
}

std::string DeliveryJson(const Delivery& d) {
  std::string o = "{\"platform\":";
  AppendJsonString(o, ports::PlatformName(d.platform));
  o += ",\"token\":";
  AppendJsonString(o, d.token);
  o += ",\"collapse_id\":";
  AppendJsonString(o, d.collapse_id);
  o += ",\"t_ms\":" + std::to_string(d.t_ms) + ",\"alert_id\":";
  AppendJsonString(o, d.alert_id);
  o += "}";
  return o;
}

PushSim::PushSim(PushSimSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}

PushSim::~PushSim() { Stop(); }

void PushSim::Start() {
  if (impl_->server) return;
  http2::ServerSettings ss;
  ss.listen = impl_->settings.listen;
  ss.threads = impl_->settings.threads;
  ss.max_concurrent_streams = impl_->settings.max_concurrent_streams;
  ss.tls_cert_file = impl_->settings.tls_cert_file;
  ss.tls_key_file = impl_->settings.tls_key_file;
  ss.goaway_after_streams = impl_->settings.faults.goaway_every;
  ss.max_request_body = 64 * 1024;
  ss.no_index_headers = {"apns-id"};
  if (!impl_->settings.apns_jwt_public_key_pem.empty()) {
    impl_->apns_key = http2::LoadPublicKeyPem(impl_->settings.apns_jwt_public_key_pem);
  }
  if (!impl_->settings.fcm_oauth_public_key_pem.empty()) {
    impl_->fcm_key = http2::LoadPublicKeyPem(impl_->settings.fcm_oauth_public_key_pem);
  }
  auto server = std::make_unique<http2::Server>(
      ss, [impl = impl_.get()](const ServerRequest& req) { return impl->Handle(req); });
  server->Start();
  impl_->server = std::move(server);
}

void PushSim::Start(const std::string& listen) {
  impl_->settings.listen = listen;
  Start();
}

void PushSim::Stop() {
  if (impl_->server) {
    impl_->server->Stop();
    impl_->final_server_stats = impl_->server->Stats();
    impl_->server.reset();
  }
}

uint16_t PushSim::port() const { return impl_->server ? impl_->server->port() : 0; }

std::string PushSim::endpoint() const {
  bool tls = !impl_->settings.tls_cert_file.empty();
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

std::vector<uint64_t> PushSim::DeliveryKeys() const {
  std::lock_guard lk(impl_->deliveries_mu);
  return impl_->keys;
}

uint64_t DeliveryKey(std::string_view alert_id, std::string_view token) {
  auto mix = [](uint64_t x) {  // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  const uint64_t a = std::hash<std::string_view>{}(alert_id);
  const uint64_t t = std::hash<std::string_view>{}(token);
  return mix(a ^ mix(t + 0x632be59bd9b4e019ULL));
}

std::vector<Delivery> PushSim::Deliveries() const {
  std::lock_guard lk(impl_->deliveries_mu);
  return impl_->deliveries;
}

SimStats PushSim::Stats() const { return impl_->Stats(); }

void PushSim::ResetDeliveries() {
  std::lock_guard lk(impl_->deliveries_mu);
  impl_->deliveries.clear();
  impl_->keys.clear();
}

void PushSim::MarkUnregistered(ports::Platform platform, const std::string& token) {
  std::unique_lock lk(impl_->dead_mu);
  impl_->dead[static_cast<int>(platform)].insert(token);
  impl_->any_dead.store(true, std::memory_order_release);
}

}  // namespace fanout::adapters::pushsim
