#include "adapters/capxml/cap_xml_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace fanout::adapters::capxml {
namespace {

namespace cap = domain::cap;

// Builds a small CAP 1.2 document; `header` and `info` replace the defaults when given.
std::string Doc(const std::string& info_extra = "", const std::string& area_extra = "",
                const std::string& sent = "2024-05-01T10:00:00+02:00",
                const std::string& status = "Actual",
                const std::string& ns = "urn:oasis:names:tc:emergency:cap:1.2") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns=")" +
         ns + R"(">
  <identifier>ID-1</identifier>
  <sender>sender@example.org</sender>
  <sent>)" +
         sent + R"(</sent>
  <status>)" +
         status + R"(</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Sturm</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>)" +
         info_extra + R"(
    <area>
      <areaDesc>Muenster</areaDesc>
      <polygon>52.0,7.5 52.1,7.6 52.0,7.7 52.0,7.5</polygon>)" +
         area_extra + R"(
    </area>
  </info>
</alert>
)";
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

TEST(CapXmlReader, EmbeddedSchemaIsTheOasisXsd) {
  EXPECT_NE(CapXsdText().find("targetNamespace=\"urn:oasis:names:tc:emergency:cap:1.2\""),
            std::string_view::npos);
  EXPECT_GT(CapXsdText().size(), 9000u);
}

TEST(CapXmlReader, MinimalDocumentIsValid) {
  cap::CheckResult r = CapXmlReader().Read(Doc());
  EXPECT_TRUE(r.valid) << Codes(r);
  EXPECT_TRUE(r.usable);
  ASSERT_TRUE(r.alert);
  EXPECT_EQ(r.alert->identifier, "ID-1");
  ASSERT_EQ(r.alert->infos.size(), 1u);
  ASSERT_EQ(r.alert->infos[0].areas.size(), 1u);
  EXPECT_EQ(r.alert->infos[0].areas[0].polygons[0], "52.0,7.5 52.1,7.6 52.0,7.7 52.0,7.5");
}

TEST(CapXmlReader, PrefixedNamespaceIsRead) {
  std::string d = R"(<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
<cap:identifier>X</cap:identifier><cap:sender>s</cap:sender>
<cap:sent>2024-05-01T10:00:00-00:00</cap:sent><cap:status>Test</cap:status>
<cap:msgType>Alert</cap:msgType><cap:scope>Public</cap:scope></cap:alert>)";
  cap::CheckResult r = CapXmlReader().Read(d);
  EXPECT_TRUE(r.valid) << Codes(r);
  EXPECT_EQ(r.alert->status, "Test");
}

TEST(CapXmlReader, DoctypeIsRefusedEvenWithoutExternalEntities) {
  // "Billion laughs": internal entities only.
  std::string d = R"(<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&b;</identifier></alert>)";
  cap::CheckResult r = CapXmlReader().Read(d);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].code, "XML_DOCTYPE_FORBIDDEN");
  EXPECT_FALSE(r.usable);
  EXPECT_FALSE(r.alert);
}

// The backstop behind the DOCTYPE refusal: once a reader exists, libxml2 cannot load any
// external resource in this process, even when asked to (DTDLOAD + NOENT, which the reader
// never uses).
TEST(CapXmlReader, ExternalLoaderRefusesEverything) {
  const CapXmlReader reader;
  const unsigned long before = ExternalLoadAttempts();
  const std::string d = R"(<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>)";
  xmlDocPtr doc = xmlReadMemory(d.data(), static_cast<int>(d.size()), nullptr, nullptr,
                                XML_PARSE_NOENT | XML_PARSE_DTDLOAD | XML_PARSE_NOERROR |
                                    XML_PARSE_NOWARNING | XML_PARSE_NONET);
  std::string content;
  if (doc != nullptr) {
    xmlChar* text = xmlNodeGetContent(xmlDocGetRootElement(doc));
    if (text) content = reinterpret_cast<const char*>(text);
    xmlFree(text);
    xmlFreeDoc(doc);
  }
  EXPECT_GT(ExternalLoadAttempts(), before);
  EXPECT_EQ(content.find("root:"), std::string::npos) << content;
}

