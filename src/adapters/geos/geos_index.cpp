#include "adapters/geos/geos_index.hpp"

#include <geos_c.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <mutex>
#include <utility>

#include "adapters/geos/geojson.hpp"
#include "adapters/geos/geos_rings.hpp"
#include "adapters/geos/overlap.hpp"

namespace fanout::adapters::geos {
namespace cap = domain::cap;
namespace {

using domain::geo::AreaShape;
using domain::geo::GeometryHit;
using domain::geo::LatLon;
using domain::geo::Ring;

cap::Issue Warn(std::string code, std::string message) {
  return cap::Issue{std::move(code), std::move(message), false};
}

}  // namespace

struct GeosGeometryIndex::Impl {
  GEOSContextHandle_t ctx = nullptr;
  std::string last_error;  // filled by the GEOS error handler
  GeosIndexSettings settings;
  std::vector<GEOSGeometry*> geoms;   // by catalog index
  std::vector<double> areas;          // by catalog index, in degrees²
  std::vector<GEOSGeometry*> labels;  // by catalog index: a point inside the municipality
  std::vector<const GEOSPreparedGeometry*> prepared;  // by catalog index
  mutable std::vector<int8_t> walkable;  // by catalog index: -1 not checked yet (Walkable)
  mutable std::vector<std::unique_ptr<PlanarRings>> part_rings;  // by catalog index (Walkable)
  std::vector<uint32_t> ids;                                     // stable storage for STRtree items
  GEOSSTRtree* tree = nullptr;
  std::map<std::string, GEOSGeometry*, std::less<>> warn_cells;  // lakes and coasts
  GeosIndexStats stats;
  mutable std::mutex mu;

  Impl() {
    ctx = GEOS_init_r();
    GEOSContext_setErrorMessageHandler_r(ctx, &Impl::OnError, this);
    GEOSContext_setNoticeMessageHandler_r(ctx, &Impl::OnNotice, this);
  }
  ~Impl() {
    if (tree) GEOSSTRtree_destroy_r(ctx, tree);
    for (auto* p : prepared) {
      if (p) GEOSPreparedGeom_destroy_r(ctx, p);
    }
    for (auto* g : geoms) {
      if (g) GEOSGeom_destroy_r(ctx, g);
    }
    for (auto* g : labels) {
      if (g) GEOSGeom_destroy_r(ctx, g);
    }
    for (auto& [id, g] : warn_cells) GEOSGeom_destroy_r(ctx, g);
    GEOS_finish_r(ctx);
  }

  static void OnError(const char* message, void* userdata) {
    static_cast<Impl*>(userdata)->last_error = message ? message : "";
  }
  static void OnNotice(const char*, void*) {}

  // --- construction helpers (all return owned geometries or nullptr) ---

  GEOSGeometry* RingFromXy(const XyRing& xy) const {
    if (xy.size() < 8) return nullptr;  // < 4 points
    std::vector<double> buf(xy);
    // Close unclosed rings (GeoJSON requires closed rings, but be lenient).
    if (buf[0] != buf[buf.size() - 2] || buf[1] != buf[buf.size() - 1]) {
      buf.push_back(buf[0]);
      buf.push_back(buf[1]);
    }
    GEOSCoordSequence* seq =
        GEOSCoordSeq_copyFromBuffer_r(ctx, buf.data(), static_cast<unsigned>(buf.size() / 2), 0, 0);
    if (!seq) return nullptr;
    return GEOSGeom_createLinearRing_r(ctx, seq);
  }

  GEOSGeometry* PolygonFromXy(const XyPolygon& poly) const {
    GEOSGeometry* shell = RingFromXy(poly[0]);
    if (!shell) return nullptr;
    std::vector<GEOSGeometry*> holes;
    for (std::size_t i = 1; i < poly.size(); ++i) {
      if (GEOSGeometry* h = RingFromXy(poly[i])) holes.push_back(h);
    }
    return GEOSGeom_createPolygon_r(ctx, shell, holes.data(), static_cast<unsigned>(holes.size()));
  }

