// Runs CapDecoder over every file of the sample corpus (data/cap, see its README) and asserts
// the verdict per file. A file added to the corpus without an expectation fails the test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

#include "adapters/capxml/cap_decoder.hpp"
#include "domain/cap/classify.hpp"

namespace fanout::adapters::capxml {
namespace {

namespace fs = std::filesystem;
namespace cap = domain::cap;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const fs::path kCapDir = fs::path(FANOUT_DATA_DIR) / "cap";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() != ".md") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool HasError(const cap::CheckResult& r, std::string_view code) {
  return std::any_of(r.errors.begin(), r.errors.end(),
                     [&](const cap::Issue& i) { return i.code == code; });
}

std::string Describe(const cap::CheckResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.code + (e.fatal ? "(fatal) " : " ") + e.message + "\n";
  return s;
}

cap::CheckResult Decode(const fs::path& p) {
  static const CapDecoder decoder;
  return decoder.Decode(ReadFile(p));
}

struct Expect {
  std::string code;  // an error code that must be present
  bool usable;
};

// Top-level files that are XSD-valid but break a CAP 1.2 spec rule (README "XSD" column is
// the schema verdict only): both are real feed defects, readable and therefore usable.
const std::map<std::string, Expect> kTopLevelExceptions = {
    // <polygon> with 3 pairs (first == last): "a minimum of 4 coordinate pairs MUST be present".
    {"dwd-update-thunderstorm-de.xml", {"INVALID_POLYGON", true}},
    // GDACS: stray '(' ')' inside coordinates, and the ring is not closed.
    {"gdacs-1023542.xml", {"INVALID_POLYGON", true}},
};

TEST(CapCorpus, TopLevelAndDwdXmlAreValid) {
  size_t n = 0;
  for (const fs::path& dir : {kCapDir, kCapDir / "dwd"}) {
    for (const fs::path& p : FilesIn(dir)) {
      SCOPED_TRACE(p.filename().string());
      ++n;
      cap::CheckResult r = Decode(p);
      ASSERT_TRUE(r.alert.has_value());
      auto ex = kTopLevelExceptions.find(p.filename().string());
      if (dir == kCapDir && ex != kTopLevelExceptions.end()) {
        EXPECT_FALSE(r.valid);
        EXPECT_TRUE(HasError(r, ex->second.code)) << Describe(r);
        EXPECT_EQ(r.usable, ex->second.usable) << Describe(r);
        // The only errors are the expected spec-rule ones: the schema accepts these files.
        for (const auto& e : r.errors) EXPECT_EQ(e.code, ex->second.code) << e.message;
        continue;
      }
      EXPECT_TRUE(r.valid) << Describe(r);
      EXPECT_TRUE(r.usable);
      EXPECT_THAT(r.errors, IsEmpty());
      EXPECT_FALSE(r.alert->identifier.empty());
    }
  }
  EXPECT_EQ(n, 30u);  // 27 top level + 3 DWD (data/cap/README.md)
}

TEST(CapCorpus, EveryInvalidFileHasItsSpecificReason) {
  const std::map<std::string, Expect> expected = {
      {"invalid-cap11-noaa-empty-required.xml", {"INVALID_NAMESPACE", false}},
      {"invalid-empty-references-canada.xml", {"INVALID_REFERENCES", false}},
      {"invalid-sequence-polygon-after-geocode-nws-augmented.xml", {"XSD_INVALID_SEQUENCE", true}},
      {"invalid-sequence-polygon-after-geocode-serbia-en-sr-srlatn.xml",
       {"XSD_INVALID_SEQUENCE", true}},
      {"invalid-sequence-sendername-sweden.xml", {"XSD_INVALID_SEQUENCE", true}},
      {"invalid-xxe-doctype-entities.xml", {"XML_DOCTYPE_FORBIDDEN", false}},
      {"nonstandard-alerts-container-smhi-18-alerts.xml", {"NOT_AN_ALERT", false}},
  };
  std::vector<fs::path> files = FilesIn(kCapDir / "invalid");
  ASSERT_EQ(files.size(), expected.size());
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.filename().string());
    auto it = expected.find(p.filename().string());
    ASSERT_NE(it, expected.end()) << "no expectation for this file";
    cap::CheckResult r = Decode(p);
    EXPECT_FALSE(r.valid);
    EXPECT_TRUE(HasError(r, it->second.code)) << Describe(r);
    EXPECT_EQ(r.usable, it->second.usable) << Describe(r);
  }
}

