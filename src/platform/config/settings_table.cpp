// The declared settings table: the one place that lists every config key (DESIGN §7.4).
// Add a key here and to Settings; docs/CONFIG.md is regenerated with `fanout config docs`
// (a unit test fails while it is stale).
#include <algorithm>
#include <array>

#include "platform/config/schema.hpp"

namespace fanout::config {
namespace {

// A captureless lambda returning a reference to one Settings field, as a function pointer.
#define FIELD(member) +[](Settings& s) -> decltype(auto) { return (s.member); }

using T = SettingType;

const SettingSpec kSettings[] = {
    // --- top level
    {"roles", T::kStringList,
     R"(["ingest", "processor", "queuer", "sender", "watchdog", "dashboard", "registry"])",
     "Roles this process runs: any of ingest, processor, queuer, sender, watchdog, dashboard, "
     "registry.",
     FIELD(roles)},
    // --- [region]
    {"region.name", T::kString, R"("eu-central")", "This region's name (letters, digits, '-').",
     FIELD(region.name)},
    {"region.index", T::kInt, "0",
     "This region's number 0..N-1, N = number of peers + 1; alert ownership is hash mod N.",
     FIELD(region.index), 0, 1023},
    {"region.peers", T::kStringList, R"(["http://127.0.0.1:8081"])",
     "The other regions' base URLs (ingest forwarding and replication), in no particular order.",
     FIELD(region.peers)},
    {"region.names", T::kStringList, "[]",
     "Every region's name in index order (this one at region.index). Needed by the distributed "
     "engine with peers: region i is the NATS JetStream domain names[i], whose streams this "
     "region sources (DESIGN §5.1). [] = this region alone.",
     FIELD(region.names)},
    // --- [http]
    {"http.listen", T::kString, R"("127.0.0.1:8080")",
     "host:port of the HTTP API, dashboards, /metrics and the operator page (IPv6: [::1]:8080).",
     FIELD(http.listen)},
    {"http.threads", T::kInt, "2",
     "Event-loop threads of the HTTP server: they hold every connection, idle or busy.",
     FIELD(http.threads), 1, 256},
    {"http.handler_threads", T::kInt, "8",
     "Threads running request handlers (ingest, device writes may wait for disk or "
     "PostgreSQL); requests wait for them in a fair queue, one per client.",
     FIELD(http.handler_threads), 1, 1024},
    {"http.header_timeout_s", T::kSeconds, "10",
     "A request's header block (and a TLS handshake) must arrive within this many seconds, "
     "counted from the connection's start or the request's first byte; else 408 and close.",
     FIELD(http.header_timeout), 1, 3600},
    {"http.body_timeout_s", T::kSeconds, "30",
     "A request's body must arrive within this many seconds after its header block; else 408 "
     "and close.",
     FIELD(http.body_timeout), 1, 3600},
    {"http.idle_timeout_s", T::kSeconds, "60",
     "A kept-alive connection without a request in progress is closed after this many "
     "seconds of silence.",
     FIELD(http.idle_timeout), 1, 86400},
    {"http.max_connections", T::kInt, "10000",
     "Open connections at most; more are answered 503 and closed (raise the process's "
     "file limit to match).",
     FIELD(http.max_connections), 1, 1000000},
    {"http.max_connections_per_client", T::kInt, "1000",
     "Open connections at most from one client address; more are answered 503 and closed.",
     FIELD(http.max_connections_per_client), 1, 1000000},
    {"http.max_queued_per_client", T::kInt, "256",
     "Requests of one client (address, plus the provider for alerts) waiting for a handler "
     "thread at most; more are answered 429 with Retry-After.",
     FIELD(http.max_queued_per_client), 1, 1000000},
    {"http.max_event_streams", T::kInt, "32",
     "Open server-sent event streams (operator consoles) at most; more get 503.",
     FIELD(http.max_event_streams), 1, 10000},
    {"http.client_requests_per_s", T::kInt, "500",
     "Requests one client address may make per second on average (/healthz excepted); "
     "beyond that 429 RATE_LIMITED with Retry-After. 0: no limit.",
     FIELD(http.client_requests_per_s), 0, 10000000},
    {"http.client_burst", T::kInt, "5000",
     "Requests one client address may make at once before http.client_requests_per_s applies.",
     FIELD(http.client_burst), 1, 10000000},
    {"http.provider_alerts_per_s", T::kInt, "20",
     "Alerts one provider may submit per second on average (checked after its token); beyond "
     "that 429 PROVIDER_RATE_LIMITED with Retry-After. 0: no limit.",
     FIELD(http.provider_alerts_per_s), 0, 1000000},
    {"http.provider_alerts_burst", T::kInt, "200",
     "Alerts one provider may submit at once before http.provider_alerts_per_s applies.",
     FIELD(http.provider_alerts_burst), 1, 1000000},
    {"http.tls_cert_file", T::kPath, R"("")",
     "PEM certificate chain for HTTPS on http.listen (with http.tls_key_file; ALPN h2 or "
     "http/1.1). Empty: plain HTTP (behind a TLS-terminating proxy, or on loopback).",
     FIELD(http.tls_cert_file)},
    {"http.tls_key_file", T::kPath, R"("")", "PEM private key for http.tls_cert_file.",
     FIELD(http.tls_key_file)},
    {"http.tls_client_ca_file", T::kPath, R"("")",
     "PEM CA whose client certificates the HTTPS listener verifies (mutual TLS, for the "
     "providers in auth.provider_client_certs); a client without a certificate is still "
     "served, one whose certificate fails verification is not. Empty: no client certificates.",
     FIELD(http.tls_client_ca_file)},
    {"http.auth_failures_per_minute", T::kInt, "20",
     "Failed authentications (wrong or missing token) one client address may make per minute; "
     "beyond that its wrong tokens are answered 429 with Retry-After. A valid token is never "
     "refused. 0: no limit.",
     FIELD(http.auth_failures_per_minute), 0, 1000000},
    {"http.dashboard_max_age_s", T::kSeconds, "5",
     "Cache-Control max-age of dashboard responses, seconds.", FIELD(http.dashboard_max_age), 0,
     86400},
    // --- [store]
    {"store.mode", T::kString, R"("embedded")",
     "embedded (in-process bus, SQLite, files) or distributed (NATS JetStream, PostgreSQL).",
     FIELD(store.mode)},
    {"store.data_dir", T::kPath, R"("./data/eu-central")",
     "Folder for the alert archive, SQLite registry and dashboards; created if missing.",
     FIELD(store.data_dir)},
    {"store.nats_url", T::kString, R"("nats://127.0.0.1:4222")",
     "NATS server (distributed only); a cluster as a comma-separated list of its nodes.",
     FIELD(store.nats_url)},
    {"store.nats_replicas", T::kInt, "1",
     "Copies of every JetStream stream and bucket (distributed only): 3 on a 3-node cluster, "
     "so a node may die without losing acknowledged work; 1 on a single server.",
     FIELD(store.nats_replicas), 1, 5},
    {"store.nats_user", T::kString, R"("")",
     "NATS user this process connects as (distributed only): one per role with only that "
     "role's subjects, from `fanout config nats` (docs/nats.md). Empty: no authentication.",
     FIELD(store.nats_user)},
    {"store.nats_password", T::kString, R"("")", "Password of store.nats_user.",
     FIELD(store.nats_password), 0, 0, true},
    {"store.nats_ca_file", T::kPath, R"("")",
     "PEM CA certificate(s) the NATS server's certificate is verified against; set: TLS to "
     "NATS (tls:// URLs). Empty: plain connections (loopback only).",
     FIELD(store.nats_ca_file)},
    {"store.nats_cert_file", T::kPath, R"("")",
     "PEM client certificate for NATS servers that verify clients (with store.nats_key_file).",
     FIELD(store.nats_cert_file)},
    {"store.nats_key_file", T::kPath, R"("")", "PEM private key of store.nats_cert_file.",
     FIELD(store.nats_key_file)},
    {"store.postgres_url", T::kString, R"("postgresql://fanout@127.0.0.1/fanout")",
     "PostgreSQL connection URI (distributed only; empty: the region's devices in SQLite under "
     "store.data_dir, for a region on one host).",
     FIELD(store.postgres_url), 0, 0, true},
    {"store.postgres_migrate", T::kBool, "true",
     "Apply the device schema's migrations at start-up as the store.postgres_url user (it must "
     "own the schema). false in production: the application role only checks that the schema "
     "is current, and `fanout db migrate --app-role ROLE` applies it as the owner "
     "(docs/devices.md).",
     FIELD(store.postgres_migrate)},
    // --- [geo]
    {"geo.data_dir", T::kPath, R"("data/geo")",
     "Folder with the municipality, district and state geodata and the DWD warn-cell list.",
     FIELD(geo.data_dir)},
    {"geo.min_overlap_m2", T::kInt, "50000",
     "A polygon/circle counts for a municipality it only partly overlaps when the overlap is at "
     "least this many m^2 (or min_overlap_width_m wide); smaller, thinner pieces are boundary "
     "artefacts (measured <= 41,876 m^2). 0 with width 0: any contact counts.",
     FIELD(geo.min_overlap_m2), 0, 1000000000},
    {"geo.min_overlap_width_m", T::kInt, "10",
     "...or when its mean width (2 area / perimeter) is at least this many metres (artefacts "
     "measured <= 2.4 m).",
     FIELD(geo.min_overlap_width_m), 0, 1000000},
    // --- [auth]
    {"auth.provider_client_certs", T::kStringMap, "{}",
     "Mutual TLS per provider: provider -> the common name (CN) of the client certificate it "
     "must present, besides its token, verified against http.tls_client_ca_file (else 403 "
     "CLIENT_CERTIFICATE_REQUIRED). Providers not listed need only their token.",
     FIELD(auth.provider_client_certs)},
    {"auth.provider_tokens", T::kStringMap, "{}",
     "Provider name -> bearer token for PUT /v1/alerts/{provider}/...; the keys are the "
     "configured providers (e.g. AP1..AP4). A token may be stored as `sha256:<hex>` of it.",
     FIELD(auth.provider_tokens), 0, 0, true},
    {"auth.device_token", T::kString, R"("")",
     "Bearer token for the /v1/devices API (clear, or `sha256:<hex>` of it).",
     FIELD(auth.device_token), 0, 0, true},
    {"auth.admin_token", T::kString, R"("")",
     "Bearer token for delivery reports and the operator console (clear, or `sha256:<hex>` "
     "of it).",
     FIELD(auth.admin_token), 0, 0, true},
    // --- [providers]
    {"providers.high_priority", T::kStringList, R"(["AP1"])",
     "Providers whose every alert is high priority.", FIELD(providers.high_priority)},
    {"providers.default_levels", T::kIntMap, "{ AP1 = 4, AP2 = 4, AP3 = 4, AP4 = 4 }",
     "Provider -> severity threshold 0..4 for devices that do not set one (4 = everything).",
     FIELD(providers.default_levels), 0, 4},
    {"providers.allow_non_actual", T::kStringList, "[]",
     "Providers whose alerts with status other than Actual (Exercise, Test, ...) are pushed.",
     FIELD(providers.allow_non_actual)},
    {"providers.default_lifetime_s", T::kSeconds, "86400",
     "Dashboard lifetime of an alert without `expires`, seconds.",
     FIELD(providers.default_lifetime), 1, 31536000},
    {"providers.lifetimes_s", T::kIntMap, "{}",
     "Provider -> dashboard lifetime (seconds) of its alerts without `expires`, overriding "
     "providers.default_lifetime_s (e.g. { AP2 = 21600 }).",
     FIELD(providers.lifetimes), 1, 31536000},
    // --- [push]
    {"push.request_timeout_ms", T::kMilliseconds, "10000",
     "Timeout of one push request (APNs or FCM), milliseconds.", FIELD(push.request_timeout), 1,
     600000},
    {"push.max_attempts", T::kInt, "5",
     "Attempts per token for retryable failures (429, 5xx) before it counts as failed.",
     FIELD(push.max_attempts), 1, 100},
    {"push.retry_base_ms", T::kMilliseconds, "200",
     "First retry backoff, doubled per attempt; a server's Retry-After wins.",
     FIELD(push.retry_base), 1, 600000},
    // --- [push.apns]
    {"push.apns.endpoint", T::kString, R"("https://api.push.apple.com")",
     "APNs base URL; an http:// URL means cleartext HTTP/2 (prior knowledge), for local tests.",
     FIELD(push.apns.endpoint)},
    {"push.apns.team_id", T::kString, R"("")", "Apple developer team id (JWT `iss`).",
     FIELD(push.apns.team_id)},
    {"push.apns.key_id", T::kString, R"("")", "APNs auth key id (JWT `kid`).",
     FIELD(push.apns.key_id)},
    {"push.apns.key_file", T::kPath, R"("AuthKey.p8")",
     "APNs auth key: PKCS#8 PEM EC P-256 private key (.p8).", FIELD(push.apns.key_file)},
    {"push.apns.topic", T::kString, R"("")", "apns-topic: the app's bundle id.",
     FIELD(push.apns.topic)},
    {"push.apns.ca_file", T::kPath, R"("")",
     "CA bundle for the APNs endpoint; empty: system trust store.", FIELD(push.apns.ca_file)},
    {"push.apns.critical_alerts", T::kBool, "false",
     "Send Extreme alerts as critical alerts (needs Apple's entitlement).",
     FIELD(push.apns.critical_alerts)},
    {"push.apns.connections", T::kInt, "2", "HTTP/2 connections to APNs.",
     FIELD(push.apns.connections), 1, 64},
    // --- [push.fcm]
    {"push.fcm.endpoint", T::kString, R"("https://fcm.googleapis.com")",
     "FCM base URL; an http:// URL means cleartext HTTP/2, for local tests.",
     FIELD(push.fcm.endpoint)},
    {"push.fcm.token_uri", T::kString, R"("https://oauth2.googleapis.com/token")",
     "OAuth2 token endpoint for the service-account JWT grant.", FIELD(push.fcm.token_uri)},
    {"push.fcm.project_id", T::kString, R"("")", "Firebase project id.",
     FIELD(push.fcm.project_id)},
    {"push.fcm.service_account_file", T::kPath, R"("service-account.json")",
     "Google service-account JSON (client_email, private_key).",
     FIELD(push.fcm.service_account_file)},
    {"push.fcm.ca_file", T::kPath, R"("")",
     "CA bundle for the FCM and token endpoints; empty: system trust store.",
     FIELD(push.fcm.ca_file)},
    {"push.fcm.connections", T::kInt, "2", "HTTP/2 connections to FCM.",
     FIELD(push.fcm.connections), 1, 64},
    // --- [watchdog]
    {"watchdog.deadline_high_ms", T::kMilliseconds, "3000",
     "A non-owner takes over a high-priority alert not processed within this, milliseconds.",
     FIELD(watchdog.deadline_high), 1, 3600000},
    {"watchdog.deadline_regular_ms", T::kMilliseconds, "10000",
     "Same for regular-priority alerts, milliseconds.", FIELD(watchdog.deadline_regular), 1,
     3600000},
    {"watchdog.stall_ms", T::kMilliseconds, "10000",
     "A unit without progress for this long is taken over, milliseconds.", FIELD(watchdog.stall), 1,
     3600000},
    // --- [fanout]
    {"fanout.shards", T::kInt, "64",
     "Shards per (platform, flow): devices are split by hash of device id. All regions must "
     "agree.",
     FIELD(fanout.shards), 1, 4096},
    {"fanout.batch_size", T::kInt, "500", "Tokens per sender batch.", FIELD(fanout.batch_size), 1,
     100000},
    {"fanout.sender_workers_high", T::kInt, "8",
     "Sender workers per platform for high-priority batches.", FIELD(fanout.sender_workers_high), 1,
     256},
    {"fanout.sender_workers_regular", T::kInt, "8",
     "Sender workers for regular-priority batches (never shared with high).",
     FIELD(fanout.sender_workers_regular), 1, 256},
    {"fanout.queuer_workers", T::kInt, "4",
     "Queuer workers per priority: units of one alert are selected and published in "
     "parallel (on the distributed engine each unit waits for NATS round trips).",
     FIELD(fanout.queuer_workers), 1, 64},
    {"fanout.max_deliver", T::kInt, "50",
     "Deliveries of one work item (alert, unit or batch) before it is given up as a dead "
     "letter, reported in the alert's report and counted.",
     FIELD(fanout.max_deliver), 1, 100000},
    {"fanout.ack_wait_ms", T::kMilliseconds, "30000",
     "Distributed: how long a work item stays with a process that stopped answering before "
     "another process gets it (a live process keeps a long batch by in-progress acks), "
     "milliseconds.",
     FIELD(fanout.ack_wait), 100, 3600000},
    // --- [cap]
    {"cap.max_body_bytes", T::kInt, "4194304",
     "Largest accepted alert body, bytes (else 413); real national polygons reach ~1 MB.",
     FIELD(cap.max_body_bytes), 1, 67108864},
    {"cap.max_depth", T::kInt, "32", "Deepest accepted XML/JSON nesting.", FIELD(cap.max_depth), 1,
     1024},
    {"cap.max_elements", T::kInt, "20000", "Most XML elements / JSON values in one alert.",
     FIELD(cap.max_elements), 1, 10000000},
    {"cap.max_polygon_points", T::kInt, "200000",
     "Most points in one polygon (the largest real one seen has 41,009).",
     FIELD(cap.max_polygon_points), 4, 10000000},
    // --- [log]
    {"log.level", T::kString, R"("info")", "trace, debug, info, warn, error, critical or off.",
     FIELD(log.level)},
    {"log.json", T::kBool, "false", "One JSON object per log line (stderr) instead of text.",
     FIELD(log.json)},
};

#undef FIELD

}  // namespace

std::span<const SettingSpec> DeclaredSettings() { return kSettings; }

const SettingSpec* FindSetting(std::string_view key) {
  for (const auto& s : kSettings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string_view TypeName(SettingType type) {
  switch (type) {
    case T::kString:
      return "string";
    case T::kPath:
      return "path";
    case T::kInt:
      return "integer";
    case T::kBool:
      return "boolean";
    case T::kMilliseconds:
      return "integer (ms)";
    case T::kSeconds:
      return "integer (s)";
    case T::kStringList:
      return "array of strings";
    case T::kStringMap:
      return "table of strings";
    case T::kIntMap:
      return "table of integers";
  }
  return "?";
}

}  // namespace fanout::config
