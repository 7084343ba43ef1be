#pragma once
// Fakes for the ports and a manual clock. Thread-safe where the real adapters are.
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "domain/geo/catalog.hpp"
#include "domain/geo/geometry.hpp"
#include "ports/alert_decoder.hpp"
#include "ports/clock.hpp"
#include "ports/push_gateway.hpp"

namespace fanout::testing {

/// A geometry index over axis-aligned boxes, one per municipality index: an area hits the
/// boxes its polygons' bounding boxes or its points overlap. Enough to prove that shapes
/// reach the index; the real intersection is tested in adapters/geos.
/// Four municipalities whose keys the app tests know by heart: Münster (a kreisfreie Stadt, the
/// only NRW entry), München, Fürstenfeldbruck (Kreis 09179) and Augsburg (Oberbayern and
/// Schwaben), with their label points.
inline domain::geo::GeoCatalog SmallCatalog() {
  std::vector<domain::geo::Municipality> m{
      {"055150000000", "05515000", "Münster", 51.96, 7.62},
      {"091620000000", "09162000", "München", 48.14, 11.58},
      {"091790113113", "09179113", "Fürstenfeldbruck", 48.18, 11.25},
      {"097610000000", "09761000", "Augsburg", 48.37, 10.89},
  };
  return domain::geo::GeoCatalog(std::move(m), {});
}

class FakeGeometryIndex final : public domain::geo::GeometryIndex {
 public:
  struct Box {
    double lat_min, lon_min, lat_max, lon_max;
  };
  explicit FakeGeometryIndex(std::vector<Box> boxes) : boxes_(std::move(boxes)) {}
  std::optional<uint32_t> Locate(double lat, double lon) const override {
    for (uint32_t i = 0; i < boxes_.size(); ++i) {
      const Box& b = boxes_[i];
      if (lat >= b.lat_min && lat <= b.lat_max && lon >= b.lon_min && lon <= b.lon_max) return i;
    }
    return std::nullopt;
  }
  domain::geo::GeometryHit Intersect(const domain::geo::AreaShape& area) const override {
    ++calls_;
    domain::geo::GeometryHit hit;
    for (const auto& ring : area.polygons) {
      Box r{90, 360, -90, -360};
      for (const auto& p : ring) {
        r = Box{std::min(r.lat_min, p.lat), std::min(r.lon_min, p.lon), std::max(r.lat_max, p.lat),
                std::max(r.lon_max, p.lon)};
      }
      for (uint32_t i = 0; i < boxes_.size(); ++i) {
        const Box& b = boxes_[i];
        if (r.lat_min <= b.lat_max && b.lat_min <= r.lat_max && r.lon_min <= b.lon_max &&
            b.lon_min <= r.lon_max) {
          hit.municipalities.push_back(i);
        }
      }
    }
    for (const auto& p : area.points) {
      if (auto i = Locate(p.lat, p.lon)) hit.municipalities.push_back(*i);
    }
    std::sort(hit.municipalities.begin(), hit.municipalities.end());
    hit.municipalities.erase(std::unique(hit.municipalities.begin(), hit.municipalities.end()),
                             hit.municipalities.end());
    return hit;
  }
  int calls() const { return calls_.load(); }

 private:
  std::vector<Box> boxes_;
  mutable std::atomic<int> calls_{0};
};

/// Time moves only when told (or when code "sleeps": SleepMs advances it).
class ManualClock final : public ports::Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  int64_t MonoNs() const override { return now_ms_.load() * 1'000'000; }
  void SleepMs(int64_t ms) override {
    now_ms_ += ms;
    slept_ms_ += ms;
  }
  void Advance(int64_t ms) { now_ms_ += ms; }
  int64_t slept_ms() const { return slept_ms_.load(); }

 private:
  std::atomic<int64_t> now_ms_;
  std::atomic<int64_t> slept_ms_{0};
};

/// Records every request; the outcome per token comes from a script (default: accepted).
class FakePushGateway final : public ports::PushGateway {
 public:
  explicit FakePushGateway(ports::Platform p) : platform_(p) {}
  ports::Platform platform() const override { return platform_; }

  /// Outcomes returned for `token`, one per attempt; the last one repeats.
  void Script(const std::string& token, std::vector<ports::PushResult> results) {
    std::lock_guard lock(mu_);
    script_[token] = std::move(results);
  }

