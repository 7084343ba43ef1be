#include "adapters/sqlite/sqlite_journals.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "adapters/sqlite/sqlite_db.hpp"
#include "domain/pipeline/codec.hpp"

namespace fanout::adapters::sqlite {

namespace {
int64_t EpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
constexpr uint64_t kPruneEvery = 4096;  // finished messages between two prunes
constexpr int kGatherMs = 5;            // longest wait for more writes without a waiter
constexpr size_t kGatherMax = 512;      // writes that end the wait early
constexpr uint64_t kMarksTruncateBytes = 64 * 1024;  // marks file size worth a truncation
// 4 KiB pages: batches are journaled as device ids (≈ 5 KB for 500), so few rows overflow;
// 64 KiB pages (chosen while batches carried their tokens, 50-100 KB) made every commit
// write and free whole 64 KiB buffers (malloc_consolidate in the profile) and measured
// 3-9 % slower end to end after the change (BENCHMARKS.md, "Durability").
// A checkpoint every 16,384 WAL pages (64 MiB) instead of 1,000: hot pages are copied into
// the database once per checkpoint, not once per 4 MiB of WAL (+4 % in the demo).
// Only the indexes the writes need: msg_id (dedup, updates by id). Unfinished messages are
// read at start by a scan in seq (rowid) order; events are deduplicated by the in-memory log
// before they reach the journal (keys rebuilt from the bodies at start), so `key` is kept
// for inspection but not indexed. Files created before keep their extra indexes (same SQL).
constexpr const char* kSchema =
    "PRAGMA page_size=4096;"
    "PRAGMA wal_autocheckpoint=16384;"
    "CREATE TABLE IF NOT EXISTS messages("
    " seq INTEGER PRIMARY KEY,"
    " msg_id TEXT NOT NULL UNIQUE,"
    " subject TEXT NOT NULL,"
    " payload BLOB,"  // NULL once finished
    " due_ms INTEGER NOT NULL,"
    " deliveries INTEGER NOT NULL DEFAULT 0,"
    " finished_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS events("
    " position INTEGER PRIMARY KEY,"
    " key TEXT NOT NULL,"
    " alert_id TEXT NOT NULL,"
    " body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS plans("
    " alert_id TEXT PRIMARY KEY,"
    " sender TEXT NOT NULL,"
    " sent TEXT NOT NULL,"
    " body TEXT NOT NULL);";

bool Done(StatementUse& st) { return st.Step() == SQLITE_DONE; }
}  // namespace

struct SqliteState::Waiter {
  bool done = false;
  bool ok = false;
  std::string error;
};

SqliteState::SqliteState(const std::filesystem::path& file, int64_t bus_retention_ms)
    : db_(std::make_unique<Db>(file, kSchema)),
      retention_ms_(bus_retention_ms),
      marks_path_(file.string() + "-marks") {
  FoldMarks();
  marks_fd_ = ::open(marks_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (marks_fd_ < 0) {
    throw std::runtime_error("cannot open " + marks_path_.string() + ": " + std::strerror(errno));
  }
  writer_ = std::thread([this] { WriterLoop(); });
}

void SqliteState::FoldMarks() {
  std::ifstream in(marks_path_);
  if (!in) return;
  // "deliveries<TAB>msg_id\n" per mark; a last line without its newline is a torn write of
  // a crashed process (its handler never ran: the write came first) and is ignored.
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!db_->Exec("BEGIN IMMEDIATE")) {
    throw std::runtime_error("cannot fold " + marks_path_.string() + ": " +
                             db_->LastError("begin").message);
  }
  for (size_t pos = 0; pos < content.size();) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string_view line(content.data() + pos, nl - pos);
    pos = nl + 1;
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    StatementUse st(
        db_->Statement("UPDATE messages SET deliveries=max(deliveries, ?) WHERE msg_id=?"));
    st.Bind(1, static_cast<int64_t>(
                   std::strtoll(std::string(line.substr(0, tab)).c_str(), nullptr, 10)));
    st.Bind(2, line.substr(tab + 1));
    if (!Done(st)) {
      (void)db_->Exec("ROLLBACK");
      throw std::runtime_error("cannot fold " + marks_path_.string() + ": " +
                               db_->LastError("update").message);
    }
  }
  if (!db_->Exec("COMMIT")) {
    (void)db_->Exec("ROLLBACK");
    throw std::runtime_error("cannot fold " + marks_path_.string());
  }
  in.close();
  std::filesystem::resize_file(marks_path_, 0);
}

