// `fanout pushsim`: the APNs + FCM simulator as a process (DESIGN §7.1, §7.3).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "adapters/pushsim/push_sim.hpp"
#include "commands.hpp"

namespace fanout::cli {
namespace {

int g_stop_pipe[2] = {-1, -1};

void OnStopSignal(int) {
  char c = 1;
  [[maybe_unused]] ssize_t r = ::write(g_stop_pipe[1], &c, 1);
}

struct PushsimOptions {
  std::string listen = "127.0.0.1:8443";
  std::string tls_cert;
  std::string tls_key;
  std::string faults;
  int threads = 2;
  uint32_t max_streams = 1000;
  std::string fcm_project;
  std::string apns_bearer;
  std::string fcm_bearer;
  std::string apns_jwt_key;  // PEM public key file
  std::string apns_key_id;
  std::string apns_team_id;
  int apns_min_token_update_s = 1200;
  int fcm_token_lifetime_s = 3600;
  std::string fcm_oauth_key;  // PEM public key file
  bool no_record = false;
};

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

int RunPushsim(const PushsimOptions& o) {
  namespace ps = adapters::pushsim;
  ps::PushSimSettings s;
  s.listen = o.listen;
  s.tls_cert_file = o.tls_cert;
  s.tls_key_file = o.tls_key;
  s.threads = o.threads;
  s.max_concurrent_streams = o.max_streams;
  s.fcm_project = o.fcm_project;
  s.apns_bearer = o.apns_bearer;
  s.fcm_bearer = o.fcm_bearer;
  s.record_deliveries = !o.no_record;
  s.apns_key_id = o.apns_key_id;
  s.apns_team_id = o.apns_team_id;
  s.apns_min_token_update_s = o.apns_min_token_update_s;
  s.fcm_token_lifetime_s = o.fcm_token_lifetime_s;
  if (!o.apns_jwt_key.empty() && !ReadFile(o.apns_jwt_key, &s.apns_jwt_public_key_pem)) {
    std::cerr << "pushsim: cannot read --apns-jwt-key " << o.apns_jwt_key << "\n";
    return 2;
  }
  if (!o.fcm_oauth_key.empty() && !ReadFile(o.fcm_oauth_key, &s.fcm_oauth_public_key_pem)) {
    std::cerr << "pushsim: cannot read --fcm-oauth-key " << o.fcm_oauth_key << "\n";
    return 2;
  }
  if ((o.tls_cert.empty()) != (o.tls_key.empty())) {
    std::cerr << "pushsim: --tls-cert and --tls-key go together\n";
    return 2;
  }
  std::string err;
  auto faults = ps::FaultSpec::Parse(o.faults, &err);
  if (!faults) {
    std::cerr << "pushsim: --faults: " << err << "\n";
    return 2;
  }
  s.faults = *faults;

  // The handler may run on any thread; it only writes to a pipe the main thread waits on.
  if (::pipe(g_stop_pipe) != 0) {
    std::cerr << "pushsim: pipe failed\n";
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  ps::PushSim sim(s);
  try {
    sim.Start();
  } catch (const std::exception& e) {
    std::cerr << "pushsim: " << e.what() << "\n";
    return 1;
  }
  auto colon = o.listen.rfind(':');
  std::cout << "pushsim listening on " << (o.tls_cert.empty() ? "http" : "https") << "://"
            << o.listen.substr(0, colon) << ":" << sim.port() << " (faults: " << s.faults.ToString()
            << ")" << std::endl;
  char c;
  while (::read(g_stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
  }
  sim.Stop();
  std::cout << sim.Stats().ToJson() << std::endl;
  return 0;
}

}  // namespace

void RegisterPushsimCommand(CLI::App& app) {
  auto opts = std::make_shared<PushsimOptions>();
  auto* cmd = app.add_subcommand(
      "pushsim",
      "APNs + FCM compatible HTTP/2 server for tests and rehearsals (runs until SIGINT/SIGTERM)");
  cmd->add_option("--listen", opts->listen, "HOST:PORT to listen on (port 0 = ephemeral)")
      ->capture_default_str();
  cmd->add_option("--tls-cert", opts->tls_cert, "PEM certificate chain: serve TLS (ALPN h2)");
  cmd->add_option("--tls-key", opts->tls_key, "PEM private key for --tls-cert");
  cmd->add_option("--faults", opts->faults,
                  "fault SPEC, e.g. 429=0.01,500=0.02,503=0.01,reset=0.001,unregistered=0.001,"
                  "goaway=50000,latency_ms=20,retry_after_s=1,seed=7");
  cmd->add_option("--threads", opts->threads, "event-loop threads")->capture_default_str();
  cmd->add_option("--max-streams", opts->max_streams, "SETTINGS_MAX_CONCURRENT_STREAMS")
      ->capture_default_str();
  cmd->add_option("--fcm-project", opts->fcm_project, "only accept this FCM project id");
  cmd->add_option("--apns-bearer", opts->apns_bearer, "require this APNs bearer token");
  cmd->add_option("--fcm-bearer", opts->fcm_bearer, "require this FCM access token");
  cmd->add_option("--apns-jwt-key", opts->apns_jwt_key,
                  "PEM public key of the APNs .p8 key: require valid ES256 provider tokens");
  cmd->add_option("--apns-key-id", opts->apns_key_id, "expected JWT kid (with --apns-jwt-key)");
  cmd->add_option("--apns-team-id", opts->apns_team_id, "expected JWT iss (with --apns-jwt-key)");
  cmd->add_option("--apns-min-token-update", opts->apns_min_token_update_s,
                  "seconds a connection's provider token must be old before a newer one is "
                  "accepted (else 429 TooManyProviderTokenUpdates); 0 = off")
      ->capture_default_str()
      ->check(CLI::Range(0, 86400));
  cmd->add_option("--fcm-token-lifetime", opts->fcm_token_lifetime_s,
                  "expires_in of issued FCM access tokens, seconds (then 401 UNAUTHENTICATED)")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--fcm-oauth-key", opts->fcm_oauth_key,
                  "PEM public key of the service account: serve POST /token, require its tokens");
  cmd->add_flag("--no-record", opts->no_record, "do not keep deliveries (long benchmarks)");
  cmd->callback([opts] { ExitCode() = RunPushsim(*opts); });
}

}  // namespace fanout::cli
