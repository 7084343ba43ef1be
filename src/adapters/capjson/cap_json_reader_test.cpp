#include "adapters/capjson/cap_json_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "domain/cap/classify.hpp"

namespace fanout::adapters::capjson {
namespace {

namespace cap = domain::cap;
using ::testing::ElementsAre;

std::string Nina(const std::string& name) {
  std::ifstream in(std::string(FANOUT_DATA_DIR) + "/cap/nina-json/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const cap::Issue* Find(const std::vector<cap::Issue>& v, std::string_view code) {
  auto it = std::find_if(v.begin(), v.end(), [&](const cap::Issue& i) { return i.code == code; });
  return it == v.end() ? nullptr : &*it;
}

std::string Codes(const cap::CheckResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.code + ": " + e.message + "\n";
  return s;
}

TEST(CapJsonReader, MowasHessenCancel) {
  cap::CheckResult r =
      CapJsonReader().Read(Nina("warning-mow.DE-HE-KS-SE106-20250313-106-001-cancel.json"));
  ASSERT_TRUE(r.alert);
  EXPECT_TRUE(r.valid) << Codes(r);
  EXPECT_TRUE(r.usable);
  const cap::Alert& a = *r.alert;
  EXPECT_EQ(a.identifier, "mow.DE-HE-KS-SE106-20250313-106-001");
  EXPECT_EQ(a.msg_type, "Cancel");
  ASSERT_EQ(a.references.size(), 1u);
  EXPECT_EQ(a.references[0].sender, "DE-HE-KS-SE106");
  EXPECT_EQ(a.references[0].identifier, "mow.DE-HE-KS-SE106-20250313-106-000");
  EXPECT_EQ(a.references[0].sent, "2025-03-13T09:15:06-00:00");
  std::vector<std::string> langs;
  for (const auto& i : a.infos) langs.push_back(i.language);
  EXPECT_THAT(langs, ElementsAre("DE", "DE-LS", "EN", "AR", "ES", "FR", "PL", "RU", "TR"));
  EXPECT_EQ(cap::AlertSeverity(a), cap::Severity::kExtreme);
  EXPECT_THAT(a.infos[0].categories,
              ElementsAre("Geo", "Rescue", "Fire", "Infra", "CBRNE", "Safety", "Other"));
  auto p =
      std::find_if(a.infos[0].parameters.begin(), a.infos[0].parameters.end(),
                   [](const cap::ValuePair& v) { return v.name == "warnVerwaltungsbereiche"; });
  ASSERT_NE(p, a.infos[0].parameters.end());
  EXPECT_EQ(std::count(p->value.begin(), p->value.end(), ',') + 1, 25);
  EXPECT_EQ(p->value.substr(0, 12), "066340000000");
  ASSERT_EQ(a.infos[0].areas.size(), 1u);
  EXPECT_EQ(a.infos[0].areas[0].desc, "Land Hessen");
  ASSERT_EQ(a.infos[0].areas[0].geocodes.size(), 1u);
  EXPECT_EQ(a.infos[0].areas[0].geocodes[0].name, "AreaId");
  // NINA text carries HTML: a warning, not an error.
  EXPECT_NE(Find(r.warnings, "TEXT_CONTAINS_HTML_TAGS"), nullptr);
  EXPECT_NE(Find(r.warnings, "TEXT_CONTAINS_HTML_ENTITIES"), nullptr);
}

TEST(CapJsonReader, MowasSaarlandCancel) {
  cap::CheckResult r =
      CapJsonReader().Read(Nina("warning-mow.DE-SL-SB-SE035-20260920-35-001-cancel-seevee.json"));
  ASSERT_TRUE(r.alert);
  EXPECT_TRUE(r.valid) << Codes(r);
  EXPECT_EQ(r.alert->msg_type, "Cancel");
  ASSERT_EQ(r.alert->references.size(), 1u);
  EXPECT_EQ(r.alert->references[0].identifier, "mow.DE-SL-SB-SE035-20260920-35-000");
  ASSERT_EQ(r.alert->infos.size(), 2u);
  EXPECT_EQ(r.alert->infos[0].response_types, std::vector<std::string>{"AllClear"});
  const auto& params = r.alert->infos[0].parameters;
  auto p = std::find_if(params.begin(), params.end(), [](const cap::ValuePair& v) {
    return v.name == "warnVerwaltungsbereiche";
  });
  ASSERT_NE(p, params.end());
  EXPECT_EQ(p->value, "100440114114");
  EXPECT_TRUE(r.alert->infos[0].areas.at(0).geocodes.empty());
}

TEST(CapJsonReader, DwdViaNinaUpdate) {
  cap::CheckResult r = CapJsonReader().Read(Nina("warning-dwdmap-update-wernigerode-seevee.json"));
  ASSERT_TRUE(r.alert);
  EXPECT_TRUE(r.valid) << Codes(r);
  EXPECT_EQ(r.alert->msg_type, "Update");
  EXPECT_EQ(r.alert->source, "PVW");
  EXPECT_EQ(r.alert->codes.size(), 2u);
  ASSERT_EQ(r.alert->references.size(), 1u);
  EXPECT_EQ(r.alert->references[0].sender, "opendata@dwd.de");
  EXPECT_EQ(r.alert->infos.size(), 3u);
  EXPECT_EQ(cap::AlertSeverity(*r.alert), cap::Severity::kModerate);
}

TEST(CapJsonReader, PolygonsAreSwappedToLatLonAndFillersDropped) {
  std::string d = R"({"identifier":"X","sender":"S","sent":"2024-05-01T10:00:00+02:00",
    "status":"Actual","msgType":"Alert","scope":"Public","info":[{"category":["Met"],
    "event":"E","urgency":"Immediate","severity":"Minor","certainty":"Likely",
    "area":[{"areaDesc":"A","polygon":["7.5,52.0 7.6,52.1 -1.0,-1.0 7.7,52.0 7.5,52.0 -1.0,-1.0"]}]}]})";
  cap::CheckResult r = CapJsonReader().Read(d);
  ASSERT_TRUE(r.alert);
  EXPECT_TRUE(r.valid) << Codes(r);
  EXPECT_EQ(r.alert->infos[0].areas[0].polygons.at(0), "52.0,7.5 52.1,7.6 52.0,7.7 52.0,7.5");
  const cap::Issue* w = Find(r.warnings, "POLYGON_FILLER_PAIR_DROPPED");
  ASSERT_NE(w, nullptr);
  EXPECT_NE(w->message.find("2 "), std::string::npos) << w->message;

