// Loading, validation and rendering of Settings; every step iterates the declared table.
#include "platform/config/settings.hpp"

#include <openssl/rand.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "platform/config/schema.hpp"

namespace fanout::config {
namespace {

namespace fs = std::filesystem;
using Kind = ConfigProblem::Kind;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string_view NodeTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "nothing";
  }
}

// Where a node or key came from, as a message prefix: "file.toml:3:9: " or "--set ".
template <class NodeOrKey>
std::string Where(const NodeOrKey& node, std::string_view fallback) {
  const toml::source_region& src = node.source();
  if (src.begin.line == 0 || !src.path) return std::string(fallback) + " ";
  return *src.path + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column) +
         ": ";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "; did you mean 'region.name'?" for a near miss among declared keys, else "".
std::string Suggest(std::string_view key) {
  std::string best;
  size_t best_d = 3;  // suggest only within 2 edits
  auto consider = [&](std::string_view candidate) {
    size_t d = EditDistance(key, candidate);
    if (d < best_d) best_d = d, best = std::string(candidate);
  };
  for (const auto& s : DeclaredSettings()) {
    consider(s.key);
    for (size_t dot = s.key.find('.'); dot != std::string_view::npos;
         dot = s.key.find('.', dot + 1))
      consider(s.key.substr(0, dot));  // sections: "push", "push.apns"
  }
  if (best.empty()) return "";
  return " (did you mean '" + best + "'?)";
}

// True if some declared key lives under `prefix` (a section such as "push" or "push.apns").
bool IsSection(std::string_view prefix) {
  for (const auto& s : DeclaredSettings()) {
    if (s.key.size() > prefix.size() && s.key.starts_with(prefix) && s.key[prefix.size()] == '.')
      return true;
  }
  return false;
}

class Binder {
 public:
  Binder(Settings& out, std::vector<ConfigProblem>& problems, std::string fallback_where)
      : out_(out), problems_(problems), fallback_where_(std::move(fallback_where)) {}

  // Walks a table, binding declared keys and reporting unknown ones.
  void Walk(const toml::table& table, const std::string& prefix) {
    for (auto&& [k, node] : table) {
      std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      if (const SettingSpec* spec = FindSetting(key)) {
        Bind(*spec, node);
      } else if (node.is_table() && IsSection(key)) {
        Walk(*node.as_table(), key);
      } else {
        problems_.push_back(
            {Kind::kUnknownKey, key,
             Where(k, fallback_where_) + "unknown key '" + key + "'" + Suggest(key)});
      }
    }
  }

  void Bind(const SettingSpec& spec, const toml::node& node) {
    std::visit(Overloaded{
                   [&](std::string& (*f)(Settings&)) { BindString(spec, node, f(out_)); },
                   [&](fs::path& (*f)(Settings&)) {
                     std::string s;
                     if (BindString(spec, node, s)) f(out_) = fs::path(s);
                   },
                   [&](int& (*f)(Settings&)) {
                     int64_t v;
                     if (BindInt(spec, node, spec.key, v)) f(out_) = static_cast<int>(v);
                   },
                   [&](bool& (*f)(Settings&)) {
                     if (auto* b = node.as_boolean())
                       f(out_) = b->get();
                     else
                       TypeError(spec, node, spec.key);
                   },
                   [&](std::chrono::milliseconds& (*f)(Settings&)) {
                     int64_t v;
                     if (BindInt(spec, node, spec.key, v)) f(out_) = std::chrono::milliseconds(v);
                   },
                   [&](std::chrono::seconds& (*f)(Settings&)) {
                     int64_t v;
                     if (BindInt(spec, node, spec.key, v)) f(out_) = std::chrono::seconds(v);
                   },
                   [&](std::vector<std::string>& (*f)(Settings&)) {
                     const auto* arr = node.as_array();
                     if (!arr) return TypeError(spec, node, spec.key);
                     std::vector<std::string> v;
                     size_t i = 0;
                     for (const auto& el : *arr) {
                       std::string item_key =
                           std::string(spec.key) + "[" + std::to_string(i++) + "]";
                       if (auto* s = el.as_string())
                         v.push_back(s->get());
                       else
                         return TypeError(spec, el, item_key, "string");
                     }
                     f(out_) = std::move(v);
                   },
                   [&](std::map<std::string, std::string>& (*f)(Settings&)) {
                     const auto* tbl = node.as_table();
                     if (!tbl) return TypeError(spec, node, spec.key);
                     std::map<std::string, std::string> m;
                     for (auto&& [k, v] : *tbl) {
                       std::string entry = std::string(spec.key) + "." + std::string(k.str());
                       if (auto* s = v.as_string())
                         m[std::string(k.str())] = s->get();
                       else
                         TypeError(spec, v, entry, "string");
                     }
                     f(out_) = std::move(m);
                   },
                   [&](std::map<std::string, int>& (*f)(Settings&)) {
                     const auto* tbl = node.as_table();
                     if (!tbl) return TypeError(spec, node, spec.key);
                     std::map<std::string, int> m;
                     for (auto&& [k, v] : *tbl) {
                       std::string entry = std::string(spec.key) + "." + std::string(k.str());
                       int64_t i;
                       if (BindInt(spec, v, entry, i))
                         m[std::string(k.str())] = static_cast<int>(i);
                     }
                     f(out_) = std::move(m);
                   },
               },
               spec.field);
  }

