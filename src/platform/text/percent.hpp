#pragma once
// Percent-encoding (RFC 3986): URL path segments and application/x-www-form-urlencoded
// values (the OAuth token request). One encoder for the project.
#include <string>
#include <string_view>

namespace fanout::platform {

/// `s` with every byte outside the unreserved set (ALPHA DIGIT - . _ ~) as %XX (uppercase).
std::string PercentEncode(std::string_view s);

}  // namespace fanout::platform
