#include "adapters/geofiles/geo_commands.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace fanout::adapters::geofiles {
namespace {

using ::testing::HasSubstr;

namespace cap = domain::cap;
const std::filesystem::path kGeoDir = FANOUT_DATA_DIR "/geo";

const GeoData& Data() {
  static const GeoData* data = [] {
    auto d = LoadGeoData(kGeoDir, true);
    if (!d) throw std::runtime_error(d.error().message);
    return new GeoData(std::move(*d));
  }();
  return *data;
}

// Decodes a test format: first line "ALERT", then one "NAME VALUE..." line per geocode
// (NAME "POLYGON" / "CIRCLE" add a polygon / circle). Anything else is unreadable.
class FakeDecoder : public ports::AlertDecoder {
 public:
  cap::CheckResult Decode(std::string_view body) const override {
    cap::CheckResult r;
    if (!body.starts_with("ALERT\n")) {
      r.errors.push_back({"NOT_CAP", "not an alert", true});
      return r;
    }
    cap::Alert a;
    a.infos.resize(1);
    a.infos[0].areas.resize(1);
    auto& area = a.infos[0].areas[0];
    std::istringstream in{std::string(body.substr(6))};
    for (std::string line; std::getline(in, line);) {
      const auto sp = line.find(' ');
      if (sp == std::string::npos) continue;
      const std::string name = line.substr(0, sp), value = line.substr(sp + 1);
      if (name == "POLYGON") {
        area.polygons.push_back(value);
      } else if (name == "CIRCLE") {
        area.circles.push_back(value);
      } else {
        area.geocodes.push_back({name, value});
      }
    }
    r.alert = std::move(a);
    return r;
  }
};

std::filesystem::path WriteTemp(const std::string& name, const std::string& body) {
  const auto p = std::filesystem::temp_directory_path() / ("fanout-geo-cmd-" + name);
  std::ofstream(p) << body;
  return p;
}

TEST(FindGeoDir, ExplicitEnvExecutableAndFailure) {
  std::string tried;
  EXPECT_EQ(FindGeoDir(kGeoDir.string(), "/nonexistent/fanout", &tried), kGeoDir);
  // A binary somewhere below the repository finds the repository's data/geo.
  const auto exe =
      std::filesystem::path(FANOUT_DATA_DIR) / ".." / "build" / "x" / "apps" / "fanout" / "fanout";
  const auto found = FindGeoDir("", exe, &tried);
  ASSERT_TRUE(found);
  EXPECT_TRUE(std::filesystem::equivalent(*found, kGeoDir));
  EXPECT_FALSE(FindGeoDir("/nonexistent/geo", exe, &tried));  // explicit: no fallback
  EXPECT_THAT(tried, HasSubstr("/nonexistent/geo"));
  // $FANOUT_DATA_DIR (the one override every command reads) comes before the executable's
  // location, and a wrong value is an error rather than silently replaced.
  const auto data_dir = kGeoDir.parent_path();
  ::setenv("FANOUT_DATA_DIR", data_dir.c_str(), 1);
  const auto via_env = FindGeoDir("", "/nonexistent/fanout", &tried);
  ASSERT_TRUE(via_env);
  EXPECT_TRUE(std::filesystem::equivalent(*via_env, kGeoDir));
  ::setenv("FANOUT_DATA_DIR", "/nonexistent/env-data", 1);
  EXPECT_FALSE(FindGeoDir("", exe, &tried));
  EXPECT_THAT(tried, HasSubstr("/nonexistent/env-data"));
  ::unsetenv("FANOUT_DATA_DIR");
}

TEST(GeoResolve, PrintsSortedKeysPerFile) {
  const auto f1 = WriteTemp("a", "ALERT\nWARNCELLID 805515000\nARS 110000000000\n");
  const auto f2 = WriteTemp("b", "ALERT\nSAME 006113\n");
  std::ostringstream out, err;
  const int rc = RunGeoResolve({f1.string(), f2.string()}, FakeDecoder{}, Data(), false, out, err);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out.str(),
            "{\"region_keys\":[\"055150000000\",\"110000000000\"]}\n{\"region_keys\":[]}\n");
  EXPECT_THAT(err.str(), HasSubstr("UNSUPPORTED_GEOCODE"));
}

TEST(GeoResolve, GeometryDetailsAndErrors) {
  // A point circle in Berlin, a small triangle around Münster's label point (51.96, 7.62),
  // and an unreadable WKT.
  const auto f = WriteTemp("c",
                           "ALERT\nCIRCLE 52.5163,13.3777 0\n"
                           "POLYGON 51.95,7.61 51.95,7.63 51.97,7.62 51.95,7.61\n"
                           "WKT POLYGON((13.40 52.52\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunGeoResolve({f.string()}, FakeDecoder{}, Data(), true, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("{\"region_keys\":[\"055150000000\",\"110000000000\"]"));
  EXPECT_THAT(out.str(), HasSubstr("\"unresolved\":[{\"code\":\"INVALID_WKT\""));
  EXPECT_THAT(out.str(), HasSubstr("\"notes\":["));
  std::ostringstream out2, err2;
  EXPECT_EQ(RunGeoResolve({"/nonexistent.xml"}, FakeDecoder{}, Data(), false, out2, err2), 2);
  const auto bad = WriteTemp("g", "<not cap/>");
  EXPECT_EQ(RunGeoResolve({bad.string()}, FakeDecoder{}, Data(), false, out2, err2), 1);
  EXPECT_THAT(err2.str(), HasSubstr("NOT_CAP"));
  EXPECT_EQ(out2.str(), "");
}

TEST(GeoLocate, InsideAndOutside) {
  std::ostringstream out, err;
  EXPECT_EQ(RunGeoLocate(52.5163, 13.3777, Data(), out, err), 0);
  EXPECT_EQ(out.str(),
            "{\"ars\":\"110000000000\",\"name\":\"Berlin\",\"kreis\":\"Berlin\","
            "\"land\":\"Berlin\"}\n");
  out.str("");
  EXPECT_EQ(RunGeoLocate(48.8566, 2.3522, Data(), out, err), 1);
  EXPECT_EQ(out.str(), "");
}

TEST(GeoLocate, StreamKeepsOneLinePerInputLine) {
  std::istringstream in("52.5163 13.3777\n48.8566,2.3522\n\nnot a line\n51.9625 7.6256\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunGeoLocateStream(in, Data(), out, err), 2);
  std::vector<std::string> lines;
  std::istringstream o(out.str());
  for (std::string l; std::getline(o, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], HasSubstr("\"ars\":\"110000000000\""));
  EXPECT_EQ(lines[1], "{}");
  EXPECT_EQ(lines[2], "{}");
  EXPECT_EQ(lines[3], "{}");
  EXPECT_EQ(lines[4],
            "{\"ars\":\"055150000000\",\"name\":\"Münster\",\"kreis\":\"Stadt Münster\","
            "\"land\":\"Nordrhein-Westfalen\"}");
  EXPECT_THAT(err.str(), HasSubstr("line 4"));
}

}  // namespace
}  // namespace fanout::adapters::geofiles
