// Each selection rule of DESIGN §4 has a test here that fails if the rule breaks.
#include "domain/device/index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace fanout::domain::device {
namespace {

constexpr uint32_t kShards = 4;

Device Make(std::string id, Platform p, bool myloc, std::vector<std::string> regions,
            std::map<std::string, int> levels = {}) {
  Device d;
  d.id = std::move(id);
  d.platform = p;
  d.token = std::string(64, 'b');
  d.mylocation = myloc;
  d.regions = std::move(regions);
  d.levels = std::move(levels);
  return d;
}

// All ids the index selects for (platform, flow) over every shard.
std::set<std::string> SelectAll(const DeviceIndex& idx, Platform p, Flow f,
                                const std::vector<std::string>& area, int level = 2,
                                const std::string& provider = "AP2",
                                const std::map<std::string, int>& defaults = {}) {
  std::set<std::string> out;
  for (uint32_t s = 0; s < idx.shards(); ++s) {
    SelectionQuery q{p, f, s, provider, level, &area, &defaults};
    idx.Select(q, 3, [&](std::span<const DeviceRef> batch) {
      EXPECT_LE(batch.size(), 3u);
      for (const DeviceRef& d : batch) EXPECT_TRUE(out.insert(std::string(d.id)).second) << d.id;
    });
  }
  return out;
}

const std::vector<std::string> kMuensterArea{"055150000000"};
const std::vector<std::string> kTwoInBavaria{"091620000000", "097610000000"};  // München, Augsburg

TEST(Selection, AllFlowGetsEveryMylocationDeviceWhateverTheArea) {
  DeviceIndex idx(kShards);
  idx.Upsert(Make("m1", Platform::kApns, true, {}));
  idx.Upsert(Make("m2", Platform::kApns, true, {"010010000000"}));
  idx.Upsert(Make("s1", Platform::kApns, false, {"055150000000"}));
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kAll, kTwoInBavaria),
            (std::set<std::string>{"m1", "m2"}));
}

TEST(Selection, SelectedFlowNeedsOverlapAndNoMylocation) {
  DeviceIndex idx(kShards);
  idx.Upsert(Make("in", Platform::kApns, false, {"055150000000"}));
  idx.Upsert(Make("out", Platform::kApns, false, {"091620000000"}));
  idx.Upsert(Make("myloc-in", Platform::kApns, true, {"055150000000"}));
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, kMuensterArea),
            (std::set<std::string>{"in"}));
}

TEST(Selection, PlatformsAreSeparate) {
  DeviceIndex idx(kShards);
  idx.Upsert(Make("a", Platform::kApns, false, {"055150000000"}));
  idx.Upsert(Make("f", Platform::kFcm, false, {"055150000000"}));
  EXPECT_EQ(SelectAll(idx, Platform::kFcm, Flow::kSelected, kMuensterArea),
            (std::set<std::string>{"f"}));
}

TEST(Selection, KreisAndLandSubscriptionsMatchEveryMunicipalityInside) {
  DeviceIndex idx(kShards);
  idx.Upsert(Make("land-by", Platform::kApns, false, {"090000000000"}));
  idx.Upsert(Make("rb-oberbayern", Platform::kApns, false, {"091000000000"}));
  idx.Upsert(Make("kreis-muenchen-stadt", Platform::kApns, false, {"091620000000"}));
  idx.Upsert(Make("gv", Platform::kApns, false, {"097615555000"}));  // other Verband
  idx.Upsert(Make("land-nrw", Platform::kApns, false, {"050000000000"}));
  // Alert on a single municipality in the Landkreis Fürstenfeldbruck (Oberbayern).
  std::vector<std::string> area{"091790113113"};
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, area),
            (std::set<std::string>{"land-by", "rb-oberbayern"}));
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, kTwoInBavaria),
            (std::set<std::string>{"land-by", "rb-oberbayern", "kreis-muenchen-stadt"}));
}

TEST(Selection, GemeindeverbandSubscriptionMatchesItsMunicipalities) {
  DeviceIndex idx(kShards);
  idx.Upsert(Make("gv", Platform::kFcm, false, {"010515163000"}));
  std::vector<std::string> inside{"010515163003"}, outside{"010515166004"};
  EXPECT_EQ(SelectAll(idx, Platform::kFcm, Flow::kSelected, inside).size(), 1u);
  EXPECT_TRUE(SelectAll(idx, Platform::kFcm, Flow::kSelected, outside).empty());
}

