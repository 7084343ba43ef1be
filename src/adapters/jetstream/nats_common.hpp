#pragma once
// Internal to adapters/jetstream: a NATS connection with its JetStream context, and libnats
// statuses mapped to Error. Not part of the folder's interface.
#include <nats/nats.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/jetstream/nats_client.hpp"
#include "adapters/jetstream/region_link.hpp"
#include "domain/common/result.hpp"

namespace fanout::adapters::jetstream {

/// `what` failed with status `s` (and JetStream error `js`): transient statuses (timeouts, no
/// server, closed or not yet connected) are kRetryLater, the rest kInternal.
Error NatsError(const std::string& what, natsStatus s, jsErrCode js = static_cast<jsErrCode>(0));

struct NatsConnection {
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;
  NatsConnection() = default;
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;
  ~NatsConnection();
};

/// Connects to `url` (reconnecting for ever, 250 ms apart) as `client` (user, password, TLS)
/// and opens a JetStream context; `tune` may adjust the context's options (publish-async
/// handlers). A subject the server refuses (permissions) is logged to stderr, naming it.
Result<std::unique_ptr<NatsConnection>, Error> ConnectJetStream(
    const std::string& url, const NatsClientSettings& client = {},
    const std::function<void(jsOptions&)>& tune = {});

/// The inbox prefix of `user`'s connections ("_INBOX_fanout-sender"): replies to its requests
/// and its consumers' deliveries arrive under it, and only it may subscribe there.
std::string InboxPrefix(const std::string& user);

/// A work queue's stream: `prefix` + "_" + the subject in capitals, other characters '_'
/// ("FANOUT_eu-central" + "batches.high.apns" → "FANOUT_eu-central_BATCHES_HIGH_APNS").
std::string WorkStreamName(const std::string& prefix, const std::string& subject);

/// Creates a stream unless it exists (an existing stream of the same name is accepted).
Result<void, Error> EnsureStream(jsCtx* js, jsStreamConfig& cfg);

/// A file-storage stream of one subject (work queue or log); 0 = no dedup window / no age
/// limit.
Result<void, Error> EnsureSubjectStream(jsCtx* js, const std::string& name,
                                        const std::string& subject, jsRetentionPolicy retention,
                                        int replicas, int64_t dedup_window_ms, int64_t max_age_ms);

/// A log stream replicated between linked regions: it captures this region's own subject and
/// sources every peer's stream of the same name, filtered to that peer's own subject (no
/// cycles), through the peer's domain (`$JS.<peer>.API`). JetStream keeps the sources
/// current and catches up by itself after a link outage; messages keep their Nats-Msg-Id,
/// so a fact recorded in two regions is stored once per stream. Without peers: like
/// EnsureSubjectStream.
Result<void, Error> EnsureReplicatedStream(jsCtx* js, const std::string& name,
                                           const std::string& base_subject, const RegionLink& link,
                                           int replicas, int64_t dedup_window_ms,
                                           int64_t max_age_ms);

/// A stream that holds the peers' key-value buckets `<bucket>_<peer>` (their KV streams,
/// sourced through each peer's domain), read with GetPeerValue. Nothing when not linked.
Result<void, Error> EnsurePeerBuckets(jsCtx* js, const std::string& name, const std::string& bucket,
                                      const RegionLink& link, int replicas);
/// The latest value of `key` in any peer's bucket held by the stream `name` (see
/// EnsurePeerBuckets); nullopt when no peer has it.
Result<std::optional<std::string>, Error> GetPeerValue(jsCtx* js, const std::string& name,
                                                       const std::string& bucket,
                                                       const RegionLink& link,
                                                       const std::string& key);

/// Creates a key-value bucket (file storage, history 1) or binds to the existing one of that
/// name (several processes start in any order); `ttl_ms` > 0 expires entries after that
/// long. The caller destroys the store.
Result<kvStore*, Error> OpenKeyValue(jsCtx* js, const std::string& bucket, int replicas,
                                     int64_t ttl_ms = 0);

/// Whether the connection is up (not reconnecting or closed).
bool IsConnected(const NatsConnection& c);

/// Drains and destroys a callback subscription: once this returns no callback runs.
void StopSubscription(natsSubscription* sub);

}  // namespace fanout::adapters::jetstream
