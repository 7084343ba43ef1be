#include "adapters/apns/apns_token.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "adapters/http2/common.hpp"

namespace fanout::adapters::apns {

ApnsTokenSigner::ApnsTokenSigner(std::string_view p8_pem, ApnsTokenSettings settings)
    : key_(http2::LoadPrivateKeyPem(p8_pem)), settings_(std::move(settings)) {
  if (EVP_PKEY_get_base_id(key_.get()) != EVP_PKEY_EC) {
    throw std::runtime_error("APNs .p8 key is not an EC (P-256) key");
  }
  if (settings_.key_id.empty() || settings_.team_id.empty()) {
    throw std::runtime_error("APNs token auth needs key_id and team_id");
  }
}

std::shared_ptr<ApnsTokenSigner> ApnsTokenSigner::FromFile(const std::string& p8_path,
                                                           ApnsTokenSettings settings) {
  std::FILE* f = std::fopen(p8_path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open APNs key file '" + p8_path + "'");
  std::string pem;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) pem.append(buf, n);
  std::fclose(f);
  return std::make_shared<ApnsTokenSigner>(pem, std::move(settings));
}

int64_t ApnsTokenSigner::Now() const {
  if (settings_.now_epoch_s) return settings_.now_epoch_s();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ApnsTokenSigner::Token() {
  std::lock_guard lk(mu_);
  int64_t now = Now();
  const int64_t age = now - iat_, min_age = settings_.min_refresh_interval.count();
  const bool due = age >= std::max<int64_t>(settings_.refresh_after.count(), min_age) ||
                   (invalidated_ && age >= min_age);
  // A clock stepped back by more than a minute makes the cached iat look like the
  // future: re-sign then; smaller steps (NTP) must not cause a refresh storm.
  if (token_.empty() || due || now + 60 < iat_) {
    std::string header = "{\"alg\":\"ES256\",\"kid\":" + http2::JsonQuote(settings_.key_id) + "}";
    std::string claims =
        "{\"iss\":" + http2::JsonQuote(settings_.team_id) + ",\"iat\":" + std::to_string(now) + "}";
    token_ = http2::SignJwt(http2::JwtAlg::kES256, key_, header, claims);
    iat_ = now;
    invalidated_ = false;
  }
  return token_;
}

void ApnsTokenSigner::Invalidate() {
  std::lock_guard lk(mu_);
  invalidated_ = !token_.empty();
}

bool ApnsTokenSigner::refresh_pending() const {
  std::lock_guard lk(mu_);
  return invalidated_;
}

int64_t ApnsTokenSigner::issued_at() const {
  std::lock_guard lk(mu_);
  return token_.empty() ? 0 : iat_;
}

}  // namespace fanout::adapters::apns
