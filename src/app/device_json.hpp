#pragma once
// The device's JSON form, shared by the HTTP API (DESIGN §7.2: PUT body, GET answer) and the
// `fanout devices` JSON-lines files: {"device_id","platform","token","levels":{provider:
// level},"mylocation","regions":[...]} (docs/devices.md "line format").
#include <string>
#include <string_view>

#include "domain/common/result.hpp"
#include "domain/device/device.hpp"

namespace fanout::app {

/// One line of JSON, no newline; keys in the documented order.
std::string DeviceToJson(const domain::device::Device& d);

/// Parses a PUT body or one JSON line. A non-empty `id` (the URL's) is the device id;
/// otherwise the object's "device_id". Errors: INVALID_JSON (not an object),
/// INVALID_PLATFORM, INVALID_FIELD (missing token/device_id, wrong types). Field values are
/// checked by domain::device::ValidateDevice, not here.
Result<domain::device::Device, domain::cap::Issue> DeviceFromJson(std::string_view text,
                                                                  std::string_view id = {});

}  // namespace fanout::app
