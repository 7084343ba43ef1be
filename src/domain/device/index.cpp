#include "domain/device/index.hpp"

#include <roaring/roaring.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

// Layout (docs/adr/0100-device-index-roaring.md):
// - every device owns a dense 32-bit slot; a 20-byte record per slot points into a chunked
//   byte arena holding "<id><token>", packs the per-provider thresholds into 4 bits each
//   (checked there during a selection, which reads the record anyway) and refers to its
//   region keys (inline when it has one, else into a pool of key ids);
// - an open-addressing table maps id -> slot (4 bytes per entry, ids compared in the arena);
// - roaring bitmaps of slots: one per region-key prefix (non-mylocation devices), one per
//   Land (the union of that Land's prefix bitmaps), one per (platform, shard) unit, one for
//   mylocation;
// - a selection intersects those bitmaps; the union of an alert area's prefix bitmaps is
//   computed once per area and shared by its units (a small cache, kept exact under updates
//   by re-checking the slots changed since it was built); a Land whose every subscribed
//   prefix lies in the area contributes its one Land bitmap instead of thousands;
// - a bulk load into an empty index orders the slots by unit, then mylocation devices first
//   (flow `all` of a unit is one contiguous run of records, ids and tokens), then by the
//   first region key (an area's devices are neighbours): what every alert reads is laid out
//   once, in the order the selections read it.
namespace fanout::domain::device {

namespace {

constexpr size_t kPrefixLens[] = {2, 3, 5, 9, 12};
constexpr uint32_t kEmpty = UINT32_MAX;
constexpr uint8_t kFreeSlot = 0xFF;
constexpr int kMaxProviders = 8;       // 4 bits each in Rec::levels
constexpr uint32_t kLevelUnset = 0xF;  // code of "no per-device threshold"
constexpr int kLevelCodes = 15;        // codes 0..14 = thresholds -1..13
constexpr size_t kAreaCacheEntries = 8;
constexpr size_t kLandLen = 2;           // a Land is the first two digits of a region key
constexpr uint32_t kPrefetchAhead = 16;  // records ahead of the one being read
constexpr size_t kPrefetchText = 256;    // bytes of "<id><token>" fetched while batching

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

uint32_t LevelCode(int level) { return static_cast<uint32_t>(std::clamp(level, -1, 13) + 1); }
int CodeLevel(uint32_t code) { return static_cast<int>(code) - 1; }

uint64_t HashBytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

// Owning handle of a roaring bitmap.
class Bitmap {
 public:
  Bitmap() : b_(roaring_bitmap_create()) {}
  explicit Bitmap(roaring_bitmap_t* b) : b_(b) {}
  Bitmap(Bitmap&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  Bitmap& operator=(Bitmap&& o) noexcept {
    if (this != &o) {
      Free();
      b_ = std::exchange(o.b_, nullptr);
    }
    return *this;
  }
  ~Bitmap() { Free(); }
  roaring_bitmap_t* get() const { return b_; }
  bool empty() const { return roaring_bitmap_is_empty(b_); }

 private:
  void Free() {
    if (b_ != nullptr) roaring_bitmap_free(b_);
  }
  roaring_bitmap_t* b_;
};

size_t BitmapBytes(const roaring_bitmap_t* b) {
  roaring_statistics_t st;
  roaring_bitmap_statistics(b, &st);
  // Struct + key/pointer/typecode arrays + container structs + their payloads.
  return sizeof(roaring_bitmap_t) + st.n_containers * (2 + 8 + 1 + 16) +
         st.n_bytes_array_containers + st.n_bytes_run_containers + st.n_bytes_bitset_containers;
}

// "<id><token>" byte strings in 16 MiB chunks: no per-device allocation; offsets are 40 bit.
class Arena {
 public:
  static constexpr uint64_t kChunkBits = 24;
  static constexpr uint64_t kChunkSize = uint64_t{1} << kChunkBits;

  uint64_t Append(std::string_view a, std::string_view b) {
    size_t n = a.size() + b.size();
    if (chunks_.empty() || pos_ + n > kChunkSize) {
      chunks_.emplace_back(new char[kChunkSize]);
      pos_ = 0;
    }
    char* p = chunks_.back().get() + pos_;
    std::memcpy(p, a.data(), a.size());
    std::memcpy(p + a.size(), b.data(), b.size());
    uint64_t off = ((chunks_.size() - 1) << kChunkBits) | pos_;
    pos_ += n;
    used_ += n;
    return off;
  }
  const char* At(uint64_t off) const {
    return chunks_[off >> kChunkBits].get() + (off & (kChunkSize - 1));
  }
  size_t used() const { return used_; }

