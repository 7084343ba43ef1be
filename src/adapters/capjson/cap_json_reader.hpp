#pragma once
// Reader for the German NINA / warnung.bund.de JSON rendering of CAP 1.2 (anchors-cap §2.3):
// CAP element names as keys, arrays for repeated elements, strings for everything else.
// Polygons are `lon,lat` in this rendering and are converted to CAP `lat,lon`; `-1.0,-1.0`
// filler pairs are dropped with a warning. There is no schema for this JSON, so `valid` means
// "passes the CAP 1.2 spec rules" (domain::cap::Validate) — see docs/cap.md.
// Immutable after construction; Read() is thread-safe (one simdjson parser per thread).
#include <string_view>

#include "domain/cap/alert.hpp"
#include "domain/cap/validate.hpp"

namespace fanout::adapters::capjson {

struct CapJsonReaderSettings {
  domain::cap::DecodeLimits limits;
  /// NINA JSON polygons are `lon,lat`; set false for a producer that writes CAP order.
  bool polygons_lon_lat = true;
};

class CapJsonReader {
 public:
  explicit CapJsonReader(CapJsonReaderSettings settings = {}) : settings_(settings) {}

  domain::cap::CheckResult Read(std::string_view body) const;

  const CapJsonReaderSettings& settings() const { return settings_; }

 private:
  CapJsonReaderSettings settings_;
};

}  // namespace fanout::adapters::capjson
