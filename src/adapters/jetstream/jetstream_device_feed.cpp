#include "adapters/jetstream/jetstream_device_feed.hpp"

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

#include "adapters/jetstream/nats_common.hpp"
#include "app/device_json.hpp"

namespace fanout::adapters::jetstream {

namespace {
// The update's fields travel as headers; the body is the device JSON (empty for a removal).
constexpr const char* kId = "Fanout-Device-Id";
constexpr const char* kOrigin = "Fanout-Origin";
constexpr const char* kReason = "Fanout-Reason";
constexpr const char* kVersion = "Fanout-Version";
constexpr const char* kRemoved = "Fanout-Removed";
constexpr const char* kInstance = "Fanout-Instance";

std::string Header(natsMsg* m, const char* key) {
  const char* v = nullptr;
  return natsMsgHeader_Get(m, key, &v) == NATS_OK && v ? std::string(v) : std::string();
}
}  // namespace

struct JetStreamDeviceFeed::Impl {
  DeviceFeedSettings settings;
  std::unique_ptr<NatsConnection> nats;
  std::atomic<uint64_t> publish_failures{0};

  struct Listening {
    Listener listener;
    natsSubscription* sub = nullptr;
    std::atomic<uint64_t> undecodable{0};
  };
  std::mutex mu;
  uint64_t next_handle = 0;
  std::map<uint64_t, std::unique_ptr<Listening>> listening;

  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
    auto* l = static_cast<Listening*>(closure);
    ports::DeviceUpdate u;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK && meta) {
      u.position = meta->Sequence.Stream;
      jsMsgMetaData_Destroy(meta);
    }
    u.device_id = Header(m, kId);
    u.origin_region = Header(m, kOrigin);
    u.reason = Header(m, kReason);
    u.version = std::strtoull(Header(m, kVersion).c_str(), nullptr, 10);
    u.origin_instance = std::strtoull(Header(m, kInstance).c_str(), nullptr, 10);
    bool ok = !u.device_id.empty();
    if (ok && Header(m, kRemoved).empty()) {
      auto d = app::DeviceFromJson(
          std::string_view(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m))));
      ok = d.has_value();
      if (ok) u.device = std::move(*d);
    }
    natsMsg_Destroy(m);
    if (!ok) {
      l->undecodable.fetch_add(1);  // not an update of ours: skipped
      return;
    }
    l->listener(std::span<const ports::DeviceUpdate>(&u, 1));
  }

  static void Stop(Listening& l) {
    StopSubscription(l.sub);
    l.sub = nullptr;
  }
};

Result<std::unique_ptr<JetStreamDeviceFeed>, Error> JetStreamDeviceFeed::Connect(
    const DeviceFeedSettings& settings) {
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  auto nats = ConnectJetStream(settings.url, settings.client, [](jsOptions& jo) {
    jo.PublishAsync.MaxPending = 4096;
    jo.PublishAsync.StallWait = 10000;
  });
  if (!nats) return Fail(nats.error());
  impl->nats = std::move(*nats);
  if (auto made = EnsureReplicatedStream(impl->nats->js, settings.stream, settings.subject,
                                         settings.link, settings.replicas, 0, settings.max_age_ms);
      !made) {
    return Fail(made.error());
  }
  return std::unique_ptr<JetStreamDeviceFeed>(new JetStreamDeviceFeed(std::move(impl)));
}

JetStreamDeviceFeed::JetStreamDeviceFeed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JetStreamDeviceFeed::~JetStreamDeviceFeed() {
  std::lock_guard lock(impl_->mu);
  for (auto& [_, l] : impl_->listening) Impl::Stop(*l);
}

void JetStreamDeviceFeed::Publish(std::span<const ports::DeviceUpdate> updates) {
  jsCtx* js = impl_->nats->js;
  uint64_t failed = 0;
  const std::string own = impl_->settings.link.Own(impl_->settings.subject);
  for (const auto& u : updates) {
    std::string body = u.device ? app::DeviceToJson(*u.device) : std::string();
    natsMsg* m = nullptr;
    natsStatus s =
        natsMsg_Create(&m, own.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(m, kId, u.device_id.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, kOrigin, u.origin_region.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, kReason, u.reason.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(m, kVersion, std::to_string(u.version).c_str());
    if (s == NATS_OK && !u.device) s = natsMsgHeader_Set(m, kRemoved, "1");
    if (s == NATS_OK && u.origin_instance != 0) {
      s = natsMsgHeader_Set(m, kInstance, std::to_string(u.origin_instance).c_str());
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectStream = impl_->settings.stream.c_str();
    if (s == NATS_OK) s = js_PublishMsgAsync(js, &m, &po);
    natsMsg_Destroy(m);  // no-op when the library took it
    if (s != NATS_OK) ++failed;
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 30000;
  if (js_PublishAsyncComplete(js, &po) != NATS_OK) {
    natsMsgList pending{nullptr, 0};
    if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) {
      failed += static_cast<uint64_t>(pending.Count);
      natsMsgList_Destroy(&pending);
    }
  }
  if (failed > 0) {
    impl_->publish_failures.fetch_add(failed);
    std::fprintf(stderr, "jetstream: %llu device update(s) not published to %s\n",
                 static_cast<unsigned long long>(failed), impl_->settings.stream.c_str());
  }
}

Result<uint64_t, Error> JetStreamDeviceFeed::Listen(uint64_t after_position, Listener l) {
  jsCtx* js = impl_->nats->js;
  const auto& settings = impl_->settings;
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js, settings.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK || !info) return Fail(NatsError("stream info " + settings.stream, s, jerr));
  const uint64_t first = info->State.FirstSeq, last = info->State.LastSeq;
  const uint64_t msgs = info->State.Msgs;
  jsStreamInfo_Destroy(info);
  // Updates after `after_position` that the stream no longer holds: a gap, refused.
  const uint64_t oldest = msgs == 0 ? last + 1 : first;
  if (after_position < last && after_position + 1 < oldest) {
    return Fail(Error{Error::Kind::kInternal,
                      "device feed " + settings.stream + " holds updates from position " +
                          std::to_string(oldest) + " on; the listener needs them after " +
                          std::to_string(after_position) + " (start from a newer snapshot)"});
  }
  auto listening = std::make_unique<Impl::Listening>();
  listening->listener = std::move(l);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = settings.stream.c_str();
  so.Ordered = true;  // in order, gap-free, re-created by the library after a disconnect
  if (after_position > 0) {
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = after_position + 1;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  const std::string all = settings.link.All(settings.subject);
  s = js_Subscribe(&listening->sub, js, all.c_str(), &Impl::OnMessage, listening.get(), nullptr,
                   &so, &jerr);
  if (s != NATS_OK) return Fail(NatsError("listen on " + settings.stream, s, jerr));
  std::lock_guard lock(impl_->mu);
  const uint64_t handle = ++impl_->next_handle;
  impl_->listening.emplace(handle, std::move(listening));
  return handle;
}

void JetStreamDeviceFeed::Unlisten(uint64_t handle) {
  std::unique_ptr<Impl::Listening> l;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->listening.find(handle);
    if (it == impl_->listening.end()) return;
    l = std::move(it->second);
    impl_->listening.erase(it);
  }
  Impl::Stop(*l);
}

uint64_t JetStreamDeviceFeed::publish_failures() const { return impl_->publish_failures.load(); }

bool JetStreamDeviceFeed::Connected() const { return IsConnected(*impl_->nats); }

}  // namespace fanout::adapters::jetstream
