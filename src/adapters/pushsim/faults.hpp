#pragma once
// Fault injection for pushsim: a comma-separated SPEC, e.g.
//   429=0.01,500=0.02,503=0.01,reset=0.001,unregistered=0.001,goaway=50000,latency_ms=20,seed=7
// Rates are probabilities per request (0..1); 429/500/503/reset are drawn from one
// deterministic sequence (seed, request number); `unregistered` is a deterministic
// function of (seed, token), so a token that died stays dead. `goaway` = GOAWAY after
// every N streams of a connection; `latency_ms` delays every answer;
// `retry_after_s` is the Retry-After sent with 429/503 (0: none).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fanout::adapters::pushsim {

struct FaultSpec {
  double rate_429 = 0;
  double rate_500 = 0;
  double rate_503 = 0;
  double rate_reset = 0;    // RST_STREAM(INTERNAL_ERROR) instead of an answer
  double unregistered = 0;  // fraction of tokens that are dead (410 / 404 UNREGISTERED)
  uint64_t goaway_every = 0;
  int latency_ms = 0;
  int retry_after_s = 1;
  uint64_t seed = 1;

  /// nullopt and *error set on a bad spec. Empty spec = no faults.
  static std::optional<FaultSpec> Parse(std::string_view spec, std::string* error);
  std::string ToString() const;
};

/// What the fault sequence says about one request.
enum class Fault { kNone, k429, k500, k503, kReset };

/// Deterministic draws (splitmix64-based); thread-safe, no state.
Fault DrawFault(const FaultSpec& spec, uint64_t request_number);
bool TokenIsDead(const FaultSpec& spec, std::string_view token);

}  // namespace fanout::adapters::pushsim
