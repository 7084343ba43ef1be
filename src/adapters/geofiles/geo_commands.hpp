#pragma once
// The work behind `fanout geo resolve|locate` (DESIGN §7.1), kept here so it is unit-tested
// without the binary; apps/fanout/cmd_geo.cpp only parses arguments and wires the decoder.
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/geos/geos_index.hpp"
#include "domain/common/result.hpp"
#include "domain/geo/catalog.hpp"
#include "ports/alert_decoder.hpp"

namespace fanout::adapters::geofiles {

/// Everything the geo commands need: the catalog and (optionally) the geometry index.
struct GeoData {
  domain::geo::GeoCatalog catalog;
  std::unique_ptr<geos::GeosGeometryIndex> geometry;  // null when not loaded
};

/// Loads the catalog and, when `with_geometry`, the GEOS index from `geo_dir`.
[[nodiscard]] Result<GeoData, Error> LoadGeoData(const std::filesystem::path& geo_dir,
                                                 bool with_geometry);

/// Where the geo data lives: `explicit_dir` if non-empty (alone); else `geo/` of the data
/// folder found by config::FindDataDir ($FANOUT_DATA_DIR; `data/` or `share/fanout/` in the
/// executable's folder or above it; the installation folder). Returns nullopt (and what was
/// tried, in `tried`) when none exists.
std::optional<std::filesystem::path> FindGeoDir(const std::string& explicit_dir,
                                                const std::filesystem::path& executable,
                                                std::string* tried);

/// `geo resolve FILE...`: one `{"region_keys":[...]}` line per file (with `details`, also
/// "unresolved", "warnings" and "notes"). Unresolved parts are also listed on `err`.
/// Returns 0 when every file was read, 1 when a file is not a usable alert, 2 on I/O error.
int RunGeoResolve(const std::vector<std::string>& files, const ports::AlertDecoder& decoder,
                  const GeoData& data, bool details, std::ostream& out, std::ostream& err);

/// `{"ars","name","kreis","land"}` for a municipality (kreis and land are names).
std::string LocateJson(const GeoData& data, uint32_t municipality);

/// `geo locate LAT LON`: prints the object and returns 0, or returns 1 when outside.
int RunGeoLocate(double lat, double lon, const GeoData& data, std::ostream& out, std::ostream& err);

/// `geo locate --stdin`: one `LAT LON` (or `LAT,LON`) per line → one object per line, `{}`
/// for a point outside or a malformed line (reported on `err`). Returns 0, or 2 when some
/// line was malformed.
int RunGeoLocateStream(std::istream& in, const GeoData& data, std::ostream& out, std::ostream& err);

}  // namespace fanout::adapters::geofiles
