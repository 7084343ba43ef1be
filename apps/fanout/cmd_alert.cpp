// `fanout alert send FILE --provider P --to URL[,URL...]`: uploads an alert to every region,
// as a provider does, and prints each region's answer (the original's smoke-test upload
// script, done properly).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "adapters/capxml/cap_decoder.hpp"
#include "adapters/http/http_server.hpp"
#include "commands.hpp"
#include "platform/text/percent.hpp"

namespace fanout::cli {
namespace {

struct SendOptions {
  std::string file;
  std::string provider;
  std::vector<std::string> to;
  std::string token;
  std::string id;
};

int RunSend(const SendOptions& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) {
    std::cerr << "fanout alert send: cannot read " << o.file << "\n";
    return 2;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string body = ss.str();
  std::string token = o.token;
  if (token.empty()) {
    if (const char* t = std::getenv("FANOUT_PROVIDER_TOKEN")) token = t;
  }
  if (token.empty()) {
    std::cerr << "fanout alert send: no provider token (--token or FANOUT_PROVIDER_TOKEN)\n";
    return 2;
  }
  std::string id = o.id;
  if (id.empty()) {
    adapters::capxml::CapDecoder decoder;
    auto check = decoder.Decode(body);
    if (!check.alert || check.alert->identifier.empty()) {
      std::cerr << "fanout alert send: cannot read the alert's identifier from " << o.file
                << " (give it with --id to upload anyway)";
      if (!check.errors.empty()) {
        std::cerr << ": " << check.errors[0].code << ": " << check.errors[0].message;
      }
      std::cerr << "\n";
      return 2;
    }
    id = check.alert->identifier;
  }
  std::string path =
      "/v1/alerts/" + platform::PercentEncode(o.provider) + "/" + platform::PercentEncode(id);
  std::string type = body.find_first_not_of(" \t\r\n") != std::string::npos &&
                             body[body.find_first_not_of(" \t\r\n")] == '{'
                         ? "application/json"
                         : "application/xml";
  int worst = 0;
  for (const std::string& url : o.to) {
    auto r = adapters::http::HttpCall("PUT", url, path, token, body, type);
    if (r.status == 0) {
      std::cout << url << " -> no answer: " << r.error << "\n";
      worst = std::max(worst, 1);
    } else {
      std::cout << url << " -> " << r.status << " " << r.body << "\n";
      if (r.status != 202) worst = std::max(worst, 1);
    }
  }
  return worst;
}

}  // namespace

void RegisterAlertCommands(CLI::App& app) {
  auto* alert = app.add_subcommand("alert", "Work with alerts as a provider");
  alert->require_subcommand(1);
  auto o = std::make_shared<SendOptions>();
  auto* send = alert->add_subcommand("send",
                                     "Upload an alert to every region and print each "
                                     "region's answer (exit 1 if any region refused)");
  send->add_option("FILE", o->file, "CAP XML or NINA JSON")->required();
  send->add_option("--provider", o->provider, "provider id, e.g. AP2")->required();
  send->add_option("--to", o->to, "region base URLs, comma-separated")->required()->delimiter(',');
  send->add_option("--token", o->token, "provider token (default: $FANOUT_PROVIDER_TOKEN)");
  send->add_option("--id", o->id, "identifier for the URL (default: read from the alert)");
  send->callback([o] { ExitCode() = RunSend(*o); });
}

}  // namespace fanout::cli