TEST(Selection, ProviderThresholdsPerProviderWithDefaults) {
  DeviceIndex idx(kShards);
  idx.Upsert(Make("strict", Platform::kApns, true, {}, {{"AP2", 0}}));  // Extreme only
  idx.Upsert(Make("lenient", Platform::kApns, true, {}, {{"AP2", 4}}));
  idx.Upsert(Make("default", Platform::kApns, true, {}));  // uses defaults
  std::map<std::string, int> defaults{{"AP2", 1}};
  auto at = [&](int level, const std::string& provider) {
    return SelectAll(idx, Platform::kApns, Flow::kAll, {}, level, provider, defaults);
  };
  EXPECT_EQ(at(0, "AP2"), (std::set<std::string>{"strict", "lenient", "default"}));
  EXPECT_EQ(at(1, "AP2"), (std::set<std::string>{"lenient", "default"}));
  EXPECT_EQ(at(3, "AP2"), (std::set<std::string>{"lenient"}));
  // Another provider: no per-device level, no default -> 4 -> everything.
  EXPECT_EQ(at(3, "AP3").size(), 3u);
}

TEST(Selection, OnePushPerDeviceEvenWhenSeveralRegionsMatch) {
  DeviceIndex idx(1);
  idx.Upsert(Make("multi", Platform::kApns, false,
                  {"090000000000", "091620000000", "097610000000", "091000000000"}));
  size_t n = 0;
  SelectionQuery q{Platform::kApns, Flow::kSelected, 0, "AP2", 2, &kTwoInBavaria, nullptr};
  idx.Select(q, 500, [&](std::span<const DeviceRef> b) { n += b.size(); });
  EXPECT_EQ(n, 1u);
}

TEST(Selection, ShardsPartitionTheDevices) {
  DeviceIndex idx(kShards);
  for (int i = 0; i < 200; ++i) {
    idx.Upsert(Make("d" + std::to_string(i), Platform::kApns, i % 2 == 0, {"055150000000"}));
  }
  std::set<std::string> all;
  size_t total = 0;
  for (uint32_t s = 0; s < kShards; ++s) {
    for (Flow f : {Flow::kAll, Flow::kSelected}) {
      SelectionQuery q{Platform::kApns, f, s, "AP2", 2, &kMuensterArea, nullptr};
      idx.Select(q, 500, [&](std::span<const DeviceRef> b) {
        for (const DeviceRef& d : b) {
          EXPECT_EQ(ShardOf(d.id, kShards), s);
          all.insert(std::string(d.id));
          ++total;
        }
      });
    }
  }
  EXPECT_EQ(all.size(), 200u);
  EXPECT_EQ(total, 200u);
}

TEST(Selection, UpdatesAndDeletesAreVisible) {
  DeviceIndex idx(kShards);
  idx.Upsert(Make("d", Platform::kApns, false, {"055150000000"}));
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, kMuensterArea).size(), 1u);
  idx.Upsert(Make("d", Platform::kApns, false, {"091620000000"}));  // moved
  EXPECT_TRUE(SelectAll(idx, Platform::kApns, Flow::kSelected, kMuensterArea).empty());
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, kTwoInBavaria).size(), 1u);
  idx.Upsert(Make("d", Platform::kApns, true, {}));  // switched to mylocation
  EXPECT_TRUE(SelectAll(idx, Platform::kApns, Flow::kSelected, kTwoInBavaria).empty());
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kAll, {}).size(), 1u);
  EXPECT_TRUE(idx.Remove("d"));
  EXPECT_FALSE(idx.Remove("d"));
  EXPECT_TRUE(SelectAll(idx, Platform::kApns, Flow::kAll, {}).empty());
  EXPECT_EQ(idx.size(), 0u);
}

TEST(Selection, IndexAgreesWithReferenceRulesOnRandomData) {
  std::mt19937 rng(42);
  const std::vector<std::string> keys{"090000000000", "091620000000", "097610000000",
                                      "055150000000", "050000000000", "091790113113",
                                      "010515163000", "010515163003", "110000000000"};
  DeviceIndex idx(8);
  std::vector<Device> devices;
  for (int i = 0; i < 2000; ++i) {
    Device d = Make("r" + std::to_string(i), rng() % 2 ? Platform::kApns : Platform::kFcm,
                    rng() % 3 == 0, {}, {{"AP2", static_cast<int>(rng() % 5)}});
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k)
      d.regions.push_back(keys[rng() % keys.size()]);
    devices.push_back(d);
    idx.Upsert(d);
  }
  std::vector<std::string> area{"010515163003", "091620000000", "091790113113"};
  for (int level = 0; level <= 4; ++level) {
    for (Platform p : {Platform::kApns, Platform::kFcm}) {
      for (Flow f : {Flow::kAll, Flow::kSelected}) {
        std::set<std::string> expected;
        for (const Device& d : devices) {
          for (uint32_t s = 0; s < 8; ++s) {
            SelectionQuery q{p, f, s, "AP2", level, &area, nullptr};
            if (DeviceMatches(d, ShardOf(d.id, 8), q)) expected.insert(d.id);
          }
        }
        EXPECT_EQ(SelectAll(idx, p, f, area, level), expected);
      }
    }
  }
}

}  // namespace
}  // namespace fanout::domain::device

