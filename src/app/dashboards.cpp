#include "app/dashboards.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>

#include "app/payload.hpp"
#include "domain/cap/classify.hpp"
#include "domain/cap/validate.hpp"
#include "domain/geo/resolve.hpp"
#include "platform/crypto/crypto.hpp"

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;
using nlohmann::json;

namespace {

std::string RefKey(const std::string& sender, const std::string& identifier) {
  return sender + "," + identifier;
}

// "de-DE" -> "de"; CAP's default language (none given) is en-US.
std::string LanguageTag(const std::string& language) {
  std::string tag = language.empty() ? "en" : language.substr(0, language.find('-'));
  for (char& c : tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tag;
}

// The first info's value of a field, else the first info that has it.
const std::optional<std::string>* FirstOf(const domain::cap::Alert& a,
                                          std::optional<std::string> domain::cap::Info::*field) {
  for (const auto& info : a.infos) {
    if (info.*field) return &(info.*field);
  }
  return nullptr;
}

}  // namespace

Dashboards::Dashboards(ProviderSettings providers, const ports::ProtocolLog& log,
                       const ports::AlertArchive& archive, const ports::AlertDecoder& decoder,
                       const domain::geo::GeoCatalog& catalog,
                       const domain::geo::GeometryIndex* geometry, ports::Clock& clock)
    : providers_(std::move(providers)),
      log_(log),
      archive_(archive),
      decoder_(decoder),
      catalog_(catalog),
      geometry_(geometry),
      clock_(clock) {}

void Dashboards::OnEvent(const Event& e) {
  if (e.type != EventType::kReceived && e.type != EventType::kProcessed) return;
  {
    std::lock_guard lock(mu_);
    if (e.type == EventType::kReceived) {
      receipts_.try_emplace(e.alert_id, Receipt{e.hash, e.provider});
      // A processed alert waiting for its receipt (replicated from another region).
      if (std::find(pending_.begin(), pending_.end(), e.alert_id) == pending_.end()) return;
    } else {
      if (applied_.contains(e.alert_id) ||
          std::find(pending_.begin(), pending_.end(), e.alert_id) != pending_.end()) {
        return;  // processed again (a takeover, a partition): entered once
      }
      pending_.push_back(e.alert_id);
    }
    noted_ = true;
  }
  cv_.notify_all();
}

void Dashboards::Recover() {
  {
    std::lock_guard lock(mu_);
    stop_ = false;  // a region started again
  }
  uint64_t after = 0;
  for (;;) {
    auto entries = log_.ReadFrom(after, 4096);
    if (entries.empty()) break;
    for (const auto& entry : entries) OnEvent(entry.event);
    after = entries.back().position;
  }
  Pump();
}

void Dashboards::Wait(int64_t ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return noted_ || stop_; });
  noted_ = false;
}

void Dashboards::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

size_t Dashboards::Pump() {
  std::lock_guard lock(mu_);
  size_t applied = 0;
  // In order: an Update or Cancel applies after what it references when both are here.
  std::vector<std::string> still;
  for (const std::string& id : pending_) {
    auto receipt = receipts_.find(id);
    if (receipt == receipts_.end()) {
      // The receipt may have come through another region's copy of the log only.
      for (const Event& e : log_.Events(id)) {
        if (e.type == EventType::kReceived) {
          receipt = receipts_.try_emplace(id, Receipt{e.hash, e.provider}).first;
          break;
        }
      }
    }
    if (receipt == receipts_.end() ||
        !ApplyLocked(id, receipt->second.hash, receipt->second.provider)) {
      still.push_back(id);
      continue;
    }
    applied_.insert(id);
    ++applied;
  }
  pending_ = std::move(still);
  return applied;
}

