#include "app/registry.hpp"

#include <mutex>
#include <stdexcept>

namespace fanout::app {

using domain::device::Device;

Registry::Registry(std::string region, ports::DeviceStore& store, ports::DeviceFeed& feed,
                   ProviderSettings providers, uint32_t shards,
                   std::function<bool(const std::string&)> known_key)
    : region_(std::move(region)),
      store_(store),
      feed_(feed),
      providers_(std::move(providers)),
      known_key_(std::move(known_key)),
      index_(shards) {
  // The index packs a threshold per provider into 4 bits of a 32-bit word (ADR 0100).
  if (providers_.known.size() > 8) {
    throw std::invalid_argument("at most 8 providers are supported, " +
                                std::to_string(providers_.known.size()) + " configured");
  }
}

Result<size_t, Error> Registry::Start() {
  size_t n = 0;
  {
    std::unique_lock lock(mu_);
    // Bulk path: bitmap inserts are buffered and applied in sorted runs at the end.
    index_.BeginBulk();
    auto loaded = store_.LoadAll([&](Device&& d) { index_.Upsert(d); });
    index_.EndBulk();
    if (!loaded) return Fail(loaded.error());
    n = *loaded;
  }
  feed_.Listen([this](std::span<const ports::DeviceUpdate> u) { OnFeed(u); });
  return n;
}

Result<Registry::PutResult, std::vector<domain::cap::Issue>> Registry::Put(Device d) {
  auto issues = domain::device::ValidateDevice(d, providers_.known);
  if (known_key_) {
    for (const std::string& r : d.regions) {
      if (r.size() == 12 && !known_key_(r)) {
        issues.push_back({"UNKNOWN_REGION_KEY", "region key '" + r + "' is not in the geo data"});
      }
    }
  }
  if (!issues.empty()) return Fail(std::move(issues));
  auto stored = store_.Upsert(d);
  if (!stored)
    return Fail(std::vector<domain::cap::Issue>{{"STORE_UNAVAILABLE", stored.error().message}});
  {
    std::unique_lock lock(mu_);
    index_.Upsert(d);
  }
  ports::DeviceUpdate u{d.id, d, region_, "api"};
  feed_.Publish(std::span<const ports::DeviceUpdate>(&u, 1));
  return *stored ? PutResult::kCreated : PutResult::kUpdated;
}

Result<bool, Error> Registry::Remove(const std::string& device_id, const std::string& reason) {
  auto removed = store_.Remove(device_id);
  if (!removed) return Fail(removed.error());
  bool in_index;
  {
    std::unique_lock lock(mu_);
    in_index = index_.Remove(device_id);
  }
  ports::DeviceUpdate u{device_id, std::nullopt, region_, reason};
  feed_.Publish(std::span<const ports::DeviceUpdate>(&u, 1));
  return *removed || in_index;
}

std::optional<Device> Registry::Get(const std::string& device_id) const {
  std::shared_lock lock(mu_);
  return index_.Find(device_id);
}

Result<void, Error> Registry::Import(std::vector<Device> devices) {
  if (auto r = store_.UpsertMany(devices); !r) return r;
  std::vector<ports::DeviceUpdate> updates;
  updates.reserve(devices.size());
  {
    std::unique_lock lock(mu_);
    for (Device& d : devices) {
      index_.Upsert(d);
      updates.push_back({d.id, std::move(d), region_, "import"});
    }
  }
  feed_.Publish(updates);
  return {};
}

void Registry::OnFeed(std::span<const ports::DeviceUpdate> updates) {
  if (updates.empty() || updates.front().origin_region == region_) return;
  // Replicated changes: apply to the local store and index. The store write is what
  // survives a restart. A failed write is counted (feed_store_failures) and the index is
  // updated anyway, so selection stays current; the in-process feed does not redeliver,
  // so that change is missing from this region's store until the device changes again.
  std::vector<Device> upserts;
  for (const auto& u : updates) {
    if (u.device) {
      upserts.push_back(*u.device);
    } else if (!store_.Remove(u.device_id)) {
      feed_store_failures_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (!upserts.empty() && !store_.UpsertMany(upserts)) {
    feed_store_failures_.fetch_add(upserts.size(), std::memory_order_relaxed);
  }
  std::unique_lock lock(mu_);
  for (const auto& u : updates) {
    if (u.device) {
      index_.Upsert(*u.device);
    } else {
      index_.Remove(u.device_id);
    }
  }
}

size_t Registry::Select(
    const domain::device::SelectionQuery& q, size_t batch_size,
    const std::function<void(std::span<const domain::device::DeviceRef>)>& emit) const {
  std::shared_lock lock(mu_);
  return index_.Select(q, batch_size, emit);
}

void Registry::ForEach(const std::function<void(const Device&)>& fn) const {
  std::shared_lock lock(mu_);
  index_.ForEach(fn);
}

size_t Registry::size() const {
  std::shared_lock lock(mu_);
  return index_.size();
}

}  // namespace fanout::app
