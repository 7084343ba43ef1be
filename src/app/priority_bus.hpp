#pragma once
// A WorkBus that keeps the two priorities on two underlying buses (DESIGN §1, ADR 0004): the
// subjects of the high priority (`alerts.high`, `units.high`, `batches.high.*`) go to one,
// everything else to the other. With the distributed engine each is its own NATS connection,
// so a backlog of regular traffic on one socket cannot delay an Extreme alert. Thread-safe as
// its parts.
#include <string>

#include "ports/work_bus.hpp"

namespace fanout::app {

/// True for the subjects of the high priority (the second dot-separated word is "high").
bool IsHighPrioritySubject(const std::string& subject);

class PriorityBus final : public ports::WorkBus {
 public:
  PriorityBus(ports::WorkBus& high, ports::WorkBus& regular) : high_(high), regular_(regular) {}

  Result<void, Error> Publish(ports::BusMessage msg) override {
    return For(msg.subject).Publish(std::move(msg));
  }
  Result<void, Error> Flush() override {
    auto h = high_.Flush();
    auto r = regular_.Flush();
    return h ? r : h;
  }
  void Subscribe(const Subscription& s, Handler handler) override {
    For(s.subject).Subscribe(s, std::move(handler));
  }
  void OnDeadLetter(DeadLetterSink sink) override {
    high_.OnDeadLetter(sink);
    regular_.OnDeadLetter(std::move(sink));
  }
  size_t Pending() const override { return high_.Pending() + regular_.Pending(); }
  void Stop() override {
    high_.Stop();
    regular_.Stop();
  }

 private:
  ports::WorkBus& For(const std::string& subject) {
    return IsHighPrioritySubject(subject) ? high_ : regular_;
  }
  ports::WorkBus& high_;
  ports::WorkBus& regular_;
};

}  // namespace fanout::app
