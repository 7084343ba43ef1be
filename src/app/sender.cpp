#include "app/sender.hpp"

#include <algorithm>

#include "app/messages.hpp"
#include "domain/pipeline/events.hpp"

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;
using ports::PushOutcome;

Sender::Sender(RegionSettings region, RetrySettings retry, Registry& registry,
               ports::PlanStore& plans, ports::ProtocolLog& log, ports::WorkBus& bus,
               ports::Clock& clock, CompletionTracker& tracker, ports::PushGateway& apns,
               ports::PushGateway& fcm)
    : region_(std::move(region)),
      retry_(retry),
      registry_(registry),
      plans_(plans),
      log_(log),
      bus_(bus),
      clock_(clock),
      tracker_(tracker),
      apns_(apns),
      fcm_(fcm) {}

int64_t Sender::Backoff(int attempt, std::optional<std::chrono::milliseconds> retry_after) {
  int64_t cap = std::min(retry_.max_delay_ms, retry_.base_delay_ms << std::min(attempt, 20));
  int64_t delay;
  {
    std::lock_guard lock(rng_mu_);
    delay = std::uniform_int_distribution<int64_t>(cap / 2, cap)(rng_);  // jitter
  }
  if (retry_after) delay = std::max<int64_t>(delay, retry_after->count());
  return std::min(delay, retry_.max_delay_ms);
}

void Sender::FlushUnrecorded() {
  std::vector<std::pair<std::string, Event>> pending;
  {
    std::lock_guard lock(started_mu_);
    if (unrecorded_.empty()) return;
    pending.swap(unrecorded_);
  }
  std::vector<std::pair<std::string, Event>> still;
  std::vector<std::string> recorded;
  for (auto& [id, e] : pending) {
    if (log_.Append(e)) {  // appended twice is stored once
      recorded.push_back(id);
    } else {
      still.emplace_back(std::move(id), std::move(e));
    }
  }
  std::lock_guard lock(started_mu_);
  for (auto& p : still) unrecorded_.push_back(std::move(p));
  // Nothing left to do for those messages here (a redelivery finds the record in the log).
  for (const std::string& id : recorded) {
    auto it = started_.find(id);
    if (it != started_.end() && !it->second.running) started_.erase(it);
  }
}