 private:
  bool BindString(const SettingSpec& spec, const toml::node& node, std::string& out) {
    if (auto* s = node.as_string()) {
      out = s->get();
      return true;
    }
    TypeError(spec, node, spec.key);
    return false;
  }

  bool BindInt(const SettingSpec& spec, const toml::node& node, std::string_view key,
               int64_t& out) {
    auto* i = node.as_integer();
    if (!i) {
      TypeError(spec, node, key, "integer");
      return false;
    }
    int64_t lo = spec.min, hi = spec.max;
    if (lo == 0 && hi == 0)
      lo = std::numeric_limits<int>::min(), hi = std::numeric_limits<int>::max();
    if (i->get() < lo || i->get() > hi) {
      problems_.push_back({Kind::kInvalid, std::string(key),
                           Where(node, fallback_where_) + std::string(key) + ": " +
                               std::to_string(i->get()) + " is out of range " + std::to_string(lo) +
                               ".." + std::to_string(hi)});
      return false;
    }
    out = i->get();
    return true;
  }

  void TypeError(const SettingSpec& spec, const toml::node& node, std::string_view key,
                 std::string_view expected = {}) {
    if (expected.empty()) expected = TypeName(spec.type);
    problems_.push_back({Kind::kType, std::string(key),
                         Where(node, fallback_where_) + std::string(key) + ": expected " +
                             std::string(expected) + ", got " + std::string(NodeTypeName(node))});
  }

  Settings& out_;
  std::vector<ConfigProblem>& problems_;
  std::string fallback_where_;
};

