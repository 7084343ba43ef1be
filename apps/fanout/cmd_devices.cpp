// `fanout devices generate|import|export` (DESIGN §7.1, docs/devices.md "line format").
// Files are JSON lines with the API's device fields, one device per line:
//   {"device_id":"dev-1","platform":"apns","token":"…","levels":{"AP1":2},"mylocation":false,
//    "regions":["055150000000"]}
// `import` validates every line like the API does (form, providers, levels, region keys
// that exist in the geo data), skips and reports bad lines, and writes the rest into the
// SQLite store of a region data dir in batches (one transaction each). Progress and rate
// go to stderr. Exit codes: 0 ok, 1 some lines were invalid (the valid ones are imported),
// 2 usage, I/O or store error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "adapters/geofiles/geo_files.hpp"
#include "adapters/sqlite/sqlite_device_store.hpp"
#if FANOUT_HAVE_DISTRIBUTED
#include "adapters/postgres/postgres_device_store.hpp"
#endif
#include "app/device_generator.hpp"
#include "app/device_json.hpp"
#include "app/settings.hpp"
#include "commands.hpp"
#include "paths.hpp"

namespace fanout::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// "\r<what> [#######.........]  45%  4500000  812k/s" at most every 200 ms: `count` items
// done, the bar from `position` of `total` (items, or bytes of the input); no bar when the
// total is unknown. Done() ends the line with a summary.
class Progress {
 public:
  Progress(std::string what, uint64_t total) : what_(std::move(what)), total_(total) {}
  void Update(uint64_t count, uint64_t position) {
    auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    Draw(count, position);
  }
  void Done(uint64_t count, const char* unit) {
    Draw(count, total_);
    double s = std::chrono::duration<double>(Clock::now() - start_).count();
    std::fprintf(stderr, "\n%s: %llu %s in %.2f s (%.0f/s)\n", what_.c_str(),
                 static_cast<unsigned long long>(count), unit, s,
                 s > 0 ? static_cast<double>(count) / s : 0.0);
  }

 private:
  void Draw(uint64_t count, uint64_t position) {
    double s = std::chrono::duration<double>(Clock::now() - start_).count();
    double rate = s > 0 ? static_cast<double>(count) / s : 0;
    std::string bar;
    if (total_ > 0) {
      double f = std::min(1.0, static_cast<double>(position) / static_cast<double>(total_));
      int filled = static_cast<int>(32 * f);
      bar = " [" + std::string(filled, '#') + std::string(32 - filled, '.') + "] " +
            std::to_string(static_cast<int>(100 * f)) + "%";
    }
    std::fprintf(stderr, "\r%s%s  %llu  %.0fk/s   ", what_.c_str(), bar.c_str(),
                 static_cast<unsigned long long>(count), rate / 1000);
    std::fflush(stderr);
  }
  std::string what_;
  uint64_t total_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
};

std::optional<domain::geo::GeoCatalog> LoadCatalog(const std::string& geo_dir, const char* cmd) {
  fs::path dir;
  if (!geo_dir.empty()) {
    dir = geo_dir;
  } else if (auto data = FindDataDir(std::string("devices ") + cmd)) {
    dir = *data / "geo";
  } else {
    return std::nullopt;
  }
  auto catalog = adapters::geofiles::LoadGeoCatalog(dir);
  if (!catalog) {
    std::cerr << "fanout devices " << cmd << ": " << catalog.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*catalog);
}

// Output file or stdout; nullptr (after a message) when it cannot be opened.
std::ostream* OpenOut(const std::string& path, std::ofstream& file, const char* cmd) {
  if (path.empty() || path == "-") return &std::cout;
  file.open(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    std::cerr << "fanout devices " << cmd << ": cannot write " << path << "\n";
    return nullptr;
  }
  return &file;
}

// The store a command works on: a region's SQLite file (`--data-dir`) or the PostgreSQL of a
// distributed region (`--postgres URL`). Null after printing the reason.
std::unique_ptr<ports::DeviceStore> OpenStore(const std::string& data_dir,
                                              const std::string& postgres, const char* what,
                                              bool must_exist) {
  if (data_dir.empty() == postgres.empty()) {
    std::cerr << "fanout devices " << what << ": give either --data-dir or --postgres\n";
    return nullptr;
  }
  try {
    if (!postgres.empty()) {
#if FANOUT_HAVE_DISTRIBUTED
      return std::make_unique<adapters::postgres::PostgresDeviceStore>(postgres);
#else
      std::cerr << "fanout devices " << what << ": this build has no PostgreSQL support\n";
      return nullptr;
#endif
    }
    fs::path db = fs::path(data_dir) / "devices.db";
    if (must_exist && !fs::exists(db)) {
      std::cerr << "fanout devices " << what << ": no device store at " << db << "\n";
      return nullptr;
    }
    return std::make_unique<adapters::sqlite::SqliteDeviceStore>(db);
  } catch (const std::exception& e) {
    std::cerr << "fanout devices " << what << ": " << e.what() << "\n";
    return nullptr;
  }
}

