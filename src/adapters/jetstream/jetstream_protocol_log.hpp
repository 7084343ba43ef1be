#pragma once
// ProtocolLog on a JetStream stream (DESIGN §6, distributed engine): every process of every
// region appends to one stream and reads all of it. An append publishes the event
// synchronously with its idempotency key as `Nats-Msg-Id` (the stream drops a repeat within
// its dedup window; the local view drops one after it); each process tails the stream with
// an ordered consumer into a local view (events by alert, by position), so positions are
// the stream's sequence numbers — the same in every process — and a process that starts
// late replays everything. Append returns once its own event is in the local view
// (read-your-writes; an Append made by a listener, on the tail thread, does not wait for
// its event; after `append_wait_ms` a stored event counts as appended all the same — a
// cluster re-creating the tail on another node — and shows when the tail catches up).
// Listeners run on the tail thread for events of every process.
// Vendor headers stay in the .cpp. Thread-safe.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adapters/jetstream/nats_client.hpp"
#include "adapters/jetstream/region_link.hpp"
#include "ports/protocol_log.hpp"

namespace fanout::adapters::jetstream {

struct ProtocolLogSettings {
  std::string url = "nats://127.0.0.1:4222";
  NatsClientSettings client;  // user, password, TLS (nats_client.hpp)
  std::string stream = "FANOUT_PROTOCOL";
  std::string subject = "protocol.events";
  int replicas = 1;
  /// Dedup window of the stream (the local view deduplicates beyond it, per process).
  int64_t dedup_window_ms = 24LL * 3600 * 1000;
  /// Longest wait for an appended event to come back through the tail.
  int64_t append_wait_ms = 2000;
  /// Linked regions: this region appends to `<subject>.<region>`, and the stream sources
  /// every peer's events (DESIGN §5.1); the view holds every region's events.
  RegionLink link;
};

class JetStreamProtocolLog final : public ports::ProtocolLog {
 public:
  /// Connects, creates the stream if needed and starts tailing it from the beginning; returns
  /// once the events stored at connect time are in the local view.
  static Result<std::unique_ptr<JetStreamProtocolLog>, Error> Connect(
      const ProtocolLogSettings& settings);
  ~JetStreamProtocolLog() override;
  JetStreamProtocolLog(const JetStreamProtocolLog&) = delete;
  JetStreamProtocolLog& operator=(const JetStreamProtocolLog&) = delete;

  Result<bool, Error> Append(const domain::pipeline::Event& e) override;
  Result<void, Error> Flush() override;
  std::vector<domain::pipeline::Event> Events(const std::string& alert_id) const override;
  std::vector<std::string> AlertIds() const override;
  std::vector<Entry> ReadFrom(uint64_t after, size_t max) const override;
  void Listen(Listener l) override;

  /// Whether its NATS connection is up (readiness).
  bool Connected() const;
  /// Replication from each linked peer region (the stream's sources): messages behind, and
  /// how long since the source last heard from the peer (-1: never). Empty when not linked
  /// or when the server cannot be asked.
  struct PeerSource {
    std::string peer;
    uint64_t lag = 0;
    int64_t idle_ms = -1;
  };
  std::vector<PeerSource> Replication() const;
  /// Waits until every peer's events are replicated (each source heard from within the last
  /// 2 s and nothing behind) and the view holds them, so that a returning region knows what
  /// the others did before it works. False after `timeout_ms` (a peer down or unlinked).
  bool CatchUp(int64_t timeout_ms) const;

 private:
  struct Impl;
  explicit JetStreamProtocolLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fanout::adapters::jetstream