 private:
  std::vector<std::unique_ptr<char[]>> chunks_;
  uint64_t pos_ = 0;
  size_t used_ = 0;
};

struct Rec {
  uint32_t text_lo = 0;  // arena offset, low 32 bits
  uint8_t text_hi = 0;   // arena offset, high 8 bits
  uint8_t id_len = 0;
  uint16_t token_len = 0;
  uint32_t levels = UINT32_MAX;  // kMaxProviders × 4-bit codes; kLevelUnset = none
  uint32_t regions = 0;          // the key id when nregions == 1, else an offset into the pool
  uint16_t nregions = 0;
  uint8_t platform = kFreeSlot;
  uint8_t flags = 0;  // bit 0: mylocation

  bool used() const { return platform != kFreeSlot; }
  bool mylocation() const { return (flags & 1) != 0; }
  uint64_t text() const { return (uint64_t{text_hi} << 32) | text_lo; }
  uint32_t level_code(size_t provider) const { return (levels >> (4 * provider)) & 0xF; }
};
static_assert(sizeof(Rec) == 20, "the per-device record is part of the memory budget");

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using KeyMap = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

struct Area {
  std::vector<std::string> municipalities;
  uint64_t hash = 0;
  Bitmap devices;  // union of the prefix bitmaps of every ancestor of every municipality
};

uint64_t AreaHash(const std::vector<std::string>& munis) {
  uint64_t h = munis.size();
  for (const auto& m : munis) h = h * 0x9E3779B97F4A7C15ull ^ HashBytes(m);
  return h;
}

bool OverlapsArea(std::string_view prefix, const std::vector<std::string>& munis) {
  auto it = std::lower_bound(munis.begin(), munis.end(), prefix,
                             [](const std::string& a, std::string_view b) { return a < b; });
  return it != munis.end() && std::string_view(*it).substr(0, prefix.size()) == prefix;
}

}  // namespace

struct DeviceIndex::Impl {
  explicit Impl(uint32_t s) : shards(s == 0 ? 1 : s) {
    bitmaps.resize(1 + kPlatformCount * shards);  // [0] mylocation, then units
  }

  uint32_t shards;
  std::vector<Rec> recs;
  std::vector<uint32_t> free_slots;
  size_t count = 0;
  Arena arena;
  size_t arena_garbage = 0;
  size_t token_bytes = 0;
  std::vector<uint32_t> pool;  // key ids of devices with 2+ regions
  size_t pool_garbage = 0;

  // id -> slot, linear probing with backward-shift deletion.
  std::vector<uint32_t> table = std::vector<uint32_t>(1024, kEmpty);

  // Region keys as given (raw) and their significant prefixes; one bitmap per prefix.
  std::vector<std::string> keys;
  std::vector<uint32_t> key_prefix;  // key id -> prefix id
  KeyMap key_ids;
  KeyMap prefix_ids;
  std::vector<uint32_t> prefix_bitmap;  // prefix id -> bitmap index
  // Lands: prefix id -> Land id (kEmpty for a prefix no area can name), and per Land its
  // bitmap (= the union of its prefixes' bitmaps, kept by Memberships) and its prefix ids.
  std::vector<uint32_t> prefix_land;
  KeyMap land_ids;
  std::vector<uint32_t> land_bitmap;
  std::vector<std::vector<uint32_t>> land_prefixes;

  std::vector<std::string> providers;
  KeyMap provider_ids;

  std::vector<Bitmap> bitmaps;
  bool bulk = false;
  bool bulk_renumber = false;                  // bulk load into an empty index, nothing flushed yet
  std::vector<std::vector<uint32_t>> pending;  // per bitmap, during bulk loads

  mutable std::mutex cache_mu;
  mutable std::vector<std::shared_ptr<const Area>> cache;  // most recently used last
  Bitmap dirty;  // slots changed since the oldest cached area was built

