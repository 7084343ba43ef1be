#pragma once
// AlertArchive on the local file system: <dir>/<hash[0:2]>/<hash>, written to a temporary
// file, fsync'ed and renamed, so a crash never leaves a torn alert. Thread-safe.
#include <filesystem>

#include "ports/alert_archive.hpp"

namespace fanout::adapters::memory {

class FileArchive final : public ports::AlertArchive {
 public:
  explicit FileArchive(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Result<void, Error> Put(const std::string& hash, const std::string& body) override;
  Result<std::optional<std::string>, Error> Get(const std::string& hash) const override;

 private:
  std::filesystem::path PathOf(const std::string& hash) const;
  std::filesystem::path dir_;
};

}  // namespace fanout::adapters::memory
