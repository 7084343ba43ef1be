#pragma once
// The demo's independent expectation: which sample alerts must end delivered, skipped or
// quarantined, and which devices must get each one. A second, deliberately simple
// implementation of the documented rules (DESIGN §3-§4, docs/geo.md) that shares only the
// parsed CAP document and the reference data (municipality list) with the pipeline — never
// its area resolution, plans, device index or selection — so a bug there cannot hide
// behind an expectation computed by the same code (issue 9). Key prefixes, severity levels
// and the device rule are therefore restated here on purpose, not called from domain/.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "domain/cap/alert.hpp"
#include "domain/device/device.hpp"
#include "domain/geo/catalog.hpp"

namespace fanout::cli {

struct ExpectedAlert {
  std::string id;
  std::string provider;
  std::string status;  // "done", "skipped" or "quarantined"
  std::string why;     // one line for the printout
  int level = 4;
  std::set<std::string> municipalities;  // 12-digit ARS
  /// The area came (partly) from polygons/circles without codes in the same <area>: the
  /// reference then knows only the municipalities whose label point lies inside (a lower
  /// bound; the exact geometric rule is checked by the PostGIS oracle suite), so extra
  /// deliveries in such an alert are not counted as unexpected.
  bool lower_bound = false;
};

class DemoExpectation {
 public:
  explicit DemoExpectation(const domain::geo::GeoCatalog& catalog);

  /// The expectation for one document as the decoder read it, given the alerts sent before
  /// it (an Update/Cancel is pushed to the union with the alert it references, DESIGN §2).
  ExpectedAlert Expect(const domain::cap::CheckResult& check, const std::string& provider,
                       const std::map<std::string, int>& providers_allowed_non_actual = {});
  /// Remembers `e` so later Updates/Cancels can reference it.
  void Record(const ExpectedAlert& e) { sent_[e.id] = e; }

  /// DESIGN §4, re-stated: the level is within the device's threshold for the provider and
  /// the device uses `mylocation` or subscribes a key covering one of the municipalities.
  static bool Receives(const domain::device::Device& d, const ExpectedAlert& a,
                       const std::map<std::string, int>& default_levels);

 private:
  void Area(const domain::cap::Info& info, ExpectedAlert& out, bool& unresolvable) const;
  void Keys(const std::string& list, ExpectedAlert& out) const;
  void LabelPointsIn(const std::vector<std::pair<double, double>>& ring, ExpectedAlert& out) const;
  void LabelPointsNear(double lat, double lon, double radius_km, ExpectedAlert& out) const;

  const domain::geo::GeoCatalog& catalog_;
  std::map<std::string, std::string> ars_by_ags_;
  std::map<std::string, ExpectedAlert> sent_;
};

}  // namespace fanout::cli
