#include "app/console.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/api.hpp"
#include "app/dashboards.hpp"
#include "domain/pipeline/report.hpp"
#include "platform/crypto/crypto.hpp"

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;
using nlohmann::json;

namespace {

constexpr int64_t kSessionMs = 12 * 3600 * 1000;

// The admin token as configured: itself or `sha256:<hex>` of it.
bool SameSecret(const std::string& presented, const std::string& configured) {
  return platform::SecretMatches(presented, configured);
}

// One value of an application/x-www-form-urlencoded body.
std::string FormValue(const std::string& body, const std::string& name) {
  size_t i = 0;
  while (i <= body.size()) {
    size_t j = body.find('&', i);
    if (j == std::string::npos) j = body.size();
    std::string pair = body.substr(i, j - i);
    if (pair.starts_with(name + "=")) {
      std::string v = pair.substr(name.size() + 1);
      std::replace(v.begin(), v.end(), '+', ' ');
      return PercentDecode(v).value_or("");
    }
    i = j + 1;
  }
  return {};
}

std::string CookieValue(const std::map<std::string, std::string>& headers,
                        const std::string& name) {
  auto it = headers.find("cookie");
  if (it == headers.end()) return {};
  const std::string& c = it->second;
  size_t i = 0;
  while (i < c.size()) {
    while (i < c.size() && c[i] == ' ') ++i;
    size_t j = c.find(';', i);
    if (j == std::string::npos) j = c.size();
    std::string pair = c.substr(i, j - i);
    if (pair.starts_with(name + "=")) return pair.substr(name.size() + 1);
    i = j + 1;
  }
  return {};
}

}  // namespace

Console::Console(RegionSettings region, std::vector<std::string> region_names,
                 std::string admin_token, const ports::ProtocolLog& log, ports::Clock& clock)
    : region_(std::move(region)),
      names_(std::move(region_names)),
      admin_token_(std::move(admin_token)),
      log_(log),
      clock_(clock) {}

std::string Console::Login(const std::string& body, const std::string& content_type) {
  std::string token;
  if (content_type.starts_with("application/json")) {
    json j = json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("token") && j["token"].is_string()) token = j["token"];
  } else {
    token = FormValue(body, "token");
  }
  if (!SameSecret(token, admin_token_)) return {};
  std::string id = platform::RandomHex(32);
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMs();
  std::erase_if(sessions_, [now](const auto& s) { return s.second <= now; });
  sessions_[id] = now + kSessionMs;
  return id;
}

void Console::Logout(const std::string& session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
}

bool Console::Authorized(const std::map<std::string, std::string>& headers) const {
  if (auto it = headers.find("authorization"); it != headers.end()) {
    const std::string& h = it->second;
    if ((h.starts_with("Bearer ") || h.starts_with("bearer ")) &&
        SameSecret(h.substr(7), admin_token_)) {
      return true;
    }
  }
  const std::string id = CookieValue(headers, kCookie);
  if (id.empty()) return false;
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  return it != sessions_.end() && it->second > clock_.NowMs();
}

std::string Console::State(size_t max_alerts) const {
  std::vector<std::string> ids = log_.AlertIds();
  std::reverse(ids.begin(), ids.end());  // newest first
  if (ids.size() > max_alerts) ids.resize(max_alerts);
  json alerts = json::array();
  for (const std::string& id : ids) {
    const std::vector<Event> events = log_.Events(id);
    const auto rep = domain::pipeline::DeriveReport(id, events);
    // Pushes per region (a takeover: both regions' shares) and the delivery curve.
    std::map<std::string, uint64_t> by_region;
    std::vector<std::pair<int64_t, uint64_t>> pushes;  // (last push ms, accepted)
    json takeovers = json::array();
    for (const Event& e : events) {
      if (e.type == EventType::kBatchDone) {
        by_region[e.region] += e.accepted;
        if (e.accepted) pushes.emplace_back(e.last_push_ms, e.accepted);
      } else if (e.type == EventType::kTakeover) {
        takeovers.push_back({{"region", e.region}, {"t_ms", e.t_ms}, {"reason", e.detail}});
      }
    }
    std::sort(pushes.begin(), pushes.end());
    json curve = json::array();
    uint64_t cumulative = 0;
    const size_t step = std::max<size_t>(1, pushes.size() / 60);
    for (size_t i = 0; i < pushes.size(); ++i) {
      cumulative += pushes[i].second;
      if (i % step == 0 || i + 1 == pushes.size()) {
        curve.push_back({pushes[i].first - rep.received_ms, cumulative});
      }
    }
    json platforms = json::object();
    for (const auto& f : rep.flows) {
      json& p = platforms[std::string(domain::device::PlatformName(f.platform))];
      if (p.is_null()) p = {{"targeted", 0}, {"sent", 0}, {"failed", 0}};
      p["targeted"] = p.value("targeted", uint64_t{0}) + f.targeted;
      p["sent"] = p.value("sent", uint64_t{0}) + f.accepted;
      p["failed"] = p.value("failed", uint64_t{0}) + f.failed + f.invalid;
    }
    alerts.push_back(
        {{"id", id},
         {"status", rep.status},
         {"provider", rep.provider},
         {"priority", rep.priority},
         {"owner", rep.owner < names_.size() ? names_[rep.owner] : std::to_string(rep.owner)},
         {"processing_region", rep.processing_region},
         {"received_by", rep.received_by},
         {"received_ms", rep.received_ms},
         {"done_ms", rep.done_ms},
         {"targeted", rep.total.targeted},
         {"sent", rep.total.accepted},
         {"failed", rep.total.failed + rep.total.invalid},
         {"redelivered", rep.total.redelivered},
         {"p99_ms", rep.total.p99_ms},
         {"platforms", platforms},
         {"regions", by_region},
         {"curve", curve},
         {"takeovers", takeovers},
         {"reasons", rep.reasons},
         {"dead_letters", rep.dead_letters}});
  }
  json health = json::object();
  if (health_) health = json::parse(health_(), nullptr, false);
  return json{{"region", region_.name}, {"regions", names_}, {"health", health}, {"alerts", alerts}}
      .dump();
}

std::string Console::Area(const std::string& alert_id) const {
  if (!dashboards_ || !shapes_) return {};
  std::vector<std::string> keys = dashboards_->AreaKeys(alert_id);
  if (keys.empty()) return {};
  return shapes_->Features(keys);
}

std::string Console::Outline() const { return shapes_ ? shapes_->Outline() : std::string(); }

bool Console::NextEvent(std::string& last_state, std::string& chunk) const {
  // Polls the log's view twice a second for up to 2 s: a change is sent at once, an
  // unchanged state as a keep-alive comment.
  for (int i = 0; i < 4; ++i) {
    std::string state = State();
    if (state != last_state) {
      last_state = state;
      chunk = "event: state\ndata: " + state + "\n\n";
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  chunk = ": keep-alive\n\n";
  return true;
}

}  // namespace fanout::app