SqliteState::~SqliteState() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  writer_cv_.notify_all();
  writer_.join();
  if (marks_fd_ >= 0) ::close(marks_fd_);
}

void SqliteState::EnqueueLocked(Op op) {
  queue_.emplace_back(std::move(op), nullptr);
  // Nobody waits for this write: wake the writer only from idle, or when enough gathered
  // (a wake-up per write costs more than the write).
  wake_writer_ = writer_state_ == WriterState::kIdle ||
                 (writer_state_ == WriterState::kGathering && queue_.size() >= kGatherMax);
}

void SqliteState::Enqueue(Op op) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    EnqueueLocked(std::move(op));
    wake = wake_writer_;
  }
  if (wake) writer_cv_.notify_one();
}

Result<void, Error> SqliteState::AppendMark(const std::string& msg_id, uint32_t deliveries) {
  std::string line = std::to_string(deliveries) + '\t' + msg_id + '\n';
  bool wake;
  {
    std::lock_guard lock(mu_);
    ssize_t n = ::write(marks_fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
      std::string why = n < 0 ? std::strerror(errno) : "short write";
      // End a torn line so that the next mark starts on its own (FoldMarks skips the torn one).
      if (n > 0 && ::write(marks_fd_, "\n", 1) != 1) why += " (the line stays torn)";
      return Fail(Error{Error::Kind::kRetryLater, marks_path_.string() + ": " + why});
    }
    marks_bytes_ += line.size();
    EnqueueLocked([msg_id, deliveries](Db& db) {
      StatementUse st(db.Statement("UPDATE messages SET deliveries=? WHERE msg_id=?"));
      st.Bind(1, static_cast<int64_t>(deliveries));
      st.Bind(2, msg_id);
      return Done(st);
    });
    wake = wake_writer_;
  }
  if (wake) writer_cv_.notify_one();
  return {};
}

Result<void, Error> SqliteState::EnqueueAndWait(Op op) {
  auto waiter = std::make_shared<Waiter>();
  std::unique_lock lock(mu_);
  if (stopping_) return Fail(Error{Error::Kind::kRetryLater, "state.db: writer stopped"});
  queue_.emplace_back(std::move(op), waiter);
  if (writer_state_ != WriterState::kBusy) writer_cv_.notify_one();
  done_cv_.wait(lock, [&] { return waiter->done; });
  if (!waiter->ok) return Fail(Error{Error::Kind::kRetryLater, "state.db: " + waiter->error});
  return {};
}

Result<void, Error> SqliteState::Flush() {
  return EnqueueAndWait([](Db&) { return true; });
}

void SqliteState::WriterLoop() {
  pthread_setname_np(pthread_self(), "state-writer");
  std::unique_lock lock(mu_);
  for (;;) {
    writer_state_ = WriterState::kIdle;
    writer_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, everything committed
    // Nobody waits for these writes (acknowledgements, events, plans: ordered, not urgent):
    // let more gather for up to kGatherMs, unless somebody starts waiting or many queue up.
    auto someone_waits = [&] {
      if (stopping_ || queue_.size() >= kGatherMax) return true;
      for (const auto& [_, waiter] : queue_) {
        if (waiter) return true;
      }
      return false;
    };
    writer_state_ = WriterState::kGathering;
    writer_cv_.wait_for(lock, std::chrono::milliseconds(kGatherMs), someone_waits);
    writer_state_ = WriterState::kBusy;
    std::deque<std::pair<Op, std::shared_ptr<Waiter>>> batch;
    batch.swap(queue_);
    const uint64_t marks_in_batch = marks_bytes_;  // every mark so far has its update here
    lock.unlock();
    // One transaction for everything that queued up meanwhile (group commit).
    bool ok = db_->Exec("BEGIN IMMEDIATE").has_value();
    std::string error;
    if (ok) {
      for (auto& [op, _] : batch) {
        if (!op(*db_)) {
          ok = false;
          error = db_->LastError("write").message;
          break;
        }
      }
    } else {
      error = db_->LastError("begin").message;
    }
    if (ok) {
      auto committed = db_->Exec("COMMIT");
      if (!committed) {
        ok = false;
        error = committed.error().message;
      }
    }
    if (!ok) {
      (void)db_->Exec("ROLLBACK");
      std::fprintf(stderr, "state.db: a transaction of %zu writes failed: %s\n", batch.size(),
                   error.c_str());
    }
    lock.lock();
    transactions_ += ok;
    writes_ += ok ? batch.size() : 0;
    failures_ += ok ? 0 : 1;
    last_error_ = ok ? "" : error;
    // Every mark in the file is committed now (none appended since the swap): empty it.
    if (ok && marks_bytes_ >= kMarksTruncateBytes && marks_bytes_ == marks_in_batch) {
      if (::ftruncate(marks_fd_, 0) == 0) marks_bytes_ = 0;
    }
    bool waiters = false;
    for (auto& [_, waiter] : batch) {
      if (!waiter) continue;
      waiter->done = true;
      waiter->ok = ok;
      waiter->error = error;
      waiters = true;
    }
    if (waiters) done_cv_.notify_all();
  }
}

