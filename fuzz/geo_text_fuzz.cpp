// Fuzz target: the text of CAP areas — <polygon>, <circle>, region keys (ARS/SHN), DWD warn
// cell ids — and WKT through the GEOS index on the real municipalities. The first byte picks
// the parser. Seeds: fuzz/seeds/geo_text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/geofiles/geo_files.hpp"
#include "adapters/geos/geos_index.hpp"
#include "domain/geo/catalog.hpp"
#include "domain/geo/geometry.hpp"

namespace {

struct Geo {
  std::unique_ptr<fanout::domain::geo::GeoCatalog> catalog;
  std::unique_ptr<fanout::adapters::geos::GeosGeometryIndex> index;
};

const Geo& LoadGeo() {
  static const Geo geo = [] {
    Geo g;
    const char* dir = std::getenv("FANOUT_FUZZ_GEO_DIR");
    std::string geo_dir = dir != nullptr ? dir : FANOUT_FUZZ_GEO_DIR;
    auto catalog = fanout::adapters::geofiles::LoadGeoCatalog(geo_dir);
    if (!catalog) std::abort();
    g.catalog = std::make_unique<fanout::domain::geo::GeoCatalog>(std::move(*catalog));
    auto index = fanout::adapters::geos::GeosGeometryIndex::Load(geo_dir, *g.catalog);
    if (!index) std::abort();
    g.index = std::move(*index);
    return g;
  }();
  return geo;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace geo = fanout::domain::geo;
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto ring = geo::ParseCapPolygon(text);
      if (ring.value) {
        geo::AreaShape area;
        area.polygons.push_back(*ring.value);
        auto hit = LoadGeo().index->Intersect(area);
        (void)hit;
      }
      break;
    }
    case 1: {
      auto circle = geo::ParseCapCircle(text);
      if (circle.value && circle.value->radius_km > 0 && circle.value->radius_km < 2000) {
        auto ring = geo::CircleToRing(*circle.value);
        (void)ring;
      }
      break;
    }
    case 2: {
      if (geo::IsRegionKey(text)) {
        auto level = geo::LevelOf(text);
        auto prefix = geo::SignificantPrefix(text);
        (void)level;
        (void)prefix;
      }
      auto key = geo::NormaliseKey(text);
      if (key) {
        auto kreis = geo::KreisKeyOf(*key);
        auto land = geo::LandKeyOf(*key);
        (void)kreis;
        (void)land;
      }
      break;
    }
    case 3: {
      auto type = geo::WarnCellTypeOf(text);
      auto cell = LoadGeo().catalog->FindWarnCell(text);
      (void)type;
      (void)cell;
      break;
    }
    default: {
      geo::AreaShape area;
      area.wkt.emplace_back(text);
      auto hit = LoadGeo().index->Intersect(area);
      (void)hit;
      break;
    }
  }
  return 0;
}
