#pragma once
// JSON string literals for code that writes JSON by hand on hot or exact-format paths
// (pushsim responses, `fanout geo` lines, HTTP/2 error bodies). One escaper for the project.
#include <string>
#include <string_view>

namespace fanout::platform {

/// Appends `s` as a quoted JSON string: `"` `\` and control characters escaped (\n \r \t by
/// name, others as \u00XX); other bytes, UTF-8 included, are copied as they are.
void AppendJsonString(std::string& out, std::string_view s);

/// `s` as a quoted JSON string.
std::string JsonString(std::string_view s);

}  // namespace fanout::platform
