#include "adapters/postgres/postgres_device_store.hpp"

#include <charconv>
#include <stdexcept>

#include "adapters/postgres/migrations.hpp"

namespace fanout::adapters::postgres {

using domain::device::Device;

namespace {

PgConnection ConnectOrThrow(const std::string& conninfo, bool migrate) {
  auto c = PgConnection::Connect(conninfo);
  if (!c) throw std::runtime_error(c.error().message);
  // A current schema needs no statement that changes it (so an application role without
  // those privileges starts too); otherwise migrate, if allowed.
  if (auto current = CheckMigrations(*c, DeviceMigrations()); !current) {
    if (!migrate) throw std::runtime_error("device schema: " + current.error().message);
    auto m = ApplyMigrations(*c, DeviceMigrations());
    if (!m) throw std::runtime_error("device schema: " + m.error().message);
  }
  return std::move(*c);
}

constexpr const char* kColumns = "device_id, platform, token, levels, mylocation, regions";

Device RowToDevice(const std::vector<std::optional<std::string>>& f) {
  Device d;
  d.id = f[0].value_or("");
  d.platform = static_cast<domain::device::Platform>(f[1] ? std::stoi(*f[1]) : 0);
  d.token = f[2].value_or("");
  d.levels = ParseLevelsJson(f[3].value_or("{}"));
  d.mylocation = f[4] && *f[4] == "t";
  d.regions = ParseRegionsArray(f[5].value_or("{}"));
  return d;
}

}  // namespace

std::string LevelsJson(const std::map<std::string, int>& levels) {
  std::string out = "{";
  for (const auto& [provider, level] : levels) {
    if (out.size() > 1) out += ", ";
    out += '"';
    for (char c : provider) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\": " + std::to_string(level);
  }
  return out + "}";
}

// Parses the canonical jsonb text of a flat object of integers ({"AP1": 4, "AP2": 0}).
std::map<std::string, int> ParseLevelsJson(std::string_view s) {
  std::map<std::string, int> out;
  size_t i = 0;
  while ((i = s.find('"', i)) != std::string_view::npos) {
    std::string key;
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      key += s[i];
    }
    size_t colon = s.find(':', i);
    if (colon == std::string_view::npos) break;
    size_t v = s.find_first_not_of(' ', colon + 1);
    if (v == std::string_view::npos) break;
    int level = 0;
    auto r = std::from_chars(s.data() + v, s.data() + s.size(), level);
    if (r.ec == std::errc()) out[key] = level;
    i = static_cast<size_t>(r.ptr - s.data());
  }
  return out;
}

std::string RegionsArray(const std::vector<std::string>& regions) {
  std::string out = "{";
  for (const auto& r : regions) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : r) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<std::string> ParseRegionsArray(std::string_view s) {
  std::vector<std::string> out;
  if (s.size() < 2) return out;
  s = s.substr(1, s.size() - 2);  // strip { }
  size_t i = 0;
  while (i < s.size()) {
    std::string item;
    if (s[i] == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        item += s[i];
      }
      ++i;  // closing quote
    } else {
      while (i < s.size() && s[i] != ',') item += s[i++];
    }
    out.push_back(std::move(item));
    if (i < s.size() && s[i] == ',') ++i;
  }
  return out;
}

void AppendCopyRow(const Device& d, std::string& out) {
  CopyEscape(d.id, out);
  out += '\t';
  out += std::to_string(static_cast<int>(d.platform));
  out += '\t';
  CopyEscape(d.token, out);
  out += '\t';
  CopyEscape(LevelsJson(d.levels), out);
  out += d.mylocation ? "\tt\t" : "\tf\t";
  CopyEscape(RegionsArray(d.regions), out);
  out += '\n';
}

PostgresDeviceStore::PostgresDeviceStore(const std::string& conninfo, bool migrate)
    : conn_(ConnectOrThrow(conninfo, migrate)) {}

void AppendChangeRow(size_t ord, const ports::DeviceUpdate& u, std::string& out) {
  out += std::to_string(ord);
  out += u.device ? "\tf\t" : "\tt\t";
  out += std::to_string(static_cast<int64_t>(u.version));
  out += '\t';
  CopyEscape(u.origin_region, out);
  out += '\t';
  if (u.device) {
    AppendCopyRow(*u.device, out);  // ends the line
  } else {
    CopyEscape(u.device_id, out);
    out += "\t0\t\t{}\tf\t{}\n";
  }
}

