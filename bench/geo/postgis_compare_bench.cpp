// Side-by-side benchmark: our GEOS index (GeosGeometryIndex) versus PostGIS ST_Intersects on
// the same municipality polygons, the same query shapes (identical WKT text on both sides) and
// the same points, in one process, interleaved round by round so machine noise hits both
// sides alike. Driven by bench/geo/postgis_compare.sh, which starts a throwaway PostgreSQL
// cluster and loads `gemeinden(ars, gen, geom)` with a GiST index.
//
//   fanout_geo_postgis_compare --data DIR --conninfo "host=... port=... user=postgres"
//                              [--runs 20] [--out DIR]
//
// Prints markdown tables (medians over --runs) and, per check, whether both sides return the
// same municipality sets; writes the sets and PostGIS query plans to --out. Exit 0 when all
// sets agree, 3 when some differ (differences are listed), 2 on usage/setup errors.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/geofiles/geo_files.hpp"
#include "adapters/geos/geojson.hpp"
#include "adapters/geos/geos_index.hpp"
#include "domain/geo/geometry.hpp"

namespace {

namespace geo = fanout::domain::geo;
namespace gs = fanout::adapters::geos;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "postgis_compare: " << msg << "\n";
  std::exit(2);
}

// --- a minimal libpq wrapper -----------------------------------------------------------
struct PgResult {
  PGresult* r = nullptr;
  explicit PgResult(PGresult* res) : r(res) {}
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult() { PQclear(r); }
};

class Pg {
 public:
  explicit Pg(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) Die(std::string("connect: ") + PQerrorMessage(c_));
  }
  ~Pg() { PQfinish(c_); }
  Pg(const Pg&) = delete;
  Pg& operator=(const Pg&) = delete;

  void Exec(const std::string& sql) {
    PgResult r(PQexec(c_, sql.c_str()));
    const auto st = PQresultStatus(r.r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) Die(sql + ": " + PQerrorMessage(c_));
  }
  std::vector<std::string> Column(const std::string& sql) {
    PgResult r(PQexec(c_, sql.c_str()));
    return Rows(r, sql);
  }
  void Prepare(const std::string& name, const std::string& sql, int nparams) {
    PgResult r(PQprepare(c_, name.c_str(), sql.c_str(), nparams, nullptr));
    if (PQresultStatus(r.r) != PGRES_COMMAND_OK) Die(sql + ": " + PQerrorMessage(c_));
  }
  /// Executes a prepared statement; returns column 0 of every row ("" for NULL).
  std::vector<std::string> Run(const std::string& name, const std::vector<std::string>& params) {
    std::vector<const char*> p;
    for (const auto& s : params) p.push_back(s.c_str());
    PgResult r(PQexecPrepared(c_, name.c_str(), static_cast<int>(p.size()), p.data(), nullptr,
                              nullptr, 0));
    return Rows(r, name);
  }

 private:
  std::vector<std::string> Rows(const PgResult& r, const std::string& what) {
    if (PQresultStatus(r.r) != PGRES_TUPLES_OK) Die(what + ": " + PQerrorMessage(c_));
    std::vector<std::string> out;
    const int n = PQntuples(r.r);
    out.reserve(n);
    for (int i = 0; i < n; ++i) out.emplace_back(PQgetvalue(r.r, i, 0));
    return out;
  }
  PGconn* c_;
};

// --- shapes and points -------------------------------------------------------------------
struct Shape {
  std::string name;
  std::string wkt;  // lon lat, SRID 4326; the same text goes to both sides
  std::size_t vertices = 0;
};

std::size_t CountVertices(const gs::GeoJsonFeature& f) {
  std::size_t n = 0;
  for (const auto& p : f.polygons)
    for (const auto& r : p) n += r.size() / 2;
  return n;
}

Shape FromFeature(const std::filesystem::path& file, const std::string& ars,
                  const std::string& gen_prefix, const std::string& label) {
  auto features = gs::ReadGeoJsonFeatures(file);
  if (!features) Die(features.error().message);
  for (const auto& f : *features) {
    auto a = f.properties.find("ARS");
    auto g = f.properties.find("GEN");
    if (a == f.properties.end() || a->second != ars) continue;
    // The Länder file repeats an ARS for water parts ("Bayern (Bodensee)"); take the exact name.
    if (!gen_prefix.empty() && (g == f.properties.end() || g->second != gen_prefix)) continue;
    return {label, gs::ToWkt(f), CountVertices(f)};
  }
  Die("no feature " + ars + " in " + file.string());
}

