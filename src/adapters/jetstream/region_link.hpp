#pragma once
// Which regions a JetStream adapter replicates with (DESIGN §5.1).
#include <string>
#include <vector>

namespace fanout::adapters::jetstream {

/// Regions joined by NATS leafnodes (DESIGN §5.1): this region and the others, each one
/// JetStream domain named after its region. No peers: one region, nothing replicated, and the
/// subjects are the plain ones (as before regions were linked).
struct RegionLink {
  std::string region;              // this region's name (its JetStream domain)
  std::vector<std::string> peers;  // the other regions' names (their domains)
  bool linked() const { return !peers.empty(); }
  /// The subject this region publishes `base` events to: `base.<region>` when linked (one
  /// subject per region, so no two domains' streams capture the same message across the
  /// leafnode), else `base`.
  std::string Own(const std::string& base) const { return linked() ? base + "." + region : base; }
  /// The subjects a reader follows: every region's.
  std::string All(const std::string& base) const { return linked() ? base + ".>" : base; }
};

}  // namespace fanout::adapters::jetstream
