#include "app/messages.hpp"

#include <nlohmann/json.hpp>

namespace fanout::app {

using nlohmann::json;

std::string AlertsSubject(const std::string& priority) { return "alerts." + priority; }
std::string UnitsSubject(const std::string& priority) { return "units." + priority; }
std::string BatchesSubject(const std::string& priority, domain::device::Platform p) {
  return "batches." + priority + "." + std::string(domain::device::PlatformName(p));
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
  return json{{"alert_id", w.alert_id},
              {"unit", w.unit},
              {"batch", w.batch},
              {"priority", w.priority},
              {"items", std::move(items)}}
      .dump();
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
    return w;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace fanout::app
