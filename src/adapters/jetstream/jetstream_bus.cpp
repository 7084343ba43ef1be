#include "adapters/jetstream/jetstream_bus.hpp"

#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>

#include "adapters/jetstream/nats_common.hpp"
#include "platform/text/hash.hpp"

namespace fanout::adapters::jetstream {

namespace {

constexpr const char* kNotBefore = "Fanout-Not-Before";  // epoch ms of a delayed message

int64_t EpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// The bus (its Impl) whose handler this thread is running: its publishes are asynchronous
// and completed before the handler's input is acknowledged. Null outside handlers.
thread_local const void* tl_handler_bus = nullptr;

struct JetStreamBus::Impl {
  JetStreamSettings settings;
  std::unique_ptr<NatsConnection> nats;
  jsCtx* js = nullptr;  // nats->js

  // Asynchronous publishes the server refused or did not confirm (never reset: a handler
  // compares it before and after, so any failure in its window makes it retry its input).
  std::atomic<uint64_t> async_failures{0};

  mutable std::mutex mu;
  std::set<std::string> streams;  // ensured by this process
  DeadLetterSink dead_letters;
  std::atomic<bool> stopping{false};
  std::vector<std::thread> threads;

  // Messages fetched and not yet answered: the ticker tells the server every third of the
  // ack wait that they are in progress, so a long batch is not redelivered to another
  // process while this one still works on it (a dead process stops ticking).
  // Delivery marks of subscriptions with record_deliveries (created on the first such one):
  // a put-if-absent per message before its handler runs. A mark already there means the
  // message was handed out before, whatever the consumer's count says — a cluster moving
  // the consumer, or a restarted server, can lose the count (or the message id, so a copy
  // is published again), and pushes must not go out twice unreported.
  kvStore* marks = nullptr;
  ~Impl() {
    if (marks) kvStore_Destroy(marks);
  }

  // What the mark of a message says: first delivery (marked now), delivered before, or
  // finished (its handler returned done; only the acknowledgement was lost). An error if the
  // mark cannot be written (the handler must not run unmarked).
  enum class Mark { kFirst, kAgain, kFinished };
  static std::string MarkKey(const Subscription& sub, const std::string& msg_id) {
    return "d." + platform::Fnv1a64Hex(sub.subject + '\n' + msg_id);
  }
  Result<Mark, Error> MarkDelivered(const Subscription& sub, const std::string& msg_id) {
    const std::string key = MarkKey(sub, msg_id);
    natsStatus s = kvStore_Create(nullptr, marks, key.c_str(), "1", 1);
    if (s == NATS_OK) return Mark::kFirst;
    kvEntry* e = nullptr;
    natsStatus g = kvStore_Get(&e, marks, key.c_str());
    bool finished = false;
    if (e) {
      finished =
          kvEntry_ValueString(e) != nullptr && std::string_view(kvEntry_ValueString(e)) == "done";
      kvEntry_Destroy(e);
    }
    if (g == NATS_OK) return finished ? Mark::kFinished : Mark::kAgain;
    return Fail(NatsError("delivery mark of " + msg_id, s));
  }
  // The handler finished the message: a copy or a redelivery after a lost ack is not
  // handled again. Best effort (a failure leaves the mark at "delivered").
  void MarkFinished(const Subscription& sub, const std::string& msg_id) {
    (void)kvStore_PutString(nullptr, marks, MarkKey(sub, msg_id).c_str(), "done");
  }

  std::mutex working_mu;
  std::map<natsMsg*, std::chrono::steady_clock::time_point> working;  // since when
  std::condition_variable ticker_cv;
  std::thread ticker;

  void Working(natsMsg* m) {
    std::lock_guard lock(working_mu);
    working.emplace(m, std::chrono::steady_clock::now());
  }
  void Answered(natsMsg* m) {
    std::lock_guard lock(working_mu);  // the ticker is not touching m after this
    working.erase(m);
  }
  void Tick() {
    const auto every = std::chrono::milliseconds(std::max<int64_t>(settings.ack_wait_ms / 3, 10));
    std::unique_lock lock(working_mu);
    while (!stopping) {
      ticker_cv.wait_for(lock, every, [&] { return stopping.load(); });
      // Up to max_working_ms: a handler that hangs longer is presumed stuck and its message
      // goes to another process after the ack wait, as if this one had died.
      const auto now = std::chrono::steady_clock::now();
      for (const auto& [m, since] : working) {
        if (now - since < std::chrono::milliseconds(settings.max_working_ms)) {
          (void)natsMsg_InProgress(m, nullptr);
        }
      }
    }
  }

  std::string Wire(const std::string& subject) const {
    return settings.subject_prefix.empty() ? subject : settings.subject_prefix + "." + subject;
  }

  std::string StreamName(const std::string& subject) const {
    return WorkStreamName(settings.stream_prefix, subject);
  }

