#include "adapters/postgres/migrations.hpp"

#include <algorithm>
#include <charconv>
#include <map>

namespace fanout::adapters::postgres {

std::optional<SemVer> ParseSemVer(std::string_view s) {
  int parts[3];
  for (int i = 0; i < 3; ++i) {
    size_t end = i < 2 ? s.find('.') : s.size();
    if (end == std::string_view::npos || end == 0) return std::nullopt;
    std::string_view p = s.substr(0, end);
    if (!std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    auto r = std::from_chars(p.data(), p.data() + p.size(), parts[i]);
    if (r.ec != std::errc()) return std::nullopt;
    s.remove_prefix(i < 2 ? end + 1 : end);
  }
  return SemVer{parts[0], parts[1], parts[2]};
}

const std::vector<Migration>& DeviceMigrations() {
  static const std::vector<Migration> kMigrations{
      {"0.1.0", "devices table",
       "CREATE TABLE devices ("
       " device_id text PRIMARY KEY,"
       " platform smallint NOT NULL,"
       " token text NOT NULL,"
       " levels jsonb NOT NULL DEFAULT '{}',"
       " mylocation boolean NOT NULL,"
       " regions text[] NOT NULL DEFAULT '{}',"
       " updated_at timestamptz NOT NULL DEFAULT now())"},
      {"0.2.0", "domain checks",
       "ALTER TABLE devices"
       " ADD CONSTRAINT devices_platform_known CHECK (platform BETWEEN 0 AND 1),"
       " ADD CONSTRAINT devices_levels_object CHECK (jsonb_typeof(levels) = 'object'),"
       " ADD CONSTRAINT devices_regions_bounded CHECK (cardinality(regions) <= 256)"},
      {"0.10.0", "changed-since index (a returning region catches up incrementally)",
       "CREATE INDEX devices_updated_at ON devices (updated_at)"},
      {"0.11.0", "versioned changes: last writer by version, tombstones, feed position",
       "ALTER TABLE devices ADD COLUMN version bigint NOT NULL DEFAULT 0,"
       " ADD COLUMN origin text NOT NULL DEFAULT '';"
       "CREATE TABLE device_tombstones ("
       " device_id text PRIMARY KEY, version bigint NOT NULL, origin text NOT NULL,"
       " removed_at timestamptz NOT NULL DEFAULT now());"
       "CREATE TABLE device_sync ("
       " id smallint PRIMARY KEY CHECK (id = 0), feed_position bigint NOT NULL,"
       " max_version bigint NOT NULL);"
       "INSERT INTO device_sync VALUES (0, 0, 0)"},
  };
  return kMigrations;
}

namespace {
// FNV-1a-shaped with a truncated offset basis (1469598103934665603, not the standard
// 14695981039346656037): checksums already stored in schema_migrations depend on it, so it
// stays; new code uses platform::Fnv1a64 (the standard one).
std::string Checksum(std::string_view sql) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : sql) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// version -> checksum of every migration recorded in schema_migrations.
Result<std::map<std::string, std::string>, Error> Recorded(PgConnection& conn) {
  auto rows = conn.Exec("SELECT version, checksum FROM schema_migrations");
  if (!rows) return Fail(rows.error());
  std::map<std::string, std::string> applied;
  for (int i = 0; i < rows->rows(); ++i) {
    applied[std::string(rows->get(i, 0))] = std::string(rows->get(i, 1));
  }
  return applied;
}
}  // namespace

Result<std::vector<std::string>, Error> ApplyMigrations(PgConnection& conn,
                                                        std::span<const Migration> migrations) {
  std::vector<std::pair<SemVer, const Migration*>> sorted;
  for (const Migration& m : migrations) {
    auto v = ParseSemVer(m.version);
    if (!v)
      return Fail(Error{Error::Kind::kInvalid, "invalid migration version '" + m.version + "'"});
    sorted.push_back({*v, &m});
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].first == sorted[i - 1].first) {
      return Fail(
          Error{Error::Kind::kInvalid, "duplicate migration version " + sorted[i].second->version});
    }
  }
  if (auto r = conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                         " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                         " applied_at timestamptz NOT NULL DEFAULT clock_timestamp())");
      !r) {
    return Fail(r.error());
  }
  // Serialise concurrent starters; released at the end whatever happens.
  if (auto r = conn.Exec("SELECT pg_advisory_lock(hashtext('fanout.schema_migrations'))"); !r) {
    return Fail(r.error());
  }
  struct Unlock {
    PgConnection& c;
    ~Unlock() { (void)c.Exec("SELECT pg_advisory_unlock(hashtext('fanout.schema_migrations'))"); }
  } unlock{conn};

  auto recorded = Recorded(conn);
  if (!recorded) return Fail(recorded.error());
  const std::map<std::string, std::string>& applied = *recorded;
  std::vector<std::string> done;
  for (const auto& [version, m] : sorted) {
    std::string sum = Checksum(m->sql);
    if (auto it = applied.find(m->version); it != applied.end()) {
      if (it->second != sum) {
        return Fail(Error{Error::Kind::kConflict, "migration " + m->version +
                                                      " was changed after it was applied "
                                                      "(checksum " +
                                                      it->second + " != " + sum + ")"});
      }
      continue;
    }
    auto fail = [&](const Error& e) {
      (void)conn.Exec("ROLLBACK");
      return Fail(Error{e.kind, "migration " + m->version + " (" + m->name +
                                    ") failed, later migrations not applied: " + e.message});
    };
    if (auto r = conn.Exec("BEGIN"); !r) return fail(r.error());
    if (auto r = conn.Exec(m->sql); !r) return fail(r.error());
    if (auto r =
            conn.Exec("INSERT INTO schema_migrations(version, name, checksum) VALUES ($1,$2,$3)",
                      {m->version, m->name, sum});
        !r) {
      return fail(r.error());
    }
    if (auto r = conn.Exec("COMMIT"); !r) return fail(r.error());
    done.push_back(m->version);
  }
  return done;
}

