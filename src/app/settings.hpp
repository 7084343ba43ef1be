#pragma once
// Settings the application services take in their constructors. The composition root
// fills them from the loaded configuration (platform/config); tests fill them by hand.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fanout::app {

struct RegionSettings {
  std::string name = "eu-central";
  uint32_t index = 0;
  uint32_t regions = 1;  // number of regions (peers + 1)
};

/// What one process of a region does (DESIGN §5.1, config `roles`): any subset, e.g. one
/// ingest+processor, two queuers, four senders. On the embedded engines a region is one
/// process with every role.
struct Roles {
  bool ingest = true;     // PUT /v1/alerts; relearns identifiers, re-hands unprocessed alerts
  bool processor = true;  // alerts -> plans and units; resumes open alerts at start
  bool queuer = true;     // units -> batches (loads the selection index)
  bool sender = true;     // batches -> APNs/FCM
  bool watchdog = true;   // watches other regions' alerts, takes over the silent ones
  bool dashboard = true;  // (dashboards: not built yet)
  bool registry = true;   // /v1/devices (loads the index)

  /// From the config's names (validated there): unknown names are ignored.
  static Roles Of(const std::vector<std::string>& names);
  bool all() const {
    return ingest && processor && queuer && sender && watchdog && dashboard && registry;
  }
  /// Whether the process needs the device index in memory (selection or device API).
  bool needs_index() const { return queuer || registry; }
  /// "ingest,processor" (in the config's order of roles).
  std::string ToString() const;
};

struct ProviderSettings {
  std::vector<std::string> known = {"AP1", "AP2", "AP3", "AP4"};
  std::vector<std::string> high_priority = {"AP1"};
  std::map<std::string, int> default_levels = {{"AP1", 4}, {"AP2", 4}, {"AP3", 4}, {"AP4", 4}};
  /// Providers whose status != Actual alerts (Exercise, Test, ...) are pushed anyway.
  std::vector<std::string> allow_non_actual;
  /// Lifetime of an alert without `expires`, seconds.
  int64_t default_lifetime_s = 24 * 3600;
  /// Per provider, overriding default_lifetime_s.
  std::map<std::string, int64_t> lifetime_s;
  int64_t LifetimeOf(const std::string& provider) const {
    auto it = lifetime_s.find(provider);
    return it == lifetime_s.end() ? default_lifetime_s : it->second;
  }
};

struct PipelineSettings {
  uint32_t shards = 64;
  uint32_t batch_size = 500;
  int processor_workers = 1;  // per priority
  int queuer_workers = 1;     // per priority
  // Per platform: batches in flight at once on the platform's connections. Retry backoff
  // does not hold a worker (the sender reschedules the pushes as a delayed message).
  int sender_workers_high = 8;
  int sender_workers_regular = 8;
  size_t max_body_bytes = 2 * 1024 * 1024;
  /// Base URL phones fetch details from when the area does not fit the payload.
  std::string public_base_url = "http://127.0.0.1:8080";
  bool apns_critical_alerts = false;  // the app has Apple's critical-alert entitlement
  std::string payload_language = "de";
  /// Nice value of the regular-priority threads (workers and push I/O); 0 = unchanged.
  int regular_thread_nice = 10;
};

/// Watch and takeover of other regions' alerts (DESIGN §5, app/watchdog.hpp).
struct WatchdogSettings {
  int64_t deadline_high_ms = 3000;  // no decision (processed) within this: take over
  int64_t deadline_regular_ms = 10000;
  int64_t stall_ms = 10000;  // decided, no progress for this long (high: at most deadline_high)
  int64_t tick_ms = 100;     // how often the deadlines are checked
};

struct RetrySettings {
  int max_attempts = 6;         // per token, including the first
  int64_t base_delay_ms = 200;  // doubled per attempt, with full jitter
  int64_t max_delay_ms = 10'000;
};

}  // namespace fanout::app