  std::vector<ports::PushResult> SendBatch(std::span<const ports::PushRequest> batch) override {
    std::lock_guard lock(mu_);
    std::vector<ports::PushResult> out;
    for (const auto& r : batch) {
      requests_.push_back(r);
      size_t n = attempts_[r.token]++;
      auto it = script_.find(r.token);
      ports::PushResult res{ports::PushOutcome::kAccepted, 200, "", std::nullopt};
      if (it != script_.end() && !it->second.empty()) {
        res = it->second[std::min(n, it->second.size() - 1)];
      }
      if (res.outcome == ports::PushOutcome::kAccepted) accepted_.push_back(r);
      out.push_back(res);
    }
    return out;
  }

  std::vector<ports::PushRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<ports::PushRequest> accepted() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }

 private:
  ports::Platform platform_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<ports::PushResult>> script_;
  std::map<std::string, size_t> attempts_;
  std::vector<ports::PushRequest> requests_;
  std::vector<ports::PushRequest> accepted_;
};

/// Returns a fixed CheckResult per body (default: unusable "UNKNOWN_BODY").
class FakeAlertDecoder final : public ports::AlertDecoder {
 public:
  void Add(std::string body, domain::cap::CheckResult r) {
    results_[std::move(body)] = std::move(r);
  }
  domain::cap::CheckResult Decode(std::string_view body) const override {
    auto it = results_.find(std::string(body));
    if (it != results_.end()) return it->second;
    domain::cap::CheckResult r;
    r.errors.push_back({"UNKNOWN_BODY", "the fake decoder does not know this body"});
    return r;
  }

 private:
  std::map<std::string, domain::cap::CheckResult> results_;
};

}  // namespace fanout::testing

#include "ports/device_store.hpp"

namespace fanout::testing {

/// DeviceStore in a map; `fail_writes` makes every write fail with kRetryLater.
class FakeDeviceStore final : public ports::DeviceStore {
 public:
  std::atomic<bool> fail_writes{false};

  Result<std::vector<ports::Applied>, Error> Apply(std::span<const ports::DeviceUpdate> changes,
                                                   uint64_t feed_position) override {
    if (fail_writes) return Fail(Error{Error::Kind::kRetryLater, "store down"});
    std::lock_guard lock(mu_);
    std::vector<ports::Applied> out;
    for (const auto& u : changes) {
      bool present = devices_.count(u.device_id) > 0;
      auto held = versions_.find(u.device_id);  // the row's or the tombstone's version
      if (held != versions_.end() &&
          !ports::Supersedes(u.version, u.origin_region, held->second.first, held->second.second)) {
        out.push_back(ports::Applied::kStale);
        continue;
      }
      versions_[u.device_id] = {u.version, u.origin_region};
      max_version_ = std::max(max_version_, u.version);
      if (u.device) {
        devices_.insert_or_assign(u.device_id, *u.device);
        out.push_back(present ? ports::Applied::kUpdated : ports::Applied::kCreated);
      } else {
        devices_.erase(u.device_id);  // versions_ keeps the tombstone
        out.push_back(present ? ports::Applied::kRemoved : ports::Applied::kAbsent);
      }
    }
    if (feed_position != 0) feed_position_ = feed_position;
    return out;
  }
  Result<ports::DeviceSyncState, Error> SyncState() override {
    std::lock_guard lock(mu_);
    return ports::DeviceSyncState{feed_position_, max_version_};
  }
  Result<std::optional<domain::device::Device>, Error> Get(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = devices_.find(id);
    if (it == devices_.end()) return std::optional<domain::device::Device>{};
    return std::optional<domain::device::Device>{it->second};
  }
  Result<size_t, Error> LoadAll(const std::function<void(domain::device::Device&&)>& fn) override {
    std::lock_guard lock(mu_);
    for (auto [_, d] : devices_) fn(std::move(d));
    return devices_.size();
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return devices_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, domain::device::Device> devices_;
  std::map<std::string, std::pair<uint64_t, std::string>> versions_;  // rows and tombstones
  uint64_t feed_position_ = 0, max_version_ = 0;
};

}  // namespace fanout::testing