// ---- Issue #4: the roaring index's own edge cases ----
namespace fanout::domain::device {
namespace {

std::set<std::string> Expected(const std::map<std::string, Device>& model, uint32_t shards,
                               Platform p, Flow f, const std::vector<std::string>& area, int level,
                               const std::string& provider,
                               const std::map<std::string, int>& defaults) {
  std::set<std::string> out;
  for (const auto& [id, d] : model) {
    SelectionQuery q{p, f, ShardOf(id, shards), provider, level, &area, &defaults};
    if (DeviceMatches(d, ShardOf(id, shards), q)) out.insert(id);
  }
  return out;
}

TEST(Index, FindRebuildsTheDeviceExactly) {
  DeviceIndex idx(kShards);
  Device d = Make("x", Platform::kFcm, false, {"091620000000", "055150000000", "010515163003"},
                  {{"AP1", 0}, {"AP4", 3}});
  d.token = "fcm:APA91b-token";
  idx.Upsert(d);
  auto f = idx.Find("x");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->id, "x");
  EXPECT_EQ(f->platform, Platform::kFcm);
  EXPECT_EQ(f->token, d.token);
  EXPECT_EQ(f->regions, d.regions);  // order kept
  EXPECT_EQ(f->levels, d.levels);
  EXPECT_FALSE(f->mylocation);
  EXPECT_FALSE(idx.Find("y"));
  EXPECT_TRUE(idx.Contains("x"));
  EXPECT_FALSE(idx.Contains("y"));
}

TEST(Index, CachedAreaSeesLaterUpdatesAndDeletes) {
  DeviceIndex idx(1);
  idx.Upsert(Make("a", Platform::kApns, false, {"055150000000"}));
  for (int i = 0; i < 50; ++i) {
    idx.Upsert(Make("f" + std::to_string(i), Platform::kApns, false, {"091620000000"}));
  }
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, kMuensterArea),
            (std::set<std::string>{"a"}));  // builds and caches the Münster union
  idx.Upsert(Make("b", Platform::kApns, false, {"050000000000"}));   // new, Land NRW
  idx.Upsert(Make("f1", Platform::kApns, false, {"055150000000"}));  // moved in
  idx.Upsert(Make("a", Platform::kApns, false, {"110000000000"}));   // moved out
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, kMuensterArea),
            (std::set<std::string>{"b", "f1"}));
  idx.Upsert(Make("f1", Platform::kApns, true, {"055150000000"}));  // now mylocation
  EXPECT_TRUE(idx.Remove("b"));
  idx.Upsert(Make("c", Platform::kApns, false, {"055150000000"}));  // reuses b's slot
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, kMuensterArea),
            (std::set<std::string>{"c"}));
}

