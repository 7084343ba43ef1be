#pragma once
// Test helper: a throwaway self-signed certificate for 127.0.0.1/localhost, made with
// OpenSSL APIs (no openssl CLI), written as PEM files into a temp directory.
#include <string>

namespace fanout::adapters::http2::testing {

struct TestCert {
  std::string dir;
  std::string cert_file;  // also usable as the client's CA file
  std::string key_file;
};

/// Throws std::runtime_error on failure.
TestCert MakeSelfSignedCert();

}  // namespace fanout::adapters::http2::testing
