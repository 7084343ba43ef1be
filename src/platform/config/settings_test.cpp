#include "platform/config/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "platform/config/schema.hpp"

namespace fanout::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A minimal valid config: just the keys without a usable default.
constexpr std::string_view kMinimal = R"(
[auth]
provider_tokens = { AP1 = "t1", AP2 = "t2", AP3 = "t3", AP4 = "t4" }
device_token = "dev"
admin_token = "adm"
)";

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("fanout_cfg_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path Write(const std::string& name, std::string_view text) const {
    fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

ConfigResult<Settings> Load(std::string_view text, std::vector<std::string> overrides = {}) {
  return LoadSettingsFromString(text, "/etc/fanout", overrides, "test.toml");
}

std::string Errors(const ConfigResult<Settings>& r) {
  return r ? std::string("<loaded fine>") : r.error().ToString();
}

TEST(Settings, DefaultsComeFromTheTable) {
  Settings s = DefaultSettings();
  EXPECT_EQ(s.region.name, "eu-central");
  EXPECT_EQ(s.region.index, 0);
  EXPECT_EQ(s.region.peers, std::vector<std::string>{"http://127.0.0.1:8081"});
  EXPECT_EQ(s.http.listen, "127.0.0.1:8080");
  EXPECT_EQ(s.store.mode, "embedded");
  EXPECT_EQ(s.fanout.shards, 64);
  EXPECT_EQ(s.fanout.batch_size, 500);
  EXPECT_EQ(s.watchdog.deadline_high, std::chrono::milliseconds(3000));
  EXPECT_EQ(s.watchdog.deadline_regular, std::chrono::milliseconds(10000));
  EXPECT_EQ(s.providers.high_priority, std::vector<std::string>{"AP1"});
  EXPECT_EQ(s.providers.default_levels.at("AP3"), 4);
  EXPECT_FALSE(s.push.apns.critical_alerts);
  EXPECT_EQ(s.push.apns.endpoint, "https://api.push.apple.com");
  EXPECT_TRUE(s.auth.provider_tokens.empty());
  // Defaults alone are not a valid config: tokens must be configured.
  EXPECT_FALSE(Validate(s).empty());
}

TEST(Settings, EveryDeclaredKeyIsDistinctAndDocumented) {
  std::set<std::string_view> keys;
  for (const auto& spec : DeclaredSettings()) {
    EXPECT_TRUE(keys.insert(spec.key).second) << spec.key;
    EXPECT_FALSE(spec.meaning.empty()) << spec.key;
  }
  for (std::string_view k : {"region.name",
                             "region.index",
                             "region.peers",
                             "http.listen",
                             "store.mode",
                             "store.data_dir",
                             "store.nats_url",
                             "store.postgres_url",
                             "geo.data_dir",
                             "auth.provider_tokens",
                             "auth.device_token",
                             "auth.admin_token",
                             "providers.high_priority",
                             "providers.default_levels",
                             "providers.allow_non_actual",
                             "providers.default_lifetime_s",
                             "push.apns.endpoint",
                             "push.apns.team_id",
                             "push.apns.key_id",
                             "push.apns.key_file",
                             "push.apns.topic",
                             "push.apns.ca_file",
                             "push.apns.critical_alerts",
                             "push.apns.connections",
                             "push.fcm.endpoint",
                             "push.fcm.token_uri",
                             "push.fcm.project_id",
                             "push.fcm.service_account_file",
                             "push.fcm.ca_file",
                             "push.fcm.connections",
                             "watchdog.deadline_high_ms",
                             "watchdog.deadline_regular_ms",
                             "watchdog.stall_ms",
                             "fanout.shards",
                             "fanout.batch_size",
                             "fanout.sender_workers_high",
                             "fanout.sender_workers_regular",
                             "cap.max_body_bytes",
                             "roles"}) {
    EXPECT_NE(FindSetting(k), nullptr) << k;
  }
}

TEST(Settings, MinimalFileLoads) {
  auto r = Load(kMinimal);
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->auth.provider_tokens.at("AP2"), "t2");
  EXPECT_EQ(r->region.name, "eu-central");
}

