// Dashboards from the protocol log and the archive (issue 13): key levels, the CAP lifecycle
// (Update supersedes, Cancel removes, also out of order), expiry, a restart, replication
// lag. Expectations are written by hand from four municipalities whose keys we know.
#include "app/dashboards.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/memory/file_archive.hpp"
#include "adapters/memory/memory_protocol_log.hpp"
#include "domain/cap/validate.hpp"
#include "platform/crypto/crypto.hpp"
#include "testing/fakes.hpp"

namespace fanout::app {
namespace {

using domain::pipeline::Event;
using domain::pipeline::EventType;
using nlohmann::json;

constexpr const char* kSent = "2026-11-28T10:00:00+01:00";

struct Spec {
  std::string id;
  std::string key;  // ARS geocode of the area
  std::string msg_type = "Alert";
  std::vector<std::string> references;  // identifiers (same sender)
  std::optional<std::string> expires;
  std::vector<std::pair<std::string, std::string>> headlines = {{"de-DE", "Unwetter"}};
};

Spec S(std::string id, std::string key, std::string msg_type = "Alert",
       std::vector<std::string> references = {}) {
  Spec s;
  s.id = std::move(id);
  s.key = std::move(key);
  s.msg_type = std::move(msg_type);
  s.references = std::move(references);
  return s;
}

domain::cap::CheckResult Make(const Spec& s) {
  domain::cap::Alert a;
  a.identifier = s.id;
  a.sender = "dwd@example.org";
  a.sent = kSent;
  a.status = "Actual";
  a.msg_type = s.msg_type;
  a.scope = "Public";
  for (const auto& r : s.references) a.references.push_back({a.sender, r, kSent});
  for (const auto& [lang, headline] : s.headlines) {
    domain::cap::Info info;
    info.language = lang;
    info.event = "Gewitter";
    info.severity = "Severe";
    info.urgency = "Immediate";
    info.headline = headline;
    info.expires = s.expires;
    domain::cap::Area area;
    area.desc = "Gebiet";
    area.geocodes.push_back({"ARS", s.key});
    info.areas.push_back(area);
    a.infos.push_back(info);
  }
  domain::cap::CheckResult r;
  r.valid = r.usable = true;
  r.alert = a;
  return r;
}

class DashboardsTest : public ::testing::Test {
 protected:
  DashboardsTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("fanout-dash-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        archive_(dir_),
        catalog_(testing::SmallCatalog()),
        clock_(*domain::cap::ParseCapTime(kSent) * 1000),
        dash_(std::make_unique<Dashboards>(Providers(), log_, archive_, decoder_, catalog_, nullptr,
                                           clock_)) {
    log_.Listen([this](const Event& e) {
      if (dash_) dash_->OnEvent(e);
    });
  }
  ~DashboardsTest() override { std::filesystem::remove_all(dir_); }

  static ProviderSettings Providers() {
    ProviderSettings p;
    p.default_lifetime_s = 3600;
    p.lifetime_s["AP3"] = 600;  // not the provider of these alerts (AP2)
    return p;
  }
  // What ingest and the processing region record: the bytes, `received`, `processed`.
  void Process(const Spec& s, bool store_bytes = true, const std::string& region = "r0",
               const std::string& provider = "AP2") {
    const std::string body = "body-" + s.id;
    decoder_.Add(body, Make(s));
    if (store_bytes) {
      ASSERT_TRUE(archive_.Put(platform::Sha256Hex(s.id), body).has_value());
    }
    Event r;
    r.type = EventType::kReceived;
    r.alert_id = s.id;
    r.region = region;
    r.hash = platform::Sha256Hex(s.id);
    r.provider = provider;
    ASSERT_TRUE(log_.Append(r).has_value());
    Event p;
    p.type = EventType::kProcessed;
    p.alert_id = s.id;
    p.region = region;
    p.count = 1;
    ASSERT_TRUE(log_.Append(p).has_value());
  }
  std::vector<std::string> Ids(const std::string& key) {
    auto page = dash_->Get(key);
    EXPECT_TRUE(page.has_value()) << key;
    std::vector<std::string> ids;
    if (!page) return ids;
    for (const auto& item : json::parse(page->body)) ids.push_back(item["id"]);
    return ids;
  }

  std::filesystem::path dir_;
  adapters::memory::MemoryProtocolLog log_;
  adapters::memory::FileArchive archive_;
  testing::FakeAlertDecoder decoder_;
  domain::geo::GeoCatalog catalog_;
  testing::ManualClock clock_;
  std::unique_ptr<Dashboards> dash_;
};

using IdList = std::vector<std::string>;

TEST_F(DashboardsTest, AnAlertShowsOnEveryLevelAboveAndBelowItsArea) {
  Process(S("kreis", "091790000000"));                       // Kreis Fürstenfeldbruck
  Process(S("muc", "091620000000"));                         // München
  EXPECT_EQ(Ids("091790113113"), IdList{"kreis"});           // its municipality
  EXPECT_EQ(Ids("091790000000"), IdList{"kreis"});           // the Kreis
  EXPECT_EQ(Ids("091000000000"), (IdList{"kreis", "muc"}));  // Oberbayern: both (same sent, by id)
  EXPECT_EQ(Ids("090000000000"), (IdList{"kreis", "muc"}));  // Land Bayern
  EXPECT_EQ(Ids("097610000000"), IdList{});                  // Augsburg: neither
  EXPECT_EQ(Ids("050000000000"), IdList{});                  // NRW
  EXPECT_FALSE(dash_->Get("099990000000").has_value());      // no such Kreis
  EXPECT_FALSE(dash_->Get("banana").has_value());
}

TEST_F(DashboardsTest, TheEntryHasNinasShapeAndAHeadlinePerLanguage) {
  Spec s = S("multi", "055150000000");
  s.headlines = {{"en-GB", "Severe weather"}, {"de-DE", "Unwetter"}};
  s.expires = "2026-11-28T18:00:00+01:00";
  Process(s);
  auto page = dash_->Get("055150000000");
  ASSERT_TRUE(page);
  json list = json::parse(page->body);
  ASSERT_EQ(list.size(), 1u);
  const json& e = list[0];
  EXPECT_EQ(e["id"], "multi");
  EXPECT_EQ(e["payload"]["type"], "ALERT");
  EXPECT_EQ(e["payload"]["hash"], platform::Sha256Hex("multi"));
  EXPECT_EQ(e["payload"]["data"]["headline"], "Unwetter");  // German first
  EXPECT_EQ(e["payload"]["data"]["provider"], "AP2");
  EXPECT_EQ(e["payload"]["data"]["severity"], "Severe");
  EXPECT_EQ(e["payload"]["data"]["msgType"], "Alert");
  // Compact keys: in this four-municipality catalog Münster is all of NRW.
  EXPECT_EQ(e["payload"]["data"]["area"]["data"], json::array({"050000000000"}));
  EXPECT_EQ(e["i18nTitle"], (json{{"de", "Unwetter"}, {"en", "Severe weather"}}));
  EXPECT_EQ(e["sent"], kSent);
  EXPECT_EQ(e["expires"], "2026-11-28T18:00:00+01:00");
}

TEST_F(DashboardsTest, AnUpdateSupersedesAndACancelRemoves) {
  Process(S("a1", "091620000000"));
  EXPECT_EQ(Ids("091620000000"), IdList{"a1"});
  Process(S("u1", "091620000000", "Update", {"a1"}));
  EXPECT_EQ(Ids("091620000000"), IdList{"u1"});
  Process(S("c1", "091620000000", "Cancel", {"u1"}));
  EXPECT_EQ(Ids("091620000000"), IdList{});
  EXPECT_EQ(Ids("090000000000"), IdList{});
}

TEST_F(DashboardsTest, ACancelBeforeItsAlertKeepsTheAlertOff) {
  Process(S("c2", "091620000000", "Cancel", {"a2"}));
  Process(S("u3", "091620000000", "Update", {"a3"}));
  Process(S("a2", "091620000000"));  // arrives after its Cancel
  Process(S("a3", "091620000000"));  // arrives after its Update
  EXPECT_EQ(Ids("091620000000"), IdList{"u3"});
}

TEST_F(DashboardsTest, AnAlertLeavesAtItsExpiryOrAfterTheDefaultLifetime) {
  Spec timed = S("timed", "091620000000");
  timed.expires = "2026-11-28T10:30:00+01:00";  // 30 min after sent (= now)
  Process(timed);
  Process(S("untimed", "091620000000"));                   // sent + 3600 s
  Process(S("short", "091620000000"), true, "r0", "AP3");  // AP3's own lifetime: 600 s
  EXPECT_EQ(Ids("091620000000"), (IdList{"short", "timed", "untimed"}));
  clock_.Advance(10 * 60 * 1000);
  EXPECT_EQ(Ids("091620000000"), (IdList{"timed", "untimed"}));
  clock_.Advance(20 * 60 * 1000);
  EXPECT_EQ(Ids("091620000000"), IdList{"untimed"});
  clock_.Advance(30 * 60 * 1000);
  EXPECT_EQ(Ids("091620000000"), IdList{});
  Spec old = S("old", "091620000000");
  old.expires = "2026-11-28T10:59:00+01:00";  // expired before it is processed
  Process(old);
  EXPECT_EQ(Ids("091620000000"), IdList{});
}

TEST_F(DashboardsTest, TheETagFollowsTheContentAndARestartRebuildsTheSamePage) {
  Process(S("a1", "091620000000"));
  auto first = dash_->Get("090000000000");
  ASSERT_TRUE(first);
  EXPECT_EQ(dash_->Get("090000000000")->etag, first->etag);  // unchanged: same tag
  Process(S("a2", "091790000000"));
  auto second = dash_->Get("090000000000");
  ASSERT_TRUE(second);
  EXPECT_NE(second->etag, first->etag);
  EXPECT_EQ(dash_->Get("091620000000")->alerts, 1u);
  // A region started again: its dashboards come back from the log alone.
  dash_ = std::make_unique<Dashboards>(Providers(), log_, archive_, decoder_, catalog_, nullptr,
                                       clock_);
  dash_->Recover();
  auto again = dash_->Get("090000000000");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, second->body);
  EXPECT_EQ(again->etag, second->etag);
}

TEST_F(DashboardsTest, AnAlertWhoseBytesAreStillReplicatingEntersWhenTheyArrive) {
  Process(S("late", "091620000000"), /*store_bytes=*/false, "r1");
  EXPECT_EQ(Ids("091620000000"), IdList{});
  EXPECT_EQ(dash_->stats().pending, 1u);
  ASSERT_TRUE(archive_.Put(platform::Sha256Hex("late"), "body-late").has_value());
  EXPECT_EQ(Ids("091620000000"), IdList{"late"});
  EXPECT_EQ(dash_->stats().pending, 0u);
  // Processed again elsewhere (a takeover): still one entry.
  Event p;
  p.type = EventType::kProcessed;
  p.alert_id = "late";
  p.region = "r0";
  p.attempt = 1;
  ASSERT_TRUE(log_.Append(p).has_value());
  EXPECT_EQ(Ids("091620000000"), IdList{"late"});
}

}  // namespace
}  // namespace fanout::app

namespace fanout::app {
namespace {

// Many readers while alerts come and go: every answer is a whole list whose ETag is its body's
// (no torn or stale-tagged page), and at the end every reader sees the final state.
TEST_F(DashboardsTest, ConcurrentReadersSeeWholePagesWithTheirOwnETag) {
  std::atomic<bool> stop{false};
  std::atomic<size_t> reads{0}, torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 8; ++r) {
    readers.emplace_back([&, r] {
      const char* key = r % 2 ? "090000000000" : "091620000000";
      while (!stop) {
        auto page = dash_->Get(key);
        if (!page) continue;
        json list = json::parse(page->body, nullptr, false);
        if (list.is_discarded() || !list.is_array() || list.size() != page->alerts ||
            page->etag != "\"" + platform::Sha256Hex(page->body).substr(0, 32) + "\"") {
          ++torn;
        }
        ++reads;
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    const std::string id = "c" + std::to_string(i);
    Process(S(id, "091620000000"));
    if (i % 2) Process(S("x" + id, "091620000000", "Cancel", {id}));
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(Ids("091620000000").size(), 20u);  // the 20 not cancelled
  EXPECT_EQ(Ids("090000000000"), Ids("091620000000"));
}

}  // namespace
}  // namespace fanout::app
