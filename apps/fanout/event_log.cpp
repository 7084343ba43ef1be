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
  const std::string& provider = e.provider;
  if (!batch.empty()) {
    log_.Log(level, message, {{"alert", e.alert_id}, {"region", e.region}, {"batch", batch}});
  } else if (!e.unit.empty()) {
    log_.Log(level, message, {{"alert", e.alert_id}, {"region", e.region}, {"unit", e.unit}});
  } else if (!e.detail.empty()) {
    log_.Log(
        level, message,
        {{"alert", e.alert_id}, {"region", e.region}, {"attempt", attempt}, {"detail", e.detail}});
  } else if (!provider.empty()) {
    log_.Log(level, message,
             {{"alert", e.alert_id},
              {"region", e.region},
              {"provider", provider},
              {"priority", e.priority}});
  } else {
    log_.Log(level, message, {{"alert", e.alert_id}, {"region", e.region}});
  }
  return r;
}

}  // namespace fanout::cli
