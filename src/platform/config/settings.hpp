#pragma once
// Typed settings of one region process (DESIGN §7.4), loaded from TOML.
//
// Every key is declared once in the settings table (see schema.hpp / settings_table.cpp):
// defaults, validation, `fanout config docs` and `fanout config example` all come from it.
// A Settings value is plain data: copy it, pass sub-structs to constructors; no globals.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace fanout::config {

struct RegionSettings {
  std::string name;                // region.name
  int index = 0;                   // region.index: 0..peers.size()
  std::vector<std::string> peers;  // region.peers: the other regions' base URLs
  std::vector<std::string> names;  // region.names: every region's name, by index ([] = unnamed)
  bool operator==(const RegionSettings&) const = default;
};

struct HttpSettings {
  std::string listen;  // http.listen: "host:port" (IPv6 as "[::1]:8080")
  int threads = 0;
  int handler_threads = 0;
  std::chrono::seconds dashboard_max_age{0};
  int auth_failures_per_minute = 0;
  std::chrono::seconds header_timeout{0};
  std::chrono::seconds body_timeout{0};
  std::chrono::seconds idle_timeout{0};
  int max_connections = 0;
  int max_connections_per_client = 0;
  int max_queued_per_client = 0;
  int max_event_streams = 0;
  int client_requests_per_s = 0;
  int client_burst = 0;
  int provider_alerts_per_s = 0;
  int provider_alerts_burst = 0;
  std::filesystem::path tls_cert_file;  // both empty: plain HTTP
  std::filesystem::path tls_key_file;
  std::filesystem::path tls_client_ca_file;
  bool operator==(const HttpSettings&) const = default;
};

struct StoreSettings {
  std::string mode;  // store.mode: "embedded" | "distributed"
  std::filesystem::path data_dir;
  std::string nats_url;
  int nats_replicas = 0;
  std::string nats_user;
  std::string nats_password;
  std::filesystem::path nats_ca_file;
  std::filesystem::path nats_cert_file;
  std::filesystem::path nats_key_file;
  std::string postgres_url;
  bool postgres_migrate = true;
  bool operator==(const StoreSettings&) const = default;
};

struct GeoSettings {
  std::filesystem::path data_dir;
  int min_overlap_m2 = 0;  // artefact rule (docs/geo.md "Intersection rule")
  int min_overlap_width_m = 0;
  bool operator==(const GeoSettings&) const = default;
};

struct AuthSettings {
  std::map<std::string, std::string> provider_tokens;        // provider name -> bearer token
  std::map<std::string, std::string> provider_client_certs;  // provider -> required cert CN
  std::string device_token;
  std::string admin_token;
  bool operator==(const AuthSettings&) const = default;
};

struct ProvidersSettings {
  std::vector<std::string> high_priority;
  std::map<std::string, int> default_levels;  // provider -> 0..4
  std::vector<std::string> allow_non_actual;  // providers whose status != Actual is pushed
  std::chrono::seconds default_lifetime{0};
  std::map<std::string, int> lifetimes;  // provider -> seconds, overrides default_lifetime
  bool operator==(const ProvidersSettings&) const = default;
};

struct ApnsSettings {
  std::string endpoint;  // https://... (TLS) or http://... (cleartext HTTP/2, tests)
  std::string team_id;
  std::string key_id;
  std::filesystem::path key_file;  // .p8 (PKCS#8 EC P-256)
  std::string topic;
  std::filesystem::path ca_file;  // empty: system trust store
  bool critical_alerts = false;
  int connections = 0;
  bool operator==(const ApnsSettings&) const = default;
};

struct FcmSettings {
  std::string endpoint;
  std::string token_uri;
  std::string project_id;
  std::filesystem::path service_account_file;
  std::filesystem::path ca_file;
  int connections = 0;
  bool operator==(const FcmSettings&) const = default;
};

struct PushSettings {
  ApnsSettings apns;
  FcmSettings fcm;
  std::chrono::milliseconds request_timeout{0};
  int max_attempts = 0;
  std::chrono::milliseconds retry_base{0};
  bool operator==(const PushSettings&) const = default;
};

struct WatchdogSettings {
  std::chrono::milliseconds deadline_high{0};
  std::chrono::milliseconds deadline_regular{0};
  std::chrono::milliseconds stall{0};
  bool operator==(const WatchdogSettings&) const = default;
};

struct FanoutSettings {
  int shards = 0;
  int batch_size = 0;
  int sender_workers_high = 0;
  int sender_workers_regular = 0;
  int max_deliver = 0;
  int queuer_workers = 0;
  std::chrono::milliseconds ack_wait{0};
  bool operator==(const FanoutSettings&) const = default;
};

struct CapSettings {
  int max_body_bytes = 0;
  int max_depth = 0;
  int max_elements = 0;
  int max_polygon_points = 0;
  bool operator==(const CapSettings&) const = default;
};

struct LogSettings {
  std::string level;  // trace|debug|info|warn|error|critical|off
  bool json = false;
  bool operator==(const LogSettings&) const = default;
};

