#pragma once
// Stable text encodings of protocol events and plans (JSON objects), for durable stores and
// for the streams that replicate them between regions. Decoding rejects malformed input
// (nullopt) instead of guessing; unknown fields are ignored so newer writers stay readable.
#include <optional>
#include <string>
#include <string_view>

#include "domain/pipeline/events.hpp"
#include "domain/pipeline/plan.hpp"

namespace fanout::domain::pipeline {

std::string EncodeEvent(const Event& e);
std::optional<Event> DecodeEvent(std::string_view s);

std::string EncodePlan(const AlertPlan& p);
std::optional<AlertPlan> DecodePlan(std::string_view s);

}  // namespace fanout::domain::pipeline
