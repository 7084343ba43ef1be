#include "adapters/sqlite/sqlite_db.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace fanout::adapters::sqlite {

Db::Db(const std::filesystem::path& file, std::string_view ddl) : file_(file) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  if (sqlite3_open_v2(file.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open " + file.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  // `ddl` may start with PRAGMAs that must precede WAL mode (page_size on a new file).
  std::string sql(ddl);
  sql +=
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=NORMAL;";
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot create the schema in " + file.string() + ": " + msg);
  }
}

Db::~Db() {
  for (auto& [_, s] : statements_) sqlite3_finalize(s);
  sqlite3_close(db_);
}

sqlite3_stmt* Db::Statement(std::string_view sql) {
  for (auto& [text, s] : statements_) {
    if (text == sql) return s;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK) {
    throw std::logic_error("bad SQL for " + file_.string() + ": " + sqlite3_errmsg(db_));
  }
  statements_.emplace_back(std::string(sql), s);
  return s;
}

Result<void, Error> Db::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(LastError(sql));
  }
  return {};
}

Error Db::LastError(std::string_view what) const {
  const int code = sqlite3_errcode(db_) & 0xff;
  auto kind =
      (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR || code == SQLITE_FULL)
          ? Error::Kind::kRetryLater
          : Error::Kind::kInternal;
  return Error{kind,
               file_.filename().string() + ": " + std::string(what) + ": " + sqlite3_errmsg(db_)};
}

StatementUse::~StatementUse() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}
void StatementUse::Bind(int i, std::string_view text) {
  sqlite3_bind_text(s_, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}
void StatementUse::Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
int StatementUse::Step() { return sqlite3_step(s_); }
std::string_view StatementUse::Text(int col) const {
  const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return t ? std::string_view(t, static_cast<size_t>(sqlite3_column_bytes(s_, col)))
           : std::string_view();
}
int64_t StatementUse::Int(int col) const { return sqlite3_column_int64(s_, col); }

}  // namespace fanout::adapters::sqlite
