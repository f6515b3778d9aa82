#pragma once
/// \file
/// Client: asks a deployed network for answers. It is the deployment's example source (input
/// nodes pull the examples of a request from it, through the `link client NODE` conditions
/// when the deployment gives them) and pulls the output node's answer, or a node's early exit.

#include <zmq.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "resilinet/core/tensor_view.hpp"
#include "resilinet/runtime/deployment.hpp"
#include "resilinet/runtime/link_emulator.hpp"
#include "resilinet/runtime/message.hpp"
#include "resilinet/runtime/sockets.hpp"

namespace resilinet::runtime {

/// Sends requests through a deployment and collects the answers (see the file comment).
class Client {
 public:
  /// Binds the deployment's source endpoint and connects to `output_node` (the network's
  /// last node).
  Client(const Deployment& deployment, const std::string& output_node, zmq::context_t& zctx)
      : deployment_(deployment), zctx_(zctx), security_(deployment, "client", zctx), source_(zctx, zmq::socket_type::router),
        output_(connect_dealer(zctx, security_, output_node, deployment_.node(output_node).endpoint,
                               deployment_.max_message_bytes, "client")),
        links_out_(deployment, "client", 0xc11e47) {
    configure_socket(source_, deployment_.max_message_bytes);
    security_.serve(source_);
    source_.bind(deployment_.source);
  }

  /// Runs request `id` on the examples `x` (batch first, examples shaped as the deployment's
  /// input): pulls the output node with the deployment's deadline as budget, serves `x` to
  /// the input nodes meanwhile, and returns the answer (an output or an error message), or
  /// nothing when none came within `timeout_ms`. `after_send` runs once the pull is out.
  std::optional<Message> ask(std::uint64_t id, TensorView<const float> x, double timeout_ms,
                             const std::function<void()>& after_send = {}) {
    return exchange(output_, MessageType::pull, id, x, timeout_ms, after_send);
  }

  /// Asks node `name` for its early exit's answer to request `id` (an exit pull, served like
  /// ask(): its logits, an error, or nothing within `timeout_ms`).
  std::optional<Message> ask_exit(const std::string& name, std::uint64_t id, TensorView<const float> x,
                                  double timeout_ms) {
    return exchange(probe(name), MessageType::exit_pull, id, x, timeout_ms, {});
  }

  /// The stats words of node `name` ("key=value ..."), or nothing when it does not answer
  /// within `timeout_ms` (also the readiness probe).
  std::optional<std::string> stats(const std::string& name, double timeout_ms) {
    zmq::socket_t& s = probe(name);
    Message q;
    q.type = MessageType::stats_request;
    const std::string bytes = encode(q);
    const std::int64_t end = now_us() + std::int64_t(timeout_ms * 1000);
    bool sent = false;
    while (now_us() < end) {
      if (!sent) sent = send_now(s, bytes);
      zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(sent ? 20 : 5));
      zmq::message_t f;
      while (s.recv(f, zmq::recv_flags::dontwait)) {
        try {
          Message m = decode(f.data(), f.size(), deployment_.max_message_bytes);
          if (m.type == MessageType::stats) return m.text;
        } catch (const FormatError&) {
        }
      }
    }
    return std::nullopt;
  }

  /// Sends `bytes` as one message to node `name` (to test that nodes refuse bad messages);
  /// false when the node is not connected.
  bool send_raw(const std::string& name, const std::string& bytes) { return send_now(probe(name), bytes); }

  /// Bytes of example messages served to input nodes so far (not counting lost ones).
  std::uint64_t source_bytes() const { return source_bytes_; }

  /// Pulls of examples served so far (not counting lost examples).
  std::uint64_t source_pulls() const { return source_pulls_; }

  /// Answers (and example pulls) that belonged to no current request.
  std::uint64_t stale() const { return stale_; }

  /// Connections to the example source refused for a key the deployment does not name.
  std::uint64_t refused() const { return security_.refused(); }

  /// Examples lost on emulated source links so far.
  std::uint64_t lost() const { return links_out_.lost(); }