  GEOSGeometry* FeatureGeometry(const GeoJsonFeature& f) const {
    std::vector<GEOSGeometry*> polys;
    for (const XyPolygon& p : f.polygons) {
      if (GEOSGeometry* g = PolygonFromXy(p)) polys.push_back(g);
    }
    if (polys.empty()) return nullptr;
    if (polys.size() == 1) return polys[0];
    return GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, polys.data(),
                                       static_cast<unsigned>(polys.size()));
  }

  GEOSGeometry* PolygonFromRing(const Ring& ring) const {
    XyRing xy;
    xy.reserve(ring.size() * 2);
    for (const LatLon& p : ring) {
      xy.push_back(p.lon);
      xy.push_back(p.lat);
    }
    return PolygonFromXy(XyPolygon{std::move(xy)});
  }

  /// Appends the polygonal parts of `g` (recursively) as clones.
  void CollectPolygons(const GEOSGeometry* g, std::vector<GEOSGeometry*>& out) const {
    ForEachPolygon(ctx, g, [&](const GEOSGeometry* p) { out.push_back(GEOSGeom_clone_r(ctx, p)); });
  }

  /// Whether an area warns (its repair may keep more) or excludes (its repair may keep less).
  enum class Repair { kWarns, kExcludes };

  /// The polygonal parts (owned) of GEOS's MakeValid of `g` by `method`.
  std::vector<GEOSGeometry*> Repaired(const GEOSGeometry* g, GEOSMakeValidMethods method) const {
    std::vector<GEOSGeometry*> parts;
    GEOSMakeValidParams* params = GEOSMakeValidParams_create_r(ctx);
    if (!params) return parts;
    GEOSMakeValidParams_setMethod_r(ctx, params, method);
    GEOSMakeValidParams_setKeepCollapsed_r(ctx, params, 0);
    GEOSGeometry* valid = GEOSMakeValidWithParams_r(ctx, g, params);
    GEOSMakeValidParams_destroy_r(ctx, params);
    if (valid) {
      CollectPolygons(valid, parts);
      GEOSGeom_destroy_r(ctx, valid);
    }
    return parts;
  }

  bool HasInteriorRings(const GEOSGeometry* g) const {
    bool holes = false;
    ForEachPolygon(ctx, g, [&](const GEOSGeometry* p) {
      holes = holes || GEOSGetNumInteriorRings_r(ctx, p) > 0;
    });
    return holes;
  }

  /// Returns a valid version of a polygonal geometry (takes ownership of `g`), adding a
  /// POLYGON_MADE_VALID warning when it had to be repaired. nullptr if nothing is left.
  ///
  /// Repairs err towards warning. An area that warns is repaired with GEOS's "structure"
  /// method: outer rings unioned, holes subtracted, every lobe of a self-crossing ring kept —
  /// every region a ring winds around, where "linework" keeps only those wound an odd number
  /// of times. With interior rings, the "linework" repair is added to it (it keeps the part of
  /// a hole that sticks out of its shell). An exclusion is repaired with "linework" alone, the
  /// smaller of the two for a single ring: a region its ring winds around twice stays warned.
  /// Structure also costs far less: 0.7 ms for Bayern's 1,177-point outline (one
  /// self-intersection) against 7.2 ms for linework, which nodes every segment against every
  /// other.
  GEOSGeometry* MakeValidPolygonal(GEOSGeometry* g, std::string_view what,
                                   std::vector<cap::Issue>& warnings,
                                   Repair repair = Repair::kWarns) const {
    if (GEOSisValid_r(ctx, g) == 1) return g;
    std::string reason = "invalid";
    if (char* r = GEOSisValidReason_r(ctx, g)) {
      reason = r;
      GEOSFree_r(ctx, r);
    }
    std::vector<GEOSGeometry*> parts;
    if (repair == Repair::kExcludes) {
      parts = Repaired(g, GEOS_MAKE_VALID_LINEWORK);
    } else {
      parts = Repaired(g, GEOS_MAKE_VALID_STRUCTURE);
      if (HasInteriorRings(g)) {
        for (GEOSGeometry* p : Repaired(g, GEOS_MAKE_VALID_LINEWORK)) parts.push_back(p);
      }
    }
    GEOSGeom_destroy_r(ctx, g);
    // Parts of a repaired polygon may touch along edges (and the two repairs overlap): their
    // union is valid.
    GEOSGeometry* result = UnionOf(std::move(parts));
    const int kept = result ? GEOSGetNumGeometries_r(ctx, result) : 0;
    warnings.push_back(Warn("POLYGON_MADE_VALID", std::string(what) + " was not a valid polygon (" +
                                                      reason + "); repaired, kept its " +
                                                      std::to_string(kept) + " polygonal part(s)"));
    return result;
  }

