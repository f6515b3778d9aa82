#pragma once
/// \file
/// Client: asks a deployed network for answers. It is the deployment's example source (input
/// nodes pull the examples of a request from it, through the `link client NODE` conditions
/// when the deployment gives them) and pulls the output node's answer, or a node's early exit.
/// Requests go one at a time (ask) or several in flight at once (send, then next), matched to
/// their answers by request id.

#include <zmq.hpp>

#include <algorithm>
#include <deque>
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
    const bool sent = send(output_, MessageType::pull, id, x);
    if (after_send) after_send();
    return sent ? wait(output_, id, timeout_ms) : std::nullopt;
  }

  /// Asks node `name` for its early exit's answer to request `id` (an exit pull, served like
  /// ask(): its logits, an error, or nothing within `timeout_ms`).
  std::optional<Message> ask_exit(const std::string& name, std::uint64_t id, TensorView<const float> x,
                                  double timeout_ms) {
    zmq::socket_t& s = probe(name);
    return send(s, MessageType::exit_pull, id, x) ? wait(s, id, timeout_ms) : std::nullopt;
  }

  /// Sends request `id` as ask() does without waiting for its answer (next() returns it), so
  /// that several requests are in flight; false when the output node is not connected.
  bool send(std::uint64_t id, TensorView<const float> x) { return send(output_, MessageType::pull, id, x); }

  /// The next answer (an output or an error) to a request sent with send() or ask() and not
  /// answered yet, in the order they come; nothing when none comes within `timeout_ms`.
  std::optional<Message> next(double timeout_ms) { return wait(output_, std::nullopt, timeout_ms); }

  /// Gives up on request `id`: its example is no longer served, and its answer, should it
  /// still come, is stale.
  void forget(std::uint64_t id) {
    for (auto it = waiting_.begin(); it != waiting_.end();)
      it = it->second == id ? finish(it) : std::next(it);
  }

  /// The stats words of node or sensor `name` ("key=value ..."), or nothing when it does not answer
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
      it = probes_.emplace(name, connect_dealer(zctx_, security_, name, deployment_.endpoint_of(name),
                                                deployment_.max_message_bytes)).first;
    return it->second;
  }

  using Waiting = std::multimap<const zmq::socket_t*, std::uint64_t>;

  // Sends a pull of `type` for request `id` on `to`, and serves `x` to the input nodes while
  // any pull for `id` waits for its answer; false (nothing waits) when `to` is not connected.
  bool send(zmq::socket_t& to, MessageType type, std::uint64_t id, TensorView<const float> x) {
    require<ShapeError>(x.rank() >= 1 && x.shape()[0] >= 1 && x.shape().with_leading(1) == deployment_.input.prepend(1),
                        "ask: examples of shape ", x.shape(), " where the deployment takes ",
                        deployment_.input.prepend(x.rank() ? x.shape()[0] : 0));
    Message pull;
    pull.type = type;
    pull.request = id;
    pull.batch = std::uint32_t(x.shape()[0]);
    pull.budget_us = std::uint32_t(deployment_.deadline_ms * 1000);
    if (!send_now(to, encode(pull))) return false;
    auto& [bytes, pulls] = examples_[id];
    if (pulls++ == 0) {
      Message example;
      example.type = MessageType::output;
      example.request = id;
      example.reached = true;
      example.shape = x.shape();
      example.values.assign(x.begin(), x.end());
      bytes = encode(example);
    }
    waiting_.emplace(&to, id);
    return true;
  }

  // Drops a waiting pull, and its request's example when no other pull needs it.
  Waiting::iterator finish(Waiting::iterator w) {
    const auto e = examples_.find(w->second);
    if (e != examples_.end() && --e->second.second == 0) examples_.erase(e);
    return waiting_.erase(w);
  }

  // The waiting pull on `from` for request `id`, or waiting_.end().
  Waiting::iterator find_waiting(const zmq::socket_t* from, std::uint64_t id) {
    const auto [first, last] = waiting_.equal_range(from);
    const auto w = std::find_if(first, last, [&](const auto& p) { return p.second == id; });
    return w == last ? waiting_.end() : w;
  }

  // Serves examples until an answer comes on `to` for request `id` (any waiting request when
  // `id` is empty), and returns it; nothing after `timeout_ms`, when a pull for `id` is
  // given up. Answers from the output node to other waiting requests are kept for next().
  std::optional<Message> wait(zmq::socket_t& to, std::optional<std::uint64_t> id, double timeout_ms) {
    const auto kept = std::find_if(arrived_.begin(), arrived_.end(), [&](const Message& m) { return !id || m.request == *id; });
    if (&to == &output_ && kept != arrived_.end()) {
      Message m = std::move(*kept);
      arrived_.erase(kept);
      return m;
    }
    const std::int64_t end = now_us() + std::int64_t(timeout_ms * 1000);
    while (true) {
      const std::int64_t left = end - now_us();
      if (left <= 0) break;
      zmq::pollitem_t items[3] = {{static_cast<void*>(source_), 0, ZMQ_POLLIN, 0},
                                  {static_cast<void*>(output_), 0, ZMQ_POLLIN, 0},
                                  {static_cast<void*>(to), 0, ZMQ_POLLIN, 0}};
      const std::int64_t wait_us = links_out_.wait_us(left);  // examples on emulated links keep travelling
      zmq::poll(items, &to == &output_ ? 2 : 3, std::chrono::milliseconds(std::max<std::int64_t>(1, (wait_us + 999) / 1000)));
      links_out_.flush(source_);
      if (items[0].revents & ZMQ_POLLIN) serve_examples();
      for (zmq::socket_t* from : {&output_, &to}) {
        zmq::message_t f;
        while (from->recv(f, zmq::recv_flags::dontwait)) {
          Message m;
          try {
            m = decode(f.data(), f.size(), deployment_.max_message_bytes);
          } catch (const FormatError&) {
            ++stale_;
            continue;
          }
          const auto w = find_waiting(from, m.request);
          if (w == waiting_.end() || (m.type != MessageType::output && m.type != MessageType::error)) {
            ++stale_;
            continue;
          }
          finish(w);
          if (from == &to && (!id || m.request == *id)) return m;
          if (from == &output_) arrived_.push_back(std::move(m));  // for next()
        }
        if (&to == &output_) break;
      }
    }
    if (id)
      if (const auto w = find_waiting(&to, *id); w != waiting_.end()) finish(w);
    return std::nullopt;
  }

  // Answers every waiting example pull: the example of a waiting request, an error otherwise.
  void serve_examples() {
    while (true) {
      std::vector<zmq::message_t> frames = receive_routed(source_);
      if (frames.empty()) return;
      if (frames.size() < 2) continue;  // no payload; frames after the payload are ignored
      std::string reply;
      Message e;
      e.type = MessageType::error;
      try {
        const Message m = decode(frames[1].data(), frames[1].size(), deployment_.max_message_bytes);
        if (const auto it = examples_.find(m.request); m.type == MessageType::pull && it != examples_.end())
          reply = it->second.first;
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
  std::map<std::uint64_t, std::pair<std::string, int>> examples_;  // encoded example, pulls waiting for it
  Waiting waiting_;                                                // pulls sent and not answered, by socket
  std::deque<Message> arrived_;  // answers from the output node that next() has not returned
  LinkEmulator links_out_;  // the examples' emulated links to input nodes
  std::uint64_t source_bytes_ = 0, source_pulls_ = 0, stale_ = 0;
};

}  // namespace resilinet::runtime
