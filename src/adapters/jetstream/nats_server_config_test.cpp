// Least privilege on NATS (issue 14): the configuration `fanout config nats` writes, run by a
// real nats-server (started here with it, TLS on, so the label `nats` only says nats-server
// must be installed): each role's user can do its work and nothing of another role's — a
// sender cannot submit alerts or delete the protocol log — a wrong password is refused, and a
// client that does not trust the server's certificate cannot connect.
#include "adapters/jetstream/nats_server_config.hpp"

#include <crypt.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "adapters/http2/test_certs.hpp"
#include "adapters/jetstream/jetstream_bus.hpp"
#include "adapters/jetstream/jetstream_protocol_log.hpp"
#include "adapters/jetstream/nats_common.hpp"

extern char** environ;

namespace fanout::adapters::jetstream {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(NatsPermissions, EachRoleGetsItsOwnQueuesOnly) {
  auto ingest = RolePermissions({"ingest"}, "eu-west", true, "u-ingest");
  EXPECT_TRUE(Contains(ingest.publish, "eu-west.alerts.high"));
  EXPECT_TRUE(Contains(ingest.publish, "$KV.FANOUT_ALERTS_eu-west.>"));
  EXPECT_TRUE(Contains(ingest.publish, "protocol.events.eu-west"));
  EXPECT_FALSE(Contains(ingest.publish, "eu-west.units.high"));
  EXPECT_FALSE(Contains(ingest.publish, "$JS.ACK.FANOUT_eu-west_BATCHES_HIGH_APNS.>"));

  auto sender = RolePermissions({"sender"}, "eu-west", true, "u-sender");
  EXPECT_TRUE(
      Contains(sender.publish, "$JS.API.CONSUMER.MSG.NEXT.FANOUT_eu-west_BATCHES_HIGH_APNS.>"));
  EXPECT_TRUE(Contains(sender.publish, "$JS.ACK.FANOUT_eu-west_BATCHES_REGULAR_FCM.>"));
  EXPECT_TRUE(Contains(sender.publish, "$KV.FANOUT_eu-west_MARKS.>"));
  EXPECT_TRUE(Contains(sender.publish, "devices.updates.eu-west"));
  EXPECT_FALSE(Contains(sender.publish, "eu-west.alerts.high"));
  EXPECT_FALSE(Contains(sender.publish, "$KV.FANOUT_ALERTS_eu-west.>"));

