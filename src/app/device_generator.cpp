#include "app/device_generator.hpp"

#include <random>

namespace fanout::app {

std::vector<domain::device::Device> GenerateDevices(size_t count,
                                                    const domain::geo::GeoCatalog& catalog,
                                                    const GeneratorSettings& s,
                                                    size_t first_index) {
  std::vector<domain::device::Device> out;
  out.reserve(count);
  auto munis = catalog.municipalities();
  if (munis.empty()) return out;
  // One stream per device index, so a device is the same whatever the batch it is made in.
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr char kFcm[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = first_index; i < first_index + count; ++i) {
    std::mt19937_64 rng(s.seed * 0x9E3779B97F4A7C15ull + i);
    std::uniform_real_distribution<double> u(0, 1);
    domain::device::Device d;
    d.id = "dev-" + std::to_string(i);
    bool apns = u(rng) < s.apns_share;
    d.platform = apns ? domain::device::Platform::kApns : domain::device::Platform::kFcm;
    if (apns) {
      d.token.resize(64);
      for (char& c : d.token) c = kHex[rng() % 16];
    } else {
      // FCM registration tokens look like "<22 chars>:APA91b<130 chars>".
      std::string a(22, ' '), b(130, ' ');
      for (char& c : a) c = kFcm[rng() % 64];
      for (char& c : b) c = kFcm[rng() % 64];
      d.token = a + ":APA91b" + b;
    }
    d.mylocation = u(rng) < s.mylocation_share;
    int places = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < places; ++k) {
      const auto& m = munis[rng() % munis.size()];
      double level = u(rng);
      if (level < 0.80) {
        d.regions.push_back(m.ars);
      } else if (level < 0.95) {
        d.regions.push_back(m.ars.substr(0, 5) + "0000000");  // its Kreis
      } else {
        d.regions.push_back(m.ars.substr(0, 2) + "0000000000");  // its Land
      }
    }
    for (const auto& p : s.providers) {
      // Half keep the default (everything); the rest pick a threshold.
      if (u(rng) < 0.5) d.levels[p] = static_cast<int>(rng() % 5);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace fanout::app
