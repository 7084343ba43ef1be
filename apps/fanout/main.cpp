// fanout: one binary for every role (DESIGN §7.1).
#include <iostream>

#include "commands.hpp"

namespace fanout::cli {
int& ExitCode() {
  static int code = 0;
  return code;
}
}  // namespace fanout::cli

int main(int argc, char** argv) {
  CLI::App app{"fanout: public warnings to push notifications, fast and without loss"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fanout 0.1.0");
#ifdef FANOUT_HAVE_CMD_CAP
  fanout::cli::RegisterCapCommands(app);
#endif
#ifdef FANOUT_HAVE_CMD_PUSHSIM
  fanout::cli::RegisterPushsimCommand(app);
#endif
#ifdef FANOUT_HAVE_CMD_CONFIG
  fanout::cli::RegisterConfigCommands(app);
#endif
#ifdef FANOUT_HAVE_CMD_GEO
  fanout::cli::RegisterGeoCommands(app);
#endif
#ifdef FANOUT_HAVE_CMD_DEVICES
  fanout::cli::RegisterDevicesCommands(app);
#endif
#ifdef FANOUT_HAVE_CMD_DEMO
  fanout::cli::RegisterDemoCommand(app);
#endif
#ifdef FANOUT_HAVE_CMD_SERVE
  fanout::cli::RegisterServeCommand(app);
#endif
#ifdef FANOUT_HAVE_CMD_ALERT
  fanout::cli::RegisterAlertCommands(app);
#endif
#ifdef FANOUT_HAVE_CMD_DB
  fanout::cli::RegisterDbCommands(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // Usage errors exit 2 (DESIGN §7.1: 2 on usage/IO error); --help/--version exit 0.
    return rc == 0 ? 0 : 2;
  }
  return fanout::cli::ExitCode();
}
