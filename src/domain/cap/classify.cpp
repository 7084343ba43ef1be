#include "domain/cap/classify.hpp"

#include <algorithm>
#include <cctype>

namespace fanout::domain::cap {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Severity ParseSeverity(std::string_view text) {
  // Real feeds pad values with whitespace; the enum itself is case-sensitive in the XSD,
  // but the classification (which decides who gets woken up) must not depend on case.
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (IEquals(text, "Extreme")) return Severity::kExtreme;
  if (IEquals(text, "Severe")) return Severity::kSevere;
  if (IEquals(text, "Moderate")) return Severity::kModerate;
  if (IEquals(text, "Minor")) return Severity::kMinor;
  return Severity::kUnknown;
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kExtreme:
      return "Extreme";
    case Severity::kSevere:
      return "Severe";
    case Severity::kModerate:
      return "Moderate";
    case Severity::kMinor:
      return "Minor";
    case Severity::kUnknown:
      return "Unknown";
  }
  return "Unknown";
}

int SeverityLevel(Severity s) {
  switch (s) {
    case Severity::kExtreme:
      return 0;
    case Severity::kSevere:
      return 1;
    case Severity::kModerate:
      return 2;
    case Severity::kMinor:
      return 3;
    case Severity::kUnknown:
      return 4;
  }
  return 4;
}

Severity AlertSeverity(const Alert& alert) {
  Severity best = Severity::kUnknown;
  for (const Info& info : alert.infos) {
    Severity s = ParseSeverity(info.severity);
    if (SeverityLevel(s) < SeverityLevel(best)) best = s;
  }
  return best;
}

Priority ClassifyPriority(const Alert& alert, std::string_view provider,
                          std::span<const std::string> high_priority_providers) {
  for (const std::string& p : high_priority_providers) {
    if (p == provider) return Priority::kHigh;
  }
  return AlertSeverity(alert) == Severity::kExtreme ? Priority::kHigh : Priority::kRegular;
}

std::string_view PriorityName(Priority p) { return p == Priority::kHigh ? "high" : "regular"; }

uint32_t OwnerRegion(std::string_view sha256_hex, uint32_t regions) {
  if (regions == 0) return 0;
  if (sha256_hex.size() < 8) return 0;
  uint32_t v = 0;
  for (char c : sha256_hex.substr(sha256_hex.size() - 8)) {
    uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return 0;
    }
    v = (v << 4) | d;
  }
  return v % regions;
}

}  // namespace fanout::domain::cap
