#include "platform/log/log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

namespace fanout::log {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { InitLogging(Level::kInfo); }  // back to stderr for other tests
  std::ostringstream out_;
};

TEST_F(LogTest, TextLinesCarryLevelComponentAndMessage) {
  InitLogging({.level = Level::kInfo, .json = false, .out = &out_});
  auto log = GetLogger("sender");
  log.Info("pushed {} tokens", 500);
  EXPECT_THAT(out_.str(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z info \\[sender\\] pushed 500 "
                           "tokens\n"));
}

TEST_F(LogTest, LevelFiltersAndSkipsFormatting) {
  InitLogging({.level = Level::kWarn, .out = &out_});
  auto log = GetLogger("ingest");
  EXPECT_FALSE(log.ShouldLog(Level::kInfo));
  EXPECT_TRUE(log.ShouldLog(Level::kError));
  log.Info("hidden");
  log.Debug("hidden too");
  log.Warn("shown {}", 1);
  EXPECT_THAT(out_.str(), Not(HasSubstr("hidden")));
  EXPECT_THAT(out_.str(), HasSubstr("warning [ingest] shown 1"));
}

TEST_F(LogTest, ReinitAppliesToExistingLoggers) {
  auto log = GetLogger("queuer");  // created before InitLogging
  InitLogging({.level = Level::kDebug, .out = &out_});
  log.Debug("now visible");
  EXPECT_THAT(out_.str(), HasSubstr("debug [queuer] now visible"));
}

TEST_F(LogTest, JsonLinesAreEscaped) {
  InitLogging({.level = Level::kInfo, .json = true, .out = &out_});
  GetLogger("capxml").Error("bad \"alert\"\n\tline\\{}", std::string(1, '\x01'));
  EXPECT_THAT(
      out_.str(),
      MatchesRegex("\\{\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]"
                   "{3}Z\",\"level\":\"error\",\"component\":\"capxml\",\"msg\":\"bad "
                   "\\\\\"alert\\\\\"\\\\n\\\\tline\\\\\\\\\\\\u0001\"\\}\n"));
}

// Structured fields: top-level JSON keys (escaped), `key=value` in text (quoted when needed);
// a plain line afterwards carries none.
TEST_F(LogTest, FieldsAreJsonKeysOrKeyValuePairs) {
  InitLogging({.level = Level::kInfo, .json = true, .out = &out_});
  auto log = GetLogger("events");
  log.Log(Level::kInfo, "batch-done", {{"alert", "a \"1\""}, {"batch", "u/3"}});
  log.Info("plain");
  EXPECT_THAT(out_.str(), HasSubstr("\"component\":\"events\",\"alert\":\"a \\\"1\\\"\","
                                    "\"batch\":\"u/3\",\"msg\":\"batch-done\"}\n"));
  EXPECT_THAT(out_.str(), HasSubstr("\"component\":\"events\",\"msg\":\"plain\"}"));
  std::ostringstream text;
  InitLogging({.level = Level::kInfo, .json = false, .out = &text});
  log.Log(Level::kInfo, "takeover", {{"alert", "x y"}, {"region", "eu-west"}});
  EXPECT_THAT(text.str(), HasSubstr("[events] takeover alert=\"x y\" region=eu-west\n"));
  log.Log(Level::kInfo, "id", {{"alert", "x\n2026 error [events] forged"}});
  EXPECT_THAT(text.str(), HasSubstr("id alert=\"x\\x0a2026 error [events] forged\"\n"));
  log.Log(Level::kDebug, "hidden", {{"alert", "z"}});
  EXPECT_THAT(text.str(), Not(HasSubstr("hidden")));
}

TEST_F(LogTest, ParseLevel) {
  EXPECT_EQ(ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(ParseLevel("warning"), Level::kWarn);
  EXPECT_EQ(ParseLevel("off"), Level::kOff);
  EXPECT_EQ(ParseLevel("loud"), std::nullopt);
}

TEST_F(LogTest, ConcurrentLoggingKeepsLinesWhole) {
  InitLogging({.level = Level::kInfo, .out = &out_});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      auto log = GetLogger("worker" + std::to_string(t));
      for (int i = 0; i < 200; ++i) log.Info("line {} {}", t, i);
    });
  }
  for (auto& th : threads) th.join();
  std::istringstream lines(out_.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    EXPECT_THAT(line, MatchesRegex(".* info \\[worker[0-3]\\] line [0-3] [0-9]+")) << line;
    ++n;
  }
  EXPECT_EQ(n, 800);
}

}  // namespace
}  // namespace fanout::log