TEST(Settings, ExampleRoundTripsThroughLoadSettings) {
  for (bool distributed : {false, true}) {
    TempDir dir;
    ExampleOptions opts{.distributed = distributed, .geo_data_dir = "/opt/fanout/geo"};
    Settings example = ExampleSettings(opts);
    fs::path file = dir.Write("fanout.toml", RenderExampleConfig(example, opts));
    auto r = LoadSettings(file);
    ASSERT_TRUE(r) << Errors(r);
    Settings expected = example;
    // Relative paths of the example resolve next to the saved file.
    expected.store.data_dir = dir.path() / "data/eu-central";
    expected.push.apns.key_file = dir.path() / "AuthKey.p8";
    expected.push.fcm.service_account_file = dir.path() / "service-account.json";
    EXPECT_EQ(*r, expected);
    EXPECT_EQ(r->store.mode, distributed ? "distributed" : "embedded");
    EXPECT_EQ(r->geo.data_dir, "/opt/fanout/geo");
    EXPECT_EQ(r->auth.provider_tokens.size(), 4u);
    for (const auto& [p, t] : r->auth.provider_tokens) {
      EXPECT_EQ(t.size(), 64u) << p;
      EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos) << t;
    }
  }
}

TEST(Settings, ExampleForOneRegionOfSeveralLoadsWithItsIndexPeersAndSharedTokens) {
  TempDir dir;
  ExampleOptions first{.distributed = true,
                       .geo_data_dir = "/g",
                       .region = "eu-central",
                       .regions = {"eu-central", "eu-west", "eu-north"},
                       .nats_url = "nats://10.0.0.5:4222",
                       .postgres_url = "postgresql://fanout@10.0.0.6/fanout"};
  ASSERT_EQ(CheckExampleRegions(first), "");
  Settings a = ExampleSettings(first);
  fs::path file_a = dir.Write("a.toml", RenderExampleConfig(a, first));
  auto loaded_a = LoadSettings(file_a);
  ASSERT_TRUE(loaded_a) << Errors(loaded_a);
  ExampleOptions second = first;
  second.region = "eu-north";
  second.auth = loaded_a->auth;  // --tokens-from a.toml
  Settings b = ExampleSettings(second);
  auto loaded_b = LoadSettings(dir.Write("b.toml", RenderExampleConfig(b, second)));
  ASSERT_TRUE(loaded_b) << Errors(loaded_b);
  EXPECT_EQ(loaded_b->region.name, "eu-north");
  EXPECT_EQ(loaded_b->region.index, 2);
  EXPECT_EQ(loaded_b->region.peers,
            (std::vector<std::string>{"http://127.0.0.1:8080", "http://127.0.0.1:8081"}));
  EXPECT_EQ(loaded_b->http.listen, "127.0.0.1:8082");
  EXPECT_EQ(loaded_b->store.mode, "distributed");
  EXPECT_EQ(loaded_b->store.nats_url, "nats://10.0.0.5:4222");
  EXPECT_EQ(loaded_b->store.postgres_url, "postgresql://fanout@10.0.0.6/fanout");
  EXPECT_EQ(loaded_b->store.data_dir, dir.path() / "data/eu-north");
  EXPECT_EQ(loaded_b->auth, loaded_a->auth);
  EXPECT_EQ(loaded_a->region.index, 0);
}

