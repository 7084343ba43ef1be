// `fanout config example|check|docs` (DESIGN §7.4).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "paths.hpp"
#include "platform/config/example_keys.hpp"
#include "platform/config/settings.hpp"
#include "platform/crypto/crypto.hpp"
#if FANOUT_HAVE_DISTRIBUTED
#include <fstream>
#include <map>

#include "adapters/jetstream/nats_server_config.hpp"
#endif

namespace fanout::cli {
namespace {

namespace fs = std::filesystem;
namespace cfg = fanout::config;

struct ExampleArgs {
  bool distributed = false;
  std::string keys_dir;
  std::string region, regions, nats, postgres, tokens_from;
};

struct NatsArgs {
  std::string region, regions, listen = "127.0.0.1:4222", store_dir, leafnode_listen;
  std::vector<std::string> leafnode_remotes;
  std::string server_name, monitor, cluster_listen;
  std::vector<std::string> routes;
  std::string tls_cert, tls_key, tls_ca, users, passwords_from;
  bool verify_clients = false;
};

struct CheckArgs {
  std::string file;
  std::vector<std::string> sets;
  bool show_secrets = false;
};

int RunExample(const ExampleArgs& args) {
  auto data = FindDataDir("config example");
  if (!data) return 1;
  const fs::path geo = *data / "geo";
  std::cerr << "fanout config example: geodata " << geo.string() << "\n";
  std::error_code ec;

  cfg::ExampleOptions opts{.distributed = args.distributed, .geo_data_dir = geo};
  if (!args.keys_dir.empty()) {
    opts.keys_dir = fs::absolute(args.keys_dir, ec).lexically_normal();
  }
  opts.region = args.region;
  for (size_t pos = 0; !args.regions.empty() && pos <= args.regions.size();) {
    size_t comma = std::min(args.regions.find(',', pos), args.regions.size());
    opts.regions.push_back(args.regions.substr(pos, comma - pos));
    pos = comma + 1;
  }
  opts.nats_url = args.nats;
  opts.postgres_url = args.postgres;
  if (auto problem = cfg::CheckExampleRegions(opts); !problem.empty()) {
    std::cerr << "fanout config example: " << problem << "\n";
    return 2;
  }
  if (!args.tokens_from.empty()) {
    auto other = cfg::LoadSettings(args.tokens_from, {});
    if (!other) {
      std::cerr << "fanout config example: --tokens-from " << args.tokens_from
                << " is not a valid configuration:\n"
                << other.error().ToString();
      return 2;
    }
    opts.auth = other->auth;
  }
  cfg::Settings example = cfg::ExampleSettings(opts);
  // Secrets stored hashed (issue 14): the file holds `sha256:<hex>` of each new token; the
  // clear tokens go to standard error, once, for the operator to hand out. Tokens copied with
  // --tokens-from stay as the other file has them.
  std::vector<std::pair<std::string, std::string>> clear;
  if (!opts.auth) {
    auto hash = [&clear](const std::string& name, std::string& token) {
      clear.emplace_back(name, token);
      token = "sha256:" + platform::Sha256Hex(token);
    };
    for (auto& [provider, token] : example.auth.provider_tokens) hash(provider, token);
    hash("device_token", example.auth.device_token);
    hash("admin_token", example.auth.admin_token);
  }
  if (!opts.keys_dir.empty()) {
    auto keys = cfg::WriteExampleKeys(example);
    if (!keys) {
      std::cerr << "fanout config example: " << keys.error() << "\n";
      return 2;
    }
    std::cerr << "fanout config example: " << example.push.apns.key_file.string()
              << (keys->apns_key_written ? " generated" : " exists, kept") << "; "
              << example.push.fcm.service_account_file.string()
              << (keys->service_account_written ? " generated" : " exists, kept") << "\n";
  }
  std::cout << cfg::RenderExampleConfig(example, opts);
  std::cout.flush();
  if (!clear.empty()) {
    std::cerr << "fanout config example: the tokens, shown this once (the config stores their "
                 "SHA-256):\n";
    for (const auto& [name, token] : clear) std::cerr << name << " = " << token << "\n";
  }
  return 0;
}

std::vector<std::string> SplitList(const std::string& s, char sep) {
  std::vector<std::string> out;
  for (size_t pos = 0; !s.empty() && pos <= s.size();) {
    size_t end = std::min(s.find(sep, pos), s.size());
    out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

#if FANOUT_HAVE_DISTRIBUTED
// `fanout config nats`: the region's nats-server configuration with a user per role (or per
// process, --users), their passwords bcrypt-hashed in it and printed once in clear on stderr
// ("name = password", as `config example` prints tokens), so each process's
// store.nats_user/nats_password can be filled in.
int RunNats(const NatsArgs& a) {
  namespace js = adapters::jetstream;
  static const std::vector<std::string> kRoles{"ingest",   "processor", "queuer",  "sender",
                                               "watchdog", "dashboard", "registry"};
  js::NatsServerConfigOptions o;
  o.region = a.region;
  o.regions = SplitList(a.regions.empty() ? a.region : a.regions, ',');
  if (o.region.empty() ||
      std::find(o.regions.begin(), o.regions.end(), o.region) == o.regions.end()) {
    std::cerr << "fanout config nats: --region must be one of --regions\n";
    return 2;
  }
  o.listen = a.listen;
  o.server_name = a.server_name;
  o.monitor_listen = a.monitor;
  o.cluster_listen = a.cluster_listen;
  if (a.cluster_listen.empty() != a.routes.empty()) {
    std::cerr << "fanout config nats: a cluster node needs --cluster-listen and --route (every "
                 "node's, itself included)\n";
    return 2;
  }
  if (!a.cluster_listen.empty() && (a.server_name.empty() || a.server_name == a.region)) {
    std::cerr << "fanout config nats: a cluster node needs its own --server-name (e.g. " << a.region
              << "-1)\n";
    return 2;
  }
  if (!a.cluster_listen.empty() && !a.tls_cert.empty() && a.tls_ca.empty()) {
    std::cerr << "fanout config nats: routes over TLS verify each other: give --tls-ca\n";
    return 2;
  }
  o.store_dir = a.store_dir.empty() ? "/var/lib/nats/" + a.region : a.store_dir;
  o.leafnode_listen = a.leafnode_listen;
  o.tls_cert_file = a.tls_cert;
  o.tls_key_file = a.tls_key;
  o.tls_ca_file = a.tls_ca;
  o.tls_verify_clients = a.verify_clients;
  if (a.verify_clients && (a.tls_cert.empty() || a.tls_ca.empty())) {
    std::cerr << "fanout config nats: --verify-clients needs --tls-cert/--tls-key and --tls-ca "
                 "(the CA client certificates must be signed by)\n";
    return 2;
  }
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    std::cerr << "fanout config nats: --tls-cert and --tls-key go together\n";
    return 2;
  }
  // Passwords: reused from an earlier run's stderr (the leafnode password must match on
  // both ends), else new.
  std::map<std::string, std::string> known;
  if (!a.passwords_from.empty()) {
    std::ifstream in(a.passwords_from);
    if (!in) {
      std::cerr << "fanout config nats: cannot read " << a.passwords_from << "\n";
      return 2;
    }
    for (std::string line; std::getline(in, line);) {
      size_t eq = line.find(" = ");
      if (eq != std::string::npos) known[line.substr(0, eq)] = line.substr(eq + 3);
    }
  }
  auto password = [&](const std::string& name) {
    auto it = known.find(name);
    std::string pw = it != known.end() ? it->second : platform::RandomHex(24);
    std::cerr << name << " = " << pw << "\n";
    return pw;
  };
  // Users: "name=role+role,..." or one per role, one with every role, and an operator.
  std::vector<std::pair<std::string, std::vector<std::string>>> users;
  if (a.users.empty()) {
    for (const auto& r : kRoles) users.push_back({"fanout-" + r, {r}});
    users.push_back({"fanout", kRoles});
    users.push_back({"fanout-admin", {}});
  } else {
    for (const auto& item : SplitList(a.users, ',')) {
      size_t eq = item.find('=');
      std::string name = item.substr(0, eq);
      std::vector<std::string> roles = eq == std::string::npos
                                           ? std::vector<std::string>{}
                                           : SplitList(item.substr(eq + 1), '+');
      for (const auto& r : roles) {
        if (std::find(kRoles.begin(), kRoles.end(), r) == kRoles.end()) {
          std::cerr << "fanout config nats: --users: unknown role '" << r
                    << "' (roles: ingest, "
                       "processor, queuer, sender, watchdog, dashboard, registry)\n";
          return 2;
        }
      }
      if (name.empty() || (eq != std::string::npos && roles.empty())) {
        std::cerr << "fanout config nats: --users: '" << item
                  << "' is not NAME=ROLE+ROLE (or NAME alone: an operator)\n";
        return 2;
      }
      users.push_back({name, roles});
    }
  }
  for (const auto& [name, roles] : users) {
    o.users.push_back({name, roles, js::BcryptHash(password(name))});
  }
  // Leafnode remotes and cluster routes carry the user and password of the listening side in
  // their URLs; it stores the hash.
  auto with_login = [&](const std::vector<std::string>& urls, const std::string& user,
                        std::string& hash, std::vector<std::string>& out, const char* option,
                        const char* form) {
    const std::string pw = password(user);
    hash = js::BcryptHash(pw);
    for (const auto& url : urls) {
      size_t scheme = url.find("://");
      if (scheme == std::string::npos) {
        std::cerr << "fanout config nats: " << option << " " << url << " is not a URL (" << form
                  << ")\n";
        return false;
      }
      out.push_back(url.substr(0, scheme + 3) + user + ":" + pw + "@" + url.substr(scheme + 3));
    }
    return true;
  };
  if ((!o.leafnode_listen.empty() || !a.leafnode_remotes.empty()) &&
      !with_login(a.leafnode_remotes, o.leaf_user, o.leaf_password_hash, o.leafnode_remotes,
                  "--leafnode-remote", "nats-leaf://HOST:PORT")) {
    return 2;
  }
  if (!o.cluster_listen.empty() && !with_login(a.routes, o.route_user, o.route_password_hash,
                                               o.routes, "--route", "nats-route://HOST:PORT")) {
    return 2;
  }
  for (const auto& u : o.users) {
    if (u.password_hash.empty()) {
      std::cerr << "fanout config nats: bcrypt (libcrypt) failed\n";
      return 2;
    }
  }
  std::cout << js::NatsServerConfig(o);
  return 0;
}
#else
int RunNats(const NatsArgs&) {
  std::cerr << "fanout config nats: this build has no NATS support\n";
  return 2;
}
#endif

int RunCheck(const CheckArgs& args) {
  auto settings = cfg::LoadSettings(args.file, args.sets);
  if (!settings) {
    std::cerr << "fanout config check: " << args.file << " is not a valid configuration:\n"
              << settings.error().ToString();
    return settings.error().Has(cfg::ConfigProblem::Kind::kIo) ? 2 : 1;
  }
  std::cout << "# effective configuration of " << args.file << " (defaults filled in"
            << (args.show_secrets ? "" : ", secrets redacted") << ")\n"
            << cfg::RenderToml(*settings, {.comments = false, .show_secrets = args.show_secrets});
  return 0;
}

}  // namespace

void RegisterConfigCommands(CLI::App& app) {
  auto* config = app.add_subcommand("config", "Print an example config, check one, or list keys");
  config->require_subcommand(1);

  auto example_args = std::make_shared<ExampleArgs>();
  auto* example = config->add_subcommand(
      "example", "Print a complete working config (random tokens, absolute geodata path)");
  example->add_flag("--distributed", example_args->distributed,
                    "store.mode = \"distributed\" (NATS JetStream + PostgreSQL)");
  example->add_option("--region", example_args->region,
                      "This region's name (with --regions: a multi-region setup)");
  example->add_option(
      "--regions", example_args->regions,
      "Every region's name, comma-separated, in index order (e.g. eu-central,eu-west)");
  example->add_option("--nats", example_args->nats, "store.nats_url (distributed)");
  example->add_option("--postgres", example_args->postgres, "store.postgres_url (distributed)");
  example->add_option("--tokens-from", example_args->tokens_from,
                      "Copy the [auth] tokens from another region's config (they must match)");
  example->add_option("--keys-dir", example_args->keys_dir,
                      "Generate an APNs .p8 key and an FCM service-account JSON in DIR (kept if "
                      "present) and point the config at them");
  example->callback([example_args] { ExitCode() = RunExample(*example_args); });

  auto nats_args = std::make_shared<NatsArgs>();
  auto* nats = config->add_subcommand(
      "nats",
      "Print a region's nats-server config: JetStream domain, leafnodes, TLS, one user per role "
      "with only its subjects (passwords hashed; clear ones on stderr)");
  nats->add_option("--region", nats_args->region, "This region's name (its JetStream domain)")
      ->required();
  nats->add_option("--regions", nats_args->regions,
                   "Every region's name, comma-separated, in index order (as for config example)");
  nats->add_option("--listen", nats_args->listen, "Client listener HOST:PORT")
      ->default_str("127.0.0.1:4222");
  nats->add_option("--server-name", nats_args->server_name,
                   "This server's name (a cluster node: unique, e.g. REGION-1; default REGION)");
  nats->add_option("--monitor", nats_args->monitor, "HTTP monitoring HOST:PORT (/healthz)");
  nats->add_option("--cluster-listen", nats_args->cluster_listen,
                   "HOST:PORT for the routes between this region's cluster nodes");
  nats->add_option("--route", nats_args->routes,
                   "nats-route://HOST:PORT of each cluster node (itself included); repeatable")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  nats->add_option("--store-dir", nats_args->store_dir,
                   "JetStream storage (default /var/lib/nats/REGION)");
  nats->add_option("--leafnode-listen", nats_args->leafnode_listen,
                   "HOST:PORT where the other regions' leafnodes connect (the hub)");
  nats->add_option("--leafnode-remote", nats_args->leafnode_remotes,
                   "nats-leaf://HOST:PORT of the hub (the other regions); repeatable")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  nats->add_option("--tls-cert", nats_args->tls_cert,
                   "Server certificate (PEM): TLS for clients "
                   "and leafnodes");
  nats->add_option("--tls-key", nats_args->tls_key, "Server private key (PEM)");
  nats->add_option("--tls-ca", nats_args->tls_ca,
                   "CA (PEM) for client certificates and for verifying the hub (leafnodes)");
  nats->add_flag("--verify-clients", nats_args->verify_clients,
                 "Clients must present a certificate signed by --tls-ca");
  nats->add_option("--users", nats_args->users,
                   "NAME=ROLE+ROLE,... one user per process group (NAME alone: an operator); "
                   "default: fanout-<role> per role, fanout (every role), fanout-admin");
  nats->add_option("--passwords-from", nats_args->passwords_from,
                   "Reuse the passwords of an earlier run's stderr (name = password lines)");
  nats->callback([nats_args] { ExitCode() = RunNats(*nats_args); });

  auto check_args = std::make_shared<CheckArgs>();
  auto* check = config->add_subcommand(
      "check",
      "Load and validate FILE; print the effective config (exit 0) or the problems "
      "(exit 1; 2 if unreadable)");
  check->add_option("file", check_args->file, "TOML config file")->required();
  check
      ->add_option("--set", check_args->sets,
                   "Override a key: key=value, value read as TOML (a bare word is a string); "
                   "repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  check->add_flag("--show-secrets", check_args->show_secrets, "Print tokens and URLs in clear");
  check->callback([check_args] { ExitCode() = RunCheck(*check_args); });

  auto* docs = config->add_subcommand("docs", "Print the reference of every key (markdown)");
  docs->callback([] {
    std::cout << cfg::RenderDocsMarkdown();
    ExitCode() = 0;
  });
}

}  // namespace fanout::cli