// Parses a TOML value literal ("[1, 2]", "true", "\"x\"") into a one-key table {v = ...}.
std::optional<toml::table> ParseValue(std::string_view literal) {
  try {
    return toml::parse("v = " + std::string(literal));
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

const Settings& Defaults() {
  static const Settings defaults = [] {
    Settings s;
    std::vector<ConfigProblem> problems;
    Binder binder(s, problems, "default");
    for (const auto& spec : DeclaredSettings()) {
      auto value = ParseValue(spec.default_value);
      if (!value) throw std::logic_error("bad default for " + std::string(spec.key));
      binder.Bind(spec, *value->get("v"));
    }
    if (!problems.empty()) throw std::logic_error("bad defaults: " + problems[0].message);
    return s;
  }();
  return defaults;
}

std::vector<std::string> SplitDots(std::string_view key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Applies one "key=value" override to the parsed document; records a problem if it cannot.
void ApplyOverride(toml::table& doc, std::string_view arg, std::vector<ConfigProblem>& problems) {
  size_t eq = arg.find('=');
  std::string key = Trim(arg.substr(0, eq == std::string_view::npos ? 0 : eq));
  if (eq == std::string_view::npos || key.empty()) {
    problems.push_back(
        {Kind::kInvalid, "", "--set '" + std::string(arg) + "': expected key=value"});
    return;
  }
  std::string value_text = Trim(arg.substr(eq + 1));
  // Which declared key does this set? Either the key itself or an entry of a declared table.
  const SettingSpec* spec = FindSetting(key);
  if (!spec) {
    size_t dot = key.rfind('.');
    const SettingSpec* parent =
        dot == std::string::npos ? nullptr : FindSetting(key.substr(0, dot));
    if (parent &&
        (parent->type == SettingType::kStringMap || parent->type == SettingType::kIntMap)) {
      spec = parent;
      // An entry adds to the table the file (or, without one, the default) gives.
      if (!doc.at_path(spec->key))
        ApplyOverride(doc, std::string(spec->key) + "=" + std::string(spec->default_value),
                      problems);
    }
  }
  if (!spec) {
    problems.push_back(
        {Kind::kUnknownKey, key, "--set " + key + ": unknown key '" + key + "'" + Suggest(key)});
    return;
  }
  auto parsed = ParseValue(value_text);
  toml::table holder;
  if (parsed) {
    holder = std::move(*parsed);
  } else {
    holder.insert_or_assign("v", value_text);  // a bare word is a string
  }
  toml::table* t = &doc;
  auto parts = SplitDots(key);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    toml::node* n = t->get(parts[i]);
    if (!n) {
      t->insert_or_assign(parts[i], toml::table{});
      n = t->get(parts[i]);
    }
    if (!n->is_table()) {
      problems.push_back(
          {Kind::kType, key, "--set " + key + ": '" + parts[i] + "' is not a table in the file"});
      return;
    }
    t = n->as_table();
  }
  t->insert_or_assign(parts.back(), *holder.get("v"));
}

bool IsBareKey(std::string_view k) {
  if (k.empty()) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string MapKey(std::string_view k) { return IsBareKey(k) ? std::string(k) : Quote(k); }

constexpr std::string_view kRedacted = "<redacted>";

std::string FormatValue(const SettingSpec& spec, const Settings& settings, bool show_secrets) {
  Settings& s = const_cast<Settings&>(settings);  // accessors are read here, never written
  auto secret = [&](const std::string& v) -> std::string {
    return spec.secret && !show_secrets && !v.empty() ? Quote(kRedacted) : Quote(v);
  };
  return std::visit(
      Overloaded{
          [&](std::string& (*f)(Settings&)) { return secret(f(s)); },
          [&](fs::path& (*f)(Settings&)) { return secret(f(s).string()); },
          [&](int& (*f)(Settings&)) { return std::to_string(f(s)); },
          [&](bool& (*f)(Settings&)) { return std::string(f(s) ? "true" : "false"); },
          [&](std::chrono::milliseconds& (*f)(Settings&)) { return std::to_string(f(s).count()); },
          [&](std::chrono::seconds& (*f)(Settings&)) { return std::to_string(f(s).count()); },
          [&](std::vector<std::string>& (*f)(Settings&)) {
            std::string out = "[";
            for (size_t i = 0; i < f(s).size(); ++i) out += (i ? ", " : "") + secret(f(s)[i]);
            return out + "]";
          },
          [&](std::map<std::string, std::string>& (*f)(Settings&)) {
            if (f(s).empty()) return std::string("{}");
            std::string out = "{ ";
            bool first = true;
            for (const auto& [k, v] : f(s)) {
              out += (first ? "" : ", ") + MapKey(k) + " = " + secret(v);
              first = false;
            }
            return out + " }";
          },
          [&](std::map<std::string, int>& (*f)(Settings&)) {
            if (f(s).empty()) return std::string("{}");
            std::string out = "{ ";
            bool first = true;
            for (const auto& [k, v] : f(s)) {
              out += (first ? "" : ", ") + MapKey(k) + " = " + std::to_string(v);
              first = false;
            }
            return out + " }";
          },
      },
      spec.field);
}

std::string SectionOf(std::string_view key) {
  size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? "" : std::string(key.substr(0, dot));
}
std::string_view LeafOf(std::string_view key) {
  size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

bool ValidListen(std::string_view listen) {
  std::string_view host, port;
  if (listen.starts_with("[")) {
    size_t close = listen.find("]:");
    if (close == std::string_view::npos) return false;
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // IPv6 needs brackets
  }
  if (host.empty() || port.empty()) return false;
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  return ec == std::errc() && ptr == port.data() + port.size() && p >= 0 && p <= 65535;
}

bool IsHttpUrl(std::string_view url) {
  return (url.starts_with("http://") && url.size() > 7) ||
         (url.starts_with("https://") && url.size() > 8);
}

}  // namespace

std::string ConfigError::ToString() const {
  std::string out;
  for (const auto& p : problems) out += p.message + "\n";
  return out;
}

bool ConfigError::Has(ConfigProblem::Kind kind) const {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const ConfigProblem& p) { return p.kind == kind; });
}

Settings DefaultSettings() { return Defaults(); }

std::vector<ConfigProblem> Validate(const Settings& s) {
  std::vector<ConfigProblem> out;
  auto bad = [&](std::string key, std::string msg) {
    out.push_back({Kind::kInvalid, key, key + ": " + msg});
  };

  static const std::set<std::string> kRoles = {"ingest",   "processor", "queuer",  "sender",
                                               "watchdog", "dashboard", "registry"};
  if (s.roles.empty()) bad("roles", "at least one role is needed");
  std::set<std::string> seen;
  for (const auto& r : s.roles) {
    if (!kRoles.contains(r))
      bad("roles",
          "unknown role '" + r +
              "' (known: ingest, processor, queuer, sender, watchdog, dashboard, registry)");
    if (!seen.insert(r).second) bad("roles", "role '" + r + "' is listed twice");
  }

  if (s.region.name.empty() || !std::all_of(s.region.name.begin(), s.region.name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-';
      }))
    bad("region.name", "'" + s.region.name + "' must be non-empty letters, digits and '-'");
  size_t regions = s.region.peers.size() + 1;
  if (s.region.index < 0 || static_cast<size_t>(s.region.index) >= regions)
    bad("region.index", std::to_string(s.region.index) + " is not a region number: there " +
                            (regions == 1 ? std::string("is 1 region")
                                          : "are " + std::to_string(regions) + " regions") +
                            " (region.peers + this one), so it must be 0.." +
                            std::to_string(regions - 1));
  for (const auto& p : s.region.peers)
    if (!IsHttpUrl(p)) bad("region.peers", "'" + p + "' is not an http:// or https:// URL");
  if (!s.region.names.empty()) {
    std::set<std::string> names;
    for (const auto& n : s.region.names) {
      if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-';
          }))
        bad("region.names", "'" + n + "' must be non-empty letters, digits and '-'");
      if (!names.insert(n).second) bad("region.names", "'" + n + "' is listed twice");
    }
    if (s.region.names.size() != regions) {
      bad("region.names", "lists " + std::to_string(s.region.names.size()) +
                              " regions but region.peers + this one are " +
                              std::to_string(regions));
    } else if (s.region.index >= 0 && static_cast<size_t>(s.region.index) < regions &&
               s.region.names[static_cast<size_t>(s.region.index)] != s.region.name) {
      bad("region.names", "entry " + std::to_string(s.region.index) + " (region.index) is '" +
                              s.region.names[static_cast<size_t>(s.region.index)] +
                              "', not region.name '" + s.region.name + "'");
    }
  }

  if (!ValidListen(s.http.listen))
    bad("http.listen",
        "'" + s.http.listen + "' is not host:port (port 0..65535, IPv6 as [::1]:port)");
  if (s.http.tls_cert_file.empty() != s.http.tls_key_file.empty())
    bad(s.http.tls_cert_file.empty() ? "http.tls_cert_file" : "http.tls_key_file",
        "HTTPS needs both http.tls_cert_file and http.tls_key_file (or neither: plain HTTP)");
  if (!s.http.tls_client_ca_file.empty() && s.http.tls_cert_file.empty())
    bad("http.tls_client_ca_file", "client certificates need HTTPS (http.tls_cert_file)");
  for (const auto& [provider, cn] : s.auth.provider_client_certs) {
    if (!s.auth.provider_tokens.contains(provider))
      bad("auth.provider_client_certs",
          "'" + provider + "' is not a provider in auth.provider_tokens");
    if (cn.empty()) bad("auth.provider_client_certs", "'" + provider + "': empty common name");
    if (s.http.tls_client_ca_file.empty())
      bad("auth.provider_client_certs",
          "'" + provider + "' needs a client certificate: set http.tls_client_ca_file");
  }

  if (s.store.mode != "embedded" && s.store.mode != "distributed")
    bad("store.mode", "'" + s.store.mode + "' must be \"embedded\" or \"distributed\"");
  if (s.store.data_dir.empty()) bad("store.data_dir", "must not be empty");
  if (s.store.mode == "distributed" && regions > 1 && s.region.names.empty())
    bad("region.names",
        "the distributed engine with peers needs every region's name (its JetStream domain), "
        "e.g. [\"eu-central\", \"eu-west\"]");
  if (s.store.mode == "distributed") {
    // One URL or a cluster's nodes, comma-separated.
    std::string_view urls = s.store.nats_url;
    bool ok = !urls.empty();
    while (ok && !urls.empty()) {
      size_t comma = urls.find(',');
      std::string_view url = urls.substr(0, comma);
      ok = url.starts_with("nats://") || url.starts_with("tls://");
      urls = comma == std::string_view::npos ? std::string_view() : urls.substr(comma + 1);
      if (comma != std::string_view::npos && urls.empty()) ok = false;
    }
    if (!ok) {
      bad("store.nats_url", "'" + s.store.nats_url +
                                "' must be nats:// URLs (comma-separated for a cluster) in "
                                "distributed mode");
    }
    if (s.store.nats_cert_file.empty() != s.store.nats_key_file.empty())
      bad("store.nats_cert_file", "a NATS client certificate needs store.nats_key_file too");
    if (!s.store.nats_user.empty() && s.store.nats_password.empty())
      bad("store.nats_password", "store.nats_user is set but has no password");
    if (!s.store.postgres_url.empty() && !s.store.postgres_url.starts_with("postgresql://") &&
        !s.store.postgres_url.starts_with("postgres://"))
      bad("store.postgres_url",
          "must be a postgresql:// URI in distributed mode, or empty (devices in SQLite under "
          "store.data_dir)");
  }
  if (s.geo.data_dir.empty()) bad("geo.data_dir", "must not be empty");

  if (s.auth.provider_tokens.empty())
    bad("auth.provider_tokens", "no provider configured; add e.g. AP1 = \"<token>\"");
  std::map<std::string, std::string> token_owner;
  auto token = [&](const std::string& key, const std::string& value) {
    if (value.empty()) return bad(key, "token must not be empty");
    // Stored hashed: `sha256:` and the 64 hex digits of the token's SHA-256.
    if (value.starts_with("sha256:") &&
        (value.size() != 7 + 64 ||
         value.find_first_not_of("0123456789abcdefABCDEF", 7) != std::string::npos)) {
      return bad(key, "a hashed token is sha256: followed by 64 hex digits");
    }
    auto [it, fresh] = token_owner.emplace(value, key);
    if (!fresh) bad(key, "token is the same as " + it->second + "'s; every token must differ");
  };
  for (const auto& [provider, t] : s.auth.provider_tokens)
    token("auth.provider_tokens." + provider, t);
  token("auth.device_token", s.auth.device_token);
  token("auth.admin_token", s.auth.admin_token);

  auto known_provider = [&](const std::string& key, const std::string& provider) {
    if (!s.auth.provider_tokens.contains(provider))
      bad(key, "provider '" + provider + "' has no token in auth.provider_tokens");
  };
  for (const auto& p : s.providers.high_priority) known_provider("providers.high_priority", p);
  for (const auto& p : s.providers.allow_non_actual)
    known_provider("providers.allow_non_actual", p);
  for (const auto& [p, seconds] : s.providers.lifetimes) {
    known_provider("providers.lifetimes_s", p);
    if (seconds < 1 || seconds > 31536000)
      bad("providers.lifetimes_s." + p, std::to_string(seconds) + " is not 1..31536000 seconds");
  }
  for (const auto& [p, level] : s.providers.default_levels) {
    known_provider("providers.default_levels", p);
    if (level < 0 || level > 4)
      bad("providers.default_levels." + p, std::to_string(level) + " is not a level 0..4");
  }

  if (!IsHttpUrl(s.push.apns.endpoint))
    bad("push.apns.endpoint", "'" + s.push.apns.endpoint + "' is not an http(s) URL");
  if (!IsHttpUrl(s.push.fcm.endpoint))
    bad("push.fcm.endpoint", "'" + s.push.fcm.endpoint + "' is not an http(s) URL");
  if (!IsHttpUrl(s.push.fcm.token_uri))
    bad("push.fcm.token_uri", "'" + s.push.fcm.token_uri + "' is not an http(s) URL");

  static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.contains(s.log.level))
    bad("log.level",
        "'" + s.log.level + "' must be trace, debug, info, warn, error, critical or off");
  return out;
}

