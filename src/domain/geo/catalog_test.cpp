#include "domain/geo/catalog.hpp"

#include <gtest/gtest.h>

namespace fanout::domain::geo {
namespace {

Municipality M(std::string ars, std::string ags, std::string name) {
  return Municipality{std::move(ars), std::move(ags), std::move(name), 50.0, 8.0};
}

// A tiny but structurally honest catalog: a kreisfreie Stadt (Münster), a Kreis with a
// Gemeindeverband holding two municipalities plus a verbandsfreie one, Berlin, and a
// Land with a Regierungsbezirk.
GeoCatalog Tiny() {
  return GeoCatalog(
      {
          M("055150000000", "05515000", "Münster"),
          M("130710027027", "13071027", "Dargun"),
          M("130715355001", "13071001", "Altenhof"),
          M("130715355002", "13071002", "Bollewick"),
          M("110000000000", "11000000", "Berlin"),
          M("051110000000", "05111000", "Düsseldorf"),
      },
      {
          WarnCell{"105515000", "Stadt Münster", "NW", "Münster"},
          WarnCell{"813071027", "Stadt Dargun", "MV", ""},
          WarnCell{"111000000", "Berlin", "BE", ""},
      });
}

TEST(RegionKey, IsRegionKeyNeedsTwelveDigits) {
  EXPECT_TRUE(IsRegionKey("055150000000"));
  EXPECT_FALSE(IsRegionKey("05515000000"));
  EXPECT_FALSE(IsRegionKey("0551500000000"));
  EXPECT_FALSE(IsRegionKey("05515000000x"));
  EXPECT_FALSE(IsRegionKey(""));
}

TEST(RegionKey, LevelFromZeroPadding) {
  EXPECT_EQ(LevelOf("050000000000"), KeyLevel::kLand);
  EXPECT_EQ(LevelOf("051000000000"), KeyLevel::kRegierungsbezirk);
  EXPECT_EQ(LevelOf("055150000000"), KeyLevel::kKreis);
  EXPECT_EQ(LevelOf("130715355000"), KeyLevel::kGemeindeverband);
  EXPECT_EQ(LevelOf("130710027027"), KeyLevel::kGemeinde);
  // A Land without Regierungsbezirke has RB digit 0: its Kreise are still Kreis level.
  EXPECT_EQ(LevelOf("130710000000"), KeyLevel::kKreis);
}

TEST(RegionKey, SignificantPrefix) {
  EXPECT_EQ(SignificantPrefix("050000000000"), "05");
  EXPECT_EQ(SignificantPrefix("051000000000"), "051");
  EXPECT_EQ(SignificantPrefix("055150000000"), "05515");
  EXPECT_EQ(SignificantPrefix("130715355000"), "130715355");
  EXPECT_EQ(SignificantPrefix("130710027027"), "130710027027");
}

TEST(RegionKey, NormaliseAcceptsEveryLevelLength) {
  EXPECT_EQ(NormaliseKey("05"), "050000000000");
  EXPECT_EQ(NormaliseKey("051"), "051000000000");
  EXPECT_EQ(NormaliseKey("05515"), "055150000000");
  EXPECT_EQ(NormaliseKey("130715355"), "130715355000");
  EXPECT_EQ(NormaliseKey("130710027027"), "130710027027");
  EXPECT_EQ(NormaliseKey(" 05515 "), "055150000000");
  EXPECT_EQ(NormaliseKey("0551"), std::nullopt);
  EXPECT_EQ(NormaliseKey("05515000"), std::nullopt);  // 8 digits: an AGS, not a key
  EXPECT_EQ(NormaliseKey("05a15"), std::nullopt);
  EXPECT_EQ(NormaliseKey(""), std::nullopt);
}

TEST(RegionKey, EnclosingKeysAndLandNames) {
  EXPECT_EQ(KreisKeyOf("130710027027"), "130710000000");
  EXPECT_EQ(LandKeyOf("130710027027"), "130000000000");
  EXPECT_EQ(LandName("05"), "Nordrhein-Westfalen");
  EXPECT_EQ(LandName("16"), "Thüringen");
  EXPECT_EQ(LandName("17"), "");
  EXPECT_EQ(LandName("00"), "");
}

TEST(WarnCellTypes, FromFirstDigit) {
  EXPECT_EQ(WarnCellTypeOf("805515000"), WarnCellType::kMunicipality);
  EXPECT_EQ(WarnCellTypeOf("105515000"), WarnCellType::kKreis);
  EXPECT_EQ(WarnCellTypeOf("705111001"), WarnCellType::kCityQuarter);
  EXPECT_EQ(WarnCellTypeOf("901054001"), WarnCellType::kAggregation);
  EXPECT_EQ(WarnCellTypeOf("80551500"), WarnCellType::kOther);
  EXPECT_EQ(WarnCellTypeOf("305515000"), WarnCellType::kOther);
}

TEST(GeoCatalog, FindersAndSorting) {
  const GeoCatalog c = Tiny();
  ASSERT_EQ(c.municipalities().size(), 6u);
  EXPECT_TRUE(std::is_sorted(c.municipalities().begin(), c.municipalities().end(),
                             [](const auto& a, const auto& b) { return a.ars < b.ars; }));
  ASSERT_NE(c.FindMunicipality("130710027027"), nullptr);
  EXPECT_EQ(c.FindMunicipality("130710027027")->name, "Dargun");
  EXPECT_EQ(c.FindMunicipality("130710027028"), nullptr);
  ASSERT_NE(c.FindMunicipalityByAgs("13071002"), nullptr);
  EXPECT_EQ(c.FindMunicipalityByAgs("13071002")->name, "Bollewick");
  EXPECT_EQ(c.FindMunicipalityByAgs("13071003"), nullptr);
  ASSERT_NE(c.FindWarnCell("105515000"), nullptr);
  EXPECT_EQ(c.FindWarnCell("105515000")->name, "Stadt Münster");
  EXPECT_EQ(c.FindWarnCell("105515001"), nullptr);
  EXPECT_EQ(c.KreisName("05515"), "Stadt Münster");
  EXPECT_EQ(c.KreisName("05111"), "");
  const Municipality* m = c.FindMunicipality("110000000000");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(c.municipalities()[c.IndexOf(*m)].ars, "110000000000");
}

std::vector<std::string> Names(const GeoCatalog& c, const std::vector<uint32_t>& idx) {
  std::vector<std::string> out;
  for (uint32_t i : idx) out.push_back(c.municipalities()[i].name);
  return out;
}

TEST(GeoCatalog, ExpandAtEveryLevel) {
  const GeoCatalog c = Tiny();
  using V = std::vector<std::string>;
  EXPECT_EQ(Names(c, c.Expand("130000000000")), (V{"Dargun", "Altenhof", "Bollewick"}));
  EXPECT_EQ(Names(c, c.Expand("130710000000")), (V{"Dargun", "Altenhof", "Bollewick"}));
  EXPECT_EQ(Names(c, c.Expand("130715355000")), (V{"Altenhof", "Bollewick"}));
  EXPECT_EQ(Names(c, c.Expand("130715355002")), (V{"Bollewick"}));
  EXPECT_EQ(Names(c, c.Expand("050000000000")), (V{"Düsseldorf", "Münster"}));
  EXPECT_EQ(Names(c, c.Expand("051000000000")), (V{"Düsseldorf"}));
  EXPECT_EQ(Names(c, c.Expand("055150000000")), (V{"Münster"}));
  EXPECT_EQ(Names(c, c.Expand("110000000000")), (V{"Berlin"}));
  EXPECT_TRUE(c.Expand("120000000000").empty());
  EXPECT_TRUE(c.Expand("130715356000").empty());
  EXPECT_TRUE(c.Expand("13071").empty());  // not normalised: not a key
}

TEST(GeoCatalog, KnownKey) {
  const GeoCatalog c = Tiny();
  EXPECT_TRUE(c.KnownKey("130000000000"));
  EXPECT_TRUE(c.KnownKey("130715355000"));
  EXPECT_TRUE(c.KnownKey("055150000000"));
  EXPECT_FALSE(c.KnownKey("053000000000"));
  EXPECT_FALSE(c.KnownKey("130710027028"));
  EXPECT_FALSE(c.KnownKey("13"));
}

TEST(GeoCatalog, RejectsDuplicateOrMalformedKeys) {
  EXPECT_THROW(
      GeoCatalog({M("055150000000", "05515000", "a"), M("055150000000", "05515000", "b")}, {}),
      std::invalid_argument);
  EXPECT_THROW(GeoCatalog({M("05515", "05515000", "a")}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace fanout::domain::geo