TEST(Settings, ExampleRegionOptionsAreChecked) {
  auto check = [](std::string region, std::vector<std::string> regions) {
    ExampleOptions o;
    o.region = std::move(region);
    o.regions = std::move(regions);
    return CheckExampleRegions(o);
  };
  EXPECT_EQ(check("", {}), "");
  EXPECT_NE(check("a", {}).find("needs --regions"), std::string::npos);
  EXPECT_NE(check("", {"a"}).find("needs --region"), std::string::npos);
  EXPECT_NE(check("c", {"a", "b"}).find("not one of"), std::string::npos);
  EXPECT_NE(check("a", {"a", "a"}).find("twice"), std::string::npos);
  EXPECT_NE(check("a", {"a", ""}).find("empty"), std::string::npos);
}

TEST(Settings, ExampleWithKeysDirUsesAbsoluteKeyPaths) {
  ExampleOptions opts{.geo_data_dir = "/g", .keys_dir = "/k"};
  Settings s = ExampleSettings(opts);
  EXPECT_EQ(s.push.apns.key_file, "/k/AuthKey.p8");
  EXPECT_EQ(s.push.fcm.service_account_file, "/k/service-account.json");
}

TEST(Settings, ExampleTokensAreRandom) {
  Settings a = ExampleSettings({.geo_data_dir = "/g"});
  Settings b = ExampleSettings({.geo_data_dir = "/g"});
  EXPECT_NE(a.auth.admin_token, b.auth.admin_token);
  EXPECT_NE(a.auth.device_token, a.auth.admin_token);
}

TEST(Settings, OverridesAreTomlValuesAndBareWordsAreStrings) {
  auto r = Load(kMinimal, {"region.peers=[\"http://h:1\", \"http://h:2\"]", "region.index=2",
                           "push.apns.critical_alerts=true", "region.name=eu-west",
                           "auth.provider_tokens.AP5=t5", "providers.default_levels.AP5=2",
                           "push.apns.topic = com.example.app"});
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->region.peers, (std::vector<std::string>{"http://h:1", "http://h:2"}));
  EXPECT_EQ(r->region.index, 2);
  EXPECT_TRUE(r->push.apns.critical_alerts);
  EXPECT_EQ(r->region.name, "eu-west");
  EXPECT_EQ(r->auth.provider_tokens.at("AP5"), "t5");
  EXPECT_EQ(r->auth.provider_tokens.at("AP1"), "t1");  // the file's entries stay
  EXPECT_EQ(r->providers.default_levels.at("AP5"), 2);
  EXPECT_EQ(r->push.apns.topic, "com.example.app");
}

TEST(Settings, TableEntryOverrideAddsToTheDefaultTable) {
  auto r = Load(kMinimal, {"providers.default_levels.AP2=1"});
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->providers.default_levels,
            (std::map<std::string, int>{{"AP1", 4}, {"AP2", 1}, {"AP3", 4}, {"AP4", 4}}));
  // A whole table in the file replaces the default table.
  auto f = Load(std::string(kMinimal) + "[providers]\ndefault_levels = { AP3 = 0 }\n");
  ASSERT_TRUE(f) << Errors(f);
  EXPECT_EQ(f->providers.default_levels, (std::map<std::string, int>{{"AP3", 0}}));
}

TEST(Settings, ProviderLifetimesOverrideTheDefaultForKnownProvidersOnly) {
  auto r = Load(kMinimal, {"providers.lifetimes_s.AP2=21600"});
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->providers.lifetimes, (std::map<std::string, int>{{"AP2", 21600}}));
  auto unknown = Load(kMinimal, {"providers.lifetimes_s.XY=600"});
  ASSERT_FALSE(unknown);
  EXPECT_THAT(Errors(unknown), HasSubstr("providers.lifetimes_s"));
  auto zero = Load(kMinimal, {"providers.lifetimes_s.AP2=0"});
  ASSERT_FALSE(zero);
}

TEST(Settings, TokensMayBeStoredHashed) {
  const std::string hash(64, 'a');
  auto r = Load(kMinimal, {"auth.admin_token=\"sha256:" + hash + "\""});
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->auth.admin_token, "sha256:" + hash);
  auto shorter = Load(kMinimal, {"auth.admin_token=\"sha256:abc\""});
  ASSERT_FALSE(shorter);
  EXPECT_THAT(Errors(shorter), HasSubstr("64 hex digits"));
}