ConfigResult<Settings> LoadSettingsFromString(std::string_view toml_text, const fs::path& base_dir,
                                              const std::vector<std::string>& overrides,
                                              std::string_view source_name) {
  ConfigError error;
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    error.problems.push_back({Kind::kSyntax, "",
                              std::string(source_name) + ":" + std::to_string(b.line) + ":" +
                                  std::to_string(b.column) + ": " + std::string(e.description())});
    return tl::make_unexpected(std::move(error));
  }

  for (const auto& o : overrides) ApplyOverride(doc, o, error.problems);

  Settings s = Defaults();
  Binder binder(s, error.problems, "--set");
  binder.Walk(doc, "");
  if (!error.problems.empty()) return tl::make_unexpected(std::move(error));

  // One rule for every relative path, from the file or from --set: the file's folder.
  for (const auto& spec : DeclaredSettings()) {
    if (spec.type != SettingType::kPath) continue;
    fs::path& p = std::get<fs::path& (*)(Settings&)>(spec.field)(s);
    if (p.empty() || p.is_absolute()) continue;
    p = (base_dir / p).lexically_normal();
  }

  error.problems = Validate(s);
  if (!error.problems.empty()) return tl::make_unexpected(std::move(error));
  return s;
}

ConfigResult<Settings> LoadSettings(const fs::path& path,
                                    const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigError e;
    e.problems.push_back({Kind::kIo, "", path.string() + ": cannot read the config file"});
    return tl::make_unexpected(std::move(e));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  if (ec) abs = path;
  return LoadSettingsFromString(buf.str(), abs.parent_path(), overrides, path.string());
}