TEST(CapXmlReader, MalformedXmlIsFatal) {
  cap::CheckResult r = CapXmlReader().Read("<alert><identifier>x</alert>");
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].code, "XML_MALFORMED");
  EXPECT_NE(r.errors[0].message.find("line 1"), std::string::npos) << r.errors[0].message;
  EXPECT_FALSE(r.usable);
  // Undeclared Latin-1 bytes are not UTF-8: malformed, not silently mangled.
  EXPECT_EQ(CapXmlReader().Read(Doc("<headline>Usulut\xE1n</headline>")).errors.at(0).code,
            "XML_MALFORMED");
}

TEST(CapXmlReader, WrongNamespaceIsFatalButRead) {
  cap::CheckResult r = CapXmlReader().Read(
      Doc("", "", "2024-05-01T10:00:00+02:00", "Actual", "urn:oasis:names:tc:emergency:cap:1.1"));
  const cap::Issue* i = Find(r.errors, "INVALID_NAMESPACE");
  ASSERT_NE(i, nullptr) << Codes(r);
  EXPECT_TRUE(i->fatal);
  EXPECT_FALSE(r.usable);
  ASSERT_TRUE(r.alert);
  EXPECT_EQ(r.alert->identifier, "ID-1");  // operators still see what it was

  cap::CheckResult none = CapXmlReader().Read("<alert><identifier>x</identifier></alert>");
  EXPECT_NE(Find(none.errors, "INVALID_NAMESPACE"), nullptr);
  EXPECT_FALSE(none.usable);
}

TEST(CapXmlReader, OtherRootsAreNotAlerts) {
  cap::CheckResult r = CapXmlReader().Read("<feed xmlns='http://www.w3.org/2005/Atom'/>");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].code, "NOT_AN_ALERT");
  EXPECT_FALSE(r.usable);
}

TEST(CapXmlReader, EdxlWithTwoAlertsIsRefused) {
  std::string inner = Doc().substr(Doc().find("<alert"));
  std::string d = "<EDXLDistribution xmlns='urn:oasis:names:tc:emergency:EDXL:DE:1.0'>" + inner +
                  inner + "</EDXLDistribution>";
  cap::CheckResult r = CapXmlReader().Read(d);
  EXPECT_NE(Find(r.errors, "NOT_AN_ALERT"), nullptr) << Codes(r);
  EXPECT_FALSE(r.usable);
  std::string one = "<EDXLDistribution xmlns='urn:oasis:names:tc:emergency:EDXL:DE:1.0'>" + inner +
                    "</EDXLDistribution>";
  cap::CheckResult ok = CapXmlReader().Read(one);
  EXPECT_TRUE(ok.usable) << Codes(ok);
  EXPECT_EQ(ok.errors.size(), 1u) << Codes(ok);
  EXPECT_NE(Find(ok.errors, "EDXL_WRAPPED"), nullptr);
  // The inner alert is really schema-validated, not just read.
  std::string bad_inner = Doc("<headline>H</headline><senderName>DWD</senderName>");
  bad_inner = bad_inner.substr(bad_inner.find("<alert"));
  cap::CheckResult seq = CapXmlReader().Read(
      "<EDXLDistribution xmlns='urn:oasis:names:tc:emergency:EDXL:DE:1.0'><contentObject>" +
      bad_inner + "</contentObject></EDXLDistribution>");
  EXPECT_NE(Find(seq.errors, "XSD_INVALID_SEQUENCE"), nullptr) << Codes(seq);
  EXPECT_NE(Find(seq.errors, "EDXL_WRAPPED"), nullptr);
  EXPECT_TRUE(seq.usable);
}

TEST(CapXmlReader, XsdValueErrorsAreMappedWithLineNumbers) {
  cap::CheckResult r = CapXmlReader().Read(Doc("", "", "2024-05-01T10:00:00Z"));
  const cap::Issue* xsd = Find(r.errors, "XSD_INVALID_VALUE");
  ASSERT_NE(xsd, nullptr) << Codes(r);
  EXPECT_NE(xsd->message.find("line 5"), std::string::npos) << xsd->message;
  EXPECT_FALSE(xsd->fatal);
  const cap::Issue* date = Find(r.errors, "INVALID_DATE");
  ASSERT_NE(date, nullptr);
  EXPECT_FALSE(date->fatal);
  EXPECT_TRUE(r.usable);  // `Z` is sloppy but unambiguous
  EXPECT_FALSE(r.valid);

  cap::CheckResult bad = CapXmlReader().Read(Doc("", "", "2024-05-01T10:00:00+02:00", "Real"));
  EXPECT_NE(Find(bad.errors, "XSD_INVALID_VALUE"), nullptr) << Codes(bad);
  EXPECT_NE(Find(bad.errors, "INVALID_ENUM_VALUE"), nullptr);
  EXPECT_FALSE(bad.usable);
}

