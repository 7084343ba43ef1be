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
  if (out.duplicate && check.usable) return out;  // idempotent re-send

  // Archive first: whatever we answer, the bytes are kept (quarantine included).
  if (auto stored = archive_.Put(out.hash, body); !stored) {
    out.http_status = 503;
    out.errors.push_back({"ARCHIVE_UNAVAILABLE", stored.error().message});
    return out;
  }
  if (!check.usable) {
    out.http_status = 400;
    log_.Append(Received(path_id, out.hash, provider, out.priority, out.owner));
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
    log_.Append(q);
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
  log_.Append(Received(path_id, out.hash, provider, out.priority, out.owner));
  if (out.owner == region_.index) {
    auto published = bus_.Publish({AlertsSubject(out.priority), "alert:" + out.hash,
                                   Encode(AlertWork{path_id, out.hash, provider, out.priority})});
    if (!published) {
      // Accepted and archived, but the processor queue refused it: tell the provider to
      // retry (the same bytes are idempotent) and let the peer's watchdog cover it.
      std::lock_guard lock(mu_);
      hash_by_id_.erase(path_id);
      out.http_status = 503;
      out.errors.push_back({"QUEUE_UNAVAILABLE", published.error().message});
    }
  }
  return out;
}

}  // namespace fanout::app
