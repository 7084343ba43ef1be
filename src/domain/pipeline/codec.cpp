#include "domain/pipeline/codec.hpp"

#include <nlohmann/json.hpp>

namespace fanout::domain::pipeline {

using nlohmann::json;

namespace {

// Optional fields: absent means the default, so old records stay readable.
template <typename T>
void Get(const json& j, const char* key, T& out) {
  if (auto it = j.find(key); it != j.end()) out = it->get<T>();
}

}  // namespace

std::string EncodeEvent(const Event& e) {
  json j{{"type", EventTypeName(e.type)},
         {"alert_id", e.alert_id},
         {"region", e.region},
         {"t_ms", e.t_ms}};
  // Only what is set: events are many and mostly small.
  if (!e.hash.empty()) j["hash"] = e.hash;
  if (!e.provider.empty()) j["provider"] = e.provider;
  if (!e.priority.empty()) j["priority"] = e.priority;
  if (e.owner != 0) j["owner"] = e.owner;
  if (!e.unit.empty()) j["unit"] = e.unit;
  if (e.batch != 0) j["batch"] = e.batch;
  if (e.count != 0) j["count"] = e.count;
  if (e.targeted != 0) j["targeted"] = e.targeted;
  if (e.accepted != 0) j["accepted"] = e.accepted;
  if (e.failed != 0) j["failed"] = e.failed;
  if (e.invalid != 0) j["invalid"] = e.invalid;
  if (e.first_push_ms != 0) j["first_push_ms"] = e.first_push_ms;
  if (e.last_push_ms != 0) j["last_push_ms"] = e.last_push_ms;
  if (e.attempt != 0) j["attempt"] = e.attempt;
  if (e.redelivered != 0) j["redelivered"] = e.redelivered;
  json latency = json::array();  // sparse: [bucket, count] pairs
  for (size_t i = 0; i < e.latency.size(); ++i) {
    if (e.latency[i] != 0) latency.push_back(json::array({i, e.latency[i]}));
  }
  if (!latency.empty()) j["latency"] = std::move(latency);
  if (!e.detail.empty()) j["detail"] = e.detail;
  return j.dump();
}

std::optional<Event> DecodeEvent(std::string_view s) {
  json j = json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    Event e;
    auto type = ParseEventType(j.at("type").get<std::string>());
    if (!type) return std::nullopt;
    e.type = *type;
    e.alert_id = j.at("alert_id").get<std::string>();
    e.region = j.at("region").get<std::string>();
    e.t_ms = j.at("t_ms").get<int64_t>();
    Get(j, "hash", e.hash);
    Get(j, "provider", e.provider);
    Get(j, "priority", e.priority);
    Get(j, "owner", e.owner);
    Get(j, "unit", e.unit);
    Get(j, "batch", e.batch);
    Get(j, "count", e.count);
    Get(j, "targeted", e.targeted);
    Get(j, "accepted", e.accepted);
    Get(j, "failed", e.failed);
    Get(j, "invalid", e.invalid);
    Get(j, "first_push_ms", e.first_push_ms);
    Get(j, "last_push_ms", e.last_push_ms);
    Get(j, "attempt", e.attempt);
    Get(j, "redelivered", e.redelivered);
    if (auto it = j.find("latency"); it != j.end()) {
      for (const auto& b : *it) {
        size_t i = b.at(0).get<size_t>();
        if (i >= e.latency.size()) return std::nullopt;
        e.latency[i] = b.at(1).get<uint32_t>();
      }
    }
    Get(j, "detail", e.detail);
    return e;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string EncodePlan(const AlertPlan& p) {
  return json{{"alert_id", p.alert_id},
              {"sender", p.sender},
              {"sent", p.sent},
              {"hash", p.hash},
              {"provider", p.provider},
              {"priority", p.priority},
              {"msg_type", p.msg_type},
              {"level", p.level},
              {"municipalities", p.municipalities},
              {"collapse_id", p.collapse_id},
              {"expires_epoch_s", p.expires_epoch_s},
              {"received_ms", p.received_ms},
              {"apns_payload", p.apns_payload},
              {"fcm_payload", p.fcm_payload},
              {"shards", p.shards},
              {"units", p.units}}
      .dump();
}

std::optional<AlertPlan> DecodePlan(std::string_view s) {
  json j = json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    AlertPlan p;
    p.alert_id = j.at("alert_id").get<std::string>();
    p.sender = j.at("sender").get<std::string>();
    p.sent = j.at("sent").get<std::string>();
    p.hash = j.at("hash").get<std::string>();
    p.provider = j.at("provider").get<std::string>();
    p.priority = j.at("priority").get<std::string>();
    p.msg_type = j.at("msg_type").get<std::string>();
    p.level = j.at("level").get<int>();
    p.municipalities = j.at("municipalities").get<std::vector<std::string>>();
    p.collapse_id = j.at("collapse_id").get<std::string>();
    p.expires_epoch_s = j.at("expires_epoch_s").get<int64_t>();
    p.received_ms = j.at("received_ms").get<int64_t>();
    p.apns_payload = j.at("apns_payload").get<std::string>();
    p.fcm_payload = j.at("fcm_payload").get<std::string>();
    p.shards = j.at("shards").get<uint32_t>();
    p.units = j.at("units").get<uint32_t>();
    return p;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace fanout::domain::pipeline
