#include "paths.hpp"

#include <cstdlib>

#include "platform/config/settings.hpp"

namespace fanout::cli {

std::optional<std::filesystem::path> FindDataDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  auto geo =
      config::FindGeoDataDir(std::getenv("FANOUT_DATA_DIR"), ec ? std::filesystem::path{} : exe);
  if (!geo) return std::nullopt;
  return geo->parent_path();
}

}  // namespace fanout::cli
