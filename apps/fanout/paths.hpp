#pragma once
// Where the reference data (geo/, cap/) is: config::FindDataDir — $FANOUT_DATA_DIR, else
// data/ or share/fanout/ found walking up from the executable, else the installation folder.
#include <filesystem>
#include <optional>
#include <string_view>

namespace fanout::cli {
/// The data folder, or nullopt after printing "fanout COMMAND: cannot find the data folder
/// (tried ...)" with the remedy to stderr.
std::optional<std::filesystem::path> FindDataDir(std::string_view command);
}  // namespace fanout::cli
