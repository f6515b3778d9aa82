#pragma once
/// \file
/// `poll_until_signal`: zmq::poll that a signal ends instead of throwing, for every runtime
/// loop (the servers' event loops and the CURVE handler's thread).

#include <zmq.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>

namespace resilinet::runtime {

/// Polls `count` items for up to `timeout` like zmq::poll, except that a signal arriving
/// meanwhile ends the poll with no events instead of throwing, so a loop gets to check its stop flag.
inline void poll_until_signal(zmq::pollitem_t* items, std::size_t count, std::chrono::milliseconds timeout) {
  try {
    zmq::poll(items, count, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    for (std::size_t i = 0; i < count; ++i) items[i].revents = 0;
  }
}

}  // namespace resilinet::runtime