Shape CircleShape(double lat, double lon, double radius_km, const std::string& label) {
  const geo::Ring ring = geo::CircleToRing({{lat, lon}, radius_km});
  std::ostringstream w;
  w.precision(10);
  w << "POLYGON((";
  for (std::size_t i = 0; i < ring.size(); ++i)
    w << (i ? "," : "") << ring[i].lon << ' ' << ring[i].lat;
  w << "))";
  return {label, w.str(), ring.size()};
}

struct Point {
  double lat, lon;
};

std::string ArrayLiteral(const std::vector<Point>& pts, bool lat) {
  std::ostringstream s;
  s.precision(10);
  s << '{';
  for (std::size_t i = 0; i < pts.size(); ++i)
    s << (i ? "," : "") << (lat ? pts[i].lat : pts[i].lon);
  s << '}';
  return s.str();
}

std::string Join(const std::vector<std::string>& v, std::size_t limit = 20) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < limit; ++i) out += (i ? " " : "") + v[i];
  if (v.size() > limit) out += " …(" + std::to_string(v.size()) + ")";
  return out;
}

std::vector<std::string> Minus(const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

void WriteLines(const std::filesystem::path& p, const std::vector<std::string>& lines) {
  std::ofstream o(p);
  for (const auto& l : lines) o << l << "\n";
}

/// "Execution Time: 1.234 ms" from EXPLAIN ANALYZE output.
double ExecutionMs(const std::vector<std::string>& plan) {
  for (const auto& line : plan) {
    const auto pos = line.find("Execution Time: ");
    if (pos != std::string::npos) return std::atof(line.c_str() + pos + 16);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path data;
  std::string conninfo;
  int runs = 20;
  std::filesystem::path out_dir = "postgis_compare_out";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--data")
      data = argv[i + 1];
    else if (k == "--conninfo")
      conninfo = argv[i + 1];
    else if (k == "--runs")
      runs = std::max(1, std::atoi(argv[i + 1]));
    else if (k == "--out")
      out_dir = argv[i + 1];
    else
      Die("unknown option " + k);
  }
  if (data.empty() || conninfo.empty())
    Die("usage: --data DIR --conninfo STR [--runs N] [--out DIR]");
  std::filesystem::create_directories(out_dir);

  // --- our side ---------------------------------------------------------------------------
  auto cat = fanout::adapters::geofiles::LoadGeoCatalog(data / "geo");
  if (!cat) Die(cat.error().message);
  const geo::GeoCatalog& catalog = *cat;
  auto plain_r = gs::GeosGeometryIndex::Load(data / "geo", catalog,
                                             {.min_overlap_m2 = 0, .min_overlap_width_m = 0});
  auto sliver_r = gs::GeosGeometryIndex::Load(data / "geo", catalog);
  if (!plain_r || !sliver_r) Die("cannot load the GEOS index");
  const gs::GeosGeometryIndex& plain = **plain_r;
  const gs::GeosGeometryIndex& sliver = **sliver_r;
  const auto ms = catalog.municipalities();

  auto ours_resolve = [&](const gs::GeosGeometryIndex& idx, const Shape& s) {
    geo::AreaShape a;
    a.wkt = {s.wkt};
    const geo::GeometryHit hit = idx.Intersect(a);
    std::vector<std::string> keys;
    keys.reserve(hit.municipalities.size());
    for (uint32_t m : hit.municipalities) keys.push_back(ms[m].ars);
    std::sort(keys.begin(), keys.end());
    return keys;
  };

  // Same shapes on both sides. Municipality: Münster (a kreisfreie Stadt, 303 km²); Kreis:
  // Eifelkreis Bitburg-Prüm (234 municipalities, as in fanout_geo_bench); Länder: Hessen and
  // Bayern land parts; circle: 50 km around Köln's label point as our 64-gon.
  const auto* koeln = catalog.FindMunicipality("053150000000");
  std::vector<Shape> shapes = {
      FromFeature(data / "geo/de_gemeinden_vg5000_2021.geojson", "055150000000", "",
                  "municipality: Münster"),
      FromFeature(data / "geo/de_kreise_vg5000_2021.geojson", "07232", "",
                  "Kreis: Eifelkreis Bitburg-Prüm"),
      FromFeature(data / "geo/de_laender_vg5000_2021.geojson", "06", "Hessen", "Land: Hessen"),
      FromFeature(data / "geo/de_laender_vg5000_2021.geojson", "09", "Bayern", "Land: Bayern"),
      CircleShape(koeln->label_lat, koeln->label_lon, 50, "circle 50 km around Köln"),
  };
  for (const auto& s : shapes) {
    std::ofstream(out_dir / ("shape_" + std::to_string(&s - shapes.data()) + ".wkt"))
        << s.wkt << "\n";
  }

  // Points: every municipality's label point (always inside its own polygon) and 10,000
  // uniform random points in Germany's bounding box (fixed seed; some fall outside).
  std::vector<Point> labels;
  for (const auto& m : ms) labels.push_back({m.label_lat, m.label_lon});
  std::vector<Point> randoms;
  std::mt19937_64 rng(20261129);
  std::uniform_real_distribution<double> dlat(47.27, 55.06), dlon(5.87, 15.04);
  for (int i = 0; i < 10000; ++i) randoms.push_back({dlat(rng), dlon(rng)});

  // --- PostGIS side -----------------------------------------------------------------------
  Pg pg(conninfo);
  pg.Exec("set client_min_messages = warning");  // ST_IsValid's NOTICEs
  const std::string version = pg.Column("select postgis_full_version()").at(0);
  const std::string pgver = pg.Column("select version()").at(0);
  const std::string default_workers = pg.Column("show max_parallel_workers_per_gather").at(0);
  const std::string rows = pg.Column("select count(*) from gemeinden").at(0);
  const std::string invalid =
      pg.Column("select count(*) from gemeinden where not st_isvalid(geom)").at(0);
  pg.Prepare("resolve",
             "select ars from gemeinden where st_intersects(geom, st_geomfromtext($1, 4326)) "
             "order by ars",
             1);
  // The production rule (docs/geo.md "Intersection rule") in SQL: the same statement the
  // end-to-end oracle suite uses. Needs gemeinden.label (loaded by postgis_compare.sh).
  pg.Prepare("resolve_rule",
             "with s as (select st_makevalid(st_geomfromtext($1, 4326), "
             "'method=structure keepcollapsed=false') g) "
             "select m.ars from gemeinden m, s where st_intersects(m.geom, s.g) and ("
             "st_within(s.g, m.geom) or st_covers(s.g, m.label) or ("
             "select a >= 50000 or (p > 0 and 2 * a / p >= 10) from (select st_area(x) a, "
             "st_perimeter(x) p from (select st_intersection(s.g, m.geom)::geography x) q) q2)) "
             "order by m.ars",
             1);
  pg.Prepare("explain_resolve",
             "explain (analyze, timing off, costs off) select ars from gemeinden where "
             "st_intersects(geom, st_geomfromtext($1, 4326)) order by ars",
             1);
  pg.Prepare(
      "locate",
      "select ars from gemeinden where st_intersects(geom, st_setsrid(st_makepoint($2::float8, "
      "$1::float8), 4326)) order by ars limit 1",
      2);
  pg.Prepare("locate_batch",
             "select coalesce(g.ars, '') from unnest($1::float8[], $2::float8[]) with ordinality "
             "as p(lat, lon, i) left join lateral (select ars from gemeinden where "
             "st_intersects(geom, st_setsrid(st_makepoint(p.lon, p.lat), 4326)) order by ars "
             "limit 1) g on true order by p.i",
             2);
  // A prepared statement switches to a generic plan after five executions by default; in a
  // generic plan st_geomfromtext($1) is not folded to a constant but evaluated for every
  // candidate row (measured: Hessen 3.7 ms → 614 ms). Custom plans are PostGIS's best case.
  pg.Exec("set plan_cache_mode = force_custom_plan");
  struct Setting {
    std::string label, sql;
  };
  const std::vector<Setting> settings = {
      {"PostGIS, max_parallel_workers_per_gather=0", "set max_parallel_workers_per_gather = 0"},
      {"PostGIS, default (max_parallel_workers_per_gather=" + default_workers + ")",
       "reset max_parallel_workers_per_gather"},
  };

  // Shapes that are invalid as drawn (the VG5000 Bayern land polygon self-intersects): ours
  // repairs them (GEOS MakeValid, "structure") on every call (warning POLYGON_MADE_VALID), PostGIS
  // uses them as they are. Add a copy repaired once (by PostGIS) so both sides also get the same
  // valid text.
  std::vector<std::string> validity;
  for (std::size_t i = 0, n = shapes.size(); i < n; ++i) {
    const std::string reason =
        pg.Column("select st_isvalidreason(st_geomfromtext($$" + shapes[i].wkt + "$$, 4326))")
            .at(0);
    validity.push_back(reason == "Valid Geometry" ? "valid" : reason);
    if (reason != "Valid Geometry") {
      Shape fixed = shapes[i];
      fixed.name += " (made valid once)";
      fixed.wkt = pg.Column("select st_astext(st_makevalid(st_geomfromtext($$" + shapes[i].wkt +
                            "$$, 4326), 'method=structure keepcollapsed=false'))")
                      .at(0);
      fixed.vertices =
          std::stoul(pg.Column("select st_npoints(st_geomfromtext($$" + fixed.wkt + "$$))").at(0));
      shapes.push_back(fixed);
      validity.push_back("valid");
      std::ofstream(out_dir / ("shape_" + std::to_string(shapes.size() - 1) + ".wkt"))
          << fixed.wkt << "\n";
    }
  }

  std::cout << "# PostGIS comparison (" << runs << " runs per figure, median; wall clock)\n\n";
  std::cout << "- " << pgver << "\n- " << version << "\n- table gemeinden: " << rows << " rows, "
            << invalid << " invalid geometries (ST_IsValid false)\n"
            << "- ours: GeosGeometryIndex, " << plain.stats().municipalities << " polygons, "
            << plain.stats().vertices << " vertices\n\n";
  int differences = 0;

  // --- resolve ----------------------------------------------------------------------------
  std::cout
      << "## Resolve (ST_Intersects of the shape with all municipalities → sorted ARS set)\n\n";
  std::cout
      << "| shape | vertices (validity) | municipalities (plain) | ours plain ms | ours sliver ms "
         "(hits) | PostGIS par=0 ms | PostGIS server exec ms | PostGIS default ms | "
         "ratio ours/PostGIS (par=0) | sets equal | PostGIS generic plan ms | PostGIS rule ms "
         "(hits) | ours rule / PostGIS plain | ours rule / PostGIS rule | rule sets equal |\n"
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (std::size_t si = 0; si < shapes.size(); ++si) {
    const Shape& s = shapes[si];
    std::vector<double> t_plain, t_sliver, t_pg0, t_pgd, t_exec, t_rule;
    std::vector<std::string> ours, ours_sliver, theirs, theirs_default, theirs_rule;
    // Warm-up (page cache, PostGIS's prepared-geometry cache, plan cache) — not timed.
    ours = ours_resolve(plain, s);
    pg.Exec(settings[0].sql);
    theirs = pg.Run("resolve", {s.wkt});
    for (int r = 0; r < runs; ++r) {
      auto t0 = Clock::now();
      ours = ours_resolve(plain, s);
      t_plain.push_back(Ms(Clock::now() - t0));
      t0 = Clock::now();
      ours_sliver = ours_resolve(sliver, s);
      t_sliver.push_back(Ms(Clock::now() - t0));
      pg.Exec(settings[0].sql);
      t0 = Clock::now();
      theirs = pg.Run("resolve", {s.wkt});
      t_pg0.push_back(Ms(Clock::now() - t0));
      t_exec.push_back(ExecutionMs(pg.Run("explain_resolve", {s.wkt})));
      pg.Exec(settings[1].sql);
      t0 = Clock::now();
      theirs_default = pg.Run("resolve", {s.wkt});
      t_pgd.push_back(Ms(Clock::now() - t0));
      pg.Exec(settings[0].sql);
      t0 = Clock::now();
      theirs_rule = pg.Run("resolve_rule", {s.wkt});
      t_rule.push_back(Ms(Clock::now() - t0));
    }
    // The generic-plan trap (see above), a few runs only: it is slow.
    std::vector<double> t_generic;
    pg.Exec(settings[0].sql);
    pg.Exec("set plan_cache_mode = force_generic_plan");
    for (int r = 0; r < std::min(runs, 3); ++r) {
      const auto t0 = Clock::now();
      if (pg.Run("resolve", {s.wkt}) != theirs) ++differences;
      t_generic.push_back(Ms(Clock::now() - t0));
    }
    // EXPLAIN of a statement with parameters is always planned with their values; EXPLAIN
    // EXECUTE of the prepared statement shows the plan it really uses.
    WriteLines(
        out_dir / ("plan_shape_" + std::to_string(si) + "_generic.txt"),
        pg.Column("explain (analyze, timing off, costs off) execute resolve($$" + s.wkt + "$$)"));
    pg.Exec("set plan_cache_mode = force_custom_plan");
    WriteLines(out_dir / ("plan_shape_" + std::to_string(si) + "_par0.txt"),
               pg.Run("explain_resolve", {s.wkt}));
    pg.Exec(settings[1].sql);
    WriteLines(out_dir / ("plan_shape_" + std::to_string(si) + "_default.txt"),
               pg.Run("explain_resolve", {s.wkt}));
    WriteLines(out_dir / ("ours_shape_" + std::to_string(si) + ".txt"), ours);
    WriteLines(out_dir / ("postgis_shape_" + std::to_string(si) + ".txt"), theirs);
    WriteLines(out_dir / ("ours_sliver_shape_" + std::to_string(si) + ".txt"), ours_sliver);
    WriteLines(out_dir / ("postgis_rule_shape_" + std::to_string(si) + ".txt"), theirs_rule);
    const bool equal = ours == theirs && theirs == theirs_default;
    const bool rule_equal = ours_sliver == theirs_rule;
    if (!equal) ++differences;
    if (!rule_equal) ++differences;
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "| %s | %zu (%s) | %zu | %.3f | %.3f (%zu) | %.3f | %.3f | %.3f | %.2f | %s | "
                  "%.1f | %.3f (%zu) | %.2f | %.3f | %s |\n",
                  s.name.c_str(), s.vertices, validity[si].c_str(), ours.size(), Median(t_plain),
                  Median(t_sliver), ours_sliver.size(), Median(t_pg0), Median(t_exec),
                  Median(t_pgd), Median(t_plain) / Median(t_pg0), equal ? "yes" : "NO",
                  Median(t_generic), Median(t_rule), theirs_rule.size(),
                  Median(t_sliver) / Median(t_pg0), Median(t_sliver) / Median(t_rule),
                  rule_equal ? "yes" : "NO");
    std::cout << buf;
    if (!equal) {
      std::cout << "  - only ours: " << Join(Minus(ours, theirs))
                << "; only PostGIS: " << Join(Minus(theirs, ours)) << "\n";
    }
    if (!rule_equal) {
      std::cout << "  - rule, only ours: " << Join(Minus(ours_sliver, theirs_rule))
                << "; only PostGIS: " << Join(Minus(theirs_rule, ours_sliver)) << "\n";
    }
  }
  std::cout << "\n";

  // --- locate -----------------------------------------------------------------------------
  std::cout << "## Locate (point in polygon; points/s, median over runs)\n\n";
  std::cout << "| point set | points | ours | PostGIS one query per point, custom plan (par=0) | "
               "PostGIS per point, generic plan | PostGIS one query for all points (par=0) | "
               "PostGIS batch default | ratio ours/PostGIS (best per point) | ratio ours/PostGIS "
               "(batch) | same ARS |\n"
               "|---|---|---|---|---|---|---|---|---|---|\n";
  const std::size_t per_point_n = 2000;  // one round trip each: a subset keeps runs short
  for (const auto& [set_name, pts] : std::vector<std::pair<std::string, const std::vector<Point>*>>{
           {"label points (all inside)", &labels}, {"random in bbox", &randoms}}) {
    std::vector<double> t_ours, t_pp, t_ppg, t_batch, t_batchd;
    std::vector<std::string> ours(pts->size()), batch, batchd;
    const std::string lat_arr = ArrayLiteral(*pts, true), lon_arr = ArrayLiteral(*pts, false);
    std::vector<std::string> per_point(per_point_n), per_point_g(per_point_n);
    auto run_per_point = [&](std::vector<std::string>& into) {
      for (std::size_t i = 0; i < per_point_n; ++i) {
        const std::size_t k = i * pts->size() / per_point_n;
        char la[32], lo[32];
        std::snprintf(la, sizeof la, "%.10g", (*pts)[k].lat);
        std::snprintf(lo, sizeof lo, "%.10g", (*pts)[k].lon);
        auto v = pg.Run("locate", {la, lo});
        into[i] = v.empty() ? std::string() : v[0];
      }
    };
    for (int r = 0; r < runs; ++r) {
      auto t0 = Clock::now();
      for (std::size_t i = 0; i < pts->size(); ++i) {
        const auto m = plain.Locate((*pts)[i].lat, (*pts)[i].lon);
        ours[i] = m ? ms[*m].ars : std::string();
      }
      t_ours.push_back(Ms(Clock::now() - t0));
      pg.Exec(settings[0].sql);
      t0 = Clock::now();
      run_per_point(per_point);
      t_pp.push_back(Ms(Clock::now() - t0));
      pg.Exec("set plan_cache_mode = force_generic_plan");
      t0 = Clock::now();
      run_per_point(per_point_g);
      t_ppg.push_back(Ms(Clock::now() - t0));
      pg.Exec("set plan_cache_mode = force_custom_plan");
      t0 = Clock::now();
      batch = pg.Run("locate_batch", {lat_arr, lon_arr});
      t_batch.push_back(Ms(Clock::now() - t0));
      pg.Exec(settings[1].sql);
      t0 = Clock::now();
      batchd = pg.Run("locate_batch", {lat_arr, lon_arr});
      t_batchd.push_back(Ms(Clock::now() - t0));
    }
    std::size_t same = 0, inside = 0;
    std::vector<std::string> diffs;
    for (std::size_t i = 0; i < pts->size(); ++i) {
      if (!ours[i].empty()) ++inside;
      if (ours[i] == batch[i] && batch[i] == batchd[i]) {
        ++same;
      } else if (diffs.size() < 10) {
        char b[160];
        std::snprintf(b, sizeof b, "(%.6f %.6f: ours %s, PostGIS %s)", (*pts)[i].lat, (*pts)[i].lon,
                      ours[i].empty() ? "-" : ours[i].c_str(),
                      batch[i].empty() ? "-" : batch[i].c_str());
        diffs.push_back(b);
      }
    }
    for (std::size_t i = 0; i < per_point_n; ++i) {
      if (per_point[i] != batch[i * pts->size() / per_point_n]) ++differences;
      if (per_point_g[i] != per_point[i]) ++differences;
    }
    std::size_t own = 0;
    if (pts == &labels) {
      for (std::size_t i = 0; i < pts->size(); ++i) own += ours[i] == ms[i].ars;
    }
    if (same != pts->size()) ++differences;
    const double npts = static_cast<double>(pts->size());
    const double ours_ps = npts / (Median(t_ours) / 1000);
    const double pp_ps = static_cast<double>(per_point_n) / (Median(t_pp) / 1000);
    const double ppg_ps = static_cast<double>(per_point_n) / (Median(t_ppg) / 1000);
    const double b_ps = npts / (Median(t_batch) / 1000);
    const double bd_ps = npts / (Median(t_batchd) / 1000);
    char buf[1024];
    std::snprintf(
        buf, sizeof buf,
        "| %s | %zu (%zu inside) | %.0f | %.0f (%zu points) | %.0f | %.0f | %.0f | %.1f | "
        "%.1f | %zu/%zu |\n",
        set_name.c_str(), pts->size(), inside, ours_ps, pp_ps, per_point_n, ppg_ps, b_ps, bd_ps,
        ours_ps / std::max(pp_ps, ppg_ps), ours_ps / b_ps, same, pts->size());
    std::cout << buf;
    if (pts == &labels) {
      std::cout << "  - label points that locate to their own ARS (ours): " << own << "/"
                << pts->size() << "\n";
    }
    for (const auto& d : diffs) std::cout << "  - differs: " << d << "\n";
  }
  pg.Exec(settings[0].sql);
  WriteLines(
      out_dir / "plan_locate_batch_par0.txt",
      pg.Column("explain (costs off) select coalesce(g.ars, '') from unnest('{50.9}'::float8[], "
                "'{6.9}'::float8[]) with ordinality as p(lat, lon, i) left join lateral "
                "(select ars from gemeinden where st_intersects(geom, "
                "st_setsrid(st_makepoint(p.lon, p.lat), 4326)) order by ars limit 1) g on "
                "true order by p.i"));
  std::cout << "\n"
            << (differences ? "DIFFERENCES: " + std::to_string(differences)
                            : std::string("all sets agree"))
            << "\n";
  return differences ? 3 : 0;
}