TEST(Index, RandomChurnAgreesWithReferenceBetweenSelections) {
  // Interleaves upserts, moves, platform/mylocation switches and removals with selections
  // on a few areas, so cached area unions, the changed-slot set and its reset are exercised.
  std::mt19937 rng(7);
  const std::vector<std::string> keys{
      "090000000000", "091620000000", "097610000000", "055150000000", "050000000000",
      "091790113113", "010515163000", "010515163003", "110000000000", "091000000000"};
  const std::vector<std::vector<std::string>> areas{
      {"010515163003", "091620000000", "091790113113"}, {"055150000000"}, {"110000000000"}};
  const std::map<std::string, int> defaults{{"AP1", 2}};
  DeviceIndex idx(4);
  std::map<std::string, Device> model;
  for (int step = 0; step < 6000; ++step) {
    std::string id = "c" + std::to_string(rng() % 800);
    if (rng() % 5 == 0) {
      EXPECT_EQ(idx.Remove(id), model.erase(id) == 1);
      continue;
    }
    Device d = Make(id, rng() % 2 ? Platform::kApns : Platform::kFcm, rng() % 4 == 0, {});
    if (rng() % 2) d.levels["AP1"] = static_cast<int>(rng() % 5);
    if (rng() % 3 == 0) d.levels["AP2"] = static_cast<int>(rng() % 5);
    d.token = "t" + std::to_string(rng());
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k)
      d.regions.push_back(keys[rng() % keys.size()]);
    idx.Upsert(d);
    model[id] = d;
    if (step % 97 == 0) {
      const auto& area = areas[rng() % areas.size()];
      int level = static_cast<int>(rng() % 5);
      std::string provider = rng() % 2 ? "AP1" : "AP2";
      for (Platform p : {Platform::kApns, Platform::kFcm}) {
        for (Flow f : {Flow::kAll, Flow::kSelected}) {
          ASSERT_EQ(SelectAll(idx, p, f, area, level, provider, defaults),
                    Expected(model, 4, p, f, area, level, provider, defaults))
              << "step " << step;
        }
      }
    }
  }
  EXPECT_EQ(idx.size(), model.size());
  size_t seen = 0;
  idx.ForEach([&](const Device& d) {
    ++seen;
    ASSERT_TRUE(model.count(d.id));
    EXPECT_EQ(d.token, model[d.id].token);
    EXPECT_EQ(d.regions, model[d.id].regions);
    EXPECT_EQ(d.levels, model[d.id].levels);
  });
  EXPECT_EQ(seen, model.size());
}

TEST(Index, IdTableSurvivesHeavyInsertAndDelete) {
  DeviceIndex idx(2);
  std::set<std::string> live;
  std::mt19937 rng(3);
  for (int i = 0; i < 20000; ++i) {
    std::string id = "id-" + std::to_string(rng() % 5000);
    if (rng() % 3 == 0) {
      EXPECT_EQ(idx.Remove(id), live.erase(id) == 1) << id;
    } else {
      idx.Upsert(Make(id, Platform::kApns, true, {}));
      live.insert(id);
    }
  }
  EXPECT_EQ(idx.size(), live.size());
  for (int i = 0; i < 5000; ++i) {
    std::string id = "id-" + std::to_string(i);
    EXPECT_EQ(idx.Contains(id), live.count(id) == 1) << id;
  }
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kAll, {}).size(), live.size());
}

TEST(Index, CompactionKeepsEveryDeviceAndDropsGarbage) {
  DeviceIndex idx(2);
  for (int i = 0; i < 300; ++i) {
    idx.Upsert(
        Make("d" + std::to_string(i), Platform::kFcm, false, {"055150000000", "091620000000"}));
  }
  for (int i = 0; i < 300; i += 2) {
    Device d = Make("d" + std::to_string(i), Platform::kFcm, false,
                    {"091620000000", "055150000000", "110000000000"});
    d.token = "new-token-" + std::to_string(i);
    idx.Upsert(d);
  }
  for (int i = 1; i < 300; i += 4) idx.Remove("d" + std::to_string(i));
  auto before = idx.Memory();
  EXPECT_GT(before.arena_garbage, 0u);
  idx.Compact();
  auto after = idx.Memory();
  EXPECT_EQ(after.arena_garbage, 0u);
  EXPECT_LT(after.arena, before.arena);
  EXPECT_EQ(after.token_bytes, before.token_bytes);
  auto d0 = idx.Find("d0");
  ASSERT_TRUE(d0);
  EXPECT_EQ(d0->token, "new-token-0");
  EXPECT_EQ(d0->regions,
            (std::vector<std::string>{"091620000000", "055150000000", "110000000000"}));
  auto d3 = idx.Find("d3");
  ASSERT_TRUE(d3);
  EXPECT_EQ(d3->regions, (std::vector<std::string>{"055150000000", "091620000000"}));
  EXPECT_FALSE(idx.Find("d1"));
  EXPECT_EQ(SelectAll(idx, Platform::kFcm, Flow::kSelected, kMuensterArea).size(), 300u - 75u);
}

