#pragma once
// Port: turns the bytes a provider sent (CAP 1.2 XML or the German JSON rendering) into the
// CAP model plus validation findings. Adapter: adapters/capxml (CapDecoder, auto-detecting
// XML vs JSON). Implementations are immutable after construction and thread-safe.
#include <string_view>

#include "domain/cap/alert.hpp"

namespace fanout::ports {

class AlertDecoder {
 public:
  virtual ~AlertDecoder() = default;
  virtual domain::cap::CheckResult Decode(std::string_view body) const = 0;
};

}  // namespace fanout::ports