  CapJsonReaderSettings cap_order;
  cap_order.polygons_lon_lat = false;
  std::string c = d;
  c.replace(c.find("7.5,52.0 7.6,52.1"), 17, "52.0,7.5 52.1,7.6");
  c.replace(c.find("7.7,52.0 7.5,52.0"), 17, "52.0,7.7 52.0,7.5");
  EXPECT_EQ(CapJsonReader(cap_order).Read(c).alert->infos[0].areas[0].polygons.at(0),
            "52.0,7.5 52.1,7.6 52.0,7.7 52.0,7.5");
}

TEST(CapJsonReader, SloppyValuesAreReportedNotFatal) {
  // `Z` is sloppy but unambiguous; the original smoketest`s one-digit hour (below) is fatal.
  std::string d = R"({"identifier":"AP2-Test-1","sender":"S","sent":"2022-02-06T08:32:17Z",
    "status":"Actual","msgType":"Alert","scope":"Public","foo":1,"info":[{"language":"DE",
    "category":"Met","event":"E","urgency":"Immediate","severity":"Extreme","certainty":"Likely",
    "headline":42,"area":[{"areaDesc":"A","geocode":[{"valueName":"WARNCELL","value":10}]}]}]})";
  cap::CheckResult r = CapJsonReader().Read(d);
  ASSERT_TRUE(r.alert);
  EXPECT_TRUE(r.usable) << Codes(r);
  EXPECT_FALSE(r.valid);
  EXPECT_NE(Find(r.errors, "INVALID_DATE"), nullptr);
  EXPECT_NE(Find(r.errors, "JSON_TYPE_MISMATCH"), nullptr);                  // headline 42
  EXPECT_NE(Find(r.warnings, "UNSUPPORTED_ELEMENT"), nullptr);               // "foo"
  EXPECT_EQ(r.alert->infos[0].categories, std::vector<std::string>{"Met"});  // single string ok
  EXPECT_EQ(r.alert->infos[0].areas[0].geocodes.at(0).value, "10");          // number accepted

  std::string unparseable = d;
  unparseable.replace(unparseable.find("2022-02-06T08:32:17Z"), 20, "2022-02-06T8:32:17Z");
  cap::CheckResult u = CapJsonReader().Read(unparseable);
  const cap::Issue* i = Find(u.errors, "INVALID_DATE");
  ASSERT_NE(i, nullptr);
  EXPECT_TRUE(i->fatal);
  EXPECT_FALSE(u.usable);
}

TEST(CapJsonReader, NonAlerts) {
  for (const char* name :
       {"mapdata-dwd-seevee.json", "mapdata-mowas-seevee.json", "dashboard-sample-ha.json",
        "dashboard-110000000000-seevee.json", "warning-details-sample-ha.json",
        "warning-mow.DE-HE-KS-SE106-20250313-106-001.geojson"}) {
    SCOPED_TRACE(name);
    cap::CheckResult r = CapJsonReader().Read(Nina(name));
    ASSERT_EQ(r.errors.size(), 1u) << Codes(r);
    EXPECT_EQ(r.errors[0].code, "NOT_AN_ALERT");
    EXPECT_TRUE(r.errors[0].fatal);
    EXPECT_FALSE(r.alert);
  }
  EXPECT_EQ(CapJsonReader().Read(Nina("warning-details-sample-ha.json")).errors[0].message,
            "a map of 3 warnings keyed by id; send one alert per document");
  cap::CheckResult bad = CapJsonReader().Read("{\"identifier\": ");
  EXPECT_EQ(bad.errors.at(0).code, "JSON_MALFORMED");
  EXPECT_EQ(CapJsonReader().Read("\"x\"").errors.at(0).code, "NOT_AN_ALERT");
}

TEST(CapJsonReader, Limits) {
  CapJsonReaderSettings s;
  s.limits.max_body_bytes = 10;
  EXPECT_EQ(CapJsonReader(s)
                .Read(Nina("warning-mow.DE-SL-SB-SE035-20260920-35-001-cancel-seevee.json"))
                .errors.at(0)
                .code,
            "TOO_LARGE");
  CapJsonReaderSettings d;
  d.limits.max_depth = 3;
  EXPECT_EQ(CapJsonReader(d).Read(R"({"info":[{"area":[{"areaDesc":"x"}]}]})").errors.at(0).code,
            "TOO_DEEP");
  CapJsonReaderSettings n;
  n.limits.max_elements = 5;
  EXPECT_EQ(CapJsonReader(n).Read(R"({"code":["a","b","c","d","e","f"]})").errors.at(0).code,
            "TOO_MANY_ELEMENTS");
}

}  // namespace
}  // namespace fanout::adapters::capjson
