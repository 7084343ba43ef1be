#include "adapters/postgres/pg.hpp"

#include <libpq-fe.h>

#include <cstring>

namespace fanout::adapters::postgres {

void PgResult::Clear::operator()(pg_result* r) const { PQclear(r); }
void PgConnection::Finish::operator()(pg_conn* c) const { PQfinish(c); }

PgResult::PgResult(pg_result* r) : r_(r) {}
int PgResult::rows() const { return r_ ? PQntuples(r_.get()) : 0; }
bool PgResult::null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
std::string_view PgResult::get(int row, int col) const {
  return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
}

Result<PgConnection, Error> PgConnection::Connect(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  PgConnection conn(c);
  if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
    return Fail(Error{Error::Kind::kRetryLater, std::string("cannot connect to PostgreSQL: ") +
                                                    (c ? PQerrorMessage(c) : "out of memory")});
  }
  // Notices ("relation ... already exists, skipping") are not errors; keep stderr clean.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  // Selection never runs in SQL here; small OLTP statements only (stack.md §7: parallel
  // query makes small statements slower on 2 cores).
  PGresult* r = PQexec(c, "SET max_parallel_workers_per_gather = 0");
  PQclear(r);
  return conn;
}

bool PgConnection::EnsureConnected() {
  if (PQstatus(c_.get()) == CONNECTION_OK) return true;
  PQreset(c_.get());
  return PQstatus(c_.get()) == CONNECTION_OK;
}

Error PgConnection::LastError(const char* what, const pg_result* r) const {
  std::string msg = std::string(what) + ": ";
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  msg += r ? PQresultErrorMessage(r) : PQerrorMessage(c_.get());
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  auto kind = Error::Kind::kInternal;
  if (PQstatus(c_.get()) != CONNECTION_OK) kind = Error::Kind::kRetryLater;
  if (state != nullptr) {
    std::string_view s(state);
    // 08 connection, 40 rollback (serialization/deadlock), 53 resources, 57 operator.
    if (s.starts_with("08") || s.starts_with("40") || s.starts_with("53") || s.starts_with("57")) {
      kind = Error::Kind::kRetryLater;
    } else if (s == "23505") {
      kind = Error::Kind::kConflict;
    } else if (s.starts_with("22") || s.starts_with("23")) {
      kind = Error::Kind::kInvalid;
    }
  }
  return Error{kind, msg};
}

Result<PgResult, Error> PgConnection::Exec(const std::string& sql) { return Exec(sql, {}); }

Result<PgResult, Error> PgConnection::Exec(const std::string& sql,
                                           const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
    lengths.push_back(p ? static_cast<int>(p->size()) : 0);
  }
  PGresult* r = params.empty()
                    ? PQexec(c_.get(), sql.c_str())
                    : PQexecParams(c_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                                   values.data(), lengths.data(), nullptr, 0);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Error e = LastError("statement failed", r);
    PQclear(r);
    return Fail(std::move(e));
  }
  return PgResult(r);
}

Result<void, Error> PgConnection::CopyIn(const std::string& copy_sql,
                                         const std::function<bool(std::string&)>& produce) {
  PGresult* r = PQexec(c_.get(), copy_sql.c_str());
  if (r == nullptr || PQresultStatus(r) != PGRES_COPY_IN) {
    Error e = LastError("COPY FROM STDIN", r);
    PQclear(r);
    return Fail(std::move(e));
  }
  PQclear(r);
  std::string buf;
  bool more = true;
  while (more) {
    buf.clear();
    while (buf.size() < (1u << 20) && (more = produce(buf))) {
    }
    if (!buf.empty() && PQputCopyData(c_.get(), buf.data(), static_cast<int>(buf.size())) != 1) {
      return Fail(LastError("COPY data"));
    }
  }
  if (PQputCopyEnd(c_.get(), nullptr) != 1) return Fail(LastError("COPY end"));
  Result<void, Error> out;
  while (PGresult* fin = PQgetResult(c_.get())) {
    if (PQresultStatus(fin) != PGRES_COMMAND_OK && out) out = Fail(LastError("COPY", fin));
    PQclear(fin);
  }
  return out;
}

Result<size_t, Error> PgConnection::CopyOut(const std::string& copy_sql,
                                            const std::function<void(std::string_view)>& row) {
  PGresult* r = PQexec(c_.get(), copy_sql.c_str());
  if (r == nullptr || PQresultStatus(r) != PGRES_COPY_OUT) {
    Error e = LastError("COPY TO STDOUT", r);
    PQclear(r);
    return Fail(std::move(e));
  }
  PQclear(r);
  size_t n = 0;
  char* line = nullptr;
  int len;
  while ((len = PQgetCopyData(c_.get(), &line, 0)) > 0) {
    std::string_view v(line, static_cast<size_t>(len));
    if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
    row(v);
    PQfreemem(line);
    ++n;
  }
  if (len == -2) return Fail(LastError("COPY read"));
  Result<size_t, Error> out = n;
  while (PGresult* fin = PQgetResult(c_.get())) {
    if (PQresultStatus(fin) != PGRES_COMMAND_OK && out) out = Fail(LastError("COPY", fin));
    PQclear(fin);
  }
  return out;
}

void CopyEscape(std::string_view s, std::string& out) {
  for (char c : s) {
    const char* esc = c == '\\'   ? "\\\\"
                      : c == '\t' ? "\\t"
                      : c == '\n' ? "\\n"
                      : c == '\r' ? "\\r"
                                  : nullptr;
    if (esc != nullptr) {
      out += esc;
    } else {
      out += c;
    }
  }
}

std::vector<std::optional<std::string>> CopySplit(std::string_view line) {
  std::vector<std::optional<std::string>> out;
  std::string cur;
  bool null = false;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      out.push_back(null ? std::nullopt : std::optional<std::string>(std::move(cur)));
      cur.clear();
      null = false;
      continue;
    }
    char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      char e = line[++i];
      switch (e) {
        case 't':
          cur += '\t';
          break;
        case 'n':
          cur += '\n';
          break;
        case 'r':
          cur += '\r';
          break;
        case 'N':
          null = true;
          break;
        default:
          cur += e;
      }
    } else {
      cur += c;
    }
  }
  return out;
}

}  // namespace fanout::adapters::postgres
