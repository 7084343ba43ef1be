#include "app/registry.hpp"

#include <algorithm>
#include <mutex>
#include <random>
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

uint64_t Registry::RandomInstance() {
  std::random_device rd;
  uint64_t v = 0;
  while (v == 0) v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return v;
}

Registry::~Registry() {
  if (listening_) feed_.Unlisten(*listening_);
}

Result<size_t, Error> Registry::Start() {
  auto sync = store_.SyncState();
  if (!sync) return Fail(sync.error());
  size_t n = 0;
  {
    std::lock_guard writing(write_mu_);
    clock_ = std::max(clock_, sync->max_version);
    std::unique_lock lock(mu_);
    // Bulk path: bitmap inserts are buffered and applied in sorted runs at the end.
    index_.BeginBulk();
    auto loaded = store_.LoadAll([&](Device&& d) { index_.Upsert(d); });
    index_.EndBulk();
    if (!loaded) return Fail(loaded.error());
    n = *loaded;
  }
  // From the position the snapshot was taken at: what was published since is replayed
  // (changes already in the store are stale by version and skipped).
  auto handle = feed_.Listen(sync->feed_position,
                             [this](std::span<const ports::DeviceUpdate> u) { OnFeed(u); });
  if (!handle) {
    return Fail(Error{handle.error().kind, "region " + region_ + ": " + handle.error().message});
  }
  listening_ = *handle;
  return n;
}

uint64_t Registry::NextVersion() {
  clock_ = std::max(ports::WallClockVersion(), clock_ + 1);
  return clock_;
}

void Registry::IndexApply(std::span<const ports::DeviceUpdate> changes,
                          const std::vector<ports::Applied>* outcomes) {
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < changes.size(); ++i) {
    if (outcomes && (*outcomes)[i] == ports::Applied::kStale) continue;
    const auto& u = changes[i];
    if (u.device) {
      index_.Upsert(*u.device);
    } else {
      index_.Remove(u.device_id);
    }
  }
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
  ports::DeviceUpdate u{d.id, std::move(d), region_, "api"};
  u.origin_instance = instance_;
  ports::Applied outcome;
  {
    std::lock_guard writing(write_mu_);
    u.version = NextVersion();
    auto stored = store_.Apply(std::span<const ports::DeviceUpdate>(&u, 1), 0);
    if (!stored) {
      return Fail(std::vector<domain::cap::Issue>{{"STORE_UNAVAILABLE", stored.error().message}});
    }
    outcome = stored->at(0);
    IndexApply(std::span<const ports::DeviceUpdate>(&u, 1), &*stored);
  }
  feed_.Publish(std::span<const ports::DeviceUpdate>(&u, 1));
  return outcome == ports::Applied::kCreated ? PutResult::kCreated : PutResult::kUpdated;
}

Result<bool, Error> Registry::Remove(const std::string& device_id, const std::string& reason) {
  ports::DeviceUpdate u{device_id, std::nullopt, region_, reason};
  u.origin_instance = instance_;
  bool removed;
  {
    std::lock_guard writing(write_mu_);
    u.version = NextVersion();
    auto stored = store_.Apply(std::span<const ports::DeviceUpdate>(&u, 1), 0);
    if (!stored) return Fail(stored.error());
    bool in_index;
    {
      std::unique_lock lock(mu_);
      in_index = index_.Remove(device_id);
    }
    removed = stored->at(0) == ports::Applied::kRemoved || in_index;
  }
  feed_.Publish(std::span<const ports::DeviceUpdate>(&u, 1));
  return removed;
}

std::optional<Device> Registry::Get(const std::string& device_id) const {
  std::shared_lock lock(mu_);
  return index_.Find(device_id);
}

Result<void, Error> Registry::Import(std::vector<Device> devices) {
  std::vector<ports::DeviceUpdate> updates;
  updates.reserve(devices.size());
  {
    std::lock_guard writing(write_mu_);
    for (Device& d : devices) {
      std::string id = d.id;
      updates.push_back({std::move(id), std::move(d), region_, "import", NextVersion()});
      updates.back().origin_instance = instance_;
    }
    auto stored = store_.Apply(updates, 0);
    if (!stored) return Fail(stored.error());
    IndexApply(updates, &*stored);
  }
  feed_.Publish(updates);
  return {};
}

void Registry::OnFeed(std::span<const ports::DeviceUpdate> updates) {
  // Replicated changes (this region's own come back too and are skipped): applied to the
  // store and the index when newer than what this region holds; the last position is
  // recorded with them (the restart point). A failed store write is counted
  // (feed_store_failures) and the index is updated anyway, so selection stays current; the
  // in-process feed does not redeliver, so that change is missing from this region's store
  // until the device changes again.
  std::vector<ports::DeviceUpdate> remote;
  std::vector<std::string> sibling;  // changed by another process of this region
  for (const auto& u : updates) {
    if (u.origin_region != region_) {
      remote.push_back(u);
    } else if (u.origin_instance != instance_) {
      sibling.push_back(u.device_id);
    }
  }
  // The region's store (shared by its processes) already holds the change, or a newer one:
  // the index takes the device as stored now, whatever order the feed replays things in.
  for (const std::string& id : sibling) {
    auto stored = store_.Get(id);
    if (!stored) {
      feed_store_failures_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    std::unique_lock lock(mu_);
    if (*stored) {
      index_.Upsert(**stored);
    } else {
      index_.Remove(id);
    }
  }
  if (remote.empty()) return;
  std::lock_guard writing(write_mu_);
  for (const auto& u : remote) clock_ = std::max(clock_, u.version);
  auto stored = store_.Apply(remote, remote.back().position);
  if (!stored) {
    feed_store_failures_.fetch_add(remote.size(), std::memory_order_relaxed);
    IndexApply(remote, nullptr);
    return;
  }
  IndexApply(remote, &*stored);
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

domain::device::IndexMemory Registry::IndexMemoryUse() const {
  std::shared_lock lock(mu_);
  return index_.Memory();
}

size_t Registry::size() const {
  std::shared_lock lock(mu_);
  return index_.size();
}

}  // namespace fanout::app
