#pragma once
// Internal to adapters/jetstream: a NATS connection with its JetStream context, and libnats
// statuses mapped to Error. Not part of the folder's interface.
#include <nats/nats.h>

#include <functional>
#include <memory>
#include <string>

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

/// Connects to `url` (reconnecting for ever, 250 ms apart) and opens a JetStream context;
/// `tune` may adjust the context's options (publish-async handlers).
Result<std::unique_ptr<NatsConnection>, Error> ConnectJetStream(
    const std::string& url, const std::function<void(jsOptions&)>& tune = {});

/// Creates a stream unless it exists (an existing stream of the same name is accepted).
Result<void, Error> EnsureStream(jsCtx* js, jsStreamConfig& cfg);

/// A file-storage stream of one subject (work queue or log); 0 = no dedup window / no age
/// limit.
Result<void, Error> EnsureSubjectStream(jsCtx* js, const std::string& name,
                                        const std::string& subject, jsRetentionPolicy retention,
                                        int replicas, int64_t dedup_window_ms, int64_t max_age_ms);

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
