#include "adapters/jetstream/nats_server_config.hpp"

#include <crypt.h>

#include <algorithm>
#include <set>

#include "adapters/jetstream/jetstream_alert_archive.hpp"
#include "adapters/jetstream/jetstream_bus.hpp"
#include "adapters/jetstream/jetstream_device_feed.hpp"
#include "adapters/jetstream/jetstream_plan_store.hpp"
#include "adapters/jetstream/jetstream_protocol_log.hpp"
#include "adapters/jetstream/nats_common.hpp"

namespace fanout::adapters::jetstream {

namespace {

bool Has(const std::vector<std::string>& roles, const char* role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

// The JetStream API a process needs for a stream it only reads through an ordered consumer
// (protocol log, device feed) or direct gets (buckets).
void ReadStream(std::set<std::string>& pub, const std::string& stream) {
  pub.insert("$JS.API.STREAM.INFO." + stream);
  pub.insert("$JS.API.STREAM.MSG.GET." + stream);
  pub.insert("$JS.API.DIRECT.GET." + stream);
  pub.insert("$JS.API.DIRECT.GET." + stream + ".>");
  pub.insert("$JS.API.CONSUMER.CREATE." + stream);
  pub.insert("$JS.API.CONSUMER.CREATE." + stream + ".>");
  pub.insert("$JS.API.CONSUMER.DELETE." + stream + ".>");
  pub.insert("$JS.API.CONSUMER.INFO." + stream + ".>");
  pub.insert("$JS.FC." + stream + ".>");
}

// A work queue a role consumes with durable pull consumers (and acknowledges).
void ConsumeQueue(std::set<std::string>& pub, const std::string& stream) {
  pub.insert("$JS.API.STREAM.CREATE." + stream);
  pub.insert("$JS.API.STREAM.INFO." + stream);
  pub.insert("$JS.API.CONSUMER.CREATE." + stream + ".>");
  pub.insert("$JS.API.CONSUMER.DURABLE.CREATE." + stream + ".>");
  pub.insert("$JS.API.CONSUMER.INFO." + stream + ".>");
  pub.insert("$JS.API.CONSUMER.MSG.NEXT." + stream + ".>");
  pub.insert("$JS.ACK." + stream + ".>");
}

// A work queue a role produces into (creates it on first use).
void ProduceQueue(std::set<std::string>& pub, const std::string& stream,
                  const std::string& subject) {
  pub.insert("$JS.API.STREAM.CREATE." + stream);
  pub.insert("$JS.API.STREAM.INFO." + stream);
  pub.insert(subject);
}

// A stream read by key (key-value buckets, the peers' sourced buckets): info and gets only.
void GetFrom(std::set<std::string>& pub, const std::string& stream) {
  pub.insert("$JS.API.STREAM.CREATE." + stream);
  pub.insert("$JS.API.STREAM.INFO." + stream);
  pub.insert("$JS.API.STREAM.MSG.GET." + stream);
  pub.insert("$JS.API.DIRECT.GET." + stream);
  pub.insert("$JS.API.DIRECT.GET." + stream + ".>");
}

void Bucket(std::set<std::string>& pub, const std::string& bucket, bool write) {
  GetFrom(pub, "KV_" + bucket);
  if (write) pub.insert("$KV." + bucket + ".>");
}

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string List(const std::vector<std::string>& items, const std::string& indent) {
  std::string out = "[\n";
  for (const auto& i : items) out += indent + "  " + Quoted(i) + "\n";
  return out + indent + "]";
}

}  // namespace

NatsPermissions RolePermissions(const std::vector<std::string>& roles, const std::string& region,
                                bool linked, const std::string& user) {
  const JetStreamSettings bus;
  const std::string prefix = bus.stream_prefix + "_" + region;
  auto queue = [&](const std::string& subject) { return WorkStreamName(prefix, subject); };
  auto wire = [&](const std::string& subject) { return region + "." + subject; };
  auto own = [&](const std::string& base) { return linked ? base + "." + region : base; };
  const ProtocolLogSettings log;
  const DeviceFeedSettings feed;
  const PlanStoreSettings plans;
  const AlertArchiveSettings archive;
  const std::string plans_bucket = linked ? plans.bucket + "_" + region : plans.bucket;
  const std::string alerts_bucket = linked ? archive.bucket + "_" + region : archive.bucket;
  const std::vector<std::string> priorities{"high", "regular"};
  const std::vector<std::string> platforms{"apns", "fcm"};

  std::set<std::string> pub;
  // Every process: the JetStream account, the protocol log (tail), the device feed (tail),
  // plans and raw alerts (read), created idempotently by whichever process starts first.
  pub.insert("$JS.API.INFO");
  pub.insert("$JS.API.STREAM.NAMES");
  for (const std::string& stream : {log.stream, feed.stream}) {
    pub.insert("$JS.API.STREAM.CREATE." + stream);
    ReadStream(pub, stream);
  }
  const bool writes_plans = Has(roles, "processor") || Has(roles, "watchdog");
  Bucket(pub, plans_bucket, writes_plans);
  Bucket(pub, alerts_bucket, Has(roles, "ingest"));
  if (linked) {
    for (const std::string& peers : {plans.bucket + "_PEERS", archive.bucket + "_PEERS"}) {
      GetFrom(pub, peers);
    }
  }
  // Facts: every role that works on alerts records them.
  for (const char* r : {"ingest", "processor", "queuer", "sender", "watchdog"}) {
    if (Has(roles, r)) pub.insert(own(log.subject));
  }
  // Device changes: the registry (API), senders (invalid tokens removed).
  if (Has(roles, "registry") || Has(roles, "sender")) pub.insert(own(feed.subject));

  for (const auto& p : priorities) {
    const std::string alerts = "alerts." + p, units = "units." + p;
    if (Has(roles, "ingest") || Has(roles, "processor") || Has(roles, "watchdog")) {
      ProduceQueue(pub, queue(alerts), wire(alerts));
    }
    if (Has(roles, "processor")) ConsumeQueue(pub, queue(alerts));
    if (Has(roles, "processor") || Has(roles, "watchdog")) {
      ProduceQueue(pub, queue(units), wire(units));
    }
    if (Has(roles, "queuer")) ConsumeQueue(pub, queue(units));
    for (const auto& platform : platforms) {
      const std::string batches = "batches." + p + "." + platform;
      if (Has(roles, "queuer") || Has(roles, "sender") || Has(roles, "watchdog")) {
        ProduceQueue(pub, queue(batches), wire(batches));
      }
      if (Has(roles, "sender")) ConsumeQueue(pub, queue(batches));
    }
  }
  if (Has(roles, "sender")) Bucket(pub, prefix + "_MARKS", true);

  NatsPermissions out;
  out.publish.assign(pub.begin(), pub.end());
  out.subscribe = {InboxPrefix(user) + ".>"};  // replies, and the consumers' deliveries
  return out;
}

std::string NatsServerConfig(const NatsServerConfigOptions& o) {
  const bool linked = o.regions.size() > 1;
  std::string c;
  c += "# nats-server configuration of region " + o.region + ", written by `fanout config nats`.\n";
  c += "# One user per role with only its subjects (docs/nats.md); users' passwords are bcrypt\n";
  c += "# hashes (a leafnode remote's or route's URL carries its login in clear: keep it 0600).\n";
  c += "server_name: " + Quoted(o.server_name.empty() ? o.region : o.server_name) + "\n";
  c += "listen: " + Quoted(o.listen) + "\n";
  if (!o.monitor_listen.empty()) c += "http: " + Quoted(o.monitor_listen) + "\n";
  c += "max_payload: " + std::to_string(o.max_payload) + "\n";
  c += "jetstream {\n  domain: " + Quoted(o.region) + "\n  store_dir: " + Quoted(o.store_dir) +
       "\n}\n";
  // One TLS block for clients and (on the hub) leafnodes.
  // `verify` only for clients: leafnode remotes present no certificate (they log in with a
  // password), and routes verify each other anyway.
  auto tls = [&](const std::string& in, bool verify) {
    std::string t = in + "tls {\n" + in + "  cert_file: " + Quoted(o.tls_cert_file) + "\n" + in +
                    "  key_file: " + Quoted(o.tls_key_file) + "\n";
    if (!o.tls_ca_file.empty()) t += in + "  ca_file: " + Quoted(o.tls_ca_file) + "\n";
    if (verify) t += in + "  verify: true\n";
    return t + in + "  timeout: 5\n" + in + "}\n";
  };
  const bool with_tls = !o.tls_cert_file.empty();
  if (with_tls) c += tls("", o.tls_verify_clients);
  c += "authorization {\n  users: [\n";
  for (const NatsUser& u : o.users) {
    c += "    { user: " + Quoted(u.name) + ", password: " + Quoted(u.password_hash);
    if (u.roles.empty()) {
      c += " }  # operator: every permission\n";
      continue;
    }
    NatsPermissions p = RolePermissions(u.roles, o.region, linked, u.name);
    std::string roles;
    for (const auto& r : u.roles) roles += (roles.empty() ? "" : ", ") + r;
    c += "\n      # roles: " + roles + "\n";
    c += "      permissions: {\n";
    c += "        publish: { allow: " + List(p.publish, "        ") + " }\n";
    c += "        subscribe: { allow: " + List(p.subscribe, "        ") + " }\n";
    c += "      }\n    }\n";
  }
  c += "  ]\n}\n";
  if (!o.cluster_listen.empty()) {
    c +=
        "cluster {\n  name: " + Quoted(o.region) + "\n  listen: " + Quoted(o.cluster_listen) + "\n";
    c += "  authorization { user: " + Quoted(o.route_user) +
         ", password: " + Quoted(o.route_password_hash) + " }\n";
    c += "  routes: " + List(o.routes, "  ") + "\n";
    // Routes verify each other: both ends present the certificate, checked against the CA.
    if (with_tls) c += tls("  ", false);
    c += "}\n";
  }
  if (!o.leafnode_listen.empty() || !o.leafnode_remotes.empty()) {
    c += "leafnodes {\n";
    if (!o.leafnode_listen.empty()) {
      c += "  listen: " + Quoted(o.leafnode_listen) + "\n";
      c += "  authorization { user: " + Quoted(o.leaf_user) +
           ", password: " + Quoted(o.leaf_password_hash) + " }\n";
    }
    if (!o.leafnode_remotes.empty()) {
      c += "  remotes: [\n";
      for (const auto& r : o.leafnode_remotes) {
        c += "    { url: " + Quoted(r);
        if (!o.tls_ca_file.empty()) c += ", tls: { ca_file: " + Quoted(o.tls_ca_file) + " }";
        c += " }\n";
      }
      c += "  ]\n";
    }
    if (with_tls && !o.leafnode_listen.empty()) c += tls("  ", false);
    c += "}\n";
  }
  return c;
}

std::string BcryptHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 10, nullptr, 0, salt, sizeof salt) == nullptr) return "";
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), salt, &data);
  if (hash == nullptr || hash[0] == '*') return "";
  return hash;
}

}  // namespace fanout::adapters::jetstream
