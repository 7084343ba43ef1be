#pragma once
// A small thread-safe metrics registry rendered in the Prometheus text exposition format
// 0.0.4 (`GET /metrics`, DESIGN §7.2).
//
// Look a series up once (takes a lock), keep the returned handle, and update it on the hot
// path: Counter::Inc, Gauge::Set/Add and Histogram::Observe are lock-free atomics. Handles
// are small values pointing into the registry, valid as long as the registry lives.
// Only a component's probe should know metric names: `fanout_<component>_<what>_<unit>`,
// e.g. `fanout_sender_pushes_total{platform,outcome}`, `fanout_sender_push_seconds`.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fanout::metrics {

/// Label name -> value. Order does not matter: {a,b} and {b,a} are the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// Latency buckets in seconds: 1 ms .. 10 s.
inline const std::vector<double> kLatencyBucketsSeconds = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

namespace detail {
struct HistogramCell {
  explicit HistogramCell(const std::vector<double>& upper_bounds)
      : bounds(upper_bounds), buckets(new std::atomic<uint64_t>[upper_bounds.size() + 1]) {
    for (size_t i = 0; i <= bounds.size(); ++i) buckets[i].store(0, std::memory_order_relaxed);
  }
  const std::vector<double>& bounds;                 // upper bounds, ascending; +Inf implied
  std::unique_ptr<std::atomic<uint64_t>[]> buckets;  // non-cumulative; last is (max, +Inf]
  std::atomic<double> sum{0};
};
}  // namespace detail

/// A monotonically increasing count. Copyable handle; Inc is lock-free.
class Counter {
 public:
  Counter() = default;  // a detached handle: increments go nowhere
  void Inc(uint64_t n = 1) noexcept { cell_->fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const noexcept { return cell_->load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  explicit Counter(std::atomic<uint64_t>* cell) : cell_(cell) {}
  static std::atomic<uint64_t>* Detached();
  std::atomic<uint64_t>* cell_ = Detached();
};

/// A value that goes up and down (queue depth, connections). Lock-free.
class Gauge {
 public:
  Gauge() = default;
  void Set(double v) noexcept { cell_->store(v, std::memory_order_relaxed); }
  void Add(double v) noexcept { cell_->fetch_add(v, std::memory_order_relaxed); }
  double Value() const noexcept { return cell_->load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  explicit Gauge(std::atomic<double>* cell) : cell_(cell) {}
  static std::atomic<double>* Detached();
  std::atomic<double>* cell_ = Detached();
};

/// Observations counted into fixed buckets (e.g. latencies in seconds). Lock-free.
class Histogram {
 public:
  Histogram() = default;
  void Observe(double v) noexcept;
  uint64_t Count() const noexcept;
  double Sum() const noexcept { return cell_->sum.load(std::memory_order_relaxed); }

 private:
  friend class Registry;
  explicit Histogram(detail::HistogramCell* cell) : cell_(cell) {}
  static detail::HistogramCell* Detached();
  detail::HistogramCell* cell_ = Detached();
};

/// Owns every metric family. Thread-safe: lookups and Render take a mutex; updates through
/// handles do not. Misuse (bad name, same name with another type or buckets, reserved label)
/// throws std::invalid_argument: it is a programming error found at start-up.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// The process-wide registry that `GET /metrics` renders.
  static Registry& Default();

  /// `name` should end in `_total`.
  Counter GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  /// `bounds`: ascending finite upper bounds; the +Inf bucket is added.
  Histogram GetHistogram(std::string_view name, std::string_view help,
                         const std::vector<double>& bounds, const Labels& labels = {});

  /// Prometheus text format 0.0.4 (Content-Type: text/plain; version=0.0.4). Families and
  /// series are sorted, so the output is deterministic.
  std::string Render() const;

 private:
  struct Family;
  Family& FamilyFor(std::string_view name, std::string_view help, int type,
                    const std::vector<double>* bounds);
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

/// The Content-Type header value for Render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

/// A field of this process's /proc/self/status in kB ("VmRSS:", "VmHWM:" = peak RSS);
/// 0 where it is unavailable (not Linux, or no such field).
size_t ProcessStatusKb(const char* field);

}  // namespace fanout::metrics
