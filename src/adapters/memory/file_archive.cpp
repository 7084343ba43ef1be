#include "adapters/memory/file_archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fanout::adapters::memory {

namespace fs = std::filesystem;

fs::path FileArchive::PathOf(const std::string& hash) const {
  return dir_ / hash.substr(0, 2) / hash;
}

Result<void, Error> FileArchive::Put(const std::string& hash, const std::string& body) {
  if (hash.size() < 8 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Fail(Error{Error::Kind::kInvalid, "archive key must be lowercase hex"});
  }
  fs::path target = PathOf(hash);
  std::error_code ec;
  if (fs::exists(target, ec)) return {};
  fs::create_directories(target.parent_path(), ec);
  if (ec) return Fail(Error{Error::Kind::kRetryLater, "mkdir " + ec.message()});
  static std::atomic<uint64_t> seq{0};
  fs::path tmp = target;
  tmp += ".tmp" + std::to_string(::getpid()) + "." + std::to_string(seq++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(Error{Error::Kind::kRetryLater, "open: " + std::string(strerror(errno))});
  size_t off = 0;
  while (off < body.size()) {
    ssize_t n = ::write(fd, body.data() + off, body.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string msg = strerror(errno);
      ::close(fd);
      fs::remove(tmp, ec);
      return Fail(Error{Error::Kind::kRetryLater, "write: " + msg});
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    fs::remove(tmp, ec);
    return Fail(Error{Error::Kind::kRetryLater, "fsync/close failed"});
  }
  fs::rename(tmp, target, ec);
  if (ec) return Fail(Error{Error::Kind::kRetryLater, "rename: " + ec.message()});
  return {};
}

Result<std::optional<std::string>, Error> FileArchive::Get(const std::string& hash) const {
  std::ifstream in(PathOf(hash), std::ios::binary);
  if (!in) return std::optional<std::string>{};
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::optional<std::string>{ss.str()};
}

}  // namespace fanout::adapters::memory
