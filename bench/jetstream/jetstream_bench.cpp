// Batch throughput of the work bus: N push-batch-sized messages published, then consumed by
// W workers in P "processes" (connections) of one durable consumer, each acknowledged.
// The same workload on the embedded bus (memory, and journaled to SQLite) for comparison.
// Usage: fanout_jetstream_bench [--messages N] [--bytes B] [--workers W] [--processes P]
//                               [--runs R]   (FANOUT_NATS_URL from scripts/with-nats.sh)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/jetstream/jetstream_bus.hpp"
#include "adapters/memory/memory_bus.hpp"
#include "adapters/sqlite/sqlite_journals.hpp"

using namespace fanout;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int messages = 20000, bytes = 5000, workers = 4, processes = 2, runs = 3;
};

double Seconds(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Figures {
  double publish_per_s = 0, consume_per_s = 0;
};

// Publishes through `pub`, then consumes through every bus of `consumers`.
Figures Run(ports::WorkBus& pub, const std::vector<ports::WorkBus*>& consumers, const Options& o,
            const std::string& subject) {
  const std::string payload(static_cast<size_t>(o.bytes), 'x');
  auto t0 = Clock::now();
  for (int i = 0; i < o.messages; ++i) {
    auto r = pub.Publish({subject, subject + ":" + std::to_string(i), payload});
    if (!r) {
      std::fprintf(stderr, "publish: %s\n", r.error().message.c_str());
      std::exit(1);
    }
  }
  if (auto f = pub.Flush(); !f) std::exit(1);
  Figures fig;
  fig.publish_per_s = o.messages / Seconds(t0);
  std::atomic<int> done{0};
  auto t1 = Clock::now();
  for (auto* bus : consumers) {
    bus->Subscribe({subject, "bench", o.workers}, [&](const ports::BusMessage&) {
      done.fetch_add(1);
      return ports::WorkBus::Ack::Done();
    });
  }
  while (done.load() < o.messages) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  fig.consume_per_s = o.messages / Seconds(t1);
  for (auto* bus : consumers) bus->Stop();
  return fig;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--messages")
      o.messages = v;
    else if (a == "--bytes")
      o.bytes = v;
    else if (a == "--workers")
      o.workers = v;
    else if (a == "--processes")
      o.processes = v;
    else if (a == "--runs")
      o.runs = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  const char* url = std::getenv("FANOUT_NATS_URL");
  if (!url) {
    std::fprintf(stderr, "FANOUT_NATS_URL is not set: run under scripts/with-nats.sh\n");
    return 2;
  }
  std::printf("%d messages of %d B; consumers: %d process(es) x %d workers\n", o.messages, o.bytes,
              o.processes, o.workers);
  std::printf("| run | engine | publish msg/s | consume+ack msg/s |\n|---|---|---|---|\n");
  for (int run = 1; run <= o.runs; ++run) {
    {  // JetStream: one publisher connection, P consumer connections
      adapters::jetstream::JetStreamSettings s;
      s.url = url;
      s.stream_prefix = "BENCH" + std::to_string(::getpid()) + "R" + std::to_string(run);
      auto pub = adapters::jetstream::JetStreamBus::Connect(s);
      if (!pub) {
        std::fprintf(stderr, "%s\n", pub.error().message.c_str());
        return 1;
      }
      std::vector<std::unique_ptr<adapters::jetstream::JetStreamBus>> cons;
      std::vector<ports::WorkBus*> ptrs;
      for (int p = 0; p < o.processes; ++p) {
        cons.push_back(std::move(*adapters::jetstream::JetStreamBus::Connect(s)));
        ptrs.push_back(cons.back().get());
      }
      auto f = Run(**pub, ptrs, o, "batches.bench" + std::to_string(run));
      // The queuer's way: one unit whose handler publishes every batch (asynchronous
      // publishes, all confirmed before the unit is acknowledged).
      const std::string unit_subject = "units.bench" + std::to_string(run);
      const std::string out_subject = "batches.staged" + std::to_string(run);
      const std::string payload(static_cast<size_t>(o.bytes), 'x');
      if (!(*pub)->Publish({unit_subject, "unit", ""})) return 1;
      auto t = Clock::now();
      (*pub)->Subscribe({unit_subject, "queuer", 1}, [&](const ports::BusMessage&) {
        for (int i = 0; i < o.messages; ++i) {
          if (!(*pub)->Publish({out_subject, "b" + std::to_string(i), payload}))
            return ports::WorkBus::Ack::Retry();
        }
        return ports::WorkBus::Ack::Done();
      });
      while ((*pub)->Depth(unit_subject).value_or(1) != 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      double staged = o.messages / Seconds(t);
      (*pub)->Stop();
      // The senders' way: the staged batches consumed as push batches — fetched one at a
      // time, each delivery marked (put-if-absent) before the handler runs.
      std::vector<std::unique_ptr<adapters::jetstream::JetStreamBus>> senders;
      std::atomic<int> pushed{0};
      auto t2 = Clock::now();
      for (int p = 0; p < o.processes; ++p) {
        senders.push_back(std::move(*adapters::jetstream::JetStreamBus::Connect(s)));
        senders.back()->Subscribe({out_subject, "senders", o.workers, 0, true},
                                  [&](const ports::BusMessage&) {
                                    pushed.fetch_add(1);
                                    return ports::WorkBus::Ack::Done();
                                  });
      }
      while (pushed.load() < o.messages) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      double as_batches = o.messages / Seconds(t2);
      for (auto& b : senders) b->Stop();
      std::printf(
          "| %d | JetStream (file, R1) | %.0f (from a handler: %.0f) | %.0f (as push batches: "
          "%.0f) |\n",
          run, f.publish_per_s, staged, f.consume_per_s, as_batches);
    }
    {  // embedded, journaled (the durable default)
      auto dir =
          std::filesystem::temp_directory_path() / ("fanout-jsbench-" + std::to_string(::getpid()));
      std::filesystem::remove_all(dir);
      {
        adapters::sqlite::SqliteState state(dir / "state.db");
        adapters::memory::MemoryBus bus(adapters::memory::MemoryBus::Settings{}, &state.bus());
        auto f = Run(bus, {&bus}, o, "batches.bench");
        std::printf("| %d | embedded, SQLite journal | %.0f | %.0f |\n", run, f.publish_per_s,
                    f.consume_per_s);
      }
      std::filesystem::remove_all(dir);
    }
    {  // embedded, memory only
      adapters::memory::MemoryBus bus(adapters::memory::MemoryBus::Settings{});
      auto f = Run(bus, {&bus}, o, "batches.bench");
      std::printf("| %d | embedded, memory | %.0f | %.0f |\n", run, f.publish_per_s,
                  f.consume_per_s);
    }
    std::fflush(stdout);
  }
  return 0;
}
