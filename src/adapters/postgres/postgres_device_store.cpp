#include "adapters/postgres/postgres_device_store.hpp"

#include <charconv>
#include <stdexcept>

#include "adapters/postgres/migrations.hpp"

namespace fanout::adapters::postgres {

using domain::device::Device;

namespace {

PgConnection ConnectOrThrow(const std::string& conninfo) {
  auto c = PgConnection::Connect(conninfo);
  if (!c) throw std::runtime_error(c.error().message);
  auto m = ApplyMigrations(*c, DeviceMigrations());
  if (!m) throw std::runtime_error("device schema: " + m.error().message);
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

PostgresDeviceStore::PostgresDeviceStore(const std::string& conninfo)
    : conn_(ConnectOrThrow(conninfo)) {}

Result<bool, Error> PostgresDeviceStore::Upsert(const Device& d) {
  std::lock_guard lock(mu_);
  conn_.EnsureConnected();
  auto r = conn_.Exec(
      "INSERT INTO devices(device_id, platform, token, levels, mylocation, regions)"
      " VALUES ($1, $2, $3, $4::jsonb, $5, $6::text[])"
      " ON CONFLICT (device_id) DO UPDATE SET platform = excluded.platform,"
      " token = excluded.token, levels = excluded.levels, mylocation = excluded.mylocation,"
      " regions = excluded.regions, updated_at = now()"
      " RETURNING (xmax = 0)",
      {d.id, std::to_string(static_cast<int>(d.platform)), d.token, LevelsJson(d.levels),
       d.mylocation ? "t" : "f", RegionsArray(d.regions)});
  if (!r) return Fail(r.error());
  return r->rows() == 1 && r->get(0, 0) == "t";
}

Result<void, Error> PostgresDeviceStore::UpsertMany(std::span<const Device> devices) {
  if (devices.empty()) return {};
  std::lock_guard lock(mu_);
  conn_.EnsureConnected();
  auto fail = [&](Error e) {
    (void)conn_.Exec("ROLLBACK");
    return Fail(std::move(e));
  };
  if (auto r = conn_.Exec(
          "BEGIN;"
          "CREATE TEMP TABLE IF NOT EXISTS devices_in (ord bigserial, device_id text,"
          " platform smallint, token text, levels jsonb, mylocation boolean, regions text[])"
          " ON COMMIT DELETE ROWS");
      !r) {
    return fail(r.error());
  }
  size_t next = 0;
  auto copied = conn_.CopyIn(std::string("COPY devices_in (") + kColumns + ") FROM STDIN",
                             [&](std::string& buf) {
                               if (next == devices.size()) return false;
                               AppendCopyRow(devices[next++], buf);
                               return next < devices.size();
                             });
  if (!copied) return fail(copied.error());
  // The last occurrence of an id in the batch wins (ON CONFLICT may touch a row once).
  if (auto r = conn_.Exec(std::string("INSERT INTO devices (") + kColumns +
                          ") SELECT DISTINCT ON (device_id) " + kColumns +
                          " FROM devices_in ORDER BY device_id, ord DESC"
                          " ON CONFLICT (device_id) DO UPDATE SET platform = excluded.platform,"
                          " token = excluded.token, levels = excluded.levels,"
                          " mylocation = excluded.mylocation, regions = excluded.regions,"
                          " updated_at = now();"
                          "COMMIT");
      !r) {
    return fail(r.error());
  }
  return {};
}

Result<bool, Error> PostgresDeviceStore::Remove(const std::string& device_id) {
  std::lock_guard lock(mu_);
  conn_.EnsureConnected();
  auto r = conn_.Exec("DELETE FROM devices WHERE device_id = $1 RETURNING 1", {device_id});
  if (!r) return Fail(r.error());
  return r->rows() > 0;
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
