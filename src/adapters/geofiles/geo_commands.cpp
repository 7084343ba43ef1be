#include "adapters/geofiles/geo_commands.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "adapters/geofiles/geo_files.hpp"
#include "domain/geo/resolve.hpp"
#include "platform/config/settings.hpp"
#include "platform/text/json_string.hpp"

namespace fanout::adapters::geofiles {
namespace {

namespace geo = domain::geo;
namespace cap = domain::cap;
using platform::AppendJsonString;

void AppendIssues(std::string& out, std::string_view key, const std::vector<cap::Issue>& v) {
  out += ",";
  AppendJsonString(out, key);
  out += ":[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += "{\"code\":";
    AppendJsonString(out, v[i].code);
    out += ",\"message\":";
    AppendJsonString(out, v[i].message);
    out += '}';
  }
  out += ']';
}

bool ParseNumber(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

bool HasGeoData(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir / kMunicipalitiesCsv, ec);
}

}  // namespace

Result<GeoData, Error> LoadGeoData(const std::filesystem::path& geo_dir, bool with_geometry) {
  auto catalog = LoadGeoCatalog(geo_dir);
  if (!catalog) return Fail(std::move(catalog.error()));
  GeoData data{std::move(*catalog), nullptr};
  if (with_geometry) {
    auto index = geos::GeosGeometryIndex::Load(geo_dir, data.catalog);
    if (!index) return Fail(std::move(index.error()));
    data.geometry = std::move(*index);
  }
  return data;
}

std::optional<std::filesystem::path> FindGeoDir(const std::string& explicit_dir,
                                                const std::filesystem::path& executable,
                                                std::string* tried) {
  if (!explicit_dir.empty()) {
    // An explicit choice is not second-guessed.
    if (HasGeoData(explicit_dir)) return std::filesystem::path(explicit_dir);
    if (tried) *tried = explicit_dir;
    return std::nullopt;
  }
  // The one search every command uses ($FANOUT_DATA_DIR, data/ or share/fanout/ above the
  // executable, the installation folder).
  const config::DataDirSearch s =
      config::FindDataDir(std::getenv("FANOUT_DATA_DIR"), executable, config::InstallDataDir());
  if (s.found) return *s.found / "geo";
  if (tried) *tried = s.Tried();
  return std::nullopt;
}

int RunGeoResolve(const std::vector<std::string>& files, const ports::AlertDecoder& decoder,
                  const GeoData& data, bool details, std::ostream& out, std::ostream& err) {
  int rc = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      err << "fanout geo resolve: cannot read " << file << "\n";
      rc = 2;
      continue;
    }
    std::ostringstream body;
    body << in.rdbuf();
    const cap::CheckResult checked = decoder.Decode(body.str());
    if (!checked.alert) {
      err << "fanout geo resolve: " << file << " is not a readable alert";
      if (!checked.errors.empty()) {
        err << " (" << checked.errors.front().code << ": " << checked.errors.front().message << ")";
      }
      err << "\n";
      rc = std::max(rc, 1);
      continue;
    }
    const geo::AreaResolution r =
        geo::ResolveArea(*checked.alert, data.catalog, data.geometry.get());
    std::string line = "{\"region_keys\":[";
    for (std::size_t i = 0; i < r.municipalities.size(); ++i) {
      if (i) line += ',';
      AppendJsonString(line, r.municipalities[i]);
    }
    line += ']';
    if (details) {
      AppendJsonString(line += ",", "file");
      line += ':';
      AppendJsonString(line, file);
      AppendIssues(line, "unresolved", r.unresolved);
      AppendIssues(line, "warnings", r.warnings);
      line += ",\"notes\":[";
      for (std::size_t i = 0; i < r.notes.size(); ++i) {
        if (i) line += ',';
        AppendJsonString(line, r.notes[i]);
      }
      line += ']';
    }
    line += '}';
    out << line << "\n";
    for (const auto& u : r.unresolved) {
      err << file << ": unresolved " << u.code << ": " << u.message << "\n";
    }
  }
  return rc;
}

std::string LocateJson(const GeoData& data, uint32_t municipality) {
  const geo::Municipality& m = data.catalog.municipalities()[municipality];
  std::string out = "{\"ars\":";
  AppendJsonString(out, m.ars);
  out += ",\"name\":";
  AppendJsonString(out, m.name);
  out += ",\"kreis\":";
  AppendJsonString(out, data.catalog.KreisName(std::string_view(m.ars).substr(0, 5)));
  out += ",\"land\":";
  AppendJsonString(out, geo::LandName(m.ars));
  out += '}';
  return out;
}

int RunGeoLocate(double lat, double lon, const GeoData& data, std::ostream& out,
                 std::ostream& err) {
  if (!data.geometry) {
    err << "fanout geo locate: no geometry loaded\n";
    return 2;
  }
  const auto idx = data.geometry->Locate(lat, lon);
  if (!idx) {
    err << "fanout geo locate: " << lat << " " << lon << " is outside every municipality\n";
    return 1;
  }
  out << LocateJson(data, *idx) << "\n";
  return 0;
}

int RunGeoLocateStream(std::istream& in, const GeoData& data, std::ostream& out,
                       std::ostream& err) {
  if (!data.geometry) {
    err << "fanout geo locate: no geometry loaded\n";
    return 2;
  }
  int rc = 0;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    for (char& c : line) {
      if (c == ',' || c == '\t' || c == ';' || c == '\r') c = ' ';
    }
    std::istringstream fields(line);
    std::string a, b, extra;
    double lat = 0, lon = 0;
    if (!(fields >> a)) {
      out << "{}\n";  // keep one output line per input line
      continue;
    }
    if (!(fields >> b) || (fields >> extra) || !ParseNumber(a, lat) || !ParseNumber(b, lon)) {
      err << "fanout geo locate: line " << line_no << " is not 'LAT LON'\n";
      out << "{}\n";
      rc = 2;
      continue;
    }
    const auto idx = data.geometry->Locate(lat, lon);
    out << (idx ? LocateJson(data, *idx) : std::string("{}")) << "\n";
  }
  out.flush();
  return rc;
}

}  // namespace fanout::adapters::geofiles