std::string RenderToml(const Settings& settings, const RenderOptions& options) {
  std::string out;
  std::string section;
  bool first = true;
  for (const auto& spec : DeclaredSettings()) {
    std::string sec = SectionOf(spec.key);
    if (sec != section || first) {
      if (!sec.empty()) out += (out.empty() ? "" : "\n") + std::string("[") + sec + "]\n";
      section = sec;
    }
    first = false;
    if (options.comments) out += "# " + std::string(spec.meaning) + "\n";
    out += std::string(LeafOf(spec.key)) + " = " +
           FormatValue(spec, settings, options.show_secrets) + "\n";
  }
  return out;
}

std::string RenderDocsMarkdown() {
  std::string out =
      "# Configuration reference\n"
      "\n"
      "<!-- Generated by `fanout config docs` from src/platform/config/settings_table.cpp. "
      "Do not edit: a unit test compares this file with the generated text. -->\n"
      "\n"
      "`fanout serve --config FILE` reads one TOML file. `fanout config example "
      "[--distributed] [--region NAME --regions R0,R1,... [--tokens-from FILE]] [--nats URL] "
      "[--postgres URL]` prints a complete working one (for one region of several: its index "
      "is NAME's position in --regions, region i listens on 127.0.0.1:8080+i, the others are "
      "its peers, and --tokens-from copies the shared [auth] tokens from another region's "
      "file); `fanout config check FILE [--set key=value ...]` validates a file and prints the "
      "effective settings.\n"
      "\n"
      "- Every key below is optional; a missing key takes its default. A key that is not "
      "listed here is an error (typos are never ignored).\n"
      "- `--set key=value` overrides any key. The value is read as a TOML value "
      "(`region.peers=[\"http://h:1\"]`, `region.index=1`, `push.apns.critical_alerts=true`); "
      "anything that is not a TOML value is a string (`region.name=eu-west`). One entry of a "
      "table is set with `--set auth.provider_tokens.AP5=secret` (added to the file's table, or "
      "to the default one); a table written in the file replaces the default table.\n"
      "- Relative `path` values resolve against the config file's folder, also when given with "
      "`--set`. An empty path means \"none\".\n"
      "- Start-up fails, listing every problem, when: a key is unknown or has the wrong type; a "
      "number is out of range; `region.index` is not below the number of regions "
      "(`region.peers` + 1); `http.listen` is not `host:port`; `store.mode` is not `embedded` "
      "or `distributed`; a token is empty or shared; `providers.*` names a provider without a "
      "token; a URL is not http(s); a role or log level is unknown.\n";
  std::string section = "-";
  for (const auto& spec : DeclaredSettings()) {
    std::string sec = SectionOf(spec.key);
    if (sec != section) {
      out += "\n## " + (sec.empty() ? std::string("Top level") : "[" + sec + "]") + "\n\n";
      out += "| key | type | default | meaning |\n|---|---|---|---|\n";
      section = sec;
    }
    std::string type(TypeName(spec.type));
    if (spec.min != 0 || spec.max != 0)
      type += ", " + std::to_string(spec.min) + ".." + std::to_string(spec.max);
    if (spec.secret) type += ", secret";
    std::string meaning(spec.meaning), def(spec.default_value);
    for (std::string* cell : {&meaning, &def}) {
      std::string escaped;
      for (char c : *cell) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
      *cell = escaped;
    }
    out += "| `" + std::string(LeafOf(spec.key)) + "` | " + type + " | `" + def + "` | " + meaning +
           " |\n";
  }
  return out;
}

