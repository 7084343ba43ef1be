#pragma once
// Port: durable raw alert archive, keyed by SHA-256 hex of the body (DESIGN §1.1).
#include <optional>
#include <string>

#include "domain/common/result.hpp"

namespace fanout::ports {

class AlertArchive {
 public:
  virtual ~AlertArchive() = default;
  /// Stores the bytes durably (idempotent for the same hash).
  [[nodiscard]] virtual Result<void, Error> Put(const std::string& hash,
                                                const std::string& body) = 0;
  [[nodiscard]] virtual Result<std::optional<std::string>, Error> Get(
      const std::string& hash) const = 0;
};

}  // namespace fanout::ports
