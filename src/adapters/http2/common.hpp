#pragma once
// Small shared types of the HTTP/2 layer: headers, endpoints, host:port parsing.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fanout::adapters::http2 {

using Header = std::pair<std::string, std::string>;  // lowercase name, value
using Headers = std::vector<Header>;

/// First value of `name` (lowercase) or nullptr.
const std::string* FindHeader(const Headers& headers, std::string_view name);

/// "host:port" / "[v6]:port" split; port 0 allowed (ephemeral for listeners).
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
std::optional<HostPort> ParseHostPort(std::string_view s);

/// An endpoint URL: "https://host[:port]" (TLS + ALPN h2) or "http://host[:port]"
/// (cleartext HTTP/2 with prior knowledge, for local tests). A path is not allowed.
struct Endpoint {
  bool tls = true;
  std::string host;
  uint16_t port = 443;
  std::string Authority() const;  // value of :authority
};
std::optional<Endpoint> ParseEndpoint(std::string_view url);

/// A URL with a path ("https://oauth2.googleapis.com/token"); path defaults to "/".
struct Url {
  Endpoint endpoint;
  std::string path;
};
std::optional<Url> ParseUrl(std::string_view url);

/// Retry-After value: delay-seconds or an HTTP-date (relative to `now`); nullopt if
/// unparseable. Negative results clamp to 0.
std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// `s` as a JSON string literal (with quotes).
std::string JsonQuote(std::string_view s);

}  // namespace fanout::adapters::http2
