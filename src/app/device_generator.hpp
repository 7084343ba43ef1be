#pragma once
// Realistic simulated devices for demos and benchmarks (DESIGN §7.1): ~60 % APNs / 40 % FCM,
// ~30 % mylocation, 1-3 subscribed places (mostly municipalities, some Kreise and Länder)
// spread over the real municipalities, per-provider thresholds. Deterministic per seed.
#include <cstdint>
#include <vector>

#include "domain/device/device.hpp"
#include "domain/geo/catalog.hpp"

namespace fanout::app {

struct GeneratorSettings {
  uint64_t seed = 1;
  double apns_share = 0.6;
  double mylocation_share = 0.3;
  std::vector<std::string> providers = {"AP1", "AP2", "AP3", "AP4"};
};

std::vector<domain::device::Device> GenerateDevices(size_t count,
                                                    const domain::geo::GeoCatalog& catalog,
                                                    const GeneratorSettings& settings,
                                                    size_t first_index = 0);

}  // namespace fanout::app
