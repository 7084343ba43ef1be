#include "platform/config/example_keys.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>

namespace fanout::config {
namespace {

namespace fs = std::filesystem;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----") of `key`, or "" on failure.
std::string Pkcs8Pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "\"";
}

tl::expected<bool, std::string> WriteSecretFile(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (fs::exists(path, ec)) return false;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return tl::make_unexpected(path.parent_path().string() + ": " + ec.message());
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out.flush()) return tl::make_unexpected(path.string() + ": cannot write");
  }
  ::chmod(path.c_str(), 0600);
  return true;
}

}  // namespace

tl::expected<GeneratedKeys, std::string> WriteExampleKeys(const Settings& example) {
  GeneratedKeys result;
  const fs::path& p8 = example.push.apns.key_file;
  const fs::path& sa = example.push.fcm.service_account_file;
  if (!p8.is_absolute() || !sa.is_absolute())
    return tl::make_unexpected(std::string("key paths must be absolute"));

  Pkey ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!ec) return tl::make_unexpected(std::string("EC P-256 key generation failed"));
  std::string ec_pem = Pkcs8Pem(ec.get());
  if (ec_pem.empty()) return tl::make_unexpected(std::string("cannot encode the EC key"));
  auto w1 = WriteSecretFile(p8, ec_pem);
  if (!w1) return tl::make_unexpected(w1.error());
  result.apns_key_written = *w1;

  Pkey rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  if (!rsa) return tl::make_unexpected(std::string("RSA key generation failed"));
  std::string rsa_pem = Pkcs8Pem(rsa.get());
  if (rsa_pem.empty()) return tl::make_unexpected(std::string("cannot encode the RSA key"));
  const std::string& project = example.push.fcm.project_id;
  std::string json =
      "{\n  \"type\": \"service_account\",\n  \"project_id\": " + JsonString(project) +
      ",\n  \"private_key_id\": " + JsonString(RandomToken().substr(0, 40)) +
      ",\n  \"private_key\": " + JsonString(rsa_pem) +
      ",\n  \"client_email\": " + JsonString("fanout@" + project + ".iam.gserviceaccount.com") +
      ",\n  \"client_id\": \"100000000000000000000\",\n  \"token_uri\": " +
      JsonString(example.push.fcm.token_uri) + "\n}\n";
  auto w2 = WriteSecretFile(sa, json);
  if (!w2) return tl::make_unexpected(w2.error());
  result.service_account_written = *w2;
  return result;
}

}  // namespace fanout::config