uint64_t SqliteState::write_failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}
uint64_t SqliteState::transactions() const {
  std::lock_guard lock(mu_);
  return transactions_;
}
uint64_t SqliteState::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

// --- bus ---

void SqliteState::BusView::Add(const ports::BusMessage& msg, int64_t due_epoch_ms) {
  ports::BusMessage m;  // only what is stored
  m.msg_id = msg.msg_id;
  m.subject = msg.subject;
  if (msg.durable_payload.empty()) {
    m.payload = msg.payload;
  } else {
    m.durable_payload = msg.durable_payload;
  }
  s_.Enqueue([m = std::move(m), due_epoch_ms](Db& db) {
    StatementUse st(db.Statement(
        "INSERT OR IGNORE INTO messages(msg_id, subject, payload, due_ms) VALUES(?,?,?,?)"));
    st.Bind(1, m.msg_id);
    st.Bind(2, m.subject);
    st.Bind(3, m.durable_payload.empty() ? m.payload : m.durable_payload);
    st.Bind(4, due_epoch_ms);
    return Done(st);
  });
}

Result<void, Error> SqliteState::BusView::Delivered(const std::string& msg_id, uint32_t deliveries,
                                                    bool wait) {
  if (wait) return s_.AppendMark(msg_id, deliveries);  // durable now, committed later
  s_.Enqueue([msg_id, deliveries](Db& db) {
    StatementUse st(db.Statement("UPDATE messages SET deliveries=? WHERE msg_id=?"));
    st.Bind(1, static_cast<int64_t>(deliveries));
    st.Bind(2, msg_id);
    return Done(st);
  });
  return {};
}

void SqliteState::BusView::Rescheduled(const std::string& msg_id, int64_t due_epoch_ms) {
  s_.Enqueue([msg_id, due_epoch_ms](Db& db) {
    StatementUse st(db.Statement("UPDATE messages SET due_ms=? WHERE msg_id=?"));
    st.Bind(1, due_epoch_ms);
    st.Bind(2, msg_id);
    return Done(st);
  });
}

void SqliteState::BusView::Finished(const std::string& msg_id) {
  s_.Enqueue([this, msg_id](Db& db) {
    {
      StatementUse st(
          db.Statement("UPDATE messages SET finished_ms=?, payload=NULL WHERE msg_id=?"));
      st.Bind(1, EpochMs());
      st.Bind(2, msg_id);
      if (!Done(st)) return false;
    }
    // Runs on the writer thread only: no lock needed for the counter.
    if (++s_.finished_since_prune_ < kPruneEvery) return true;
    s_.finished_since_prune_ = 0;
    StatementUse prune(db.Statement("DELETE FROM messages WHERE finished_ms < ?"));
    prune.Bind(1, EpochMs() - s_.retention_ms_);
    return Done(prune);
  });
}

