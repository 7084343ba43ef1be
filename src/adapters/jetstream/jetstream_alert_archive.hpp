#pragma once
// AlertArchive on a JetStream key-value bucket (DESIGN §5.1, §6, distributed engine): the raw
// bytes of every accepted alert under `raw.<sha256 hex>`, so a processor in any process (or,
// replicated by stream sources, any region) reads what ingest stored elsewhere. Put is
// idempotent (the same hash is the same bytes). A body larger than the server's
// `max_payload` is refused with a clear error naming both; `serve` checks
// `cap.max_body_bytes` against it at start. Vendor headers stay in the .cpp. Thread-safe.
#include <memory>
#include <string>

#include "adapters/jetstream/nats_client.hpp"
#include "adapters/jetstream/region_link.hpp"
#include "ports/alert_archive.hpp"

namespace fanout::adapters::jetstream {

struct AlertArchiveSettings {
  std::string url = "nats://127.0.0.1:4222";
  NatsClientSettings client;  // user, password, TLS (nats_client.hpp)
  std::string bucket = "FANOUT_ALERTS";
  int replicas = 1;
  /// Linked regions: this region's bucket is `<bucket>_<region>`, the peers' buckets are
  /// sourced into the stream `<bucket>_PEERS`, and Get falls back to them (a provider that
  /// reached only one region: every region can process its alert).
  RegionLink link;
};

class JetStreamAlertArchive final : public ports::AlertArchive {
 public:
  static Result<std::unique_ptr<JetStreamAlertArchive>, Error> Connect(
      const AlertArchiveSettings& settings);
  ~JetStreamAlertArchive() override;
  JetStreamAlertArchive(const JetStreamAlertArchive&) = delete;
  JetStreamAlertArchive& operator=(const JetStreamAlertArchive&) = delete;

  Result<void, Error> Put(const std::string& hash, const std::string& body) override;
  Result<std::optional<std::string>, Error> Get(const std::string& hash) const override;

  /// The largest body Put can store: the server's max_payload less room for the headers.
  int64_t MaxBodyBytes() const;
  /// Whether its NATS connection is up (readiness).
  bool Connected() const;

 private:
  struct Impl;
  explicit JetStreamAlertArchive(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fanout::adapters::jetstream
