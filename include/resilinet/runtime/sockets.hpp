#pragma once
/// \file
/// The ZeroMQ socket helpers the node server and the client share: socket options, a
/// non-queueing DEALER, non-blocking sends, routed receives and replies, and a clock.

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "resilinet/runtime/curve_security.hpp"
#include "resilinet/runtime/poll_until_signal.hpp"

namespace resilinet::runtime {

/// Microseconds since an arbitrary start, from the steady clock.
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Sets the options every runtime socket gets: no lingering on close, the message size limit.
inline void configure_socket(zmq::socket_t& s, std::size_t max_message_bytes) {
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::maxmsgsize, std::int64_t(max_message_bytes));
}

/// A DEALER connected to the process `server` at `endpoint` (a CURVE client of it when
/// `security` is on) that refuses to queue while disconnected (a send fails at once when the
/// peer is down) and retries the connection every 10 ms; a non-empty `identity` is its
/// routing id, by which the peer knows who asks (LinkEmulator).
inline zmq::socket_t connect_dealer(zmq::context_t& zctx, const CurveSecurity& security, const std::string& server,
                                    const std::string& endpoint, std::size_t max_message_bytes,
                                    const std::string& identity = "") {
  zmq::socket_t s(zctx, zmq::socket_type::dealer);
  configure_socket(s, max_message_bytes);
  security.connect_to(s, server);
  if (!identity.empty()) s.set(zmq::sockopt::routing_id, identity);
  s.set(zmq::sockopt::immediate, 1);
  s.set(zmq::sockopt::reconnect_ivl, 10);
  s.set(zmq::sockopt::reconnect_ivl_max, 0);  // no back-off: consumers see a node return together
  s.connect(endpoint);
  return s;
}

/// Sends `bytes` without blocking; false when the peer is not connected or its queue is full.
inline bool send_now(zmq::socket_t& s, const std::string& bytes) {
  return s.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
}

/// Receives the next message waiting on ROUTER `s` without blocking, as its frames (the
/// first is the sender's identity); empty when none waits.
inline std::vector<zmq::message_t> receive_routed(zmq::socket_t& s) {
  std::vector<zmq::message_t> frames;
  while (true) {
    zmq::message_t f;
    if (!s.recv(f, zmq::recv_flags::dontwait)) break;
    const bool more = f.more();
    frames.push_back(std::move(f));
    if (!more) break;
  }
  return frames;
}

/// Sends `reply` on ROUTER `s` to the sender whose identity frame is `identity`, without blocking.
inline void reply_routed(zmq::socket_t& s, zmq::message_t& identity, const std::string& reply) {
  s.send(identity, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  s.send(zmq::buffer(reply), zmq::send_flags::dontwait);
}

}  // namespace resilinet::runtime
