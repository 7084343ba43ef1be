#include "adapters/geofiles/geo_files.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace fanout::adapters::geofiles {
namespace {

using domain::geo::Municipality;
using domain::geo::WarnCell;

Error Invalid(std::string message) { return Error{Error::Kind::kInvalid, std::move(message)}; }

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kWs = " \t\r\n";
  const auto b = s.find_first_not_of(kWs);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kWs) - b + 1);
}

/// Splits one CSV record (no embedded newlines in our files; quotes are honoured anyway).
std::vector<std::string> SplitRecord(std::string_view line, char sep) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == sep) {
      out.push_back(std::move(field));
      field.clear();
    } else {
      field.push_back(c);
    }
  }
  out.push_back(std::move(field));
  return out;
}

/// Calls `fn(line_number, line)` for every non-empty line; strips a UTF-8 BOM and CR.
template <class Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) continue;
    if (!fn(line_no, line)) return;
  }
}

bool AllDigits(std::string_view s, std::size_t n) {
  return s.size() == n &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool ParseDouble(std::string_view s, double& out) {
  s = Trim(s);
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

Result<std::string, Error> ReadFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Fail(Error{Error::Kind::kNotFound, "geo data file missing: " + path.string()});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(Error{Error::Kind::kNotFound, "cannot open " + path.string()});
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::vector<Municipality>, Error> ParseMunicipalitiesCsv(std::string_view text,
                                                                std::string_view source) {
  std::vector<Municipality> out;
  out.reserve(11000);
  std::optional<Error> error;
  int c_ars = -1, c_ags = -1, c_name = -1, c_lat = -1, c_lon = -1;
  std::size_t columns = 0;
  ForEachLine(text, [&](std::size_t line_no, std::string_view line) {
    auto f = SplitRecord(line, ',');
    const std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
    if (columns == 0) {  // header
      columns = f.size();
      for (int i = 0; i < static_cast<int>(f.size()); ++i) {
        const std::string_view h = Trim(f[static_cast<std::size_t>(i)]);
        if (h == "ars") c_ars = i;
        if (h == "ags") c_ags = i;
        if (h == "name") c_name = i;
        if (h == "label_lat") c_lat = i;
        if (h == "label_lon") c_lon = i;
      }
      if (c_ars < 0 || c_ags < 0 || c_name < 0 || c_lat < 0 || c_lon < 0) {
        error = Invalid(where + "header lacks one of ars, ags, name, label_lat, label_lon");
        return false;
      }
      return true;
    }
    if (f.size() != columns) {
      error = Invalid(where + "expected " + std::to_string(columns) + " fields, got " +
                      std::to_string(f.size()));
      return false;
    }
    Municipality m;
    m.ars = std::string(Trim(f[static_cast<std::size_t>(c_ars)]));
    m.ags = std::string(Trim(f[static_cast<std::size_t>(c_ags)]));
    m.name = std::string(Trim(f[static_cast<std::size_t>(c_name)]));
    if (!AllDigits(m.ars, 12) || !AllDigits(m.ags, 8)) {
      error = Invalid(where + "ars must be 12 digits and ags 8 digits");
      return false;
    }
    if (!ParseDouble(f[static_cast<std::size_t>(c_lat)], m.label_lat) ||
        !ParseDouble(f[static_cast<std::size_t>(c_lon)], m.label_lon)) {
      error = Invalid(where + "label_lat/label_lon are not numbers");
      return false;
    }
    out.push_back(std::move(m));
    return true;
  });
  if (error) return Fail(std::move(*error));
  if (out.empty()) return Fail(Invalid(std::string(source) + ": no municipalities"));
  return out;
}

Result<std::vector<WarnCell>, Error> ParseWarnCellsCsv(std::string_view text,
                                                       std::string_view source) {
  std::vector<WarnCell> out;
  out.reserve(12000);
  std::optional<Error> error;
  bool header = true;
  ForEachLine(text, [&](std::size_t line_no, std::string_view line) {
    auto f = SplitRecord(line, ';');
    const std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
    if (header) {
      header = false;
      if (f.size() < 5 || Trim(f[0]) != "WARNCELLID" || Trim(f[1]) != "NAME" ||
          Trim(f[4]) != "BL") {
        error = Invalid(where + "header is not WARNCELLID;NAME;KURZNAME;CCC;BL");
        return false;
      }
      return true;
    }
    if (f.size() != 5) {
      error = Invalid(where + "expected 5 fields, got " + std::to_string(f.size()));
      return false;
    }
    WarnCell c;
    c.id = std::string(Trim(f[0]));
    c.name = std::string(Trim(f[1]));
    c.short_name = std::string(Trim(f[2]));
    c.land = std::string(Trim(f[4]));  // some BL values carry trailing spaces ("ST ")
    if (!AllDigits(c.id, 9)) {
      error = Invalid(where + "WARNCELLID '" + c.id + "' is not 9 digits");
      return false;
    }
    out.push_back(std::move(c));
    return true;
  });
  if (error) return Fail(std::move(*error));
  if (out.empty()) return Fail(Invalid(std::string(source) + ": no warn cells"));
  return out;
}

Result<domain::geo::GeoCatalog, Error> LoadGeoCatalog(const std::filesystem::path& geo_dir) {
  const auto m_path = geo_dir / kMunicipalitiesCsv;
  const auto w_path = geo_dir / kWarnCellsCsv;
  auto m_text = ReadFile(m_path);
  if (!m_text) return Fail(std::move(m_text.error()));
  auto w_text = ReadFile(w_path);
  if (!w_text) return Fail(std::move(w_text.error()));
  auto municipalities = ParseMunicipalitiesCsv(*m_text, m_path.string());
  if (!municipalities) return Fail(std::move(municipalities.error()));
  auto cells = ParseWarnCellsCsv(*w_text, w_path.string());
  if (!cells) return Fail(std::move(cells.error()));
  try {
    return domain::geo::GeoCatalog(std::move(*municipalities), std::move(*cells));
  } catch (const std::invalid_argument& e) {
    return Fail(Invalid(m_path.string() + ": " + e.what()));
  }
}

}  // namespace fanout::adapters::geofiles
