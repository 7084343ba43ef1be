// Geo benchmarks: loading the reference data, key expansion, warn-cell and geometric area
// resolution, point location. Run from a Release tree:
//   build/<rel>/bench/geo/fanout_geo_bench --benchmark_min_time=0.2 --benchmark_repetitions=5
// (Google Benchmark 1.7: min_time is a plain number of seconds.) Results are recorded in
// BENCHMARKS.md ("Geography") and summarised in docs/geo.md ("Measured").
#include <benchmark/benchmark.h>
#include <geos_c.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "adapters/geofiles/geo_files.hpp"
#include "adapters/geos/geojson.hpp"
#include "adapters/geos/geos_index.hpp"
#include "adapters/geos/overlap.hpp"
#include "domain/geo/resolve.hpp"

namespace {

namespace geo = fanout::domain::geo;
namespace cap = fanout::domain::cap;
using fanout::adapters::geos::GeosGeometryIndex;

const std::filesystem::path kData = FANOUT_DATA_DIR;

struct World {
  geo::GeoCatalog catalog;
  std::unique_ptr<GeosGeometryIndex> index;
  std::unique_ptr<GeosGeometryIndex> plain;  // no artefact filter
};

const World& W() {
  static const World* w = [] {
    auto c = fanout::adapters::geofiles::LoadGeoCatalog(kData / "geo");
    if (!c) throw std::runtime_error(c.error().message);
    auto* world = new World{std::move(*c), nullptr, nullptr};
    world->index = std::move(*GeosGeometryIndex::Load(kData / "geo", world->catalog));
    world->plain = std::move(*GeosGeometryIndex::Load(
        kData / "geo", world->catalog, {.min_overlap_m2 = 0, .min_overlap_width_m = 0}));
    return world;
  }();
  return *w;
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Between(std::string_view text, std::string_view open,
                                 std::string_view close) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = text.find(open, pos)) != std::string_view::npos) {
    const std::size_t start = pos + open.size();
    const std::size_t end = text.find(close, start);
    if (end == std::string_view::npos) break;
    out.emplace_back(text.substr(start, end - start));
    pos = end + close.size();
  }
  return out;
}

// The largest DWD sample (8 languages x 168 warn cells + 8 polygons) as an Alert.
cap::Alert DwdSample(bool polygons, bool cells) {
  const std::string xml = Slurp(kData / "cap/dwd" /
                                "2.49.0.0.276.0.DWD.PVW.1687470000000.fe90b61b-3755-4efb-8eda-"
                                "b161251da9f7.MUL.xml");
  cap::Alert alert;
  for (const std::string& body : Between(xml, "<info>", "</info>")) {
    cap::Info info;
    for (const std::string& ab : Between(body, "<area>", "</area>")) {
      cap::Area area;
      if (polygons) area.polygons = Between(ab, "<polygon>", "</polygon>");
      for (const std::string& g : Between(ab, "<geocode>", "</geocode>")) {
        const auto name = Between(g, "<valueName>", "</valueName>");
        const auto value = Between(g, "<value>", "</value>");
        if (cells && name.size() == 1 && value.size() == 1) {
          area.geocodes.push_back({name[0], value[0]});
        }
      }
      if (!area.polygons.empty() || !area.geocodes.empty()) info.areas.push_back(area);
    }
    alert.infos.push_back(info);
  }
  return alert;
}