  // ---- slots and text ----
  std::string_view Id(const Rec& r) const { return {arena.At(r.text()), r.id_len}; }
  std::string_view Token(const Rec& r) const {
    return {arena.At(r.text()) + r.id_len, r.token_len};
  }
  uint32_t UnitBitmap(uint8_t platform, uint32_t shard) const {
    return 1 + static_cast<uint32_t>(platform) * shards + shard;
  }
  const uint32_t* KeysOf(const Rec& r) const {
    return r.nregions == 1 ? &r.regions : pool.data() + r.regions;
  }

  // ---- id table ----
  size_t Home(std::string_view id) const { return HashBytes(id) & (table.size() - 1); }
  // Position of `id` in the table, or of the empty cell where it would go.
  size_t Probe(std::string_view id) const {
    size_t mask = table.size() - 1;
    for (size_t i = Home(id);; i = (i + 1) & mask) {
      if (table[i] == kEmpty || Id(recs[table[i]]) == id) return i;
    }
  }
  void GrowTable() {
    std::vector<uint32_t> old(table.size() * 2, kEmpty);
    old.swap(table);
    size_t mask = table.size() - 1;
    for (uint32_t slot : old) {
      if (slot == kEmpty) continue;
      size_t i = Home(Id(recs[slot]));
      while (table[i] != kEmpty) i = (i + 1) & mask;
      table[i] = slot;
    }
  }
  void EraseAt(size_t hole) {
    size_t mask = table.size() - 1;
    table[hole] = kEmpty;
    for (size_t i = (hole + 1) & mask; table[i] != kEmpty; i = (i + 1) & mask) {
      size_t home = Home(Id(recs[table[i]]));
      // Move the entry back when the hole lies cyclically between its home and it.
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        table[hole] = table[i];
        table[i] = kEmpty;
        hole = i;
      }
    }
  }
  uint32_t FindSlot(std::string_view id) const {
    size_t i = Probe(id);
    return table[i];
  }

  // ---- interning ----
  uint32_t NewBitmap() {
    bitmaps.emplace_back();
    if (bulk) pending.emplace_back();
    return static_cast<uint32_t>(bitmaps.size() - 1);
  }
  // The Land of a prefix that AreaFor can look up (2, 3, 5, 9 or 12 characters), else kEmpty.
  uint32_t LandId(std::string_view prefix) {
    if (std::find(std::begin(kPrefixLens), std::end(kPrefixLens), prefix.size()) ==
        std::end(kPrefixLens)) {
      return kEmpty;
    }
    std::string_view land = prefix.substr(0, kLandLen);
    if (auto it = land_ids.find(land); it != land_ids.end()) return it->second;
    auto lid = static_cast<uint32_t>(land_bitmap.size());
    land_bitmap.push_back(NewBitmap());
    land_prefixes.emplace_back();
    land_ids.emplace(std::string(land), lid);
    return lid;
  }
  uint32_t KeyId(const std::string& key) {
    if (auto it = key_ids.find(key); it != key_ids.end()) return it->second;
    std::string_view prefix = RegionPrefix(key);
    uint32_t pid;
    if (auto it = prefix_ids.find(prefix); it != prefix_ids.end()) {
      pid = it->second;
    } else {
      pid = static_cast<uint32_t>(prefix_bitmap.size());
      prefix_bitmap.push_back(NewBitmap());
      prefix_ids.emplace(std::string(prefix), pid);
      prefix_land.push_back(LandId(prefix));
      if (prefix_land.back() != kEmpty) land_prefixes[prefix_land.back()].push_back(pid);
    }
    uint32_t id = static_cast<uint32_t>(keys.size());
    keys.push_back(key);
    key_prefix.push_back(pid);
    key_ids.emplace(key, id);
    return id;
  }
  size_t ProviderId(const std::string& name) {
    if (auto it = provider_ids.find(name); it != provider_ids.end()) return it->second;
    if (providers.size() == kMaxProviders) {
      throw std::invalid_argument("the device index supports at most 8 providers");
    }
    providers.push_back(name);
    provider_ids.emplace(name, static_cast<uint32_t>(providers.size() - 1));
    return providers.size() - 1;
  }

