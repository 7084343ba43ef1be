#include "domain/geo/resolve.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fanout::domain::geo {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Municipality M(std::string ars, std::string ags, std::string name) {
  return Municipality{std::move(ars), std::move(ags), std::move(name), 50.0, 8.0};
}

// Real keys and names (VG5000-2021 / DWD list), a subset large enough for every rule.
GeoCatalog Catalog() {
  return GeoCatalog(
      {
          M("010510011011", "01051011", "Brunsbüttel"),
          M("010510044044", "01051044", "Heide"),
          M("010560025025", "01056025", "Helgoland"),
          M("010560015015", "01056015", "Pinneberg"),
          M("020000000000", "02000000", "Hamburg"),
          M("055150000000", "05515000", "Münster"),
          M("051110000000", "05111000", "Düsseldorf"),
          M("091620000000", "09162000", "München"),
          M("091840116116", "09184116", "Garching b.München"),
          M("091840119119", "09184119", "Grünwald"),
          M("100410100100", "10041100", "Saarbrücken"),
          M("100410111111", "10041111", "Völklingen"),
          M("110000000000", "11000000", "Berlin"),
      },
      {
          WarnCell{"101051000", "Kreis Dithmarschen", "SH", ""},
          WarnCell{"105515000", "Stadt Münster", "NW", ""},
          WarnCell{"109162000", "Stadt München", "BY", ""},
          WarnCell{"109184000", "Kreis München", "BY", ""},
          WarnCell{"801051011", "Stadt Brunsbüttel", "SH", ""},
          WarnCell{"805515000", "Stadt Münster", "NW", ""},
          WarnCell{"702000101", "Hamburg-Wandsbek", "HH", ""},
          WarnCell{"705111001", "Düsseldorf-Mitte/West", "NW", ""},
          WarnCell{"710041101", "Saarbrücken-West", "SL", ""},
          WarnCell{"711001001", "Berl. - Marzahn", "BE", ""},
          WarnCell{"701051031", "Insel Trischen", "SH", ""},
          WarnCell{"901051001", "Kreis Dithmarschen - Binnenland", "SH", ""},
          WarnCell{"901056002", "Insel Helgoland", "SH", ""},
          WarnCell{"909184999", "Kreis und Stadt München", "BY", ""},
          WarnCell{"901000001", "Schleswig-Holstein - Binnenland", "SH", ""},
          WarnCell{"209913000", "Chiemsee", "BY", ""},
          WarnCell{"501000005", "Nordfriesische Küste", "", ""},
          WarnCell{"401000008", "Deutsche Bucht", "", ""},
      });
}

cap::Alert AlertWith(std::vector<cap::ValuePair> geocodes,
                     std::vector<cap::ValuePair> parameters = {}) {
  cap::Alert a;
  cap::Info info;
  info.parameters = std::move(parameters);
  cap::Area area;
  area.desc = "test";
  area.geocodes = std::move(geocodes);
  info.areas.push_back(std::move(area));
  a.infos.push_back(std::move(info));
  return a;
}

std::vector<std::string> Codes(const AreaResolution& r) {
  std::vector<std::string> out;
  for (const auto& i : r.unresolved) out.push_back(i.code);
  return out;
}

TEST(ResolveWarnCell, EveryRule) {
  const GeoCatalog c = Catalog();
  using K = WarnCellResolution::Kind;
  struct Case {
    std::string id;
    K kind;
    std::vector<std::string> keys;
  };
  const std::vector<Case> cases = {
      {"801051011", K::kExact, {"010510011011"}},                  // 8 + AGS
      {"101051000", K::kExact, {"010510000000"}},                  // 1 + Kreis + 000
      {"702000101", K::kExact, {"020000000000"}},                  // quarter of a city-Kreis
      {"705111001", K::kExact, {"051110000000"}},                  // Düsseldorf
      {"710041101", K::kExact, {"100410100100"}},                  // Saarbrücken by name
      {"711001001", K::kExact, {"110000000000"}},                  // Berlin via Land
      {"701051031", K::kSuperset, {"010510000000"}},               // Trischen: Kreis
      {"901051001", K::kSuperset, {"010510000000"}},               // Kreis part
      {"901056002", K::kExact, {"010560025025"}},                  // island by name
      {"909184999", K::kExact, {"091840000000", "091620000000"}},  // Kreis und Stadt
      {"901000001", K::kSuperset, {"010000000000"}},               // Land region
      {"209913000", K::kNeedsGeometry, {}},
      {"501000005", K::kNeedsGeometry, {}},
      {"401000008", K::kNoMunicipality, {}},
      {"801051012", K::kUnknown, {}},  // AGS unknown
      {"103000000", K::kUnknown, {}},  // not a Kreis
      {"709999001", K::kUnknown, {}},  // not in the list
      {"12345", K::kUnknown, {}},
  };
  for (const Case& t : cases) {
    const WarnCellResolution r = ResolveWarnCell(t.id, c);
    EXPECT_EQ(r.kind, t.kind) << t.id << ": " << r.note;
    EXPECT_EQ(r.keys, t.keys) << t.id << ": " << r.note;
    EXPECT_FALSE(r.note.empty()) << t.id;
  }
}

TEST(ResolveArea, RegionKeysAtAnyLevelAndForm) {
  const GeoCatalog c = Catalog();
  const auto r = ResolveArea(
      AlertWith({{"ARS", "091840000000"}, {"SHN", "05515"}, {"shn", "01,11"}, {"ARS", "09162000"}}),
      c);
  EXPECT_THAT(r.municipalities, ElementsAre("010510011011", "010510044044", "010560015015",
                                            "010560025025", "055150000000", "091620000000",
                                            "091840116116", "091840119119", "110000000000"));
  EXPECT_THAT(r.unresolved, IsEmpty());
}

