#pragma once
// Logging for every component: a thin layer over spdlog that keeps spdlog out of this header
// (only <fmt/core.h>), so widely included headers stay cheap to compile.
//
//   InitLogging(Level::kInfo, /*json=*/false);        // once, in main
//   auto log = GetLogger("sender");                   // per component, keep it
//   log.Info("pushed {} tokens in {} ms", n, ms);      // formatted only if enabled
//
// Output goes to stderr (stdout belongs to the CLI's JSON output). Thread-safe: loggers may
// be used from any thread; InitLogging may be called again (tests) and reconfigures them all.
#include <fmt/core.h>

#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fanout::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

/// "trace".."critical", "off" (also "warning", "err"); nullopt otherwise.
std::optional<Level> ParseLevel(std::string_view name);

struct LogOptions {
  Level level = Level::kInfo;
  bool json = false;            // one JSON object per line: ts, level, component, msg
  std::ostream* out = nullptr;  // nullptr: stderr. Tests pass a std::ostringstream.
};

/// Configures the shared sink and level of every logger, existing and future.
void InitLogging(const LogOptions& options);
inline void InitLogging(Level level, bool json = false) {
  InitLogging(LogOptions{.level = level, .json = json});
}

/// A structured field of one line ("alert", "batch", "region"...): a top-level key of the JSON
/// object (next to ts, level, component, msg, which it must not repeat), ` key=value` after
/// the message in text.
struct LogField {
  std::string_view key;
  std::string_view value;
};

/// A named logger (the component: "ingest", "sender", "apns"). Cheap to copy.
class Logger {
 public:
  bool ShouldLog(Level level) const;
  void Log(Level level, std::string_view message) const;
  /// One line with structured fields: `log.Log(Level::kInfo, "alert done", {{"alert", id}})`.
  void Log(Level level, std::string_view message, std::initializer_list<LogField> fields) const {
    Log(level, message, fields.begin(), fields.size());
  }
  /// The same with a field list built at run time.
  void Log(Level level, std::string_view message, const LogField* fields, size_t count) const;

  template <class... Args>
  void Trace(fmt::format_string<Args...> f, Args&&... args) const {
    Format(Level::kTrace, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Debug(fmt::format_string<Args...> f, Args&&... args) const {
    Format(Level::kDebug, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Info(fmt::format_string<Args...> f, Args&&... args) const {
    Format(Level::kInfo, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Warn(fmt::format_string<Args...> f, Args&&... args) const {
    Format(Level::kWarn, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Error(fmt::format_string<Args...> f, Args&&... args) const {
    Format(Level::kError, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Critical(fmt::format_string<Args...> f, Args&&... args) const {
    Format(Level::kCritical, f, std::forward<Args>(args)...);
  }

 private:
  friend Logger GetLogger(std::string_view component);
  explicit Logger(void* impl) : impl_(impl) {}
  template <class... Args>
  void Format(Level level, fmt::format_string<Args...> f, Args&&... args) const {
    if (ShouldLog(level)) Log(level, fmt::format(f, std::forward<Args>(args)...));
  }
  void* impl_;  // spdlog::logger*, owned by the registry in log.cpp for the process lifetime
};

/// The logger for `component`, created on first use. Keep the returned value.
Logger GetLogger(std::string_view component);

}  // namespace fanout::log