ports::WorkBus::Ack Sender::Handle(const ports::BusMessage& msg) {
  auto work = DecodeBatchWork(msg.payload);
  if (!work) return ports::WorkBus::Ack::GiveUp("undecodable batch work item");
  auto unit = domain::pipeline::UnitKey::Parse(work->unit);
  if (!unit) return ports::WorkBus::Ack::GiveUp("bad unit '" + work->unit + "'");
  // Another region took the alert over (a returning region's leftover work): it pushes
  // every batch not recorded done itself.
  if (tracker_.MovedAway(work->alert_id)) return ports::WorkBus::Ack::Done();
  auto plan = plans_.Get(work->alert_id);
  if (!plan) return ports::WorkBus::Ack::Retry();  // plan not visible here yet
  FlushUnrecorded();
  // Done already, by any process (the tracker follows the log): a replay — a lost
  // acknowledgement, or a copy published again after the server forgot the message id —
  // pushes nothing.
  if (tracker_.BatchDone(work->alert_id, work->unit, work->batch)) {
    return ports::WorkBus::Ack::Done();
  }
  bool seen_here;
  std::optional<Event> unrecorded;
  {
    std::lock_guard lock(started_mu_);
    auto [it, first] = started_.try_emplace(msg.msg_id);
    // Being pushed by another worker here (the server handed it out again, e.g. while a
    // cluster moved the consumer): come back when that one has settled it.
    if (!first && it->second.running) return ports::WorkBus::Ack::Retry(1000);
    it->second.running = true;
    seen_here = !first;
    unrecorded = it->second.unrecorded;
  }
  // Pushed here already, only the batch-done was refused by the log: record it, push nothing.
  if (unrecorded) {
    bool recorded = static_cast<bool>(log_.Append(*unrecorded));
    std::lock_guard lock(started_mu_);
    if (!recorded) {
      started_[msg.msg_id].running = false;
      return ports::WorkBus::Ack::Retry();
    }
    started_.erase(msg.msg_id);
    tracker_.OnBatchDone(work->alert_id, work->unit, work->batch);
    return ports::WorkBus::Ack::Done();
  }
  // Forgotten once the batch is settled here; kept with its batch-done when the log refused
  // that (the next delivery here only records it).
  struct Settled {
    Sender& s;
    const std::string& id;
    std::optional<Event> unrecorded;
    ~Settled() {
      std::lock_guard lock(s.started_mu_);
      if (unrecorded) {
        s.unrecorded_.emplace_back(id, *unrecorded);
        s.started_[id] = {false, std::move(unrecorded)};
      } else {
        s.started_.erase(id);
      }
    }
  } settled{*this, msg.msg_id, std::nullopt};
  // Delivered before (a crash or a lost acknowledgement): if the batch was reported done,
  // its pushes went out; otherwise they are sent again and reported as redelivered.
  uint64_t redelivered = 0;
  if (msg.deliveries > 1 || seen_here) {
    for (const Event& e : log_.Events(work->alert_id)) {
      if (e.type == EventType::kBatchDone && e.unit == work->unit && e.batch == work->batch) {
        tracker_.OnBatchDone(work->alert_id, work->unit, work->batch);
        return ports::WorkBus::Ack::Done();
      }
    }
    redelivered = work->items.size();
  }
  // A batch recovered from the journal carries device ids only: the tokens come from the
  // registry (a device removed since is dropped: it is no longer registered anywhere).
  uint64_t gone = 0;
  if (std::any_of(work->items.begin(), work->items.end(),
                  [](const BatchItem& i) { return i.token.empty(); })) {
    // Only the embedded journal strips tokens, and there every role shares one registry; a
    // process without the index must not count the devices as gone.
    if (!registry_.indexed()) {
      return ports::WorkBus::Ack::GiveUp(
          "BATCH_WITHOUT_TOKENS: a batch without tokens reached a process without the device "
          "index");
    }
    std::vector<BatchItem> resolved;
    resolved.reserve(work->items.size());
    for (BatchItem& item : work->items) {
      if (item.token.empty()) {
        auto device = registry_.Get(item.device_id);
        if (!device) {
          ++gone;
          continue;
        }
        item.token = device->token;
      }
      resolved.push_back(std::move(item));
    }
    work->items = std::move(resolved);
  }
  bool apns = unit->platform == domain::device::Platform::kApns;
  ports::PushGateway& gw = apns ? apns_ : fcm_;

  std::vector<ports::PushRequest> pending;
  std::vector<size_t> pending_idx;  // index into work->items
  pending.reserve(work->items.size());
  // The plan's payload itself, shared by the batch (aliasing: it keeps the plan alive).
  std::shared_ptr<const std::string> payload(plan, apns ? &plan->apns_payload : &plan->fcm_payload);
  for (size_t i = 0; i < work->items.size(); ++i) {
    ports::PushRequest r;
    r.token = work->items[i].token;
    r.shared_payload = payload;
    r.collapse_id = plan->collapse_id;
    r.high_priority = plan->priority == "high";
    r.expiration_epoch_s = plan->expires_epoch_s;
    pending.push_back(std::move(r));
    pending_idx.push_back(i);
  }

  // Counts of the whole batch, earlier attempts (carried by a retry message) included; the
  // probe gets only what this call settled, so its totals add up over the retry messages.
  BatchProgress& total = work->progress;
  uint64_t accepted = 0, failed = 0, invalid = 0, retries = 0;
  std::vector<double> latencies_s;
  auto fail = [&](std::string reason) {
    total.failed++;
    failed++;
    counters_.failed++;
    // The first few distinct reasons (the alert report lists them).
    if (total.reasons.size() < 5 && !reason.empty() &&
        std::find(total.reasons.begin(), total.reasons.end(), reason) == total.reasons.end()) {
      total.reasons.push_back(std::move(reason));
    }
  };
  auto record_metrics = [&] {
    probe_.OnBatch(domain::device::PlatformName(unit->platform), plan->priority, accepted, failed,
                   invalid, retries);
    probe_.OnPushLatencies(plan->priority, latencies_s);
  };
  for (int attempt = work->attempt; !pending.empty(); ++attempt) {
    std::vector<ports::PushResult> results = gw.SendBatch(pending);
    int64_t now = clock_.NowMs();
    std::vector<ports::PushRequest> retry;
    std::vector<size_t> retry_idx;
    std::optional<std::chrono::milliseconds> retry_after;
    bool server_asked_to_wait = false;  // 429/5xx; a lost connection (status 0) is not
    for (size_t k = 0; k < results.size() && k < pending.size(); ++k) {
      const ports::PushResult& res = results[k];
      const BatchItem& item = work->items[pending_idx[k]];
      switch (res.outcome) {
        case PushOutcome::kAccepted:
          total.accepted++;
          accepted++;
          counters_.accepted++;
          if (total.first_push_ms == 0) total.first_push_ms = now;
          total.last_push_ms = now;
          total.latency[domain::pipeline::LatencyBucketOf(
              static_cast<double>(now - plan->received_ms))]++;
          latencies_s.push_back(static_cast<double>(now - plan->received_ms) / 1000.0);
          break;
        case PushOutcome::kTokenInvalid:
          total.invalid++;
          invalid++;
          counters_.invalid++;
          (void)registry_.Remove(item.device_id, "token_invalid");
          break;
        case PushOutcome::kRetryLater:
          if (attempt + 1 < retry_.max_attempts) {
            retry.push_back(std::move(pending[k]));
            retry_idx.push_back(pending_idx[k]);
            counters_.retried++;
            retries++;
            if (res.http_status != 0) server_asked_to_wait = true;
            if (res.retry_after && (!retry_after || *res.retry_after > *retry_after)) {
              retry_after = res.retry_after;
            }
            break;
          }
          [[fallthrough]];
        case PushOutcome::kPayloadRejected:
        case PushOutcome::kAuthFailed:
          fail(std::string(ports::PushOutcomeName(res.outcome)) + " " +
               std::to_string(res.http_status) + " " + res.reason);
          break;
      }
    }
    // A gateway that returned fewer results than requests broke its contract: count the
    // rest as failed rather than silently dropping them.
    for (size_t k = results.size(); k < pending.size(); ++k) fail("");
    pending = std::move(retry);
    pending_idx = std::move(retry_idx);
    // Streams refused by a GOAWAY or lost with their connection were not processed: resend
    // at once on a fresh connection. Throttling and server errors wait with backoff — as a
    // delayed message with only those pushes, so this worker is free for other batches.
    if (!pending.empty() && (server_asked_to_wait || attempt > 0)) {
      BatchWork next{work->alert_id, work->unit, work->batch, work->priority, {}};
      next.items.reserve(pending_idx.size());
      for (size_t i : pending_idx) next.items.push_back(work->items[i]);
      next.attempt = attempt + 1;
      next.progress = total;
      next.progress.redelivered += redelivered;
      ports::BusMessage retry_msg{msg.subject, BatchMsgId(next), Encode(next),
                                  Backoff(attempt, retry_after)};
      retry_msg.durable_payload = EncodeWithoutTokens(next);
      auto published = bus_.Publish(std::move(retry_msg));
      if (published) {
        record_metrics();
        return ports::WorkBus::Ack::Done();
      }
      // The bus refused (it is stopping): these pushes end here, counted and explained.
      for (size_t k = 0; k < pending.size(); ++k) {
        fail("retry not scheduled: " + published.error().message);
      }
      pending.clear();
    }
  }
  Event done;
  done.type = EventType::kBatchDone;
  done.alert_id = work->alert_id;
  done.region = region_.name;
  done.unit = work->unit;
  done.batch = work->batch;
  done.accepted = total.accepted;
  done.failed = total.failed;
  done.invalid = total.invalid;
  done.first_push_ms = total.first_push_ms;
  done.last_push_ms = total.last_push_ms;
  done.latency = total.latency;
  done.redelivered = redelivered + work->progress.redelivered;
  // Pushed under a takeover: kept next to the owner's record of the same batch, if any.
  // When the owner had queued the unit, its senders may have pushed this batch before they
  // died without a record anyone can read: attempt 2 makes the report count the pushes as
  // possibly re-sent (moved to re-sent if the owner's record turns up later).
  if (tracker_.Adopted(work->alert_id)) {
    done.attempt = tracker_.QueuedElsewhere(work->alert_id, work->unit) ? 2 : 1;
  }
  if (gone > 0) {
    total.reasons.push_back(std::to_string(gone) +
                            " device(s) unregistered before the batch was redelivered");
  }
  done.detail = domain::pipeline::JoinDetail(total.reasons);
  done.t_ms = clock_.NowMs();
  // Once per batch (idempotency key). If the log refuses, the pushes are out but the batch
  // is not recorded: retry the message rather than leave the unit open forever. Delivered
  // here again, it only records the batch-done kept below; delivered to another process,
  // that one finds no batch-done and re-sends (reported as redelivered).
  if (!log_.Append(done)) {
    record_metrics();
    settled.unrecorded = std::move(done);
    return ports::WorkBus::Ack::Retry();
  }
  tracker_.OnBatchDone(work->alert_id, work->unit, work->batch);
  record_metrics();
  return ports::WorkBus::Ack::Done();
}

}  // namespace fanout::app
