// `fanout geo resolve FILE...` and `fanout geo locate LAT LON | --stdin` (DESIGN §7.1).
// The work is in adapters/geofiles/geo_commands.* (unit-tested); this file parses arguments,
// finds the geo data and wires the CAP decoder.
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "adapters/geofiles/geo_commands.hpp"
#include "commands.hpp"
#if __has_include("adapters/capxml/cap_decoder.hpp")
#include "adapters/capxml/cap_decoder.hpp"
#define FANOUT_GEO_HAVE_DECODER 1
#endif

namespace fanout::cli {
namespace {

struct GeoArgs {
  std::string geo_dir;
  std::vector<std::string> files;
  bool details = false;
  bool no_geometry = false;
  std::vector<std::string> coords;
  bool from_stdin = false;
};

std::filesystem::path Executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : p;
}

/// Loads the geo data or prints why not; nullopt → the caller exits 2.
std::optional<adapters::geofiles::GeoData> Load(const GeoArgs& args, bool with_geometry) {
  std::string tried;
  const auto dir = adapters::geofiles::FindGeoDir(args.geo_dir, Executable(), &tried);
  if (!dir) {
    std::cerr << "fanout geo: no geo data found (tried " << tried
              << "); pass --geo-dir DIR or set FANOUT_DATA_DIR to the data folder\n";
    return std::nullopt;
  }
  auto data = adapters::geofiles::LoadGeoData(*dir, with_geometry);
  if (!data) {
    std::cerr << "fanout geo: " << data.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*data);
}

bool ParseCoord(std::string s, double& v) {
  if (!s.empty() && s.back() == ',') s.pop_back();
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

}  // namespace

void RegisterGeoCommands(CLI::App& app) {
  CLI::App* geo = app.add_subcommand("geo", "German geography: alert areas and positions");
  geo->require_subcommand(1);
  auto args = std::make_shared<GeoArgs>();
  const std::string dir_help =
      "geo data directory (default: geo/ of $FANOUT_DATA_DIR, else of the data/ or "
      "share/fanout/ folder above the binary, else of the installation's share/fanout)";

  CLI::App* resolve = geo->add_subcommand(
      "resolve",
      "Print {\"region_keys\":[...]}: the sorted 12-digit municipality keys an alert's area "
      "covers (one line per file). Exit 0 ok, 1 a file is not a usable alert, 2 usage/IO");
  resolve->add_option("files", args->files, "CAP XML or NINA JSON files")->required();
  resolve->add_option("--geo-dir", args->geo_dir, dir_help);
  resolve->add_flag("--details", args->details,
                    "also print unresolved parts, geometry warnings and resolution notes");
  resolve->add_flag("--no-geometry", args->no_geometry,
                    "skip polygons/circles (warn cells and region keys only; faster start)");
  resolve->callback([args]() {
#ifdef FANOUT_GEO_HAVE_DECODER
    auto data = Load(*args, !args->no_geometry);
    if (!data) {
      ExitCode() = 2;
      return;
    }
    const adapters::capxml::CapDecoder decoder;
    ExitCode() = adapters::geofiles::RunGeoResolve(args->files, decoder, *data, args->details,
                                                   std::cout, std::cerr);
#else
    std::cerr << "fanout geo resolve: this build has no CAP decoder (adapters/capxml)\n";
    ExitCode() = 2;
#endif
  });

  CLI::App* locate = geo->add_subcommand(
      "locate",
      "Print {\"ars\",\"name\",\"kreis\",\"land\"} for a WGS84 position (exit 1 outside "
      "Germany); with --stdin one 'LAT LON' per line, one object per line ({} outside)");
  locate->add_option("coords", args->coords, "LAT LON");
  locate->add_flag("--stdin", args->from_stdin, "read 'LAT LON' lines from standard input");
  locate->add_option("--geo-dir", args->geo_dir, dir_help);
  locate->callback([args]() {
    double lat = 0, lon = 0;
    if (args->from_stdin == !args->coords.empty() ||
        (!args->from_stdin && (args->coords.size() != 2 || !ParseCoord(args->coords[0], lat) ||
                               !ParseCoord(args->coords[1], lon)))) {
      std::cerr << "fanout geo locate: give LAT LON (decimal degrees) or --stdin\n";
      ExitCode() = 2;
      return;
    }
    auto data = Load(*args, true);
    if (!data) {
      ExitCode() = 2;
      return;
    }
    ExitCode() = args->from_stdin
                     ? adapters::geofiles::RunGeoLocateStream(std::cin, *data, std::cout, std::cerr)
                     : adapters::geofiles::RunGeoLocate(lat, lon, *data, std::cout, std::cerr);
  });
}

}  // namespace fanout::cli
