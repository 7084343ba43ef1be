#include "app/messages.hpp"

#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "platform/text/json_string.hpp"

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
              {"priority", w.priority},
              {"received_ms", w.received_ms}}
      .dump();
}
std::string Encode(const UnitWork& w) {
  return json{{"alert_id", w.alert_id}, {"unit", w.unit}, {"priority", w.priority}}.dump();
}
// BatchWork is the hot message (one per batch of up to 500 tokens, encoded by the queuer
// and decoded by a sender for every batch): the items are written directly and read with
// simdjson. The retry progress (rare) goes through nlohmann.
namespace {
std::string EncodeBatch(const BatchWork& w, bool tokens);
}  // namespace

std::string Encode(const BatchWork& w) { return EncodeBatch(w, true); }
std::string EncodeWithoutTokens(const BatchWork& w) { return EncodeBatch(w, false); }

namespace {
std::string EncodeBatch(const BatchWork& w, bool tokens) {
  std::string out;
  out.reserve(128 + w.items.size() * 100);
  out += "{\"alert_id\":";
  platform::AppendJsonString(out, w.alert_id);
  out += ",\"unit\":";
  platform::AppendJsonString(out, w.unit);
  out += ",\"batch\":";
  out += std::to_string(w.batch);
  out += ",\"priority\":";
  platform::AppendJsonString(out, w.priority);
  out += ",\"items\":[";
  for (size_t i = 0; i < w.items.size(); ++i) {
    if (i > 0) out += ',';
    out += '[';
    platform::AppendJsonString(out, w.items[i].device_id);
    out += ',';
    platform::AppendJsonString(out, tokens ? std::string_view(w.items[i].token) : "");
    out += ']';
  }
  out += ']';
  if (w.attempt > 0) {
    const BatchProgress& p = w.progress;
    json latency = json::array();  // sparse: [bucket, count] pairs
    for (size_t i = 0; i < p.latency.size(); ++i) {
      if (p.latency[i] != 0) latency.push_back(json::array({i, p.latency[i]}));
    }
    out += ",\"attempt\":";
    out += std::to_string(w.attempt);
    out += ",\"progress\":";
    out += json{{"accepted", p.accepted},         {"failed", p.failed},
                {"invalid", p.invalid},           {"first_push_ms", p.first_push_ms},
                {"last_push_ms", p.last_push_ms}, {"latency", std::move(latency)},
                {"reasons", p.reasons},           {"redelivered", p.redelivered}}
               .dump();
  }
  out += '}';
  return out;
}
}  // namespace

std::optional<AlertWork> DecodeAlertWork(const std::string& s) {
  json j = json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    return AlertWork{j.at("alert_id"), j.at("hash"), j.at("provider"), j.at("priority"),
                     j.value("received_ms", int64_t{0})};
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

namespace {

std::optional<BatchProgress> DecodeProgress(const std::string& text) {
  json p = json::parse(text, nullptr, false);
  if (p.is_discarded() || !p.is_object()) return std::nullopt;
  try {
    BatchProgress out;
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
    out.redelivered = p.value("redelivered", uint64_t{0});
    return out;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<BatchWork> DecodeBatchWork(const std::string& s) {
  thread_local simdjson::dom::parser parser;  // reuses its buffers
  simdjson::dom::element doc;
  if (parser.parse(s).get(doc) != simdjson::SUCCESS) return std::nullopt;
  std::string_view alert_id, unit, priority;
  uint64_t batch = 0;
  simdjson::dom::array items;
  if (doc["alert_id"].get(alert_id) || doc["unit"].get(unit) || doc["batch"].get(batch) ||
      doc["priority"].get(priority) || doc["items"].get(items) || batch > UINT32_MAX) {
    return std::nullopt;
  }
  BatchWork w{std::string(alert_id),
              std::string(unit),
              static_cast<uint32_t>(batch),
              std::string(priority),
              {}};
  w.items.reserve(items.size());
  for (simdjson::dom::element item : items) {
    simdjson::dom::array pair;
    std::string_view device_id, token;
    if (item.get(pair) || pair.size() != 2 || pair.at(0).get(device_id) || pair.at(1).get(token)) {
      return std::nullopt;
    }
    w.items.push_back({std::string(device_id), std::string(token)});
  }
  auto attempt = doc["attempt"];
  if (attempt.error() != simdjson::NO_SUCH_FIELD) {
    int64_t a = 0;
    if (attempt.get(a) || a < 0 || a > 1000) return std::nullopt;
    w.attempt = static_cast<int>(a);
  }
  if (w.attempt > 0) {
    simdjson::dom::element progress;
    if (doc["progress"].get(progress)) return std::nullopt;
    auto p = DecodeProgress(simdjson::to_string(progress));
    if (!p) return std::nullopt;
    w.progress = std::move(*p);
  }
  return w;
}

}  // namespace fanout::app