std::string RandomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Settings ExampleSettings(const ExampleOptions& options) {
  Settings s = DefaultSettings();
  for (const char* p : {"AP1", "AP2", "AP3", "AP4"}) s.auth.provider_tokens[p] = RandomToken();
  s.auth.device_token = RandomToken();
  s.auth.admin_token = RandomToken();
  s.geo.data_dir = options.geo_data_dir;
  // One region on its own works without edits; the header explains adding a second one.
  s.region.peers.clear();
  // Push to a local simulator (`fanout pushsim --listen 127.0.0.1:9443`) so the example works
  // without Apple/Google credentials; the real endpoints are the declared defaults.
  s.push.apns.endpoint = "http://127.0.0.1:9443";
  s.push.apns.team_id = "TEAM000000";
  s.push.apns.key_id = "KEY0000000";
  s.push.apns.topic = "de.example.warnings";
  s.push.fcm.endpoint = "http://127.0.0.1:9443";
  s.push.fcm.token_uri = "http://127.0.0.1:9443/token";
  s.push.fcm.project_id = "fanout-example";
  if (!options.keys_dir.empty()) {
    s.push.apns.key_file = options.keys_dir / "AuthKey.p8";
    s.push.fcm.service_account_file = options.keys_dir / "service-account.json";
  }
  if (options.distributed) s.store.mode = "distributed";
  if (!options.nats_url.empty()) s.store.nats_url = options.nats_url;
  if (!options.postgres_url.empty()) s.store.postgres_url = options.postgres_url;
  if (!options.regions.empty()) {
    auto me = std::find(options.regions.begin(), options.regions.end(), options.region);
    const int index = static_cast<int>(me - options.regions.begin());
    s.region.name = options.region;
    s.region.index = index;
    s.http.listen = "127.0.0.1:" + std::to_string(8080 + index);
    s.store.data_dir = fs::path("data") / options.region;
    s.region.names = options.regions;
    for (size_t i = 0; i < options.regions.size(); ++i) {
      if (static_cast<int>(i) != index) {
        s.region.peers.push_back("http://127.0.0.1:" + std::to_string(8080 + i));
      }
    }
  }
  if (options.auth) s.auth = *options.auth;
  return s;
}

