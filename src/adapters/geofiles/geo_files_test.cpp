// Loads the real reference data (data/geo/) and checks the facts data/geo/README.md states,
// then resolves the DWD sample alerts' warn cells.
#include "adapters/geofiles/geo_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "domain/geo/resolve.hpp"

namespace fanout::adapters::geofiles {
namespace {

namespace geo = domain::geo;
using ::testing::IsEmpty;

const std::filesystem::path kGeoDir = FANOUT_DATA_DIR "/geo";

const geo::GeoCatalog& Catalog() {
  static const geo::GeoCatalog catalog = [] {
    auto c = LoadGeoCatalog(kGeoDir);
    if (!c) throw std::runtime_error(c.error().message);
    return std::move(*c);
  }();
  return catalog;
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LoadGeoCatalog, LoadsEveryRow) {
  const auto& c = Catalog();
  EXPECT_EQ(c.municipalities().size(), 10997u);
  EXPECT_EQ(c.warn_cells().size(), 11828u);
  const geo::WarnCell* harz = c.FindWarnCell("915085001");
  ASSERT_NE(harz, nullptr);
  EXPECT_EQ(harz->land, "ST");  // the CSV has "ST " with a trailing space
  EXPECT_EQ(harz->name, "Kreis Harz - Tiefland");
  const geo::Municipality* m = c.FindMunicipality("130710027027");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name, "Dargun");
  EXPECT_EQ(m->ags, "13071027");
  EXPECT_NEAR(m->label_lat, 53.9, 0.1);
}

TEST(LoadGeoCatalog, MissingFileIsNamed) {
  const auto dir = std::filesystem::temp_directory_path() / "fanout-geofiles-test-missing";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kGeoDir / kMunicipalitiesCsv, dir / kMunicipalitiesCsv,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(dir / kWarnCellsCsv);
  auto c = LoadGeoCatalog(dir);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, Error::Kind::kNotFound);
  EXPECT_THAT(c.error().message, ::testing::HasSubstr("dwd_warncellids.csv"));
  std::filesystem::remove_all(dir);
}

TEST(ParseCsv, MalformedRowsFailWithFileAndLine) {
  auto m = ParseMunicipalitiesCsv(
      "ars,ags,name,label_lat,label_lon\n010010000000,01001000,Flensburg,54.7,9.4\n"
      "01002,01002000,Kiel,54.3,10.1\n",
      "m.csv");
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message, ::testing::HasSubstr("m.csv:3"));
  auto bad_num = ParseMunicipalitiesCsv(
      "ars,ags,name,label_lat,label_lon\r\n010010000000,01001000,Flensburg,x,9.4\r\n", "m.csv");
  ASSERT_FALSE(bad_num);
  auto w = ParseWarnCellsCsv("WARNCELLID;NAME;KURZNAME;CCC;BL\n80100100;a;b;c;SH\n", "w.csv");
  ASSERT_FALSE(w);
  EXPECT_THAT(w.error().message, ::testing::HasSubstr("w.csv:2"));
  auto ok = ParseWarnCellsCsv(
      "\xEF\xBB\xBFWARNCELLID;NAME;KURZNAME;CCC;BL\r\n"
      "801001000;\"Stadt; Flensburg\";F;FLX;SH \r\n",
      "w.csv");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].name, "Stadt; Flensburg");
  EXPECT_EQ((*ok)[0].land, "SH");
}

TEST(RealData, ExpandCountsMatchTheReadme) {
  const auto& c = Catalog();
  EXPECT_EQ(c.Expand("050000000000").size(), 396u);   // NRW
  EXPECT_EQ(c.Expand("072320000000").size(), 234u);   // Eifelkreis Bitburg-Prüm
  EXPECT_EQ(c.Expand("110000000000").size(), 1u);     // Berlin
  EXPECT_EQ(c.Expand("070000000000").size(), 2301u);  // RP
  EXPECT_EQ(c.Expand("090000000000").size(), 2230u);  // BY
  EXPECT_EQ(c.Expand("020000000000").size(), 1u);     // HH
  EXPECT_EQ(c.Expand("040000000000").size(), 2u);     // HB
  std::size_t total = 0;
  for (int land = 1; land <= 16; ++land) {
    char key[13];
    std::snprintf(key, sizeof key, "%02d0000000000", land);
    total += c.Expand(key).size();
  }
  EXPECT_EQ(total, 10997u);
  // 401 Kreise, each a contiguous non-empty range; min 1, max 234.
  std::set<std::string> kreise;
  for (const auto& m : c.municipalities()) kreise.insert(m.ars.substr(0, 5));
  EXPECT_EQ(kreise.size(), 401u);
  std::size_t min = 1000, max = 0;
  for (const auto& k : kreise) {
    const std::size_t n = c.Expand(k + "0000000").size();
    min = std::min(min, n);
    max = std::max(max, n);
  }
  EXPECT_EQ(min, 1u);
  EXPECT_EQ(max, 234u);
}

