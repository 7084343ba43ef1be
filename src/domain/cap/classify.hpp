#pragma once
// Severity level, priority and ownership (DESIGN §1).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "domain/cap/alert.hpp"

namespace fanout::domain::cap {

/// Case-insensitive CAP severity; anything unrecognised is kUnknown.
Severity ParseSeverity(std::string_view text);
std::string_view SeverityName(Severity s);
/// Extreme 0, Severe 1, Moderate 2, Minor 3, anything else 4.
int SeverityLevel(Severity s);
/// The most severe of the alert's info blocks (kUnknown when there are none).
Severity AlertSeverity(const Alert& alert);

/// high if the provider is configured high-priority or any info block is Extreme.
Priority ClassifyPriority(const Alert& alert, std::string_view provider,
                          std::span<const std::string> high_priority_providers);
std::string_view PriorityName(Priority p);

/// Owner region of an alert: uint32(last 8 hex digits of the SHA-256 hex) mod regions.
/// A hash shorter than 8 hex digits or with non-hex characters is owned by region 0.
uint32_t OwnerRegion(std::string_view sha256_hex, uint32_t regions);

}  // namespace fanout::domain::cap
