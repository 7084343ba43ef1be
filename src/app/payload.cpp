#include "app/payload.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "domain/cap/classify.hpp"
#include "platform/crypto/crypto.hpp"

namespace fanout::app {

using nlohmann::json;

std::string CollapseIdFor(const std::string& identifier) {
  if (identifier.size() <= 64) return identifier;
  return platform::Sha256Hex(identifier).substr(0, 64);
}

std::vector<std::string> CompactArea(const std::vector<std::string>& municipalities,
                                     const domain::geo::GeoCatalog& catalog) {
  // Count the affected municipalities per Kreis (5 digits) and Land (2 digits) and compare
  // with the totals in the catalog.
  std::map<std::string, size_t> per_kreis, per_land;
  for (const auto& m : municipalities) {
    per_kreis[m.substr(0, 5)]++;
    per_land[m.substr(0, 2)]++;
  }
  auto pad = [](const std::string& prefix) {
    return prefix + std::string(12 - prefix.size(), '0');
  };
  std::vector<std::string> out;
  for (const auto& [land, n] : per_land) {
    if (catalog.Expand(pad(land)).size() == n) out.push_back(pad(land));
  }
  auto covered_by_land = [&](const std::string& key) {
    return std::binary_search(out.begin(), out.end(), pad(key.substr(0, 2)));
  };
  std::vector<std::string> kreise;
  for (const auto& [kreis, n] : per_kreis) {
    if (covered_by_land(kreis)) continue;
    if (catalog.Expand(pad(kreis)).size() == n) kreise.push_back(pad(kreis));
  }
  std::vector<std::string> rest;
  for (const auto& m : municipalities) {
    if (covered_by_land(m)) continue;
    if (std::binary_search(kreise.begin(), kreise.end(), pad(m.substr(0, 5)))) continue;
    rest.push_back(m);
  }
  out.insert(out.end(), kreise.begin(), kreise.end());
  out.insert(out.end(), rest.begin(), rest.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const domain::cap::Info* PreferredInfo(const domain::cap::Alert& alert, const std::string& lang) {
  if (alert.infos.empty()) return nullptr;
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string want = lower(lang);
  for (const auto& info : alert.infos) {
    std::string l = lower(info.language);
    if (l == "de-ls") continue;  // Leichte Sprache: a separate audience
    if (l == want || l.rfind(want + "-", 0) == 0) return &info;
  }
  return &alert.infos.front();
}

namespace {
std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

std::string Truncate(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  // Do not cut inside a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s + "…";
}
}  // namespace

Payloads BuildPayloads(const PayloadInput& in, const PipelineSettings& settings) {
  const domain::cap::Alert& a = *in.alert;
  const domain::cap::Info* info = PreferredInfo(a, settings.payload_language);
  std::string title = info && info->headline ? *info->headline : (info ? info->event : a.msg_type);
  std::string body;
  if (info) {
    if (info->description) body = *info->description;
    if (body.empty() && !info->areas.empty()) body = info->areas.front().desc;
  }
  title = Truncate(title, 160);
  body = Truncate(body, 400);
  std::string severity(domain::cap::SeverityName(domain::cap::AlertSeverity(a)));
  std::string url = settings.public_base_url + "/v1/alerts/" + a.identifier;
  bool high = in.priority == "high";

  auto build = [&](bool area_as_url) {
    Payloads p;
    p.area_as_url = area_as_url;
    json aps = {{"alert", {{"title", title}, {"body", body}}}, {"thread-id", in.provider}};
    if (high && settings.apns_critical_alerts) {
      aps["interruption-level"] = "critical";
      aps["sound"] = {{"critical", 1}, {"name", "default"}, {"volume", 1.0}};
    } else {
      aps["interruption-level"] = high ? "time-sensitive" : "active";
      aps["sound"] = "default";
    }
    json fan = {{"alert_id", a.identifier}, {"provider", in.provider}, {"msgType", a.msg_type},
                {"severity", severity},     {"level", in.level},       {"sent", a.sent}};
    if (area_as_url) {
      fan["area_url"] = url;
    } else {
      fan["area"] = in.area_keys;
    }
    p.apns = json{{"aps", aps}, {"fanout", fan}}.dump();
    json data = {{"alert_id", a.identifier},
                 {"provider", in.provider},
                 {"msgType", a.msg_type},
                 {"severity", severity},
                 {"level", std::to_string(in.level)},
                 {"title", title},
                 {"body", body},
                 {"sent", a.sent}};
    if (area_as_url) {
      data["area_url"] = url;
    } else {
      data["area"] = Join(in.area_keys);
    }
    int64_t ttl = std::max<int64_t>(0, in.expires_epoch_s - in.now_epoch_s);
    json android = {{"priority", high ? "HIGH" : "NORMAL"},
                    {"collapse_key", in.collapse_id},
                    {"ttl", std::to_string(ttl) + "s"}};
    // iOS apps that receive through FCM get the same APNs treatment via the override block.
    json apns_override = {{"headers",
                           {{"apns-priority", high ? "10" : "5"},
                            {"apns-push-type", "alert"},
                            {"apns-expiration", std::to_string(in.expires_epoch_s)},
                            {"apns-collapse-id", in.collapse_id}}},
                          {"payload", {{"aps", aps}}}};
    p.fcm = json{{"data", data}, {"android", android}, {"apns", apns_override}}.dump();
    return p;
  };
  Payloads p = build(false);
  // The FCM envelope adds {"message":{"token":"…",…}}; keep headroom for a 4 KB token.
  if (p.apns.size() > kMaxPayloadBytes || p.fcm.size() > kMaxPayloadBytes) p = build(true);
  return p;
}

}  // namespace fanout::app
