#include "adapters/http2/common.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "platform/text/json_string.hpp"

namespace fanout::adapters::http2 {

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.first == name) return &h.second;
  }
  return nullptr;
}

std::optional<HostPort> ParseHostPort(std::string_view s) {
  HostPort hp;
  std::string_view port_part;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return std::nullopt;
    }
    hp.host = std::string(s.substr(1, close - 1));
    port_part = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    hp.host = std::string(s.substr(0, colon));
    port_part = s.substr(colon + 1);
  }
  if (hp.host.empty() || port_part.empty()) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port_part.data(), port_part.data() + port_part.size(), v);
  if (ec != std::errc() || p != port_part.data() + port_part.size() || v > 65535) {
    return std::nullopt;
  }
  hp.port = static_cast<uint16_t>(v);
  return hp;
}

std::string Endpoint::Authority() const {
  bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  if ((tls && port == 443) || (!tls && port == 80)) return h;
  return h + ":" + std::to_string(port);
}

std::optional<Endpoint> ParseEndpoint(std::string_view url) {
  Endpoint ep;
  if (url.starts_with("https://")) {
    ep.tls = true;
    ep.port = 443;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    ep.tls = false;
    ep.port = 80;
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty() || url.find('/') != std::string_view::npos) return std::nullopt;
  bool has_port = false;
  if (url.front() == '[') {
    auto close = url.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    has_port = close + 1 < url.size();
  } else {
    has_port = url.find(':') != std::string_view::npos;
  }
  if (has_port) {
    auto hp = ParseHostPort(url);
    if (!hp || hp->port == 0) return std::nullopt;
    ep.host = hp->host;
    ep.port = hp->port;
  } else {
    ep.host = url.front() == '[' ? std::string(url.substr(1, url.size() - 2)) : std::string(url);
  }
  if (ep.host.empty()) return std::nullopt;
  return ep;
}

std::optional<Url> ParseUrl(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  auto slash = url.find('/', scheme_end + 3);
  std::string_view base = slash == std::string_view::npos ? url : url.substr(0, slash);
  auto ep = ParseEndpoint(base);
  if (!ep) return std::nullopt;
  return Url{*ep, slash == std::string_view::npos ? "/" : std::string(url.substr(slash))};
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view v, std::chrono::system_clock::time_point now) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  uint64_t secs = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec == std::errc() && p == v.data() + v.size()) {
    return std::chrono::milliseconds(std::min<uint64_t>(secs, 86400 * 30) * 1000);
  }
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  std::string s(v);
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != 0) return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  return std::max(d, std::chrono::milliseconds(0));
}

std::string JsonQuote(std::string_view s) { return platform::JsonString(s); }

}  // namespace fanout::adapters::http2