Result<std::vector<memory::BusJournal::Unfinished>, Error> SqliteState::BusView::LoadUnfinished() {
  std::vector<Unfinished> out;
  auto read = s_.EnqueueAndWait([&out](Db& db) {
    StatementUse st(
        db.Statement("SELECT msg_id, subject, payload, due_ms, deliveries FROM messages"
                     " WHERE finished_ms IS NULL ORDER BY seq"));
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      Unfinished u;
      u.message.msg_id = std::string(st.Text(0));
      u.message.subject = std::string(st.Text(1));
      u.message.payload = std::string(st.Text(2));
      u.due_epoch_ms = st.Int(3);
      u.message.deliveries = static_cast<uint32_t>(st.Int(4));
      out.push_back(std::move(u));
    }
    return rc == SQLITE_DONE;
  });
  if (!read) return Fail(std::move(read.error()));
  return out;
}

Result<std::vector<std::string>, Error> SqliteState::BusView::LoadFinishedIds() {
  std::vector<std::string> out;
  auto read = s_.EnqueueAndWait([&out](Db& db) {
    StatementUse st(
        db.Statement("SELECT msg_id FROM messages WHERE finished_ms IS NOT NULL ORDER BY seq"));
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.emplace_back(st.Text(0));
    return rc == SQLITE_DONE;
  });
  if (!read) return Fail(std::move(read.error()));
  return out;
}

// --- protocol log ---

Result<void, Error> SqliteState::LogView::Write(uint64_t position, const std::string& key,
                                                const domain::pipeline::Event& e) {
  s_.Enqueue(
      [position, key, alert_id = e.alert_id, body = domain::pipeline::EncodeEvent(e)](Db& db) {
        StatementUse st(
            db.Statement("INSERT INTO events(position, key, alert_id, body) VALUES(?,?,?,?)"));
        st.Bind(1, static_cast<int64_t>(position));
        st.Bind(2, key);
        st.Bind(3, alert_id);
        st.Bind(4, body);
        return Done(st);
      });
  return {};
}

Result<std::vector<domain::pipeline::Event>, Error> SqliteState::LogView::LoadAll() {
  std::vector<domain::pipeline::Event> out;
  std::string problem;
  auto read = s_.EnqueueAndWait([&](Db& db) {
    StatementUse st(db.Statement("SELECT position, body FROM events ORDER BY position"));
    int rc;
    int64_t expected = 1;
    while ((rc = st.Step()) == SQLITE_ROW) {
      if (st.Int(0) != expected) {
        problem = "position " + std::to_string(expected) + " is missing (found " +
                  std::to_string(st.Int(0)) + ")";
        return true;
      }
      auto e = domain::pipeline::DecodeEvent(st.Text(1));
      if (!e) {
        problem = "the event at position " + std::to_string(expected) + " cannot be decoded";
        return true;
      }
      out.push_back(std::move(*e));
      ++expected;
    }
    return rc == SQLITE_DONE;
  });
  if (!read) return Fail(std::move(read.error()));
  if (!problem.empty()) return Fail(Error{Error::Kind::kInternal, "state.db events: " + problem});
  return out;
}

// --- plans ---

Result<void, Error> SqliteState::PlanView::Write(const domain::pipeline::AlertPlan& plan) {
  s_.Enqueue([alert_id = plan.alert_id, sender = plan.sender, sent = plan.sent,
              body = domain::pipeline::EncodePlan(plan)](Db& db) {
    StatementUse st(
        db.Statement("INSERT OR IGNORE INTO plans(alert_id, sender, sent, body) VALUES(?,?,?,?)"));
    st.Bind(1, alert_id);
    st.Bind(2, sender);
    st.Bind(3, sent);
    st.Bind(4, body);
    return Done(st);
  });
  return {};
}

Result<std::vector<domain::pipeline::AlertPlan>, Error> SqliteState::PlanView::LoadAll() {
  std::vector<domain::pipeline::AlertPlan> out;
  std::string problem;
  auto read = s_.EnqueueAndWait([&](Db& db) {
    StatementUse st(db.Statement("SELECT alert_id, body FROM plans ORDER BY rowid"));
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      auto p = domain::pipeline::DecodePlan(st.Text(1));
      if (!p) {
        problem = "the plan of " + std::string(st.Text(0)) + " cannot be decoded";
        return true;
      }
      out.push_back(std::move(*p));
    }
    return rc == SQLITE_DONE;
  });
  if (!read) return Fail(std::move(read.error()));
  if (!problem.empty()) return Fail(Error{Error::Kind::kInternal, "state.db plans: " + problem});
  return out;
}

}  // namespace fanout::adapters::sqlite
