#include "domain/cap/validate.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace fanout::domain::cap {
namespace {

using ::testing::IsEmpty;

// A minimal strictly valid alert; tests break one thing at a time.
Alert Good() {
  Alert a;
  a.identifier = "ID-1";
  a.sender = "sender@example.org";
  a.sent = "2024-05-01T10:00:00+02:00";
  a.status = "Actual";
  a.msg_type = "Alert";
  a.scope = "Public";
  Info i;
  i.language = "de-DE";
  i.categories = {"Met"};
  i.event = "Sturm";
  i.urgency = "Immediate";
  i.severity = "Severe";
  i.certainty = "Likely";
  i.expires = "2024-05-01T18:00:00+02:00";
  Area area;
  area.desc = "Muenster";
  area.polygons = {"52.0,7.5 52.1,7.6 52.0,7.7 52.0,7.5"};
  area.circles = {"52.0,7.6 5"};
  area.geocodes = {{"WARNCELLID", "805515000"}};
  i.areas.push_back(area);
  a.infos.push_back(i);
  return a;
}

const Issue* Find(const std::vector<Issue>& v, std::string_view code) {
  auto it = std::find_if(v.begin(), v.end(), [&](const Issue& i) { return i.code == code; });
  return it == v.end() ? nullptr : &*it;
}

CheckResult Check(const Alert& a) {
  CheckResult r;
  r.alert = a;
  Findings f = Validate(a);
  r.errors = std::move(f.errors);
  r.warnings = std::move(f.warnings);
  Finalize(r);
  return r;
}

// Expects exactly: the error `code` present, with the given fatality.
void ExpectError(const Alert& a, std::string_view code, bool fatal) {
  CheckResult r = Check(a);
  const Issue* i = Find(r.errors, code);
  ASSERT_NE(i, nullptr) << "missing " << code;
  EXPECT_EQ(i->fatal, fatal) << code << ": " << i->message;
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.usable, !fatal) << code;
}

