#include "adapters/memory/memory_protocol_log.hpp"

namespace fanout::adapters::memory {

void MemoryProtocolLog::Append(const domain::pipeline::Event& e) {
  std::vector<Listener> listeners;
  {
    std::lock_guard lock(mu_);
    auto& v = by_alert_[e.alert_id];
    if (v.empty()) order_.push_back(e.alert_id);
    v.push_back(e);
    listeners = listeners_;
  }
  for (auto& l : listeners) l(e);
}

std::vector<domain::pipeline::Event> MemoryProtocolLog::Events(const std::string& alert_id) const {
  std::lock_guard lock(mu_);
  auto it = by_alert_.find(alert_id);
  return it == by_alert_.end() ? std::vector<domain::pipeline::Event>{} : it->second;
}

std::vector<std::string> MemoryProtocolLog::AlertIds() const {
  std::lock_guard lock(mu_);
  return order_;
}

void MemoryProtocolLog::Listen(Listener l) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(l));
}

}  // namespace fanout::adapters::memory
