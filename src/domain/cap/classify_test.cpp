#include "domain/cap/classify.hpp"

#include <gtest/gtest.h>

namespace fanout::domain::cap {
namespace {

Alert WithSeverities(std::initializer_list<const char*> sevs) {
  Alert a;
  for (const char* s : sevs) {
    Info i;
    i.severity = s;
    a.infos.push_back(i);
  }
  return a;
}

TEST(Classify, SeverityLevelsMatchDesign) {
  EXPECT_EQ(SeverityLevel(ParseSeverity("Extreme")), 0);
  EXPECT_EQ(SeverityLevel(ParseSeverity("Severe")), 1);
  EXPECT_EQ(SeverityLevel(ParseSeverity("Moderate")), 2);
  EXPECT_EQ(SeverityLevel(ParseSeverity("Minor")), 3);
  EXPECT_EQ(SeverityLevel(ParseSeverity("Unknown")), 4);
  EXPECT_EQ(SeverityLevel(ParseSeverity("")), 4);
  EXPECT_EQ(SeverityLevel(ParseSeverity("bogus")), 4);
  EXPECT_EQ(ParseSeverity(" EXTREME "), Severity::kExtreme);
}

TEST(Classify, AlertLevelIsMostSevereInfo) {
  EXPECT_EQ(AlertSeverity(WithSeverities({"Minor", "Severe", "Moderate"})), Severity::kSevere);
  EXPECT_EQ(AlertSeverity(WithSeverities({})), Severity::kUnknown);
}

TEST(Classify, PriorityHighForConfiguredProviderOrExtreme) {
  std::vector<std::string> high{"AP1"};
  EXPECT_EQ(ClassifyPriority(WithSeverities({"Minor"}), "AP1", high), Priority::kHigh);
  EXPECT_EQ(ClassifyPriority(WithSeverities({"Minor"}), "AP2", high), Priority::kRegular);
  EXPECT_EQ(ClassifyPriority(WithSeverities({"Minor", "Extreme"}), "AP2", high), Priority::kHigh);
  EXPECT_EQ(ClassifyPriority(WithSeverities({"Severe"}), "AP3", {}), Priority::kRegular);
}

TEST(Classify, OwnerIsLastEightHexDigitsModRegions) {
  // Two regions: parity of the last hex digit, as the original.
  EXPECT_EQ(OwnerRegion("00000000000000000000000000000000000000000000000000000000000000a1", 2), 1u);
  EXPECT_EQ(OwnerRegion("00000000000000000000000000000000000000000000000000000000000000b2", 2), 0u);
  // Three regions: 0xffffffff % 3 == 0, 0x00000010 % 3 == 1.
  EXPECT_EQ(OwnerRegion("abcdffffffff", 3), 0u);
  EXPECT_EQ(OwnerRegion("abcd00000010", 3), 1u);
  EXPECT_EQ(OwnerRegion("zz", 2), 0u);
  EXPECT_EQ(OwnerRegion("0000000g", 2), 0u);
}

}  // namespace
}  // namespace fanout::domain::cap