  /// Union of owned geometries (consumed). nullptr when empty.
  GEOSGeometry* UnionOf(std::vector<GEOSGeometry*> parts) const {
    if (parts.empty()) return nullptr;
    if (parts.size() == 1) return parts[0];
    GEOSGeometry* coll = GEOSGeom_createCollection_r(ctx, GEOS_GEOMETRYCOLLECTION, parts.data(),
                                                     static_cast<unsigned>(parts.size()));
    GEOSGeometry* u = GEOSUnaryUnion_r(ctx, coll);
    GEOSGeom_destroy_r(ctx, coll);
    return u;
  }

  // --- queries (caller holds mu) ---

  struct Candidates {
    std::vector<uint32_t> ids;
    static void Add(void* item, void* self) {
      static_cast<Candidates*>(self)->ids.push_back(*static_cast<uint32_t*>(item));
    }
  };

  std::vector<uint32_t> CandidatesOf(const GEOSGeometry* g) const {
    Candidates c;
    GEOSSTRtree_query_r(ctx, tree, g, &Candidates::Add, &c);
    std::sort(c.ids.begin(), c.ids.end());
    return c.ids;
  }

  /// Municipalities whose polygon intersects `g`, appended to `out`. For a polygonal `g`,
  /// boundary artefacts are dropped by the absolute rule of GeosIndexSettings, unless
  /// `contact` (lake and coast warn cells: every municipality on the shore counts).
  void IntersectingMunicipalities(const GEOSGeometry* g, std::vector<uint32_t>& out,
                                  bool contact = false) const {
    const GEOSPreparedGeometry* pg = GEOSPrepare_r(ctx, g);
    const int type = GEOSGeomTypeId_r(ctx, g);
    const bool polygonal = type == GEOS_POLYGON || type == GEOS_MULTIPOLYGON;
    const bool filter =
        !contact && (settings.min_overlap_m2 > 0 || settings.min_overlap_width_m > 0);
    std::vector<uint32_t> partial;  // candidates whose overlap must be measured
    for (uint32_t c : CandidatesOf(g)) {
      if (GEOSPreparedIntersects_r(ctx, pg, geoms[c]) != 1) continue;
      // (b) the area covers the label point, (a) the municipality contains the area: cheap
      // tests that decide most candidates without an overlay.
      if (!polygonal || !filter || GEOSPreparedIntersects_r(ctx, pg, labels[c]) == 1 ||
          GEOSPreparedContains_r(ctx, prepared[c], g) == 1) {
        out.push_back(c);
      } else {
        partial.push_back(c);
      }
    }
    GEOSPreparedGeom_destroy_r(ctx, pg);
    MeasurePartialOverlaps(g, partial, out);
  }

  struct Box {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    bool Overlaps(const Box& o) const {  // closed boxes: touching counts
      return x0 <= o.x1 && o.x0 <= x1 && y0 <= o.y1 && o.y0 <= y1;
    }
    bool Contains(double x, double y) const { return x0 <= x && x <= x1 && y0 <= y && y <= y1; }
  };
  Box BoxOf(const GEOSGeometry* g) const {
    Box b;
    GEOSGeom_getXMin_r(ctx, g, &b.x0);
    GEOSGeom_getYMin_r(ctx, g, &b.y0);
    GEOSGeom_getXMax_r(ctx, g, &b.x1);
    GEOSGeom_getYMax_r(ctx, g, &b.y1);
    return b;
  }

