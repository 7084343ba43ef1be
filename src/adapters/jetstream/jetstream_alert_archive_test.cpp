// Needs a nats-server with JetStream at FANOUT_NATS_URL (label `nats`; run under
// scripts/with-nats.sh). Two archives on one bucket stand for two processes.
#include "adapters/jetstream/jetstream_alert_archive.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "platform/crypto/crypto.hpp"

namespace fanout::adapters::jetstream {
namespace {

std::unique_ptr<JetStreamAlertArchive> Archive() {
  AlertArchiveSettings s;
  const char* url = std::getenv("FANOUT_NATS_URL");
  EXPECT_NE(url, nullptr) << "FANOUT_NATS_URL is not set (run under scripts/with-nats.sh)";
  s.url = url ? url : "";
  s.bucket = "TALERTS" + std::to_string(::getpid());
  auto archive = JetStreamAlertArchive::Connect(s);
  EXPECT_TRUE(archive) << (archive ? "" : archive.error().message);
  return archive ? std::move(*archive) : nullptr;
}

TEST(JetStreamArchive, WhatOneProcessStoresAnotherReads) {
  auto ingest = Archive(), processor = Archive();
  ASSERT_TRUE(ingest && processor);
  const std::string body = "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">…</alert>";
  const std::string hash = platform::Sha256Hex(body);
  auto none = processor->Get(hash);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(ingest->Put(hash, body));
  ASSERT_TRUE(ingest->Put(hash, body));  // idempotent
  auto got = processor->Get(hash);
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, body);
}

TEST(JetStreamArchive, ABodyTheServerCannotCarryIsRefusedClearly) {
  auto archive = Archive();
  ASSERT_TRUE(archive);
  ASSERT_GT(archive->MaxBodyBytes(), 500'000);  // nats-server's default max_payload is 1 MB
  const std::string big(static_cast<size_t>(archive->MaxBodyBytes()) + 1, 'x');
  auto put = archive->Put(platform::Sha256Hex(big), big);
  ASSERT_FALSE(put);
  EXPECT_NE(put.error().message.find("max_payload"), std::string::npos) << put.error().message;
  EXPECT_FALSE(archive->Put("not-a-hash", "x"));
  auto missing = archive->Get("../etc/passwd");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace fanout::adapters::jetstream