  // Creates the subject's work-queue stream unless this process already did (an existing
  // stream with the same configuration is fine: several processes start in any order).
  Result<std::string, Error> EnsureStream(const std::string& subject) {
    std::string name = StreamName(subject);
    {
      std::lock_guard lock(mu);
      if (streams.count(name)) return name;
    }
    if (auto made = EnsureSubjectStream(js, name, Wire(subject), js_WorkQueuePolicy,
                                        settings.replicas, settings.dedup_window_ms, 0);
        !made) {
      return Fail(made.error());
    }
    std::lock_guard lock(mu);
    streams.insert(name);
    return name;
  }

  static void OnAsyncError(jsCtx*, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    self->async_failures.fetch_add(1);
    std::fprintf(stderr, "jetstream: an asynchronous publish to %s failed: %s %s\n",
                 pae && pae->Msg ? natsMsg_GetSubject(pae->Msg) : "?",
                 natsStatus_GetText(pae ? pae->Err : NATS_ERR),
                 pae && pae->ErrText ? pae->ErrText : "");
  }

  // Waits until every asynchronous publish of this connection is confirmed; false if one
  // was not (refused, or unconfirmed within the wait: taken back, dedup covers a late one).
  bool CompleteAsync() {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    natsStatus s = js_PublishAsyncComplete(js, &po);
    if (s == NATS_OK) return true;
    natsMsgList pending{nullptr, 0};
    if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) natsMsgList_Destroy(&pending);
    async_failures.fetch_add(1);
    return false;
  }