TEST(CapCorpus, SequenceViolationsAreReadLeniently) {
  cap::CheckResult r =
      Decode(kCapDir / "invalid" / "invalid-sequence-polygon-after-geocode-nws-augmented.xml");
  ASSERT_TRUE(r.alert);
  ASSERT_EQ(r.alert->infos.size(), 1u);
  size_t polygons = 0, geocodes = 0;
  for (const auto& a : r.alert->infos[0].areas) {
    polygons += a.polygons.size();
    geocodes += a.geocodes.size();
  }
  EXPECT_EQ(polygons, 18u);  // read by name although they follow the geocodes
  EXPECT_EQ(geocodes, 8u);
  for (const auto& e : r.errors) EXPECT_FALSE(e.fatal) << e.code;

  cap::CheckResult sweden = Decode(kCapDir / "invalid" / "invalid-sequence-sendername-sweden.xml");
  ASSERT_TRUE(sweden.alert);
  ASSERT_FALSE(sweden.alert->infos.empty());
  EXPECT_TRUE(sweden.alert->infos[0].sender_name.has_value());
}

TEST(CapCorpus, HostileXxeIsRefusedAndNothingLeaks) {
  const unsigned long loads_before = ExternalLoadAttempts();
  const fs::path p = kCapDir / "invalid" / "invalid-xxe-doctype-entities.xml";
  cap::CheckResult r = Decode(p);
  EXPECT_FALSE(r.usable);
  EXPECT_FALSE(r.alert.has_value());  // refused before parsing: no field can carry entities
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].code, "XML_DOCTYPE_FORBIDDEN");
  EXPECT_TRUE(r.errors[0].fatal);
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.message.find("root:"), std::string::npos);
    EXPECT_EQ(e.message.find("/bin/"), std::string::npos);
  }
  EXPECT_EQ(ExternalLoadAttempts(), loads_before);

  // Defence in depth: the same hostile document with the DOCTYPE hidden behind a comment and
  // a PI is still refused, and a document that merely references an undeclared entity is
  // malformed (nothing substituted, nothing fetched).
  std::string body = ReadFile(p);
  body.insert(body.find("<!DOCTYPE"), "<!-- x --><?pi y?>\n");
  cap::CheckResult r2 = CapDecoder().Decode(body);
  EXPECT_FALSE(r2.usable);
  EXPECT_TRUE(HasError(r2, "XML_DOCTYPE_FORBIDDEN"));
  std::string no_doctype = ReadFile(p);
  no_doctype.erase(no_doctype.find("<!DOCTYPE"),
                   no_doctype.find("]>") + 2 - no_doctype.find("<!DOCTYPE"));
  cap::CheckResult r3 = CapDecoder().Decode(no_doctype);
  EXPECT_FALSE(r3.usable);
  EXPECT_TRUE(HasError(r3, "XML_MALFORMED")) << Describe(r3);
  EXPECT_EQ(ExternalLoadAttempts(), loads_before);
}

TEST(CapCorpus, EdxlWrappedAlertIsUnwrapped) {
  cap::CheckResult r = Decode(kCapDir / "wrapped" / "edxlde-wrapped-rfs-australia-circle.xml");
  ASSERT_TRUE(r.alert);
  EXPECT_FALSE(r.valid);
  EXPECT_TRUE(r.usable) << Describe(r);
  ASSERT_EQ(r.errors.size(), 1u) << Describe(r);  // the inner alert itself is XSD-valid
  EXPECT_EQ(r.errors[0].code, "EDXL_WRAPPED");
  EXPECT_FALSE(r.errors[0].fatal);
  EXPECT_EQ(r.alert->identifier, "2014-05-08T10:31:00-00:00:160068");
  EXPECT_EQ(r.alert->sender, "webmaster@rfs.nsw.gov.au");
  ASSERT_EQ(r.alert->infos.size(), 1u);
  ASSERT_EQ(r.alert->infos[0].areas.size(), 1u);
  EXPECT_EQ(r.alert->infos[0].areas[0].circles.size(), 1u);
  EXPECT_EQ(r.alert->infos[0].areas[0].geocodes.size(), 1u);
}

