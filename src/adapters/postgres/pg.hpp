#pragma once
// A small RAII layer over libpq (reference/stack.md §3 recommends libpq over libpqxx 6.4):
// a connection, a result, parameterised commands and COPY in/out. Vendor types stay in
// this folder; errors become fanout::Error with a kind that says what the caller does next
// (connection loss, serialization failure, lack of resources -> kRetryLater).
// A PgConnection is not thread-safe; one thread (or one mutex holder) at a time.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/common/result.hpp"

struct pg_conn;
struct pg_result;

namespace fanout::adapters::postgres {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* r);
  int rows() const;
  bool null(int row, int col) const;
  std::string_view get(int row, int col) const;

 private:
  struct Clear {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, Clear> r_;
};

class PgConnection {
 public:
  /// Connects with a libpq conninfo string or URI ("" = the PG* environment variables).
  static Result<PgConnection, Error> Connect(const std::string& conninfo);
  PgConnection(PgConnection&&) noexcept = default;
  PgConnection& operator=(PgConnection&&) noexcept = default;

  /// Runs one or more statements without parameters.
  Result<PgResult, Error> Exec(const std::string& sql);
  /// Runs one statement with text parameters (nullopt = SQL NULL).
  Result<PgResult, Error> Exec(const std::string& sql,
                               const std::vector<std::optional<std::string>>& params);
  /// `COPY ... FROM STDIN`: `produce` appends rows (COPY text format) to the buffer and
  /// returns false when done; the buffer is flushed to the server as it fills.
  Result<void, Error> CopyIn(const std::string& copy_sql,
                             const std::function<bool(std::string&)>& produce);
  /// `COPY ... TO STDOUT`: calls `row` with each line (without its newline).
  Result<size_t, Error> CopyOut(const std::string& copy_sql,
                                const std::function<void(std::string_view)>& row);
  /// Reconnects when the connection was lost; true when it is usable.
  bool EnsureConnected();

 private:
  explicit PgConnection(pg_conn* c) : c_(c) {}
  Error LastError(const char* what, const pg_result* r = nullptr) const;
  struct Finish {
    void operator()(pg_conn* c) const;
  };
  std::unique_ptr<pg_conn, Finish> c_;
};

/// Appends `s` to `out` escaped for a COPY text-format field.
void CopyEscape(std::string_view s, std::string& out);
/// Splits one COPY text-format line into its fields, unescaping them (\N -> nullopt).
std::vector<std::optional<std::string>> CopySplit(std::string_view line);

}  // namespace fanout::adapters::postgres
