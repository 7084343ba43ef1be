#include "app/ingest.hpp"

#include "app/messages.hpp"
#include "domain/cap/classify.hpp"
#include "platform/crypto/crypto.hpp"

namespace fanout::app {

using domain::pipeline::Event;
using domain::pipeline::EventType;

Ingest::Ingest(RegionSettings region, ProviderSettings providers, PipelineSettings pipeline,
               const ports::AlertDecoder& decoder, ports::AlertArchive& archive,
               ports::ProtocolLog& log, ports::WorkBus& bus, ports::Clock& clock)
    : region_(std::move(region)),
      providers_(std::move(providers)),
      pipeline_(std::move(pipeline)),
      decoder_(decoder),
      archive_(archive),
      log_(log),
      bus_(bus),
      clock_(clock) {}

Event Ingest::Received(const std::string& id, const std::string& hash, const std::string& provider,
                       const std::string& priority, uint32_t owner) const {
  Event e;
  e.type = EventType::kReceived;
  e.alert_id = id;
  e.region = region_.name;
  e.t_ms = clock_.NowMs();
  e.hash = hash;
  e.provider = provider;
  e.priority = priority;
  e.owner = owner;
  return e;
}

// A received event of an alert that was quarantined at ingest carries this detail: its
// identifier stays free for corrected bytes.
constexpr std::string_view kUnusable = "unusable";

Result<void, Error> Ingest::Hand(const std::string& id, const std::string& hash,
                                 const std::string& provider, const std::string& priority,
                                 int64_t received_ms) {
  return bus_.Publish({AlertsSubject(priority), "alert:" + hash,
                       Encode(AlertWork{id, hash, provider, priority, received_ms})});
}

size_t Ingest::Recover() {
  size_t restored = 0;
  for (const std::string& id : log_.AlertIds()) {
    const Event* received = nullptr;  // this region's receipt of accepted bytes
    const Event* peer = nullptr;      // another region's (replicated to this one)
    bool handled = false;             // the processing went on (or ended) somewhere
    std::vector<Event> events = log_.Events(id);
    for (const Event& e : events) {
      if (e.type != EventType::kReceived) {
        handled = true;
        continue;
      }
      if (e.detail == kUnusable) continue;
      if (!received && e.region == region_.name) received = &e;
      if (!peer && e.region != region_.name) peer = &e;
      std::lock_guard lock(mu_);
      if (hash_by_id_.emplace(id, e.hash).second) ++restored;
    }
    if (!received && peer && clock_.NowMs() - peer->t_ms <= peer_window_ms_) received = peer;
    if (received && !handled && received->owner == region_.index) {
      // Received and recorded, but the crash came before the processor's message was
      // journaled: hand it over again (a duplicate message id is dropped by the bus).
      (void)Hand(id, received->hash, received->provider, received->priority, received->t_ms);
    }
  }
  return restored;
}

void Ingest::OnEvent(const Event& e) {
  if (e.type != EventType::kReceived || e.region == region_.name || e.owner != region_.index ||
      e.detail == kUnusable) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    hash_by_id_.emplace(e.alert_id, e.hash);
  }
  if (clock_.NowMs() - e.t_ms > peer_window_ms_) return;  // stale: the watchdogs' part
  // A failure leaves it to the watchdog of the successor (and to Recover at the next start).
  (void)Hand(e.alert_id, e.hash, e.provider, e.priority, e.t_ms);
}

IngestOutcome Ingest::Accept(const std::string& provider, const std::string& path_id,
                             const std::string& body) {
  IngestOutcome out = AcceptImpl(provider, path_id, body);
  std::string_view outcome = "accepted";
  switch (out.http_status) {
    case 202:
      outcome = out.duplicate ? "duplicate" : "accepted";
      break;
    case 400:
      outcome = "quarantined";
      break;
    case 409:
      outcome = "conflict";
      break;
    case 413:
      outcome = "too_large";
      break;
    default:
      outcome = "unavailable";
      break;
  }
  probe_.OnIngest(provider, outcome);
  return out;
}

