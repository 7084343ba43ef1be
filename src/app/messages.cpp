#include "app/messages.hpp"

#include <nlohmann/json.hpp>

namespace fanout::app {

using nlohmann::json;

std::string AlertsSubject(const std::string& priority) { return "alerts." + priority; }
std::string UnitsSubject(const std::string& priority) { return "units." + priority; }
std::string BatchesSubject(const std::string& priority, domain::device::Platform p) {
  return "batches." + priority + "." + std::string(domain::device::PlatformName(p));
}

std::string BatchMsgId(const BatchWork& w) {
  std::string id = "batch:" + w.alert_id + ":" + w.unit + ":" + std::to_string(w.batch);
  if (w.attempt > 0) id += "/r" + std::to_string(w.attempt);
  return id;
}

std::string Encode(const AlertWork& w) {
  return json{{"alert_id", w.alert_id},
              {"hash", w.hash},
              {"provider", w.provider},
              {"priority", w.priority}}
      .dump();
}
std::string Encode(const UnitWork& w) {
  return json{{"alert_id", w.alert_id}, {"unit", w.unit}, {"priority", w.priority}}.dump();
}
std::string Encode(const BatchWork& w) {
  json items = json::array();
  for (const auto& i : w.items) items.push_back(json::array({i.device_id, i.token}));
  json j{{"alert_id", w.alert_id},
         {"unit", w.unit},
         {"batch", w.batch},
         {"priority", w.priority},
         {"items", std::move(items)}};
  if (w.attempt > 0) {
    const BatchProgress& p = w.progress;
    json latency = json::array();  // sparse: [bucket, count] pairs
    for (size_t i = 0; i < p.latency.size(); ++i) {
      if (p.latency[i] != 0) latency.push_back(json::array({i, p.latency[i]}));
    }
    j["attempt"] = w.attempt;
    j["progress"] = json{{"accepted", p.accepted},
                         {"failed", p.failed},
                         {"invalid", p.invalid},
                         {"first_push_ms", p.first_push_ms},
                         {"last_push_ms", p.last_push_ms},
                         {"latency", std::move(latency)},
                         {"reasons", p.reasons}};
  }
  return j.dump();
}

std::optional<AlertWork> DecodeAlertWork(const std::string& s) {
  json j = json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    return AlertWork{j.at("alert_id"), j.at("hash"), j.at("provider"), j.at("priority")};
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<UnitWork> DecodeUnitWork(const std::string& s) {
  json j = json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    return UnitWork{j.at("alert_id"), j.at("unit"), j.at("priority")};
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<BatchWork> DecodeBatchWork(const std::string& s) {
  json j = json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    BatchWork w{j.at("alert_id"), j.at("unit"), j.at("batch"), j.at("priority"), {}};
    for (const auto& i : j.at("items")) w.items.push_back({i.at(0), i.at(1)});
    w.attempt = j.value("attempt", 0);
    if (w.attempt > 0) {
      const json& p = j.at("progress");
      BatchProgress& out = w.progress;
      out.accepted = p.at("accepted");
      out.failed = p.at("failed");
      out.invalid = p.at("invalid");
      out.first_push_ms = p.at("first_push_ms");
      out.last_push_ms = p.at("last_push_ms");
      for (const auto& b : p.at("latency")) {
        size_t i = b.at(0);
        if (i >= out.latency.size()) return std::nullopt;
        out.latency[i] = b.at(1);
      }
      out.reasons = p.at("reasons").get<std::vector<std::string>>();
    }
    return w;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace fanout::app
