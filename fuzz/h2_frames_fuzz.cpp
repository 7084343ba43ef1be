// Fuzz target: HTTP/2 frames into the push simulator (nghttp2 server session, the APNs and
// FCM handlers behind it): the client preface, then the input as the frames that follow.
// Seeds: fuzz/seeds/h2_frames.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "adapters/pushsim/push_sim.hpp"
#include "fuzz_util.hpp"

namespace {

uint16_t Port() {
  // Destroyed at exit: stopped cleanly, so the leak check sees every session freed.
  static const std::unique_ptr<fanout::adapters::pushsim::PushSim> sim = [] {
    fanout::adapters::pushsim::PushSimSettings s;
    s.threads = 1;
    s.record_deliveries = false;
    auto p = std::make_unique<fanout::adapters::pushsim::PushSim>(s);
    p->Start();
    return p;
  }();
  return sim->port();
}

constexpr std::string_view kPreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fanout::fuzz::RoundTrip(Port(), kPreface, data, size);
  return 0;
}
