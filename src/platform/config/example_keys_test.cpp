#include "platform/config/example_keys.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fanout::config {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

EVP_PKEY* ParsePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

TEST(ExampleKeys, WritesUsableKeysAndKeepsExistingOnes) {
  fs::path dir = fs::temp_directory_path() / ("fanout_keys_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ExampleOptions opts{.geo_data_dir = "/g", .keys_dir = dir};
  Settings s = ExampleSettings(opts);
  auto r = WriteExampleKeys(s);
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->apns_key_written);
  EXPECT_TRUE(r->service_account_written);

  std::string p8 = ReadAll(dir / "AuthKey.p8");
  EXPECT_EQ(p8.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << p8;
  EVP_PKEY* ec = ParsePem(p8);
  ASSERT_NE(ec, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(ec, "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(ec), 256);
  EVP_PKEY_free(ec);
  EXPECT_EQ(fs::status(dir / "AuthKey.p8").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  auto sa = nlohmann::json::parse(ReadAll(dir / "service-account.json"));
  EXPECT_EQ(sa["type"], "service_account");
  EXPECT_EQ(sa["project_id"], s.push.fcm.project_id);
  EXPECT_EQ(sa["token_uri"], s.push.fcm.token_uri);
  EXPECT_EQ(sa["client_email"], "fanout@" + s.push.fcm.project_id + ".iam.gserviceaccount.com");
  EVP_PKEY* rsa = ParsePem(sa["private_key"].get<std::string>());
  ASSERT_NE(rsa, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(rsa, "RSA"));
  EXPECT_EQ(EVP_PKEY_get_bits(rsa), 2048);
  EVP_PKEY_free(rsa);

  auto again = WriteExampleKeys(s);
  ASSERT_TRUE(again) << again.error();
  EXPECT_FALSE(again->apns_key_written);
  EXPECT_EQ(ReadAll(dir / "AuthKey.p8"), p8);  // kept, not regenerated
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fanout::config
