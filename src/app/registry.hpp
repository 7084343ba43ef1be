#pragma once
// The device registry of one region (DESIGN §4): validates registrations, writes the
// durable store, keeps the in-memory selection index current, and replicates every change
// to the other regions through the DeviceFeed. Thread-safe: selections share a read lock,
// updates take the write lock briefly.
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "app/settings.hpp"
#include "domain/device/index.hpp"
#include "ports/device_feed.hpp"
#include "ports/device_store.hpp"

namespace fanout::app {

class Registry {
 public:
  /// `known_key` tells whether a region key exists in the geo data (nullptr: form only).
  Registry(std::string region, ports::DeviceStore& store, ports::DeviceFeed& feed,
           ProviderSettings providers, uint32_t shards,
           std::function<bool(const std::string&)> known_key = nullptr);

  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Rebuilds the index from the store (a snapshot) and listens to the feed from the position
  /// recorded with it, so no update is missed. Returns devices loaded.
  Result<size_t, Error> Start();
  /// Whether Start() loaded the index (a process without the queuer and registry roles does
  /// not: it writes through the store and the feed only).
  bool indexed() const { return listening_.has_value(); }

  enum class PutResult { kCreated, kUpdated };
  /// Validates, stores, indexes and replicates. Errors: the validation issues (4xx) or a
  /// single STORE_UNAVAILABLE issue (5xx).
  Result<PutResult, std::vector<domain::cap::Issue>> Put(domain::device::Device d);
  /// Removes everywhere; `reason` is recorded on the feed ("api", "token_invalid").
  Result<bool, Error> Remove(const std::string& device_id, const std::string& reason);
  std::optional<domain::device::Device> Get(const std::string& device_id) const;
  /// Bulk import (already validated by the caller or trusted): one store transaction,
  /// one feed group.
  Result<void, Error> Import(std::vector<domain::device::Device> devices);

  /// Runs the selection under the read lock.
  /// The emitted views are valid during the callback only.
  size_t Select(const domain::device::SelectionQuery& q, size_t batch_size,
                const std::function<void(std::span<const domain::device::DeviceRef>)>& emit) const;
  /// Calls fn for every device under the read lock (devices are rebuilt from the index's
  /// compact form: slow, for checks and exports, not for the push path).
  void ForEach(const std::function<void(const domain::device::Device&)>& fn) const;
  size_t size() const;
  /// The index's own byte accounting (benchmarks, `fanout demo`).
  domain::device::IndexMemory IndexMemoryUse() const;
  /// Replicated updates this region could not write to its own store (see OnFeed).
  uint64_t feed_store_failures() const { return feed_store_failures_.load(); }
  const ProviderSettings& providers() const { return providers_; }

 private:
  void OnFeed(std::span<const ports::DeviceUpdate> updates);
  /// A version greater than every one seen or issued (hybrid clock: microseconds since the
  /// epoch unless the feed brought a greater one). Call with write_mu_ held.
  uint64_t NextVersion();
  /// Applies stored changes to the index (mu_ taken here).
  void IndexApply(std::span<const ports::DeviceUpdate> changes,
                  const std::vector<ports::Applied>* outcomes);

  std::string region_;
  ports::DeviceStore& store_;
  ports::DeviceFeed& feed_;
  ProviderSettings providers_;
  std::function<bool(const std::string&)> known_key_;
  // Orders writes: a change reaches the store and then the index before the next one, so
  // the index never holds an older version than the store. Not held while publishing.
  std::mutex write_mu_;
  uint64_t clock_ = 0;                 // greatest version seen or issued (write_mu_)
  std::optional<uint64_t> listening_;  // feed handle once started
  // This instance's tag on the updates it publishes (ports::DeviceUpdate::origin_instance).
  const uint64_t instance_ = RandomInstance();
  static uint64_t RandomInstance();
  mutable std::shared_mutex mu_;
  domain::device::DeviceIndex index_;
  std::atomic<uint64_t> feed_store_failures_{0};
};

}  // namespace fanout::app