  auto dashboard = RolePermissions({"dashboard"}, "eu-west", true, "u-dash");
  EXPECT_FALSE(Contains(dashboard.publish, "protocol.events.eu-west"));
  EXPECT_EQ(sender.subscribe, std::vector<std::string>{"_INBOX_u-sender.>"});  // its own only
  for (const char* role :
       {"ingest", "processor", "queuer", "sender", "watchdog", "dashboard", "registry"}) {
    const auto p = RolePermissions({role}, "eu-west", true, "u");
    for (const auto& subject : p.publish) {
      // Nobody but an operator deletes, purges or reconfigures a stream; consumers are
      // deleted only on the log and the feed (ordered consumers the library re-creates).
      EXPECT_FALSE(subject.starts_with("$JS.API.STREAM.DELETE.")) << role << " " << subject;
      EXPECT_FALSE(subject.starts_with("$JS.API.STREAM.PURGE.")) << role << " " << subject;
      EXPECT_FALSE(subject.starts_with("$JS.API.STREAM.UPDATE.")) << role << " " << subject;
      EXPECT_FALSE(subject.starts_with("$JS.API.CONSUMER.DELETE.") &&
                   !subject.starts_with("$JS.API.CONSUMER.DELETE.FANOUT_PROTOCOL.") &&
                   !subject.starts_with("$JS.API.CONSUMER.DELETE.FANOUT_DEVICES."))
          << role << " " << subject;
      EXPECT_NE(subject, ">");
      EXPECT_NE(subject, "$JS.API.>");
    }
    EXPECT_EQ(p.subscribe, std::vector<std::string>{"_INBOX_u.>"}) << role;
  }
  // Without peers the shared subjects carry no region.
  EXPECT_TRUE(Contains(RolePermissions({"ingest"}, "solo", false, "u").publish, "protocol.events"));
}

TEST(NatsPermissions, BcryptHashesAreSaltedAndVerifiable) {
  const std::string a = BcryptHash("secret"), b = BcryptHash("secret");
  ASSERT_TRUE(a.starts_with("$2b$10$")) << a;
  EXPECT_NE(a, b);  // salted
  crypt_data data{};
  EXPECT_EQ(std::string(crypt_r("secret", a.c_str(), &data)), a);  // verifies
  EXPECT_NE(std::string(crypt_r("Secret", a.c_str(), &data)), a);
}

// A cluster node's configuration: routes authenticated and over mutually verified TLS, and
// nats-server itself accepts the file (`-t`).
TEST(NatsPermissions, AClusterNodeConfigurationIsValid) {
  auto cert = http2::testing::MakeSelfSignedCert();
  NatsServerConfigOptions o;
  o.region = "eu-central";
  o.regions = {"eu-central"};
  o.server_name = "eu-central-1";
  o.store_dir = "/tmp/unused-js";
  o.cluster_listen = "127.0.0.1:6222";
  o.routes = {"nats-route://fanout-route:pw@127.0.0.1:6222",
              "nats-route://fanout-route:pw@127.0.0.1:6223"};
  o.route_password_hash = BcryptHash("pw");
  o.tls_cert_file = cert.cert_file;
  o.tls_key_file = cert.key_file;
  o.tls_ca_file = cert.cert_file;
  o.users = {{"sender", {"sender"}, BcryptHash("x")}};
  const std::string text = NatsServerConfig(o);
  EXPECT_NE(text.find("server_name: \"eu-central-1\""), std::string::npos) << text;
  EXPECT_NE(text.find("domain: \"eu-central\""), std::string::npos) << text;
  const size_t cluster = text.find("cluster {");
  ASSERT_NE(cluster, std::string::npos) << text;
  EXPECT_NE(text.find("authorization { user: \"fanout-route\"", cluster), std::string::npos);
  EXPECT_NE(text.find("tls {", cluster), std::string::npos) << "routes without TLS";
  const fs::path file =
      fs::temp_directory_path() / ("fanout-natscluster-" + std::to_string(::getpid()) + ".conf");
  std::ofstream(file) << text;
  const std::string cmd = "nats-server -t -c " + file.string() + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "nats-server -t refused:\n" << text;
  fs::remove(file);
}

// A nats-server run with a generated configuration, for one test.
class NatsServer {
 public:
  explicit NatsServer(const std::string& config) {
    dir_ = fs::temp_directory_path() / ("fanout-natsperm-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "nats.conf") << config;
    const std::string conf = (dir_ / "nats.conf").string(), log = (dir_ / "server.log").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const char* argv[] = {"nats-server", "-c", conf.c_str(), nullptr};
    ready_ =
        posix_spawnp(&pid_, "nats-server", &fa, nullptr, const_cast<char**>(argv), environ) == 0;
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; ready_ && i < 200 && Log().find("Server is ready") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ready_ = ready_ && Log().find("Server is ready") != std::string::npos;
  }
  ~NatsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  bool ready() const { return ready_; }
  std::string Log() const {
    std::ifstream in(dir_ / "server.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path dir() const { return dir_; }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

TEST(NatsPermissions, ARealServerEnforcesThemOverTls) {
  auto cert = http2::testing::MakeSelfSignedCert();
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  NatsServerConfigOptions o;
  o.region = "perm";
  o.regions = {"perm"};
  o.listen = "127.0.0.1:" + std::to_string(port);
  o.store_dir =
      (fs::temp_directory_path() / ("fanout-natsperm-js-" + std::to_string(::getpid()))).string();
  o.tls_cert_file = cert.cert_file;
  o.tls_key_file = cert.key_file;
  o.users = {{"ingest", {"ingest"}, BcryptHash("pw-ingest")},
             {"sender", {"sender"}, BcryptHash("pw-sender")},
             {"admin", {}, BcryptHash("pw-admin")}};
  NatsServer server(NatsServerConfig(o));
  ASSERT_TRUE(server.ready()) << server.Log();
  const std::string url = "tls://127.0.0.1:" + std::to_string(port);
  auto as = [&](const std::string& user, const std::string& password) {
    NatsClientSettings c;
    c.user = user;
    c.password = password;
    c.ca_file = cert.cert_file;
    c.name = "test " + user;
    return c;
  };
  auto bus = [&](const NatsClientSettings& c) {
    JetStreamSettings s;
    s.url = url;
    s.client = c;
    s.stream_prefix = "FANOUT_perm";
    s.subject_prefix = "perm";
    return JetStreamBus::Connect(s);
  };

  // The ingest user submits an alert; the protocol log opens for it.
  auto ingest = bus(as("ingest", "pw-ingest"));
  ASSERT_TRUE(ingest) << ingest.error().message;
  auto put = (*ingest)->Publish({"alerts.high", "alert:1", "{}"});
  EXPECT_TRUE(put) << (put ? "" : put.error().message);
  ProtocolLogSettings ls;
  ls.url = url;
  ls.client = as("ingest", "pw-ingest");
  auto log = JetStreamProtocolLog::Connect(ls);
  EXPECT_TRUE(log) << (log ? "" : log.error().message);

  // The sender user may not submit alerts, nor delete the protocol log.
  auto sender = bus(as("sender", "pw-sender"));
  ASSERT_TRUE(sender) << sender.error().message;
  auto forged = (*sender)->Publish({"alerts.high", "alert:2", "{}"});
  EXPECT_FALSE(forged) << "a sender submitted an alert";
  auto raw = ConnectJetStream(url, as("sender", "pw-sender"));
  ASSERT_TRUE(raw) << raw.error().message;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  EXPECT_NE(js_DeleteStream((*raw)->js, "FANOUT_PROTOCOL", nullptr, &jerr), NATS_OK);
  auto admin = ConnectJetStream(url, as("admin", "pw-admin"));
  ASSERT_TRUE(admin) << admin.error().message;
  jsStreamInfo* info = nullptr;
  EXPECT_EQ(js_GetStreamInfo(&info, (*admin)->js, "FANOUT_PROTOCOL", nullptr, &jerr), NATS_OK)
      << "the protocol log is gone";
  if (info) jsStreamInfo_Destroy(info);
  const std::string log_text = server.Log();
  // Refused at its first step: creating (or publishing to) the alerts queue; the server says
  // `Publish Violation - User "sender", Subject "..."`.
  EXPECT_TRUE(log_text.find("Publish Violation - User \"sender\", Subject \"perm.alerts.high\"") !=
                  std::string::npos ||
              log_text.find("Publish Violation - User \"sender\", Subject "
                            "\"$JS.API.STREAM.CREATE.FANOUT_perm_ALERTS_HIGH\"") !=
                  std::string::npos)
      << log_text;
  EXPECT_NE(log_text.find("Publish Violation - User \"sender\", Subject "
                          "\"$JS.API.STREAM.DELETE.FANOUT_PROTOCOL\""),
            std::string::npos);

  // A wrong password, and a client that does not trust the server's certificate.
  auto wrong = ConnectJetStream(url, as("sender", "guess"));
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("as sender"), std::string::npos) << wrong.error().message;
  auto other = http2::testing::MakeSelfSignedCert();
  NatsClientSettings untrusting = as("admin", "pw-admin");
  untrusting.ca_file = other.cert_file;
  EXPECT_FALSE(ConnectJetStream(url, untrusting));
  fs::remove_all(o.store_dir);
}

}  // namespace
}  // namespace fanout::adapters::jetstream
