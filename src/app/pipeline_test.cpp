// The pipeline (ingest -> processor -> queuer -> sender) end to end with fakes and the
// in-process bus.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/memory/file_archive.hpp"
#include "adapters/memory/memory_bus.hpp"
#include "adapters/memory/memory_device_feed.hpp"
#include "adapters/memory/memory_plan_store.hpp"
#include "adapters/memory/memory_protocol_log.hpp"
#include "app/ingest.hpp"
#include "app/messages.hpp"
#include "app/processor.hpp"
#include "app/queuer.hpp"
#include "app/recovery.hpp"
#include "app/registry.hpp"
#include "app/sender.hpp"
#include "domain/pipeline/report.hpp"
#include "platform/metrics/metrics.hpp"
#include "testing/fakes.hpp"

namespace fanout::app {
namespace {

using domain::device::Device;
using domain::device::Platform;
using domain::pipeline::EventType;
using ports::PushOutcome;
namespace dp = domain::pipeline;

domain::cap::CheckResult Usable(std::string id, std::string severity, std::string ars,
                                std::string msg_type = "Alert", std::string status = "Actual") {
  domain::cap::Alert a;
  a.identifier = std::move(id);
  a.sender = "test@example.org";
  a.sent = "2026-11-28T10:00:00+01:00";
  a.status = std::move(status);
  a.msg_type = std::move(msg_type);
  a.scope = "Public";
  domain::cap::Info info;
  info.language = "de-DE";
  info.event = "Test";
  info.severity = std::move(severity);
  info.headline = "Warnung";
  domain::cap::Area area;
  area.desc = "Gebiet";
  if (!ars.empty()) area.geocodes.push_back({"ARS", ars});
  info.areas.push_back(area);
  a.infos.push_back(info);
  domain::cap::CheckResult r;
  r.valid = r.usable = true;
  r.alert = a;
  return r;
}

Device Dev(std::string id, Platform p, bool myloc, std::vector<std::string> regions) {
  Device d;
  d.id = id;
  d.platform = p;
  d.token = "fcm-" + id;
  if (p == Platform::kApns) {
    // 64 hex characters, unique per device.
    std::string hex;
    for (char c : id) {
      const char* digits = "0123456789abcdef";
      hex += digits[(static_cast<unsigned char>(c) >> 4) & 15];
      hex += digits[static_cast<unsigned char>(c) & 15];
    }
    d.token = (hex + std::string(64, '0')).substr(0, 64);
  }
  d.mylocation = myloc;
  d.regions = std::move(regions);
  return d;
}

/// Records when each token was sent (steady clock): retry backoff is real time on the bus.
class TimedGateway final : public ports::PushGateway {
 public:
  using Steady = std::chrono::steady_clock;
  explicit TimedGateway(ports::PushGateway& inner) : inner_(inner) {}
  ports::Platform platform() const override { return inner_.platform(); }
  std::vector<ports::PushResult> SendBatch(std::span<const ports::PushRequest> batch) override {
    {
      std::lock_guard lock(mu_);
      for (const auto& r : batch) sent_[r.token].push_back(Steady::now());
    }
    return inner_.SendBatch(batch);
  }
  std::vector<Steady::time_point> SentAt(const std::string& token) const {
    std::lock_guard lock(mu_);
    auto it = sent_.find(token);
    return it == sent_.end() ? std::vector<Steady::time_point>{} : it->second;
  }

 private:
  ports::PushGateway& inner_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Steady::time_point>> sent_;
};

int64_t GapMs(const std::vector<TimedGateway::Steady::time_point>& t, size_t i) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.at(i + 1) - t.at(i)).count();
}

