#include "platform/log/log.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <span>

namespace fanout::log {
namespace {

spdlog::level::level_enum ToSpd(Level level) {
  // Same order on both sides: trace, debug, info, warn, err, critical, off.
  return static_cast<spdlog::level::level_enum>(static_cast<int>(level));
}

void AppendJsonString(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        dest.append(std::string_view("\\\""));
        break;
      case '\\':
        dest.append(std::string_view("\\\\"));
        break;
      case '\n':
        dest.append(std::string_view("\\n"));
        break;
      case '\r':
        dest.append(std::string_view("\\r"));
        break;
      case '\t':
        dest.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(dest), "\\u{:04x}", c);
        } else {
          dest.push_back(static_cast<char>(c));
        }
    }
  }
  dest.push_back('"');
}

// The structured fields of the line being logged on this thread (formatting happens on the
// logging thread: the sinks are synchronous).
thread_local const LogField* t_fields = nullptr;
thread_local size_t t_field_count = 0;

// {"ts":"2026-01-02T03:04:05.678Z","level":"info","component":"sender","alert":"...",
//  "msg":"..."}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto since_epoch = msg.time.time_since_epoch();
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
    std::time_t t = secs.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    fmt::format_to(std::back_inserter(dest),
                   "{{\"ts\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"level\":\"{}\","
                   "\"component\":",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   static_cast<int>(millis.count()),
                   std::string_view(spdlog::level::to_string_view(msg.level).data(),
                                    spdlog::level::to_string_view(msg.level).size()));
    AppendJsonString(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    for (size_t i = 0; i < t_field_count; ++i) {
      const LogField& f = t_fields[i];
      dest.push_back(',');
      AppendJsonString(dest, f.key);
      dest.push_back(':');
      AppendJsonString(dest, f.value);
    }
    dest.append(std::string_view(",\"msg\":"));
    AppendJsonString(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

std::unique_ptr<spdlog::formatter> TextFormatter() {
  return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v",
                                                     spdlog::pattern_time_type::utc);
}

// All loggers write to one distributing sink whose target InitLogging swaps.
struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> sink = [] {
    auto s = std::make_shared<spdlog::sinks::dist_sink_mt>();
    s->add_sink(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s->set_formatter(TextFormatter());
    return s;
  }();
  Level level = Level::kInfo;
  std::atomic<bool> json{false};
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;
};

State& GetState() {
  static State* state = new State();  // never destroyed: loggers outlive static destructors
  return *state;
}

}  // namespace

std::optional<Level> ParseLevel(std::string_view name) {
  if (name == "trace") return Level::kTrace;
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error" || name == "err") return Level::kError;
  if (name == "critical") return Level::kCritical;
  if (name == "off") return Level::kOff;
  return std::nullopt;
}

void InitLogging(const LogOptions& options) {
  State& st = GetState();
  std::lock_guard lock(st.mutex);
  std::shared_ptr<spdlog::sinks::sink> target;
  if (options.out) {
    target = std::make_shared<spdlog::sinks::ostream_sink_mt>(*options.out, /*force_flush=*/true);
  } else {
    target = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  st.sink->set_sinks({target});
  if (options.json) {
    st.sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    st.sink->set_formatter(TextFormatter());
  }
  st.level = options.level;
  st.json = options.json;
  for (auto& [name, logger] : st.loggers) logger->set_level(ToSpd(options.level));
}

Logger GetLogger(std::string_view component) {
  State& st = GetState();
  std::lock_guard lock(st.mutex);
  auto it = st.loggers.find(component);
  if (it == st.loggers.end()) {
    auto logger = std::make_shared<spdlog::logger>(std::string(component), st.sink);
    logger->set_level(ToSpd(st.level));
    logger->flush_on(spdlog::level::warn);
    it = st.loggers.emplace(std::string(component), std::move(logger)).first;
  }
  return Logger(it->second.get());
}

bool Logger::ShouldLog(Level level) const {
  return static_cast<spdlog::logger*>(impl_)->should_log(ToSpd(level));
}

void Logger::Log(Level level, std::string_view message) const {
  static_cast<spdlog::logger*>(impl_)->log(ToSpd(level), "{}", message);
}

void Logger::Log(Level level, std::string_view message, const LogField* fields,
                 size_t count) const {
  if (!ShouldLog(level)) return;
  if (GetState().json) {
    t_fields = fields;
    t_field_count = count;
    Log(level, message);
    t_fields = nullptr;
    t_field_count = 0;
    return;
  }
  std::string line(message);
  for (const LogField& f : std::span<const LogField>(fields, count)) {
    line += ' ';
    line += f.key;
    line += '=';
    const bool quote =
        f.value.empty() || std::any_of(f.value.begin(), f.value.end(), [](char c) {
          return c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20;
        });
    if (quote) line += '"';
    for (char c : f.value) {
      if (c == '"' || c == '\\') {
        line += '\\';
        line += c;
      } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        line += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));  // no forged lines
      } else {
        line += c;
      }
    }
    if (quote) line += '"';
  }
  Log(level, line);
}

}  // namespace fanout::log
