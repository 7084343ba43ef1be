#pragma once
// Versioned schema migrations for PostgreSQL (docs/devices.md "migrations"). Unlike the
// original (original-spec §4.8, §11 item 6) they run at start-up, in semantic-version order
// (0.9.0 before 0.10.0), each in its own transaction, stop at the first failure, and are
// recorded in schema_migrations with a checksum, so an edited applied migration is an
// error rather than silently ignored. A session advisory lock serialises concurrent
// starters (two regions sharing a database).
#include <span>
#include <string>
#include <vector>

#include "adapters/postgres/pg.hpp"

namespace fanout::adapters::postgres {

struct SemVer {
  int major = 0, minor = 0, patch = 0;
  auto operator<=>(const SemVer&) const = default;
};
/// Parses "MAJOR.MINOR.PATCH" (digits only); nullopt otherwise.
std::optional<SemVer> ParseSemVer(std::string_view s);

struct Migration {
  std::string version;  // "MAJOR.MINOR.PATCH"
  std::string name;
  std::string sql;
};

/// The device registry's schema, oldest first.
const std::vector<Migration>& DeviceMigrations();

/// Applies the migrations not yet recorded, in semantic-version order. Returns the versions
/// applied now. Fails (and applies nothing further) on an invalid or duplicate version, a
/// checksum mismatch of an applied migration, or the first failing migration, whose
/// transaction is rolled back; the error names the version.
Result<std::vector<std::string>, Error> ApplyMigrations(PgConnection& conn,
                                                        std::span<const Migration> migrations);

/// For an application role that may not change the schema (store.postgres_migrate = false):
/// succeeds when every migration is recorded with its checksum; otherwise a kInvalid
/// error naming the versions missing (or changed) and the command that applies them.
Result<void, Error> CheckMigrations(PgConnection& conn, std::span<const Migration> migrations);

/// Least privilege (issue 14): gives `role` exactly what the device store uses — rows of the
/// schema's tables (read, insert, update, delete), read-only schema_migrations, sequences,
/// temporary tables — and nothing that changes the schema (no CREATE, ALTER, DROP,
/// TRUNCATE, REFERENCES, TRIGGER). Run by the schema owner after ApplyMigrations; repeating
/// it is harmless. The role must exist.
Result<void, Error> GrantAppRole(PgConnection& conn, const std::string& role);

}  // namespace fanout::adapters::postgres
