#include "platform/metrics/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <variant>

namespace fanout::metrics {
namespace {

enum Type { kCounter, kGauge, kHistogram };
constexpr std::string_view kTypeNames[] = {"counter", "gauge", "histogram"};

bool ValidName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? ptr : buf);
}

// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
void AppendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

// HELP text escapes backslash and line feed.
std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// `a="x",b="y"` with names sorted; validated.
std::string CanonicalLabels(Labels labels, bool histogram) {
  std::sort(labels.begin(), labels.end());
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& [name, value] = labels[i];
    if (!ValidName(name, false) || name.starts_with("__"))
      throw std::invalid_argument("metrics: invalid label name '" + name + "'");
    if (histogram && name == "le")
      throw std::invalid_argument("metrics: label 'le' is reserved for histogram buckets");
    if (i > 0 && labels[i - 1].first == name)
      throw std::invalid_argument("metrics: label '" + name + "' given twice");
    if (i > 0) out += ',';
    out += name;
    out += "=\"";
    AppendLabelValue(out, value);
    out += '"';
  }
  return out;
}

std::string LabelNames(const Labels& labels) {
  std::vector<std::string> names;
  for (const auto& l : labels) names.push_back(l.first);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + ",";
  return out;
}

}  // namespace

struct Registry::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<double> bounds;
  std::string label_names;  // fixed by the first series
  bool has_series = false;
  // Canonical label text -> cell. Cells never move (unique_ptr), so handles stay valid.
  std::map<std::string, std::unique_ptr<std::atomic<uint64_t>>> counters;
  std::map<std::string, std::unique_ptr<std::atomic<double>>> gauges;
  std::map<std::string, std::unique_ptr<detail::HistogramCell>> histograms;

  std::string Key(const Labels& labels) {
    std::string names = LabelNames(labels);
    std::string key = CanonicalLabels(labels, type == kHistogram);
    if (!has_series) {
      label_names = names;
      has_series = true;
    } else if (names != label_names) {
      throw std::invalid_argument("metrics: " + name +
                                  " used with different label names than before");
    }
    return key;
  }
};

std::atomic<uint64_t>* Counter::Detached() {
  static std::atomic<uint64_t> sink{0};
  return &sink;
}
std::atomic<double>* Gauge::Detached() {
  static std::atomic<double> sink{0};
  return &sink;
}
detail::HistogramCell* Histogram::Detached() {
  static const std::vector<double> no_bounds;
  static detail::HistogramCell sink(no_bounds);
  return &sink;
}

void Histogram::Observe(double v) noexcept {
  const auto& b = cell_->bounds;
  // Bucket i counts (b[i-1], b[i]]; `le` is inclusive. NaN lands in +Inf.
  size_t i = std::isnan(v) ? b.size() : std::lower_bound(b.begin(), b.end(), v) - b.begin();
  cell_->buckets[i].fetch_add(1, std::memory_order_relaxed);
  cell_->sum.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::Count() const noexcept {
  uint64_t n = 0;
  for (size_t i = 0; i <= cell_->bounds.size(); ++i)
    n += cell_->buckets[i].load(std::memory_order_relaxed);
  return n;
}

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::Default() {
  static Registry registry;
  return registry;
}

Registry::Family& Registry::FamilyFor(std::string_view name, std::string_view help, int type,
                                      const std::vector<double>* bounds) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    if (!ValidName(name, true))
      throw std::invalid_argument("metrics: invalid metric name '" + std::string(name) + "'");
    auto f = std::make_unique<Family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = type;
    if (bounds) {
      for (size_t i = 0; i < bounds->size(); ++i) {
        if (!std::isfinite((*bounds)[i]) || (i > 0 && (*bounds)[i] <= (*bounds)[i - 1]))
          throw std::invalid_argument("metrics: " + f->name +
                                      " buckets must be finite and strictly ascending");
      }
      f->bounds = *bounds;
    }
    it = families_.emplace(f->name, std::move(f)).first;
  }
  Family& f = *it->second;
  if (f.type != type)
    throw std::invalid_argument("metrics: " + f.name + " is already a " +
                                std::string(kTypeNames[f.type]));
  if (f.help != help)
    throw std::invalid_argument("metrics: " + f.name + " registered with different help texts");
  if (bounds && f.bounds != *bounds)
    throw std::invalid_argument("metrics: " + f.name + " registered with different buckets");
  return f;
}

Counter Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = FamilyFor(name, help, kCounter, nullptr);
  auto& cell = f.counters[f.Key(labels)];
  if (!cell) cell = std::make_unique<std::atomic<uint64_t>>(0);
  return Counter(cell.get());
}

Gauge Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = FamilyFor(name, help, kGauge, nullptr);
  auto& cell = f.gauges[f.Key(labels)];
  if (!cell) cell = std::make_unique<std::atomic<double>>(0);
  return Gauge(cell.get());
}

Histogram Registry::GetHistogram(std::string_view name, std::string_view help,
                                 const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& f = FamilyFor(name, help, kHistogram, &bounds);
  auto& cell = f.histograms[f.Key(labels)];
  if (!cell) cell = std::make_unique<detail::HistogramCell>(f.bounds);
  return Histogram(cell.get());
}

std::string Registry::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto series = [&](const std::string& name, std::string_view suffix, const std::string& labels,
                    std::string_view extra_label, const std::string& value) {
    out += name;
    out += suffix;
    if (!labels.empty() || !extra_label.empty()) {
      out += '{';
      out += labels;
      if (!labels.empty() && !extra_label.empty()) out += ',';
      out += extra_label;
      out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
  };
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + EscapeHelp(f->help) + "\n";
    out += "# TYPE " + name + " " + std::string(kTypeNames[f->type]) + "\n";
    for (const auto& [labels, cell] : f->counters)
      series(name, "", labels, "", std::to_string(cell->load(std::memory_order_relaxed)));
    for (const auto& [labels, cell] : f->gauges)
      series(name, "", labels, "", FormatDouble(cell->load(std::memory_order_relaxed)));
    for (const auto& [labels, cell] : f->histograms) {
      // _count is the +Inf bucket (sum of all buckets) so the two always agree even while
      // other threads observe.
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= f->bounds.size(); ++i) {
        cumulative += cell->buckets[i].load(std::memory_order_relaxed);
        std::string le = "le=\"" +
                         (i < f->bounds.size() ? FormatDouble(f->bounds[i]) : std::string("+Inf")) +
                         "\"";
        series(name, "_bucket", labels, le, std::to_string(cumulative));
      }
      series(name, "_sum", labels, "", FormatDouble(cell->sum.load(std::memory_order_relaxed)));
      series(name, "_count", labels, "", std::to_string(cumulative));
    }
  }
  return out;
}

size_t ProcessStatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0) return std::strtoull(line.c_str() + n, nullptr, 10);
  }
  return 0;
}

}  // namespace fanout::metrics
