// `fanout cap check FILE... [--provider P]` (DESIGN §7.1). The work is in
// adapters/capxml/cap_check.* so it is unit-tested without the binary.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "adapters/capxml/cap_check.hpp"
#include "commands.hpp"

namespace fanout::cli {

void RegisterCapCommands(CLI::App& app) {
  CLI::App* cap = app.add_subcommand("cap", "CAP 1.2 tools");
  cap->require_subcommand(1);
  CLI::App* check = cap->add_subcommand(
      "check",
      "Read and validate CAP 1.2 XML / NINA JSON files; one JSON report per file per line. "
      "Exit 0 all valid, 1 any invalid, 2 usage or I/O error");
  struct Args {
    std::vector<std::string> files;
    std::string provider;
  };
  auto args = std::make_shared<Args>();
  check->add_option("files", args->files, "CAP XML or NINA JSON files")->required();
  check->add_option("--provider", args->provider,
                    "provider the alerts come from, for `priority` (AP1 is high-priority)");
  check->callback([args]() {
    adapters::capxml::CapCheckOptions options;
    options.provider = args->provider;
    ExitCode() = adapters::capxml::RunCapCheck(args->files, options, std::cout);
  });
}

}  // namespace fanout::cli
