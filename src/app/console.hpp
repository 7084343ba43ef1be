#pragma once
// The operator console (DESIGN §7.2 `GET /`, issue 13): one self-contained page (no external
// scripts, fonts or tiles: it works without internet) and the JSON it reads — the live
// alerts with per-platform and per-region progress, the delivery curve, takeovers and
// quarantine reasons, region health, and the alert's area as GeoJSON from the project's own
// geodata. Protected by the admin token: a login form exchanges it for a session cookie
// (HttpOnly, SameSite=Strict; never a token in the URL), so server-sent events, which cannot
// carry an Authorization header, work too. Thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "app/settings.hpp"
#include "ports/area_shapes.hpp"
#include "ports/clock.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::app {

class Dashboards;

class Console {
 public:
  Console(RegionSettings region, std::vector<std::string> region_names, std::string admin_token,
          const ports::ProtocolLog& log, ports::Clock& clock);

  void SetDashboards(const Dashboards* d) { dashboards_ = d; }
  void SetShapes(const ports::AreaShapes* s) { shapes_ = s; }
  /// Extra health facts of this region (JSON object text): replication, watching, devices.
  void SetHealth(std::function<std::string()> health) { health_ = std::move(health); }

  /// The token from a login form (`token=...`, form-encoded) or JSON (`{"token":...}`):
  /// a new session id, or empty when the token is wrong.
  std::string Login(const std::string& body, const std::string& content_type);
  void Logout(const std::string& session);
  /// Whether the request's cookie names a live session or it carries the admin token.
  bool Authorized(const std::map<std::string, std::string>& headers) const;
  /// The console's state: region, health, the latest alerts (newest first).
  std::string State(size_t max_alerts = 50) const;
  /// The alert's area as a GeoJSON FeatureCollection; empty when unknown here.
  std::string Area(const std::string& alert_id) const;
  std::string Outline() const;
  /// Server-sent events: blocks up to ~1 s, then fills `chunk` with the next event (the
  /// state when it changed, else a comment that keeps the connection alive).
  bool NextEvent(std::string& last_state, std::string& chunk) const;

  static const std::string& Page();
  static constexpr const char* kCookie = "fanout_session";

 private:
  RegionSettings region_;
  std::vector<std::string> names_;
  std::string admin_token_;
  const ports::ProtocolLog& log_;
  ports::Clock& clock_;
  const Dashboards* dashboards_ = nullptr;
  const ports::AreaShapes* shapes_ = nullptr;
  std::function<std::string()> health_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t> sessions_;  // id -> expiry (ms)
};

}  // namespace fanout::app
