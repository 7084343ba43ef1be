// Times CapDecoder::Decode (parse + XSD + model + spec rules) per file.
// Usage: fanout_capxml_bench [ITERATIONS] FILE...   (build Release for meaningful numbers)
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "adapters/capxml/cap_decoder.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ITERATIONS FILE...\n", argv[0]);
    return 2;
  }
  const int iterations = std::atoi(argv[1]);
  using fanout::adapters::capxml::CapDecoder;
  using fanout::adapters::capxml::CapDecoderSettings;
  const CapDecoder with_xsd;
  const CapDecoder without_xsd(CapDecoderSettings{.limits = {}, .xsd_validate = false});
  for (int f = 2; f < argc; ++f) {
    std::ifstream in(argv[f], std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string body = ss.str();
    for (const CapDecoder* d : {&with_xsd, &without_xsd}) {
      size_t valid = 0;
      // CPU time of this process as well as wall time: the build machine is shared, and
      // wall time under contention says little about the code.
      timespec c0, c1;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iterations; ++i) valid += d->Decode(body).valid;
      auto t1 = std::chrono::steady_clock::now();
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
      double wall_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / iterations;
      double cpu_us = (static_cast<double>(c1.tv_sec - c0.tv_sec) * 1e6 +
                       static_cast<double>(c1.tv_nsec - c0.tv_nsec) / 1e3) /
                      iterations;
      std::printf("%8.1f us cpu %8.1f us wall /decode  %7zu bytes  xsd=%s valid=%zu/%d  %s\n",
                  cpu_us, wall_us, body.size(), d == &with_xsd ? "on " : "off", valid, iterations,
                  argv[f]);
    }
  }
  return 0;
}
