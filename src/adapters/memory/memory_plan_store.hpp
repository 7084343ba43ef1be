#pragma once
// In-process PlanStore. Thread-safe.
#include <map>
#include <mutex>

#include "ports/plan_store.hpp"

namespace fanout::adapters::memory {

class MemoryPlanStore final : public ports::PlanStore {
 public:
  void Put(std::shared_ptr<const domain::pipeline::AlertPlan> plan) override {
    std::lock_guard lock(mu_);
    plans_[plan->alert_id] = std::move(plan);
  }
  std::shared_ptr<const domain::pipeline::AlertPlan> Get(
      const std::string& alert_id) const override {
    std::lock_guard lock(mu_);
    auto it = plans_.find(alert_id);
    return it == plans_.end() ? nullptr : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const domain::pipeline::AlertPlan>> plans_;
};

}  // namespace fanout::adapters::memory
