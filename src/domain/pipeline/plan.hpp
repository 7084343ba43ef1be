#pragma once
// What the processor decided about one alert, shared with the queuer and sender of the
// processing region (and, after a takeover, of the watcher) through the PlanStore port.
#include <cstdint>
#include <string>
#include <vector>

namespace fanout::domain::pipeline {

struct AlertPlan {
  std::string alert_id;  // CAP identifier
  std::string sender;
  std::string sent;
  std::string hash;
  std::string provider;
  std::string priority;  // "high" | "regular"
  std::string msg_type;
  int level = 4;                            // effective severity level used for selection
  std::vector<std::string> municipalities;  // sorted 12-digit keys (flow selected)
  std::string collapse_id;
  int64_t expires_epoch_s = 0;
  int64_t received_ms = 0;   // first receipt in the processing region
  std::string apns_payload;  // complete APNs JSON body
  std::string fcm_payload;   // FCM message fields except token (see adapters/fcm)
  uint32_t shards = 1;
  uint32_t units = 0;
};

}  // namespace fanout::domain::pipeline
