#include "platform/crypto/crypto.hpp"

#include <gtest/gtest.h>

#include <cctype>

#include <regex>
#include <set>

namespace fanout::platform {
namespace {

TEST(Crypto, Sha256KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, RandomValuesHaveTheRightShape) {
  EXPECT_EQ(RandomHex(16).size(), 32u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
  std::string u = RandomUuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
}

TEST(Crypto, UuidsAreCanonicalVersion4AndUnique) {
  const std::regex kV4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  std::string reused(100, 'x');  // FastUuid overwrites, whatever was there
  for (int i = 0; i < 1000; ++i) {
    FastUuid(reused);
    ASSERT_TRUE(std::regex_match(reused, kV4)) << reused;
    seen.insert(reused);
    std::string r = RandomUuid();
    ASSERT_TRUE(std::regex_match(r, kV4)) << r;
    seen.insert(r);
  }
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_TRUE(std::regex_match(FastUuid(), kV4));
}

TEST(Crypto, SecretsMatchAsGivenOrAsTheirSha256) {
  const std::string token = "s3cret-token";
  EXPECT_TRUE(SecretMatches(token, token));
  EXPECT_TRUE(SecretMatches(token, "sha256:" + Sha256Hex(token)));
  std::string upper = Sha256Hex(token);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(SecretMatches(token, "sha256:" + upper));
  EXPECT_FALSE(SecretMatches("s3cret-tokeN", token));
  EXPECT_FALSE(SecretMatches("s3cret-tokeN", "sha256:" + Sha256Hex(token)));
  EXPECT_FALSE(SecretMatches("sha256:" + Sha256Hex(token), "sha256:" + Sha256Hex(token)));
  EXPECT_FALSE(SecretMatches("", ""));
  EXPECT_FALSE(SecretMatches(token, ""));
}

}  // namespace
}  // namespace fanout::platform
