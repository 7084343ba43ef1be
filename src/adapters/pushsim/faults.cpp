#include "adapters/pushsim/faults.hpp"

#include <charconv>
#include <cstdlib>
#include <sstream>

namespace fanout::adapters::pushsim {
namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double Unit(uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }

bool ParseDouble(std::string_view s, double* out) {
  std::string tmp(s);
  char* end = nullptr;
  *out = std::strtod(tmp.c_str(), &end);
  return !tmp.empty() && end == tmp.c_str() + tmp.size();
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::optional<FaultSpec> FaultSpec::Parse(std::string_view spec, std::string* error) {
  FaultSpec f;
  while (!spec.empty()) {
    auto comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      *error = "fault '" + std::string(item) + "' has no '='";
      return std::nullopt;
    }
    std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
    bool ok = true;
    double* rate = nullptr;
    if (k == "429") {
      rate = &f.rate_429;
    } else if (k == "500") {
      rate = &f.rate_500;
    } else if (k == "503") {
      rate = &f.rate_503;
    } else if (k == "reset") {
      rate = &f.rate_reset;
    } else if (k == "unregistered") {
      rate = &f.unregistered;
    } else if (k == "goaway") {
      ok = ParseInt(v, &f.goaway_every);
    } else if (k == "latency_ms") {
      ok = ParseInt(v, &f.latency_ms) && f.latency_ms >= 0;
    } else if (k == "retry_after_s") {
      ok = ParseInt(v, &f.retry_after_s) && f.retry_after_s >= 0;
    } else if (k == "seed") {
      ok = ParseInt(v, &f.seed);
    } else {
      *error = "unknown fault '" + std::string(k) +
               "' (known: 429 500 503 reset unregistered goaway latency_ms retry_after_s seed)";
      return std::nullopt;
    }
    if (rate != nullptr) ok = ParseDouble(v, rate) && *rate >= 0 && *rate <= 1;
    if (!ok) {
      *error = "bad value for fault '" + std::string(k) + "': '" + std::string(v) + "'";
      return std::nullopt;
    }
  }
  if (f.rate_429 + f.rate_500 + f.rate_503 + f.rate_reset > 1) {
    *error = "fault rates 429+500+503+reset exceed 1";
    return std::nullopt;
  }
  return f;
}

std::string FaultSpec::ToString() const {
  std::ostringstream o;
  o << "429=" << rate_429 << ",500=" << rate_500 << ",503=" << rate_503 << ",reset=" << rate_reset
    << ",unregistered=" << unregistered << ",goaway=" << goaway_every
    << ",latency_ms=" << latency_ms << ",retry_after_s=" << retry_after_s << ",seed=" << seed;
  return o.str();
}

Fault DrawFault(const FaultSpec& spec, uint64_t request_number) {
  double total = spec.rate_429 + spec.rate_500 + spec.rate_503 + spec.rate_reset;
  if (total <= 0) return Fault::kNone;
  double u = Unit(SplitMix(spec.seed * 0x2545f4914f6cdd1dULL ^ SplitMix(request_number)));
  if (u < spec.rate_429) return Fault::k429;
  u -= spec.rate_429;
  if (u < spec.rate_500) return Fault::k500;
  u -= spec.rate_500;
  if (u < spec.rate_503) return Fault::k503;
  u -= spec.rate_503;
  if (u < spec.rate_reset) return Fault::kReset;
  return Fault::kNone;
}

bool TokenIsDead(const FaultSpec& spec, std::string_view token) {
  if (spec.unregistered <= 0) return false;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a, then mixed with the seed
  for (unsigned char c : token) h = (h ^ c) * 1099511628211ULL;
  return Unit(SplitMix(h ^ SplitMix(spec.seed))) < spec.unregistered;
}

}  // namespace fanout::adapters::pushsim
