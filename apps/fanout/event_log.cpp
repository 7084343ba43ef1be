#include "event_log.hpp"

namespace fanout::cli {

using domain::pipeline::EventType;

Result<bool, Error> LoggedProtocolLog::Append(const domain::pipeline::Event& e) {
  auto r = inner_.Append(e);
  if (!r || !*r) return r;  // not recorded here (failed, or another process's duplicate)
  log::Level level = log::Level::kInfo;
  std::string message(domain::pipeline::EventTypeName(e.type));
  switch (e.type) {
    case EventType::kQuarantined:
    case EventType::kTakeover:
      level = log::Level::kWarn;
      break;
    case EventType::kDeadLetter:
      level = log::Level::kError;
      break;
    case EventType::kUnitQueued:
    case EventType::kBatchDone:
    case EventType::kUnitDone:
      level = log::Level::kDebug;
      break;
    default:
      break;
  }
  if (!log_.ShouldLog(level)) return r;
  switch (e.type) {
    case EventType::kProcessed:
      message += ": " + std::to_string(e.count) + " units";
      break;
    case EventType::kUnitQueued:
      message +=
          ": " + std::to_string(e.targeted) + " devices in " + std::to_string(e.count) + " batches";
      break;
    case EventType::kBatchDone:
      message += ": " + std::to_string(e.accepted) + " accepted, " + std::to_string(e.failed) +
                 " failed, " + std::to_string(e.invalid) + " invalid";
      if (e.redelivered > 0) message += ", " + std::to_string(e.redelivered) + " re-sent";
      break;
    default:
      break;
  }
  const std::string batch =
      e.type == EventType::kBatchDone ? e.unit + "#" + std::to_string(e.batch) : std::string();
  const std::string attempt = std::to_string(e.attempt);
  // Every field the event has (dead letters carry a unit or batch and their reason).
  std::vector<log::LogField> f{{"alert", e.alert_id}, {"region", e.region}};
  if (!batch.empty()) {
    f.push_back({"batch", batch});
  } else if (!e.unit.empty()) {
    f.push_back({"unit", e.unit});
  }
  if (!e.provider.empty()) f.push_back({"provider", e.provider});
  if (!e.priority.empty()) f.push_back({"priority", e.priority});
  if (e.attempt > 0) f.push_back({"attempt", attempt});
  if (!e.detail.empty()) f.push_back({"detail", e.detail});
  log_.Log(level, message, f.data(), f.size());
  return r;
}

}  // namespace fanout::cli
