#pragma once
// Dashboards per region key (DESIGN §1.7, §7.2): the currently active alerts touching a key,
// at any level — a municipality's dashboard lists the alerts on its Kreis and Land, a Land's
// lists the alerts on any of its municipalities. Derived only from replicated state: the
// protocol log (an alert enters when any region records `processed` for it) and the raw
// archive (its content, decoded and resolved again here), so every region that has seen the
// same events serves the same dashboards, and a restarted region rebuilds them from its log
// (Recover). The CAP lifecycle: an Update supersedes the alerts it references, a Cancel
// removes them (also when it arrives before them: a referenced alert that comes later never
// enters), an alert leaves at its `expires` (the latest of its infos), or `sent` + the
// default lifetime when it has none. The shape is NINA's dashboard list (the one the apps
// know), the area as compact ARS keys. Thread-safe: OnEvent only queues; Pump does the work
// (a region's dashboard thread, and every Get before it answers).
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/settings.hpp"
#include "domain/geo/catalog.hpp"
#include "domain/geo/geometry.hpp"
#include "ports/alert_archive.hpp"
#include "ports/alert_decoder.hpp"
#include "ports/clock.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::app {

class Dashboards {
 public:
  struct Page {
    std::string body;  // JSON array, NINA's dashboard shape
    std::string etag;  // strong, quoted: the SHA-256 of the body (equal in every region)
    size_t alerts = 0;
  };
  struct Stats {
    size_t active = 0;   // alerts on some dashboard now
    size_t pending = 0;  // processed alerts whose content is not readable here yet
    uint64_t applied = 0;
    uint64_t generation = 0;
  };

  Dashboards(ProviderSettings providers, const ports::ProtocolLog& log,
             const ports::AlertArchive& archive, const ports::AlertDecoder& decoder,
             const domain::geo::GeoCatalog& catalog, const domain::geo::GeometryIndex* geometry,
             ports::Clock& clock);

  /// Every region's events, from the log's listener: `received` (the alert's hash) and
  /// `processed` (the alert enters) are noted; the work is Pump's.
  void OnEvent(const domain::pipeline::Event& e);
  /// Rebuilds from the whole log (at start, before serving): every processed alert in log
  /// order, so Updates and Cancels apply as they did the first time.
  void Recover();
  /// Applies the processed alerts noted so far whose content is readable. Returns how many.
  size_t Pump();
  /// Waits until OnEvent noted something or `ms` passed (the dashboard thread's loop).
  void Wait(int64_t ms);
  void Stop();

  /// The dashboard of `key` (12-digit ARS of any level, zero padded); nullopt when the key
  /// names nothing in the geodata.
  std::optional<Page> Get(const std::string& key);
  Stats stats() const;
  /// The compact area keys (CompactArea) of any alert applied here, active or not; empty
  /// when unknown (not processed, or its content not readable here yet).
  std::vector<std::string> AreaKeys(const std::string& alert_id) const;

 private:
  struct Entry {
    std::string id;
    std::string ref_key;                      // sender + "," + identifier
    std::vector<std::string> municipalities;  // sorted 12-digit ARS
    int64_t sent_s = 0;
    int64_t expires_s = 0;
    std::string json;  // the rendered list element
  };
  // Requires mu_.
  bool ApplyLocked(const std::string& alert_id, const std::string& hash,
                   const std::string& provider);
  void ExpireLocked(int64_t now_s);

  ProviderSettings providers_;
  const ports::ProtocolLog& log_;
  const ports::AlertArchive& archive_;
  const ports::AlertDecoder& decoder_;
  const domain::geo::GeoCatalog& catalog_;
  const domain::geo::GeometryIndex* geometry_;
  ports::Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool noted_ = false;
  struct Receipt {
    std::string hash;
    std::string provider;
  };
  std::map<std::string, Receipt> receipts_;  // alert id -> its bytes
  std::vector<std::string> pending_;         // processed, in order, not applied yet
  std::set<std::string> applied_;            // alert ids done with (entered or not)
  std::set<std::string> withdrawn_;          // ref keys an Update superseded or a Cancel removed
  std::map<std::string, Entry> active_;      // by alert id
  std::map<std::string, std::vector<std::string>> areas_;  // alert id -> compact keys
  int64_t next_expiry_s_ = 0;
  uint64_t generation_ = 0;
  uint64_t applied_count_ = 0;
  struct Cached {
    uint64_t generation = 0;
    std::shared_ptr<const Page> page;
  };
  std::map<std::string, Cached> cache_;
};

}  // namespace fanout::app