TEST(CapXmlReader, XsdSequenceMissingAndUnknownElements) {
  // senderName after headline: order violation, read anyway.
  cap::CheckResult seq =
      CapXmlReader().Read(Doc("<headline>H</headline><senderName>DWD</senderName>"));
  EXPECT_NE(Find(seq.errors, "XSD_INVALID_SEQUENCE"), nullptr) << Codes(seq);
  EXPECT_TRUE(seq.usable);
  EXPECT_EQ(seq.alert->infos[0].sender_name, "DWD");

  cap::CheckResult unknown = CapXmlReader().Read(Doc("<colour>red</colour>"));
  EXPECT_NE(Find(unknown.errors, "XSD_UNSUPPORTED_ELEMENT"), nullptr) << Codes(unknown);
  EXPECT_TRUE(unknown.usable);

  std::string d = Doc();
  d.erase(d.find("<scope>"), std::string("<scope>Public</scope>").size());
  cap::CheckResult missing = CapXmlReader().Read(d);
  EXPECT_NE(Find(missing.errors, "XSD_MISSING_ELEMENT"), nullptr) << Codes(missing);
  const cap::Issue* m = Find(missing.errors, "MISSING_REQUIRED_ELEMENT");
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->fatal);
  EXPECT_FALSE(missing.usable);
}

TEST(CapXmlReader, PaddedIdentifierIsTrimmedAndReported) {
  std::string d = Doc();
  d.replace(d.find("<identifier>ID-1"), 16, "<identifier> ID-1\n");
  cap::CheckResult r = CapXmlReader().Read(d);
  EXPECT_EQ(r.alert->identifier, "ID-1");
  const cap::Issue* i = Find(r.errors, "INVALID_IDENTIFIER");
  ASSERT_NE(i, nullptr) << Codes(r);
  EXPECT_FALSE(i->fatal);
}

TEST(CapXmlReader, Limits) {
  CapXmlReaderSettings s;
  s.limits.max_body_bytes = 100;
  cap::CheckResult big = CapXmlReader(s).Read(Doc());
  ASSERT_EQ(big.errors.size(), 1u);
  EXPECT_EQ(big.errors[0].code, "TOO_LARGE");
  EXPECT_FALSE(big.usable);

  CapXmlReaderSettings deep;
  deep.limits.max_depth = 4;  // alert/info/area/polygon is exactly 4
  EXPECT_TRUE(CapXmlReader(deep).Read(Doc()).usable);
  cap::CheckResult too_deep = CapXmlReader(deep).Read(
      Doc("", "<geocode><valueName>a</valueName><value>b</value></geocode>"));
  EXPECT_EQ(too_deep.errors.at(0).code, "TOO_DEEP");
  EXPECT_FALSE(too_deep.usable);

  CapXmlReaderSettings few;
  few.limits.max_elements = 10;
  EXPECT_EQ(CapXmlReader(few).Read(Doc()).errors.at(0).code, "TOO_MANY_ELEMENTS");

  CapXmlReaderSettings points;
  points.limits.max_polygon_points = 3;
  cap::CheckResult p = CapXmlReader(points).Read(Doc());
  EXPECT_NE(Find(p.errors, "TOO_MANY_POLYGON_POINTS"), nullptr) << Codes(p);
  EXPECT_FALSE(p.usable);
}

TEST(CapXmlReader, ConcurrentReadsAgree) {
  std::ifstream in(std::string(FANOUT_DATA_DIR) +
                       "/cap/dwd/2.49.0.0.276.0.DWD.PVW.1687514160000.20999218-5d5e-4761-b271-"
                       "6c243f695568.MUL.xml",
                   std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string body = ss.str();
  ASSERT_GT(body.size(), 100000u);
  const CapXmlReader reader;
  const std::string bad = Doc("<headline>H</headline><senderName>DWD</senderName>");
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 5; ++k) {
        cap::CheckResult r = reader.Read(body);
        cap::CheckResult b = reader.Read(bad);
        ok[t] += r.valid && r.alert->infos.size() == 8 && !b.valid && b.usable &&
                 b.errors.size() == 1 && b.errors[0].code == "XSD_INVALID_SEQUENCE";
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(ok, ::testing::Each(5));
}

}  // namespace
}  // namespace fanout::adapters::capxml