void BM_LoadCatalogCsv(benchmark::State& state) {
  for (auto _ : state) {
    auto c = fanout::adapters::geofiles::LoadGeoCatalog(kData / "geo");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_LoadCatalogCsv)->Unit(benchmark::kMillisecond);

void BM_LoadGeosIndex(benchmark::State& state) {
  const auto& catalog = W().catalog;
  for (auto _ : state) {
    auto idx = GeosGeometryIndex::Load(kData / "geo", catalog);
    benchmark::DoNotOptimize(idx);
  }
}
BENCHMARK(BM_LoadGeosIndex)->Unit(benchmark::kMillisecond);

void BM_ExpandLand(benchmark::State& state) {
  const auto& c = W().catalog;
  for (auto _ : state) benchmark::DoNotOptimize(c.Expand("090000000000"));  // Bayern, 2,230
}
BENCHMARK(BM_ExpandLand);

void BM_ResolveNationwideNina(benchmark::State& state) {
  const auto& c = W().catalog;
  cap::Alert a;
  a.infos.resize(1);
  a.infos[0].parameters = {
      {"warnVerwaltungsbereiche",
       "130000000000,140000000000,160000000000,110000000000,020000000000,070000000000,"
       "030000000000,050000000000,080000000000,120000000000,010000000000,150000000000,"
       "040000000000,060000000000,090000000000,100000000000"}};
  for (auto _ : state) benchmark::DoNotOptimize(geo::ResolveArea(a, c));
}
BENCHMARK(BM_ResolveNationwideNina)->Unit(benchmark::kMicrosecond);

void BM_ResolveDwdWarnCells(benchmark::State& state) {
  const auto& c = W().catalog;
  const cap::Alert a = DwdSample(false, true);  // 1,344 WARNCELLID geocodes
  for (auto _ : state) benchmark::DoNotOptimize(geo::ResolveArea(a, c));
}
BENCHMARK(BM_ResolveDwdWarnCells)->Unit(benchmark::kMicrosecond);

void BM_ResolveDwdPolygons(benchmark::State& state) {
  const auto& w = W();
  const cap::Alert a = DwdSample(true, false);
  const GeosGeometryIndex* idx = state.range(0) ? w.index.get() : w.plain.get();
  for (auto _ : state) benchmark::DoNotOptimize(geo::ResolveArea(a, w.catalog, idx));
}
BENCHMARK(BM_ResolveDwdPolygons)
    ->Arg(1)
    ->Arg(0)
    ->ArgName("sliver_filter")
    ->Unit(benchmark::kMillisecond);

void BM_LocateLabelPoints(benchmark::State& state) {
  const auto& w = W();
  const auto ms = w.catalog.municipalities();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& m = ms[i];
    benchmark::DoNotOptimize(w.index->Locate(m.label_lat, m.label_lon));
    i = (i + 7919) % ms.size();
  }
}
BENCHMARK(BM_LocateLabelPoints);

void BM_IntersectCircle(benchmark::State& state) {
  const auto& w = W();
  const auto* koeln = w.catalog.FindMunicipality("053150000000");
  geo::AreaShape shape;
  shape.polygons = {geo::CircleToRing(
      {{koeln->label_lat, koeln->label_lon}, static_cast<double>(state.range(0))})};
  for (auto _ : state) benchmark::DoNotOptimize(w.index->Intersect(shape));
}
BENCHMARK(BM_IntersectCircle)
    ->Arg(1)
    ->Arg(20)
    ->Arg(100)
    ->ArgName("radius_km")
    ->Unit(benchmark::kMicrosecond);

void BM_IntersectKreisPolygon(benchmark::State& state) {
  const auto& w = W();
  auto kreise =
      fanout::adapters::geos::ReadGeoJsonFeatures(kData / "geo/de_kreise_vg5000_2021.geojson");
  geo::AreaShape shape;
  for (const auto& k : *kreise) {
    if (k.properties.at("ARS") == "07232") shape.wkt = {fanout::adapters::geos::ToWkt(k)};
  }
  for (auto _ : state) benchmark::DoNotOptimize(w.index->Intersect(shape));
}
BENCHMARK(BM_IntersectKreisPolygon)->Unit(benchmark::kMillisecond);

