#include "paths.hpp"

#include <iostream>

#include "platform/config/settings.hpp"

namespace fanout::cli {

std::optional<std::filesystem::path> FindDataDir(std::string_view command) {
  const config::DataDirSearch s = config::FindDataDir();
  if (s.found) return s.found;
  std::cerr << "fanout " << command << ": cannot find the data folder (geo/, cap/): "
            << (s.from_env ? "FANOUT_DATA_DIR=" + s.Tried() + " does not hold geo/"
                           : "tried " + s.Tried())
            << ". Install with `cmake --install` (data under share/fanout) or set "
               "FANOUT_DATA_DIR to the data folder.\n";
  return std::nullopt;
}

}  // namespace fanout::cli
