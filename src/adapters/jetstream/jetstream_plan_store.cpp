#include "adapters/jetstream/jetstream_plan_store.hpp"

#include <cstdio>
#include <map>
#include <mutex>

#include "adapters/jetstream/nats_common.hpp"
#include "domain/pipeline/codec.hpp"
#include "platform/text/hash.hpp"

namespace fanout::adapters::jetstream {

namespace {
// "plan.<16 hex digits of FNV-1a 64>": stable across processes and builds.
std::string PlanKey(const std::string& alert_id) {
  return "plan." + platform::Fnv1a64Hex(alert_id);
}
}  // namespace

struct JetStreamPlanStore::Impl {
  PlanStoreSettings settings;
  std::unique_ptr<NatsConnection> nats;
  kvStore* kv = nullptr;
  mutable std::mutex mu;
  mutable std::map<std::string, PlanPtr> cache;  // plans never change once stored

  ~Impl() {
    if (kv) kvStore_Destroy(kv);
  }

  // The stored plan of `alert_id`: from the cache, else the bucket (nullptr: none, or
  // another alert's plan under a colliding key).
  Result<PlanPtr, Error> Read(const std::string& alert_id) const {
    {
      std::lock_guard lock(mu);
      if (auto it = cache.find(alert_id); it != cache.end()) return it->second;
    }
    kvEntry* e = nullptr;
    natsStatus s = kvStore_Get(&e, kv, PlanKey(alert_id).c_str());
    if (s == NATS_NOT_FOUND) return PlanPtr{};
    if (s != NATS_OK || !e) return Fail(NatsError("plan of " + alert_id, s));
    auto plan = domain::pipeline::DecodePlan(std::string_view(
        static_cast<const char*>(kvEntry_Value(e)), static_cast<size_t>(kvEntry_ValueLen(e))));
    kvEntry_Destroy(e);
    if (!plan || plan->alert_id != alert_id) return PlanPtr{};
    auto ptr = std::make_shared<const domain::pipeline::AlertPlan>(std::move(*plan));
    std::lock_guard lock(mu);
    return cache.emplace(alert_id, ptr).first->second;
  }
};

Result<std::unique_ptr<JetStreamPlanStore>, Error> JetStreamPlanStore::Connect(
    const PlanStoreSettings& settings) {
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  auto nats = ConnectJetStream(settings.url, settings.client);
  if (!nats) return Fail(nats.error());
  impl->nats = std::move(*nats);
  const RegionLink& link = settings.link;
  auto kv = OpenKeyValue(impl->nats->js,
                         link.linked() ? settings.bucket + "_" + link.region : settings.bucket,
                         settings.replicas);
  if (!kv) return Fail(kv.error());
  impl->kv = *kv;
  return std::unique_ptr<JetStreamPlanStore>(new JetStreamPlanStore(std::move(impl)));
}

JetStreamPlanStore::JetStreamPlanStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JetStreamPlanStore::~JetStreamPlanStore() = default;

Result<ports::PlanStore::PlanPtr, Error> JetStreamPlanStore::PutIfAbsent(PlanPtr plan) {
  const std::string body = domain::pipeline::EncodePlan(*plan);
  natsStatus s = kvStore_Create(nullptr, impl_->kv, PlanKey(plan->alert_id).c_str(), body.data(),
                                static_cast<int>(body.size()));
  if (s == NATS_OK) {
    std::lock_guard lock(impl_->mu);
    return impl_->cache.emplace(plan->alert_id, plan).first->second;
  }
  // Another process (or an earlier delivery) stored one first: that one is the plan.
  auto stored = impl_->Read(plan->alert_id);
  if (!stored) return Fail(stored.error());
  if (*stored) return *stored;
  return Fail(NatsError("store the plan of " + plan->alert_id, s));
}

ports::PlanStore::PlanPtr JetStreamPlanStore::Get(const std::string& alert_id) const {
  auto plan = impl_->Read(alert_id);
  if (!plan) {
    std::fprintf(stderr, "jetstream: %s\n", plan.error().message.c_str());
    return nullptr;  // the callers retry their work item when a plan is missing
  }
  return *plan;
}

// Alert ids are identifiers (one plan each), so the identifier names the plan; a sender or
// `sent` written differently in the reference still finds it (the in-process store's rule).
ports::PlanStore::PlanPtr JetStreamPlanStore::FindReferenced(const std::string& /*sender*/,
                                                             const std::string& identifier,
                                                             const std::string& /*sent*/) const {
  return Get(identifier);
}

bool JetStreamPlanStore::Connected() const { return IsConnected(*impl_->nats); }

}  // namespace fanout::adapters::jetstream