TEST(ResolveArea, UnknownAndInvalidKeysAreReported) {
  const GeoCatalog c = Catalog();
  const auto r =
      ResolveArea(AlertWith({{"ARS", "120000000000"}, {"ARS", "0551"}, {"AGS", "99999999"}}), c);
  EXPECT_THAT(r.municipalities, IsEmpty());
  EXPECT_THAT(Codes(r),
              ElementsAre("UNKNOWN_REGION_KEY", "INVALID_REGION_KEY", "UNKNOWN_REGION_KEY"));
}

TEST(ResolveArea, WarnCellsAndTheirCodes) {
  const GeoCatalog c = Catalog();
  const auto r = ResolveArea(AlertWith({{"WARNCELLID", "801051011"},
                                        {"WARNCELL", "105515000"},
                                        {"WARNCELLID", "709999001"},
                                        {"WARNCELLID", "209913000"},
                                        {"WARNCELLID", "401000008"}}),
                             c);
  EXPECT_THAT(r.municipalities, ElementsAre("010510011011", "055150000000"));
  EXPECT_THAT(Codes(r), ElementsAre("UNKNOWN_WARNCELL", "NO_GEOMETRY_SUPPORT"));
  // The sea cell is known and says so in the notes instead of being "unresolved".
  bool sea_noted = false;
  for (const auto& n : r.notes) sea_noted |= n.find("401000008") != std::string::npos;
  EXPECT_TRUE(sea_noted);
}

TEST(ResolveArea, ForeignSystemsPolygonsCirclesAndNinaPlaceholder) {
  const GeoCatalog c = Catalog();
  cap::Alert a = AlertWith({{"SAME", "006113"},
                            {"UGC", "CAZ017"},
                            {"AreaId", "0"},
                            {"WKT", "POLYGON((8 50,9 50,9 51,8 50))"}});
  a.infos[0].areas[0].polygons = {"50,8 50,9 51,9 50,8"};
  a.infos[0].areas[0].circles = {"50,8 10"};
  const auto r = ResolveArea(a, c);
  EXPECT_THAT(r.municipalities, IsEmpty());
  EXPECT_THAT(Codes(r),
              ElementsAre("NO_GEOMETRY_SUPPORT", "NO_GEOMETRY_SUPPORT", "UNSUPPORTED_GEOCODE",
                          "UNSUPPORTED_GEOCODE", "NO_GEOMETRY_SUPPORT"));
}

TEST(ResolveArea, NinaParameterCarriesTheArea) {
  const GeoCatalog c = Catalog();
  const auto r = ResolveArea(
      AlertWith({{"AreaId", "0"}}, {{"warnVerwaltungsbereiche", "091840000000,055150000000"},
                                    {"ZGEM", "5995+14,100001"}}),
      c);
  EXPECT_THAT(r.municipalities, ElementsAre("055150000000", "091840116116", "091840119119"));
  EXPECT_THAT(r.unresolved, IsEmpty());
}

TEST(ResolveArea, UnionOverInfosAndAreasSortedUniqueAndDeduplicatedIssues) {
  const GeoCatalog c = Catalog();
  cap::Alert a;
  for (int lang = 0; lang < 3; ++lang) {  // the same areas in three languages
    cap::Info info;
    cap::Area a1;
    a1.geocodes = {{"WARNCELLID", "805515000"}, {"WARNCELLID", "709999001"}};
    cap::Area a2;
    a2.geocodes = {{"ARS", "110000000000"}, {"ARS", "055150000000"}};
    info.areas = {a1, a2};
    a.infos.push_back(info);
  }
  const auto r = ResolveArea(a, c);
  EXPECT_THAT(r.municipalities, ElementsAre("055150000000", "110000000000"));
  EXPECT_THAT(Codes(r), ElementsAre("UNKNOWN_WARNCELL"));
}

TEST(ResolveArea, AreaWithOnlyADescriptionIsResolvedByDwdCellNameOrReported) {
  const GeoCatalog c = Catalog();
  cap::Alert a;
  a.infos.resize(1);
  a.infos[0].areas.resize(3);
  a.infos[0].areas[0].desc = "Stadt Münster";  // a type-1 and a type-8 cell: same place
  a.infos[0].areas[1].desc = "Kreis München";
  a.infos[0].areas[2].desc = "somewhere";
  const auto r = ResolveArea(a, c);
  EXPECT_THAT(r.municipalities, ElementsAre("055150000000", "091840116116", "091840119119"));
  EXPECT_THAT(Codes(r), ElementsAre("NO_AREA_CODES"));
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0].code, "AREA_RESOLVED_BY_NAME");
  // With the NINA parameter carrying the area, a bare areaDesc is not a problem.
  a.infos[0].parameters = {{"warnVerwaltungsbereiche", "055150000000"}};
  a.infos[0].areas.resize(1);
  a.infos[0].areas[0].desc = "somewhere";
  const auto r2 = ResolveArea(a, c);
  EXPECT_THAT(r2.municipalities, ElementsAre("055150000000"));
  EXPECT_THAT(r2.unresolved, IsEmpty());
}

TEST(ResolveArea, EmptyAlertResolvesToNothing) {
  const auto r = ResolveArea(cap::Alert{}, Catalog());
  EXPECT_THAT(r.municipalities, IsEmpty());
  EXPECT_THAT(r.unresolved, IsEmpty());
}

}  // namespace
}  // namespace fanout::domain::geo