TEST(Settings, OverrideWinsOverTheFile) {
  std::string text = std::string(kMinimal) + "[fanout]\nshards = 16\n";
  auto r = Load(text, {"fanout.shards=8"});
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->fanout.shards, 8);
}

TEST(Settings, UnknownKeyInFileIsNamedWithFileAndLine) {
  std::string text = std::string(kMinimal) + "[region]\nnmae = \"x\"\n";
  auto r = Load(text);
  ASSERT_FALSE(r);
  ASSERT_TRUE(r.error().Has(ConfigProblem::Kind::kUnknownKey));
  EXPECT_THAT(r.error().ToString(), HasSubstr("test.toml:7:1: unknown key 'region.nmae'"));
  EXPECT_THAT(r.error().ToString(), HasSubstr("did you mean 'region.name'?"));
}

TEST(Settings, UnknownSectionAndUnknownOverrideAreRejected) {
  auto r = Load(std::string(kMinimal) + "[regoin]\nname = \"x\"\n", {"fanout.shardz=3"});
  ASSERT_FALSE(r);
  std::string msg = r.error().ToString();
  EXPECT_THAT(msg, HasSubstr("test.toml:6:2: unknown key 'regoin' (did you mean 'region'?)"));
  EXPECT_THAT(msg, HasSubstr("--set fanout.shardz: unknown key 'fanout.shardz' (did you mean "
                             "'fanout.shards'?)"));
}

TEST(Settings, TypeErrorNamesKeyExpectedAndGot) {
  auto r = Load(std::string(kMinimal) + "[region]\nindex = \"one\"\n");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Has(ConfigProblem::Kind::kType));
  EXPECT_THAT(r.error().ToString(),
              HasSubstr("test.toml:7:9: region.index: expected integer, got string"));

  auto list = Load(kMinimal, {"region.peers=[1]"});
  ASSERT_FALSE(list);
  EXPECT_THAT(list.error().ToString(), HasSubstr("region.peers[0]: expected string, got integer"));

  auto flag = Load(kMinimal, {"push.apns.critical_alerts=yes"});
  ASSERT_FALSE(flag);
  EXPECT_THAT(flag.error().ToString(),
              HasSubstr("--set push.apns.critical_alerts: expected boolean, got string"));

  auto level = Load(kMinimal, {"providers.default_levels.AP1=\"high\""});
  ASSERT_FALSE(level);
  EXPECT_THAT(level.error().ToString(),
              HasSubstr("providers.default_levels.AP1: expected integer, got string"));
}

TEST(Settings, TablesMayBeWrittenAsSections) {
  auto r = Load(R"(
[auth]
device_token = "dev"
admin_token = "adm"
[auth.provider_tokens]
DWD = "d1"
LHP = "l1"
[providers]
high_priority = ["DWD"]
default_levels = { DWD = 2 }
allow_non_actual = ["LHP"]
)");
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->auth.provider_tokens,
            (std::map<std::string, std::string>{{"DWD", "d1"}, {"LHP", "l1"}}));
  EXPECT_EQ(r->providers.default_levels, (std::map<std::string, int>{{"DWD", 2}}));
  EXPECT_EQ(r->providers.allow_non_actual, std::vector<std::string>{"LHP"});
}

TEST(Settings, FloatIsNotAnInteger) {
  auto r = Load(kMinimal, {"watchdog.deadline_high_ms=2.5"});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().ToString(),
              HasSubstr("--set watchdog.deadline_high_ms: expected integer, got float"));
}

TEST(Settings, SyntaxErrorNamesFileAndLine) {
  auto r = Load("[region\nname = 1\n");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Has(ConfigProblem::Kind::kSyntax));
  EXPECT_THAT(r.error().ToString(), HasSubstr("test.toml:1:"));
}

