#include "app/payload.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fanout::app {
namespace {

domain::geo::GeoCatalog Catalog() {
  std::vector<domain::geo::Municipality> m{
      {"055150000000", "05515000", "Münster", 0, 0},
      {"055540004004", "05554004", "A", 0, 0},
      {"055540008008", "05554008", "B", 0, 0},
      {"110000000000", "11000000", "Berlin", 0, 0},
  };
  return domain::geo::GeoCatalog(std::move(m), {});
}

TEST(Payload, CollapseIdIsIdentifierOrItsHash) {
  EXPECT_EQ(CollapseIdFor("short-id"), "short-id");
  std::string long_id(65, 'x');
  std::string c = CollapseIdFor(long_id);
  EXPECT_EQ(c.size(), 64u);
  EXPECT_EQ(c.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(Payload, WholeKreiseAndLaenderCollapse) {
  auto cat = Catalog();
  // Both municipalities of Kreis 05554 plus Münster -> Land NRW (all 3 NRW entries here).
  EXPECT_EQ(CompactArea({"055150000000", "055540004004", "055540008008"}, cat),
            std::vector<std::string>{"050000000000"});
  // Only the Kreis 05554 -> its Kreis key.
  EXPECT_EQ(CompactArea({"055540004004", "055540008008"}, cat),
            std::vector<std::string>{"055540000000"});
  // One municipality of 05554 stays itself.
  EXPECT_EQ(CompactArea({"055540004004", "110000000000"}, cat),
            (std::vector<std::string>{"055540004004", "110000000000"}));
}

TEST(Payload, ApnsAndFcmShapesAndPriorityMapping) {
  domain::cap::Alert a;
  a.identifier = "id1";
  a.msg_type = "Alert";
  a.sent = "2026-01-01T00:00:00+01:00";
  domain::cap::Info en, de;
  en.language = "en";
  en.headline = "Storm";
  en.severity = "Extreme";
  de.language = "de-DE";
  de.headline = "Sturm";
  de.severity = "Extreme";
  a.infos = {en, de};
  PayloadInput in{&a, "AP1", "high", 0, {"050000000000"}, "id1", 2000, 1000};
  PipelineSettings s;
  Payloads p = BuildPayloads(in, s);
  auto apns = nlohmann::json::parse(p.apns);
  EXPECT_EQ(apns["aps"]["alert"]["title"], "Sturm");  // preferred language
  EXPECT_EQ(apns["aps"]["interruption-level"], "time-sensitive");
  EXPECT_EQ(apns["fanout"]["alert_id"], "id1");
  EXPECT_EQ(apns["fanout"]["area"][0], "050000000000");
  auto fcm = nlohmann::json::parse(p.fcm);
  EXPECT_EQ(fcm["android"]["priority"], "HIGH");
  EXPECT_EQ(fcm["android"]["ttl"], "1000s");
  EXPECT_EQ(fcm["android"]["collapse_key"], "id1");
  EXPECT_EQ(fcm["data"]["alert_id"], "id1");
  EXPECT_EQ(fcm["apns"]["headers"]["apns-priority"], "10");
  EXPECT_EQ(fcm["apns"]["headers"]["apns-expiration"], "2000");
  EXPECT_EQ(fcm["apns"]["headers"]["apns-collapse-id"], "id1");
  EXPECT_EQ(fcm["apns"]["payload"]["aps"]["interruption-level"], "time-sensitive");
  for (auto& [k, v] : fcm["data"].items()) EXPECT_TRUE(v.is_string()) << k;  // FCM rule
  s.apns_critical_alerts = true;
  apns = nlohmann::json::parse(BuildPayloads(in, s).apns);
  EXPECT_EQ(apns["aps"]["interruption-level"], "critical");
  EXPECT_EQ(apns["aps"]["sound"]["critical"], 1);
  in.priority = "regular";
  EXPECT_EQ(nlohmann::json::parse(BuildPayloads(in, s).fcm)["android"]["priority"], "NORMAL");
}

TEST(Payload, LargeAreaFallsBackToUrlUnder4K) {
  domain::cap::Alert a;
  a.identifier = "big";
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(std::to_string(100000000000LL + i));
  PayloadInput in{&a, "AP2", "regular", 2, keys, "big", 0, 0};
  Payloads p = BuildPayloads(in, PipelineSettings{});
  EXPECT_TRUE(p.area_as_url);
  EXPECT_LE(p.apns.size(), kMaxPayloadBytes);
  EXPECT_NE(p.apns.find("/v1/alerts/big"), std::string::npos);
}

}  // namespace
}  // namespace fanout::app
