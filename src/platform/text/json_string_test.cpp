#include "platform/text/json_string.hpp"

#include <gtest/gtest.h>

namespace fanout::platform {
namespace {

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonString("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(JsonString(std::string_view("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(JsonString("Münster"), "\"Münster\"");  // UTF-8 passes through
  std::string out = "x=";
  AppendJsonString(out, "");
  EXPECT_EQ(out, "x=\"\"");
}

}  // namespace
}  // namespace fanout::platform
