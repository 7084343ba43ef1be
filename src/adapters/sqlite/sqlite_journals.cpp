#include "adapters/sqlite/sqlite_journals.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>

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
}  // namespace

// --- bus ---

SqliteBusJournal::SqliteBusJournal(const std::filesystem::path& file, int64_t retention_ms)
    : db_(std::make_unique<Db>(file,
                               "CREATE TABLE IF NOT EXISTS messages("
                               " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                               " msg_id TEXT NOT NULL UNIQUE,"
                               " subject TEXT NOT NULL,"
                               " payload BLOB,"  // NULL once finished
                               " due_ms INTEGER NOT NULL,"
                               " deliveries INTEGER NOT NULL DEFAULT 0,"
                               " finished_ms INTEGER);"
                               "CREATE INDEX IF NOT EXISTS messages_unfinished ON messages(seq)"
                               " WHERE finished_ms IS NULL;")),
      retention_ms_(retention_ms) {
  std::lock_guard lock(mu_);
  Prune();
}

SqliteBusJournal::~SqliteBusJournal() = default;

Result<bool, Error> SqliteBusJournal::Add(const ports::BusMessage& m, int64_t due_epoch_ms) {
  std::lock_guard lock(mu_);
  StatementUse st(db_->Statement(
      "INSERT OR IGNORE INTO messages(msg_id, subject, payload, due_ms) VALUES(?,?,?,?)"));
  st.Bind(1, m.msg_id);
  st.Bind(2, m.subject);
  st.Bind(3, m.payload);
  st.Bind(4, due_epoch_ms);
  if (st.Step() != SQLITE_DONE) return Fail(db_->LastError("journaling a message"));
  return sqlite3_changes(db_->handle()) == 1;
}

void SqliteBusJournal::Delivered(const std::string& msg_id, uint32_t deliveries) {
  std::lock_guard lock(mu_);
  StatementUse st(db_->Statement("UPDATE messages SET deliveries=? WHERE msg_id=?"));
  st.Bind(1, static_cast<int64_t>(deliveries));
  st.Bind(2, msg_id);
  if (st.Step() != SQLITE_DONE) {
    ++write_failures_;
    std::fprintf(stderr, "bus journal: %s\n", db_->LastError("delivery count").message.c_str());
  }
}

void SqliteBusJournal::Rescheduled(const std::string& msg_id, int64_t due_epoch_ms) {
  std::lock_guard lock(mu_);
  StatementUse st(db_->Statement("UPDATE messages SET due_ms=? WHERE msg_id=?"));
  st.Bind(1, due_epoch_ms);
  st.Bind(2, msg_id);
  if (st.Step() != SQLITE_DONE) {
    ++write_failures_;
    std::fprintf(stderr, "bus journal: %s\n", db_->LastError("reschedule").message.c_str());
  }
}

void SqliteBusJournal::Finished(const std::string& msg_id) {
  std::lock_guard lock(mu_);
  {
    StatementUse st(
        db_->Statement("UPDATE messages SET finished_ms=?, payload=NULL WHERE msg_id=?"));
    st.Bind(1, EpochMs());
    st.Bind(2, msg_id);
    if (st.Step() != SQLITE_DONE) {
      ++write_failures_;
      std::fprintf(stderr, "bus journal: %s\n", db_->LastError("acknowledge").message.c_str());
    }
  }
  if (++finished_since_prune_ >= kPruneEvery) Prune();
}

void SqliteBusJournal::Prune() {
  finished_since_prune_ = 0;
  StatementUse st(db_->Statement("DELETE FROM messages WHERE finished_ms < ?"));
  st.Bind(1, EpochMs() - retention_ms_);
  if (st.Step() != SQLITE_DONE) ++write_failures_;
}