  // ---- bitmap membership ----
  void Add(uint32_t bm, uint32_t slot) {
    if (bulk) {
      pending[bm].push_back(slot);
    } else {
      roaring_bitmap_add(bitmaps[bm].get(), slot);
    }
  }
  void Del(uint32_t bm, uint32_t slot) { roaring_bitmap_remove(bitmaps[bm].get(), slot); }
  template <class Op>
  void Memberships(uint32_t slot, const Rec& r, Op op) {
    op(UnitBitmap(r.platform, ShardOf(Id(r), shards)), slot);
    if (r.mylocation()) {
      op(0, slot);
    } else {
      const uint32_t* k = KeysOf(r);
      for (uint16_t i = 0; i < r.nregions; ++i) {
        uint32_t pid = key_prefix[k[i]];
        op(prefix_bitmap[pid], slot);
        // The Land bitmap once per Land among the last 8 keys; a repeat further back is
        // harmless (add and remove are idempotent), the check only saves work.
        uint32_t lid = prefix_land[pid];
        bool seen = lid == kEmpty;
        for (uint16_t j = i > 8 ? i - 8 : 0; j < i && !seen; ++j) {
          seen = prefix_land[key_prefix[k[j]]] == lid;
        }
        if (!seen) op(land_bitmap[lid], slot);
      }
    }
  }
  void Link(uint32_t slot) {
    Memberships(slot, recs[slot], [this](uint32_t bm, uint32_t s) { Add(bm, s); });
  }
  void Unlink(uint32_t slot) {
    Memberships(slot, recs[slot], [this](uint32_t bm, uint32_t s) { Del(bm, s); });
  }
  void FlushBulk() {
    bulk_renumber = false;  // bitmaps now hold slots: renumbering would have to rewrite them
    for (size_t bm = 0; bm < pending.size(); ++bm) {
      auto& v = pending[bm];
      if (v.empty()) continue;
      if (!std::is_sorted(v.begin(), v.end())) std::sort(v.begin(), v.end());
      roaring_bitmap_add_many(bitmaps[bm].get(), v.size(), v.data());
      std::vector<uint32_t>().swap(v);
    }
  }

