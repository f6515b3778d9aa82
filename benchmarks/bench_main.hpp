// The main() of the benchmark binaries: Catch2's session with --threads and --seconds options.
#pragma once

#include <catch2/catch.hpp>

namespace bench {

/// Threads the benchmarks use (--threads N, default 1).
inline int threads = 1;

/// Seconds each timed measurement runs for (--seconds S, default 2).
inline double seconds = 2;

/// Parses Catch2's options plus --threads and --seconds and runs the benchmarks.
inline int run(int argc, char** argv) {
  Catch::Session session;
  using namespace Catch::clara;
  auto cli = session.cli() | Opt(threads, "threads")["--threads"]("threads (default 1)") |
             Opt(seconds, "seconds")["--seconds"]("seconds per timed measurement (default 2)");
  session.cli(cli);
  if (const int rc = session.applyCommandLine(argc, argv)) return rc;
  return session.run();
}

}  // namespace bench