TEST(CapCorpus, NinaJsonFiles) {
  const std::map<std::string, bool> is_alert = {
      {"dashboard-110000000000-seevee.json", false},
      {"dashboard-sample-ha.json", false},
      {"mapdata-dwd-seevee.json", false},
      {"mapdata-mowas-seevee.json", false},
      {"warning-details-sample-ha.json", false},  // id -> warning map
      {"warning-dwdmap-update-wernigerode-seevee.json", true},
      {"warning-mow.DE-HE-KS-SE106-20250313-106-001-cancel.json", true},
      {"warning-mow.DE-HE-KS-SE106-20250313-106-001.geojson", false},
      {"warning-mow.DE-SL-SB-SE035-20260920-35-001-cancel-seevee.json", true},
  };
  std::vector<fs::path> files = FilesIn(kCapDir / "nina-json");
  ASSERT_EQ(files.size(), is_alert.size());
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.filename().string());
    auto it = is_alert.find(p.filename().string());
    ASSERT_NE(it, is_alert.end());
    cap::CheckResult r = Decode(p);
    if (it->second) {
      EXPECT_TRUE(r.valid) << Describe(r);
      EXPECT_TRUE(r.usable);
    } else {
      EXPECT_FALSE(r.usable);
      EXPECT_FALSE(r.alert.has_value());
      ASSERT_EQ(r.errors.size(), 1u);
      EXPECT_EQ(r.errors[0].code, "NOT_AN_ALERT");
      EXPECT_TRUE(r.errors[0].fatal);
    }
  }
}

TEST(CapCorpus, DwdMulFieldsAreRead) {
  cap::CheckResult r = Decode(kCapDir / "dwd" /
                              "2.49.0.0.276.0.DWD.PVW.1687470000000.fe90b61b-3755-4efb-8eda-"
                              "b161251da9f7.MUL.xml");
  ASSERT_TRUE(r.alert);
  const cap::Alert& a = *r.alert;
  EXPECT_EQ(a.identifier,
            "2.49.0.0.276.0.DWD.PVW.1687470000000.fe90b61b-3755-4efb-8eda-b161251da9f7.MUL");
  EXPECT_EQ(a.sender, "opendata@dwd.de");
  EXPECT_EQ(a.sent, "2023-06-22T23:40:00+02:00");
  EXPECT_EQ(a.msg_type, "Alert");
  EXPECT_EQ(a.source, "PVW");
  EXPECT_EQ(cap::AlertSeverity(a), cap::Severity::kMinor);
  std::vector<std::string> langs;
  for (const auto& i : a.infos) langs.push_back(i.language);
  EXPECT_THAT(langs, ElementsAre("de-DE", "en", "fr", "es", "ar", "ru", "tr", "pl"));
  size_t areas = 0, polygons = 0, warncells = 0;
  for (const auto& i : a.infos) {
    areas += i.areas.size();
    for (const auto& ar : i.areas) {
      polygons += ar.polygons.size();
      for (const auto& g : ar.geocodes) warncells += g.name == "WARNCELLID";
    }
  }
  EXPECT_EQ(areas, 1352u);
  EXPECT_EQ(polygons, 8u);
  EXPECT_EQ(warncells, 1344u);
  EXPECT_EQ(a.infos[0].areas[1].desc, "Gemeinde Bovenden");
  ASSERT_EQ(a.infos[0].areas[1].geocodes.size(), 1u);
  EXPECT_EQ(a.infos[0].areas[1].geocodes[0].value.size(), 9u);  // 8 + AGS
  EXPECT_EQ(a.infos[0].areas[1].geocodes[0].value[0], '8');
}

TEST(CapCorpus, UpdateReferencesAreParsed) {
  cap::CheckResult r = Decode(kCapDir / "google-wcatwc-tsunami-update-paaq4.xml");
  ASSERT_TRUE(r.alert);
  EXPECT_EQ(r.alert->msg_type, "Update");
  EXPECT_EQ(r.alert->references.size(), 3u);
  for (const auto& ref : r.alert->references) {
    EXPECT_FALSE(ref.sender.empty());
    EXPECT_FALSE(ref.identifier.empty());
    EXPECT_TRUE(cap::ParseCapTime(ref.sent));
  }
  cap::CheckResult dwd = Decode(kCapDir / "dwd" /
                                "2.49.0.0.276.0.DWD.PVW.1687511640000.0d1a4fb5-251a-46fc-aae3-"
                                "a688d2021e71.MUL.xml");
  ASSERT_TRUE(dwd.alert);
  ASSERT_EQ(dwd.alert->references.size(), 1u);
  EXPECT_EQ(dwd.alert->references[0].sender, "opendata@dwd.de");
  EXPECT_EQ(dwd.alert->references[0].identifier,
            "2.49.0.0.276.0.DWD.PVW.1687503060000.fc4f7fd9-80e7-4d71-969a-254be3e27e83.MUL");
  EXPECT_EQ(dwd.alert->references[0].sent, "2023-06-23T08:51:00+02:00");
}

TEST(CapCorpus, Iso88591IsDecodedToUtf8) {
  cap::CheckResult r = Decode(kCapDir / "google-earthquake-iso8859-1.xml");
  ASSERT_TRUE(r.alert);
  EXPECT_TRUE(r.valid) << Describe(r);
  // The file's Latin-1 byte 0xE1 ("á") must arrive as UTF-8 C3 A1.
  ASSERT_FALSE(r.alert->infos.empty());
  ASSERT_TRUE(r.alert->infos[0].headline);
  EXPECT_NE(r.alert->infos[0].headline->find("Usulut\xC3\xA1n"), std::string::npos)
      << *r.alert->infos[0].headline;
}