TEST(Index, BulkLoadMatchesIncrementalAndHandlesDuplicatesAndRemovals) {
  DeviceIndex bulk(4), inc(4);
  bulk.BeginBulk();
  std::mt19937 rng(11);
  const std::vector<std::string> keys{"091620000000", "055150000000", "090000000000"};
  for (int i = 0; i < 1000; ++i) {
    Device d = Make("b" + std::to_string(i % 700), rng() % 2 ? Platform::kApns : Platform::kFcm,
                    rng() % 3 == 0, {keys[rng() % 3]}, {{"AP2", static_cast<int>(rng() % 5)}});
    bulk.Upsert(d);  // ids 0..299 come twice: the second one wins
    inc.Upsert(d);
    if (i == 900) {
      bulk.Remove("b5");
      inc.Remove("b5");
    }
  }
  bulk.EndBulk();
  EXPECT_EQ(bulk.size(), inc.size());
  for (int level = 0; level <= 4; ++level) {
    for (Platform p : {Platform::kApns, Platform::kFcm}) {
      for (Flow f : {Flow::kAll, Flow::kSelected}) {
        EXPECT_EQ(SelectAll(bulk, p, f, kTwoInBavaria, level),
                  SelectAll(inc, p, f, kTwoInBavaria, level));
      }
    }
  }
}

TEST(Index, BulkLoadIntoAnEmptyIndexRenumbersByUnitAndStaysExact) {
  DeviceIndex bulk(4), inc(4);
  std::mt19937 rng(5);
  const std::vector<std::string> keys{"091620000000", "055150000000", "090000000000",
                                      "097610000000"};
  bulk.BeginBulk();
  for (int i = 0; i < 3000; ++i) {
    Device d =
        Make("u" + std::to_string(i), rng() % 2 ? Platform::kApns : Platform::kFcm, rng() % 3 == 0,
             {keys[rng() % 4], keys[rng() % 4]}, {{"AP2", static_cast<int>(rng() % 5)}});
    d.token = "tok" + std::to_string(i);
    bulk.Upsert(d);
    inc.Upsert(d);
  }
  bulk.EndBulk();
  // Slot order is unit order now: a unit's batch comes out in one contiguous run.
  for (int level = 0; level <= 4; ++level) {
    for (Platform p : {Platform::kApns, Platform::kFcm}) {
      for (Flow f : {Flow::kAll, Flow::kSelected}) {
        EXPECT_EQ(SelectAll(bulk, p, f, kTwoInBavaria, level),
                  SelectAll(inc, p, f, kTwoInBavaria, level));
      }
    }
  }
  for (int i = 0; i < 3000; i += 7) {
    std::string id = "u" + std::to_string(i);
    ASSERT_TRUE(bulk.Contains(id));
    EXPECT_EQ(bulk.Find(id)->token, "tok" + std::to_string(i));
    EXPECT_EQ(bulk.Find(id)->regions, inc.Find(id)->regions);
  }
  // Later updates and removals work on the renumbered slots.
  for (int i = 0; i < 3000; i += 3) {
    EXPECT_TRUE(bulk.Remove("u" + std::to_string(i)));
    inc.Remove("u" + std::to_string(i));
  }
  bulk.Upsert(Make("late", Platform::kApns, false, {"091620000000"}));
  inc.Upsert(Make("late", Platform::kApns, false, {"091620000000"}));
  EXPECT_EQ(SelectAll(bulk, Platform::kApns, Flow::kSelected, kTwoInBavaria),
            SelectAll(inc, Platform::kApns, Flow::kSelected, kTwoInBavaria));
  EXPECT_EQ(bulk.size(), inc.size());
}

TEST(Index, BatchesStreamInRequestedSizes) {
  DeviceIndex idx(1);
  for (int i = 0; i < 1234; ++i)
    idx.Upsert(Make("m" + std::to_string(i), Platform::kApns, true, {}));
  SelectionQuery q{Platform::kApns, Flow::kAll, 0, "AP2", 2, nullptr, nullptr};
  std::vector<size_t> sizes;
  EXPECT_EQ(idx.Select(q, 500, [&](std::span<const DeviceRef> b) { sizes.push_back(b.size()); }),
            1234u);
  EXPECT_EQ(sizes, (std::vector<size_t>{500, 500, 234}));
  size_t ones = 0;
  idx.Select(q, 0, [&](std::span<const DeviceRef> b) { ones += b.size() == 1; });
  EXPECT_EQ(ones, 1234u);  // batch size 0 means 1
  q.shard = 1;             // out of range
  EXPECT_EQ(idx.Select(q, 500, [](std::span<const DeviceRef>) { FAIL(); }), 0u);
}