TEST(ParseCapTime, StrictFormat) {
  bool strict = false;
  auto t = ParseCapTime("2003-06-17T14:57:00-07:00", &strict);
  ASSERT_TRUE(t);
  EXPECT_TRUE(strict);
  EXPECT_EQ(*t, 1055887020);  // 2003-06-17T21:57:00Z
  EXPECT_EQ(ParseCapTime("1970-01-01T00:00:00+00:00"), 0);
  EXPECT_EQ(ParseCapTime("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseCapTime("2024-02-29T00:00:00-00:00"), 1709164800);
}

TEST(ParseCapTime, LenientFormsAreNotStrict) {
  bool strict = true;
  EXPECT_EQ(ParseCapTime("2022-02-06T08:32:17Z", &strict), 1644136337);
  EXPECT_FALSE(strict);
  strict = true;
  EXPECT_EQ(ParseCapTime("2022-02-06T08:32:17.250+00:00", &strict), 1644136337);
  EXPECT_FALSE(strict);
  strict = true;
  EXPECT_EQ(ParseCapTime(" 2022-02-06T08:32:17+00:00\n", &strict), 1644136337);
  EXPECT_FALSE(strict);
}

TEST(ParseCapTime, RejectsGarbage) {
  for (const char* s :
       {"", "2022-02-06", "2022-02-06T8:32:17Z", "2022-02-06T08:32:17", "2022-13-06T08:32:17+00:00",
        "2023-02-29T08:32:17+00:00", "2022-02-06T24:00:00+00:00", "2022-02-06T08:32:17+15:00",
        "2022-02-06T08:32:17+0100", "2022-02-06T08:32:17+01:00x", "2022-02-06 08:32:17+01:00",
        "2022-02-06T08:32:17.+01:00"}) {
    EXPECT_FALSE(ParseCapTime(s)) << s;
  }
}

TEST(Validate, GoodAlertIsValid) {
  CheckResult r = Check(Good());
  EXPECT_THAT(r.errors, IsEmpty()) << r.errors.front().code << " " << r.errors.front().message;
  EXPECT_THAT(r.warnings, IsEmpty());
  EXPECT_TRUE(r.valid);
  EXPECT_TRUE(r.usable);
}

TEST(Validate, IdentifierAndSenderCharacters) {
  for (const char* bad : {"a b", "a,b", "a<b", "a&b"}) {
    Alert a = Good();
    a.identifier = bad;
    ExpectError(a, "INVALID_IDENTIFIER", false);
    Alert b = Good();
    b.sender = bad;
    ExpectError(b, "INVALID_SENDER", false);
  }
}

TEST(Validate, MissingHeaderFieldsAreFatal) {
  Alert a = Good();
  a.identifier.clear();
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", true);
  a = Good();
  a.sender.clear();
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", true);
  a = Good();
  a.sent.clear();
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", true);
  a = Good();
  a.status.clear();
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", true);
  a = Good();
  a.msg_type.clear();
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", true);
  a = Good();
  a.scope.clear();
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", true);
}

TEST(Validate, Dates) {
  Alert a = Good();
  a.sent = "2024-05-01T08:00:00Z";
  ExpectError(a, "INVALID_DATE", false);
  a = Good();
  a.sent = "2024-05-01T08:00:00.5+00:00";
  ExpectError(a, "INVALID_DATE", false);
  a = Good();
  a.sent = "yesterday";
  ExpectError(a, "INVALID_DATE", true);
  a = Good();
  a.infos[0].expires = "2024-05-01";
  ExpectError(a, "INVALID_DATE", true);
  a = Good();
  a.infos[0].expires = "2024-05-01T09:00:00+02:00";  // before sent
  CheckResult r = Check(a);
  EXPECT_NE(Find(r.warnings, "EXPIRES_NOT_AFTER_EFFECTIVE"), nullptr);
  EXPECT_TRUE(r.valid);
}

TEST(Validate, HeaderEnums) {
  Alert a = Good();
  a.status = "Real";
  ExpectError(a, "INVALID_ENUM_VALUE", true);
  a = Good();
  a.status = "actual";  // unambiguous
  ExpectError(a, "INVALID_ENUM_VALUE", false);
  a = Good();
  a.msg_type = "Revoke";
  ExpectError(a, "INVALID_ENUM_VALUE", true);
  a = Good();
  a.scope = "Everyone";
  ExpectError(a, "INVALID_ENUM_VALUE", true);
}

TEST(Validate, InfoEnumsAreNonFatal) {
  Alert a = Good();
  a.infos[0].categories = {"Weather"};
  ExpectError(a, "INVALID_ENUM_VALUE", false);
  a = Good();
  a.infos[0].urgency = "Now";
  ExpectError(a, "INVALID_ENUM_VALUE", false);
  a = Good();
  a.infos[0].severity = "";
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", false);
  a = Good();
  a.infos[0].certainty = "Very Likely";
  ExpectError(a, "CERTAINTY_VERY_LIKELY_DEPRECATED", false);
  a = Good();
  a.infos[0].response_types = {"Run"};
  ExpectError(a, "INVALID_ENUM_VALUE", false);
  a = Good();
  a.infos[0].categories.clear();
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", false);
  a = Good();
  a.infos[0].language = "de_DE";
  ExpectError(a, "INVALID_LANGUAGE", false);
  a = Good();
  a.infos[0].language = "DE-LS";  // NINA upper case: fine
  EXPECT_TRUE(Check(a).valid);
}

TEST(Validate, Polygons) {
  Alert a = Good();
  a.infos[0].areas[0].polygons = {"52.0,7.5 52.1,7.6 52.0,7.5"};
  ExpectError(a, "INVALID_POLYGON", false);  // < 4 pairs
  a = Good();
  a.infos[0].areas[0].polygons = {"52.0,7.5 52.1,7.6 52.0,7.7 52.0,7.8"};
  ExpectError(a, "INVALID_POLYGON", false);  // not closed
  a = Good();
  a.infos[0].areas[0].polygons = {"52.0,7.5 52.1;7.6 52.0,7.7 52.0,7.5"};
  ExpectError(a, "INVALID_POLYGON", true);  // unparseable
  a = Good();
  a.infos[0].areas[0].polygons = {"152.0,7.5 152.1,7.6 152.0,7.7 152.0,7.5"};
  EXPECT_NE(Find(Check(a).warnings, "COORDINATES_SWAPPED"), nullptr);  // lon,lat: repaired
  a.infos[0].areas[0].polygons = {"152.0,97.5 152.1,7.6 152.0,7.7 152.0,97.5"};
  ExpectError(a, "INVALID_POLYGON", true);  // out of range either way
  a = Good();
  a.infos[0].areas[0].polygons = {"(52.0,7.5 52.1,7.6 52.0,7.7 52.0,7.5)"};
  ExpectError(a, "INVALID_POLYGON", false);  // GDACS-style stray parentheses: readable
  bool parens = false;
  auto pts = ParseCoordinatePairs("8.72977),-68.13409 8.7,(-68.1", &parens);
  ASSERT_TRUE(pts);
  EXPECT_TRUE(parens);
  EXPECT_EQ(pts->front(), (LatLon{8.72977, -68.13409}));
  EXPECT_FALSE(ParseCoordinatePairs("1,2 3,x"));
  EXPECT_FALSE(ParseCoordinatePairs("1e5,2 3,4"));
  EXPECT_FALSE(ParseCoordinatePairs("nan,2"));
  a = Good();
  a.infos[0].areas[0].polygons = {"52.0,7.5 52.1,7.6\n 52.0,7.7 52.0,7.5 \t\n"};
  EXPECT_TRUE(Check(a).valid);  // whitespace inside and after is fine
}

TEST(Validate, Circles) {
  Alert a = Good();
  a.infos[0].areas[0].circles = {"52.0,7.5"};
  ExpectError(a, "INVALID_CIRCLE", true);
  a = Good();
  a.infos[0].areas[0].circles = {"52.0,7.5,10"};
  ExpectError(a, "INVALID_CIRCLE", true);
  a = Good();
  a.infos[0].areas[0].circles = {"52.0,7.5 -1"};
  ExpectError(a, "INVALID_CIRCLE", true);
  a = Good();
  a.infos[0].areas[0].circles = {"52.0,7.5 0"};
  CheckResult r = Check(a);
  EXPECT_TRUE(r.valid);
  EXPECT_NE(Find(r.warnings, "NONZERO_CIRCLE_RADIUS_RECOMMENDED"), nullptr);
  auto c = ParseCircle("-35.3888,147.0598 25.0");
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(c->center.lat, -35.3888);
  EXPECT_DOUBLE_EQ(c->center.lon, 147.0598);
  EXPECT_DOUBLE_EQ(c->radius_km, 25.0);
}

TEST(Validate, ReferencesOfUpdateAndCancel) {
  Alert a = Good();
  a.msg_type = "Update";
  ExpectError(a, "UPDATE_OR_CANCEL_MUST_REFERENCE", true);
  a.references_raw = "";
  ExpectError(a, "INVALID_REFERENCES", true);
  a.references_raw = "sender@example.org,ID-0";
  ExpectError(a, "INVALID_REFERENCES", true);
  a.references_raw = "sender@example.org,ID-0,2024-05-01T09:00:00+02:00";
  EXPECT_TRUE(Check(a).valid);
  a.references_raw = "sender@example.org,ID-0,2024-05-01T09:00:00+02:00 junk";
  ExpectError(a, "INVALID_REFERENCES", false);  // one usable triplet is enough
  a.references_raw = "sender@example.org,ID-1,2024-05-01T10:00:00+02:00";
  {
    // Only itself (seen in real Updates from the Macao weather service): a warning, usable.
    CheckResult self = Check(a);
    EXPECT_NE(Find(self.warnings, "CIRCULAR_REFERENCE"), nullptr);
    EXPECT_EQ(Find(self.errors, "CIRCULAR_REFERENCE"), nullptr);
    EXPECT_TRUE(self.usable);
    EXPECT_TRUE(self.valid);
  }
  a.msg_type = "Alert";
  EXPECT_NE(Find(Check(a).warnings, "CIRCULAR_REFERENCE"), nullptr);
  a.references_raw = "sender@example.org,ID-0,2024-05-01T11:00:00+02:00";
  CheckResult r = Check(a);
  EXPECT_NE(Find(r.warnings, "POSTDATED_REFERENCE"), nullptr);
  EXPECT_TRUE(r.valid);
}

TEST(Validate, ParseReferences) {
  ParsedReferences p = ParseReferences(
      " a,b,2024-05-01T09:00:00+02:00\n c,d,2024-05-01T09:00:00-00:00 e,f x,y,notadate "
      "a,,2024-05-01T09:00:00+02:00 ");
  ASSERT_EQ(p.references.size(), 2u);
  EXPECT_EQ(p.references[1].sender, "c");
  EXPECT_EQ(p.references[1].identifier, "d");
  EXPECT_EQ(p.references[1].sent, "2024-05-01T09:00:00-00:00");
  EXPECT_EQ(p.malformed.size(), 3u);
}

TEST(Validate, ScopeRestrictionAddresses) {
  Alert a = Good();
  a.scope = "Restricted";
  ExpectError(a, "RESTRICTION_SCOPE_MISMATCH", false);
  a.restriction = "staff only";
  EXPECT_TRUE(Check(a).valid);
  a = Good();
  a.restriction = "staff only";
  ExpectError(a, "RESTRICTION_SCOPE_MISMATCH", false);
  a = Good();
  a.restriction = "";  // empty <restriction/> (Canadian feeds) counts as absent
  a.addresses = "";
  EXPECT_TRUE(Check(a).valid);
  a.addresses = "0";  // addresses are optional, not forbidden, with scope Public
  EXPECT_TRUE(Check(a).valid);
  a = Good();
  a.scope = "Private";
  ExpectError(a, "ADDRESSES_SCOPE_MISMATCH", false);
  a.addresses = "ops@example.org";
  EXPECT_TRUE(Check(a).valid);
}

TEST(Validate, HtmlInTextIsAWarning) {
  Alert a = Good();
  a.infos[0].description = "Achtung<br/>Sturm";
  a.infos[0].instruction = "Sagen Sie &quot;Hallo&quot;";
  CheckResult r = Check(a);
  EXPECT_TRUE(r.valid);
  EXPECT_NE(Find(r.warnings, "TEXT_CONTAINS_HTML_TAGS"), nullptr);
  EXPECT_NE(Find(r.warnings, "TEXT_CONTAINS_HTML_ENTITIES"), nullptr);
  a.infos[0].description = "a < b & c > d";
  a.infos[0].instruction.reset();
  EXPECT_THAT(Check(a).warnings, IsEmpty());
}

TEST(Validate, AreaResourceWeb) {
  Alert a = Good();
  a.infos[0].areas[0].desc = "";
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", false);
  a = Good();
  a.infos[0].areas[0].ceiling = "100";
  ExpectError(a, "INVALID_AREA", false);
  a.infos[0].areas[0].altitude = "200";
  ExpectError(a, "INVALID_ALTITUDE_CEILING_RANGE", false);
  a = Good();
  a.infos[0].web = "www.example.org";
  ExpectError(a, "INVALID_WEB", false);
  a = Good();
  Resource res;
  res.desc = "map";
  a.infos[0].resources.push_back(res);
  ExpectError(a, "MISSING_REQUIRED_ELEMENT", false);
  a.infos[0].resources[0].mime_type = "image/png";
  a.infos[0].resources[0].size = "12kB";
  ExpectError(a, "INVALID_RESOURCE_SIZE", false);
}

TEST(Validate, SwappedAndWrappedCoordinatesAreUsableWithWarnings) {
  Alert a = Good();
  a.infos[0].areas[0].polygons = {"7.5,52.0 7.6,52.1 7.7,52.0 7.5,52.0"};  // fine either way
  EXPECT_EQ(Find(Check(a).warnings, "COORDINATES_SWAPPED"), nullptr);
  a.infos[0].areas[0].polygons = {"99.97,10.5 100.2,10.5 100.2,10.9 99.97,10.5"};  // lon,lat
  CheckResult r = Check(a);
  EXPECT_TRUE(r.usable);
  EXPECT_NE(Find(r.warnings, "COORDINATES_SWAPPED"), nullptr);
  EXPECT_EQ(Find(r.errors, "INVALID_POLYGON"), nullptr);
  a.infos[0].areas[0].polygons = {"-16.5,179.9 -16.5,-180.005 -17,-179.5 -17,179.9 -16.5,179.9"};
  r = Check(a);
  EXPECT_TRUE(r.usable);
  EXPECT_NE(Find(r.warnings, "LONGITUDE_WRAPPED"), nullptr);
  a.infos[0].areas[0].polygons = {"95,95 96,95 96,96 95,95"};
  ExpectError(a, "INVALID_POLYGON", true);
  a = Good();
  a.infos[0].areas[0].circles = {"7.6,52.0 5"};
  r = Check(a);
  EXPECT_TRUE(r.usable);
  EXPECT_EQ(Find(r.warnings, "COORDINATES_SWAPPED"), nullptr);  // 7.6,52.0 is a valid lat,lon
  a.infos[0].areas[0].circles = {"13.4,152.5 5"};
  EXPECT_EQ(Find(Check(a).warnings, "COORDINATES_SWAPPED"), nullptr);
}

// The safety limit sits well above the largest real message (a national polygon of 41,009
// points, refused with the old limit of 20,000).
TEST(Validate, AFortyOneThousandPointPolygonIsWithinTheLimits) {
  Alert a = Good();
  std::string poly;
  for (int k = 0; k < 41'008; ++k) {
    const double t = 6.283185307179586 * k / 41'008;
    poly += std::to_string(51 + 3 * std::sin(t)) + "," + std::to_string(10 + 4 * std::cos(t)) + " ";
  }
  poly += std::to_string(51.0) + "," + std::to_string(14.0);
  a.infos[0].areas[0].polygons = {poly};
  Findings f;
  CheckComplexityLimits(a, DecodeLimits{}, f);
  EXPECT_THAT(f.errors, IsEmpty());
}

TEST(Validate, GeometryLimits) {
  Alert a = Good();
  DecodeLimits limits;
  limits.max_polygon_points = 3;
  Findings f;
  CheckComplexityLimits(a, limits, f);
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0].code, "TOO_MANY_POLYGON_POINTS");
  EXPECT_TRUE(f.errors[0].fatal);
  Findings ok;
  CheckComplexityLimits(a, DecodeLimits{}, ok);
  EXPECT_THAT(ok.errors, IsEmpty());
}

