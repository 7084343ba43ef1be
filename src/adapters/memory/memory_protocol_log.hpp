#pragma once
// In-process ProtocolLog shared by every region of one process (the demo), standing in for
// the replicated JetStream stream. Thread-safe; listeners run on the appending thread,
// outside the lock.
#include <map>
#include <mutex>
#include <vector>

#include "ports/protocol_log.hpp"

namespace fanout::adapters::memory {

class MemoryProtocolLog final : public ports::ProtocolLog {
 public:
  void Append(const domain::pipeline::Event& e) override;
  std::vector<domain::pipeline::Event> Events(const std::string& alert_id) const override;
  std::vector<std::string> AlertIds() const override;
  void Listen(Listener l) override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<domain::pipeline::Event>> by_alert_;
  std::vector<std::string> order_;
  std::vector<Listener> listeners_;
};

}  // namespace fanout::adapters::memory