TEST(Settings, MissingFileIsAnIoError) {
  auto r = LoadSettings("/nonexistent/fanout.toml");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().Has(ConfigProblem::Kind::kIo));
  EXPECT_THAT(r.error().ToString(), HasSubstr("/nonexistent/fanout.toml"));
}

TEST(Settings, RelativePathsResolveAgainstTheFilesFolder) {
  TempDir dir;
  std::string text = std::string(kMinimal) +
                     "[store]\ndata_dir = \"state/eu\"\n[geo]\ndata_dir = \"../geo\"\n"
                     "[push.apns]\nkey_file = \"/abs/AuthKey.p8\"\nca_file = \"\"\n"
                     "[push.fcm]\nservice_account_file = \"./keys/sa.json\"\n"
                     "[region]\nname = \"relative-name\"\n";
  fs::path file = dir.Write("conf/fanout.toml", text);
  auto r = LoadSettings(file);
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->store.data_dir, dir.path() / "conf/state/eu");
  EXPECT_EQ(r->geo.data_dir, dir.path() / "geo");
  EXPECT_EQ(r->push.apns.key_file, "/abs/AuthKey.p8");
  EXPECT_EQ(r->push.apns.ca_file, "");  // empty means "system trust store", not a folder
  EXPECT_EQ(r->push.fcm.service_account_file, dir.path() / "conf/keys/sa.json");
  EXPECT_EQ(r->region.name, "relative-name");  // strings are never touched

  // A path given with --set resolves against the file's folder too.
  auto o = LoadSettings(file, {"geo.data_dir=mygeo"});
  ASSERT_TRUE(o) << Errors(o);
  EXPECT_EQ(o->geo.data_dir, dir.path() / "conf/mygeo");
}

struct InvalidCase {
  std::vector<std::string> overrides;
  std::string expected;
};