class PipelineTest : public ::testing::Test {
 protected:
  explicit PipelineTest(int sender_workers = 2, RetrySettings retry = RetrySettings{3, 100, 1000})
      : archive_(std::filesystem::temp_directory_path() /
                 ("fanout-pipeline-" + std::to_string(::getpid()))),
        catalog_(testing::SmallCatalog()),
        registry_("r0", store_, feed_, ProviderSettings{}, kShards),
        peer_registry_("r1", peer_store_, feed_, ProviderSettings{}, kShards),
        ingest_(region_, ProviderSettings{}, Pipeline(), decoder_, archive_, log_, bus_, clock_),
        processor_(region_, ProviderSettings{}, Pipeline(), decoder_, catalog_, archive_, plans_,
                   log_, bus_, clock_, tracker_, &geometry_),
        queuer_(region_, Pipeline(), registry_, plans_, log_, bus_, clock_, tracker_),
        sender_(region_, retry, registry_, plans_, log_, bus_, clock_, tracker_, apns_timed_,
                fcm_timed_) {
    EXPECT_TRUE(registry_.Start());
    EXPECT_TRUE(peer_registry_.Start());
    for (const char* prio : {"high", "regular"}) {
      std::string p = prio;
      bus_.Subscribe({AlertsSubject(p), "processor", 1},
                     [this](auto& m) { return processor_.Handle(m); });
      bus_.Subscribe({UnitsSubject(p), "queuer", 2}, [this](auto& m) { return queuer_.Handle(m); });
      bus_.Subscribe({BatchesSubject(p, Platform::kApns), "sender", sender_workers},
                     [this](auto& m) { return sender_.Handle(m); });
      bus_.Subscribe({BatchesSubject(p, Platform::kFcm), "sender", sender_workers},
                     [this](auto& m) { return sender_.Handle(m); });
    }
  }
  ~PipelineTest() override {
    bus_.Stop();
    std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                ("fanout-pipeline-" + std::to_string(::getpid())));
  }

  static constexpr uint32_t kShards = 4;
  static PipelineSettings Pipeline() {
    PipelineSettings p;
    p.shards = kShards;
    p.batch_size = 2;
    return p;
  }

  void Drain() {
    for (int i = 0; i < 1000 && bus_.Pending() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(bus_.Pending(), 0u);
  }

  std::set<std::string> Delivered(const testing::FakePushGateway& gw) {
    std::set<std::string> tokens;
    for (const auto& r : gw.accepted()) EXPECT_TRUE(tokens.insert(r.token).second) << r.token;
    return tokens;
  }

  dp::AlertReport Report(const std::string& id) { return dp::DeriveReport(id, log_.Events(id)); }

  std::vector<dp::Event> BatchDone(const std::string& id) {
    std::vector<dp::Event> out;
    for (const auto& e : log_.Events(id)) {
      if (e.type == EventType::kBatchDone) out.push_back(e);
    }
    return out;
  }

  size_t Attempts(const testing::FakePushGateway& gw, const std::string& token) {
    size_t n = 0;
    for (const auto& r : gw.requests()) n += r.token == token;
    return n;
  }

  static void WaitUntil(const std::function<bool()>& pred) {
    for (int i = 0; i < 1000 && !pred(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  RegionSettings region_{"r0", 0, 1};
  testing::ManualClock clock_;
  testing::FakeAlertDecoder decoder_;
  testing::FakeDeviceStore store_, peer_store_;
  adapters::memory::MemoryDeviceFeed feed_;
  adapters::memory::MemoryBus bus_{adapters::memory::MemoryBus::Settings{1, 100000}};
  adapters::memory::MemoryProtocolLog log_;
  adapters::memory::MemoryPlanStore plans_;
  adapters::memory::FileArchive archive_;
  domain::geo::GeoCatalog catalog_;
  // Boxes around the SmallCatalog's label points (index order of the catalog).
  testing::FakeGeometryIndex geometry_{{{51.9, 7.5, 52.0, 7.7},
                                        {48.1, 11.5, 48.2, 11.7},
                                        {48.15, 11.2, 48.2, 11.3},
                                        {48.3, 10.8, 48.4, 11.0}}};
  testing::FakePushGateway apns_{ports::Platform::kApns}, fcm_{ports::Platform::kFcm};
  TimedGateway apns_timed_{apns_}, fcm_timed_{fcm_};
  Registry registry_;
  Registry peer_registry_;
  CompletionTracker tracker_{"r0", log_, clock_};
  Ingest ingest_;
  Processor processor_;
  Queuer queuer_;
  Sender sender_;
};

TEST_F(PipelineTest, DeliversOncePerMatchingDeviceAndReportsDone) {
  std::vector<Device> devs{
      Dev("a1", Platform::kApns, false, {"055150000000"}),
      Dev("a2", Platform::kApns, false, {"090000000000", "091620000000"}),  // Land + Kreis
      Dev("a3", Platform::kApns, false, {"097610000000"}),                  // elsewhere
      Dev("a4", Platform::kApns, true, {}),                                 // mylocation
      Dev("f1", Platform::kFcm, false, {"091000000000"}),                   // RB Oberbayern
      Dev("f2", Platform::kFcm, true, {}),
      Dev("f3", Platform::kFcm, false, {"055150000000"}),
  };
  ASSERT_TRUE(registry_.Import(devs));
  EXPECT_EQ(peer_registry_.size(), devs.size());  // replicated through the feed
  decoder_.Add("body-1", Usable("alert-1", "Severe", "091620000000"));
  IngestOutcome out = ingest_.Accept("AP2", "alert-1", "body-1");
  ASSERT_EQ(out.http_status, 202);
  EXPECT_EQ(out.priority, "regular");
  Drain();
  EXPECT_EQ(Delivered(apns_), (std::set<std::string>{devs[1].token, devs[3].token}));
  EXPECT_EQ(Delivered(fcm_), (std::set<std::string>{devs[4].token, devs[5].token}));
  dp::AlertReport rep = Report("alert-1");
  EXPECT_EQ(rep.status, "done");
  EXPECT_EQ(rep.total.targeted, 4u);
  EXPECT_EQ(rep.total.accepted, 4u);
  EXPECT_EQ(rep.units_planned, 2 * 2 * kShards);
  EXPECT_EQ(rep.total.units_done, 2 * 2 * kShards);
  // The probe counted it (names per STYLE: fanout_<component>_<what>_<unit>).
  std::string m = metrics::Registry::Default().Render();
  EXPECT_NE(m.find("fanout_sender_pushes_total{"), std::string::npos);
  EXPECT_NE(m.find("fanout_ingest_alerts_total{"), std::string::npos);
  EXPECT_NE(m.find("fanout_processor_alerts_total{"), std::string::npos);
  EXPECT_NE(m.find("fanout_sender_push_latency_seconds_bucket{"), std::string::npos);
  // Payload carries the alert and the collapse id is the identifier.
  for (const auto& r : apns_.accepted()) {
    EXPECT_EQ(r.collapse_id, "alert-1");
    EXPECT_NE(r.Payload().find("\"alert_id\":\"alert-1\""), std::string::npos);
    EXPECT_FALSE(r.high_priority);
  }
}

TEST_F(PipelineTest, PolygonAndCircleOnlyAlertsAreResolvedThroughTheGeometryIndex) {
  // The processor must use the region's geometry index: an alert whose only area is a
  // polygon (or a circle) is delivered, not quarantined AREA_UNRESOLVED.
  std::vector<Device> devs{
      Dev("m1", Platform::kApns, false, {"091620000000"}),  // München
      Dev("m2", Platform::kFcm, false, {"097610000000"}),   // Augsburg
      Dev("m3", Platform::kFcm, false, {"055150000000"}),   // Münster: outside both shapes
  };
  ASSERT_TRUE(registry_.Import(devs));
  domain::cap::CheckResult poly = Usable("poly-1", "Extreme", "");
  poly.alert->infos[0].areas[0].polygons.push_back(
      "48.12,11.52 48.12,11.68 48.18,11.68 48.18,11.52 48.12,11.52");
  decoder_.Add("body-poly", poly);
  domain::cap::CheckResult circle = Usable("circle-1", "Severe", "");
  circle.alert->infos[0].areas[0].circles.push_back("48.35,10.9 5");
  decoder_.Add("body-circle", circle);
  ASSERT_EQ(ingest_.Accept("AP3", "poly-1", "body-poly").http_status, 202);
  ASSERT_EQ(ingest_.Accept("AP3", "circle-1", "body-circle").http_status, 202);
  Drain();
  EXPECT_GE(geometry_.calls(), 2);
  EXPECT_EQ(Report("poly-1").status, "done");
  EXPECT_EQ(Report("circle-1").status, "done");
  EXPECT_EQ(Delivered(apns_), (std::set<std::string>{devs[0].token}));
  EXPECT_EQ(Delivered(fcm_), (std::set<std::string>{devs[1].token}));
}

TEST_F(PipelineTest, ExtremeIsHighPriority) {
  ASSERT_TRUE(registry_.Import({Dev("a1", Platform::kApns, true, {})}));
  decoder_.Add("x", Usable("x-1", "Extreme", "055150000000"));
  IngestOutcome out = ingest_.Accept("AP3", "x-1", "x");
  EXPECT_EQ(out.priority, "high");
  Drain();
  ASSERT_EQ(apns_.accepted().size(), 1u);
  EXPECT_TRUE(apns_.accepted()[0].high_priority);
}

TEST_F(PipelineTest, ResendIsIdempotentAndReuseIsAConflict) {
  ASSERT_TRUE(registry_.Import({Dev("a1", Platform::kApns, true, {})}));
  decoder_.Add("b", Usable("id-1", "Minor", "055150000000"));
  decoder_.Add("b2", Usable("id-1", "Severe", "055150000000"));
  EXPECT_EQ(ingest_.Accept("AP2", "id-1", "b").http_status, 202);
  IngestOutcome again = ingest_.Accept("AP2", "id-1", "b");
  EXPECT_EQ(again.http_status, 202);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(ingest_.Accept("AP2", "id-1", "b2").http_status, 409);
  Drain();
  EXPECT_EQ(apns_.accepted().size(), 1u);
}

TEST_F(PipelineTest, UnusableAlertIsQuarantinedWithReasons) {
  IngestOutcome out = ingest_.Accept("AP2", "junk", "not an alert");
  EXPECT_EQ(out.http_status, 400);
  ASSERT_FALSE(out.errors.empty());
  dp::AlertReport rep = Report("junk");
  EXPECT_EQ(rep.status, "quarantined");
  ASSERT_FALSE(rep.reasons.empty());
  EXPECT_NE(rep.reasons[0].find("UNKNOWN_BODY"), std::string::npos);
  // The raw bytes are archived for the operator.
  auto stored = archive_.Get(out.hash);
  ASSERT_TRUE(stored && *stored);
}

TEST_F(PipelineTest, IdentifierMustMatchThePath) {
  decoder_.Add("m", Usable("real-id", "Minor", "055150000000"));
  IngestOutcome out = ingest_.Accept("AP2", "other-id", "m");
  EXPECT_EQ(out.http_status, 400);
  EXPECT_EQ(out.errors.back().code, "ID_MISMATCH");
}

TEST_F(PipelineTest, TooLargeIs413) {
  std::string big(Pipeline().max_body_bytes + 1, 'x');
  EXPECT_EQ(ingest_.Accept("AP2", "big", big).http_status, 413);
}

TEST_F(PipelineTest, UnresolvableAreaIsQuarantinedNotPushed) {
  ASSERT_TRUE(registry_.Import({Dev("a1", Platform::kApns, true, {})}));
  decoder_.Add("u", Usable("u-1", "Severe", "999999999999"));
  ASSERT_EQ(ingest_.Accept("AP2", "u-1", "u").http_status, 202);
  Drain();
  EXPECT_EQ(Report("u-1").status, "quarantined");
  EXPECT_TRUE(apns_.requests().empty());
}

TEST_F(PipelineTest, TestStatusIsSkippedUnlessAllowed) {
  ASSERT_TRUE(registry_.Import({Dev("a1", Platform::kApns, true, {})}));
  decoder_.Add("t", Usable("t-1", "Severe", "055150000000", "Alert", "Test"));
  ASSERT_EQ(ingest_.Accept("AP2", "t-1", "t").http_status, 202);
  Drain();
  EXPECT_EQ(Report("t-1").status, "skipped");
  EXPECT_TRUE(apns_.requests().empty());
}

TEST_F(PipelineTest, InvalidTokenIsRemovedInEveryRegion) {
  Device dead = Dev("dead", Platform::kApns, true, {});
  ASSERT_TRUE(registry_.Import({dead, Dev("ok", Platform::kApns, true, {})}));
  apns_.Script(dead.token, {{PushOutcome::kTokenInvalid, 410, "Unregistered", std::nullopt}});
  decoder_.Add("i", Usable("i-1", "Severe", "055150000000"));
  ASSERT_EQ(ingest_.Accept("AP2", "i-1", "i").http_status, 202);
  Drain();
  dp::AlertReport rep = Report("i-1");
  EXPECT_EQ(rep.total.invalid, 1u);
  EXPECT_EQ(rep.total.accepted, 1u);
  EXPECT_FALSE(registry_.Get("dead"));
  EXPECT_FALSE(peer_registry_.Get("dead"));
  EXPECT_TRUE(peer_registry_.Get("ok"));
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(peer_store_.size(), 1u);
}

TEST_F(PipelineTest, RetryableErrorsAreRetriedWithBackoffThenCountedFailed) {
  Device flaky = Dev("flaky", Platform::kApns, true, {});
  Device down = Dev("down", Platform::kApns, true, {});
  ASSERT_TRUE(registry_.Import({flaky, down}));
  ports::PushResult r429{PushOutcome::kRetryLater, 429, "TooManyRequests",
                         std::chrono::milliseconds(700)};
  ports::PushResult ok{PushOutcome::kAccepted, 200, "", std::nullopt};
  apns_.Script(flaky.token, {r429, ok});
  apns_.Script(down.token, {{PushOutcome::kRetryLater, 503, "ServiceUnavailable", std::nullopt}});
  decoder_.Add("r", Usable("r-1", "Severe", "055150000000"));
  ASSERT_EQ(ingest_.Accept("AP2", "r-1", "r").http_status, 202);
  Drain();
  dp::AlertReport rep = Report("r-1");
  EXPECT_EQ(rep.total.accepted, 1u);
  EXPECT_EQ(rep.total.failed, 1u);  // budget of 3 attempts exhausted
  EXPECT_EQ(rep.status, "done");
  EXPECT_EQ(Attempts(apns_, down.token), 3u);
  auto flaky_sent = apns_timed_.SentAt(flaky.token);
  ASSERT_EQ(flaky_sent.size(), 2u);
  EXPECT_GE(GapMs(flaky_sent, 0), 700);              // Retry-After honoured
  EXPECT_EQ(sender_.counters().retried.load(), 3u);  // flaky once, down twice
  EXPECT_EQ(clock_.slept_ms(), 0);                   // no worker slept
}

TEST_F(PipelineTest, ExhaustedRetriesAreFailedWithTheReasonInTheReport) {
  Device down = Dev("down", Platform::kFcm, true, {});
  ASSERT_TRUE(registry_.Import({down}));
  fcm_.Script(down.token,
              {{PushOutcome::kRetryLater, 503, "UNAVAILABLE", std::chrono::milliseconds(150)}});
  decoder_.Add("x", Usable("x-1", "Severe", "055150000000"));
  ASSERT_EQ(ingest_.Accept("AP2", "x-1", "x").http_status, 202);
  Drain();
  dp::AlertReport rep = Report("x-1");
  EXPECT_EQ(rep.status, "done");
  EXPECT_EQ(rep.total.targeted, 1u);
  EXPECT_EQ(rep.total.accepted, 0u);
  EXPECT_EQ(rep.total.failed, 1u);
  EXPECT_EQ(rep.push_failure_reasons,
            std::vector<std::string>{"retry_later 503 UNAVAILABLE"});  // visible in the report
  EXPECT_EQ(Attempts(fcm_, down.token), 3u);                           // max_attempts
  auto sent = fcm_timed_.SentAt(down.token);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_GE(GapMs(sent, 0), 150);
  EXPECT_GE(GapMs(sent, 1), 150);
  // One batch-done for the whole batch, written by the last attempt, with the reason.
  auto events = BatchDone("x-1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].failed, 1u);
  EXPECT_NE(events[0].detail.find("503 UNAVAILABLE"), std::string::npos) << events[0].detail;
  EXPECT_EQ(tracker_.Open(), 0u);
}

TEST(BatchWork, RoundTripsAnyTextAndRejectsMalformedMessages) {
  BatchWork w{"DE-\"x\"\\1",
              "fcm/selected/2",
              4294967295u,
              "regular",
              {{"d\u00e4", "tok:APA91b\n"}, {"", "t"}}};
  auto back = DecodeBatchWork(Encode(w));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->alert_id, w.alert_id);
  EXPECT_EQ(back->batch, w.batch);
  ASSERT_EQ(back->items.size(), 2u);
  EXPECT_EQ(back->items[0].device_id, "d\u00e4");
  EXPECT_EQ(back->items[0].token, "tok:APA91b\n");
  EXPECT_EQ(back->attempt, 0);
  for (const char* bad :
       {"", "[]", "{", R"({"alert_id":"a","unit":"u","batch":1})",
        R"({"alert_id":"a","unit":"u","batch":-1,"priority":"high","items":[]})",
        R"({"alert_id":"a","unit":"u","batch":1,"priority":"high","items":[["d"]]})",
        R"({"alert_id":"a","unit":"u","batch":1,"priority":"high","items":[[1,2]]})",
        R"({"alert_id":"a","unit":"u","batch":1,"priority":"high","items":[],"attempt":2})"}) {
    EXPECT_FALSE(DecodeBatchWork(bad)) << bad;
  }
}

TEST(BatchWork, ARetryMessageCarriesItsSubsetAttemptAndProgressUnderItsOwnId) {
  BatchWork w{"a:1", "apns/all/3", 7, "high", {{"d1", "t1"}, {"d2", "t2"}}};
  EXPECT_EQ(BatchMsgId(w), "batch:a:1:apns/all/3:7");
  auto first = DecodeBatchWork(Encode(w));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->attempt, 0);
  EXPECT_EQ(first->items.size(), 2u);
  w.items = {{"d2", "t2"}};
  w.attempt = 2;
  w.progress.accepted = 3;
  w.progress.failed = 1;
  w.progress.invalid = 2;
  w.progress.first_push_ms = 10;
  w.progress.last_push_ms = 20;
  w.progress.latency[5] = 3;
  w.progress.latency[63] = 1;
  w.progress.reasons = {"payload_rejected 400 BadTopic"};
  EXPECT_EQ(BatchMsgId(w), "batch:a:1:apns/all/3:7/r2");
  auto back = DecodeBatchWork(Encode(w));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->batch, 7u);
  EXPECT_EQ(back->attempt, 2);
  ASSERT_EQ(back->items.size(), 1u);
  EXPECT_EQ(back->items[0].device_id, "d2");
  EXPECT_EQ(back->progress.accepted, 3u);
  EXPECT_EQ(back->progress.failed, 1u);
  EXPECT_EQ(back->progress.invalid, 2u);
  EXPECT_EQ(back->progress.first_push_ms, 10);
  EXPECT_EQ(back->progress.last_push_ms, 20);
  EXPECT_EQ(back->progress.latency, w.progress.latency);
  EXPECT_EQ(back->progress.reasons, w.progress.reasons);
}

// One sender worker per subject and a long Retry-After: the worker must stay free.
class OneSenderWorkerTest : public PipelineTest {
 protected:
  OneSenderWorkerTest() : PipelineTest(1, RetrySettings{3, 100, 3000}) {}
};

TEST_F(OneSenderWorkerTest, AThrottledBatchDoesNotHoldTheWorkerAndCountsStayExact) {
  Device slow = Dev("slow", Platform::kApns, false, {"055150000000"});  // Münster
  // In slow's shard, so both are one batch (batch_size 2) and the batch event has both.
  std::string dead_id = "dead";
  for (int i = 0;
       domain::device::ShardOf(dead_id, kShards) != domain::device::ShardOf(slow.id, kShards);
       ++i) {
    dead_id = "dead" + std::to_string(i);
  }
  Device dead = Dev(dead_id, Platform::kApns, false, {"055150000000"});
  Device fast = Dev("fast", Platform::kApns, false, {"091620000000"});  // München
  ASSERT_TRUE(registry_.Import({slow, dead, fast}));
  apns_.Script(slow.token,
               {{PushOutcome::kRetryLater, 429, "TooManyRequests", std::chrono::milliseconds(2000)},
                {PushOutcome::kAccepted, 200, "", std::nullopt}});
  apns_.Script(dead.token, {{PushOutcome::kTokenInvalid, 410, "Unregistered", std::nullopt}});
  decoder_.Add("one", Usable("one-1", "Severe", "055150000000"));
  decoder_.Add("two", Usable("two-1", "Severe", "091620000000"));
  ASSERT_EQ(ingest_.Accept("AP2", "one-1", "one").http_status, 202);
  WaitUntil([&] { return Attempts(apns_, slow.token) == 1; });
  ASSERT_EQ(Attempts(apns_, slow.token), 1u);
  // The first batch now waits out Retry-After as a delayed message; the second alert goes
  // through the same single worker meanwhile.
  ASSERT_EQ(ingest_.Accept("AP2", "two-1", "two").http_status, 202);
  WaitUntil([&] { return Report("two-1").status == "done"; });
  EXPECT_EQ(Report("two-1").status, "done");
  EXPECT_EQ(Report("two-1").total.accepted, 1u);
  EXPECT_EQ(Attempts(apns_, slow.token), 1u);  // still waiting
  EXPECT_EQ(Report("one-1").status, "processing");
  EXPECT_TRUE(BatchDone("one-1").empty());  // the batch is not done while a push waits
  EXPECT_EQ(tracker_.Open(), 1u);
  EXPECT_GE(bus_.Pending(), 1u);  // the retry message
  Drain();
  dp::AlertReport rep = Report("one-1");
  EXPECT_EQ(rep.status, "done");
  EXPECT_EQ(rep.total.targeted, 2u);
  EXPECT_EQ(rep.total.accepted, 1u);
  EXPECT_EQ(rep.total.invalid, 1u);
  EXPECT_EQ(rep.total.failed, 0u);
  uint64_t latency_count = 0;
  auto events = BatchDone("one-1");
  ASSERT_EQ(events.size(), 1u);  // both pushes in one batch (batch_size 2), one event
  for (uint32_t c : events[0].latency) latency_count += c;
  EXPECT_EQ(latency_count, 1u);
  EXPECT_NE(events[0].first_push_ms, 0);
  EXPECT_EQ(sender_.counters().retried.load(), 1u);
  EXPECT_EQ(sender_.counters().accepted.load(), 2u);
  EXPECT_EQ(sender_.counters().invalid.load(), 1u);
  EXPECT_FALSE(registry_.Get(dead.id));
  auto slow_sent = apns_timed_.SentAt(slow.token);
  ASSERT_EQ(slow_sent.size(), 2u);
  EXPECT_GE(GapMs(slow_sent, 0), 2000);
  EXPECT_LT(apns_timed_.SentAt(fast.token).at(0), slow_sent[1]);
  EXPECT_EQ(Delivered(apns_), (std::set<std::string>{slow.token, fast.token}));
}

// A push refused by GOAWAY / a lost connection on the first attempt is resent at once in the
// same call; only what the server throttled waits.
class LongBackoffTest : public PipelineTest {
 protected:
  LongBackoffTest() : PipelineTest(2, RetrySettings{3, 2000, 4000}) {}
};

TEST_F(LongBackoffTest, ALostConnectionIsResentAtOnce) {
  Device lost = Dev("lost", Platform::kApns, true, {});
  ASSERT_TRUE(registry_.Import({lost}));
  apns_.Script(lost.token, {{PushOutcome::kRetryLater, 0, "connection lost", std::nullopt},
                            {PushOutcome::kAccepted, 200, "", std::nullopt}});
  decoder_.Add("g", Usable("g-1", "Severe", "055150000000"));
  ASSERT_EQ(ingest_.Accept("AP2", "g-1", "g").http_status, 202);
  Drain();
  auto sent = apns_timed_.SentAt(lost.token);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_LT(GapMs(sent, 0), 900);  // no backoff (it would be >= 1000 ms)
  EXPECT_EQ(Report("g-1").total.accepted, 1u);
  EXPECT_EQ(Report("g-1").status, "done");
}

TEST_F(PipelineTest, CancelReachesTheDevicesOfTheOriginalWithItsCollapseId) {
  Device in_original = Dev("o1", Platform::kFcm, false, {"091620000000"});
  Device in_cancel = Dev("c1", Platform::kFcm, false, {"055150000000"});
  ASSERT_TRUE(registry_.Import({in_original, in_cancel}));
  decoder_.Add("orig", Usable("orig-1", "Severe", "091620000000"));
  auto cancel = Usable("cancel-1", "Minor", "055150000000", "Cancel");
  cancel.alert->references.push_back({"test@example.org", "orig-1", "2026-11-28T10:00:00+01:00"});
  decoder_.Add("cancel", cancel);
  ASSERT_EQ(ingest_.Accept("AP2", "orig-1", "orig").http_status, 202);
  Drain();
  ASSERT_EQ(ingest_.Accept("AP2", "cancel-1", "cancel").http_status, 202);
  Drain();
  std::map<std::string, int> per_token;
  for (const auto& r : fcm_.accepted()) {
    EXPECT_EQ(r.collapse_id, "orig-1");
    per_token[r.token]++;
  }
  EXPECT_EQ(per_token[in_original.token], 2);  // original + cancel
  EXPECT_EQ(per_token[in_cancel.token], 1);    // cancel's own area
}

// A real Update from the Macao weather service names itself in <references>: the decoder
// warns (CIRCULAR_REFERENCE) and the processor ignores the self-reference, so the Update is
// delivered to its own area with its own collapse id instead of being quarantined.
TEST_F(PipelineTest, AnUpdateThatReferencesItselfIsDeliveredAsItsOwnMessage) {
  Device d = Dev("s1", Platform::kFcm, false, {"091620000000"});
  ASSERT_TRUE(registry_.Import({d}));
  auto self = Usable("self-1", "Severe", "091620000000", "Update");
  self.alert->references.push_back({"test@example.org", "self-1", "2026-11-28T10:00:00+01:00"});
  self.warnings.push_back({"CIRCULAR_REFERENCE", "references contain this alert itself", false});
  decoder_.Add("self", self);
  ASSERT_EQ(ingest_.Accept("AP2", "self-1", "self").http_status, 202);
  Drain();
  EXPECT_EQ(Report("self-1").status, "done");
  ASSERT_EQ(fcm_.accepted().size(), 1u);
  EXPECT_EQ(fcm_.accepted()[0].token, d.token);
  EXPECT_EQ(fcm_.accepted()[0].collapse_id, "self-1");
}

TEST_F(PipelineTest, NonOwnerRecordsButDoesNotProcess) {
  RegionSettings two{"r0", 0, 2};
  Ingest ingest(two, ProviderSettings{}, Pipeline(), decoder_, archive_, log_, bus_, clock_);
  // Find a body whose hash is owned by region 1.
  for (int i = 0;; ++i) {
    std::string body = "b" + std::to_string(i);
    decoder_.Add(body, Usable("n-" + std::to_string(i), "Severe", "055150000000"));
    IngestOutcome out = ingest.Accept("AP2", "n-" + std::to_string(i), body);
    ASSERT_EQ(out.http_status, 202);
    if (out.owner == 1) {
      Drain();
      EXPECT_EQ(Report(out.id).status, "received");
      break;
    }
  }
}

// --- at-least-once: each stage is idempotent under redelivery (issue 10) ---

ports::BusMessage Redelivery(const ports::BusMessage& m, uint32_t deliveries) {
  ports::BusMessage r = m;
  r.deliveries = deliveries;
  return r;
}

TEST_F(PipelineTest, ARedeliveredBatchIsNotPushedAgainOnceReportedDone) {
  std::vector<Device> devs{Dev("a1", Platform::kApns, false, {"091620000000"}),
                           Dev("a2", Platform::kApns, false, {"091620000000"})};
  ASSERT_TRUE(registry_.Import(devs));
  decoder_.Add("body-r", Usable("alert-r", "Severe", "091620000000"));
  ASSERT_EQ(ingest_.Accept("AP2", "alert-r", "body-r").http_status, 202);
  Drain();
  ASSERT_EQ(apns_.accepted().size(), 2u);
  const size_t batches = BatchDone("alert-r").size();
  const dp::Event done = BatchDone("alert-r").at(0);
  // The same batch message again, as after a crash between batch-done and the ack.
  BatchWork w{"alert-r", done.unit, done.batch, "regular", {}};
  for (const auto& d : devs) w.items.push_back({d.id, d.token});
  ports::BusMessage msg{BatchesSubject("regular", Platform::kApns), BatchMsgId(w), Encode(w)};
  EXPECT_EQ(sender_.Handle(Redelivery(msg, 2)).kind, ports::WorkBus::Ack::Kind::kDone);
  EXPECT_EQ(apns_.accepted().size(), 2u);  // nothing sent again
  EXPECT_EQ(BatchDone("alert-r").size(), batches);
  EXPECT_EQ(Report("alert-r").total.redelivered, 0u);
}

TEST_F(PipelineTest, ACopyOfADoneBatchThatLooksNewIsNotPushedAgain) {
  // A server that lost its record of the delivery (or of the message id, so a unit's
  // batches were published again) hands the batch out as a first delivery.
  std::vector<Device> devs{Dev("c1", Platform::kApns, false, {"091620000000"})};
  ASSERT_TRUE(registry_.Import(devs));
  decoder_.Add("body-c", Usable("alert-c", "Severe", "091620000000"));
  ASSERT_EQ(ingest_.Accept("AP2", "alert-c", "body-c").http_status, 202);
  Drain();
  ASSERT_EQ(apns_.accepted().size(), 1u);
  const dp::Event done = BatchDone("alert-c").at(0);
  BatchWork w{"alert-c", done.unit, done.batch, "regular", {{"c1", devs[0].token}}};
  ports::BusMessage msg{BatchesSubject("regular", Platform::kApns), BatchMsgId(w), Encode(w)};
  EXPECT_EQ(sender_.Handle(Redelivery(msg, 1)).kind, ports::WorkBus::Ack::Kind::kDone);
  EXPECT_EQ(apns_.accepted().size(), 1u);
  EXPECT_EQ(Report("alert-c").total.redelivered, 0u);
}

// A stored plan of one APNs unit, for tests that hand the sender a batch directly.
std::shared_ptr<dp::AlertPlan> OneUnitPlan(const std::string& alert_id) {
  auto plan = std::make_shared<dp::AlertPlan>();
  plan->alert_id = alert_id;
  plan->priority = "regular";
  plan->collapse_id = alert_id;
  plan->apns_payload = "{}";
  plan->units = 1;
  return plan;
}

TEST_F(PipelineTest, ARedeliveredBatchWithoutItsRecordIsSentAgainAndReported) {
  std::vector<Device> devs{Dev("b1", Platform::kApns, false, {"091620000000"})};
  ASSERT_TRUE(registry_.Import(devs));
  ASSERT_TRUE(plans_.PutIfAbsent(OneUnitPlan("alert-b")));
  BatchWork w{"alert-b", "apns/selected/0", 0, "regular", {{"b1", devs[0].token}}};
  ports::BusMessage msg{BatchesSubject("regular", Platform::kApns), BatchMsgId(w), Encode(w)};
  // The crash came after the push and before batch-done: the redelivery pushes again.
  EXPECT_EQ(sender_.Handle(Redelivery(msg, 2)).kind, ports::WorkBus::Ack::Kind::kDone);
  ASSERT_EQ(BatchDone("alert-b").size(), 1u);
  EXPECT_EQ(BatchDone("alert-b")[0].redelivered, 1u);
  EXPECT_EQ(Report("alert-b").total.redelivered, 1u);
  // A further delivery of the same message changes nothing.
  EXPECT_EQ(sender_.Handle(Redelivery(msg, 3)).kind, ports::WorkBus::Ack::Kind::kDone);
  EXPECT_EQ(apns_.accepted().size(), 1u);
}

// A log that refuses batch-done events while `refuse` is set (a store or cluster away).
class RefusingLog final : public ports::ProtocolLog {
 public:
  explicit RefusingLog(ports::ProtocolLog& log) : log_(log) {}
  bool refuse = true;
  Result<bool, Error> Append(const dp::Event& e) override {
    if (refuse && e.type == EventType::kBatchDone) {
      return Fail(Error{Error::Kind::kRetryLater, "log away"});
    }
    return log_.Append(e);
  }
  Result<void, Error> Flush() override { return log_.Flush(); }
  std::vector<dp::Event> Events(const std::string& id) const override { return log_.Events(id); }
  std::vector<std::string> AlertIds() const override { return log_.AlertIds(); }
  std::vector<Entry> ReadFrom(uint64_t after, size_t max) const override {
    return log_.ReadFrom(after, max);
  }
  void Listen(Listener l) override { log_.Listen(std::move(l)); }

 private:
  ports::ProtocolLog& log_;
};

TEST_F(PipelineTest, ABatchWhoseRecordTheLogRefusedIsRecordedNotPushedAgain) {
  std::vector<Device> devs{Dev("u1", Platform::kApns, false, {"091620000000"})};
  ASSERT_TRUE(registry_.Import(devs));
  ASSERT_TRUE(plans_.PutIfAbsent(OneUnitPlan("alert-u")));
  RefusingLog log(log_);
  Sender sender(region_, RetrySettings{3, 100, 1000}, registry_, plans_, log, bus_, clock_,
                tracker_, apns_timed_, fcm_timed_);
  BatchWork w{"alert-u", "apns/selected/0", 0, "regular", {{"u1", devs[0].token}}};
  ports::BusMessage msg{BatchesSubject("regular", Platform::kApns), BatchMsgId(w), Encode(w)};
  EXPECT_EQ(sender.Handle(Redelivery(msg, 1)).kind, ports::WorkBus::Ack::Kind::kRetry);
  EXPECT_EQ(apns_.accepted().size(), 1u);
  // Delivered again (even with a count a restarted server reset): still refused, not pushed.
  EXPECT_EQ(sender.Handle(Redelivery(msg, 1)).kind, ports::WorkBus::Ack::Kind::kRetry);
  log.refuse = false;
  EXPECT_EQ(sender.Handle(Redelivery(msg, 2)).kind, ports::WorkBus::Ack::Kind::kDone);
  EXPECT_EQ(apns_.accepted().size(), 1u);
  ASSERT_EQ(BatchDone("alert-u").size(), 1u);
  EXPECT_EQ(BatchDone("alert-u")[0].accepted, 1u);
  EXPECT_EQ(BatchDone("alert-u")[0].redelivered, 0u);
}

TEST_F(PipelineTest, ARefusedRecordReachesTheLogEvenIfAnotherProcessFinishesTheBatch) {
  std::vector<Device> devs{Dev("v1", Platform::kApns, false, {"091620000000"}),
                           Dev("v2", Platform::kApns, false, {"091620000000"})};
  ASSERT_TRUE(registry_.Import(devs));
  auto plan = OneUnitPlan("alert-v");
  plan->units = 1;
  ASSERT_TRUE(plans_.PutIfAbsent(plan));
  RefusingLog log(log_);
  Sender sender(region_, RetrySettings{3, 100, 1000}, registry_, plans_, log, bus_, clock_,
                tracker_, apns_timed_, fcm_timed_);
  // A redelivered batch is pushed again, its record refused; the message goes elsewhere.
  BatchWork w{"alert-v", "apns/selected/0", 0, "regular", {{"v1", devs[0].token}}};
  ports::BusMessage msg{BatchesSubject("regular", Platform::kApns), BatchMsgId(w), Encode(w)};
  EXPECT_EQ(sender.Handle(Redelivery(msg, 2)).kind, ports::WorkBus::Ack::Kind::kRetry);
  EXPECT_TRUE(BatchDone("alert-v").empty());
  // The next batch this process handles, with the log back, brings the record along.
  log.refuse = false;
  BatchWork w1{"alert-v", "apns/selected/0", 1, "regular", {{"v2", devs[1].token}}};
  ports::BusMessage msg1{BatchesSubject("regular", Platform::kApns), BatchMsgId(w1), Encode(w1)};
  EXPECT_EQ(sender.Handle(msg1).kind, ports::WorkBus::Ack::Kind::kDone);
  ASSERT_EQ(BatchDone("alert-v").size(), 2u);
  EXPECT_EQ(Report("alert-v").total.redelivered, 1u);
}

TEST_F(PipelineTest, ABatchRecoveredWithoutTokensGetsThemFromTheRegistry) {
  std::vector<Device> devs{Dev("t1", Platform::kApns, false, {"091620000000"})};
  ASSERT_TRUE(registry_.Import(devs));
  ASSERT_TRUE(plans_.PutIfAbsent(OneUnitPlan("alert-t")));
  // The journaled form: device ids only; "t-gone" was unregistered before the restart.
  BatchWork w{"alert-t", "apns/selected/0", 0, "regular", {{"t1", ""}, {"t-gone", ""}}};
  const std::string stored = EncodeWithoutTokens(w);
  EXPECT_EQ(stored.find(devs[0].token), std::string::npos);
  ports::BusMessage msg{BatchesSubject("regular", Platform::kApns), BatchMsgId(w), stored};
  EXPECT_EQ(sender_.Handle(Redelivery(msg, 2)).kind, ports::WorkBus::Ack::Kind::kDone);
  ASSERT_EQ(apns_.accepted().size(), 1u);
  EXPECT_EQ(apns_.accepted()[0].token, devs[0].token);
  ASSERT_EQ(BatchDone("alert-t").size(), 1u);
  EXPECT_NE(BatchDone("alert-t")[0].detail.find("1 device(s) unregistered"), std::string::npos);
}

TEST_F(PipelineTest, DuplicatedEventsAndCallsCountOnce) {
  // A unit of two batches: batch 0 reported twice must not complete it.
  tracker_.OnProcessed("alert-d", 1);
  tracker_.OnUnitQueued("alert-d", "apns/all/0", 2);
  tracker_.OnBatchDone("alert-d", "apns/all/0", 0);
  tracker_.OnBatchDone("alert-d", "apns/all/0", 0);
  tracker_.OnUnitQueued("alert-d", "apns/all/0", 2);  // a redelivered unit
  EXPECT_EQ(Report("alert-d").total.units_done, 0u);
  EXPECT_EQ(tracker_.Open(), 1u);
  tracker_.OnBatchDone("alert-d", "apns/all/0", 1);
  EXPECT_EQ(tracker_.Open(), 0u);
  size_t unit_done = 0, alert_done = 0;
  for (const auto& e : log_.Events("alert-d")) {
    unit_done += e.type == EventType::kUnitDone;
    alert_done += e.type == EventType::kAlertDone;
  }
  EXPECT_EQ(unit_done, 1u);
  EXPECT_EQ(alert_done, 1u);
  // The same protocol event appended twice is recorded once.
  dp::Event e;
  e.type = EventType::kUnitQueued;
  e.alert_id = "alert-d";
  e.unit = "fcm/all/1";
  e.count = 3;
  EXPECT_EQ(log_.Append(e), true);
  e.t_ms = 12345;
  EXPECT_EQ(log_.Append(e), false);
}

TEST_F(PipelineTest, ARedeliveredAlertUsesTheStoredPlanAndRecordsProcessedOnce) {
  std::vector<Device> devs{Dev("c1", Platform::kFcm, false, {"091620000000"})};
  ASSERT_TRUE(registry_.Import(devs));
  decoder_.Add("body-c", Usable("alert-c", "Severe", "091620000000"));
  ASSERT_EQ(ingest_.Accept("AP2", "alert-c", "body-c").http_status, 202);
  Drain();
  auto first = plans_.Get("alert-c");
  ASSERT_TRUE(first);
  AlertWork w{"alert-c", Report("alert-c").hash, "AP2", "regular", 1};
  ports::BusMessage msg{AlertsSubject("regular"), "alert:" + w.hash, Encode(w)};
  EXPECT_EQ(processor_.Handle(Redelivery(msg, 2)).kind, ports::WorkBus::Ack::Kind::kDone);
  Drain();
  EXPECT_EQ(plans_.Get("alert-c"), first);
  size_t processed = 0;
  for (const auto& e : log_.Events("alert-c")) processed += e.type == EventType::kProcessed;
  EXPECT_EQ(processed, 1u);
  EXPECT_EQ(fcm_.accepted().size(), 1u);  // units and batches deduplicated by the bus
}

TEST_F(PipelineTest, RecoveryRebuildsCompletionAndWritesWhatTheCrashCutOff) {
  // The log as a crash left it: the unit's only batch is done, unit-done and alert-done
  // were never written.
  dp::Event e;
  e.region = "r0";
  e.alert_id = "alert-x";
  e.type = EventType::kProcessed;
  e.count = 1;
  ASSERT_TRUE(log_.Append(e));
  e.type = EventType::kUnitQueued;
  e.unit = "apns/all/0";
  ASSERT_TRUE(log_.Append(e));
  e.type = EventType::kBatchDone;
  e.batch = 0;
  ASSERT_TRUE(log_.Append(e));
  // And one still open: two batches, one done.
  e = dp::Event{};
  e.region = "r0";
  e.alert_id = "alert-y";
  e.type = EventType::kProcessed;
  e.count = 1;
  ASSERT_TRUE(log_.Append(e));
  e.type = EventType::kUnitQueued;
  e.unit = "apns/all/0";
  e.count = 2;
  ASSERT_TRUE(log_.Append(e));
  e.type = EventType::kBatchDone;
  ASSERT_TRUE(log_.Append(e));
  // Processed by another region: not ours to resume.
  e = dp::Event{};
  e.region = "r1";
  e.alert_id = "alert-z";
  e.type = EventType::kProcessed;
  e.count = 4;
  ASSERT_TRUE(log_.Append(e));

  CompletionTracker fresh("r0", log_, clock_);
  EXPECT_EQ(fresh.Recover(), (std::vector<std::string>{"alert-y"}));
  EXPECT_EQ(Report("alert-x").status, "done");
  EXPECT_EQ(Report("alert-y").status, "processing");
  fresh.OnBatchDone("alert-y", "apns/all/0", 1);
  EXPECT_EQ(Report("alert-y").status, "done");
}

// Units are derived work (not journaled): after a restart, recovery re-publishes from the
// stored plan exactly the units whose unit-queued is not in the log.
TEST_F(PipelineTest, ResumeRepublishesOnlyTheUnitsNotQueuedBeforeTheCrash) {
  auto plan = OneUnitPlan("alert-r");
  plan->shards = kShards;
  plan->units = 2 * 2 * kShards;
  ASSERT_TRUE(plans_.PutIfAbsent(plan));
  dp::Event e;
  e.region = "r0";
  e.alert_id = "alert-r";
  e.type = EventType::kProcessed;
  e.count = plan->units;
  ASSERT_TRUE(log_.Append(e));
  e.type = EventType::kUnitQueued;
  e.count = 0;
  for (const char* unit : {"apns/all/0", "fcm/selected/3"}) {
    e.unit = unit;
    ASSERT_TRUE(log_.Append(e));
  }
  adapters::memory::MemoryBus restarted{adapters::memory::MemoryBus::Settings{1, 100000}};
  Processor processor(region_, ProviderSettings{}, Pipeline(), decoder_, catalog_, archive_, plans_,
                      log_, restarted, clock_, tracker_, &geometry_);
  CompletionTracker fresh("r0", log_, clock_);
  EXPECT_EQ(ResumeOpenAlerts(fresh, processor), std::vector<std::string>{"alert-r"});
  std::mutex mu;
  std::set<std::string> units;
  restarted.Subscribe({UnitsSubject("regular"), "queuer", 1}, [&](const ports::BusMessage& m) {
    EXPECT_TRUE(m.derived);
    std::lock_guard lock(mu);
    units.insert(DecodeUnitWork(m.payload)->unit);
    return ports::WorkBus::Ack::Done();
  });
  for (int i = 0; i < 1000 && restarted.Pending() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  restarted.Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(units.size(), 2u * 2u * kShards - 2u);
  EXPECT_EQ(units.count("apns/all/0"), 0u);
  EXPECT_EQ(units.count("fcm/selected/3"), 0u);
  EXPECT_EQ(units.count("fcm/selected/2"), 1u);
}

// A region of several processes: the queuer and senders that finish an alert's work may run
// elsewhere; their events reach this process's tracker through the log, which completes the
// alert. Events of other regions are not this tracker's.
TEST_F(PipelineTest, CompletionFollowsTheLogForWorkDoneByOtherProcesses) {
  CompletionTracker tracker("r0", log_, clock_);
  log_.Listen([&](const dp::Event& e) { tracker.OnEvent(e); });
  auto append = [&](EventType type, const char* alert, const char* region, uint32_t count,
                    uint32_t batch) {
    dp::Event e;
    e.type = type;
    e.alert_id = alert;
    e.region = region;
    e.unit = "fcm/selected/1";
    e.count = count;
    e.batch = batch;
    return log_.Append(e).has_value();
  };
  ASSERT_TRUE(append(EventType::kProcessed, "alert-m", "r0", 1, 0));
  ASSERT_TRUE(append(EventType::kUnitQueued, "alert-m", "r0", 2, 0));
  ASSERT_TRUE(append(EventType::kBatchDone, "alert-m", "r0", 0, 0));
  EXPECT_EQ(Report("alert-m").status, "processing");
  ASSERT_TRUE(append(EventType::kBatchDone, "alert-m", "r0", 0, 1));  // a sender elsewhere
  EXPECT_EQ(Report("alert-m").status, "done");
  EXPECT_EQ(tracker.Open(), 0u);
  ASSERT_TRUE(append(EventType::kProcessed, "alert-other", "r1", 4, 0));  // not this region
  EXPECT_EQ(tracker.Open(), 0u);
}

}  // namespace
}  // namespace fanout::app
