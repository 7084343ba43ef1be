#include "adapters/fcm/fcm_oauth.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "platform/text/percent.hpp"

namespace fanout::adapters::fcm {
namespace {

ports::PushResult Failure(ports::PushOutcome outcome, int status, std::string reason) {
  ports::PushResult r;
  r.outcome = outcome;
  r.http_status = status;
  r.reason = "oauth: " + std::move(reason);
  return r;
}

}  // namespace

ServiceAccount ServiceAccount::FromJson(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) throw std::runtime_error("service account: not a JSON object");
  ServiceAccount a;
  auto get = [&](const char* k, std::string& out, bool required) {
    if (j.contains(k) && j[k].is_string()) {
      out = j[k].get<std::string>();
    } else if (required) {
      throw std::runtime_error(std::string("service account: missing \"") + k + "\"");
    }
  };
  get("project_id", a.project_id, false);
  get("client_email", a.client_email, true);
  get("private_key_id", a.private_key_id, false);
  get("private_key", a.private_key_pem, true);
  get("token_uri", a.token_uri, false);
  return a;
}

ServiceAccount ServiceAccount::FromFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open service account file '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return FromJson(ss.str());
}

FcmAccessTokenSource::FcmAccessTokenSource(FcmOAuthSettings settings)
    : settings_(std::move(settings)) {
  key_ = http2::LoadPrivateKeyPem(settings_.account.private_key_pem);
  if (EVP_PKEY_get_base_id(key_.get()) != EVP_PKEY_RSA) {
    throw std::runtime_error("service account private_key is not an RSA key");
  }
  const std::string& uri =
      settings_.token_uri.empty() ? settings_.account.token_uri : settings_.token_uri;
  auto url = http2::ParseUrl(uri);
  if (!url) throw std::runtime_error("bad token_uri '" + uri + "'");
  token_url_ = *url;
  settings_.http.endpoint = token_url_.endpoint;
  settings_.http.connections = 1;
  settings_.http.io_threads = 1;
  client_ = std::make_unique<http2::Client>(settings_.http);
}

int64_t FcmAccessTokenSource::Now() const {
  if (settings_.now_epoch_s) return settings_.now_epoch_s();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FcmAccessTokenSource::Assertion(int64_t now) const {
  std::string header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"";
  if (!settings_.account.private_key_id.empty()) {
    header += ",\"kid\":" + http2::JsonQuote(settings_.account.private_key_id);
  }
  header += "}";
  const std::string& aud =
      settings_.token_uri.empty() ? settings_.account.token_uri : settings_.token_uri;
  std::string claims = "{\"iss\":" + http2::JsonQuote(settings_.account.client_email) +
                       ",\"scope\":" + http2::JsonQuote(settings_.scope) +
                       ",\"aud\":" + http2::JsonQuote(aud) + ",\"iat\":" + std::to_string(now) +
                       ",\"exp\":" + std::to_string(now + 3600) + "}";
  return http2::SignJwt(http2::JwtAlg::kRS256, key_, header, claims);
}

tl::expected<std::string, ports::PushResult> FcmAccessTokenSource::Token() {
  std::lock_guard lk(mu_);
  int64_t now = Now();
  if (!token_.empty() && now + settings_.refresh_margin.count() < expires_at_) return token_;
  http2::Request req;
  req.method = "POST";
  req.path = token_url_.path;
  req.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  req.body =
      "grant_type=" + platform::PercentEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
      "&assertion=" + platform::PercentEncode(Assertion(now));
  std::vector<http2::Request> v;
  v.push_back(std::move(req));
  http2::Response r = std::move(client_->Execute(std::move(v))[0]);
  fetches_++;
  if (!r.ok()) {
    return tl::unexpected(
        Failure(ports::PushOutcome::kRetryLater, 0,
                std::string(http2::TransportErrorName(r.error)) + ": " + r.error_message));
  }
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200) {
    std::string err = j.is_object() && j.contains("error") && j["error"].is_string()
                          ? j["error"].get<std::string>()
                          : "HTTP " + std::to_string(r.status);
    bool transient = r.status == 429 || r.status >= 500;
    return tl::unexpected(
        Failure(transient ? ports::PushOutcome::kRetryLater : ports::PushOutcome::kAuthFailed,
                r.status, err));
  }
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
    return tl::unexpected(
        Failure(ports::PushOutcome::kRetryLater, r.status, "token response without access_token"));
  }
  token_ = j["access_token"].get<std::string>();
  int64_t lifetime = j.contains("expires_in") && j["expires_in"].is_number_integer()
                         ? j["expires_in"].get<int64_t>()
                         : 3600;
  expires_at_ = now + lifetime;
  return token_;
}

void FcmAccessTokenSource::Invalidate(std::string_view rejected) {
  std::lock_guard lk(mu_);
  if (!rejected.empty() && rejected != token_) return;  // already replaced
  token_.clear();
  expires_at_ = 0;
}

uint64_t FcmAccessTokenSource::fetches() const {
  std::lock_guard lk(mu_);
  return fetches_;
}

}  // namespace fanout::adapters::fcm
