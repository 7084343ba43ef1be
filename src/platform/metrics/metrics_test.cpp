#include "platform/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>

namespace fanout::metrics {
namespace {

TEST(Metrics, RendersCountersAndGaugesInExpositionFormat) {
  Registry r;
  Counter ok = r.GetCounter("fanout_sender_pushes_total", "Pushes by outcome.",
                            {{"platform", "apns"}, {"outcome", "ok"}});
  Counter bad = r.GetCounter("fanout_sender_pushes_total", "Pushes by outcome.",
                             {{"outcome", "invalid"}, {"platform", "fcm"}});
  ok.Inc();
  ok.Inc(41);
  bad.Inc(3);
  Gauge depth = r.GetGauge("fanout_queuer_queue_depth_batches", "Batches waiting.");
  depth.Set(7);
  depth.Add(-2.5);
  EXPECT_EQ(r.Render(),
            "# HELP fanout_queuer_queue_depth_batches Batches waiting.\n"
            "# TYPE fanout_queuer_queue_depth_batches gauge\n"
            "fanout_queuer_queue_depth_batches 4.5\n"
            "# HELP fanout_sender_pushes_total Pushes by outcome.\n"
            "# TYPE fanout_sender_pushes_total counter\n"
            "fanout_sender_pushes_total{outcome=\"invalid\",platform=\"fcm\"} 3\n"
            "fanout_sender_pushes_total{outcome=\"ok\",platform=\"apns\"} 42\n");
}

TEST(Metrics, RendersHistogramBucketsSumAndCount) {
  Registry r;
  Histogram h = r.GetHistogram("fanout_sender_push_seconds", "Push latency.", {0.01, 0.1, 1},
                               {{"platform", "apns"}});
  h.Observe(0.005);
  h.Observe(0.01);  // le is inclusive
  h.Observe(0.5);
  h.Observe(3);
  EXPECT_EQ(h.Count(), 4u);
  EXPECT_EQ(r.Render(),
            "# HELP fanout_sender_push_seconds Push latency.\n"
            "# TYPE fanout_sender_push_seconds histogram\n"
            "fanout_sender_push_seconds_bucket{platform=\"apns\",le=\"0.01\"} 2\n"
            "fanout_sender_push_seconds_bucket{platform=\"apns\",le=\"0.1\"} 2\n"
            "fanout_sender_push_seconds_bucket{platform=\"apns\",le=\"1\"} 3\n"
            "fanout_sender_push_seconds_bucket{platform=\"apns\",le=\"+Inf\"} 4\n"
            "fanout_sender_push_seconds_sum{platform=\"apns\"} 3.515\n"
            "fanout_sender_push_seconds_count{platform=\"apns\"} 4\n");
}

TEST(Metrics, HistogramWithoutLabels) {
  Registry r;
  r.GetHistogram("fanout_x_seconds", "X.", {1}).Observe(2);
  EXPECT_EQ(r.Render(),
            "# HELP fanout_x_seconds X.\n"
            "# TYPE fanout_x_seconds histogram\n"
            "fanout_x_seconds_bucket{le=\"1\"} 0\n"
            "fanout_x_seconds_bucket{le=\"+Inf\"} 1\n"
            "fanout_x_seconds_sum 2\n"
            "fanout_x_seconds_count 1\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  Registry r;
  r.GetCounter("fanout_ingest_alerts_total", "Alerts \\ received\nper provider.",
               {{"provider", "a\"b\\c\nd"}})
      .Inc();
  EXPECT_EQ(r.Render(),
            "# HELP fanout_ingest_alerts_total Alerts \\\\ received\\nper provider.\n"
            "# TYPE fanout_ingest_alerts_total counter\n"
            "fanout_ingest_alerts_total{provider=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(Metrics, SpecialGaugeValues) {
  Registry r;
  r.GetGauge("g_inf", "i").Set(INFINITY);
  r.GetGauge("g_nan", "n").Set(NAN);
  r.GetGauge("g_neg", "m").Set(-1e-7);
  std::string text = r.Render();
  EXPECT_NE(text.find("g_inf +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("g_nan NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("g_neg -1e-07\n"), std::string::npos) << text;
}

TEST(Metrics, SameLabelsInAnyOrderAreTheSameSeries) {
  Registry r;
  Counter a = r.GetCounter("c_total", "c", {{"a", "1"}, {"b", "2"}});
  Counter b = r.GetCounter("c_total", "c", {{"b", "2"}, {"a", "1"}});
  a.Inc();
  b.Inc();
  EXPECT_EQ(a.Value(), 2u);
}

TEST(Metrics, MisuseThrows) {
  Registry r;
  r.GetCounter("c_total", "c");
  EXPECT_THROW(r.GetGauge("c_total", "c"), std::invalid_argument);
  EXPECT_THROW(r.GetCounter("c_total", "other help"), std::invalid_argument);
  EXPECT_THROW(r.GetCounter("c_total", "c", {{"x", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.GetCounter("1bad", "b"), std::invalid_argument);
  EXPECT_THROW(r.GetCounter("bad-name", "b"), std::invalid_argument);
  EXPECT_THROW(r.GetCounter("l_total", "l", {{"bad-label", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.GetCounter("l2_total", "l", {{"__x", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.GetCounter("l3_total", "l", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_THROW(r.GetHistogram("h", "h", {1}, {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.GetHistogram("h2", "h", {2, 1}), std::invalid_argument);
  r.GetHistogram("h3", "h", {1, 2});
  EXPECT_THROW(r.GetHistogram("h3", "h", {1, 3}), std::invalid_argument);
}

TEST(Metrics, DetachedHandlesAreHarmless) {
  Counter c;
  c.Inc();
  Histogram h;
  h.Observe(1);
  Gauge g;
  g.Set(1);
  SUCCEED();
}

TEST(Metrics, ConcurrentUpdatesSumCorrectly) {
  Registry r;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r, t] {
      // Each thread looks the handles up itself (the lookup path is concurrent too).
      Counter c = r.GetCounter("fanout_test_events_total", "Events.", {{"kind", "x"}});
      Gauge g = r.GetGauge("fanout_test_level", "Level.");
      Histogram h = r.GetHistogram("fanout_test_seconds", "Latency.", {0.5});
      for (int i = 0; i < kPerThread; ++i) {
        c.Inc();
        g.Add(1);
        h.Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
      (void)t;
    });
  }
  // Render while updates run: must not crash or race (ASan/TSan-clean).
  for (int i = 0; i < 10; ++i) (void)r.Render();
  for (auto& th : threads) th.join();
  constexpr uint64_t kTotal = uint64_t{kThreads} * kPerThread;
  EXPECT_EQ(r.GetCounter("fanout_test_events_total", "Events.", {{"kind", "x"}}).Value(), kTotal);
  EXPECT_EQ(r.GetGauge("fanout_test_level", "Level.").Value(), static_cast<double>(kTotal));
  Histogram h = r.GetHistogram("fanout_test_seconds", "Latency.", {0.5});
  EXPECT_EQ(h.Count(), kTotal);
  EXPECT_DOUBLE_EQ(h.Sum(), kTotal / 2 * 0.25 + kTotal / 2 * 1.0);
  std::string text = r.Render();
  EXPECT_NE(text.find("fanout_test_seconds_bucket{le=\"0.5\"} " + std::to_string(kTotal / 2)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("fanout_test_events_total{kind=\"x\"} " + std::to_string(kTotal)),
            std::string::npos);
}

}  // namespace
}  // namespace fanout::metrics

namespace fanout::metrics {
namespace {

TEST(ProcessStatus, ResidentAndPeakMemoryOfThisProcess) {
  const size_t rss = ProcessStatusKb("VmRSS:");
  const size_t peak = ProcessStatusKb("VmHWM:");
  EXPECT_GT(rss, 100u);  // a running test binary holds more than 100 kB
  EXPECT_GE(peak, rss);
  EXPECT_EQ(ProcessStatusKb("NoSuchField:"), 0u);
}

}  // namespace
}  // namespace fanout::metrics
