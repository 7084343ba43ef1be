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

namespace fanout::cli {
namespace {

namespace fs = std::filesystem;
namespace cfg = fanout::config;

struct ExampleArgs {
  bool distributed = false;
  std::string keys_dir;
  std::string region, regions, nats, postgres, tokens_from;
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