TEST(Index, LimitsAreEnforcedNotTruncated) {
  DeviceIndex idx(1);
  Device d = Make(std::string(255, 'i'), Platform::kFcm, true, {});
  d.token = std::string(65535, 't');
  idx.Upsert(d);
  EXPECT_EQ(idx.Find(d.id)->token.size(), 65535u);
  d.id = std::string(256, 'i');
  EXPECT_THROW(idx.Upsert(d), std::invalid_argument);
  Device p = Make("p", Platform::kApns, true, {});
  for (int i = 0; i < 8; ++i) p.levels["P" + std::to_string(i)] = 1;
  idx.Upsert(p);
  p.levels["P8"] = 1;
  EXPECT_THROW(idx.Upsert(p), std::invalid_argument);
  EXPECT_EQ(idx.Find("p")->levels.size(), 8u);  // unchanged by the failed update
  EXPECT_EQ(idx.size(), 2u);
}

TEST(Index, MemoryAccountsTokensSeparately) {
  DeviceIndex idx(64);
  size_t tokens = 0;
  for (int i = 0; i < 1000; ++i) {
    Device d = Make("dev-" + std::to_string(i), Platform::kApns, i % 3 == 0, {"055150000000"});
    tokens += d.token.size();
    idx.Upsert(d);
  }
  auto m = idx.Memory();
  EXPECT_EQ(m.devices, 1000u);
  EXPECT_EQ(m.token_bytes, tokens);
  EXPECT_GE(m.arena, tokens);
  EXPECT_GT(m.bitmaps, 0u);
  EXPECT_GE(m.records, 1000u * 20);
}

}  // namespace
}  // namespace fanout::domain::device

