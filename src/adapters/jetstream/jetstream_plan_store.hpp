#pragma once
// PlanStore on a JetStream key-value bucket (DESIGN §6, distributed engine): put-if-absent by
// `kvStore_Create`, so the first plan of an alert stored by any process is the plan. Alert
// ids are CAP identifiers (one plan per identifier: ingest refuses a reused one), so an
// Update/Cancel finds its original by the referenced identifier, as the in-process store
// does when the sender is spelled differently. Keys are FNV-1a hashes (the KV key alphabet excludes
// most of what CAP identifiers contain); values carry the full names, checked on every read. Plans
// never change once stored, so each process caches what it has read. Vendor headers stay in the
// .cpp. Thread-safe.
#include <memory>
#include <string>

#include "adapters/jetstream/nats_client.hpp"
#include "adapters/jetstream/region_link.hpp"
#include "ports/plan_store.hpp"

namespace fanout::adapters::jetstream {

struct PlanStoreSettings {
  std::string url = "nats://127.0.0.1:4222";
  NatsClientSettings client;  // user, password, TLS (nats_client.hpp)
  std::string bucket = "FANOUT_PLANS";
  int replicas = 1;
  /// Linked regions: the bucket is `<bucket>_<region>` (each region's own; a region that
  /// takes an alert over recomputes its plan deterministically from the raw alert).
  RegionLink link;
};

class JetStreamPlanStore final : public ports::PlanStore {
 public:
  static Result<std::unique_ptr<JetStreamPlanStore>, Error> Connect(
      const PlanStoreSettings& settings);
  ~JetStreamPlanStore() override;
  JetStreamPlanStore(const JetStreamPlanStore&) = delete;
  JetStreamPlanStore& operator=(const JetStreamPlanStore&) = delete;

  Result<PlanPtr, Error> PutIfAbsent(PlanPtr plan) override;
  PlanPtr Get(const std::string& alert_id) const override;
  PlanPtr FindReferenced(const std::string& sender, const std::string& identifier,
                         const std::string& sent) const override;

  /// Whether its NATS connection is up (readiness).
  bool Connected() const;

 private:
  struct Impl;
  explicit JetStreamPlanStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fanout::adapters::jetstream
