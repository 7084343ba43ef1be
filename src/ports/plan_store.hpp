#pragma once
// Port: the processor's plans, by alert id (in-process map embedded; a replicated KV or
// table distributed). Also answers "which alert did this Update/Cancel reference".
#include <memory>
#include <optional>
#include <string>

#include "domain/pipeline/plan.hpp"

namespace fanout::ports {

class PlanStore {
 public:
  virtual ~PlanStore() = default;
  virtual void Put(std::shared_ptr<const domain::pipeline::AlertPlan> plan) = 0;
  virtual std::shared_ptr<const domain::pipeline::AlertPlan> Get(
      const std::string& alert_id) const = 0;
};

}  // namespace fanout::ports