  /// Whether an overlap of this extent is real, (c) or (d) of the rule.
  bool Counts(const Extent& m) const {
    const double width = m.perimeter_m > 0 ? 2 * m.area_m2 / m.perimeter_m : 0;
    return m.area_m2 > 0 &&
           (m.area_m2 >= settings.min_overlap_m2 || width >= settings.min_overlap_width_m);
  }

  /// Municipality `c`'s rings when MeasureOverlap may measure it (valid and
  /// PlanarRings::Clean), else nullptr; built once, on first use (24 bytes per vertex: ~4 MB for
  /// all 174,259). VG5000 has three polygons with self-touching rings.
  const PlanarRings* Walkable(uint32_t c) const {
    if (walkable[c] < 0) {
      auto rings = std::make_unique<PlanarRings>(PlanarRingsOf(ctx, geoms[c]));
      walkable[c] = GEOSisValid_r(ctx, geoms[c]) == 1 && rings->Clean() ? 1 : 0;
      if (walkable[c] == 1) part_rings[c] = std::move(rings);
    }
    return part_rings[c].get();
  }

  /// (c) and (d) of the rule for the municipalities `partial` that `g` overlaps only in
  /// part: appends those whose overlap is at least min_overlap_m2 or min_overlap_width_m.
  ///
  /// Each overlap is measured without an overlay where it can be (MeasureOverlap: the
  /// crossings of the two boundaries, 2.1 µs for a border neighbour of Hessen's outline, where a
  /// GEOS overlay costs 55 µs: BM_BorderNeighbourOverlap); the rest — boundaries within 0.1 mm of
  /// each other other than at shared vertices, invalid or spiky polygons — go through GEOS.
  void MeasurePartialOverlaps(const GEOSGeometry* g, const std::vector<uint32_t>& partial,
                              std::vector<uint32_t>& out) const {
    if (partial.empty()) return;
    std::vector<uint32_t> overlay;  // left to a GEOS overlay
    if (settings.overlay_only) {
      overlay = partial;
    } else {
      PlanarRings shape = PlanarRingsOf(ctx, g);
      shape.BuildIndex();
      const bool walk = shape.Clean();
      for (uint32_t c : partial) {
        std::optional<Extent> e;
        if (const PlanarRings* part = walk ? Walkable(c) : nullptr)
          e = MeasureOverlap(shape, *part);
        if (!e) {
          overlay.push_back(c);
        } else if (Counts(*e)) {
          out.push_back(c);
        }
      }
    }
    MeasureByOverlay(g, overlay, out);
  }

