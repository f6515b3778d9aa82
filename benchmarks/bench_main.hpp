// The main() of the benchmark binaries: Catch2's session with a --threads option.
#pragma once

#include <catch2/catch.hpp>

namespace bench {

/// Threads the benchmarks use (--threads N, default 1).
inline int threads = 1;

/// Parses Catch2's options plus --threads and runs the benchmarks.
inline int run(int argc, char** argv) {
  Catch::Session session;
  using namespace Catch::clara;
  auto cli = session.cli() | Opt(threads, "threads")["--threads"]("threads (default 1)");
  session.cli(cli);
  if (const int rc = session.applyCommandLine(argc, argv)) return rc;
  return session.run();
}

}  // namespace bench
