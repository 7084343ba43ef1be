#pragma once
// The embedded engine's durable state (DESIGN §6: SQLite in WAL mode, no server): one
// database file (`state.db`) holding the journals behind the in-process bus, protocol log and
// plan store of adapters/memory:
//   messages — every queued work item until it is acknowledged (then its id only, for
//              dedup, pruned after `bus_retention_ms`)
//   events   — the protocol events, in append order, with their idempotency keys
//   plans    — the plans, by alert id
// One writer thread applies all writes in call order with group commit: whatever has queued
// up while a transaction committed goes into the next one. So a handler's published
// messages, events and plans are always durable before its acknowledgement (same order,
// same file, atomic transactions), and callers that need durability now — ingest before it
// answers 202 — wait for the commit that carries their write, shared with everybody else's.
// Delivery marks (written before a push handler runs) do not wait for a commit: each is one
// append to `state.db-marks` (a write(2), durable against kill -9 like the WAL) and an
// ordinary queued update; the file is folded into the database at the next start and
// truncated whenever every mark in it is committed.
// WAL with synchronous=NORMAL: a committed transaction survives kill -9 of the process (it
// is in the WAL, which the next open replays); an operating-system crash or power loss may
// lose the last few transactions. The constructor throws std::runtime_error if the file
// cannot be opened (start-up only). Thread-safe.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "adapters/memory/memory_bus.hpp"
#include "adapters/memory/memory_plan_store.hpp"
#include "adapters/memory/memory_protocol_log.hpp"

namespace fanout::adapters::sqlite {

class Db;  // sqlite_db.hpp

class SqliteState {
 public:
  explicit SqliteState(const std::filesystem::path& file,
                       int64_t bus_retention_ms = 24LL * 3600 * 1000);
  /// Commits what is queued, then stops the writer.
  ~SqliteState();
  SqliteState(const SqliteState&) = delete;
  SqliteState& operator=(const SqliteState&) = delete;

  memory::BusJournal& bus() { return bus_; }
  memory::LogJournal& log() { return log_; }
  memory::PlanJournal& plans() { return plans_; }

  /// Waits until every write queued before the call is committed.
  Result<void, Error> Flush();
  /// Transactions that failed (their writes are lost; also logged). After one, Flush and
  /// the waiting calls answer with the error until a later transaction succeeds.
  uint64_t write_failures() const;
  /// Transactions committed, and writes carried by them (group-commit ratio).
  uint64_t transactions() const;
  uint64_t writes() const;

 private:
  using Op = std::function<bool(Db&)>;  // false: the statement failed
  struct Waiter;
  void Enqueue(Op op);
  void EnqueueLocked(Op op);  // mu_ held; true: wake the writer
  /// Appends a delivery mark to the marks file and queues its update (one step under mu_).
  Result<void, Error> AppendMark(const std::string& msg_id, uint32_t deliveries);
  /// At start: applies the marks file to `messages` and empties it.
  void FoldMarks();
  Result<void, Error> EnqueueAndWait(Op op);
  void WriterLoop();

  class BusView final : public memory::BusJournal {
   public:
    explicit BusView(SqliteState& s) : s_(s) {}
    void Add(const ports::BusMessage& m, int64_t due_epoch_ms) override;
    Result<void, Error> Delivered(const std::string& msg_id, uint32_t deliveries,
                                  bool wait) override;
    void Rescheduled(const std::string& msg_id, int64_t due_epoch_ms) override;
    void Finished(const std::string& msg_id) override;
    Result<void, Error> Flush() override { return s_.Flush(); }
    Result<std::vector<Unfinished>, Error> LoadUnfinished() override;
    Result<std::vector<std::string>, Error> LoadFinishedIds() override;

   private:
    SqliteState& s_;
  };
  class LogView final : public memory::LogJournal {
   public:
    explicit LogView(SqliteState& s) : s_(s) {}
    Result<void, Error> Write(uint64_t position, const std::string& key,
                              const domain::pipeline::Event& e) override;
    Result<void, Error> Flush() override { return s_.Flush(); }
    Result<std::vector<domain::pipeline::Event>, Error> LoadAll() override;

   private:
    SqliteState& s_;
  };
  class PlanView final : public memory::PlanJournal {
   public:
    explicit PlanView(SqliteState& s) : s_(s) {}
    Result<void, Error> Write(const domain::pipeline::AlertPlan& plan) override;
    Result<std::vector<domain::pipeline::AlertPlan>, Error> LoadAll() override;

   private:
    SqliteState& s_;
  };

  std::unique_ptr<Db> db_;  // used by the writer thread only (and by loads, through it)
  int64_t retention_ms_;
  BusView bus_{*this};
  LogView log_{*this};
  PlanView plans_{*this};

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;  // the writer waits for work (woken sparingly)
  std::condition_variable done_cv_;    // callers wait for their commit
  enum class WriterState { kBusy, kIdle, kGathering } writer_state_ = WriterState::kBusy;
  std::deque<std::pair<Op, std::shared_ptr<Waiter>>> queue_;
  bool stopping_ = false;
  std::string last_error_;  // of the last failed transaction, cleared by a good one
  std::filesystem::path marks_path_;
  int marks_fd_ = -1;         // O_APPEND; written and truncated under mu_
  uint64_t marks_bytes_ = 0;  // appended since the last truncation
  bool wake_writer_ = false;  // set by EnqueueLocked
  uint64_t failures_ = 0, transactions_ = 0, writes_ = 0, finished_since_prune_ = 0;
  std::thread writer_;
};

}  // namespace fanout::adapters::sqlite