// Each shape limit is fatal and named; the first one exceeded is reported.
TEST(Validate, ComplexityLimitsNameTheLimit) {
  struct Case {
    const char* code;
    void (*shape)(Alert&);
    void (*limit)(DecodeLimits&);
  };
  const Case cases[] = {
      {"TOO_MANY_INFOS", [](Alert& a) { a.infos.push_back(a.infos[0]); },
       [](DecodeLimits& l) { l.max_infos = 1; }},
      {"TOO_MANY_LANGUAGES",
       [](Alert& a) {
         a.infos.push_back(a.infos[0]);
         a.infos[1].language = "en-GB";
       },
       [](DecodeLimits& l) { l.max_languages = 1; }},
      {"TOO_MANY_AREAS", [](Alert& a) { a.infos[0].areas.push_back(a.infos[0].areas[0]); },
       [](DecodeLimits& l) { l.max_areas = 1; }},
      {"TOO_MANY_POLYGONS", [](Alert& a) { a.infos[0].areas[0].circles = {"52.5,13.4 5"}; },
       [](DecodeLimits& l) { l.max_polygons = 1; }},
      {"TOO_MANY_GEOCODES",
       [](Alert& a) {
         a.infos[0].areas[0].geocodes = {{"ARS", "091620000000"}, {"ARS", "020000000000"}};
       },
       [](DecodeLimits& l) { l.max_geocodes = 1; }},
  };
  for (const Case& c : cases) {
    Alert a = Good();
    c.shape(a);
    Findings within;
    CheckComplexityLimits(a, DecodeLimits{}, within);
    EXPECT_THAT(within.errors, IsEmpty()) << c.code;
    DecodeLimits limits;
    c.limit(limits);
    Findings f;
    CheckComplexityLimits(a, limits, f);
    ASSERT_EQ(f.errors.size(), 1u) << c.code;
    EXPECT_EQ(f.errors[0].code, c.code);
    EXPECT_TRUE(f.errors[0].fatal);
    EXPECT_NE(f.errors[0].message.find("limit 1"), std::string::npos) << f.errors[0].message;
  }
}

TEST(Validate, FinalizeWithoutAlertIsNeitherValidNorUsable) {
  CheckResult r;
  Finalize(r);
  EXPECT_FALSE(r.valid);
  EXPECT_FALSE(r.usable);
}

}  // namespace
}  // namespace fanout::domain::cap
