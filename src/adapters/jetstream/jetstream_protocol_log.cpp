#include "adapters/jetstream/jetstream_protocol_log.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "adapters/jetstream/nats_common.hpp"
#include "domain/pipeline/codec.hpp"

namespace fanout::adapters::jetstream {

using domain::pipeline::Event;

namespace {
// The log whose tail this thread is delivering from (listeners run there): an Append made by a
// listener cannot wait for its own event to come back through the same thread.
thread_local const void* tl_tail_of = nullptr;
}  // namespace

struct JetStreamProtocolLog::Impl {
  // A listener's append (completion derived on the tail thread) that the server refused:
  // reported; the next start's recovery writes the completion again.
  static void OnAsyncError(jsCtx*, jsPubAckErr* pae, void*) {
    std::fprintf(stderr, "jetstream: protocol log: asynchronous append refused: %s\n",
                 pae && pae->ErrText ? pae->ErrText : "unknown");
  }

  ProtocolLogSettings settings;
  std::string own_subject;  // where this region appends
  std::unique_ptr<NatsConnection> nats;
  natsSubscription* tail = nullptr;

  mutable std::mutex mu;
  mutable std::condition_variable grown;                // the view reached a new position
  std::vector<Entry> all;                               // in stream order
  std::map<std::string, std::vector<size_t>> by_alert;  // indexes into all
  std::vector<std::string> order;                       // alert ids by first event
  std::unordered_set<std::string> keys;                 // idempotency keys in the view
  uint64_t last_seq = 0;                                // last stream sequence seen by the tail
  std::vector<Listener> listeners;
  uint64_t undecodable = 0;

  // The tail: every stored event, in stream order, once (an ordered consumer).
  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    uint64_t seq = 0;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK && meta) {
      seq = meta->Sequence.Stream;
      jsMsgMetaData_Destroy(meta);
    }
    auto event = domain::pipeline::DecodeEvent(
        std::string_view(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m))));
    natsMsg_Destroy(m);
    std::vector<Listener> ls;
    {
      std::lock_guard lock(self->mu);
      self->last_seq = std::max(self->last_seq, seq);
      if (!event) {
        ++self->undecodable;  // not ours (or corrupt): skipped, position still advances
      } else if (self->keys.insert(domain::pipeline::IdempotencyKey(*event)).second) {
        auto [it, fresh] = self->by_alert.try_emplace(event->alert_id);
        if (fresh) self->order.push_back(event->alert_id);
        it->second.push_back(self->all.size());
        self->all.push_back({seq, *event});
        ls = self->listeners;
      } else {
        event.reset();  // a repeat past the stream's dedup window: recorded once
      }
    }
    self->grown.notify_all();
    if (event) {
      tl_tail_of = self;
      for (auto& l : ls) l(*event);
      tl_tail_of = nullptr;
    }
  }

  // Waits until the tail has seen sequence `seq`; false on timeout.
  bool WaitFor(uint64_t seq) const {
    std::unique_lock lock(mu);
    return grown.wait_for(lock, std::chrono::milliseconds(settings.append_wait_ms),
                          [&] { return last_seq >= seq; });
  }
};

Result<std::unique_ptr<JetStreamProtocolLog>, Error> JetStreamProtocolLog::Connect(
    const ProtocolLogSettings& settings) {
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  impl->own_subject = settings.link.Own(settings.subject);
  auto nats = ConnectJetStream(settings.url, settings.client, [&](jsOptions& jo) {
    jo.PublishAsync.MaxPending = 4096;
    jo.PublishAsync.StallWait = 10000;
    jo.PublishAsync.ErrHandler = &Impl::OnAsyncError;
  });
  if (!nats) return Fail(nats.error());
  impl->nats = std::move(*nats);
  // A log: kept, read by everybody.
  if (auto made =
          EnsureReplicatedStream(impl->nats->js, settings.stream, settings.subject, settings.link,
                                 settings.replicas, settings.dedup_window_ms, 0);
      !made) {
    return Fail(made.error());
  }
  // What is stored now must be in the view before Connect returns.
  uint64_t stored = 0;
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, impl->nats->js, settings.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK || !info) return Fail(NatsError("stream info " + settings.stream, s, jerr));
  stored = info->State.LastSeq;
  jsStreamInfo_Destroy(info);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = settings.stream.c_str();
  so.Ordered = true;  // in order, gap-free, re-created by the library after a disconnect
  so.Config.DeliverPolicy = js_DeliverAll;
  const std::string all = settings.link.All(settings.subject);
  s = js_Subscribe(&impl->tail, impl->nats->js, all.c_str(), &Impl::OnMessage, impl.get(), nullptr,
                   &so, &jerr);
  if (s != NATS_OK) return Fail(NatsError("tail " + settings.stream, s, jerr));
  if (!impl->WaitFor(stored)) {
    return Fail(Error{Error::Kind::kRetryLater, "protocol log " + settings.stream +
                                                    ": replay did not reach sequence " +
                                                    std::to_string(stored) + " in time"});
  }
  return std::unique_ptr<JetStreamProtocolLog>(new JetStreamProtocolLog(std::move(impl)));
}

