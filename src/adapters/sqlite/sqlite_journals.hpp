#pragma once
// The embedded engine's durable state (DESIGN §6: SQLite in WAL mode, no server): journals
// behind the in-process bus, protocol log and plan store of adapters/memory. Each journal is
// its own database file, so the three write paths never wait for each other's lock:
//   bus.db       — every queued work item until it is acknowledged (then its id only, for
//                  dedup, pruned after `bus_retention_ms`)
//   protocol.db  — the protocol events, in append order, with their idempotency keys
//   plans.db     — the plans, by alert id
// WAL with synchronous=NORMAL: a committed write survives kill -9 of the process (it is in
// the WAL, which the next open replays); an operating-system crash or power loss may lose
// the last few transactions. Each class opens its file in the constructor and throws
// std::runtime_error if it cannot (start-up only). Thread-safe (one connection and a mutex
// each).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

#include "adapters/memory/memory_bus.hpp"
#include "adapters/memory/memory_plan_store.hpp"
#include "adapters/memory/memory_protocol_log.hpp"

namespace fanout::adapters::sqlite {

class Db;  // sqlite_db.hpp

class SqliteBusJournal final : public memory::BusJournal {
 public:
  explicit SqliteBusJournal(const std::filesystem::path& file,
                            int64_t retention_ms = 24LL * 3600 * 1000);
  ~SqliteBusJournal() override;

  Result<bool, Error> Add(const ports::BusMessage& m, int64_t due_epoch_ms) override;
  void Delivered(const std::string& msg_id, uint32_t deliveries) override;
  void Rescheduled(const std::string& msg_id, int64_t due_epoch_ms) override;
  void Finished(const std::string& msg_id) override;
  Result<std::vector<Unfinished>, Error> LoadUnfinished() override;
  /// Write failures of the void calls (counted, also logged): a failed Delivered or
  /// Finished only means a message may be delivered once more after a crash.
  uint64_t write_failures() const;

 private:
  void Prune();  // requires mu_
  std::unique_ptr<Db> db_;
  int64_t retention_ms_;
  mutable std::mutex mu_;
  uint64_t finished_since_prune_ = 0;
  uint64_t write_failures_ = 0;
};

class SqliteLogJournal final : public memory::LogJournal {
 public:
  explicit SqliteLogJournal(const std::filesystem::path& file);
  ~SqliteLogJournal() override;
  Result<void, Error> Write(uint64_t position, const std::string& key,
                            const domain::pipeline::Event& e) override;
  Result<std::vector<domain::pipeline::Event>, Error> LoadAll() override;

 private:
  std::unique_ptr<Db> db_;
  std::mutex mu_;
};

class SqlitePlanJournal final : public memory::PlanJournal {
 public:
  explicit SqlitePlanJournal(const std::filesystem::path& file);
  ~SqlitePlanJournal() override;
  Result<void, Error> Write(const domain::pipeline::AlertPlan& plan) override;
  Result<std::vector<domain::pipeline::AlertPlan>, Error> LoadAll() override;

 private:
  std::unique_ptr<Db> db_;
  std::mutex mu_;
};

}  // namespace fanout::adapters::sqlite
