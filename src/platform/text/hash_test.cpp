#include "platform/text/hash.hpp"

#include <gtest/gtest.h>

namespace fanout::platform {
namespace {

// Reference values of the published FNV-1a 64 test vectors (offset basis for "").
TEST(Fnv1a64, MatchesTheReferenceVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(Fnv1a64Hex("a"), "af63dc4c8601ec8c");
}

}  // namespace
}  // namespace fanout::platform