std::vector<JetStreamProtocolLog::PeerSource> JetStreamProtocolLog::Replication() const {
  std::vector<PeerSource> out;
  if (!impl_->settings.link.linked()) return out;
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&info, impl_->nats->js, impl_->settings.stream.c_str(), nullptr, &jerr) !=
          NATS_OK ||
      !info) {
    return out;
  }
  for (int i = 0; i < info->SourcesLen; ++i) {
    const jsStreamSourceInfo* src = info->Sources[i];
    if (!src) continue;
    PeerSource p;
    // "$JS.<peer>.API"
    std::string prefix = src->External && src->External->APIPrefix ? src->External->APIPrefix : "";
    if (prefix.starts_with("$JS.") && prefix.ends_with(".API")) {
      p.peer = prefix.substr(4, prefix.size() - 8);
    } else {
      p.peer = src->Name ? src->Name : "";
    }
    p.lag = src->Lag;
    p.idle_ms = src->Active < 0 ? -1 : src->Active / 1'000'000;
    out.push_back(std::move(p));
  }
  jsStreamInfo_Destroy(info);
  return out;
}

bool JetStreamProtocolLog::CatchUp(int64_t timeout_ms) const {
  if (!impl_->settings.link.linked()) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const size_t peers = impl_->settings.link.peers.size();
  while (std::chrono::steady_clock::now() < deadline) {
    const std::vector<PeerSource> sources = Replication();
    const bool current = sources.size() == peers &&
                         std::all_of(sources.begin(), sources.end(), [](const PeerSource& p) {
                           return p.lag == 0 && p.idle_ms >= 0 && p.idle_ms < 2000;
                         });
    if (current) {
      jsStreamInfo* info = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      if (js_GetStreamInfo(&info, impl_->nats->js, impl_->settings.stream.c_str(), nullptr,
                           &jerr) == NATS_OK &&
          info) {
        const uint64_t last = info->State.LastSeq;
        jsStreamInfo_Destroy(info);
        if (impl_->WaitFor(last)) return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

JetStreamProtocolLog::JetStreamProtocolLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JetStreamProtocolLog::~JetStreamProtocolLog() { StopSubscription(impl_->tail); }

Result<bool, Error> JetStreamProtocolLog::Append(const Event& e) {
  const std::string key = domain::pipeline::IdempotencyKey(e);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->keys.count(key)) return false;
  }
  const std::string body = domain::pipeline::EncodeEvent(e);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  // The stream deduplicates this region's repeats; the same fact recorded by two linked
  // regions (a takeover racing the owner) is stored twice and recorded once by every view.
  // A shared id would be worse: nats-server 2.9 refuses a sourced message whose id its
  // stream has seen and retries that message for ever, stopping the replication.
  const std::string msg_id =
      impl_->settings.link.linked() ? key + "@" + impl_->settings.link.region : key;
  po.MsgId = msg_id.c_str();
  po.ExpectStream = impl_->settings.stream.c_str();
  // On the tail thread (a listener appending a completion it derived) the publish does not
  // wait: every process's tail runs through here, and a round trip per event would hold up
  // everyone's read-your-writes. The stream deduplicates it like any other.
  if (tl_tail_of == impl_.get()) {
    natsStatus s = js_PublishAsync(impl_->nats->js, impl_->own_subject.c_str(), body.data(),
                                   static_cast<int>(body.size()), &po);
    if (s != NATS_OK) return Fail(NatsError("append to " + impl_->settings.stream, s));
    return true;
  }
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&ack, impl_->nats->js, impl_->own_subject.c_str(), body.data(),
                            static_cast<int>(body.size()), &po, &jerr);
  if (s != NATS_OK || !ack) {
    if (ack) jsPubAck_Destroy(ack);
    return Fail(NatsError("append to " + impl_->settings.stream, s, jerr));
  }
  const uint64_t seq = ack->Sequence;
  const bool duplicate = ack->Duplicate;
  jsPubAck_Destroy(ack);
  // Read-your-writes: the caller (and its next Events()) sees the event in the view — except
  // on the tail thread itself (a listener appending), which delivers it right after.
  // A tail that lags longer (a cluster re-creating it on another node) does not undo the
  // append: the event is stored, and shows here when the tail catches up.
  if (tl_tail_of != impl_.get() && !impl_->WaitFor(seq)) {
    std::fprintf(stderr,
                 "jetstream: protocol log event %llu stored, not yet back through the tail "
                 "after %lld ms\n",
                 static_cast<unsigned long long>(seq),
                 static_cast<long long>(impl_->settings.append_wait_ms));
  }
  return !duplicate;
}

Result<void, Error> JetStreamProtocolLog::Flush() { return {}; }  // appends are synchronous

std::vector<Event> JetStreamProtocolLog::Events(const std::string& alert_id) const {
  std::lock_guard lock(impl_->mu);
  std::vector<Event> out;
  auto it = impl_->by_alert.find(alert_id);
  if (it == impl_->by_alert.end()) return out;
  for (size_t i : it->second) out.push_back(impl_->all[i].event);
  return out;
}

std::vector<std::string> JetStreamProtocolLog::AlertIds() const {
  std::lock_guard lock(impl_->mu);
  return impl_->order;
}

std::vector<ports::ProtocolLog::Entry> JetStreamProtocolLog::ReadFrom(uint64_t after,
                                                                      size_t max) const {
  std::lock_guard lock(impl_->mu);
  std::vector<Entry> out;
  auto it = std::upper_bound(impl_->all.begin(), impl_->all.end(), after,
                             [](uint64_t pos, const Entry& e) { return pos < e.position; });
  for (; it != impl_->all.end() && out.size() < max; ++it) out.push_back(*it);
  return out;
}

void JetStreamProtocolLog::Listen(Listener l) {
  std::lock_guard lock(impl_->mu);
  impl_->listeners.push_back(std::move(l));
}

bool JetStreamProtocolLog::Connected() const { return IsConnected(*impl_->nats); }

}  // namespace fanout::adapters::jetstream
