#pragma once
// How a process authenticates to NATS and protects the connection (issue 14, least
// privilege): a user per role with only its subjects (`fanout config nats` writes the
// server side, docs/nats.md), TLS with the server verified against a CA, optionally a client
// certificate. Shared by every adapter's settings; empty fields mean "not used".
#include <string>

namespace fanout::adapters::jetstream {

struct NatsClientSettings {
  std::string user;
  std::string password;   // secret: never logged
  std::string ca_file;    // non-empty: TLS, the server's certificate verified against it
  std::string cert_file;  // with key_file: a client certificate (servers that verify clients)
  std::string key_file;
  std::string name;  // shown by the server (connz, logs): "fanout eu-central sender"
  bool operator==(const NatsClientSettings&) const = default;
};

}  // namespace fanout::adapters::jetstream
