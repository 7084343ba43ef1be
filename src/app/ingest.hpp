#pragma once
// Ingest (DESIGN §1.1-1.2): accepts an alert from a provider, archives the bytes, records
// `received`, rejects unusable alerts into quarantine with reasons, and hands owned alerts
// to the processor. Idempotent for the same bytes. Thread-safe.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "app/probe.hpp"
#include "app/settings.hpp"
#include "domain/cap/alert.hpp"
#include "ports/alert_archive.hpp"
#include "ports/alert_decoder.hpp"
#include "ports/clock.hpp"
#include "ports/protocol_log.hpp"
#include "ports/work_bus.hpp"

namespace fanout::app {

struct IngestOutcome {
  int http_status = 202;  // 202 accepted, 400 invalid (quarantined), 409, 413, 503
  std::string id;
  std::string hash;
  uint32_t owner = 0;
  std::string priority;
  bool duplicate = false;  // the same bytes were accepted before
  std::vector<domain::cap::Issue> errors;
  std::vector<domain::cap::Issue> warnings;
};

class Ingest {
 public:
  Ingest(RegionSettings region, ProviderSettings providers, PipelineSettings pipeline,
         const ports::AlertDecoder& decoder, ports::AlertArchive& archive, ports::ProtocolLog& log,
         ports::WorkBus& bus, ports::Clock& clock);

  /// Rebuilds the identifier -> hash map from the protocol log (after a restart: 409
  /// IDENTIFIER_REUSED holds across restarts), and hands owned alerts that were received
  /// but never reached the processor's queue (a crash in between) to it again. Call once,
  /// before serving. Returns how many identifiers were restored.
  size_t Recover();
  /// An alert another region received and this one owns (DESIGN §1: each region replicates
  /// what it received; a provider that reaches one region suffices): handed to this region's
  /// processor like its own receipt (the bus deduplicates by hash). Fed by the log listener.
  void OnEvent(const domain::pipeline::Event& e);
  /// A receipt by another region older than this is not handed over any more (its
  /// successors' watchdogs have taken it, or will): a region catching up after an outage
  /// must not redo alerts the others served. Default: the high-priority deadline.
  void SetPeerHandOffWindow(int64_t ms) { peer_window_ms_ = ms; }

  /// `path_id` is the percent-decoded `{id}` of PUT /v1/alerts/{provider}/{id}.
  IngestOutcome Accept(const std::string& provider, const std::string& path_id,
                       const std::string& body);

 private:
  IngestOutcome AcceptImpl(const std::string& provider, const std::string& path_id,
                           const std::string& body);
  domain::pipeline::Event Received(const std::string& id, const std::string& hash,
                                   const std::string& provider, const std::string& priority,
                                   uint32_t owner) const;
  /// Queues an owned alert for the processor (idempotent: the message id is the hash).
  Result<void, Error> Hand(const std::string& id, const std::string& hash,
                           const std::string& provider, const std::string& priority,
                           int64_t received_ms);

  RegionSettings region_;
  ProviderSettings providers_;
  PipelineSettings pipeline_;
  const ports::AlertDecoder& decoder_;
  ports::AlertArchive& archive_;
  ports::ProtocolLog& log_;
  ports::WorkBus& bus_;
  ports::Clock& clock_;
  std::mutex mu_;
  int64_t peer_window_ms_ = 3000;
  std::map<std::string, std::string> hash_by_id_;  // accepted alerts: identifier -> hash
  Probe probe_{region_.name};
};

}  // namespace fanout::app
