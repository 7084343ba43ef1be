#include "app/rate_limit.hpp"

#include <gtest/gtest.h>

namespace fanout::app {
namespace {

TEST(RateLimiter, BurstThenAverageRatePerKeyWithTheWaitForRetryAfter) {
  RateLimiter limiter({/*per_second=*/2, /*burst=*/3, /*max_keys=*/100});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("a", 1000), 0) << i;
  EXPECT_EQ(limiter.Take("a", 1000), 500);  // 2 per second: the next token in 500 ms
  EXPECT_EQ(limiter.Take("b", 1000), 0);    // another key is not affected
  EXPECT_EQ(limiter.Take("a", 1250), 250);  // a refusal costs nothing
  EXPECT_EQ(limiter.Take("a", 1500), 0);
  EXPECT_GT(limiter.Take("a", 1500), 0);
  EXPECT_EQ(limiter.Take("a", 100'000), 0);  // refilled, never above the burst
  EXPECT_EQ(limiter.Take("a", 100'000), 0);
  EXPECT_EQ(limiter.Take("a", 100'000), 0);
  EXPECT_GT(limiter.Take("a", 100'000), 0);
  EXPECT_EQ(RetryAfterSeconds(1), 1);
  EXPECT_EQ(RetryAfterSeconds(1001), 2);
}

TEST(RateLimiter, OffAndBoundedMemory) {
  RateLimiter off;
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(off.Take("a", 0), 0);
  RateLimiter small({1, 1, 2});
  EXPECT_EQ(small.Take("a", 0), 0);
  EXPECT_EQ(small.Take("b", 0), 0);
  // A third key at t=10 s: a and b are full again and forgotten; c is tracked.
  EXPECT_EQ(small.Take("c", 10'000), 0);
  EXPECT_GT(small.Take("c", 10'000), 0);
}

}  // namespace
}  // namespace fanout::app
