#include "adapters/memory/memory_protocol_log.hpp"

#include <algorithm>

namespace fanout::adapters::memory {

using domain::pipeline::Event;

void MemoryProtocolLog::AddLocked(const Event& e, std::string key) {
  keys_.insert(std::move(key));
  auto& v = by_alert_[e.alert_id];
  if (v.empty()) order_.push_back(e.alert_id);
  v.push_back(all_.size());
  all_.push_back(e);
}

Result<size_t, Error> MemoryProtocolLog::Load() {
  if (!journal_) return size_t{0};
  auto events = journal_->LoadAll();
  if (!events) return Fail(std::move(events.error()));
  std::lock_guard lock(mu_);
  for (const Event& e : *events) {
    std::string key = domain::pipeline::IdempotencyKey(e);
    if (!keys_.contains(key)) AddLocked(e, std::move(key));
  }
  return events->size();
}

Result<bool, Error> MemoryProtocolLog::Append(const Event& e) {
  std::vector<Listener> listeners;
  {
    std::string key = domain::pipeline::IdempotencyKey(e);
    std::lock_guard lock(mu_);
    if (keys_.contains(key)) return false;
    if (journal_) {
      if (auto written = journal_->Write(all_.size() + 1, key, e); !written) {
        return Fail(std::move(written.error()));
      }
    }
    AddLocked(e, std::move(key));
    listeners = listeners_;
  }
  for (auto& l : listeners) l(e);
  return true;
}

Result<void, Error> MemoryProtocolLog::Flush() {
  if (!journal_) return {};
  return journal_->Flush();
}

std::vector<Event> MemoryProtocolLog::Events(const std::string& alert_id) const {
  std::lock_guard lock(mu_);
  std::vector<Event> out;
  auto it = by_alert_.find(alert_id);
  if (it == by_alert_.end()) return out;
  out.reserve(it->second.size());
  for (size_t i : it->second) out.push_back(all_[i]);
  return out;
}

std::vector<std::string> MemoryProtocolLog::AlertIds() const {
  std::lock_guard lock(mu_);
  return order_;
}

std::vector<ports::ProtocolLog::Entry> MemoryProtocolLog::ReadFrom(uint64_t after,
                                                                   size_t max) const {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  for (uint64_t i = after; i < all_.size() && out.size() < max; ++i) {
    out.push_back({i + 1, all_[i]});
  }
  return out;
}

void MemoryProtocolLog::Listen(Listener l) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(l));
}

}  // namespace fanout::adapters::memory