bool Dashboards::ApplyLocked(const std::string& alert_id, const std::string& hash,
                             const std::string& provider) {
  auto bytes = archive_.Get(hash);
  if (!bytes || !*bytes) return false;  // not readable here yet (replication): later
  domain::cap::CheckResult check = decoder_.Decode(**bytes);
  ++applied_count_;
  if (!check.usable || !check.alert) return true;  // processed elsewhere, unusable here: out
  const domain::cap::Alert& a = *check.alert;
  const std::string self = RefKey(a.sender, a.identifier);
  bool changed = false;
  if (a.msg_type == "Update" || a.msg_type == "Cancel") {
    for (const auto& ref : a.references) {
      const std::string key = RefKey(ref.sender, ref.identifier);
      if (key == self) continue;  // a self-reference names nothing earlier
      withdrawn_.insert(key);
      for (auto it = active_.begin(); it != active_.end();) {
        if (it->second.ref_key == key) {
          it = active_.erase(it);
          changed = true;
        } else {
          ++it;
        }
      }
    }
  }
  // A Cancel withdraws; it is not itself a warning on the dashboard. An alert an Update or a
  // Cancel that came first has withdrawn never enters.
  domain::geo::AreaResolution area = domain::geo::ResolveArea(a, catalog_, geometry_);
  std::vector<std::string> compact = CompactArea(area.municipalities, catalog_);
  areas_[alert_id] = compact;
  if (a.msg_type != "Cancel" && !withdrawn_.contains(self)) {
    if (!area.municipalities.empty()) {
      Entry e;
      e.id = alert_id;
      e.ref_key = self;
      e.municipalities = area.municipalities;
      const int64_t now_s = clock_.NowMs() / 1000;
      e.sent_s = domain::cap::ParseCapTime(a.sent).value_or(now_s);
      std::optional<std::string> expires_text;
      for (const auto& info : a.infos) {
        if (!info.expires) continue;
        if (auto t = domain::cap::ParseCapTime(*info.expires); t && *t > e.expires_s) {
          e.expires_s = *t;
          expires_text = info.expires;
        }
      }
      if (e.expires_s == 0) e.expires_s = e.sent_s + providers_.LifetimeOf(provider);

      // Headline per language (NINA's i18nTitle); the German one leads when there is one.
      json titles = json::object();
      std::string headline;
      for (const auto& info : a.infos) {
        const std::string text = info.headline.value_or(info.event);
        const std::string lang = LanguageTag(info.language);
        if (titles.contains(lang)) continue;
        titles[lang] = text;
        if (headline.empty() || lang == "de") headline = text;
      }
      const auto severity = domain::cap::AlertSeverity(a);
      json data = {{"headline", headline},
                   {"provider", provider},
                   {"sender", a.sender},
                   {"severity", std::string(domain::cap::SeverityName(severity))},
                   {"urgency", a.infos.empty() ? "" : a.infos.front().urgency},
                   {"event", a.infos.empty() ? "" : a.infos.front().event},
                   {"status", a.status},
                   {"msgType", a.msg_type},
                   {"area", {{"type", "ARS"}, {"data", compact}}},
                   {"valid", check.errors.empty()}};
      json item = {{"id", alert_id},
                   {"payload",
                    {{"version", 1},
                     {"type", "ALERT"},
                     {"id", alert_id},
                     {"hash", hash},
                     {"data", std::move(data)}}},
                   {"i18nTitle", std::move(titles)},
                   {"sent", a.sent}};
      if (const auto* onset = FirstOf(a, &domain::cap::Info::onset)) item["onset"] = **onset;
      item["expires"] = expires_text ? *expires_text : std::string();
      if (!expires_text) item["expiresDefault"] = true;  // sent + the default lifetime
      if (const auto* eff = FirstOf(a, &domain::cap::Info::effective)) item["effective"] = **eff;
      e.json = item.dump();
      if (e.expires_s > now_s) {
        active_[alert_id] = std::move(e);
        changed = true;
      }
    }
  }
  if (changed) {
    ++generation_;
    next_expiry_s_ = 0;
    for (const auto& [_, e] : active_) {
      if (next_expiry_s_ == 0 || e.expires_s < next_expiry_s_) next_expiry_s_ = e.expires_s;
    }
  }
  return true;
}

void Dashboards::ExpireLocked(int64_t now_s) {
  if (next_expiry_s_ == 0 || now_s < next_expiry_s_) return;
  next_expiry_s_ = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    if (it->second.expires_s <= now_s) {
      it = active_.erase(it);
      continue;
    }
    if (next_expiry_s_ == 0 || it->second.expires_s < next_expiry_s_) {
      next_expiry_s_ = it->second.expires_s;
    }
    ++it;
  }
  ++generation_;
}

std::optional<Dashboards::Page> Dashboards::Get(const std::string& key) {
  if (!catalog_.KnownKey(key)) return std::nullopt;  // malformed, or names nothing
  const std::string prefix(domain::geo::SignificantPrefix(key));
  Pump();
  std::lock_guard lock(mu_);
  ExpireLocked(clock_.NowMs() / 1000);
  Cached& cached = cache_[key];
  if (cached.page && cached.generation == generation_) return *cached.page;
  std::vector<const Entry*> hits;
  for (const auto& [_, e] : active_) {
    auto it = std::lower_bound(e.municipalities.begin(), e.municipalities.end(), prefix);
    if (it != e.municipalities.end() && it->compare(0, prefix.size(), prefix) == 0) {
      hits.push_back(&e);
    }
  }
  // Newest first, then by id: the same order in every region.
  std::sort(hits.begin(), hits.end(), [](const Entry* a, const Entry* b) {
    return a->sent_s != b->sent_s ? a->sent_s > b->sent_s : a->id < b->id;
  });
  auto page = std::make_shared<Page>();
  page->body = "[";
  for (size_t i = 0; i < hits.size(); ++i) {
    if (i) page->body += ",";
    page->body += hits[i]->json;
  }
  page->body += "]";
  page->etag = "\"" + platform::Sha256Hex(page->body).substr(0, 32) + "\"";
  page->alerts = hits.size();
  cached = {generation_, page};
  return *page;
}

std::vector<std::string> Dashboards::AreaKeys(const std::string& alert_id) const {
  std::lock_guard lock(mu_);
  auto it = areas_.find(alert_id);
  return it == areas_.end() ? std::vector<std::string>{} : it->second;
}

Dashboards::Stats Dashboards::stats() const {
  std::lock_guard lock(mu_);
  return {active_.size(), pending_.size(), applied_count_, generation_};
}

}  // namespace fanout::app
