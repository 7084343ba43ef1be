// Device registry at national scale (issue #4, DESIGN §8): builds the roaring index over N
// generated devices (app/device_generator: real municipalities, 60 % APNs, 30 % mylocation,
// 1-3 places) and measures, side by side in one run:
//   - index build time and memory per device (RSS delta and the index's own accounting);
//   - selections for a municipality, a Kreis, a Land (Bayern) and the whole country: the
//     whole alert (every unit: 2 platforms × 2 flows × S shards, cold area cache) and one
//     unit (warm), emitting batches of 500 and touching every token;
//   - optionally (--sqlite FILE) the SQLite import rate and restart rebuild (LoadAll ->
//     index), and (--pg, needs PG* env, e.g. under scripts/with-postgres.sh) the PostgreSQL
//     COPY import rate, the rebuild from PostgreSQL, and the original's query shape (GIN
//     array overlap, full fetch) on the same data plus its LIMIT 50000 OFFSET k paging.
// Medians of --repeat runs. Plain timing binary: the 10 M setup is too heavy for
// Google Benchmark's repetition model.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/geofiles/geo_files.hpp"
#include "adapters/postgres/pg.hpp"
#include "adapters/postgres/postgres_device_store.hpp"
#include "adapters/sqlite/sqlite_device_store.hpp"
#include "app/device_generator.hpp"
#include "domain/device/index.hpp"
#include "platform/metrics/metrics.hpp"

namespace fs = std::filesystem;
using namespace fanout;
using domain::device::Device;
using domain::device::DeviceIndex;
using domain::device::DeviceRef;
using domain::device::Flow;
using domain::device::Platform;
using Clock = std::chrono::steady_clock;