Result<std::vector<ports::Applied>, Error> PostgresDeviceStore::Apply(
    std::span<const ports::DeviceUpdate> changes, uint64_t feed_position) {
  std::vector<ports::Applied> out(changes.size(), ports::Applied::kStale);
  if (changes.empty() && feed_position == 0) return out;
  std::lock_guard lock(mu_);
  conn_.EnsureConnected();
  auto fail = [&](Error e) {
    (void)conn_.Exec("ROLLBACK");
    return Fail(std::move(e));
  };
  if (auto r =
          conn_.Exec("BEGIN;"
                     "CREATE TEMP TABLE IF NOT EXISTS changes_in (ord bigint, removed boolean,"
                     " version bigint, origin text, device_id text, platform smallint, token text,"
                     " levels jsonb, mylocation boolean, regions text[]) ON COMMIT DELETE ROWS");
      !r) {
    return fail(r.error());
  }
  size_t next = 0;
  auto copied = conn_.CopyIn(
      std::string("COPY changes_in (ord, removed, version, origin, ") + kColumns + ") FROM STDIN",
      [&](std::string& buf) {
        if (next == changes.size()) return false;
        AppendChangeRow(next, changes[next], buf);
        ++next;
        return next < changes.size();
      });
  if (!copied) return fail(copied.error());
  // The newest change per device (by version, then origin) is applied where it supersedes
  // the row or the tombstone; the others in the batch are stale by construction. Row locks
  // (FOR UPDATE) keep two writers of the same device from both deciding on an old version.
  auto r = conn_.Exec(
      std::string("WITH latest AS (SELECT DISTINCT ON (device_id) * FROM changes_in"
                  "  ORDER BY device_id, version DESC, origin DESC),"
                  " cur AS (SELECT d.device_id, d.version, d.origin FROM devices d"
                  "  JOIN latest l USING (device_id) FOR UPDATE OF d),"
                  " fresh AS (SELECT l.*, (c.device_id IS NOT NULL) AS existed FROM latest l"
                  "  LEFT JOIN cur c USING (device_id)"
                  "  LEFT JOIN device_tombstones t USING (device_id)"
                  "  WHERE (c.device_id IS NULL OR (l.version, l.origin) > (c.version, c.origin))"
                  "    AND (t.device_id IS NULL OR (l.version, l.origin) > (t.version, t.origin))),"
                  " up AS (INSERT INTO devices (") +
          kColumns + ", version, origin) SELECT " + kColumns +
          ", version, origin FROM fresh WHERE NOT removed"
          "  ON CONFLICT (device_id) DO UPDATE SET platform = excluded.platform,"
          "  token = excluded.token, levels = excluded.levels, mylocation = excluded.mylocation,"
          "  regions = excluded.regions, version = excluded.version, origin = excluded.origin,"
          "  updated_at = now() RETURNING device_id),"
          " del AS (DELETE FROM devices d USING fresh f WHERE f.removed"
          "  AND d.device_id = f.device_id RETURNING d.device_id),"
          " tomb AS (INSERT INTO device_tombstones (device_id, version, origin)"
          "  SELECT device_id, version, origin FROM fresh WHERE removed"
          "  ON CONFLICT (device_id) DO UPDATE SET version = excluded.version,"
          "  origin = excluded.origin, removed_at = now() RETURNING device_id),"
          " untomb AS (DELETE FROM device_tombstones t USING fresh f WHERE NOT f.removed"
          "  AND t.device_id = f.device_id RETURNING t.device_id),"
          " sync AS (UPDATE device_sync SET"
          "  max_version = GREATEST(max_version, (SELECT COALESCE(max(version), 0) FROM fresh)),"
          "  feed_position = CASE WHEN $1::bigint > 0 THEN $1::bigint ELSE feed_position END"
          "  WHERE id = 0 RETURNING 1)"
          // Data-modifying CTEs run once whether or not the final SELECT reads them.
          " SELECT ord, removed, existed FROM fresh",
      {std::to_string(feed_position)});
  if (!r) return fail(r.error());
  for (int i = 0; i < r->rows(); ++i) {
    auto ord = static_cast<size_t>(std::stoull(std::string(r->get(i, 0))));
    bool removed = r->get(i, 1) == "t", existed = r->get(i, 2) == "t";
    out.at(ord) = removed ? (existed ? ports::Applied::kRemoved : ports::Applied::kAbsent)
                          : (existed ? ports::Applied::kUpdated : ports::Applied::kCreated);
  }
  if (auto c = conn_.Exec("COMMIT"); !c) return fail(c.error());
  return out;
}

Result<void, Error> PostgresDeviceStore::Ping() {
  std::lock_guard lock(mu_);
  conn_.EnsureConnected();
  auto r = conn_.Exec("SELECT 1");
  if (!r) return Fail(r.error());
  return {};
}

Result<ports::DeviceSyncState, Error> PostgresDeviceStore::SyncState() {
  std::lock_guard lock(mu_);
  conn_.EnsureConnected();
  auto r = conn_.Exec("SELECT feed_position, max_version FROM device_sync WHERE id = 0");
  if (!r) return Fail(r.error());
  if (r->rows() != 1) return Fail(Error{Error::Kind::kInternal, "device_sync has no row"});
  return ports::DeviceSyncState{std::stoull(std::string(r->get(0, 0))),
                                std::stoull(std::string(r->get(0, 1)))};
}

Result<std::optional<Device>, Error> PostgresDeviceStore::Get(const std::string& device_id) {
  std::lock_guard lock(mu_);
  conn_.EnsureConnected();
  auto r = conn_.Exec(std::string("SELECT ") + kColumns + " FROM devices WHERE device_id = $1",
                      {device_id});
  if (!r) return Fail(r.error());
  if (r->rows() == 0) return std::optional<Device>{};
  std::vector<std::optional<std::string>> f;
  for (int c = 0; c < 6; ++c) {
    f.push_back(r->null(0, c) ? std::nullopt : std::optional<std::string>(r->get(0, c)));
  }
  return std::optional<Device>{RowToDevice(f)};
}

Result<size_t, Error> PostgresDeviceStore::LoadAll(const std::function<void(Device&&)>& fn) {
  std::lock_guard lock(mu_);
  conn_.EnsureConnected();
  return conn_.CopyOut(std::string("COPY (SELECT ") + kColumns + " FROM devices) TO STDOUT",
                       [&](std::string_view line) { fn(RowToDevice(CopySplit(line))); });
}

}  // namespace fanout::adapters::postgres
