#pragma once
// `fanout cap check` (DESIGN §7.1) as a library function, so it is testable without the
// binary: one JSON object per file per line; returns the process exit code.
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "domain/cap/alert.hpp"

namespace fanout::adapters::capxml {

struct CapCheckOptions {
  std::string provider;  // for `priority`; empty = none
  std::vector<std::string> high_priority_providers{"AP1"};
};

/// The §7.1 report object of one decoded document (keys in the documented order). When no
/// alert could be read, the alert fields are null and the lists empty.
nlohmann::ordered_json CheckReportJson(std::string_view file,
                                       const domain::cap::CheckResult& result,
                                       const CapCheckOptions& options);

/// Decodes every file and writes one line per file to `out`. Returns 0 if all are valid,
/// 1 if any is invalid, 2 if any file could not be read (that file's line has IO_ERROR).
int RunCapCheck(const std::vector<std::string>& files, const CapCheckOptions& options,
                std::ostream& out);

}  // namespace fanout::adapters::capxml