namespace {

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

size_t RssBytes() { return fanout::metrics::ProcessStatusKb("VmRSS:") * 1024; }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Options {
  size_t devices = 10'000'000;
  uint32_t shards = 64;
  int repeat = 5;
  std::string sqlite;
  bool pg = false;
  int pg_repeat = 3;
  int pg_pages = 1000000;         // OFFSET pages to fetch at most (each costs a full query)
  size_t pg_max_munis = 1000000;  // skip the SQL side for larger areas (it is O(rows × keys))
  uint64_t seed = 1;
};

template <class Fn>
void ForEachChunk(size_t n, const domain::geo::GeoCatalog& catalog, uint64_t seed, Fn fn) {
  app::GeneratorSettings gen;
  gen.seed = seed;
  constexpr size_t kChunk = 100'000;
  for (size_t done = 0; done < n; done += kChunk) {
    auto chunk = app::GenerateDevices(std::min(kChunk, n - done), catalog, gen, done);
    fn(chunk);
    std::fprintf(stderr, "\r  %zu/%zu", done + chunk.size(), n);
  }
  std::fprintf(stderr, "\n");
}

struct Area {
  std::string name;
  std::vector<std::string> municipalities;  // sorted 12-digit keys
};

struct AlertResult {
  double seconds = 0;
  size_t devices = 0;
};

const std::map<std::string, int> kDefaults{{"AP1", 4}, {"AP2", 4}, {"AP3", 4}, {"AP4", 4}};
constexpr int kLevel = 2;  // Moderate
const char* kProvider = "AP2";

// Every unit of the alert, as the queuers would run them (one after another here).
AlertResult WholeAlert(const DeviceIndex& idx, const Area& a, uint32_t shards, uint64_t* sink) {
  AlertResult r;
  auto t = Clock::now();
  for (Platform p : {Platform::kApns, Platform::kFcm}) {
    for (Flow f : {Flow::kAll, Flow::kSelected}) {
      for (uint32_t s = 0; s < shards; ++s) {
        domain::device::SelectionQuery q{p, f, s, kProvider, kLevel, &a.municipalities, &kDefaults};
        r.devices += idx.Select(q, 500, [&](std::span<const DeviceRef> b) {
          for (const auto& d : b) *sink += static_cast<unsigned char>(d.token[d.token.size() / 2]);
        });
      }
    }
  }
  r.seconds = Since(t);
  return r;
}

std::vector<std::string> AncestorKeys(const std::vector<std::string>& munis) {
  std::set<std::string> keys;
  for (const auto& m : munis) {
    for (size_t len : {2, 3, 5, 9, 12}) keys.insert(m.substr(0, len) + std::string(12 - len, '0'));
  }
  return {keys.begin(), keys.end()};
}

// Writes every device through the store port in 100k batches (timed without generation),
// then rebuilds an index from the store as a restart does.
void ImportAndRebuild(const char* name, ports::DeviceStore& store, const Options& o,
                      const domain::geo::GeoCatalog& catalog) {
  double write_s = 0;
  std::fprintf(stderr, "%s import\n", name);
  uint64_t version = 0;
  std::vector<ports::DeviceUpdate> changes;
  ForEachChunk(o.devices, catalog, o.seed, [&](const std::vector<Device>& chunk) {
    changes.clear();
    for (const Device& d : chunk) changes.push_back({d.id, d, "bench", "import", ++version});
    auto t = Clock::now();
    if (auto r = store.Apply(changes, 0); !r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      std::abort();
    }
    write_s += Since(t);
  });
  std::printf("\n## %s import (versioned Apply, 100k per transaction): %.1f s = %.0f devices/s\n",
              name, write_s, static_cast<double>(o.devices) / write_s);
  DeviceIndex rebuilt(o.shards);
  auto t = Clock::now();
  rebuilt.BeginBulk();
  auto loaded = store.LoadAll([&](Device&& d) { rebuilt.Upsert(d); });
  rebuilt.EndBulk();
  std::printf("## restart from %s (LoadAll -> bulk index): %.1f s for %zu devices\n", name,
              Since(t), loaded ? *loaded : 0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const std::map<std::string, std::function<void(const std::string&)>> flags{
      {"--devices", [&](const std::string& v) { o.devices = std::stoull(v); }},
      {"--shards", [&](const std::string& v) { o.shards = static_cast<uint32_t>(std::stoul(v)); }},
      {"--repeat", [&](const std::string& v) { o.repeat = std::stoi(v); }},
      {"--sqlite", [&](const std::string& v) { o.sqlite = v; }},
      {"--pg-repeat", [&](const std::string& v) { o.pg_repeat = std::stoi(v); }},
      {"--pg-pages", [&](const std::string& v) { o.pg_pages = std::stoi(v); }},
      {"--pg-max-munis", [&](const std::string& v) { o.pg_max_munis = std::stoull(v); }},
      {"--seed", [&](const std::string& v) { o.seed = std::stoull(v); }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--pg") {
      o.pg = true;
    } else if (auto it = flags.find(a); it != flags.end() && i + 1 < argc) {
      it->second(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--devices N] [--shards S] [--repeat R] [--sqlite FILE] [--pg]"
                   " [--pg-repeat R] [--pg-pages K] [--pg-max-munis M] [--seed S]\n",
                   argv[0]);
      return 2;
    }
  }
  auto catalog = adapters::geofiles::LoadGeoCatalog(fs::path(FANOUT_DATA_DIR) / "geo");
  if (!catalog) {
    std::fprintf(stderr, "%s\n", catalog.error().message.c_str());
    return 2;
  }
  std::printf("devices_bench: %zu devices, %u shards, level %d provider %s, repeat %d\n", o.devices,
              o.shards, kLevel, kProvider, o.repeat);

  // ---- index build + memory ----
  malloc_trim(0);
  size_t rss0 = RssBytes();
  DeviceIndex idx(o.shards);
  double build_s = 0;
  std::fprintf(stderr, "building the index\n");
  idx.BeginBulk();
  ForEachChunk(o.devices, *catalog, o.seed, [&](const std::vector<Device>& chunk) {
    auto t = Clock::now();
    for (const Device& d : chunk) idx.Upsert(d);
    build_s += Since(t);
  });
  auto t_end = Clock::now();
  idx.EndBulk();
  build_s += Since(t_end);
  malloc_trim(0);
  size_t rss1 = RssBytes();
  auto mem = idx.Memory();
  double n = static_cast<double>(idx.size());
  std::printf("\n## index build (bulk, excluding generation): %.2f s (%.0f devices/s)\n", build_s,
              n / build_s);
  auto as_double = [](size_t v) { return static_cast<double>(v); };
  const double rss = static_cast<double>(rss1) - static_cast<double>(rss0);
  std::printf("## memory: RSS delta %.1f MB = %.1f B/device; tokens %.1f B/device\n", rss / 1e6,
              rss / n, as_double(mem.token_bytes) / n);
  std::printf("   => RSS delta minus tokens: %.1f B/device (target <= 64)\n",
              (rss - as_double(mem.token_bytes)) / n);
  std::printf(
      "   accounting per device: records %.1f, id table %.1f, arena %.1f (of which tokens "
      "%.1f), region pool %.1f, bitmaps %.1f, keys %.2f; total %.1f => %.1f + token\n",
      as_double(mem.records) / n, as_double(mem.id_table) / n, as_double(mem.arena) / n,
      as_double(mem.token_bytes) / n, as_double(mem.region_pool) / n, as_double(mem.bitmaps) / n,
      as_double(mem.keys) / n, as_double(mem.total()) / n,
      as_double(mem.total() - mem.token_bytes) / n);

  // ---- selections ----
  auto expand = [&](const std::string& name, const std::string& key) {
    Area a{name, {}};
    for (uint32_t i : catalog->Expand(key))
      a.municipalities.push_back(catalog->municipalities()[i].ars);
    std::sort(a.municipalities.begin(), a.municipalities.end());
    return a;
  };
  std::vector<Area> areas{expand("municipality München (091620000000)", "091620000000"),
                          expand("Kreis Ravensburg (084360000000)", "084360000000"),
                          expand("Land Bayern (090000000000)", "090000000000"),
                          {"Germany", {}}};
  for (const auto& m : catalog->municipalities()) areas.back().municipalities.push_back(m.ars);
  std::sort(areas.back().municipalities.begin(), areas.back().municipalities.end());

  uint64_t sink = 0;
  std::printf("\n## selection (index), medians of %d; whole alert = all %u units, cold cache\n",
              o.repeat, 4 * o.shards);
  std::printf("%-38s %7s %10s %12s %12s %12s %14s\n", "area", "munis", "devices", "alert_ms",
              "selected_ms", "unit_ms", "unit_cold_ms");
  std::map<std::string, double> index_alert_ms;
  std::map<std::string, std::pair<size_t, size_t>> index_platform_counts;
  for (const Area& a : areas) {
    std::vector<double> alert, unit, unit_cold, selected;
    size_t count = 0;
    for (int r = 0; r < o.repeat; ++r) {
      idx.DropAreaCache();
      auto res = WholeAlert(idx, a, o.shards, &sink);
      alert.push_back(res.seconds * 1e3);
      count = res.devices;
      // The area-dependent part alone: flow `selected` of both platforms, cold cache.
      idx.DropAreaCache();
      auto ts = Clock::now();
      for (Platform p : {Platform::kApns, Platform::kFcm}) {
        for (uint32_t s = 0; s < o.shards; ++s) {
          domain::device::SelectionQuery q{p,      Flow::kSelected,   s,         kProvider,
                                           kLevel, &a.municipalities, &kDefaults};
          idx.Select(q, 500, [&](std::span<const DeviceRef> b) {
            for (const auto& d : b) sink += static_cast<unsigned char>(d.token[d.token.size() / 2]);
          });
        }
      }
      selected.push_back(Since(ts) * 1e3);
      idx.DropAreaCache();
      for (uint32_t s = 0; s < o.shards; s += std::max<uint32_t>(1, o.shards / 8)) {
        domain::device::SelectionQuery q{Platform::kApns, Flow::kSelected,   s,         kProvider,
                                         kLevel,          &a.municipalities, &kDefaults};
        auto t = Clock::now();
        idx.Select(q, 500, [&](std::span<const DeviceRef> b) { sink += b.size(); });
        (s == 0 ? unit_cold : unit).push_back(Since(t) * 1e3);
      }
    }
    // Per platform (selected flow), to compare with the SQL query on the same data.
    for (Platform p : {Platform::kApns, Platform::kFcm}) {
      size_t c = 0;
      for (uint32_t s = 0; s < o.shards; ++s) {
        domain::device::SelectionQuery q{p,      Flow::kSelected,   s,         kProvider,
                                         kLevel, &a.municipalities, &kDefaults};
        c += idx.Select(q, 500, [](std::span<const DeviceRef>) {});
      }
      (p == Platform::kApns ? index_platform_counts[a.name].first
                            : index_platform_counts[a.name].second) = c;
    }
    index_alert_ms[a.name] = Median(alert);
    std::printf("%-38s %7zu %10zu %12.2f %12.2f %12.3f %14.3f\n", a.name.c_str(),
                a.municipalities.size(), count, Median(alert), Median(selected), Median(unit),
                Median(unit_cold));
  }

  // ---- SQLite ----
  if (!o.sqlite.empty()) {
    fs::remove(o.sqlite);
    fs::remove(o.sqlite + "-wal");
    fs::remove(o.sqlite + "-shm");
    adapters::sqlite::SqliteDeviceStore store(o.sqlite);
    ImportAndRebuild("SQLite", store, o, *catalog);
  }

  // ---- PostgreSQL ----
  if (o.pg) {
    adapters::postgres::PostgresDeviceStore store("");
    auto conn = adapters::postgres::PgConnection::Connect("");
    if (!conn) {
      std::fprintf(stderr, "%s\n", conn.error().message.c_str());
      return 2;
    }
    (void)conn->Exec(
        "DROP INDEX IF EXISTS devices_regions_gin; TRUNCATE devices, device_tombstones");
    // PostgreSQL's Apply = COPY into a temporary table + one versioned INSERT ... ON CONFLICT.
    ImportAndRebuild("PostgreSQL", store, o, *catalog);
    auto t = Clock::now();
    if (auto r = conn->Exec("CREATE INDEX devices_regions_gin ON devices USING gin (regions);"
                            "ANALYZE devices");
        !r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      return 2;
    }
    std::printf("## CREATE INDEX GIN(regions) + ANALYZE: %.1f s\n", Since(t));
    // The comparison runs with PostgreSQL's defaults (parallel query on), its best case here.
    (void)conn->Exec("RESET max_parallel_workers_per_gather");
    const std::string query =
        "SELECT token FROM devices WHERE platform = $1 AND NOT mylocation"
        " AND regions && $2::text[] AND coalesce((levels->>'AP2')::int, 4) >= $3";
    std::printf(
        "\n## the original's approach on the same data: GIN array overlap, full fetch via libpq "
        "(medians of %d)\n%-38s %8s %10s %10s %12s %12s %10s\n",
        o.pg_repeat, "area", "keys", "apns_rows", "fcm_rows", "sql_ms", "index_ms", "ratio");
    for (const Area& a : areas) {
      if (a.municipalities.size() > o.pg_max_munis) {
        std::printf("%-38s skipped (--pg-max-munis %zu)\n", a.name.c_str(), o.pg_max_munis);
        continue;
      }
      auto keys = AncestorKeys(a.municipalities);
      if (auto plan = conn->Exec("EXPLAIN " + query, {"0", adapters::postgres::RegionsArray(keys),
                                                      std::to_string(kLevel)})) {
        std::string first;
        for (int i = 0; i < plan->rows() && i < 3; ++i) {
          std::string line(plan->get(i, 0));
          first += line.substr(0, line.find_first_of("(:")) + "|";  // node names only
        }
        std::printf("   plan: %s\n", first.c_str());
      }
      std::string arr = adapters::postgres::RegionsArray(keys);
      std::vector<double> ms;
      size_t rows[2] = {0, 0};
      for (int r = 0; r < o.pg_repeat; ++r) {
        auto t0 = Clock::now();
        for (int p = 0; p < 2; ++p) {
          auto res = conn->Exec(query, {std::to_string(p), arr, std::to_string(kLevel)});
          if (!res) {
            std::fprintf(stderr, "%s\n", res.error().message.c_str());
            return 2;
          }
          rows[p] = static_cast<size_t>(res->rows());
        }
        ms.push_back(Since(t0) * 1e3);
      }
      // The index side for the same rows: the selected flow of both platforms, cold cache.
      std::vector<double> idx_ms;
      for (int r = 0; r < o.pg_repeat; ++r) {
        idx.DropAreaCache();
        auto t0 = Clock::now();
        for (Platform p : {Platform::kApns, Platform::kFcm}) {
          for (uint32_t s = 0; s < o.shards; ++s) {
            domain::device::SelectionQuery q{p,      Flow::kSelected,   s,         kProvider,
                                             kLevel, &a.municipalities, &kDefaults};
            idx.Select(q, 500, [&](std::span<const DeviceRef> b) {
              for (const auto& d : b) sink += static_cast<unsigned char>(d.token[0]);
            });
          }
        }
        idx_ms.push_back(Since(t0) * 1e3);
      }
      bool same = rows[0] == index_platform_counts[a.name].first &&
                  rows[1] == index_platform_counts[a.name].second;
      std::printf("%-38s %8zu %10zu %10zu %12.1f %12.2f %9.0fx%s\n", a.name.c_str(), keys.size(),
                  rows[0], rows[1], Median(ms), Median(idx_ms), Median(ms) / Median(idx_ms),
                  same ? "" : "  (ROW COUNTS DIFFER FROM THE INDEX)");
    }
    if (o.pg_pages > 0) {
      // The original: ORDER BY device_id LIMIT 50000 OFFSET k until a short page (Bayern, APNs).
      const Area& by = areas[2];
      std::string arr = adapters::postgres::RegionsArray(AncestorKeys(by.municipalities));
      std::vector<double> pages;
      size_t total = 0;
      auto t0 = Clock::now();
      for (size_t offset = 0;; offset += 50000) {
        auto tp = Clock::now();
        auto res = conn->Exec(query + " ORDER BY device_id LIMIT 50000 OFFSET $4",
                              {"0", arr, std::to_string(kLevel), std::to_string(offset)});
        if (!res) {
          std::fprintf(stderr, "%s\n", res.error().message.c_str());
          return 2;
        }
        pages.push_back(Since(tp) * 1e3);
        total += static_cast<size_t>(res->rows());
        if (res->rows() < 50000) break;
        if (static_cast<int>(pages.size()) >= o.pg_pages) {
          std::printf("   (stopped after %d pages, --pg-pages)\n", o.pg_pages);
          break;
        }
      }
      double all_ms = Since(t0) * 1e3;
      std::printf(
          "\n## the original's paging (Bayern, APNs, LIMIT 50000 OFFSET k): %zu rows in %zu "
          "pages, %.1f s total; page min/median/max %.0f/%.0f/%.0f ms; index whole Bayern "
          "alert %.1f ms => %.0fx\n",
          total, pages.size(), all_ms / 1e3, *std::min_element(pages.begin(), pages.end()),
          Median(pages), *std::max_element(pages.begin(), pages.end()), index_alert_ms[by.name],
          all_ms / index_alert_ms[by.name]);
    }
  }
  std::printf("\n(checksum %llu)\n", static_cast<unsigned long long>(sink));
  return 0;
}
