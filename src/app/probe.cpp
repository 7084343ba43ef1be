#include "app/probe.hpp"

#include "platform/metrics/metrics.hpp"

namespace fanout::app {

namespace {
metrics::Registry& R() { return metrics::Registry::Default(); }
}  // namespace

void Probe::OnIngest(std::string_view provider, std::string_view outcome) const {
  R().GetCounter("fanout_ingest_alerts_total", "Alerts received by ingest, by outcome.",
                 {{"region", region_},
                  {"provider", std::string(provider)},
                  {"outcome", std::string(outcome)}})
      .Inc();
}

void Probe::OnLogFailure() const {
  R().GetCounter("fanout_protocol_append_failures_total",
                 "Protocol events the log refused (storage failure); the work is retried.",
                 {{"region", region_}})
      .Inc();
}

void Probe::OnDeadLetter(std::string_view subject) const {
  R().GetCounter("fanout_bus_dead_letters_total",
                 "Work items given up (max deliveries or a terminal error), by queue.",
                 {{"region", region_}, {"subject", std::string(subject)}})
      .Inc();
}

void Probe::OnTakeover(std::string_view priority, std::string_view reason) const {
  R().GetCounter("fanout_watchdog_takeovers_total",
                 "Alerts of a silent region this region took over, by priority and reason "
                 "(undecided: no processed within the deadline; stalled: no progress).",
                 {{"region", region_},
                  {"priority", std::string(priority)},
                  {"reason", std::string(reason)}})
      .Inc();
}

void Probe::OnReplication(std::string_view peer, uint64_t lag, double idle_s) const {
  R().GetGauge("fanout_replication_lag_messages",
               "Protocol events of a linked peer region not yet replicated to this region.",
               {{"region", region_}, {"from", std::string(peer)}})
      .Set(static_cast<double>(lag));
  R().GetGauge("fanout_replication_idle_seconds",
               "Seconds since this region's copy of a peer's protocol events last heard from "
               "it (-1: never); grows while the link or the peer is down.",
               {{"region", region_}, {"from", std::string(peer)}})
      .Set(idle_s);
}

void Probe::OnRecovered(uint64_t messages, uint64_t open_alerts) const {
  R().GetCounter("fanout_recovery_messages_total",
                 "Queued work items a start recovered from the previous process.",
                 {{"region", region_}})
      .Inc(messages);
  R().GetGauge("fanout_recovery_open_alerts",
               "Alerts the last start found owned here and not done (resumed).",
               {{"region", region_}})
      .Set(static_cast<double>(open_alerts));
}

void Probe::OnProcessed(std::string_view priority, std::string_view outcome) const {
  R().GetCounter("fanout_processor_alerts_total", "Owned alerts processed, by outcome.",
                 {{"region", region_},
                  {"priority", std::string(priority)},
                  {"outcome", std::string(outcome)}})
      .Inc();
}

void Probe::OnSelected(std::string_view platform, std::string_view flow, uint64_t devices) const {
  R().GetCounter(
         "fanout_queuer_devices_selected_total", "Devices selected into batches.",
         {{"region", region_}, {"platform", std::string(platform)}, {"flow", std::string(flow)}})
      .Inc(devices);
}

void Probe::OnBatch(std::string_view platform, std::string_view priority, uint64_t accepted,
                    uint64_t failed, uint64_t invalid, uint64_t retries) const {
  auto pushes = [&](const char* outcome, uint64_t n) {
    R().GetCounter("fanout_sender_pushes_total", "Pushes by final outcome.",
                   {{"region", region_},
                    {"platform", std::string(platform)},
                    {"priority", std::string(priority)},
                    {"outcome", outcome}})
        .Inc(n);
  };
  pushes("accepted", accepted);
  pushes("failed", failed);
  pushes("invalid", invalid);
  R().GetCounter("fanout_sender_retries_total", "Push attempts repeated after a retryable error.",
                 {{"region", region_},
                  {"platform", std::string(platform)},
                  {"priority", std::string(priority)}})
      .Inc(retries);
}

void Probe::OnPushLatencies(std::string_view priority, const std::vector<double>& seconds) const {
  if (seconds.empty()) return;
  auto h = R().GetHistogram(
      "fanout_sender_push_latency_seconds", "Ingest to push accepted by the platform, per push.",
      metrics::kLatencyBucketsSeconds, {{"region", region_}, {"priority", std::string(priority)}});
  for (double v : seconds) h.Observe(v);
}

void Probe::OnAlertDone(std::string_view priority, double seconds) const {
  static const std::vector<double> kSlaBuckets = {0.25, 0.5, 1,   2,   3,   5,    10,  20,
                                                  30,   60,  120, 300, 600, 1200, 1800};
  R().GetHistogram("fanout_alert_receipt_to_done_seconds",
                   "Per alert: first receipt (any region) to alert-done (its last push final).",
                   kSlaBuckets, {{"region", region_}, {"priority", std::string(priority)}})
      .Observe(seconds);
}

void Probe::OnDevices(uint64_t count) const {
  R().GetGauge("fanout_registry_devices", "Devices in this region's registry.",
               {{"region", region_}})
      .Set(static_cast<double>(count));
  // Sampled with the registry figures: what this process holds (the index dominates).
  R().GetGauge("fanout_process_resident_bytes", "Resident memory of this process.",
               {{"region", region_}})
      .Set(static_cast<double>(metrics::ProcessStatusKb("VmRSS:")) * 1024.0);
}

void Probe::OnFeedStoreFailures(uint64_t total) const {
  uint64_t seen = feed_failures_seen_.exchange(total);
  R().GetCounter("fanout_registry_feed_store_failures_total",
                 "Replicated device updates the local store could not write.",
                 {{"region", region_}})
      .Inc(total > seen ? total - seen : 0);
}

void Probe::OnHttp(const HttpFigures& f) const {
  metrics::Labels region{{"region", region_}};
  R().GetGauge("fanout_http_connections_open", "Open connections to the HTTP API.", region)
      .Set(static_cast<double>(f.connections_open));
  R().GetGauge("fanout_http_queued_requests", "API requests waiting for a handler thread.", region)
      .Set(static_cast<double>(f.queued));
  auto delta = [](std::atomic<uint64_t>& seen, uint64_t total) {
    uint64_t before = seen.exchange(total);
    return total > before ? total - before : 0;
  };
  R().GetCounter("fanout_http_connections_refused_total",
                 "Connections refused over http.max_connections or "
                 "http.max_connections_per_client (503).",
                 region)
      .Inc(delta(http_refused_seen_, f.connections_refused));
  R().GetCounter("fanout_http_timeouts_total",
                 "Connections or streams closed by the header, body or idle timeout.", region)
      .Inc(delta(http_timeouts_seen_, f.timeouts));
  const char* help =
      "Requests answered 429: reason=queue, the client had http.max_queued_per_client requests "
      "waiting; reason=rate, it was over http.client_requests_per_s.";
  R().GetCounter("fanout_http_requests_rejected_total", help,
                 {{"region", region_}, {"reason", "queue"}})
      .Inc(delta(http_rejected_seen_, f.rejected_busy));
  R().GetCounter("fanout_http_requests_rejected_total", help,
                 {{"region", region_}, {"reason", "rate"}})
      .Inc(delta(http_limited_seen_, f.rate_limited));
}

}  // namespace fanout::app