  // Orders the slots by unit (platform, shard), then mylocation devices first, then by the
  // first region key, so that a unit's devices, records and ids/tokens are contiguous, its
  // flow `all` is one run and an area's devices are neighbours: a selection reads memory
  // sequentially. Only while every bitmap insert is still pending (a bulk load into an empty
  // index). The order is an optimisation only: selections read the bitmaps, which are exact
  // whatever the slot order, and later upserts take free or new slots.
  void Renumber(DeviceIndex& self) {
    size_t units = static_cast<size_t>(kPlatformCount) * shards;
    std::vector<uint32_t> key_rank(keys.size());
    {
      std::vector<uint32_t> by_name(keys.size());
      for (uint32_t k = 0; k < by_name.size(); ++k) by_name[k] = k;
      std::sort(by_name.begin(), by_name.end(),
                [this](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
      for (uint32_t i = 0; i < by_name.size(); ++i) key_rank[by_name[i]] = i;
    }
    std::vector<uint32_t> start(units + 1, 0), unit_of(recs.size(), 0);
    for (size_t s = 0; s < recs.size(); ++s) {
      if (!recs[s].used()) continue;
      unit_of[s] = UnitBitmap(recs[s].platform, ShardOf(Id(recs[s]), shards)) - 1;
      ++start[unit_of[s] + 1];
    }
    for (size_t u = 0; u < units; ++u) start[u + 1] += start[u];
    // Per unit: (group << 32 | old slot), group 0 = mylocation, else 1 + rank of the first key.
    std::vector<uint64_t> order(count);
    {
      std::vector<uint32_t> fill(start.begin(), start.end() - 1);
      for (size_t s = 0; s < recs.size(); ++s) {
        const Rec& r = recs[s];
        if (!r.used()) continue;
        uint64_t group = r.mylocation()   ? 0
                         : r.nregions > 0 ? 1 + uint64_t{key_rank[KeysOf(r)[0]]}
                                          : 1 + uint64_t{keys.size()};
        order[fill[unit_of[s]]++] = group << 32 | s;
      }
    }
    std::vector<uint32_t>().swap(unit_of);
    std::vector<uint32_t> new_slot(recs.size(), kEmpty);
    std::vector<Rec> ordered(count);
    for (size_t u = 0; u < units; ++u) {
      auto first = order.begin() + start[u], last = order.begin() + start[u + 1];
      std::sort(first, last);
      for (auto it = first; it != last; ++it) {
        auto s = static_cast<uint32_t>(*it);
        new_slot[s] = static_cast<uint32_t>(it - order.begin());
        ordered[new_slot[s]] = recs[s];
      }
    }
    std::vector<uint64_t>().swap(order);
    recs.swap(ordered);
    std::vector<Rec>().swap(ordered);
    free_slots.clear();
    self.Compact();  // ids, tokens and region lists in the new slot order
    std::fill(table.begin(), table.end(), kEmpty);
    size_t mask = table.size() - 1;
    for (uint32_t s = 0; s < recs.size(); ++s) {
      size_t i = Home(Id(recs[s]));
      while (table[i] != kEmpty) i = (i + 1) & mask;
      table[i] = s;
    }
    for (auto& v : pending) {
      for (uint32_t& x : v) x = new_slot[x];
    }
  }

  void Touch(uint32_t slot) {
    // Only cached areas need to know which slots changed; without any, nothing to track.
    std::lock_guard lock(cache_mu);
    if (cache.empty()) return;
    roaring_bitmap_add(dirty.get(), slot);
    if (roaring_bitmap_get_cardinality(dirty.get()) > std::max<size_t>(4096, count / 32)) {
      cache.clear();
      roaring_bitmap_clear(dirty.get());
    }
  }

  void MaybeCompact(DeviceIndex& self) {
    constexpr size_t kMinGarbage = 64u << 20;
    if ((arena_garbage > kMinGarbage && arena_garbage > arena.used() - arena_garbage) ||
        (pool_garbage * 4 > kMinGarbage && pool_garbage * 2 > pool.size())) {
      self.Compact();
    }
  }

  Device Rebuild(const Rec& r) const {
    Device d;
    d.id = std::string(Id(r));
    d.platform = static_cast<Platform>(r.platform);
    d.token = std::string(Token(r));
    d.mylocation = r.mylocation();
    for (size_t p = 0; p < providers.size(); ++p) {
      uint32_t code = r.level_code(p);
      if (code != kLevelUnset) d.levels[providers[p]] = CodeLevel(code);
    }
    const uint32_t* k = KeysOf(r);
    for (uint16_t i = 0; i < r.nregions; ++i) d.regions.push_back(keys[k[i]]);
    return d;
  }

  std::shared_ptr<const Area> AreaFor(const std::vector<std::string>& munis) const {
    uint64_t h = AreaHash(munis);
    {
      std::lock_guard lock(cache_mu);
      for (size_t i = 0; i < cache.size(); ++i) {
        if (cache[i]->hash == h && cache[i]->municipalities == munis) {
          auto hit = cache[i];
          cache.erase(cache.begin() + static_cast<ptrdiff_t>(i));
          cache.push_back(hit);
          return hit;
        }
      }
    }
    // Walk every ancestor key of every affected municipality: a subscription at Land,
    // Regierungsbezirk, Kreis or Gemeindeverband level matches all municipalities inside.
    std::vector<uint32_t> in_area;  // prefix ids
    std::vector<char> marked(prefix_bitmap.size(), 0);
    std::string_view last[5];
    for (const std::string& m : munis) {
      for (size_t i = 0; i < 5; ++i) {
        size_t len = kPrefixLens[i];
        if (m.size() < len) continue;
        std::string_view p(m.data(), len);
        if (last[i] == p) continue;  // sorted input: skip repeated ancestors
        last[i] = p;
        if (auto it = prefix_ids.find(p); it != prefix_ids.end() && !marked[it->second]) {
          marked[it->second] = 1;
          in_area.push_back(it->second);
        }
      }
    }
    // A Land all of whose prefixes are in the area: its Land bitmap is exactly the union of
    // their bitmaps (one OR instead of up to thousands, e.g. a whole-Land alert).
    enum : char { kUnchecked, kPartial, kWhole };
    std::vector<char> land_state(land_bitmap.size(), kUnchecked);
    std::vector<const roaring_bitmap_t*> parts;
    auto add = [&parts](const Bitmap& b) {
      if (!b.empty()) parts.push_back(b.get());
    };
    for (uint32_t pid : in_area) {
      uint32_t lid = prefix_land[pid];
      if (lid != kEmpty && land_state[lid] == kUnchecked) {
        const auto& all = land_prefixes[lid];
        bool whole = std::all_of(all.begin(), all.end(), [&](uint32_t p) { return marked[p]; });
        land_state[lid] = whole ? kWhole : kPartial;
        if (whole) add(bitmaps[land_bitmap[lid]]);
      }
      if (lid == kEmpty || land_state[lid] == kPartial) add(bitmaps[prefix_bitmap[pid]]);
    }
    auto area = std::make_shared<Area>();
    area->municipalities = munis;
    area->hash = h;
    area->devices =
        parts.empty() ? Bitmap() : Bitmap(roaring_bitmap_or_many(parts.size(), parts.data()));
    std::lock_guard lock(cache_mu);
    cache.push_back(area);
    if (cache.size() > kAreaCacheEntries) cache.erase(cache.begin());
    return area;
  }

  // A changed slot found through the area union (or the dirty set): check it directly.
  bool StillInArea(const Rec& r, const Area& area) const {
    if (!r.used() || r.mylocation()) return false;
    const uint32_t* k = KeysOf(r);
    for (uint16_t i = 0; i < r.nregions; ++i) {
      if (OverlapsArea(RegionPrefix(keys[k[i]]), area.municipalities)) return true;
    }
    return false;
  }
};

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
    // municipalities is sorted: the first key >= prefix tells whether one starts with it.
    if (OverlapsArea(RegionPrefix(r), *q.municipalities)) return true;
  }
  return false;
}

DeviceIndex::DeviceIndex(uint32_t shards) : impl_(std::make_unique<Impl>(shards)) {}
DeviceIndex::~DeviceIndex() = default;

size_t DeviceIndex::size() const { return impl_->count; }
uint32_t DeviceIndex::shards() const { return impl_->shards; }

void DeviceIndex::Upsert(const Device& d) {
  Impl& m = *impl_;
  if (d.id.size() > 255 || d.token.size() > 65535 || d.regions.size() > 65535 ||
      static_cast<int>(d.platform) >= kPlatformCount) {
    throw std::invalid_argument("device '" + d.id.substr(0, 64) + "' cannot be indexed");
  }
  // Intern before touching the slot: interning may add bitmaps (and may throw).
  uint32_t levels = UINT32_MAX;
  for (const auto& [provider, level] : d.levels) {
    size_t p = m.ProviderId(provider);
    levels = (levels & ~(0xFu << (4 * p))) | (LevelCode(level) << (4 * p));
  }
  std::vector<uint32_t> key_ids;
  key_ids.reserve(d.regions.size());
  for (const std::string& r : d.regions) key_ids.push_back(m.KeyId(r));

  if ((m.count + 1) * 10 > m.table.size() * 7) m.GrowTable();
  size_t pos = m.Probe(d.id);
  uint32_t slot = m.table[pos];
  bool existed = slot != kEmpty;
  if (existed) {
    if (m.bulk) m.FlushBulk();
    m.Unlink(slot);
  } else {
    if (!m.free_slots.empty()) {
      slot = m.free_slots.back();
      m.free_slots.pop_back();
    } else {
      slot = static_cast<uint32_t>(m.recs.size());
      if (slot == kEmpty) throw std::length_error("device index is full (2^32 - 1 slots)");
      m.recs.emplace_back();
    }
  }
  Rec& r = m.recs[slot];
  if (!existed || m.Token(r) != d.token) {
    if (existed) {
      m.arena_garbage += r.id_len + r.token_len;
      m.token_bytes -= r.token_len;
    }
    uint64_t off = m.arena.Append(d.id, d.token);
    r.text_lo = static_cast<uint32_t>(off);
    r.text_hi = static_cast<uint8_t>(off >> 32);
    r.id_len = static_cast<uint8_t>(d.id.size());
    r.token_len = static_cast<uint16_t>(d.token.size());
    m.token_bytes += d.token.size();
  }
  if (existed && r.nregions > 1) m.pool_garbage += r.nregions;
  r.nregions = static_cast<uint16_t>(key_ids.size());
  if (key_ids.size() == 1) {
    r.regions = key_ids[0];
  } else {
    r.regions = static_cast<uint32_t>(m.pool.size());
    m.pool.insert(m.pool.end(), key_ids.begin(), key_ids.end());
  }
  r.levels = levels;
  r.platform = static_cast<uint8_t>(d.platform);
  r.flags = d.mylocation ? 1 : 0;
  if (!existed) {
    m.table[pos] = slot;  // the record's id is in place now, so probing works
    ++m.count;
  }
  m.Link(slot);
  m.Touch(slot);
  m.MaybeCompact(*this);
}

bool DeviceIndex::Remove(std::string_view id) {
  Impl& m = *impl_;
  size_t pos = m.Probe(id);
  uint32_t slot = m.table[pos];
  if (slot == kEmpty) return false;
  if (m.bulk) m.FlushBulk();
  m.Unlink(slot);
  m.EraseAt(pos);
  Rec& r = m.recs[slot];
  m.arena_garbage += r.id_len + r.token_len;
  m.token_bytes -= r.token_len;
  if (r.nregions > 1) m.pool_garbage += r.nregions;
  r = Rec{};
  m.free_slots.push_back(slot);
  --m.count;
  m.Touch(slot);
  m.MaybeCompact(*this);
  return true;
}

bool DeviceIndex::Contains(std::string_view id) const { return impl_->FindSlot(id) != kEmpty; }

std::optional<Device> DeviceIndex::Find(std::string_view id) const {
  uint32_t slot = impl_->FindSlot(id);
  if (slot == kEmpty) return std::nullopt;
  return impl_->Rebuild(impl_->recs[slot]);
}

size_t DeviceIndex::Select(const SelectionQuery& q, size_t batch_size,
                           const std::function<void(std::span<const DeviceRef>)>& emit) const {
  const Impl& m = *impl_;
  if (batch_size == 0) batch_size = 1;
  if (q.shard >= m.shards || static_cast<int>(q.platform) >= kPlatformCount) return 0;
  const roaring_bitmap_t* unit =
      m.bitmaps[m.UnitBitmap(static_cast<uint8_t>(q.platform), q.shard)].get();
  // Thresholds: receive when level <= the device's own threshold, else the default. The
  // 4-bit code is in the record, which the loop reads anyway for the id and token, so it is
  // checked there (a table of accepted codes) rather than through per-threshold bitmaps.
  int default_level = 4;
  if (q.default_levels != nullptr) {
    if (auto it = q.default_levels->find(q.provider); it != q.default_levels->end()) {
      default_level = it->second;
    }
  }
  uint32_t accept = default_level >= q.level ? 1u << kLevelUnset : 0;  // bit per code
  uint32_t level_shift = 0;
  if (auto pit = m.provider_ids.find(q.provider); pit != m.provider_ids.end()) {
    level_shift = 4 * pit->second;
    for (int code = 0; code < kLevelCodes; ++code) {
      if (CodeLevel(static_cast<uint32_t>(code)) >= q.level) accept |= 1u << code;
    }
  } else if (accept != 0) {
    accept = 0xFFFF;  // nobody has an own threshold: the default decides for all
  }
  if (accept == 0) return 0;
  const bool check_levels = accept != 0xFFFF;

  std::shared_ptr<const Area> area;
  Bitmap cand(nullptr);
  bool check_dirty = false;
  if (q.flow == Flow::kAll) {
    cand = Bitmap(roaring_bitmap_and(unit, m.bitmaps[0].get()));
  } else {
    if (q.municipalities == nullptr) return 0;
    area = m.AreaFor(*q.municipalities);
    cand = Bitmap(roaring_bitmap_and(area->devices.get(), unit));
    if (!m.dirty.empty()) {
      // Slots changed after the area union was built may have joined the area.
      Bitmap changed(roaring_bitmap_and(m.dirty.get(), unit));
      roaring_bitmap_or_inplace(cand.get(), changed.get());
      check_dirty = true;
    }
  }

  // Stream the intersection: read slots in chunks, emit batches of batch_size.
  std::vector<DeviceRef> batch;
  batch.reserve(std::min<uint64_t>(batch_size, roaring_bitmap_get_cardinality(cand.get())));
  size_t emitted = 0;
  roaring_uint32_iterator_t it;
  roaring_init_iterator(cand.get(), &it);
  uint32_t buf[256];
  for (;;) {
    uint32_t n = roaring_read_uint32_iterator(&it, buf, 256);
    for (uint32_t i = 0; i < n; ++i) {
      // Scattered slots (an area's devices whose first key lies elsewhere) would each stall
      // on a record and then on its text; fetch records ahead and the text of the batch
      // while it is being built, so the misses overlap.
      if (i + kPrefetchAhead < n) __builtin_prefetch(&m.recs[buf[i + kPrefetchAhead]]);
      const Rec& r = m.recs[buf[i]];
      if (check_levels && ((accept >> ((r.levels >> level_shift) & 0xF)) & 1) == 0) continue;
      if (check_dirty && roaring_bitmap_contains(m.dirty.get(), buf[i]) &&
          !m.StillInArea(r, *area)) {
        continue;
      }
      const char* text = m.arena.At(r.text());
      size_t len = size_t{r.id_len} + r.token_len;
      for (size_t off = 0; off < std::min<size_t>(len, kPrefetchText); off += 64) {
        __builtin_prefetch(text + off);
      }
      batch.push_back(DeviceRef{{text, r.id_len}, {text + r.id_len, r.token_len}});
      if (batch.size() == batch_size) {
        emit(batch);
        emitted += batch.size();
        batch.clear();
      }
    }
    if (n < 256) break;
  }
  if (!batch.empty()) {
    emit(batch);
    emitted += batch.size();
  }
  return emitted;
}

void DeviceIndex::ForEach(const std::function<void(const Device&)>& fn) const {
  for (const Rec& r : impl_->recs) {
    if (r.used()) fn(impl_->Rebuild(r));
  }
}

void DeviceIndex::BeginBulk() {
  Impl& m = *impl_;
  if (m.bulk) return;
  m.bulk = true;
  m.bulk_renumber = m.count == 0 && m.recs.empty();
  m.pending.assign(m.bitmaps.size(), {});
}

void DeviceIndex::EndBulk() {
  Impl& m = *impl_;
  if (!m.bulk) return;
  if (m.bulk_renumber) m.Renumber(*this);
  m.FlushBulk();
  m.bulk = false;
  m.pending.clear();
  m.recs.shrink_to_fit();
  m.pool.shrink_to_fit();
  for (Bitmap& b : m.bitmaps) {
    roaring_bitmap_run_optimize(b.get());
    roaring_bitmap_shrink_to_fit(b.get());
  }
  std::lock_guard lock(m.cache_mu);
  m.cache.clear();
  roaring_bitmap_clear(m.dirty.get());
}

void DeviceIndex::Compact() {
  Impl& m = *impl_;
  Arena fresh;
  std::vector<uint32_t> pool;
  for (Rec& r : m.recs) {
    if (!r.used()) continue;
    uint64_t off = fresh.Append(m.Id(r), m.Token(r));
    if (r.nregions > 1) {
      const uint32_t* k = m.KeysOf(r);
      uint32_t at = static_cast<uint32_t>(pool.size());
      pool.insert(pool.end(), k, k + r.nregions);
      r.regions = at;
    }
    r.text_lo = static_cast<uint32_t>(off);
    r.text_hi = static_cast<uint8_t>(off >> 32);
  }
  m.arena = std::move(fresh);
  m.arena_garbage = 0;
  pool.shrink_to_fit();
  m.pool = std::move(pool);
  m.pool_garbage = 0;
}

void DeviceIndex::DropAreaCache() const {
  std::lock_guard lock(impl_->cache_mu);
  impl_->cache.clear();
  roaring_bitmap_clear(impl_->dirty.get());
}

IndexMemory DeviceIndex::Memory() const {
  const Impl& m = *impl_;
  IndexMemory out;
  out.devices = m.count;
  out.records = m.recs.capacity() * sizeof(Rec) + m.free_slots.capacity() * sizeof(uint32_t);
  out.id_table = m.table.capacity() * sizeof(uint32_t);
  out.arena = m.arena.used();
  out.arena_garbage = m.arena_garbage;
  out.token_bytes = m.token_bytes;
  out.region_pool = m.pool.capacity() * sizeof(uint32_t);
  for (const Bitmap& b : m.bitmaps) out.bitmaps += BitmapBytes(b.get());
  out.bitmaps += BitmapBytes(m.dirty.get());
  for (const auto& k : m.keys) out.keys += k.capacity() + sizeof(std::string) + 48;
  return out;
}

}  // namespace fanout::domain::device