  /// (c) and (d) of the rule by GEOS overlays.
  ///
  /// One GEOS overlay per municipality costs ~40 µs of fixed overhead, and a Land outline has
  /// ~150 such border neighbours. So the municipalities are grouped into classes whose
  /// bounding boxes are pairwise disjoint; each class is one valid MultiPolygon, intersected
  /// with `g` in one overlay. Every part of the result lies inside exactly one member, whose
  /// box is the only one of the class that contains the part's box centre: that attributes
  /// each part to its municipality. Overlay nodes are intersections of the original segments,
  /// so a municipality's overlap is the same as when intersected alone.
  void MeasureByOverlay(const GEOSGeometry* g, const std::vector<uint32_t>& partial,
                        std::vector<uint32_t>& out) const {
    if (partial.empty()) return;
    // Greedy colouring, west to east: a candidate joins the first class none of whose
    // members' boxes it touches.
    struct Member {
      uint32_t c;
      Box box;
    };
    std::vector<Member> members;
    members.reserve(partial.size());
    for (uint32_t c : partial) members.push_back({c, BoxOf(geoms[c])});
    std::sort(members.begin(), members.end(),
              [](const Member& a, const Member& b) { return a.box.x0 < b.box.x0; });
    std::vector<std::vector<Member>> classes;
    for (const Member& m : members) {
      auto fits = [&](const std::vector<Member>& cls) {
        return std::none_of(cls.begin(), cls.end(),
                            [&](const Member& o) { return o.box.Overlaps(m.box); });
      };
      auto it = std::find_if(classes.begin(), classes.end(), fits);
      if (it == classes.end()) it = classes.insert(classes.end(), std::vector<Member>{});
      it->push_back(m);
    }
    for (const std::vector<Member>& cls : classes) {
      std::vector<GEOSGeometry*> parts;
      for (const Member& m : cls) CollectPolygons(geoms[m.c], parts);
      GEOSGeometry* multi = GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, parts.data(),
                                                        static_cast<unsigned>(parts.size()));
      GEOSGeometry* inter = multi ? GEOSIntersection_r(ctx, multi, g) : nullptr;
      if (multi) GEOSGeom_destroy_r(ctx, multi);
      if (!inter) {  // the overlay failed: err towards warning
        for (const Member& m : cls) out.push_back(m.c);
        continue;
      }
      std::vector<Extent> extent(cls.size());
      std::vector<GEOSGeometry*> pieces;
      CollectPolygons(inter, pieces);
      GEOSGeom_destroy_r(ctx, inter);
      for (GEOSGeometry* piece : pieces) {
        const Box b = BoxOf(piece);
        const double cx = (b.x0 + b.x1) / 2, cy = (b.y0 + b.y1) / 2;
        for (std::size_t i = 0; i < cls.size(); ++i) {
          if (!cls[i].box.Contains(cx, cy)) continue;
          const Extent e = MeasureOnEllipsoid(piece);
          extent[i].area_m2 += e.area_m2;
          extent[i].perimeter_m += e.perimeter_m;
          break;
        }
        GEOSGeom_destroy_r(ctx, piece);
      }
      for (std::size_t i = 0; i < cls.size(); ++i) {
        if (Counts(extent[i])) out.push_back(cls[i].c);
      }
    }
  }

  /// Area and perimeter in metres of the polygonal parts of `g` (lon/lat degrees), on the
  /// WGS84 ellipsoid: the coordinates are projected with the Lambert azimuthal equal-area
  /// projection on the authalic sphere (an exact equal-area map of the ellipsoid, Snyder
  /// 1987 §24), centred on the geometry itself so that lengths are distorted by far less
  /// than 0.1 % over the few kilometres an overlap spans.
  Extent MeasureOnEllipsoid(const GEOSGeometry* g) const {
    Extent e;
    ForEachPolygon(ctx, g, [&](const GEOSGeometry* polygon) {
      double lon0 = 0, lat0 = 0;
      GEOSGeom_getXMin_r(ctx, polygon, &lon0);
      GEOSGeom_getYMin_r(ctx, polygon, &lat0);
      const Extent p = MeasurePolygon(ctx, polygon, AuthalicProjection(lat0, lon0));
      e.area_m2 += p.area_m2;
      e.perimeter_m += p.perimeter_m;
    });
    return e;
  }
};

GeosGeometryIndex::GeosGeometryIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GeosGeometryIndex::~GeosGeometryIndex() = default;

const GeosIndexStats& GeosGeometryIndex::stats() const { return impl_->stats; }

