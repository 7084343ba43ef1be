#include "adapters/jetstream/jetstream_alert_archive.hpp"

#include "adapters/jetstream/nats_common.hpp"

namespace fanout::adapters::jetstream {

namespace {
constexpr int64_t kHeaderRoom = 4096;  // the KV put's subject and headers

bool IsHash(const std::string& hash) {
  if (hash.size() != 64) return false;
  for (char c : hash) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

struct JetStreamAlertArchive::Impl {
  AlertArchiveSettings settings;
  std::unique_ptr<NatsConnection> nats;
  kvStore* kv = nullptr;
  ~Impl() {
    if (kv) kvStore_Destroy(kv);
  }
};

Result<std::unique_ptr<JetStreamAlertArchive>, Error> JetStreamAlertArchive::Connect(
    const AlertArchiveSettings& settings) {
  auto impl = std::make_unique<Impl>();
  auto nats = ConnectJetStream(settings.url, settings.client);
  if (!nats) return Fail(nats.error());
  impl->nats = std::move(*nats);
  impl->settings = settings;
  const RegionLink& link = settings.link;
  auto kv = OpenKeyValue(impl->nats->js,
                         link.linked() ? settings.bucket + "_" + link.region : settings.bucket,
                         settings.replicas);
  if (!kv) return Fail(kv.error());
  impl->kv = *kv;
  if (auto peers = EnsurePeerBuckets(impl->nats->js, settings.bucket + "_PEERS", settings.bucket,
                                     link, settings.replicas);
      !peers) {
    return Fail(peers.error());
  }
  return std::unique_ptr<JetStreamAlertArchive>(new JetStreamAlertArchive(std::move(impl)));
}

JetStreamAlertArchive::JetStreamAlertArchive(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JetStreamAlertArchive::~JetStreamAlertArchive() = default;

int64_t JetStreamAlertArchive::MaxBodyBytes() const {
  return natsConnection_GetMaxPayload(impl_->nats->conn) - kHeaderRoom;
}

Result<void, Error> JetStreamAlertArchive::Put(const std::string& hash, const std::string& body) {
  if (!IsHash(hash))
    return Fail(Error{Error::Kind::kInvalid, "archive key is not a SHA-256: " + hash});
  if (static_cast<int64_t>(body.size()) > MaxBodyBytes()) {
    return Fail(Error{Error::Kind::kInvalid,
                      "alert of " + std::to_string(body.size()) +
                          " bytes exceeds what the NATS server accepts (max_payload " +
                          std::to_string(natsConnection_GetMaxPayload(impl_->nats->conn)) +
                          " bytes): raise max_payload in the server configuration"});
  }
  natsStatus s = kvStore_Put(nullptr, impl_->kv, ("raw." + hash).c_str(), body.data(),
                             static_cast<int>(body.size()));
  if (s != NATS_OK) return Fail(NatsError("archive alert " + hash, s));
  return {};
}

Result<std::optional<std::string>, Error> JetStreamAlertArchive::Get(
    const std::string& hash) const {
  if (!IsHash(hash)) return std::optional<std::string>{};
  kvEntry* e = nullptr;
  natsStatus s = kvStore_Get(&e, impl_->kv, ("raw." + hash).c_str());
  if (s == NATS_NOT_FOUND) {
    // Received by another region only: its copy, replicated here.
    const AlertArchiveSettings& st = impl_->settings;
    return GetPeerValue(impl_->nats->js, st.bucket + "_PEERS", st.bucket, st.link, "raw." + hash);
  }
  if (s != NATS_OK || !e) return Fail(NatsError("archived alert " + hash, s));
  std::string body(static_cast<const char*>(kvEntry_Value(e)),
                   static_cast<size_t>(kvEntry_ValueLen(e)));
  kvEntry_Destroy(e);
  return std::optional<std::string>(std::move(body));
}

bool JetStreamAlertArchive::Connected() const { return IsConnected(*impl_->nats); }

}  // namespace fanout::adapters::jetstream
