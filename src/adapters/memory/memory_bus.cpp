#include "adapters/memory/memory_bus.hpp"

namespace fanout::adapters::memory {

MemoryBus::~MemoryBus() { Stop(); }

MemoryBus::Queue& MemoryBus::QueueFor(const std::string& subject) {
  auto& q = queues_[subject];
  if (!q) q = std::make_unique<Queue>();
  return *q;
}

Result<void, Error> MemoryBus::Publish(ports::BusMessage msg) {
  std::lock_guard lock(mu_);
  if (stopping_) return Fail(Error{Error::Kind::kRetryLater, "bus stopped"});
  if (!msg.msg_id.empty()) {
    if (!seen_.insert(msg.msg_id).second) return {};  // duplicate: delivered once
    seen_order_.push_back(msg.msg_id);
    if (seen_order_.size() > settings_.dedup_window) {
      seen_.erase(seen_order_.front());
      seen_order_.pop_front();
    }
  }
  Queue& q = QueueFor(msg.subject);
  if (msg.delay_ms > 0) {
    auto due = SteadyClock::now() + std::chrono::milliseconds(msg.delay_ms);
    q.delayed.emplace(due, std::move(msg));
  } else {
    q.items.push_back(std::move(msg));
  }
  ++pending_;
  q.cv.notify_one();  // an idle worker takes it, or re-arms its timer for an earlier due time
  return {};
}

void MemoryBus::Subscribe(const std::string& subject, int workers, Handler handler) {
  std::lock_guard lock(mu_);
  Queue* q = &QueueFor(subject);
  for (int i = 0; i < workers; ++i) {
    threads_.emplace_back([this, q, handler] { Work(q, handler); });
  }
}

void MemoryBus::Work(Queue* q, Handler handler) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return;
    ports::BusMessage msg;
    if (!q->delayed.empty() && q->delayed.begin()->first <= SteadyClock::now()) {
      msg = std::move(q->delayed.begin()->second);
      q->delayed.erase(q->delayed.begin());
    } else if (!q->items.empty()) {
      msg = std::move(q->items.front());
      q->items.pop_front();
    } else if (!q->delayed.empty()) {
      // Copy: the node may be taken by another worker while this one waits.
      const SteadyClock::time_point due = q->delayed.begin()->first;
      q->cv.wait_until(lock, due);
      continue;
    } else {
      q->cv.wait(lock);
      continue;
    }
    // Hand the timer for the remaining delayed messages to an idle worker.
    if (!q->delayed.empty()) q->cv.notify_one();
    lock.unlock();
    Ack ack = handler(msg);
    lock.lock();
    if (ack == Ack::kRetry && !stopping_) {
      auto due = SteadyClock::now() + std::chrono::milliseconds(settings_.retry_delay_ms);
      q->delayed.emplace(due, std::move(msg));
    } else {
      --pending_;
    }
  }
}

size_t MemoryBus::Pending() const {
  std::lock_guard lock(mu_);
  return pending_;
}

void MemoryBus::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (auto& [_, q] : queues_) q->cv.notify_all();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace fanout::adapters::memory
