#include "adapters/jetstream/nats_common.hpp"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace fanout::adapters::jetstream {

Error NatsError(const std::string& what, natsStatus s, jsErrCode js) {
  std::string msg = what + ": " + natsStatus_GetText(s);
  if (js != 0) msg += " (JetStream error " + std::to_string(static_cast<int>(js)) + ")";
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0') {
    msg += ": " + std::string(last);
  }
  auto kind = (s == NATS_TIMEOUT || s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED ||
               s == NATS_NOT_YET_CONNECTED || s == NATS_NO_RESPONDERS)
                  ? Error::Kind::kRetryLater
                  : Error::Kind::kInternal;
  return Error{kind, msg};
}

NatsConnection::~NatsConnection() {
  if (js) jsCtx_Destroy(js);
  if (conn) natsConnection_Destroy(conn);
}

namespace {
// Asynchronous errors: a permissions violation (a subject this user may not use) arrives here,
// not as the status of the call that caused it.
void OnAsyncError(natsConnection* nc, natsSubscription*, natsStatus err, void*) {
  const char* text = nullptr;
  (void)natsConnection_GetLastError(nc, &text);
  std::fprintf(stderr, "jetstream: the NATS server reported: %s%s%s\n", natsStatus_GetText(err),
               text != nullptr && *text != '\0' ? ": " : "", text != nullptr ? text : "");
}
}  // namespace

Result<std::unique_ptr<NatsConnection>, Error> ConnectJetStream(
    const std::string& url, const NatsClientSettings& client,
    const std::function<void(jsOptions&)>& tune) {
  auto c = std::make_unique<NatsConnection>();
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  // One server, or a cluster's nodes comma-separated (the client also learns the others
  // from the server it reaches, and reconnects to any of them).
  std::vector<std::string> urls;
  for (size_t start = 0; start <= url.size();) {
    size_t comma = url.find(',', start);
    if (comma == std::string::npos) comma = url.size();
    if (comma > start) urls.push_back(url.substr(start, comma - start));
    start = comma + 1;
  }
  std::vector<const char*> servers;
  for (const auto& u : urls) servers.push_back(u.c_str());
  if (s == NATS_OK) {
    s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  }
  if (s == NATS_OK && !client.name.empty()) s = natsOptions_SetName(opts, client.name.c_str());
  if (s == NATS_OK && !client.user.empty()) {
    s = natsOptions_SetUserInfo(opts, client.user.c_str(), client.password.c_str());
    // Replies and deliveries on this user's own inbox subjects: no other user may subscribe
    // to them (`fanout config nats` allows each user only `_INBOX_<user>.>`).
    const std::string inbox = InboxPrefix(client.user);
    if (s == NATS_OK) s = natsOptions_SetCustomInboxPrefix(opts, inbox.c_str());
  }
  if (s == NATS_OK && !client.ca_file.empty()) {
    s = natsOptions_SetSecure(opts, true);
    if (s == NATS_OK) s = natsOptions_LoadCATrustedCertificates(opts, client.ca_file.c_str());
    if (s != NATS_OK) {
      natsOptions_Destroy(opts);
      return Fail(NatsError("NATS CA file " + client.ca_file, s));
    }
  }
  if (s == NATS_OK && !client.cert_file.empty()) {
    s = natsOptions_LoadCertificatesChain(opts, client.cert_file.c_str(), client.key_file.c_str());
    if (s != NATS_OK) {
      natsOptions_Destroy(opts);
      return Fail(NatsError("NATS client certificate " + client.cert_file, s));
    }
  }
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, &OnAsyncError, nullptr);
  // Reconnect for ever: a restarted server is waited for, not a reason to stop.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK) s = natsConnection_Connect(&c->conn, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    std::string as = client.user.empty() ? "" : " as " + client.user;
    return Fail(NatsError("connect to " + url + as, s));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  if (tune) tune(jo);
  s = natsConnection_JetStream(&c->js, c->conn, &jo);
  if (s != NATS_OK) return Fail(NatsError("JetStream context", s));
  return c;
}

std::string InboxPrefix(const std::string& user) { return "_INBOX_" + user; }

std::string WorkStreamName(const std::string& prefix, const std::string& subject) {
  std::string name = prefix + "_";
  for (char c : subject) {
    name += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                : '_';
  }
  return name;
}

Result<void, Error> EnsureStream(jsCtx* js, jsStreamConfig& cfg) {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&info, js, &cfg, nullptr, &jerr);
  if (info) jsStreamInfo_Destroy(info);
  if (s != NATS_OK && jerr != JSStreamNameExistErr) {
    return Fail(NatsError("create stream " + std::string(cfg.Name), s, jerr));
  }
  return {};
}

Result<void, Error> EnsureSubjectStream(jsCtx* js, const std::string& name,
                                        const std::string& subject, jsRetentionPolicy retention,
                                        int replicas, int64_t dedup_window_ms, int64_t max_age_ms) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name.c_str();
  const char* subjects[] = {subject.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Retention = retention;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.Duplicates = dedup_window_ms * 1'000'000;  // nanoseconds
  cfg.MaxAge = max_age_ms * 1'000'000;
  return EnsureStream(js, cfg);
}

