#pragma once
// The notification a phone receives (DESIGN §3, §7.3): APNs body, FCM message, collapse id,
// compact area encoding with the 4 KB fallback to a URL.
#include <cstdint>
#include <string>
#include <vector>

#include "app/settings.hpp"
#include "domain/cap/alert.hpp"
#include "domain/geo/catalog.hpp"

namespace fanout::app {

inline constexpr size_t kMaxPayloadBytes = 4096;  // APNs and FCM limit for alerts

/// The collapse id of an alert: its identifier when that fits in 64 bytes, else the first 64
/// hex digits of the identifier's SHA-256 (DESIGN §7.3).
std::string CollapseIdFor(const std::string& identifier);

/// Collapses a sorted municipality list: a Kreis whose municipalities are all present becomes
/// its Kreis key, a Land likewise its Land key. Output sorted.
std::vector<std::string> CompactArea(const std::vector<std::string>& municipalities,
                                     const domain::geo::GeoCatalog& catalog);

struct PayloadInput {
  const domain::cap::Alert* alert = nullptr;
  std::string provider;
  std::string priority;  // "high" | "regular"
  int level = 4;
  std::vector<std::string> area_keys;  // compact keys
  std::string collapse_id;
  int64_t expires_epoch_s = 0;
  int64_t now_epoch_s = 0;
};

struct Payloads {
  std::string apns;  // complete APNs JSON body
  std::string fcm;   // FCM message fields except token
  bool area_as_url = false;
};

Payloads BuildPayloads(const PayloadInput& in, const PipelineSettings& settings);

/// The info block whose text goes on the lock screen: the configured language (primary
/// subtag, case-insensitive, not Leichte Sprache), else the first block.
const domain::cap::Info* PreferredInfo(const domain::cap::Alert& alert, const std::string& lang);

}  // namespace fanout::app