TEST(CapDecoder, SniffsFormatAndRefusesUnknownOnes) {
  const CapDecoder decoder;
  const std::string xml = ReadFile(kCapDir / "oasis-a2-nws-severe-thunderstorm.xml");
  const std::string json = ReadFile(
      kCapDir / "nina-json" / "warning-mow.DE-SL-SB-SE035-20260920-35-001-cancel-seevee.json");
  cap::CheckResult padded = decoder.Decode("\xEF\xBB\xBF \n" + xml);
  EXPECT_TRUE(padded.valid);
  ASSERT_EQ(padded.warnings.size(), 1u);
  EXPECT_EQ(padded.warnings[0].code, "LEADING_WHITESPACE_IGNORED");
  EXPECT_TRUE(decoder.Decode("\xEF\xBB\xBF" + xml).warnings.empty());
  EXPECT_TRUE(decoder.Decode("\xEF\xBB\xBF\n" + json).valid);
  for (const std::string& junk : {std::string(), std::string(" \n"), std::string("hello")}) {
    cap::CheckResult r = decoder.Decode(junk);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].code, "NOT_AN_ALERT");
    EXPECT_FALSE(r.usable);
  }
  // A UTF-16 document could hide a DOCTYPE from the byte scan: refused outright.
  std::string utf16 = "\xFF\xFE";
  for (char c : std::string("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>")) {
    utf16 += c;
    utf16 += '\0';
  }
  const unsigned long loads = ExternalLoadAttempts();
  cap::CheckResult r = decoder.Decode(utf16);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].code, "UNSUPPORTED_ENCODING");
  EXPECT_FALSE(r.usable);
  cap::CheckResult no_bom = decoder.Decode(utf16.substr(2));  // UTF-16LE starts with '<'
  ASSERT_EQ(no_bom.errors.size(), 1u);
  EXPECT_EQ(no_bom.errors[0].code, "UNSUPPORTED_ENCODING");
  EXPECT_EQ(ExternalLoadAttempts(), loads);
  // Over the size limit: refused before any scan, whatever the format.
  CapDecoderSettings small;
  small.limits.max_body_bytes = 100;
  EXPECT_EQ(CapDecoder(small).Decode(json).errors.at(0).code, "TOO_LARGE");
}

// Mutation smoke test (runs under ASan/UBSan in the sanitizer build): corrupted corpus files
// must never crash, and every result must be self-consistent.
TEST(CapCorpus, MutatedDocumentsNeverCrash) {
  std::mt19937 rng(20261128);
  const CapDecoder decoder;
  const char* kFiles[] = {
      "oasis-a2-nws-severe-thunderstorm.xml", "google-earthquake-iso8859-1.xml",
      "wrapped/edxlde-wrapped-rfs-australia-circle.xml",
      "nina-json/warning-mow.DE-SL-SB-SE035-20260920-35-001-cancel-seevee.json"};
  const std::string kInserts[] = {
      "<",   ">",       "&", "\"", ",", " ", "\xFF",      "<!DOCTYPE x>",      "]]>",
      "<x>", "</info>", "{", "}",  "[", "]", "-1.0,-1.0", std::string(1, '\0')};
  size_t runs = 0;
  for (const char* name : kFiles) {
    const std::string original = ReadFile(kCapDir / name);
    for (int k = 0; k < 150; ++k) {
      std::string body = original;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !body.empty(); ++e) {
        size_t pos = rng() % body.size();
        switch (rng() % 3) {
          case 0:
            body.erase(pos, 1 + rng() % 16);
            break;
          case 1:
            body.insert(pos, kInserts[rng() % std::size(kInserts)]);
            break;
          default:
            body[pos] = static_cast<char>(rng() % 256);
        }
      }
      cap::CheckResult r = decoder.Decode(body);
      ++runs;
      const bool any_fatal = std::any_of(r.errors.begin(), r.errors.end(),
                                         [](const cap::Issue& i) { return i.fatal; });
      ASSERT_EQ(r.usable, r.alert.has_value() && !any_fatal) << name << " mutation " << k;
      ASSERT_EQ(r.valid, r.alert.has_value() && r.errors.empty()) << name << " mutation " << k;
      for (const auto& i : r.errors) ASSERT_FALSE(i.code.empty());
    }
  }
  EXPECT_EQ(runs, 600u);
}

}  // namespace
}  // namespace fanout::adapters::capxml
