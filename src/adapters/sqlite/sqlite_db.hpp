#pragma once
// A thin owner of one SQLite connection and its prepared statements (internal to this
// folder). Not thread-safe: the owning class holds a mutex.
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/common/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace fanout::adapters::sqlite {

class Db {
 public:
  /// Opens (creating if needed) `file`, runs `ddl` (which may begin with PRAGMAs that only
  /// apply to a new file, such as page_size), then sets WAL mode with synchronous=NORMAL;
  /// throws std::runtime_error naming the file on failure.
  Db(const std::filesystem::path& file, std::string_view ddl);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() { return db_; }
  /// A statement prepared once and kept (finalized with the connection).
  sqlite3_stmt* Statement(std::string_view sql);
  Result<void, Error> Exec(const char* sql);
  /// The connection's last error as an Error (busy/locked/IO: kRetryLater).
  Error LastError(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
  std::vector<std::pair<std::string, sqlite3_stmt*>> statements_;
};

/// Resets a statement (and clears its bindings) when it goes out of scope.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* s) : s_(s) {}
  ~StatementUse();
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  sqlite3_stmt* get() const { return s_; }
  void Bind(int i, std::string_view text);
  void Bind(int i, int64_t v);
  int Step();
  std::string_view Text(int col) const;
  int64_t Int(int col) const;

 private:
  sqlite3_stmt* s_;
};

}  // namespace fanout::adapters::sqlite