// Writes devices into a store in transactions, versioned like registrations
// (ports::DeviceUpdate): after every version the store holds, so a write replaces older
// registrations and a running region's feed orders it.
class VersionedWriter {
 public:
  VersionedWriter(ports::DeviceStore& store, const char* what) : store_(store), what_(what) {}
  bool Start() {
    auto sync = store_.SyncState();
    if (!sync) {
      std::cerr << "fanout devices " << what_ << ": " << sync.error().message << "\n";
      return false;
    }
    version_ = std::max(sync->max_version, ports::WallClockVersion());
    return true;
  }
  /// One transaction; empties `batch`.
  bool Write(std::vector<domain::device::Device>& batch) {
    if (batch.empty()) return true;
    changes_.clear();
    for (auto& d : batch) {
      std::string id = d.id;
      changes_.push_back({std::move(id), std::move(d), "import", "import", ++version_});
    }
    batch.clear();
    if (auto r = store_.Apply(changes_, 0); !r) {
      std::cerr << "\nfanout devices " << what_ << ": store write failed: " << r.error().message
                << "\n";
      return false;
    }
    return true;
  }

 private:
  ports::DeviceStore& store_;
  const char* what_;
  uint64_t version_ = 0;
  std::vector<ports::DeviceUpdate> changes_;
};

struct GenerateArgs {
  uint64_t count = 0;
  uint64_t seed = 1;
  std::string out, geo_dir, data_dir, postgres;
};

int RunGenerate(const GenerateArgs& a) {
  auto catalog = LoadCatalog(a.geo_dir, "generate");
  if (!catalog) return 2;
  // Into a region's store (--data-dir or --postgres), else JSON lines to --out or stdout.
  const bool to_store = !a.data_dir.empty() || !a.postgres.empty();
  std::unique_ptr<ports::DeviceStore> store;
  std::optional<VersionedWriter> writer;
  std::ofstream file;
  std::ostream* out = nullptr;
  if (to_store) {
    if (!a.out.empty()) {
      std::cerr << "fanout devices generate: --out and a store (--data-dir, --postgres) "
                   "exclude each other\n";
      return 2;
    }
    store = OpenStore(a.data_dir, a.postgres, "generate", false);
    if (!store) return 2;
    writer.emplace(*store, "generate");
    if (!writer->Start()) return 2;
  } else {
    out = OpenOut(a.out, file, "generate");
    if (out == nullptr) return 2;
  }
  app::GeneratorSettings gen;
  gen.seed = a.seed;
  Progress progress("generate", a.count);
  std::string buf;
  constexpr uint64_t kChunk = 20000;
  for (uint64_t done = 0; done < a.count;) {
    uint64_t n = std::min(kChunk, a.count - done);
    auto devices = app::GenerateDevices(n, *catalog, gen, done);
    if (writer) {
      if (!writer->Write(devices)) return 2;
    } else {
      buf.clear();
      for (const auto& d : devices) {
        buf += app::DeviceToJson(d);
        buf += '\n';
      }
      out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
    }
    done += n;
    progress.Update(done, done);
  }
  if (out) {
    out->flush();
    if (!*out) {
      std::cerr << "fanout devices generate: write failed\n";
      return 2;
    }
  }
  progress.Done(a.count, "devices");
  return 0;
}

struct ImportArgs {
  std::string file, data_dir, postgres, geo_dir;
  size_t batch = 50000;
  bool check_keys = true;
};