  void Work(const Subscription& sub, const Handler& handler);
  void Deliver(natsMsg* m, const Subscription& sub, const Handler& handler);
  void DeadLetter(const ports::BusMessage& msg, const Subscription& sub, const std::string& why);
};

Result<std::unique_ptr<JetStreamBus>, Error> JetStreamBus::Connect(
    const JetStreamSettings& settings) {
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  auto nats = ConnectJetStream(settings.url, settings.client, [&](jsOptions& jo) {
    jo.PublishAsync.MaxPending = 4096;
    jo.PublishAsync.StallWait = 10000;  // the default 200 ms times out under load (stack.md)
    jo.PublishAsync.ErrHandler = &Impl::OnAsyncError;
    jo.PublishAsync.ErrHandlerClosure = impl.get();
  });
  if (!nats) return Fail(nats.error());
  impl->nats = std::move(*nats);
  impl->js = impl->nats->js;
  return std::unique_ptr<JetStreamBus>(new JetStreamBus(std::move(impl)));
}

JetStreamBus::JetStreamBus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JetStreamBus::~JetStreamBus() { Stop(); }

std::string JetStreamBus::StreamFor(const std::string& subject) const {
  return impl_->StreamName(subject);
}

Result<void, Error> JetStreamBus::Publish(ports::BusMessage msg) {
  auto stream = impl_->EnsureStream(msg.subject);
  if (!stream) return Fail(stream.error());
  natsMsg* m = nullptr;
  natsStatus s = natsMsg_Create(&m, impl_->Wire(msg.subject).c_str(), nullptr, msg.payload.data(),
                                static_cast<int>(msg.payload.size()));
  if (s == NATS_OK && msg.delay_ms > 0) {
    s = natsMsgHeader_Set(m, kNotBefore, std::to_string(EpochMs() + msg.delay_ms).c_str());
  }
  if (s != NATS_OK) {
    natsMsg_Destroy(m);
    return Fail(NatsError("message for " + msg.subject, s));
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  if (!msg.msg_id.empty()) po.MsgId = msg.msg_id.c_str();  // Nats-Msg-Id: dedup window
  po.ExpectStream = stream->c_str();
  if (tl_handler_bus == impl_.get()) {
    // Inside a handler: asynchronous, confirmed before the handler's input is acknowledged
    // (Impl::Deliver), so a stage's outputs stream out while it works.
    s = js_PublishMsgAsync(impl_->js, &m, &po);
    natsMsg_Destroy(m);  // no-op when the library took it
    if (s != NATS_OK) return Fail(NatsError("publish to " + msg.subject, s));
    return {};
  }
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  // Synchronous: the message is stored (replicated) when this returns, so a handler's
  // outputs are durable before it acknowledges its input, and Flush() has nothing to wait for.
  s = js_PublishMsg(&ack, impl_->js, m, &po, &jerr);
  natsMsg_Destroy(m);
  if (ack) jsPubAck_Destroy(ack);
  if (s != NATS_OK) return Fail(NatsError("publish to " + msg.subject, s, jerr));
  return {};
}

Result<void, Error> JetStreamBus::Flush() {
  // Publishes outside handlers are synchronous; inside one, complete the asynchronous ones.
  if (tl_handler_bus == impl_.get() && !impl_->CompleteAsync()) {
    return Fail(Error{Error::Kind::kRetryLater, "jetstream: a publish was not confirmed"});
  }
  return {};
}

void JetStreamBus::Subscribe(const Subscription& subscription, Handler handler) {
  if (auto stream = impl_->EnsureStream(subscription.subject); !stream) {
    std::fprintf(stderr, "jetstream: %s\n", stream.error().message.c_str());
  }
  std::lock_guard lock(impl_->mu);
  if (!impl_->ticker.joinable()) impl_->ticker = std::thread([this] { impl_->Tick(); });
  if (subscription.record_deliveries && !impl_->marks) {
    // Marks outlive every retry chain and failover by far, then expire.
    constexpr int64_t kMarkTtlMs = 24LL * 3600 * 1000;
    auto kv = OpenKeyValue(impl_->js, impl_->settings.stream_prefix + "_MARKS",
                           impl_->settings.replicas, kMarkTtlMs);
    if (kv) {
      impl_->marks = *kv;
    } else {
      std::fprintf(stderr, "jetstream: %s (deliveries counted by the consumer only)\n",
                   kv.error().message.c_str());
    }
  }
  for (int i = 0; i < subscription.workers; ++i) {
    impl_->threads.emplace_back([this, subscription, handler] {
      std::string name = "js:" + subscription.subject.substr(0, subscription.subject.find('.'));
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      impl_->Work(subscription, handler);
    });
  }
}

void JetStreamBus::Impl::Work(const Subscription& sub, const Handler& handler) {
  const std::string stream = StreamName(sub.subject);
  natsSubscription* ns = nullptr;
  // Each worker binds its own pull subscription to the durable consumer (created by the
  // first one, with the same configuration by every process).
  while (!stopping && ns == nullptr) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = settings.ack_wait_ms * 1'000'000;
    so.Config.MaxAckPending = 10000;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_PullSubscribe(&ns, js, Wire(sub.subject).c_str(), sub.consumer.c_str(),
                                    nullptr, &so, &jerr);
    if (s != NATS_OK) {
      ns = nullptr;
      std::fprintf(
          stderr, "jetstream: %s (retrying)\n",
          NatsError("consumer " + sub.consumer + " on " + stream, s, jerr).message.c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  // Handlers with outside effects (pushes) take one at a time: a process that dies holds
  // only the message it was working on, and the redelivered pushes stay within it.
  const int want = sub.record_deliveries ? 1 : settings.fetch_batch;
  while (!stopping) {
    // An idle worker waits for one message, returned the moment it arrives (a waiting request
    // for several would hold the first until the request expires: an Extreme alert would sit
    // up to fetch_wait_ms in each stage); then it takes what else is there without waiting.
    natsMsgList first{nullptr, 0};
    natsMsgList more{nullptr, 0};
    natsStatus s = natsSubscription_Fetch(&first, ns, 1, settings.fetch_wait_ms, nullptr);
    if (s == NATS_OK && want > 1) {
      jsFetchRequest req;
      jsFetchRequest_Init(&req);
      req.Batch = want - 1;
      req.NoWait = true;
      if (natsSubscription_FetchRequest(&more, ns, &req) != NATS_OK) more = {nullptr, 0};
    }
    if (s == NATS_OK) {
      for (natsMsgList* list : {&first, &more}) {
        for (int i = 0; i < list->Count; ++i) Working(list->Msgs[i]);
      }
      for (natsMsgList* list : {&first, &more}) {
        for (int i = 0; i < list->Count; ++i) Deliver(list->Msgs[i], sub, handler);
        natsMsgList_Destroy(list);
      }
    } else if (s != NATS_TIMEOUT) {
      // Disconnected or the consumer is gone for a moment: the library reconnects.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  // Unsubscribing a pull subscription bound to a durable leaves the consumer in place.
  natsSubscription_Destroy(ns);
}

void JetStreamBus::Impl::Deliver(natsMsg* m, const Subscription& sub, const Handler& handler) {
  ports::BusMessage msg;
  msg.subject = sub.subject;  // the subject without the wire prefix
  msg.payload.assign(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
  const char* id = nullptr;
  if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id) msg.msg_id = id;
  uint64_t delivered = 1;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, m) == NATS_OK && meta) {
    delivered = meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
  }
  // A delayed message (a retry published for later) waits on the server, not here: NAK with
  // the remaining delay. That early delivery is not one of the handler's.
  const char* not_before = nullptr;
  if (natsMsgHeader_Get(m, kNotBefore, &not_before) == NATS_OK && not_before) {
    int64_t due = std::strtoll(not_before, nullptr, 10);
    int64_t now = EpochMs();
    if (due > now) {
      Answered(m);
      (void)natsMsg_NakWithDelay(m, due - now, nullptr);
      return;
    }
    if (delivered > 1) --delivered;
  }
  if (sub.record_deliveries && marks && !msg.msg_id.empty()) {
    auto mark = MarkDelivered(sub, msg.msg_id);
    if (!mark) {
      std::fprintf(stderr, "jetstream: %s (handed back)\n", mark.error().message.c_str());
      Answered(m);
      (void)natsMsg_NakWithDelay(m, settings.retry_delay_ms, nullptr);
      return;
    }
    if (*mark == Mark::kFinished) {  // done by some process; its ack was lost
      Answered(m);
      (void)natsMsg_Ack(m, nullptr);
      return;
    }
    if (*mark == Mark::kAgain && delivered < 2) delivered = 2;
    // The mark was created now: no handler ever ran this message, whatever the server counts
    // (deliveries handed back because a mark could not be written — the mark store was
    // failing over — are not the handler's, and must not be reported as re-sent pushes).
    if (*mark == Mark::kFirst) delivered = 1;
  }
  msg.deliveries = static_cast<uint32_t>(delivered);
  const uint64_t failures_before = async_failures.load();
  tl_handler_bus = this;
  Ack ack = handler(msg);
  tl_handler_bus = nullptr;
  // The handler's outputs are durable before its input is acknowledged: if one of them (or
  // anybody's in the meantime) failed, the input is tried again (outputs are deduplicated).
  if (!CompleteAsync() || async_failures.load() != failures_before) {
    if (ack.kind != Ack::Kind::kRetry) ack = Ack::Retry(settings.retry_delay_ms);
  }
  if (ack.kind == Ack::Kind::kRetry && sub.max_deliver > 0 && msg.deliveries >= sub.max_deliver) {
    ack = Ack::GiveUp("gave up after " + std::to_string(msg.deliveries) + " deliveries");
  }
  Answered(m);
  switch (ack.kind) {
    case Ack::Kind::kDone:
      if (sub.record_deliveries && marks && !msg.msg_id.empty()) MarkFinished(sub, msg.msg_id);
      // Not waiting for the server's confirmation: an ack lost with a crash redelivers work
      // that is done, which every stage recognises (idempotency keys, batch-done records).
      (void)natsMsg_Ack(m, nullptr);
      break;
    case Ack::Kind::kRetry:
      (void)natsMsg_NakWithDelay(m, ack.delay_ms >= 0 ? ack.delay_ms : settings.retry_delay_ms,
                                 nullptr);
      break;
    case Ack::Kind::kGiveUp:
      DeadLetter(msg, sub, ack.reason);
      (void)natsMsg_Term(m, nullptr);  // after the dead letter is recorded: never lost
      break;
  }
}

void JetStreamBus::Impl::DeadLetter(const ports::BusMessage& msg, const Subscription& sub,
                                    const std::string& why) {
  DeadLetterSink sink;
  {
    std::lock_guard lock(mu);
    sink = dead_letters;
  }
  if (sink) {
    sink(ports::WorkBus::DeadLetter{msg, sub.consumer, why});
  } else {
    std::fprintf(stderr, "jetstream: dead letter %s on %s (%s): %s\n", msg.msg_id.c_str(),
                 msg.subject.c_str(), sub.consumer.c_str(), why.c_str());
  }
}

void JetStreamBus::OnDeadLetter(DeadLetterSink sink) {
  std::lock_guard lock(impl_->mu);
  impl_->dead_letters = std::move(sink);
}

Result<uint64_t, Error> JetStreamBus::Depth(const std::string& subject) const {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const std::string name = impl_->StreamName(subject);
  natsStatus s = js_GetStreamInfo(&info, impl_->js, name.c_str(), nullptr, &jerr);
  if (s != NATS_OK || !info) return Fail(NatsError("stream info " + name, s, jerr));
  uint64_t n = info->State.Msgs;
  jsStreamInfo_Destroy(info);
  return n;
}

size_t JetStreamBus::Pending() const {
  std::set<std::string> streams;
  {
    std::lock_guard lock(impl_->mu);
    streams = impl_->streams;
  }
  size_t n = 0;
  for (const std::string& name : streams) {
    jsStreamInfo* info = nullptr;
    if (js_GetStreamInfo(&info, impl_->js, name.c_str(), nullptr, nullptr) == NATS_OK && info) {
      n += static_cast<size_t>(info->State.Msgs);
      jsStreamInfo_Destroy(info);
    }
  }
  return n;
}

void JetStreamBus::Stop() {
  impl_->stopping = true;
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    threads.swap(impl_->threads);
  }
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(impl_->working_mu);
    impl_->ticker_cv.notify_all();
  }
  if (impl_->ticker.joinable()) impl_->ticker.join();
}

bool JetStreamBus::Connected() const { return IsConnected(*impl_->nats); }

}  // namespace fanout::adapters::jetstream