// ---- What every alert shares, precomputed: the bulk layout (unit, mylocation first, first
// region key) and the Land bitmaps that replace a whole Land's prefix bitmaps in an area's
// union. Checked against a second, straightforward implementation written here. ----
namespace fanout::domain::device {
namespace {

// A small hierarchy of well-formed keys: Länder 01, 05, 09; 2 Regierungsbezirke, 2 Kreise,
// 2 Verbände, 3 municipalities each: 3 + 6 + 12 + 24 + 72 keys.
struct KeyUniverse {
  std::vector<std::string> all;                                   // every key at every level
  std::map<std::string, std::vector<std::string>> munis_of_land;  // sorted
  std::vector<std::string> munis;                                 // sorted
};

KeyUniverse MakeKeys() {
  KeyUniverse u;
  for (std::string land : {"01", "05", "09"}) {
    u.all.push_back(land + "0000000000");
    for (std::string rb : {"1", "2"}) {
      u.all.push_back(land + rb + "000000000");
      for (std::string kreis : {"11", "12"}) {
        u.all.push_back(land + rb + kreis + "0000000");
        for (std::string verband : {"1001", "1002"}) {
          u.all.push_back(land + rb + kreis + verband + "000");
          for (std::string muni : {"001", "002", "003"}) {
            std::string key = land + rb + kreis + verband + muni;
            u.all.push_back(key);
            u.munis.push_back(key);
            u.munis_of_land[land].push_back(key);
          }
        }
      }
    }
  }
  std::sort(u.munis.begin(), u.munis.end());
  return u;
}

// The selection rules of DESIGN §4 spelled out device by device, independent of the index
// and of DeviceMatches.
bool Straightforward(const Device& d, uint32_t shards, const SelectionQuery& q) {
  if (d.platform != q.platform || ShardOf(d.id, shards) != q.shard) return false;
  int threshold = 4;
  if (auto own = d.levels.find(q.provider); own != d.levels.end()) {
    threshold = own->second;
  } else if (q.default_levels != nullptr) {
    if (auto def = q.default_levels->find(q.provider); def != q.default_levels->end()) {
      threshold = def->second;
    }
  }
  if (q.level > threshold) return false;
  if (q.flow == Flow::kAll) return d.mylocation;
  if (d.mylocation) return false;
  for (const std::string& r : d.regions) {
    std::string significant = r;
    for (size_t len : {2, 3, 5, 9}) {
      if (r.find_first_not_of('0', len) == std::string::npos) {
        significant = r.substr(0, len);
        break;
      }
    }
    for (const std::string& m : *q.municipalities) {
      if (m.compare(0, significant.size(), significant) == 0) return true;
    }
  }
  return false;
}

struct Alert {
  std::vector<std::string> area;
  std::string provider;
  int level = 2;
  std::map<std::string, int> defaults;
};

// Every (platform, flow, shard) of the alert: the index's ids per unit equal the filter's.
void ExpectSameSelection(const DeviceIndex& idx, const std::map<std::string, Device>& model,
                         const Alert& a, const std::string& when) {
  for (Platform p : {Platform::kApns, Platform::kFcm}) {
    for (Flow f : {Flow::kAll, Flow::kSelected}) {
      for (uint32_t s = 0; s < idx.shards(); ++s) {
        SelectionQuery q{p, f, s, a.provider, a.level, &a.area, &a.defaults};
        std::vector<std::string> got, want;
        idx.Select(q, 7, [&](std::span<const DeviceRef> b) {
          for (const DeviceRef& d : b) {
            got.emplace_back(d.id);
            ASSERT_EQ(d.token, model.at(std::string(d.id)).token);
          }
        });
        for (const auto& [id, d] : model) {
          if (Straightforward(d, idx.shards(), q)) want.push_back(id);
        }
        std::sort(got.begin(), got.end());
        ASSERT_EQ(got, want) << when << ": " << PlatformName(p) << "/" << FlowName(f) << "/" << s
                             << " provider " << a.provider << " level " << a.level << " area of "
                             << a.area.size();
      }
    }
  }
}

Device RandomDevice(std::mt19937& rng, const std::string& id, const KeyUniverse& u) {
  Device d = Make(id, rng() % 5 < 3 ? Platform::kApns : Platform::kFcm, rng() % 10 < 3, {});
  d.token = "tok-" + id + "-" + std::to_string(rng() % 1000);
  for (const char* provider : {"AP1", "AP2", "AP3", "AP4"}) {
    if (rng() % 2) d.levels[provider] = static_cast<int>(rng() % 5);
  }
  for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) {
    d.regions.push_back(u.all[rng() % u.all.size()]);
  }
  return d;
}

std::vector<Alert> Alerts(const KeyUniverse& u, std::mt19937& rng) {
  std::vector<Alert> out;
  const std::vector<std::map<std::string, int>> defaults{
      {}, {{"AP2", 4}}, {{"AP2", 1}, {"AP1", 3}}, {{"AP3", 0}}};
  std::vector<std::string> two_lands = u.munis_of_land.at("05");
  two_lands.insert(two_lands.end(), u.munis_of_land.at("09").begin(),
                   u.munis_of_land.at("09").end());
  std::vector<std::string> partial;
  for (const auto& m : u.munis_of_land.at("09")) {
    if (rng() % 3) partial.push_back(m);
  }
  const std::vector<std::vector<std::string>> areas{
      u.munis_of_land.at("09"),  // a whole Land: its Land bitmap
      two_lands,                 // two whole Länder
      u.munis,                   // the whole country
      partial,                   // most of a Land: its prefix bitmaps
      {u.munis_of_land.at("01")[4]}};
  for (const auto& area : areas) {
    for (int level = 0; level <= 4; ++level) {
      out.push_back({area, "AP" + std::to_string(1 + rng() % 5), level,
                     defaults[rng() % defaults.size()]});  // AP5: no device has it
    }
  }
  return out;
}

TEST(Precomputed, BulkLayoutAndLandUnionsSelectExactlyWhatTheFilterSelects) {
  std::mt19937 rng(2024);
  const KeyUniverse u = MakeKeys();
  const auto alerts = Alerts(u, rng);
  DeviceIndex idx(4);
  std::map<std::string, Device> model;
  idx.BeginBulk();  // an empty index: slots are laid out by unit, mylocation, first key
  for (int i = 0; i < 3000; ++i) {
    Device d = RandomDevice(rng, "p" + std::to_string(i % 2600), u);  // some ids twice
    idx.Upsert(d);
    model[d.id] = d;
  }
  idx.EndBulk();
  for (const Alert& a : alerts) ExpectSameSelection(idx, model, a, "after the bulk load");

  // Warm the area cache for every area, then update and remove: moves into and out of
  // whole Länder, mylocation and platform switches, new thresholds, a key of Land 09 that
  // no whole-Land area covers any more.
  for (const Alert& a : alerts) ExpectSameSelection(idx, model, a, "cached");
  for (int step = 0; step < 1500; ++step) {
    std::string id = "p" + std::to_string(rng() % 3000);
    if (rng() % 4 == 0) {
      EXPECT_EQ(idx.Remove(id), model.erase(id) == 1);
    } else {
      Device d = RandomDevice(rng, id, u);
      idx.Upsert(d);
      model[id] = d;
    }
    if (step == 700) {
      Device outside = Make("outside-09", Platform::kApns, false, {"093330000000"});
      idx.Upsert(outside);
      model[outside.id] = outside;
    }
    if (step % 250 == 0) {
      const Alert& a = alerts[rng() % alerts.size()];
      ExpectSameSelection(idx, model, a, "step " + std::to_string(step));
    }
  }
  for (const Alert& a : alerts) ExpectSameSelection(idx, model, a, "after the updates");
  idx.DropAreaCache();
  for (const Alert& a : alerts) ExpectSameSelection(idx, model, a, "rebuilt area unions");

  // A bulk load into the non-empty index (no relayout): updates, removals, new devices.
  idx.BeginBulk();
  for (int i = 0; i < 800; ++i) {
    std::string id = "p" + std::to_string(rng() % 3400);
    if (rng() % 5 == 0) {
      EXPECT_EQ(idx.Remove(id), model.erase(id) == 1);
    } else {
      Device d = RandomDevice(rng, id, u);
      idx.Upsert(d);
      model[id] = d;
    }
  }
  idx.EndBulk();
  for (const Alert& a : alerts) ExpectSameSelection(idx, model, a, "after a second bulk load");
  EXPECT_EQ(idx.size(), model.size());
}

TEST(Precomputed, IncrementalIndexAgreesWithTheFilterToo) {
  // The same checks without the bulk layout: slots in arrival order, free slots reused.
  std::mt19937 rng(99);
  const KeyUniverse u = MakeKeys();
  const auto alerts = Alerts(u, rng);
  DeviceIndex idx(3);
  std::map<std::string, Device> model;
  for (int step = 0; step < 4000; ++step) {
    std::string id = "q" + std::to_string(rng() % 1500);
    if (rng() % 6 == 0) {
      EXPECT_EQ(idx.Remove(id), model.erase(id) == 1);
    } else {
      Device d = RandomDevice(rng, id, u);
      idx.Upsert(d);
      model[id] = d;
    }
    if (step % 500 == 499) {
      for (const Alert& a : alerts)
        ExpectSameSelection(idx, model, a, "step " + std::to_string(step));
    }
  }
}

TEST(Precomputed, AWholeLandStopsBeingWholeWhenAKeyOutsideTheAreaAppears) {
  const KeyUniverse u = MakeKeys();
  DeviceIndex idx(1);
  std::map<std::string, Device> model;
  auto put = [&](Device d) {
    idx.Upsert(d);
    model[d.id] = d;
  };
  put(Make("land", Platform::kApns, false, {"090000000000"}));
  put(Make("kreis", Platform::kApns, false, {"091110000000"}));
  put(Make("muni", Platform::kApns, false, {"091111001002"}));
  put(Make("elsewhere", Platform::kApns, false, {"051110000000"}));
  Alert whole{u.munis_of_land.at("09"), "AP2", 2, {}};
  ExpectSameSelection(idx, model, whole, "whole Land 09");  // Land bitmap, cached
  // A Kreis of Land 09 outside the area: the Land is no longer whole for this area.
  put(Make("other-kreis", Platform::kApns, false, {"093330000000"}));
  put(Make("moved", Platform::kApns, false, {"093330000000", "051110000000"}));
  ExpectSameSelection(idx, model, whole, "cached union, new key");
  idx.DropAreaCache();
  ExpectSameSelection(idx, model, whole, "fresh union, new key");
  EXPECT_EQ(SelectAll(idx, Platform::kApns, Flow::kSelected, whole.area),
            (std::set<std::string>{"land", "kreis", "muni"}));
}

TEST(Precomputed, BulkLayoutEmitsAUnitByFirstRegionKey) {
  // Emission is in slot order; after a bulk load into an empty index a unit's `selected`
  // devices come out ordered by their first key (an area's devices are neighbours).
  const KeyUniverse u = MakeKeys();
  std::mt19937 rng(5);
  DeviceIndex idx(2);
  std::map<std::string, Device> by_id;
  idx.BeginBulk();
  for (int i = 0; i < 2000; ++i) {
    Device d = RandomDevice(rng, "o" + std::to_string(i), u);
    idx.Upsert(d);
    by_id[d.id] = d;
  }
  idx.EndBulk();
  const std::map<std::string, int> everything{{"AP1", 4}};
  for (uint32_t s = 0; s < 2; ++s) {
    SelectionQuery q{Platform::kFcm, Flow::kSelected, s, "AP1", 0, &u.munis, &everything};
    std::vector<std::string> first_keys;
    idx.Select(q, 100, [&](std::span<const DeviceRef> b) {
      for (const DeviceRef& d : b) first_keys.push_back(by_id.at(std::string(d.id)).regions[0]);
    });
    EXPECT_GT(first_keys.size(), 100u);
    EXPECT_TRUE(std::is_sorted(first_keys.begin(), first_keys.end()));
  }
}

}  // namespace
}  // namespace fanout::domain::device