namespace {
// A stream sourcing other domains' streams: kept as it is when it exists (a restart while a
// peer is down must not need the peer). Creating one makes the server check each source
// against its origin stream, which it cannot while the leafnode to the peer is still coming
// up (or the peer has not created it yet): retried for a while, then refused clearly.
Result<void, Error> EnsureSourcingStream(jsCtx* js, jsStreamConfig& cfg) {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&info, js, cfg.Name, nullptr, &jerr) == NATS_OK && info) {
    jsStreamInfo_Destroy(info);
    return {};
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    info = nullptr;
    jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&info, js, &cfg, nullptr, &jerr);
    if (info) jsStreamInfo_Destroy(info);
    if (s == NATS_OK || jerr == JSStreamNameExistErr) return {};
    if (jerr != JSStreamInvalidConfig || std::chrono::steady_clock::now() > deadline) {
      return Fail(NatsError("create stream " + std::string(cfg.Name) +
                                " (sourcing the peer regions' streams: are their servers up "
                                "and linked by a leafnode?)",
                            s, jerr));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}
}  // namespace

Result<void, Error> EnsureReplicatedStream(jsCtx* js, const std::string& name,
                                           const std::string& base_subject, const RegionLink& link,
                                           int replicas, int64_t dedup_window_ms,
                                           int64_t max_age_ms) {
  if (!link.linked()) {
    return EnsureSubjectStream(js, name, base_subject, js_LimitsPolicy, replicas, dedup_window_ms,
                               max_age_ms);
  }
  const std::string own = link.Own(base_subject);
  const size_t n = link.peers.size();
  std::vector<std::string> filters(n), prefixes(n);
  std::vector<jsExternalStream> externals(n);
  std::vector<jsStreamSource> sources(n);
  std::vector<jsStreamSource*> source_ptrs(n);
  for (size_t i = 0; i < n; ++i) {
    filters[i] = base_subject + "." + link.peers[i];
    prefixes[i] = "$JS." + link.peers[i] + ".API";
    externals[i] = jsExternalStream{prefixes[i].c_str(), ""};  // libnats writes both fields
    jsStreamSource& src = sources[i];
    src = jsStreamSource{};
    src.Name = name.c_str();
    src.FilterSubject = filters[i].c_str();
    src.External = &externals[i];
    source_ptrs[i] = &src;
  }
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name.c_str();
  const char* subjects[] = {own.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Retention = js_LimitsPolicy;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.Duplicates = dedup_window_ms * 1'000'000;
  cfg.MaxAge = max_age_ms * 1'000'000;
  cfg.Sources = source_ptrs.data();
  cfg.SourcesLen = static_cast<int>(n);
  return EnsureSourcingStream(js, cfg);
}

Result<void, Error> EnsurePeerBuckets(jsCtx* js, const std::string& name, const std::string& bucket,
                                      const RegionLink& link, int replicas) {
  if (!link.linked()) return {};
  const size_t n = link.peers.size();
  std::vector<std::string> streams(n), prefixes(n);
  std::vector<jsExternalStream> externals(n);
  std::vector<jsStreamSource> sources(n);
  std::vector<jsStreamSource*> source_ptrs(n);
  for (size_t i = 0; i < n; ++i) {
    streams[i] = "KV_" + bucket + "_" + link.peers[i];
    prefixes[i] = "$JS." + link.peers[i] + ".API";
    externals[i] = jsExternalStream{prefixes[i].c_str(), ""};  // libnats writes both fields
    sources[i] = jsStreamSource{};
    sources[i].Name = streams[i].c_str();
    sources[i].External = &externals[i];
    source_ptrs[i] = &sources[i];
  }
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name.c_str();
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.Sources = source_ptrs.data();
  cfg.SourcesLen = static_cast<int>(n);
  return EnsureSourcingStream(js, cfg);
}

Result<std::optional<std::string>, Error> GetPeerValue(jsCtx* js, const std::string& name,
                                                       const std::string& bucket,
                                                       const RegionLink& link,
                                                       const std::string& key) {
  for (const std::string& peer : link.peers) {
    const std::string subject = "$KV." + bucket + "_" + peer + "." + key;
    natsMsg* m = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetLastMsg(&m, js, name.c_str(), subject.c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;
    if (s != NATS_OK || !m) return Fail(NatsError("peer value " + subject, s, jerr));
    std::string value(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
    return std::optional<std::string>(std::move(value));
  }
  return std::optional<std::string>{};
}

Result<kvStore*, Error> OpenKeyValue(jsCtx* js, const std::string& bucket, int replicas,
                                     int64_t ttl_ms) {
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = bucket.c_str();
  cfg.History = 1;
  cfg.StorageType = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.TTL = ttl_ms * 1'000'000;  // nanoseconds
  // Creating an existing bucket with the same configuration returns it; otherwise bind to it.
  kvStore* kv = nullptr;
  natsStatus s = js_CreateKeyValue(&kv, js, &cfg);
  if (s != NATS_OK) {
    kv = nullptr;
    s = js_KeyValue(&kv, js, bucket.c_str());
  }
  if (s != NATS_OK) return Fail(NatsError("key-value bucket " + bucket, s));
  return kv;
}

bool IsConnected(const NatsConnection& c) {
  return c.conn != nullptr && natsConnection_Status(c.conn) == NATS_CONN_STATUS_CONNECTED;
}

void StopSubscription(natsSubscription* sub) {
  if (!sub) return;
  if (natsSubscription_Drain(sub) == NATS_OK) {
    (void)natsSubscription_WaitForDrainCompletion(sub, 5000);
  } else {
    (void)natsSubscription_Unsubscribe(sub);
  }
  natsSubscription_Destroy(sub);
}

}  // namespace fanout::adapters::jetstream
