#pragma once
// Port: the processor's plans, by alert id (in-process map, SQLite embedded; a replicated KV
// or table distributed). Put-if-absent: the first plan stored for an alert is the plan, so a
// redelivered or taken-over alert uses it and never a different recomputation. Also answers
// "which alert did this Update/Cancel reference" by (sender, identifier, sent).
#include <memory>
#include <string>

#include "domain/common/result.hpp"
#include "domain/pipeline/plan.hpp"

namespace fanout::ports {

class PlanStore {
 public:
  using PlanPtr = std::shared_ptr<const domain::pipeline::AlertPlan>;
  virtual ~PlanStore() = default;
  /// Stores `plan` unless one is stored for its alert id; returns the stored plan (this one
  /// or the earlier). An error: nothing stored (storage failure), retry.
  [[nodiscard]] virtual Result<PlanPtr, Error> PutIfAbsent(PlanPtr plan) = 0;
  virtual PlanPtr Get(const std::string& alert_id) const = 0;
  /// The plan of the alert a CAP reference names; nullptr if unknown. `sent` empty: any.
  virtual PlanPtr FindReferenced(const std::string& sender, const std::string& identifier,
                                 const std::string& sent) const = 0;
};

}  // namespace fanout::ports