int RunImport(const ImportArgs& a) {
  std::ifstream file;
  std::istream* in = &std::cin;
  uint64_t total_bytes = 0;
  if (a.file != "-") {
    file.open(a.file, std::ios::binary);
    if (!file) {
      std::cerr << "fanout devices import: cannot read " << a.file << "\n";
      return 2;
    }
    std::error_code ec;
    total_bytes = fs::file_size(a.file, ec);
    in = &file;
  }
  std::optional<domain::geo::GeoCatalog> catalog;
  if (a.check_keys && !(catalog = LoadCatalog(a.geo_dir, "import"))) return 2;
  std::unique_ptr<ports::DeviceStore> store = OpenStore(a.data_dir, a.postgres, "import", false);
  if (!store) return 2;
  const app::ProviderSettings providers;  // the configured set; `fanout config` has the same
  Progress progress("import", total_bytes);
  std::vector<domain::device::Device> batch;
  batch.reserve(a.batch);
  uint64_t line_no = 0, imported = 0, invalid = 0, bytes = 0;
  VersionedWriter writer(*store, "import");
  if (!writer.Start()) return 2;
  auto flush = [&]() {
    const size_t n = batch.size();
    if (!writer.Write(batch)) return false;
    imported += n;
    return true;
  };
  std::string line;
  while (std::getline(*in, line)) {
    ++line_no;
    bytes += line.size() + 1;
    if (line.empty()) continue;
    auto d = app::DeviceFromJson(line);
    std::vector<domain::cap::Issue> issues;
    if (!d) {
      issues.push_back(d.error());
    } else {
      issues = domain::device::ValidateDevice(*d, providers.known);
      if (catalog) {
        for (const auto& r : d->regions) {
          if (r.size() == 12 && !catalog->KnownKey(r)) {
            issues.push_back(
                {"UNKNOWN_REGION_KEY", "region key '" + r + "' is not in the geo data"});
          }
        }
      }
    }
    if (!issues.empty()) {
      ++invalid;
      std::cerr << "\nline " << line_no << ":";
      for (const auto& i : issues) std::cerr << " " << i.code << " (" << i.message << ")";
      std::cerr << "\n";
      continue;
    }
    batch.push_back(std::move(*d));
    if (batch.size() >= a.batch && !flush()) return 2;
    progress.Update(imported + batch.size(), bytes);
  }
  if (!flush()) return 2;
  progress.Done(imported, "devices");
  if (invalid > 0) {
    std::cerr << "fanout devices import: " << invalid << " invalid line(s) skipped\n";
    return 1;
  }
  return 0;
}

struct ExportArgs {
  std::string data_dir, postgres, out;
};

int RunExport(const ExportArgs& a) {
  std::unique_ptr<ports::DeviceStore> store = OpenStore(a.data_dir, a.postgres, "export", true);
  if (!store) return 2;
  std::ofstream file;
  std::ostream* out = OpenOut(a.out, file, "export");
  if (out == nullptr) return 2;
  Progress progress("export", 0);
  std::string buf;
  uint64_t n = 0;
  auto loaded = store->LoadAll([&](domain::device::Device&& d) {
    buf += app::DeviceToJson(d);
    buf += '\n';
    if (buf.size() > (1u << 20)) {
      out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
    ++n;
    progress.Update(n, n);
  });
  out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out->flush();
  if (!loaded) {
    std::cerr << "\nfanout devices export: " << loaded.error().message << "\n";
    return 2;
  }
  if (!*out) {
    std::cerr << "\nfanout devices export: write failed\n";
    return 2;
  }
  progress.Done(n, "devices");
  return 0;
}

}  // namespace

void RegisterDevicesCommands(CLI::App& app) {
  CLI::App* devices =
      app.add_subcommand("devices", "Device files (JSON lines) and the embedded device store");
  devices->require_subcommand(1);

  auto gen = std::make_shared<GenerateArgs>();
  CLI::App* g = devices->add_subcommand(
      "generate", "Write N realistic simulated devices over the real municipalities");
  g->add_option("--count", gen->count, "number of devices")->required();
  g->add_option("--seed", gen->seed, "random seed (same seed, same devices)");
  g->add_option("--out", gen->out, "output file (default stdout)");
  g->add_option("--geo-dir", gen->geo_dir, "geo data folder (default: data/geo)");
  g->add_option("--data-dir", gen->data_dir,
                "write into this region's devices.db instead of JSON lines");
  g->add_option("--postgres", gen->postgres,
                "write into the PostgreSQL of a distributed region (store.postgres_url) "
                "instead of JSON lines");
  g->callback([gen] { ExitCode() = RunGenerate(*gen); });

  auto imp = std::make_shared<ImportArgs>();
  CLI::App* i = devices->add_subcommand(
      "import", "Validate a JSON-lines file and write it into a region's device store");
  i->add_option("file", imp->file, "JSON-lines file, or - for stdin")->required();
  i->add_option("--data-dir", imp->data_dir, "region data dir (holds devices.db)");
  i->add_option("--postgres", imp->postgres,
                "PostgreSQL of a distributed region (store.postgres_url) instead of --data-dir");
  i->add_option("--batch", imp->batch, "devices per transaction")->check(CLI::Range(1, 10000000));
  i->add_option("--geo-dir", imp->geo_dir, "geo data folder for region-key checks");
  i->add_flag("!--no-key-check", imp->check_keys,
              "check region keys for form only (skip the geo data lookup)");
  i->callback([imp] { ExitCode() = RunImport(*imp); });

  auto exp = std::make_shared<ExportArgs>();
  CLI::App* e = devices->add_subcommand("export", "Write a region's device store as JSON lines");
  e->add_option("--data-dir", exp->data_dir, "region data dir (holds devices.db)");
  e->add_option("--postgres", exp->postgres,
                "PostgreSQL of a distributed region (store.postgres_url) instead of --data-dir");
  e->add_option("--out", exp->out, "output file (default stdout)");
  e->callback([exp] { ExitCode() = RunExport(*exp); });
}

}  // namespace fanout::cli