Result<std::vector<memory::BusJournal::Unfinished>, Error> SqliteBusJournal::LoadUnfinished() {
  std::lock_guard lock(mu_);
  std::vector<Unfinished> out;
  StatementUse st(
      db_->Statement("SELECT msg_id, subject, payload, due_ms, deliveries FROM messages"
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
  if (rc != SQLITE_DONE) return Fail(db_->LastError("reading unfinished messages"));
  return out;
}

uint64_t SqliteBusJournal::write_failures() const {
  std::lock_guard lock(mu_);
  return write_failures_;
}

// --- protocol log ---

SqliteLogJournal::SqliteLogJournal(const std::filesystem::path& file)
    : db_(std::make_unique<Db>(file,
                               "CREATE TABLE IF NOT EXISTS events("
                               " position INTEGER PRIMARY KEY,"
                               " key TEXT NOT NULL UNIQUE,"
                               " alert_id TEXT NOT NULL,"
                               " body TEXT NOT NULL);")) {}

SqliteLogJournal::~SqliteLogJournal() = default;

Result<void, Error> SqliteLogJournal::Write(uint64_t position, const std::string& key,
                                            const domain::pipeline::Event& e) {
  const std::string body = domain::pipeline::EncodeEvent(e);
  std::lock_guard lock(mu_);
  StatementUse st(
      db_->Statement("INSERT INTO events(position, key, alert_id, body) VALUES(?,?,?,?)"));
  st.Bind(1, static_cast<int64_t>(position));
  st.Bind(2, key);
  st.Bind(3, e.alert_id);
  st.Bind(4, body);
  if (st.Step() != SQLITE_DONE) return Fail(db_->LastError("appending an event"));
  return {};
}

Result<std::vector<domain::pipeline::Event>, Error> SqliteLogJournal::LoadAll() {
  std::lock_guard lock(mu_);
  std::vector<domain::pipeline::Event> out;
  StatementUse st(db_->Statement("SELECT position, body FROM events ORDER BY position"));
  int rc;
  int64_t expected = 1;
  while ((rc = st.Step()) == SQLITE_ROW) {
    if (st.Int(0) != expected) {
      return Fail(Error{Error::Kind::kInternal,
                        "protocol.db: position " + std::to_string(expected) +
                            " is missing (found " + std::to_string(st.Int(0)) + ")"});
    }
    auto e = domain::pipeline::DecodeEvent(st.Text(1));
    if (!e) {
      return Fail(Error{
          Error::Kind::kInternal,
          "protocol.db: event at position " + std::to_string(expected) + " cannot be decoded"});
    }
    out.push_back(std::move(*e));
    ++expected;
  }
  if (rc != SQLITE_DONE) return Fail(db_->LastError("reading events"));
  return out;
}

// --- plans ---

SqlitePlanJournal::SqlitePlanJournal(const std::filesystem::path& file)
    : db_(std::make_unique<Db>(file,
                               "CREATE TABLE IF NOT EXISTS plans("
                               " alert_id TEXT PRIMARY KEY,"
                               " sender TEXT NOT NULL,"
                               " sent TEXT NOT NULL,"
                               " body TEXT NOT NULL);")) {}

SqlitePlanJournal::~SqlitePlanJournal() = default;

Result<void, Error> SqlitePlanJournal::Write(const domain::pipeline::AlertPlan& plan) {
  const std::string body = domain::pipeline::EncodePlan(plan);
  std::lock_guard lock(mu_);
  StatementUse st(
      db_->Statement("INSERT OR IGNORE INTO plans(alert_id, sender, sent, body) VALUES(?,?,?,?)"));
  st.Bind(1, plan.alert_id);
  st.Bind(2, plan.sender);
  st.Bind(3, plan.sent);
  st.Bind(4, body);
  if (st.Step() != SQLITE_DONE) return Fail(db_->LastError("storing a plan"));
  return {};
}

Result<std::vector<domain::pipeline::AlertPlan>, Error> SqlitePlanJournal::LoadAll() {
  std::lock_guard lock(mu_);
  std::vector<domain::pipeline::AlertPlan> out;
  StatementUse st(db_->Statement("SELECT alert_id, body FROM plans ORDER BY rowid"));
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    auto p = domain::pipeline::DecodePlan(st.Text(1));
    if (!p) {
      return Fail(Error{Error::Kind::kInternal,
                        "plans.db: the plan of " + std::string(st.Text(0)) + " cannot be decoded"});
    }
    out.push_back(std::move(*p));
  }
  if (rc != SQLITE_DONE) return Fail(db_->LastError("reading plans"));
  return out;
}

}  // namespace fanout::adapters::sqlite
