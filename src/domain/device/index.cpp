#include "domain/device/index.hpp"

#include <algorithm>

namespace fanout::domain::device {

namespace {
constexpr size_t kPrefixLens[] = {2, 3, 5, 9, 12};

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}
}  // namespace

std::string_view RegionPrefix(std::string_view key) {
  if (key.size() != 12) return key;
  for (size_t len : {2, 3, 5, 9}) {
    if (AllZero(key.substr(len))) return key.substr(0, len);
  }
  return key;
}

bool DeviceMatches(const Device& d, uint32_t shard_of_device, const SelectionQuery& q) {
  if (d.platform != q.platform || shard_of_device != q.shard) return false;
  static const std::map<std::string, int> kNoDefaults;
  if (!AcceptsLevel(d, q.provider, q.level, q.default_levels ? *q.default_levels : kNoDefaults)) {
    return false;
  }
  if (q.flow == Flow::kAll) return d.mylocation;
  if (d.mylocation || q.municipalities == nullptr) return false;
  for (const std::string& r : d.regions) {
    std::string_view prefix = RegionPrefix(r);
    // municipalities is sorted: the first key >= prefix tells whether one starts with it.
    auto it = std::lower_bound(q.municipalities->begin(), q.municipalities->end(), prefix,
                               [](const std::string& a, std::string_view b) { return a < b; });
    if (it != q.municipalities->end() && std::string_view(*it).substr(0, prefix.size()) == prefix) {
      return true;
    }
  }
  return false;
}

DeviceIndex::DeviceIndex(uint32_t shards)
    : shards_(shards == 0 ? 1 : shards), mylocation_(kPlatformCount * shards_) {}

void DeviceIndex::Unlink(uint32_t slot) {
  Slot& s = slots_[slot];
  auto erase = [slot](std::vector<uint32_t>& v) {
    if (auto it = std::find(v.begin(), v.end(), slot); it != v.end()) v.erase(it);
  };
  if (s.device.mylocation) {
    erase(mylocation_[static_cast<size_t>(s.device.platform) * shards_ + s.shard]);
  } else {
    for (const std::string& r : s.device.regions) {
      auto it = by_prefix_.find(std::string(RegionPrefix(r)));
      if (it == by_prefix_.end()) continue;
      erase(it->second);
      if (it->second.empty()) by_prefix_.erase(it);
    }
  }
}

void DeviceIndex::Upsert(Device d) {
  uint32_t slot;
  if (auto it = by_id_.find(d.id); it != by_id_.end()) {
    slot = it->second;
    Unlink(slot);
  } else {
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    by_id_.emplace(d.id, slot);
  }
  Slot& s = slots_[slot];
  s.shard = ShardOf(d.id, shards_);
  s.used = true;
  s.device = std::move(d);
  if (s.device.mylocation) {
    mylocation_[static_cast<size_t>(s.device.platform) * shards_ + s.shard].push_back(slot);
  } else {
    // A device listing both a Kreis and one of its municipalities is posted twice; the
    // selection deduplicates.
    for (const std::string& r : s.device.regions) {
      auto& posting = by_prefix_[std::string(RegionPrefix(r))];
      if (posting.empty() || posting.back() != slot) posting.push_back(slot);
    }
  }
}

bool DeviceIndex::Remove(std::string_view id) {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return false;
  uint32_t slot = it->second;
  Unlink(slot);
  slots_[slot] = Slot{};
  free_.push_back(slot);
  by_id_.erase(it);
  return true;
}

const Device* DeviceIndex::Find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &slots_[it->second].device;
}

bool DeviceIndex::Matches(const Slot& s, const SelectionQuery& q) const {
  static const std::map<std::string, int> kNoDefaults;
  return s.used && s.device.platform == q.platform && s.shard == q.shard &&
         s.device.mylocation == (q.flow == Flow::kAll) &&
         AcceptsLevel(s.device, q.provider, q.level,
                      q.default_levels ? *q.default_levels : kNoDefaults);
}

size_t DeviceIndex::Select(const SelectionQuery& q, size_t batch_size,
                           const std::function<void(std::span<const Device* const>)>& emit) const {
  if (batch_size == 0) batch_size = 1;
  std::vector<uint32_t> candidates;
  if (q.flow == Flow::kAll) {
    candidates = mylocation_[static_cast<size_t>(q.platform) * shards_ + (q.shard % shards_)];
  } else if (q.municipalities != nullptr) {
    // Walk every ancestor key of every affected municipality: a subscription at Land,
    // Regierungsbezirk, Kreis or Gemeindeverband level matches all municipalities inside.
    std::string last[5];
    for (const std::string& m : *q.municipalities) {
      for (size_t i = 0; i < 5; ++i) {
        size_t len = kPrefixLens[i];
        if (m.size() < len) continue;
        std::string_view p(m.data(), len);
        if (last[i] == p) continue;  // sorted input: skip repeated ancestors
        last[i].assign(p);
        if (auto it = by_prefix_.find(last[i]); it != by_prefix_.end()) {
          candidates.insert(candidates.end(), it->second.begin(), it->second.end());
        }
      }
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }
  std::vector<const Device*> batch;
  batch.reserve(std::min(batch_size, candidates.size()));
  size_t emitted = 0;
  for (uint32_t slot : candidates) {
    const Slot& s = slots_[slot];
    if (!Matches(s, q)) continue;
    batch.push_back(&s.device);
    if (batch.size() == batch_size) {
      emit(batch);
      emitted += batch.size();
      batch.clear();
    }
  }
  if (!batch.empty()) {
    emit(batch);
    emitted += batch.size();
  }
  return emitted;
}

void DeviceIndex::ForEach(const std::function<void(const Device&)>& fn) const {
  for (const Slot& s : slots_) {
    if (s.used) fn(s.device);
  }
}

}  // namespace fanout::domain::device
