#pragma once
// In-process PlanStore, put-if-absent, indexed by alert id and by (sender, identifier).
// Durability is optional, through a PlanJournal (adapters/sqlite has one): plans are
// journaled in order, and Load() reads the journal back after a restart. Thread-safe.
#include <map>
#include <mutex>
#include <vector>

#include "ports/plan_store.hpp"

namespace fanout::adapters::memory {

/// Durable record of a plan store. Writes may complete after the call returns, in call
/// order (so before any later protocol event or bus acknowledgement of the same journal).
class PlanJournal {
 public:
  virtual ~PlanJournal() = default;
  [[nodiscard]] virtual Result<void, Error> Write(const domain::pipeline::AlertPlan& plan) = 0;
  virtual Result<std::vector<domain::pipeline::AlertPlan>, Error> LoadAll() = 0;
};

class MemoryPlanStore final : public ports::PlanStore {
 public:
  explicit MemoryPlanStore(PlanJournal* journal = nullptr) : journal_(journal) {}
  /// Reads the journal's plans; call once, before use. Returns how many were loaded.
  Result<size_t, Error> Load() {
    if (!journal_) return size_t{0};
    auto plans = journal_->LoadAll();
    if (!plans) return Fail(std::move(plans.error()));
    std::lock_guard lock(mu_);
    for (auto& p : *plans) {
      AddLocked(std::make_shared<const domain::pipeline::AlertPlan>(std::move(p)));
    }
    return plans->size();
  }

  Result<PlanPtr, Error> PutIfAbsent(PlanPtr plan) override {
    std::lock_guard lock(mu_);
    if (auto it = plans_.find(plan->alert_id); it != plans_.end()) return it->second;
    if (journal_) {
      if (auto written = journal_->Write(*plan); !written) return Fail(std::move(written.error()));
    }
    AddLocked(plan);
    return plan;
  }
  PlanPtr Get(const std::string& alert_id) const override {
    std::lock_guard lock(mu_);
    auto it = plans_.find(alert_id);
    return it == plans_.end() ? nullptr : it->second;
  }
  PlanPtr FindReferenced(const std::string& sender, const std::string& identifier,
                         const std::string& sent) const override {
    std::lock_guard lock(mu_);
    auto it = by_reference_.find({sender, identifier});
    if (it == by_reference_.end()) {
      // A reference whose sender is spelled differently still names the identifier.
      auto by_id = plans_.find(identifier);
      return by_id == plans_.end() ? nullptr : by_id->second;
    }
    for (const PlanPtr& p : it->second) {
      if (sent.empty() || p->sent == sent) return p;
    }
    return it->second.front();  // same sender and identifier, `sent` written differently
  }

 private:
  void AddLocked(PlanPtr plan) {
    by_reference_[{plan->sender, plan->alert_id}].push_back(plan);
    plans_.emplace(plan->alert_id, std::move(plan));
  }

  PlanJournal* journal_;
  mutable std::mutex mu_;
  std::map<std::string, PlanPtr> plans_;
  std::map<std::pair<std::string, std::string>, std::vector<PlanPtr>> by_reference_;
};

}  // namespace fanout::adapters::memory
