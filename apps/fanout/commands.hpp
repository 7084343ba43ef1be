#pragma once
// Each command group registers its subcommands on the root app. The callback of a
// subcommand sets the process exit code through the returned int of its runner.
#include <CLI/CLI.hpp>

namespace fanout::cli {

/// Commands set this to the exit code they want; main returns it.
int& ExitCode();

void RegisterCapCommands(CLI::App& app);      // cmd_cap.cpp: `cap check`
void RegisterPushsimCommand(CLI::App& app);   // cmd_pushsim.cpp: `pushsim`
void RegisterConfigCommands(CLI::App& app);   // cmd_config.cpp: `config example`
void RegisterGeoCommands(CLI::App& app);      // cmd_geo.cpp: `geo resolve|locate`
void RegisterDevicesCommands(CLI::App& app);  // cmd_devices.cpp
void RegisterDemoCommand(CLI::App& app);      // cmd_demo.cpp
void RegisterServeCommand(CLI::App& app);     // cmd_serve.cpp
void RegisterAlertCommands(CLI::App& app);    // cmd_alert.cpp: `alert send`
void RegisterDbCommands(CLI::App& app);       // cmd_db.cpp: `db migrate|status`

}  // namespace fanout::cli
