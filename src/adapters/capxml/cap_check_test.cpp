// `fanout cap check` behind the CLI: RunCapCheck over the corpus, parsed back line by line.
#include "adapters/capxml/cap_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

namespace fanout::adapters::capxml {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ::testing::ElementsAre;

const std::string kCap = std::string(FANOUT_DATA_DIR) + "/cap/";
const std::string kDwd =
    kCap + "dwd/2.49.0.0.276.0.DWD.PVW.1687470000000.fe90b61b-3755-4efb-8eda-b161251da9f7.MUL.xml";
const std::string kHessen =
    kCap + "nina-json/warning-mow.DE-HE-KS-SE106-20250313-106-001-cancel.json";

std::vector<Json> Lines(const std::string& out) {
  std::vector<Json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) v.push_back(Json::parse(line));
  return v;
}

TEST(CapCheck, OneLinePerFileWithTheDocumentedKeysInOrder) {
  std::ostringstream out;
  int rc = RunCapCheck({kDwd, kHessen}, {}, out);
  EXPECT_EQ(rc, 0);
  // Key order as in DESIGN §7.1 (ordered_json keeps insertion order).
  const std::string first = out.str().substr(0, out.str().find('\n'));
  std::vector<std::string> keys;
  const nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(first);
  for (auto& [k, v] : parsed.items()) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre("file", "valid", "usable", "errors", "warnings", "identifier",
                                "sender", "sent", "status", "msgType", "scope", "severity", "level",
                                "priority", "languages", "references", "areas"));
  std::vector<Json> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 2u);
  const Json& d = lines[0];
  EXPECT_EQ(d["file"], kDwd);
  EXPECT_EQ(d["valid"], true);
  EXPECT_EQ(d["usable"], true);
  EXPECT_EQ(d["msgType"], "Alert");
  EXPECT_EQ(d["severity"], "Minor");
  EXPECT_EQ(d["level"], 3);
  EXPECT_EQ(d["priority"], "regular");
  EXPECT_EQ(d["languages"].size(), 8u);
  EXPECT_EQ(d["areas"].size(), 1352u);
  EXPECT_EQ(d["areas"][0]["desc"], "polygonal event area");
  EXPECT_EQ(d["areas"][0]["polygons"], 1);
  EXPECT_EQ(d["areas"][0]["circles"], 0);
  size_t warncells = 0;
  for (const Json& a : d["areas"]) {
    for (const Json& g : a["geocodes"]) warncells += g["name"] == "WARNCELLID";
  }
  EXPECT_EQ(warncells, 1344u);

  const Json& h = lines[1];
  EXPECT_EQ(h["msgType"], "Cancel");
  EXPECT_EQ(h["severity"], "Extreme");
  EXPECT_EQ(h["level"], 0);
  EXPECT_EQ(h["priority"], "high");  // Extreme, whatever the provider
  ASSERT_EQ(h["references"].size(), 1u);
  EXPECT_EQ(h["references"][0]["sender"], "DE-HE-KS-SE106");
  EXPECT_EQ(h["references"][0]["identifier"], "mow.DE-HE-KS-SE106-20250313-106-000");
  EXPECT_EQ(h["references"][0]["sent"], "2025-03-13T09:15:06-00:00");
  EXPECT_EQ(h["languages"].size(), 9u);
  EXPECT_EQ(h["warnings"].size(), 2u);  // HTML tags and entities
}

TEST(CapCheck, ProviderDecidesPriority) {
  std::ostringstream regular, high;
  CapCheckOptions ap2{.provider = "AP2"};
  CapCheckOptions ap1{.provider = "AP1"};
  RunCapCheck({kDwd}, ap2, regular);
  RunCapCheck({kDwd}, ap1, high);
  EXPECT_EQ(Lines(regular.str()).at(0)["priority"], "regular");
  EXPECT_EQ(Lines(high.str()).at(0)["priority"], "high");
}

TEST(CapCheck, ExitCodes) {
  std::ostringstream out;
  EXPECT_EQ(RunCapCheck({kDwd, kCap + "invalid/invalid-sequence-sendername-sweden.xml"}, {}, out),
            1);
  std::ostringstream io;
  const std::string missing = kCap + "does-not-exist.xml";
  EXPECT_EQ(RunCapCheck({missing, kCap + "invalid/invalid-xxe-doctype-entities.xml", kCap}, {}, io),
            2);
  std::vector<Json> lines = Lines(io.str());
  ASSERT_EQ(lines.size(), 3u);  // a line for every file, readable or not
  EXPECT_EQ(lines[0]["file"], missing);
  EXPECT_EQ(lines[0]["errors"][0]["code"], "IO_ERROR");
  EXPECT_EQ(lines[0]["usable"], false);
  EXPECT_TRUE(lines[0]["identifier"].is_null());
  EXPECT_EQ(lines[1]["errors"][0]["code"], "XML_DOCTYPE_FORBIDDEN");
  EXPECT_EQ(lines[2]["errors"][0]["code"], "IO_ERROR");  // a directory
}

TEST(CapCheck, WholeCorpus) {
  std::vector<std::string> files;
  for (const char* sub : {"", "dwd", "invalid", "wrapped", "nina-json"}) {
    for (const auto& e : fs::directory_iterator(kCap + sub)) {
      if (e.is_regular_file() && e.path().extension() != ".md") files.push_back(e.path());
    }
  }
  ASSERT_EQ(files.size(), 27u + 3 + 7 + 1 + 9);
  std::ostringstream out;
  EXPECT_EQ(RunCapCheck(files, {}, out), 1);
  std::vector<Json> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), files.size());
  size_t valid = 0, usable = 0;
  for (const Json& l : lines) {
    valid += l["valid"].get<bool>();
    usable += l["usable"].get<bool>();
    // errors and warnings are always arrays of {code, message}
    for (const char* k : {"errors", "warnings"}) {
      for (const Json& i : l[k]) {
        EXPECT_TRUE(i["code"].is_string());
        EXPECT_TRUE(i["message"].is_string());
      }
    }
  }
  // 30 XML minus the 2 spec-invalid top-level files, plus 3 NINA warnings.
  EXPECT_EQ(valid, 28u + 3u);
  // valid ones + 2 spec-invalid + 3 sequence violations + EDXL-wrapped.
  EXPECT_EQ(usable, 31u + 2u + 3u + 1u);
}

}  // namespace
}  // namespace fanout::adapters::capxml
