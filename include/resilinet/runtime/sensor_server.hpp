#pragma once
/// \file
/// SensorServer: one sensor of a deployment (a `sensor` line, e.g. one of the camera network's
/// six cameras) served over ZeroMQ. It holds a recording (its slots of every example) and
/// answers a pull for request r of batch b with its slots of examples r, r+1, ..., r+b-1
/// (modulo the recording's length), shaped (b, its slots, ...), through the deployment's
/// emulated links (`link NAME NODE ...`, `uplink NAME ...`). Malformed messages are counted and
/// dropped; a pull larger than the recording is answered with an error.

#include <unistd.h>
#include <zmq.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "resilinet/core/tensor_view.hpp"
#include "resilinet/runtime/deployment.hpp"
#include "resilinet/runtime/link_emulator.hpp"
#include "resilinet/runtime/message.hpp"
#include "resilinet/runtime/sockets.hpp"

namespace resilinet::runtime {

/// Serves one sensor's recording (see the file comment).
class SensorServer {
 public:
  /// Keeps sensor `name`'s slots of `examples` (N examples shaped as the deployment's input)
  /// and binds its endpoint; a non-loopback endpoint needs `allow_remote_bind`.
  SensorServer(const Deployment& deployment, const std::string& name, TensorView<const float> examples,
               zmq::context_t& zctx, bool allow_remote_bind = false)
      : deployment_(deployment), sensor_(deployment.sensor(name)), security_(deployment, name, zctx),
        router_(zctx, zmq::socket_type::router), links_out_(deployment, name, 0x5e45) {
    require<ShapeError>(examples.rank() >= 2 && examples.shape()[0] >= 1 &&
                            examples.shape().with_leading(1) == deployment.input.prepend(1),
                        "sensor '", name, "': a recording of shape ", examples.shape(), " where the deployment takes ",
                        deployment.input.prepend(examples.rank() ? examples.shape()[0] : 0));
    require(allow_remote_bind || is_loopback_endpoint(sensor_.endpoint), "sensor '", name, "': endpoint '",
            sensor_.endpoint, "' is not on loopback; pass --allow-remote-bind to listen on it");
    examples_ = examples.shape()[0];
    slot_values_ = deployment.input.numel() / deployment.input[0];
    recording_.reserve(examples_ * sensor_.slots.size() * slot_values_);
    for (std::size_t i = 0; i < examples_; ++i)
      for (std::size_t slot : sensor_.slots) {
        const float* from = examples.data() + (i * deployment.input[0] + slot) * slot_values_;
        recording_.insert(recording_.end(), from, from + slot_values_);
      }
    configure_socket(router_, deployment.max_message_bytes);
    security_.serve(router_);
    router_.bind(sensor_.endpoint);
  }

  /// Serves until `*stop` is non-zero (checked at least every 100 ms).
  void serve(const volatile int* stop) {
    std::vector<zmq::pollitem_t> items{{static_cast<void*>(router_), 0, ZMQ_POLLIN, 0}};
    while (!*stop) {
      poll_until_signal(items.data(), items.size(), std::chrono::milliseconds((links_out_.wait_us(100000) + 999) / 1000));
      links_out_.flush(router_);
      if (items[0].revents & ZMQ_POLLIN)
        while (handle_one()) {
        }
    }
  }

  /// The endpoint the sensor bound (its port resolved when the description gave `*`).
  std::string endpoint() const { return router_.get(zmq::sockopt::last_endpoint); }

  /// The sensor's counters as the stats answer's text (with its process id).
  std::string stats_text() const {
    return "sensor=" + sensor_.name + " requests=" + std::to_string(requests_) + " bytes=" + std::to_string(bytes_) +
           " rejected=" + std::to_string(rejected_) + " lost=" + std::to_string(links_out_.lost()) +
           " refused=" + std::to_string(security_.refused()) + " pid=" + std::to_string(::getpid());
  }

 private:
  // Receives one [identity, payload] message and answers it; false when none was waiting.
  bool handle_one() {
    std::vector<zmq::message_t> frames = receive_routed(router_);
    if (frames.empty()) return false;
    Message m;
    try {
      require<FormatError>(frames.size() == 2, frames.size(), " frames (expected identity and payload)");
      m = decode(frames[1].data(), frames[1].size(), deployment_.max_message_bytes);
      require<FormatError>(m.type == MessageType::pull || m.type == MessageType::stats_request,
                           "unexpected message type ", int(m.type));
    } catch (const FormatError& e) {
      if (++rejected_ <= 10) std::fprintf(stderr, "%s: rejected message: %s\n", sensor_.name.c_str(), e.what());
      return true;
    }
    Message out;
    out.request = m.request;
    if (m.type == MessageType::stats_request) {
      out.type = MessageType::stats;
      out.text = stats_text();
    } else if (m.batch == 0 || m.batch > examples_) {
      out.type = MessageType::error;
      out.text = sensor_.name + ": a pull of " + std::to_string(m.batch) + " examples from a recording of " +
                 std::to_string(examples_);
    } else {
      ++requests_;
      out.type = MessageType::output;
      out.reached = true;
      out.shape = deployment_.input.prepend(m.batch);
      out.shape[1] = sensor_.slots.size();
      const std::size_t row = sensor_.slots.size() * slot_values_;
      for (std::size_t b = 0; b < m.batch; ++b) {
        const float* from = recording_.data() + ((m.request + b) % examples_) * row;
        out.values.insert(out.values.end(), from, from + row);
      }
    }
    std::string bytes = encode(out);
    const std::size_t size = bytes.size();
    if (links_out_.send(router_, frames[0], std::move(bytes)) && out.type == MessageType::output) bytes_ += size;
    return true;
  }

  const Deployment& deployment_;
  const DeployedSensor& sensor_;
  CurveSecurity security_;  // before the socket: it is made with it, and closed before it
  zmq::socket_t router_;
  LinkEmulator links_out_;
  std::vector<float> recording_;  // (examples, slots, ...)
  std::size_t examples_ = 0, slot_values_ = 0;
  std::uint64_t requests_ = 0, bytes_ = 0, rejected_ = 0;
};

}  // namespace resilinet::runtime
