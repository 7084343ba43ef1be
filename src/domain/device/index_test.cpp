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
    idx.Select(q, 3, [&](std::span<const Device* const> batch) {
      EXPECT_LE(batch.size(), 3u);
      for (const Device* d : batch) EXPECT_TRUE(out.insert(d->id).second) << d->id;
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
  idx.Select(q, 500, [&](std::span<const Device* const> b) { n += b.size(); });
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
      idx.Select(q, 500, [&](std::span<const Device* const> b) {
        for (const Device* d : b) {
          EXPECT_EQ(ShardOf(d->id, kShards), s);
          all.insert(d->id);
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
    for (int k = 0, n = 1 + rng() % 3; k < n; ++k) d.regions.push_back(keys[rng() % keys.size()]);
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
