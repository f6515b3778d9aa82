#pragma once
// Runs one runtime server (resilinet-node's NodeServer, resilinet-sensor's SensorServer) until
// SIGTERM or SIGINT.

#include <csignal>
#include <cstdio>
#include <string>

namespace examples {

namespace detail {
inline volatile int stop_requested = 0;
inline void request_stop(int) { stop_requested = 1; }
}  // namespace detail

/// Serves `server` until SIGTERM or SIGINT: logs "NAME: serving WHAT" to stderr first and its
/// stats when it stops.
template <class Server>
void serve_until_stopped(Server& server, const std::string& name, const std::string& what) {
  std::signal(SIGTERM, detail::request_stop);
  std::signal(SIGINT, detail::request_stop);
  std::fprintf(stderr, "%s: serving %s\n", name.c_str(), what.c_str());
  server.serve(&detail::stop_requested);
  std::fprintf(stderr, "%s: stopped; %s\n", name.c_str(), server.stats_text().c_str());
}

}  // namespace examples