struct Settings {
  std::vector<std::string> roles;  // top-level `roles`
  RegionSettings region;
  HttpSettings http;
  StoreSettings store;
  GeoSettings geo;
  AuthSettings auth;
  ProvidersSettings providers;
  PushSettings push;
  WatchdogSettings watchdog;
  FanoutSettings fanout;
  CapSettings cap;
  LogSettings log;
  bool operator==(const Settings&) const = default;
};

/// One thing wrong with a config. `message` is complete on its own (file, line, key).
struct ConfigProblem {
  enum class Kind { kIo, kSyntax, kUnknownKey, kType, kInvalid };
  Kind kind = Kind::kInvalid;
  std::string key;  // dotted key, empty for file-level problems
  std::string message;
};

/// Every problem found (loading stops at the first I/O or syntax error, otherwise all
/// unknown keys, type errors and validation failures are reported together).
struct ConfigError {
  std::vector<ConfigProblem> problems;
  /// One problem per line.
  std::string ToString() const;
  bool Has(ConfigProblem::Kind kind) const;
};

template <class T>
using ConfigResult = tl::expected<T, ConfigError>;

/// The declared defaults. Not valid on its own: tokens and providers must be configured.
Settings DefaultSettings();

/// Reads `path`, applies `overrides` ("key=value", value read as a TOML value, a bare word
/// as a string), rejects unknown keys and type errors, resolves relative paths (from the file
/// or an override) against the file's folder, and validates. Start-up code: call once, not on a hot
/// path.
ConfigResult<Settings> LoadSettings(const std::filesystem::path& path,
                                    const std::vector<std::string>& overrides = {});

/// Same, from TOML text; `base_dir` resolves relative paths, `source_name` names the text in
/// messages.
ConfigResult<Settings> LoadSettingsFromString(std::string_view toml_text,
                                              const std::filesystem::path& base_dir,
                                              const std::vector<std::string>& overrides = {},
                                              std::string_view source_name = "<string>");

/// Cross-field checks (also run by LoadSettings). Empty when valid.
std::vector<ConfigProblem> Validate(const Settings& settings);

struct RenderOptions {
  bool comments = true;       // each key preceded by its meaning
  bool show_secrets = false;  // false: secret values print as "<redacted>"
};

/// Settings as TOML, in declared order. With show_secrets it loads back to the same value.
std::string RenderToml(const Settings& settings, const RenderOptions& options = {});

/// `fanout config docs`: markdown table of every declared key (docs/CONFIG.md).
std::string RenderDocsMarkdown();

struct ExampleOptions {
  bool distributed = false;
  std::filesystem::path geo_data_dir{};  // absolute
  std::filesystem::path keys_dir{};      // where key files were generated, empty if none
  /// A multi-region setup: this region's name and every region's, in index order (empty: one
  /// region on its own). Region i listens on 127.0.0.1:8080+i; its peers are the others.
  std::string region{};
  std::vector<std::string> regions{};
  std::string nats_url{};      // empty: the default
  std::string postgres_url{};  // empty: the default
  /// Tokens of another region's config, shared by every region (empty: random ones).
  std::optional<AuthSettings> auth{};
};

/// Checks the multi-region options of `fanout config example`: empty when fine.
std::string CheckExampleRegions(const ExampleOptions& options);

/// The settings `fanout config example` prints: defaults, random tokens (OpenSSL, hex),
/// push endpoints on a local pushsim, absolute geodata path.
Settings ExampleSettings(const ExampleOptions& options);

/// `example` as a commented TOML file (secrets shown); it loads back to `example`.
std::string RenderExampleConfig(const Settings& example, const ExampleOptions& options);

/// 32 random bytes from OpenSSL's CSPRNG, as 64 lowercase hex digits.
std::string RandomToken();

/// The data folder (geo/, cap/) the binary uses, searched in this order (docs: README
/// "Installing"): `$FANOUT_DATA_DIR` when set and non-empty — alone, because a wrong explicit
/// choice must be an error, not silently replaced; else, walking up from the executable's
/// folder, `DIR/data` (a source tree: build/<preset>/apps/fanout/fanout finds the
/// repository's data) and `DIR/share/fanout` (an installation: PREFIX/bin/fanout finds
/// PREFIX/share/fanout wherever PREFIX is); else `install_data_dir` (the compiled-in
/// CMAKE_INSTALL_PREFIX/share/fanout). A folder counts when it holds
/// geo/de_gemeinden_vg5000_2021.csv. `tried` lists every candidate, for the error message.
struct DataDirSearch {
  std::optional<std::filesystem::path> found;
  std::vector<std::filesystem::path> tried;
  bool from_env = false;
  std::string Tried() const;  // "a, b, c"
};
DataDirSearch FindDataDir(const char* env_data_dir, const std::filesystem::path& exe,
                          const std::filesystem::path& install_data_dir);
/// As above with this process's `$FANOUT_DATA_DIR`, `/proc/self/exe` and the compiled-in
/// installation folder.
DataDirSearch FindDataDir();
/// The compiled-in installation data folder (CMAKE_INSTALL_PREFIX/share/fanout).
std::filesystem::path InstallDataDir();

/// `FindDataDir(...).found / "geo"`.
std::optional<std::filesystem::path> FindGeoDataDir(const char* env_data_dir,
                                                    const std::filesystem::path& exe);

}  // namespace fanout::config
