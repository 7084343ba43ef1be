// Fuzz target: a device registration body (PUT /v1/devices/{id}, `devices import` lines)
// and the device rules. Seeds: fuzz/seeds/device_json.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/device_json.hpp"
#include "domain/device/device.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto device = fanout::app::DeviceFromJson(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz-device");
  if (device) {
    auto problems = fanout::domain::device::ValidateDevice(*device, {"AP1", "AP2", "AP3", "AP4"});
    (void)problems;
    auto again = fanout::app::DeviceToJson(*device);
    (void)again;
  }
  return 0;
}