class Invalid : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(Invalid, FailsWithAClearMessage) {
  auto r = Load(kMinimal, GetParam().overrides);
  ASSERT_FALSE(r) << "expected failure for " << GetParam().expected;
  EXPECT_THAT(r.error().ToString(), HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Settings, Invalid,
    ::testing::Values(
        InvalidCase{{"region.index=3", "region.peers=[\"http://a:1\", \"http://b:1\"]"},
                    "region.index: 3 is not a region number: there are 3 regions (region.peers + "
                    "this one), so it must be 0..2"},
        InvalidCase{{"region.index=1", "region.peers=[]"},
                    "region.index: 1 is not a region number: there is 1 region (region.peers + "
                    "this one), so it must be 0..0"},
        InvalidCase{{"region.index=-1"}, "region.index: -1 is out of range 0..1023"},
        InvalidCase{{"http.listen=localhost"}, "http.listen: 'localhost' is not host:port"},
        InvalidCase{{"http.listen=127.0.0.1:99999"}, "http.listen: '127.0.0.1:99999' is not"},
        InvalidCase{{"http.listen=::1:80"}, "http.listen: '::1:80' is not host:port"},
        InvalidCase{{"store.mode=cluster"},
                    "store.mode: 'cluster' must be \"embedded\" or \"distributed\""},
        InvalidCase{{"store.mode=distributed", "store.nats_url=\"\""},
                    "store.nats_url: '' must be nats:// URLs"},
        InvalidCase{{"store.mode=distributed", "store.nats_url=\"nats://a:4222,http://b\""},
                    "store.nats_url: 'nats://a:4222,http://b' must be nats:// URLs"},
        InvalidCase{{"store.mode=distributed", "store.nats_url=\"nats://a:4222,\""},
                    "must be nats:// URLs (comma-separated for a cluster)"},
        InvalidCase{{"store.nats_replicas=7"}, "store.nats_replicas: 7 is out of range 1..5"},
        InvalidCase{{"auth.device_token=\"\""}, "auth.device_token: token must not be empty"},
        InvalidCase{{"auth.provider_tokens.AP2=\"\""},
                    "auth.provider_tokens.AP2: token must not be empty"},
        InvalidCase{{"auth.admin_token=dev"},
                    "token is the same as auth.device_token's; every token must differ"},
        InvalidCase{{"auth.provider_tokens={}"}, "auth.provider_tokens: no provider configured"},
        InvalidCase{{"providers.default_levels.AP1=5"},
                    "providers.default_levels.AP1: 5 is out of range 0..4"},
        InvalidCase{{"providers.default_levels.AP9=3"},
                    "providers.default_levels: provider 'AP9' has no token"},
        InvalidCase{{"providers.high_priority=[\"DWD\"]"},
                    "providers.high_priority: provider 'DWD' has no token"},
        InvalidCase{{"providers.allow_non_actual=[\"X\"]"},
                    "providers.allow_non_actual: provider 'X' has no token"},
        InvalidCase{{"fanout.shards=0"}, "fanout.shards: 0 is out of range 1..4096"},
        InvalidCase{{"roles=[\"ingest\",\"mailer\"]"}, "roles: unknown role 'mailer'"},
        InvalidCase{{"roles=[]"}, "roles: at least one role is needed"},
        InvalidCase{{"region.name=\"eu central\""}, "region.name: 'eu central' must be"},
        InvalidCase{{"region.peers=[\"h:1\"]"}, "region.peers: 'h:1' is not an http:// or"},
        InvalidCase{{"push.apns.endpoint=api.push.apple.com"},
                    "push.apns.endpoint: 'api.push.apple.com' is not an http(s) URL"},
        InvalidCase{{"log.level=loud"}, "log.level: 'loud' must be trace"},
        InvalidCase{{"novalue"}, "--set 'novalue': expected key=value"}));

TEST(Settings, AllProblemsAreReportedTogether) {
  auto r = Load(kMinimal, {"store.mode=x", "http.listen=y"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problems.size(), 2u) << r.error().ToString();
}

TEST(Settings, ValidListenForms) {
  for (std::string listen : {"0.0.0.0:0", "[::1]:8080", "localhost:65535"}) {
    auto r = Load(kMinimal, {"http.listen=" + listen});
    EXPECT_TRUE(r) << listen << ": " << Errors(r);
  }
}

TEST(Settings, RenderTomlRedactsSecretsUnlessAsked) {
  auto r = Load(kMinimal);
  ASSERT_TRUE(r);
  std::string redacted = RenderToml(*r, {.comments = false});
  EXPECT_THAT(redacted, HasSubstr("device_token = \"<redacted>\""));
  EXPECT_THAT(redacted, HasSubstr("provider_tokens = { AP1 = \"<redacted>\""));
  EXPECT_THAT(redacted, ::testing::Not(HasSubstr("\"adm\"")));
  std::string shown = RenderToml(*r, {.comments = false, .show_secrets = true});
  EXPECT_THAT(shown, HasSubstr("admin_token = \"adm\""));
  auto again = LoadSettingsFromString(shown, "/etc/fanout");
  ASSERT_TRUE(again) << Errors(again);
  EXPECT_EQ(*again, *r);
}

TEST(Settings, RenderTomlEscapesStrings) {
  auto r = Load(kMinimal, {"push.apns.topic=\"a\\\"b\\\\c\\n\""});
  ASSERT_TRUE(r) << Errors(r);
  EXPECT_EQ(r->push.apns.topic, "a\"b\\c\n");
  auto again = LoadSettingsFromString(RenderToml(*r, {.show_secrets = true}), "/etc/fanout");
  ASSERT_TRUE(again) << Errors(again);
  EXPECT_EQ(again->push.apns.topic, "a\"b\\c\n");
}

TEST(Settings, FindGeoDataDir) {
  TempDir dir;
  fs::create_directories(dir.path() / "repo/data/geo");
  std::ofstream(dir.path() / "repo/data/geo/de_gemeinden_vg5000_2021.csv") << "ars\n";
  fs::create_directories(dir.path() / "repo/build/h-cfg/apps/fanout");
  fs::path exe = dir.path() / "repo/build/h-cfg/apps/fanout/fanout";
  EXPECT_EQ(FindGeoDataDir(nullptr, exe), dir.path() / "repo/data/geo");
  EXPECT_EQ(FindGeoDataDir("", exe), dir.path() / "repo/data/geo");
  fs::create_directories(dir.path() / "other/geo");
  std::ofstream(dir.path() / "other/geo/de_gemeinden_vg5000_2021.csv") << "ars\n";
  EXPECT_EQ(FindGeoDataDir((dir.path() / "other").c_str(), exe), dir.path() / "other/geo");
  EXPECT_EQ(FindGeoDataDir((dir.path() / "missing").c_str(), exe), std::nullopt);
  EXPECT_EQ(FindGeoDataDir(nullptr, dir.path() / "elsewhere/bin/fanout"), std::nullopt);
}

// An installation (cmake --install --prefix P): P/bin/fanout finds P/share/fanout wherever P
// is; the compiled-in folder is the last resort; $FANOUT_DATA_DIR, when set, is the only
// candidate.
TEST(Settings, FindDataDirInAnInstalledLayout) {
  TempDir dir;
  const fs::path prefix = dir.path() / "opt/fanout";
  fs::create_directories(prefix / "bin");
  fs::create_directories(prefix / "share/fanout/geo");
  std::ofstream(prefix / "share/fanout/geo/de_gemeinden_vg5000_2021.csv") << "ars\n";
  auto s = FindDataDir(nullptr, prefix / "bin/fanout", {});
  ASSERT_TRUE(s.found);
  EXPECT_EQ(*s.found, prefix / "share/fanout");
  EXPECT_FALSE(s.from_env);
  // A binary copied elsewhere falls back to the compiled-in folder.
  s = FindDataDir(nullptr, dir.path() / "elsewhere/fanout", prefix / "share/fanout");
  ASSERT_TRUE(s.found);
  EXPECT_EQ(*s.found, prefix / "share/fanout");
  // Nothing anywhere: every place tried is named.
  s = FindDataDir(nullptr, dir.path() / "elsewhere/fanout", dir.path() / "nowhere");
  EXPECT_FALSE(s.found);
  EXPECT_THAT(s.Tried(), HasSubstr("elsewhere/data"));
  EXPECT_THAT(s.Tried(), HasSubstr("nowhere"));
  // The override is alone: a wrong one is not silently replaced.
  s = FindDataDir((dir.path() / "wrong").c_str(), prefix / "bin/fanout", {});
  EXPECT_FALSE(s.found);
  EXPECT_TRUE(s.from_env);
  ASSERT_EQ(s.tried.size(), 1u);
}

TEST(Settings, DocsMarkdownListsEveryKey) {
  std::string md = RenderDocsMarkdown();
  for (const auto& spec : DeclaredSettings()) {
    std::string leaf(spec.key.substr(
        spec.key.rfind('.') == std::string_view::npos ? 0 : spec.key.rfind('.') + 1));
    EXPECT_THAT(md, HasSubstr("| `" + leaf + "` |")) << spec.key;
  }
  EXPECT_THAT(md, HasSubstr("## [push.apns]"));
}

TEST(Settings, DocsConfigMdIsUpToDate) {
  std::ifstream in(std::string(FANOUT_SOURCE_DIR) + "/docs/CONFIG.md");
  ASSERT_TRUE(in) << "docs/CONFIG.md is missing; run `fanout config docs > docs/CONFIG.md`";
  std::stringstream buf;
  buf << in.rdbuf();
  EXPECT_EQ(buf.str(), RenderDocsMarkdown())
      << "docs/CONFIG.md is stale; run `fanout config docs > docs/CONFIG.md`";
}

}  // namespace
}  // namespace fanout::config
