#pragma once
// Port: the replicated log of alert lifecycle events (DESIGN §1.6). Every region appends;
// every region reads every region's events; the delivery report is derived from them.
// Adapters: adapters/memory (in-process, shared by the regions of one process),
// JetStream stream (distributed).
#include <functional>
#include <string>
#include <vector>

#include "domain/pipeline/events.hpp"

namespace fanout::ports {

class ProtocolLog {
 public:
  using Listener = std::function<void(const domain::pipeline::Event&)>;
  virtual ~ProtocolLog() = default;
  virtual void Append(const domain::pipeline::Event& e) = 0;
  /// All events of one alert, in append order.
  virtual std::vector<domain::pipeline::Event> Events(const std::string& alert_id) const = 0;
  /// Alert ids in order of their first event.
  virtual std::vector<std::string> AlertIds() const = 0;
  /// Called for every event appended after the call, on the appending thread.
  virtual void Listen(Listener l) = 0;
};

}  // namespace fanout::ports