std::string CheckExampleRegions(const ExampleOptions& options) {
  if (options.regions.empty() && options.region.empty()) return {};
  if (options.regions.empty()) return "--region needs --regions (every region's name, in order)";
  if (options.region.empty()) return "--regions needs --region (this region's name)";
  std::set<std::string> seen;
  for (const auto& r : options.regions) {
    if (r.empty()) return "--regions: an empty region name";
    if (!seen.insert(r).second) return "--regions: '" + r + "' is listed twice";
  }
  if (!seen.count(options.region)) {
    return "--region '" + options.region + "' is not one of --regions";
  }
  if (options.regions.size() > 1024) return "--regions: at most 1024 regions";
  return {};
}

std::string RenderExampleConfig(const Settings& example, const ExampleOptions& options) {
  std::string head = "# Fanout region config, printed by `fanout config example" +
                     std::string(options.distributed ? " --distributed" : "") +
                     (options.regions.empty() ? "" : " --region " + options.region) +
                     "`.\n"
                     "# Every key is listed with its meaning; `fanout config docs` has the "
                     "reference.\n";
  head += options.auth
              ? "# The tokens below are the other regions' (--tokens-from): use them as\n"
                "# `Authorization: Bearer <token>`.\n#\n"
              : "# The tokens below are stored as the SHA-256 of random tokens; the clear\n"
                "# tokens were printed once on standard error (`NAME = <token>`): send\n"
                "# them as `Authorization: Bearer <token>`.\n#\n";
  if (options.regions.empty()) {
    head +=
        "# One region on its own (no peers). A second region from the same file:\n"
        "#   fanout serve --config FILE --set region.name=eu-west --set region.index=1 \\\n"
        "#     --set http.listen=127.0.0.1:8081 --set 'region.peers=[\"http://127.0.0.1:8080\"]' "
        "\\\n"
        "#     --set store.data_dir=./data/eu-west\n"
        "# and add `peers = [\"http://127.0.0.1:8081\"]` below for the first one.\n"
        "#\n";
  } else {
    head += "# Region " + options.region + ", index " + std::to_string(example.region.index) +
            " of " + std::to_string(options.regions.size()) +
            " (its position in --regions). Region i listens on 127.0.0.1:8080+i;\n"
            "# on separate hosts edit http.listen and region.peers. Every region must share\n"
            "# the [auth] tokens: print the others' files with --tokens-from THIS_FILE.\n"
            "#\n";
  }
  head +=
      "# Push goes to a local simulator: run `fanout pushsim --listen 127.0.0.1:9443`.\n"
      "# For real delivery set the endpoints to the declared defaults (`fanout config docs`)\n"
      "# and your Apple/Google credentials.\n";
  if (options.keys_dir.empty())
    head +=
        "# No keys were generated (no --keys-dir): push.apns.key_file and\n"
        "# push.fcm.service_account_file resolve next to this file.\n";
  if (options.distributed)
    head +=
        "# Distributed mode: needs NATS JetStream and PostgreSQL at the URLs in [store].\n"
        "# One region may run as several processes from this file, each with its own\n"
        "# http.listen and roles, e.g. --set 'roles=[\"ingest\",\"processor\"]', two with\n"
        "# [\"queuer\"], four with [\"sender\"]. Raw alerts travel through JetStream: the\n"
        "# server's max_payload must exceed cap.max_body_bytes by 4 KiB (nats-server.conf:\n"
        "# `max_payload: 8MB`; its default of 1 MB is refused at start).\n";
  return head + "\n" + RenderToml(example, {.comments = true, .show_secrets = true});
}