TEST(RealData, EveryMunicipalityKeyIsKnownAndExpandsToItself) {
  const auto& c = Catalog();
  for (uint32_t i = 0; i < c.municipalities().size(); ++i) {
    const auto& m = c.municipalities()[i];
    ASSERT_TRUE(c.KnownKey(m.ars)) << m.ars;
    ASSERT_EQ(c.Expand(m.ars), std::vector<uint32_t>{i}) << m.ars << " " << m.name;
  }
}

TEST(RealData, EveryType8CellIsItsMunicipalityAndEveryType1ItsKreis) {
  const auto& c = Catalog();
  std::size_t n8 = 0, n1 = 0;
  std::set<std::string> seen8;
  for (const geo::WarnCell& cell : c.warn_cells()) {
    const auto type = geo::WarnCellTypeOf(cell.id);
    if (type == geo::WarnCellType::kMunicipality) {
      const auto r = geo::ResolveWarnCell(cell.id, c);
      ASSERT_EQ(r.kind, geo::WarnCellResolution::Kind::kExact) << cell.id;
      ASSERT_EQ(r.keys.size(), 1u);
      const geo::Municipality* m = c.FindMunicipality(r.keys[0]);
      ASSERT_NE(m, nullptr) << cell.id;
      EXPECT_EQ("8" + m->ags, cell.id);
      EXPECT_EQ(c.Expand(r.keys[0]).size(), 1u) << cell.id;
      seen8.insert(m->ars);
      ++n8;
    } else if (type == geo::WarnCellType::kKreis) {
      const auto r = geo::ResolveWarnCell(cell.id, c);
      ASSERT_EQ(r.kind, geo::WarnCellResolution::Kind::kExact) << cell.id;
      ASSERT_EQ(r.keys.size(), 1u);
      EXPECT_EQ(geo::LevelOf(r.keys[0]) == geo::KeyLevel::kKreis || c.Expand(r.keys[0]).size() == 1,
                true);
      EXPECT_EQ(r.keys[0].substr(0, 5), cell.id.substr(1, 5));
      EXPECT_FALSE(c.Expand(r.keys[0]).empty());
      ++n1;
    }
  }
  EXPECT_EQ(n8, 10997u);
  EXPECT_EQ(seen8.size(), 10997u);  // a bijection
  EXPECT_EQ(n1, 401u);
}

// What the types other than 1 and 8 resolve to, over the whole DWD list (docs/geo.md).
TEST(RealData, OtherWarnCellTypesResolveAsDocumented) {
  const auto& c = Catalog();
  using K = geo::WarnCellResolution::Kind;
  std::map<std::pair<char, K>, int> counts;
  for (const geo::WarnCell& cell : c.warn_cells()) {
    const char t = cell.id[0];
    if (t == '1' || t == '8') continue;
    const auto r = geo::ResolveWarnCell(cell.id, c);
    ++counts[{t, r.kind}];
    for (const auto& key : r.keys) EXPECT_FALSE(c.Expand(key).empty()) << cell.id;
  }
  // Type 7 (245): all but Insel Trischen map to exactly one municipality.
  EXPECT_EQ((counts[{'7', K::kExact}]), 244);
  EXPECT_EQ((counts[{'7', K::kSuperset}]), 1);
  // Type 9 (132): islands by name and "Kreis und Stadt" exactly, the rest as supersets.
  EXPECT_EQ((counts[{'9', K::kExact}] + counts[{'9', K::kSuperset}]), 132);
  EXPECT_EQ((counts[{'9', K::kUnknown}]), 0);
  EXPECT_EQ((counts[{'2', K::kNeedsGeometry}]), 25);
  EXPECT_EQ((counts[{'5', K::kNeedsGeometry}]), 8);
  EXPECT_EQ((counts[{'4', K::kNoMunicipality}]), 20);
  // Spot checks.
  EXPECT_EQ(geo::ResolveWarnCell("103000000", c).kind, K::kUnknown);  // "03000" is no Kreis
  EXPECT_EQ(geo::ResolveWarnCell("102000000", c).keys, std::vector<std::string>{"020000000000"});
  EXPECT_EQ(geo::ResolveWarnCell("710041102", c).keys,
            std::vector<std::string>{c.FindMunicipalityByAgs("10041100")->ars});  // Saarbrücken
  EXPECT_EQ(geo::ResolveWarnCell("711001001", c).keys,
            std::vector<std::string>{"110000000000"});  // Berlin
  EXPECT_EQ(geo::ResolveWarnCell("903457002", c).keys,
            std::vector<std::string>{c.FindMunicipalityByAgs("03457002")->ars});  // Borkum
  EXPECT_EQ(geo::ResolveWarnCell("909184999", c).keys,
            (std::vector<std::string>{"091840000000", "091620000000"}));
  // Regions whose names begin with a municipality's name are not that municipality.
  EXPECT_EQ(geo::ResolveWarnCell("903000007", c).keys,
            std::vector<std::string>{"030000000000"});  // Elbe-Weser-Gebiet, not "Elbe"
  EXPECT_EQ(geo::ResolveWarnCell("905000004", c).keys,
            std::vector<std::string>{"050000000000"});  // not the city of Köln
  EXPECT_EQ(geo::ResolveWarnCell("901000004", c).keys,
            std::vector<std::string>{c.FindMunicipalityByAgs("01056025")->ars});  // Helgoland
  EXPECT_EQ(geo::ResolveWarnCell("905000001", c).keys,
            std::vector<std::string>{"050000000000"});  // Bergisches Land -> NRW (superset)
}

