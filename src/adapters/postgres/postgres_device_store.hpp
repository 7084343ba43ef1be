#pragma once
// DeviceStore on PostgreSQL (distributed mode, DESIGN §6): the system of record shared by
// the region's processes. Schema by versioned migrations (migrations.hpp), bulk writes by
// COPY into a temporary table and one INSERT ... ON CONFLICT, start-up load by COPY TO
// STDOUT (streamed, not materialised). One connection guarded by a mutex: the hot read path
// (selection) runs on the in-memory index, not here. Thread-safe.
#include <mutex>
#include <string>

#include "adapters/postgres/pg.hpp"
#include "ports/device_store.hpp"

namespace fanout::adapters::postgres {

class PostgresDeviceStore final : public ports::DeviceStore {
 public:
  /// Connects (libpq conninfo or URI; "" = PG* environment) and applies the migrations;
  /// throws std::runtime_error on failure (start-up only).
  explicit PostgresDeviceStore(const std::string& conninfo);

  Result<bool, Error> Upsert(const domain::device::Device& d) override;
  Result<void, Error> UpsertMany(std::span<const domain::device::Device> devices) override;
  Result<bool, Error> Remove(const std::string& device_id) override;
  Result<std::optional<domain::device::Device>, Error> Get(const std::string& device_id) override;
  Result<size_t, Error> LoadAll(const std::function<void(domain::device::Device&&)>& fn) override;

 private:
  std::mutex mu_;
  PgConnection conn_;
};

/// Codecs shared with benchmarks and tests: levels as a jsonb object text, regions as a
/// text[] literal.
std::string LevelsJson(const std::map<std::string, int>& levels);
std::map<std::string, int> ParseLevelsJson(std::string_view json);
std::string RegionsArray(const std::vector<std::string>& regions);
std::vector<std::string> ParseRegionsArray(std::string_view literal);
/// One COPY text line (with newline) for the columns device_id, platform, token, levels,
/// mylocation, regions.
void AppendCopyRow(const domain::device::Device& d, std::string& out);

}  // namespace fanout::adapters::postgres