IngestOutcome Ingest::AcceptImpl(const std::string& provider, const std::string& path_id,
                                 const std::string& body) {
  IngestOutcome out;
  out.id = path_id;
  if (body.size() > pipeline_.max_body_bytes) {
    out.http_status = 413;
    out.errors.push_back({"TOO_LARGE", "body has " + std::to_string(body.size()) +
                                           " bytes, the limit is " +
                                           std::to_string(pipeline_.max_body_bytes)});
    return out;
  }
  out.hash = platform::Sha256Hex(body);
  out.owner = domain::cap::OwnerRegion(out.hash, region_.regions);
  {
    std::lock_guard lock(mu_);
    if (auto it = hash_by_id_.find(path_id); it != hash_by_id_.end()) {
      if (it->second == out.hash) {
        out.duplicate = true;
      } else {
        out.http_status = 409;
        out.errors.push_back(
            {"IDENTIFIER_REUSED", "alert '" + path_id +
                                      "' was already accepted with other content (hash " +
                                      it->second + "); send an Update with a new identifier"});
        return out;
      }
    }
  }
  domain::cap::CheckResult check = decoder_.Decode(body);
  out.errors = check.errors;
  out.warnings = check.warnings;
  if (check.alert) {
    out.priority = std::string(domain::cap::PriorityName(
        domain::cap::ClassifyPriority(*check.alert, provider, providers_.high_priority)));
  }
  if (check.usable && check.alert && check.alert->identifier != path_id) {
    check.usable = false;
    out.errors.push_back({"ID_MISMATCH", "the path names '" + path_id +
                                             "' but the alert's identifier is '" +
                                             check.alert->identifier + "'"});
  }
  if (out.duplicate && check.usable) {
    // Idempotent re-send. Hand an owned alert to the processor again: if the first attempt
    // was interrupted (a crash before its message was queued), this resumes it; otherwise
    // the bus drops the duplicate message id.
    if (out.owner == region_.index) {
      (void)Hand(path_id, out.hash, provider, out.priority, clock_.NowMs());
    }
    return out;
  }

  // Archive first: whatever we answer, the bytes are kept (quarantine included).
  if (auto stored = archive_.Put(out.hash, body); !stored) {
    out.http_status = 503;
    out.errors.push_back({"ARCHIVE_UNAVAILABLE", stored.error().message});
    return out;
  }
  if (!check.usable) {
    out.http_status = 400;
    Event received = Received(path_id, out.hash, provider, out.priority, out.owner);
    received.detail = kUnusable;
    (void)log_.Append(received);  // the quarantine below is the record that matters
    Event q;
    q.type = EventType::kQuarantined;
    q.alert_id = path_id;
    q.region = region_.name;
    q.t_ms = clock_.NowMs();
    q.hash = out.hash;
    q.provider = provider;
    for (const auto& e : out.errors) {
      if (!q.detail.empty()) q.detail += "; ";
      q.detail += e.code + ": " + e.message;
    }
    auto recorded = log_.Append(q);
    auto flushed = recorded ? log_.Flush() : Result<void, Error>{};
    if (!recorded || !flushed) {
      out.http_status = 503;
      out.errors.push_back(
          {"LOG_UNAVAILABLE", (recorded ? flushed.error() : recorded.error()).message});
    }
    return out;
  }
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = hash_by_id_.emplace(path_id, out.hash);
    if (!inserted) {  // lost a race with an identical or conflicting request
      if (it->second != out.hash) {
        out.http_status = 409;
        out.errors.push_back({"IDENTIFIER_REUSED", "alert '" + path_id + "' exists"});
      } else {
        out.duplicate = true;
      }
      return out;
    }
  }
  const Event received = Received(path_id, out.hash, provider, out.priority, out.owner);
  if (auto recorded = log_.Append(received); !recorded) {
    std::lock_guard lock(mu_);
    hash_by_id_.erase(path_id);
    out.http_status = 503;
    out.errors.push_back({"LOG_UNAVAILABLE", recorded.error().message});
    return out;
  }
  if (out.owner == region_.index) {
    auto published = Hand(path_id, out.hash, provider, out.priority, received.t_ms);
    // 202 promises that the alert will be processed: its work item must be durable first
    // (with it, every event before it).
    if (published) published = bus_.Flush();
    if (published) published = log_.Flush();
    if (!published) {
      // Accepted and archived, but the processor queue refused it: tell the provider to
      // retry (the same bytes are idempotent) and let the peer's watchdog cover it.
      std::lock_guard lock(mu_);
      hash_by_id_.erase(path_id);
      out.http_status = 503;
      out.errors.push_back({"QUEUE_UNAVAILABLE", published.error().message});
    }
  } else if (auto flushed = log_.Flush(); !flushed) {
    std::lock_guard lock(mu_);
    hash_by_id_.erase(path_id);
    out.http_status = 503;
    out.errors.push_back({"LOG_UNAVAILABLE", flushed.error().message});
  }
  return out;
}

}  // namespace fanout::app