// The DWD samples: the geocodes of every area, extracted with a regex (the CAP decoder is
// another component); the polygons are ignored here (geometry is Stage B).
domain::cap::Alert WarnCellAlert(const std::string& xml, std::vector<std::string>* ids) {
  static const std::regex kCell(R"(<valueName>WARNCELLID</valueName>\s*<value>([^<]*)</value>)");
  domain::cap::Alert alert;
  domain::cap::Info info;
  domain::cap::Area area;
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), kCell); it != std::sregex_iterator();
       ++it) {
    ids->push_back((*it)[1]);
    area.geocodes.push_back({"WARNCELLID", (*it)[1]});
  }
  info.areas.push_back(area);
  alert.infos.push_back(info);
  return alert;
}

TEST(RealData, DwdSamplesResolveEveryWarnCell) {
  const auto& c = Catalog();
  const std::map<std::string, std::size_t> expected = {
      {"2.49.0.0.276.0.DWD.PVW.1687470000000.fe90b61b-3755-4efb-8eda-b161251da9f7.MUL.xml", 168},
      {"2.49.0.0.276.0.DWD.PVW.1687511640000.0d1a4fb5-251a-46fc-aae3-a688d2021e71.MUL.xml", 3},
      {"2.49.0.0.276.0.DWD.PVW.1687514160000.20999218-5d5e-4761-b271-6c243f695568.MUL.xml", 45},
  };
  for (const auto& [file, n] : expected) {
    std::vector<std::string> ids;
    const auto alert =
        WarnCellAlert(Slurp(std::filesystem::path(FANOUT_DATA_DIR) / "cap/dwd" / file), &ids);
    ASSERT_FALSE(ids.empty()) << file;
    const auto r = geo::ResolveArea(alert, c);
    EXPECT_THAT(r.unresolved, IsEmpty()) << file;
    EXPECT_EQ(r.municipalities.size(), n) << file;
    // Each municipality is exactly one of the cells: 8 + AGS.
    std::set<std::string> from_ids;
    for (const auto& id : ids) from_ids.insert(c.FindMunicipalityByAgs(id.substr(1))->ars);
    EXPECT_EQ(std::set<std::string>(r.municipalities.begin(), r.municipalities.end()), from_ids);
    EXPECT_TRUE(std::is_sorted(r.municipalities.begin(), r.municipalities.end()));
  }
}

TEST(RealData, NinaWarnVerwaltungsbereiche) {
  const auto& c = Catalog();
  // From data/cap/nina-json/warning-mow.DE-SL-SB-SE035-...-cancel-seevee.json.
  domain::cap::Alert a;
  a.infos.resize(1);
  a.infos[0].parameters = {{"warnVerwaltungsbereiche", "100440114114"}};
  a.infos[0].areas.resize(1);
  a.infos[0].areas[0].geocodes = {{"AreaId", "0"}};
  auto r = geo::ResolveArea(a, c);
  EXPECT_EQ(r.municipalities, std::vector<std::string>{"100440114114"});
  EXPECT_THAT(r.unresolved, IsEmpty());
  // The 16 Länder keys of the nationwide HA sample: all of Germany.
  a.infos[0].parameters = {
      {"warnVerwaltungsbereiche",
       "130000000000,140000000000,160000000000,110000000000,020000000000,070000000000,"
       "030000000000,050000000000,080000000000,120000000000,010000000000,150000000000,"
       "040000000000,060000000000,090000000000,100000000000"}};
  r = geo::ResolveArea(a, c);
  EXPECT_EQ(r.municipalities.size(), 10997u);
}

}  // namespace
}  // namespace fanout::adapters::geofiles