Result<void, Error> CheckMigrations(PgConnection& conn, std::span<const Migration> migrations) {
  const char* remedy =
      ": run `fanout db migrate --postgres <URL of the schema owner> --app-role <this role>` "
      "(or set store.postgres_migrate = true for a role that owns the schema)";
  auto exists = conn.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists) return Fail(exists.error());
  if (exists->rows() != 1 || exists->get(0, 0) != "t") {
    return Fail(Error{Error::Kind::kInvalid,
                      std::string("the database has no fanout schema yet") + remedy});
  }
  auto recorded = Recorded(conn);
  if (!recorded) return Fail(recorded.error());
  const std::map<std::string, std::string>& applied = *recorded;
  std::string missing, changed;
  for (const Migration& m : migrations) {
    auto it = applied.find(m.version);
    if (it == applied.end()) {
      missing += (missing.empty() ? "" : ", ") + m.version;
    } else if (it->second != Checksum(m.sql)) {
      changed += (changed.empty() ? "" : ", ") + m.version;
    }
  }
  if (!changed.empty()) {
    return Fail(Error{Error::Kind::kConflict,
                      "migrations " + changed +
                          " in the database differ from this fanout's (a different build?)"});
  }
  if (!missing.empty()) {
    return Fail(
        Error{Error::Kind::kInvalid, "the database schema lacks migrations " + missing + remedy});
  }
  return {};
}

Result<void, Error> GrantAppRole(PgConnection& conn, const std::string& role) {
  auto quoted = conn.Exec(
      "SELECT quote_ident($1), current_database(), "
      "quote_ident(current_database()), quote_ident(current_schema()), "
      "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1), $1 = current_user",
      {role});
  if (!quoted) return Fail(quoted.error());
  if (quoted->get(0, 5) == "t") {
    return Fail(Error{Error::Kind::kInvalid,
                      "--app-role " + role +
                          " is the schema owner this runs as: the application role must be "
                          "another role (its grants would strip the owner's own rights)"});
  }
  if (quoted->get(0, 4) != "t") {
    return Fail(Error{Error::Kind::kNotFound, "role '" + role + "' does not exist (CREATE ROLE " +
                                                  role +
                                                  " LOGIN PASSWORD '...' as a superuser first)"});
  }
  const std::string r(quoted->get(0, 0)), db(quoted->get(0, 2)), schema(quoted->get(0, 3));
  const std::string sql =
      "BEGIN;"
      "REVOKE ALL ON ALL TABLES IN SCHEMA " +
      schema + " FROM " + r +
      ";"
      "GRANT USAGE ON SCHEMA " +
      schema + " TO " + r +
      ";"
      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " +
      schema + " TO " + r +
      ";"
      "REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM " +
      r +
      ";"
      "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " +
      schema + " TO " + r +
      ";"
      "GRANT CONNECT, TEMPORARY ON DATABASE " +
      db + " TO " + r +
      ";"
      "COMMIT";
  if (auto res = conn.Exec(sql); !res) {
    (void)conn.Exec("ROLLBACK");
    return Fail(Error{res.error().kind, "grant to " + role + ": " + res.error().message});
  }
  return {};
}

}  // namespace fanout::adapters::postgres
