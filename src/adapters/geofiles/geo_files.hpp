#pragma once
// Loads the German reference geography (data/geo/) into a domain::geo::GeoCatalog.
// Stateless free functions; safe to call from any thread.
#include <filesystem>
#include <string_view>

#include "domain/common/result.hpp"
#include "domain/geo/catalog.hpp"

namespace fanout::adapters::geofiles {

inline constexpr std::string_view kMunicipalitiesCsv = "de_gemeinden_vg5000_2021.csv";
inline constexpr std::string_view kWarnCellsCsv = "dwd_warncellids.csv";

/// Reads `geo_dir`/de_gemeinden_vg5000_2021.csv and `geo_dir`/dwd_warncellids.csv.
/// Errors: kNotFound naming the missing file; kInvalid naming file, line and problem for a
/// malformed row (a catalog built from half a file would silently under-notify, so any bad
/// row fails the whole load).
[[nodiscard]] Result<domain::geo::GeoCatalog, Error> LoadGeoCatalog(
    const std::filesystem::path& geo_dir);

/// The parsers on their own, for tests and for callers that have the bytes already.
/// `source` names the input in error messages.
[[nodiscard]] Result<std::vector<domain::geo::Municipality>, Error> ParseMunicipalitiesCsv(
    std::string_view text, std::string_view source);
[[nodiscard]] Result<std::vector<domain::geo::WarnCell>, Error> ParseWarnCellsCsv(
    std::string_view text, std::string_view source);

}  // namespace fanout::adapters::geofiles