Result<std::unique_ptr<GeosGeometryIndex>, Error> GeosGeometryIndex::Load(
    const std::filesystem::path& geo_dir, const domain::geo::GeoCatalog& catalog,
    GeosIndexSettings settings) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto path = geo_dir / kMunicipalitiesGeoJson;
  auto features = ReadGeoJsonFeatures(path);
  if (!features) return Fail(std::move(features.error()));

  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  const std::size_t n = catalog.municipalities().size();
  impl->areas.assign(n, 0);
  impl->labels.assign(n, nullptr);
  impl->geoms.assign(n, nullptr);
  impl->prepared.assign(n, nullptr);
  impl->walkable.assign(n, -1);
  impl->part_rings.resize(n);
  impl->ids.resize(n);
  for (const GeoJsonFeature& f : *features) {
    auto it = f.properties.find("ARS");
    if (it == f.properties.end()) {
      return Fail(Error{Error::Kind::kInvalid, path.string() + ": a feature has no ARS"});
    }
    const domain::geo::Municipality* m = catalog.FindMunicipality(it->second);
    if (!m) {
      return Fail(Error{Error::Kind::kInvalid,
                        path.string() + ": ARS " + it->second + " is not in the catalog"});
    }
    const uint32_t idx = catalog.IndexOf(*m);
    if (impl->geoms[idx]) {
      return Fail(Error{Error::Kind::kInvalid, path.string() + ": ARS " + it->second + " twice"});
    }
    GEOSGeometry* g = impl->FeatureGeometry(f);
    if (!g) {
      return Fail(Error{Error::Kind::kInvalid,
                        path.string() + ": ARS " + it->second + " has no usable polygon"});
    }
    impl->geoms[idx] = g;
    for (const XyPolygon& p : f.polygons) {
      for (const XyRing& r : p) impl->stats.vertices += r.size() / 2;
    }
  }
  impl->tree = GEOSSTRtree_create_r(impl->ctx, 10);
  for (uint32_t i = 0; i < n; ++i) {
    if (!impl->geoms[i]) {
      return Fail(Error{
          Error::Kind::kInvalid,
          path.string() + ": municipality " + catalog.municipalities()[i].ars + " has no polygon"});
    }
    impl->ids[i] = i;
    GEOSArea_r(impl->ctx, impl->geoms[i], &impl->areas[i]);
    const auto& m = catalog.municipalities()[i];
    impl->labels[i] = GEOSGeom_createPointFromXY_r(impl->ctx, m.label_lon, m.label_lat);
    impl->prepared[i] = GEOSPrepare_r(impl->ctx, impl->geoms[i]);
    GEOSSTRtree_insert_r(impl->ctx, impl->tree, impl->geoms[i], &impl->ids[i]);
  }
  impl->stats.municipalities = n;

  // Lakes and coasts (optional file).
  const auto cells_path = geo_dir / kWarnCellsGeoJson;
  if (std::filesystem::exists(cells_path)) {
    auto cells = ReadGeoJsonFeatures(cells_path);
    if (!cells) return Fail(std::move(cells.error()));
    for (const GeoJsonFeature& f : *cells) {
      auto it = f.properties.find("WARNCELLID");
      if (it == f.properties.end()) continue;
      if (GEOSGeometry* g = impl->FeatureGeometry(f)) {
        std::vector<cap::Issue> ignored;
        g = impl->MakeValidPolygonal(g, "warn cell " + it->second, ignored);
        if (g) impl->warn_cells.emplace(it->second, g);
      }
    }
    impl->stats.warn_cells = impl->warn_cells.size();
  }
  // Build the tree now (it is built lazily on the first query otherwise).
  {
    GEOSGeometry* probe = GEOSGeom_createPointFromXY_r(impl->ctx, 0, 0);
    impl->CandidatesOf(probe);
    GEOSGeom_destroy_r(impl->ctx, probe);
  }
  impl->stats.load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return std::unique_ptr<GeosGeometryIndex>(new GeosGeometryIndex(std::move(impl)));
}

std::optional<uint32_t> GeosGeometryIndex::Locate(double lat, double lon) const {
  std::lock_guard lock(impl_->mu);
  GEOSContextHandle_t ctx = impl_->ctx;
  GEOSGeometry* pt = GEOSGeom_createPointFromXY_r(ctx, lon, lat);
  std::optional<uint32_t> found;
  for (uint32_t c : impl_->CandidatesOf(pt)) {
    if (GEOSPreparedIntersects_r(ctx, impl_->prepared[c], pt) == 1) {
      found = c;  // lowest index wins on a shared border (candidates are sorted)
      break;
    }
  }
  GEOSGeom_destroy_r(ctx, pt);
  return found;
}

