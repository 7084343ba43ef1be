#include "adapters/memory/memory_bus.hpp"

#include <pthread.h>

#include <cstdio>

namespace fanout::adapters::memory {

namespace {
int64_t EpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

MemoryBus::~MemoryBus() { Stop(); }

MemoryBus::Queue& MemoryBus::QueueFor(const std::string& subject) {
  auto& q = queues_[subject];
  if (!q) q = std::make_unique<Queue>();
  return *q;
}

void MemoryBus::Enqueue(Queue& q, ports::BusMessage msg, int64_t delay_ms) {
  if (delay_ms > 0) {
    auto due = SteadyClock::now() + std::chrono::milliseconds(delay_ms);
    q.delayed.emplace(due, std::move(msg));
  } else {
    q.items.push_back(std::move(msg));
  }
  q.cv.notify_one();  // an idle worker takes it, or re-arms its timer for an earlier due time
}

bool MemoryBus::Seen(const std::string& msg_id) {
  if (!seen_.insert(msg_id).second) return true;
  seen_order_.push_back(msg_id);
  if (seen_order_.size() > settings_.dedup_window) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return false;
}

Result<size_t, Error> MemoryBus::Recover() {
  if (!journal_) return size_t{0};
  auto finished = journal_->LoadFinishedIds();
  if (!finished) return Fail(std::move(finished.error()));
  auto unfinished = journal_->LoadUnfinished();
  if (!unfinished) return Fail(std::move(unfinished.error()));
  const int64_t now = EpochMs();
  std::lock_guard lock(mu_);
  for (const std::string& id : *finished) Seen(id);
  for (BusJournal::Unfinished& u : *unfinished) {
    Seen(u.message.msg_id);
    Queue& q = QueueFor(u.message.subject);
    ++pending_;
    Enqueue(q, std::move(u.message), u.due_epoch_ms - now);
  }
  return unfinished->size();
}

Result<void, Error> MemoryBus::Publish(ports::BusMessage msg) {
  msg.deliveries = 0;
  std::lock_guard lock(mu_);
  if (stopping_) return Fail(Error{Error::Kind::kRetryLater, "bus stopped"});
  if (journal_ && msg.msg_id.empty()) {
    msg.msg_id = "anon:" + std::to_string(EpochMs()) + ":" + std::to_string(++anonymous_);
  }
  if (!msg.msg_id.empty() && Seen(msg.msg_id)) return {};  // duplicate: delivered once
  // Journaled in order under the lock, so the journal's order is the publish order.
  if (journal_ && !msg.derived) journal_->Add(msg, EpochMs() + std::max<int64_t>(msg.delay_ms, 0));
  msg.durable_payload.clear();  // in memory the full payload is delivered
  Queue& q = QueueFor(msg.subject);
  ++pending_;
  const int64_t delay = msg.delay_ms;
  Enqueue(q, std::move(msg), delay);
  return {};
}

Result<void, Error> MemoryBus::Flush() {
  if (!journal_) return {};
  return journal_->Flush();
}

void MemoryBus::Subscribe(const Subscription& subscription, Handler handler) {
  std::lock_guard lock(mu_);
  Queue* q = &QueueFor(subscription.subject);
  for (int i = 0; i < subscription.workers; ++i) {
    threads_.emplace_back([this, q, subscription, handler] {
      // "bus:" + the subject's first word (units, batches, ...), for profilers and top -H.
      std::string name = "bus:" + subscription.subject.substr(0, subscription.subject.find('.'));
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      Work(q, subscription, handler);
    });
  }
}

void MemoryBus::OnDeadLetter(DeadLetterSink sink) {
  std::lock_guard lock(mu_);
  dead_letters_ = std::move(sink);
}

void MemoryBus::DeadLettered(const ports::BusMessage& msg, const Subscription& sub,
                             std::string reason) {
  DeadLetterSink sink;
  {
    std::lock_guard lock(mu_);
    sink = dead_letters_;
  }
  if (sink) {
    sink(DeadLetter{msg, sub.consumer, std::move(reason)});
  } else {
    std::fprintf(stderr, "bus: dead letter %s on %s (%s): %s\n", msg.msg_id.c_str(),
                 msg.subject.c_str(), sub.consumer.c_str(), reason.c_str());
  }
}

void MemoryBus::Work(Queue* q, Subscription sub, Handler handler) {
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
    ++msg.deliveries;
    Ack ack;
    // Only subscriptions whose handlers act outside the system journal their deliveries
    // (durably, before the handler runs); for the others a redelivery is harmless and
    // counting it is not worth a write per message.
    const bool journaled = journal_ && !msg.derived;
    if (auto recorded = journaled && sub.record_deliveries
                            ? journal_->Delivered(msg.msg_id, msg.deliveries, true)
                            : Result<void, Error>{};
        !recorded) {
      // Not durably marked as delivered: do not run the handler (a crash would hide the
      // redelivery); try again shortly.
      ack = Ack::Retry();
    } else {
      ack = handler(msg);
    }
    if (ack.kind == Ack::Kind::kRetry && sub.max_deliver > 0 && msg.deliveries >= sub.max_deliver) {
      ack = Ack::GiveUp("gave up after " + std::to_string(msg.deliveries) + " deliveries");
    }
    if (ack.kind == Ack::Kind::kGiveUp) {
      if (journaled) journal_->Finished(msg.msg_id);
      DeadLettered(msg, sub, ack.reason);
      lock.lock();
      --pending_;
      continue;
    }
    if (ack.kind == Ack::Kind::kRetry) {
      const int64_t delay = ack.delay_ms >= 0 ? ack.delay_ms : settings_.retry_delay_ms;
      if (journaled) journal_->Rescheduled(msg.msg_id, EpochMs() + delay);
      lock.lock();
      if (stopping_) continue;  // stays pending: the journal delivers it after a restart
      q->delayed.emplace(SteadyClock::now() + std::chrono::milliseconds(delay), std::move(msg));
      continue;
    }
    if (journaled) journal_->Finished(msg.msg_id);
    lock.lock();
    --pending_;
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