namespace {
bool HasData(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "geo" / "de_gemeinden_vg5000_2021.csv", ec);
}
}  // namespace

std::string DataDirSearch::Tried() const {
  std::string out;
  for (const auto& t : tried) out += (out.empty() ? "" : ", ") + t.string();
  return out;
}

DataDirSearch FindDataDir(const char* env_data_dir, const fs::path& exe,
                          const fs::path& install_data_dir) {
  DataDirSearch s;
  std::error_code ec;
  if (env_data_dir && *env_data_dir) {
    s.from_env = true;
    fs::path p = fs::absolute(fs::path(env_data_dir), ec).lexically_normal();
    s.tried.push_back(p);
    if (!ec && HasData(p)) s.found = p;
    return s;
  }
  if (!exe.empty()) {
    for (fs::path dir = exe.parent_path(); !dir.empty(); dir = dir.parent_path()) {
      for (const fs::path& candidate : {dir / "data", dir / "share" / "fanout"}) {
        s.tried.push_back(candidate);
        if (HasData(candidate)) {
          s.found = candidate.lexically_normal();
          return s;
        }
      }
      if (dir == dir.parent_path()) break;
    }
  }
  if (!install_data_dir.empty()) {
    s.tried.push_back(install_data_dir);
    if (HasData(install_data_dir)) s.found = install_data_dir;
  }
  return s;
}

fs::path InstallDataDir() {
#ifdef FANOUT_INSTALL_DATADIR
  return FANOUT_INSTALL_DATADIR;
#else
  return {};
#endif
}

DataDirSearch FindDataDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) exe.clear();
  return FindDataDir(std::getenv("FANOUT_DATA_DIR"), exe, InstallDataDir());
}

std::optional<fs::path> FindGeoDataDir(const char* env_data_dir, const fs::path& exe) {
  auto s = FindDataDir(env_data_dir, exe, {});
  if (!s.found) return std::nullopt;
  return *s.found / "geo";
}

}  // namespace fanout::config