GeometryHit GeosGeometryIndex::Intersect(const AreaShape& area) const {
  std::lock_guard lock(impl_->mu);
  Impl& im = *impl_;
  GEOSContextHandle_t ctx = im.ctx;
  GeometryHit hit;
  const std::string label = area.label.empty() ? "area" : "area '" + area.label + "'";

  std::vector<GEOSGeometry*> include;
  for (std::size_t i = 0; i < area.polygons.size(); ++i) {
    GEOSGeometry* g = im.PolygonFromRing(area.polygons[i]);
    if (!g) {
      hit.errors.push_back(Warn("INVALID_POLYGON", label + ": polygon could not be built"));
      continue;
    }
    g = im.MakeValidPolygonal(g, label + " polygon " + std::to_string(i + 1), hit.warnings);
    if (g) include.push_back(g);
  }
  for (const std::string& wkt : area.wkt) {
    GEOSWKTReader* reader = GEOSWKTReader_create_r(ctx);
    im.last_error.clear();
    GEOSGeometry* g = GEOSWKTReader_read_r(ctx, reader, wkt.c_str());
    GEOSWKTReader_destroy_r(ctx, reader);
    if (!g) {
      hit.errors.push_back(Warn("INVALID_WKT", label + ": WKT not readable (" + im.last_error +
                                                   "): '" + wkt.substr(0, 60) + "'"));
      continue;
    }
    const int type = GEOSGeomTypeId_r(ctx, g);
    if (type == GEOS_POLYGON || type == GEOS_MULTIPOLYGON) {
      g = im.MakeValidPolygonal(g, label + " WKT", hit.warnings);
    }
    if (g) include.push_back(g);
  }
  GEOSGeometry* exclude = nullptr;
  if (!area.exclude.empty()) {
    std::vector<GEOSGeometry*> parts;
    for (const Ring& r : area.exclude) {
      if (GEOSGeometry* g = im.PolygonFromRing(r)) {
        g = im.MakeValidPolygonal(g, label + " EXCLUDE_POLYGON", hit.warnings,
                                  Impl::Repair::kExcludes);
        if (g) parts.push_back(g);
      }
    }
    exclude = im.UnionOf(std::move(parts));
  }

  std::vector<uint32_t> found;
  if (exclude && !include.empty()) {
    GEOSGeometry* u = im.UnionOf(std::move(include));
    include.clear();
    GEOSGeometry* diff = u ? GEOSDifference_r(ctx, u, exclude) : nullptr;
    if (u) GEOSGeom_destroy_r(ctx, u);
    if (!diff) {
      hit.errors.push_back(Warn("GEOMETRY_FAILED",
                                label + ": subtracting EXCLUDE_POLYGON failed: " + im.last_error));
    } else {
      if (!GEOSisEmpty_r(ctx, diff)) im.IntersectingMunicipalities(diff, found);
      GEOSGeom_destroy_r(ctx, diff);
    }
  } else {
    for (GEOSGeometry* g : include) {
      im.IntersectingMunicipalities(g, found);
      GEOSGeom_destroy_r(ctx, g);
    }
  }
  for (const LatLon& p : area.points) {
    GEOSGeometry* pt = GEOSGeom_createPointFromXY_r(ctx, p.lon, p.lat);
    if (!exclude || GEOSIntersects_r(ctx, exclude, pt) != 1)
      im.IntersectingMunicipalities(pt, found);
    GEOSGeom_destroy_r(ctx, pt);
  }
  if (exclude) GEOSGeom_destroy_r(ctx, exclude);
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  hit.municipalities = std::move(found);
  return hit;
}

std::optional<GeometryHit> GeosGeometryIndex::WarnCellMunicipalities(std::string_view id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->warn_cells.find(id);
  if (it == impl_->warn_cells.end()) return std::nullopt;
  GeometryHit hit;
  // A lake or coast cell is water: its warning is for the municipalities on its shore, which
  // VG5000 draws up to the water's edge (the lake itself is often a unit of its own, e.g.
  // "Chiemsee (See)"). They touch the DWD's lake outline only by slivers (Chiemsee: <= 1.5 ha,
  // <= 4.3 m wide), so the artefact rule would leave the shore unwarned: contact counts.
  impl_->IntersectingMunicipalities(it->second, hit.municipalities, /*contact=*/true);
  return hit;
}

}  // namespace fanout::adapters::geos
