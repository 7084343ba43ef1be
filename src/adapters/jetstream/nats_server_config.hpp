#pragma once
// The server side of least privilege on NATS (issue 14; `fanout config nats`, docs/nats.md):
// a region's nats-server configuration — its JetStream domain, leafnodes to the other
// regions, TLS — with one user per role (or per group of roles run by one process) whose
// publish and subscribe permissions are exactly the subjects that role uses: its own work
// queues, the streams every process reads, and no stream or consumer administration beyond
// creating what it uses (no delete, purge, update or other roles' queues). The subjects are
// derived from the same names the adapters use (work-queue streams, buckets, log and feed),
// so a renamed stream cannot drift from its permission.
#include <string>
#include <vector>

namespace fanout::adapters::jetstream {

struct NatsPermissions {
  std::vector<std::string> publish;    // allow-list
  std::vector<std::string> subscribe;  // allow-list
};

/// What a process running `roles` (any of ingest, processor, queuer, sender, watchdog,
/// dashboard, registry) in `region` as `user` may publish and subscribe; `linked` when the
/// region has peers (its subjects then carry the region's name). Subscriptions: only the
/// user's own inbox (`InboxPrefix`), so no role reads another's replies or deliveries.
NatsPermissions RolePermissions(const std::vector<std::string>& roles, const std::string& region,
                                bool linked, const std::string& user);

struct NatsUser {
  std::string name;
  std::vector<std::string> roles;  // empty: an operator with every permission (nats CLI)
  std::string password_hash;       // bcrypt ($2b$...): the server never stores the clear one
};

struct NatsServerConfigOptions {
  std::string region;                // JetStream domain (and server and cluster name)
  std::vector<std::string> regions;  // every region in index order (others = peers)
  std::string server_name;           // a cluster's node: unique per node (empty: the region)
  std::string listen = "127.0.0.1:4222";
  std::string monitor_listen;  // HTTP monitoring (/healthz, /varz); empty: none
  // A cluster (3 nodes per region in production): routes between the nodes, authenticated
  // (user fanout-route) and, with TLS, mutually verified.
  std::string cluster_listen;
  std::vector<std::string> routes;  // nats-route://user:password@host:port of every node
  std::string route_user = "fanout-route";
  std::string route_password_hash;
  std::string store_dir;                      // JetStream storage
  std::string leafnode_listen;                // the hub: accepts the other regions' leafnodes
  std::vector<std::string> leafnode_remotes;  // nats-leaf://user:password@host:port
  std::string leaf_user = "fanout-leaf";      // who the other regions' leafnodes log in as
  std::string leaf_password_hash;
  std::string tls_cert_file, tls_key_file, tls_ca_file;  // TLS for clients and leafnodes
  bool tls_verify_clients = false;  // clients must present a certificate signed by the CA
  std::vector<NatsUser> users;
  long long max_payload = 8LL << 20;  // raw alerts travel through JetStream
};

/// The nats-server configuration text (nats-server 2.9 syntax).
std::string NatsServerConfig(const NatsServerConfigOptions& o);

/// A bcrypt hash of `password` (libcrypt, cost 10) as nats-server verifies it; empty on
/// failure.
std::string BcryptHash(const std::string& password);

}  // namespace fanout::adapters::jetstream
