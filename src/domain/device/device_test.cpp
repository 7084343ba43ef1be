#include "domain/device/device.hpp"

#include <gtest/gtest.h>

namespace fanout::domain::device {
namespace {

const std::vector<std::string> kProviders{"AP1", "AP2", "AP3", "AP4"};

Device Valid() {
  Device d;
  d.id = "dev-1";
  d.platform = Platform::kApns;
  d.token = std::string(64, 'a');
  d.regions = {"055150000000"};
  return d;
}

TEST(Device, ThresholdFallsBackToConfiguredDefaultThenFour) {
  Device d = Valid();
  d.levels = {{"AP1", 1}};
  std::map<std::string, int> defaults{{"AP2", 2}};
  EXPECT_EQ(Threshold(d, "AP1", defaults), 1);
  EXPECT_EQ(Threshold(d, "AP2", defaults), 2);
  EXPECT_EQ(Threshold(d, "AP3", defaults), 4);
  EXPECT_TRUE(AcceptsLevel(d, "AP1", 1, defaults));   // level == threshold: receive
  EXPECT_FALSE(AcceptsLevel(d, "AP1", 2, defaults));  // less severe than wanted
  EXPECT_TRUE(AcceptsLevel(d, "AP1", 0, defaults));
}

TEST(Device, ShardIsStableAndInRange) {
  EXPECT_EQ(ShardOf("abc", 64), ShardOf("abc", 64));
  for (int i = 0; i < 1000; ++i) EXPECT_LT(ShardOf("d" + std::to_string(i), 7), 7u);
}

TEST(Device, ValidationNamesEachProblem) {
  EXPECT_TRUE(ValidateDevice(Valid(), kProviders).empty());
  auto codes = [](const Device& d) {
    std::vector<std::string> c;
    for (auto& i : ValidateDevice(d, kProviders)) c.push_back(i.code);
    return c;
  };
  Device d = Valid();
  d.token = "xyz";
  EXPECT_EQ(codes(d), std::vector<std::string>{"INVALID_TOKEN"});
  d = Valid();
  d.platform = Platform::kFcm;
  d.token = "fcm token with spaces";
  EXPECT_EQ(codes(d), std::vector<std::string>{"INVALID_TOKEN"});
  d.token = "fcm:APA91b-valid_token";
  EXPECT_TRUE(codes(d).empty());
  d = Valid();
  d.levels = {{"AP9", 2}};
  EXPECT_EQ(codes(d), std::vector<std::string>{"UNKNOWN_PROVIDER"});
  d.levels = {{"AP1", 5}};
  EXPECT_EQ(codes(d), std::vector<std::string>{"INVALID_LEVEL"});
  d = Valid();
  d.regions = {"05515"};
  EXPECT_EQ(codes(d), std::vector<std::string>{"INVALID_REGION_KEY"});
  d.regions.clear();
  EXPECT_EQ(codes(d), std::vector<std::string>{"NO_REGIONS"});
  d.mylocation = true;
  EXPECT_TRUE(codes(d).empty());
  d.id = "has space";
  EXPECT_EQ(codes(d), std::vector<std::string>{"INVALID_DEVICE_ID"});
}

}  // namespace
}  // namespace fanout::domain::device
