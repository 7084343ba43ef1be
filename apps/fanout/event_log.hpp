#pragma once
// The protocol facts this process records, also as structured log lines (issue 14,
// docs/metrics.md "Logs"): a decorator over the region's ports::ProtocolLog that, after each
// append that recorded something, logs one line with the alert id, the event, the unit and
// batch where it concerns one, and its counts — `log.json = true` makes them JSON objects
// with `alert`, `batch`, ... keys. Alert-level facts at info (quarantines, takeovers at warn,
// dead letters at error), unit and batch facts at debug. Everything else is forwarded.
#include <memory>
#include <string>
#include <vector>

#include "platform/log/log.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::cli {

class LoggedProtocolLog final : public ports::ProtocolLog {
 public:
  explicit LoggedProtocolLog(ports::ProtocolLog& inner)
      : inner_(inner), log_(log::GetLogger("events")) {}

  Result<bool, Error> Append(const domain::pipeline::Event& e) override;
  Result<void, Error> Flush() override { return inner_.Flush(); }
  std::vector<domain::pipeline::Event> Events(const std::string& alert_id) const override {
    return inner_.Events(alert_id);
  }
  std::vector<std::string> AlertIds() const override { return inner_.AlertIds(); }
  std::vector<Entry> ReadFrom(uint64_t after, size_t max) const override {
    return inner_.ReadFrom(after, max);
  }
  void Listen(Listener l) override { inner_.Listen(std::move(l)); }

 private:
  ports::ProtocolLog& inner_;
  log::Logger log_;
};

}  // namespace fanout::cli