 private:
  zmq::socket_t& probe(const std::string& name) {
    auto it = probes_.find(name);
    if (it == probes_.end())
      it = probes_.emplace(name, connect_dealer(zctx_, security_, name, deployment_.node(name).endpoint,
                                                deployment_.max_message_bytes)).first;
    return it->second;
  }

  // Sends a pull of `type` for request `id` on `to` and serves `x` to the input nodes until
  // the answer comes (returned) or `timeout_ms` passes (nothing).
  std::optional<Message> exchange(zmq::socket_t& to, MessageType type, std::uint64_t id, TensorView<const float> x,
                                  double timeout_ms, const std::function<void()>& after_send) {
    require<ShapeError>(x.rank() >= 1 && x.shape()[0] >= 1 && x.shape().with_leading(1) == deployment_.input.prepend(1),
                        "ask: examples of shape ", x.shape(), " where the deployment takes ",
                        deployment_.input.prepend(x.rank() ? x.shape()[0] : 0));
    Message example;
    example.type = MessageType::output;
    example.request = id;
    example.reached = true;
    example.shape = x.shape();
    example.values.assign(x.begin(), x.end());
    const std::string example_bytes = encode(example);
    Message pull;
    pull.type = type;
    pull.request = id;
    pull.batch = std::uint32_t(x.shape()[0]);
    pull.budget_us = std::uint32_t(deployment_.deadline_ms * 1000);
    const std::int64_t end = now_us() + std::int64_t(timeout_ms * 1000);
    const bool sent = send_now(to, encode(pull));
    if (after_send) after_send();
    if (!sent) return std::nullopt;
    while (true) {
      const std::int64_t left = end - now_us();
      if (left <= 0) return std::nullopt;
      zmq::pollitem_t items[2] = {{static_cast<void*>(source_), 0, ZMQ_POLLIN, 0},
                                  {static_cast<void*>(to), 0, ZMQ_POLLIN, 0}};
      const std::int64_t wait_us = links_out_.wait_us(left);  // examples on emulated links keep travelling
      zmq::poll(items, 2, std::chrono::milliseconds(std::max<std::int64_t>(1, (wait_us + 999) / 1000)));
      links_out_.flush(source_);
      if (items[0].revents & ZMQ_POLLIN) serve_example(id, example_bytes);
      if (!(items[1].revents & ZMQ_POLLIN)) continue;
      zmq::message_t f;
      while (to.recv(f, zmq::recv_flags::dontwait)) {
        Message m;
        try {
          m = decode(f.data(), f.size(), deployment_.max_message_bytes);
        } catch (const FormatError&) {
          ++stale_;
          continue;
        }
        if (m.request == id && (m.type == MessageType::output || m.type == MessageType::error))
          return m;
        ++stale_;
      }
    }
  }

  // Answers every waiting example pull: the example for request `id`, an error otherwise.
  void serve_example(std::uint64_t id, const std::string& example_bytes) {
    while (true) {
      std::vector<zmq::message_t> frames = receive_routed(source_);
      if (frames.empty()) return;
      if (frames.size() < 2) continue;  // no payload; frames after the payload are ignored
      std::string reply;
      Message e;
      e.type = MessageType::error;
      try {
        const Message m = decode(frames[1].data(), frames[1].size(), deployment_.max_message_bytes);
        if (m.type == MessageType::pull && m.request == id) reply = example_bytes;
        e.request = m.request;
      } catch (const FormatError&) {
      }
      const bool example = !reply.empty();
      if (!example) {
        ++stale_;
        e.text = "no example for this request";
        reply = encode(e);
      }
      const std::size_t bytes = reply.size();
      if (links_out_.send(source_, frames[0], std::move(reply)) && example) {
        ++source_pulls_;
        source_bytes_ += bytes;
      }
    }
  }

  const Deployment& deployment_;
  zmq::context_t& zctx_;
  CurveSecurity security_;  // before the sockets: they are made with it, and closed before it
  zmq::socket_t source_;
  zmq::socket_t output_;
  std::map<std::string, zmq::socket_t> probes_;
  LinkEmulator links_out_;  // the examples' emulated links to input nodes
  std::uint64_t source_bytes_ = 0, source_pulls_ = 0, stale_ = 0;
};

}  // namespace resilinet::runtime