// A Land outline (Hessen, 581 municipalities touched, 426 with the rule): the case where the
// rule must prove ~150 border neighbours to be artefacts.
void BM_IntersectLandPolygon(benchmark::State& state) {
  const auto& w = W();
  auto laender =
      fanout::adapters::geos::ReadGeoJsonFeatures(kData / "geo/de_laender_vg5000_2021.geojson");
  geo::AreaShape shape;
  for (const auto& l : *laender) {
    if (l.properties.at("ARS") == "06") shape.wkt = {fanout::adapters::geos::ToWkt(l)};
  }
  const GeosGeometryIndex* idx = state.range(0) ? w.index.get() : w.plain.get();
  for (auto _ : state) benchmark::DoNotOptimize(idx->Intersect(shape));
}
BENCHMARK(BM_IntersectLandPolygon)->Arg(1)->Arg(0)->ArgName("rule")->Unit(benchmark::kMillisecond);

// One border neighbour's overlap with a Land outline, the rule's unit of work: every
// municipality Hessen's outline crosses (its box overlaps, the overlap is neither nothing nor
// all of it), measured by the boundary walk (MeasureOverlap, arg 1) or by a GEOS overlay of
// the two polygons (arg 0: what every neighbour cost before ADR 0009, one overlay each).
// Time per neighbour (items/s).
void BM_BorderNeighbourOverlap(benchmark::State& state) {
  namespace g = fanout::adapters::geos;
  auto laender = g::ReadGeoJsonFeatures(kData / "geo/de_laender_vg5000_2021.geojson");
  auto munis = g::ReadGeoJsonFeatures(kData / "geo/de_gemeinden_vg5000_2021.geojson");
  GEOSContextHandle_t ctx = GEOS_init_r();
  GEOSWKTReader* reader = GEOSWKTReader_create_r(ctx);
  auto rings = [](const g::GeoJsonFeature& f) {
    g::PlanarRings r;
    for (const auto& polygon : f.polygons) {
      for (std::size_t i = 0; i < polygon.size(); ++i) {
        r.AddRing(polygon[i].data(), polygon[i].size() / 2, i > 0);
      }
    }
    return r;
  };
  const g::GeoJsonFeature* hessen = nullptr;
  for (const auto& l : *laender) {
    if (l.properties.at("ARS") == "06") hessen = &l;
  }
  g::PlanarRings shape = rings(*hessen);
  shape.BuildIndex();
  GEOSGeometry* shape_geom = GEOSWKTReader_read_r(ctx, reader, g::ToWkt(*hessen).c_str());
  std::vector<g::PlanarRings> parts;
  std::vector<GEOSGeometry*> part_geoms;
  for (const auto& m : *munis) {
    g::PlanarRings part = rings(m);
    const auto e = part.Clean() ? g::MeasureOverlap(shape, part) : std::nullopt;
    if (!e || e->area_m2 <= 0) continue;
    g::PlanarRings alone = rings(m);  // the overlap of the part with itself: all of it
    const auto all = g::MeasureOverlap(alone, part);
    if (all && e->area_m2 >= 0.999 * all->area_m2) continue;
    parts.push_back(std::move(part));
    part_geoms.push_back(GEOSWKTReader_read_r(ctx, reader, g::ToWkt(m).c_str()));
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (state.range(0)) {
        benchmark::DoNotOptimize(g::MeasureOverlap(shape, parts[i]));
      } else {
        GEOSGeometry* inter = GEOSIntersection_r(ctx, part_geoms[i], shape_geom);
        double area = 0;
        GEOSArea_r(ctx, inter, &area);
        benchmark::DoNotOptimize(area);
        GEOSGeom_destroy_r(ctx, inter);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(parts.size()));
  state.counters["neighbours"] = static_cast<double>(parts.size());
  for (GEOSGeometry* p : part_geoms) GEOSGeom_destroy_r(ctx, p);
  GEOSGeom_destroy_r(ctx, shape_geom);
  GEOSWKTReader_destroy_r(ctx, reader);
  GEOS_finish_r(ctx);
}
BENCHMARK(BM_BorderNeighbourOverlap)
    ->Arg(1)
    ->Arg(0)
    ->ArgName("walk")
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
