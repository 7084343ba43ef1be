#pragma once
// Where the reference data (data/geo, data/cap) is: $FANOUT_DATA_DIR, else the first `data`
// folder holding geo/ found walking up from the executable.
#include <filesystem>
#include <optional>

namespace fanout::cli {
std::optional<std::filesystem::path> FindDataDir();
}
