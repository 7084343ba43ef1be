#pragma once
// DeviceStore on PostgreSQL (distributed mode, DESIGN §6): the system of record shared by
// the region's processes. Schema by versioned migrations (migrations.hpp), versioned writes
// (ports::Supersedes, tombstones) by COPY into a temporary table and one statement that keeps
// the newest change per device and applies it where it supersedes the row or tombstone,
// start-up load by COPY TO
// STDOUT (streamed, not materialised). One connection guarded by a mutex: the hot read path
// (selection) runs on the in-memory index, not here. Thread-safe.
#include <mutex>
#include <string>

#include "adapters/postgres/pg.hpp"
#include "ports/device_store.hpp"

namespace fanout::adapters::postgres {

class PostgresDeviceStore final : public ports::DeviceStore {
 public:
  /// Connects (libpq conninfo or URI; "" = PG* environment) and applies the migrations —
  /// or, with `migrate` false (an application role that may not change the schema), checks
  /// that they are all applied; throws std::runtime_error on failure (start-up only).
  explicit PostgresDeviceStore(const std::string& conninfo, bool migrate = true);

  Result<std::vector<ports::Applied>, Error> Apply(std::span<const ports::DeviceUpdate> changes,
                                                   uint64_t feed_position) override;
  Result<ports::DeviceSyncState, Error> SyncState() override;
  /// One round trip (`SELECT 1`), reconnecting if needed (readiness).
  Result<void, Error> Ping();
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
/// One COPY text line for a change: ord, removed, version, origin, then the device columns
/// (a removal carries the id and empty defaults).
void AppendChangeRow(size_t ord, const ports::DeviceUpdate& u, std::string& out);

}  // namespace fanout::adapters::postgres
