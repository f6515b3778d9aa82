#pragma once
/// \file
/// NodeServer: one physical node of a PartitionedNetwork<float> served over ZeroMQ.
///
/// Requests flow by *pulling*: whoever wants a node's output for request r sends it a pull
/// (over a DEALER to the node's ROUTER); the node pulls what its merge needs from its sources
/// (an input node pulls the example from the deployment's source), runs its layers with the
/// tape-free inference path (PartitionedNetwork::infer_node) and answers. Links point from
/// earlier nodes to later ones, so pulls never wait in a cycle.
///
/// Failure detection: a source is failed for a request when it cannot be reached (no
/// connection: ZMQ_IMMEDIATE makes the send fail at once), when its connection drops while the
/// node waits (a socket monitor reports it), when its answer is malformed or an error, or when
/// it misses the node's deadline. Deadlines nest inside the budget each pull
/// carries: a node with a ResiliNet mux group gives its main sources 45% of its budget, so a
/// late main source still leaves time to fetch the skips; otherwise 85%. A source that comes
/// back is reconnected by ZeroMQ and used from the next request on.
///
/// Bandwidth: under a mux rule a skip hyperconnection is pulled only when the main source of
/// its group failed; under a sum rule (deepFogGuard, ResiliNet+) every input is pulled.
///
/// Link conditions: answers to a consumer with a `link` line leave through a LinkEmulator
/// (delay, rate, loss); the node polls its sockets only until the next queued answer is due.
///
/// Early exits: a node with an exit head answers an exit pull as it answers a pull, with the
/// head's logits on its output instead (the client asks when the output node's answer says
/// no information reached it).
///
/// Every answer carries what was seen computing it (nodes found dead or alive, links pulled
/// and delivered, whether the input reached the output), so the client can recompute the
/// same answer in simulation. Answers are cached for the last 64 requests: a node pulled by
/// several consumers computes once. Malformed messages are counted and dropped; they never
/// stop the node.

#include <zmq.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resilinet/nn/inference.hpp"
#include "resilinet/resilience/partitioned_network.hpp"
#include "resilinet/runtime/deployment.hpp"
#include "resilinet/runtime/link_emulator.hpp"
#include "resilinet/runtime/message.hpp"
#include "resilinet/runtime/sockets.hpp"

namespace resilinet::runtime {

/// What a node counted since it started (its stats answer, as key=value words).
struct NodeCounters {
  /// Pulls received.
  std::uint64_t requests = 0;
  /// Pulls answered by computing.
  std::uint64_t computed = 0;
  /// Pulls answered from the cache.
  std::uint64_t cached = 0;
  /// Messages refused as malformed or unexpected.
  std::uint64_t rejected = 0;
  /// Source pulls that failed (unreachable, late, error or malformed answer).
  std::uint64_t source_failures = 0;
  /// Answers that arrived after their request was given up.
  std::uint64_t stale = 0;
  /// Exit pulls received (answered with the node's early exit).
  std::uint64_t exits = 0;
};

/// Serves one node of a deployed network (see the file comment).
class NodeServer {
 public:
  /// Binds the node's endpoint and connects to its sources; a non-loopback endpoint needs
  /// `allow_remote_bind`. The network must have its model loaded.
  NodeServer(PartitionedNetwork<float>& net, const Deployment& deployment, const std::string& node,
             zmq::context_t& zctx, bool allow_remote_bind = false)
      : net_(net), deployment_(deployment), node_index_(net.index_of(node)), security_(deployment, node, zctx),
        router_(zctx, zmq::socket_type::router),
        links_out_(deployment, node, 0x5eed + node_index_) {
    const DeployedNode& me = deployment_.node(node);
    require(allow_remote_bind || is_loopback_endpoint(me.endpoint), "node '", node, "': endpoint '",
            me.endpoint, "' is not on loopback; pass --allow-remote-bind to listen on it");
    require(net.nodes().size() <= 64 && net.links().size() <= 64, "the runtime handles at most 64 ",
            "nodes and 64 links, the network has ", net.nodes().size(), " and ", net.links().size());
    configure_socket(router_, deployment_.max_message_bytes);
    router_.set(zmq::sockopt::router_handover, 1);  // a restarted consumer takes its name back at once
    security_.serve(router_);
    router_.bind(me.endpoint);
    shapes_ = net_.node_output_shapes(deployment_.input.prepend(1), inf_);
    const auto add_source = [&](std::size_t from, const std::string& server, const std::string& endpoint) {
      // A monitor reports the source's connection dropping, so a source that dies while this
      // node waits for it fails at once instead of at the deadline.
      zmq::socket_t dealer = connect_dealer(zctx, security_, server, endpoint, deployment_.max_message_bytes, node);
      const std::string address = "inproc://monitor-" + std::to_string(sources_.size());
      zmq_socket_monitor(dealer.handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED);
      zmq::socket_t monitor(zctx, zmq::socket_type::pair);
      monitor.set(zmq::sockopt::linger, 0);
      monitor.connect(address);
      sources_.push_back({from, std::move(dealer), std::move(monitor)});
    };
    first_from_source_.assign(net_.links().size(), 0);
    if (net_.nodes()[node_index_]->inputs.empty()) {
      add_source(npos, "client", deployment_.source);
    } else {
      for (std::size_t l : net_.nodes()[node_index_]->inputs) {
        const std::size_t from = net_.links()[l].from;
        if (source_slot(from) != npos) continue;
        add_source(from, net_.nodes()[from]->name, deployment_.node(net_.nodes()[from]->name).endpoint);
        first_from_source_[l] = 1;  // pulls and deliveries are booked on this link
      }
    }
  }

  /// Serves until `*stop` is non-zero (checked at least every 100 ms).
  void serve(const volatile int* stop) {
    while (!*stop) {
      zmq::pollitem_t item{static_cast<void*>(router_), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds((links_out_.wait_us(100000) + 999) / 1000));
      links_out_.flush(router_);
      if (item.revents & ZMQ_POLLIN) handle_one();
    }
  }

  /// What the node counted so far.
  const NodeCounters& counters() const { return counters_; }

  /// The counters as the stats answer's text.
  std::string stats_text() const {
    return "node=" + net_.nodes()[node_index_]->name + " requests=" + std::to_string(counters_.requests) +
           " computed=" + std::to_string(counters_.computed) + " cached=" + std::to_string(counters_.cached) +
           " rejected=" + std::to_string(counters_.rejected) +
           " source_failures=" + std::to_string(counters_.source_failures) + " stale=" + std::to_string(counters_.stale) + " exits=" + std::to_string(counters_.exits) +
           " lost=" + std::to_string(links_out_.lost()) + " refused=" + std::to_string(security_.refused());
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  struct Source {
    std::size_t node;  // npos: the deployment's example source
    zmq::socket_t socket;
    zmq::socket_t monitor;  // disconnection events of `socket`
  };

  // Reads the monitor events waiting for source k; true when one reports a disconnection.
  bool disconnected(std::size_t k) {
    bool dropped = false;
    zmq::message_t event, endpoint;
    while (sources_[k].monitor.recv(event, zmq::recv_flags::dontwait)) {
      if (event.more() && !sources_[k].monitor.recv(endpoint, zmq::recv_flags::dontwait)) break;
      dropped = true;  // only ZMQ_EVENT_DISCONNECTED is subscribed
    }
    return dropped;
  }

  // Whether the main source of link l's mux group answered this request.
  bool main_alive(std::size_t l) const {
    return replies_[source_slot(net_.links()[net_.group_of(l)].from)].has_value();
  }

  std::size_t source_slot(std::size_t node) const {
    for (std::size_t k = 0; k < sources_.size(); ++k)
      if (sources_[k].node == node) return k;
    return npos;
  }

  void reject(const std::string& why) {
    if (++counters_.rejected <= 10 || counters_.rejected % 1000 == 0)
      std::fprintf(stderr, "%s: rejected message %llu: %s\n", net_.nodes()[node_index_]->name.c_str(),
                   static_cast<unsigned long long>(counters_.rejected), why.c_str());
  }

  // Receives one [identity, payload] message on the ROUTER and answers it.
  void handle_one() {
    std::vector<zmq::message_t> frames = receive_routed(router_);
    if (frames.size() != 2) return reject(std::to_string(frames.size()) + " frames (expected identity and payload)");
    Message m;
    try {
      m = decode(frames[1].data(), frames[1].size(), deployment_.max_message_bytes);
    } catch (const FormatError& e) {
      return reject(e.what());
    }
    std::string reply;
    if (m.type == MessageType::stats_request) {
      Message s;
      s.type = MessageType::stats;
      s.text = stats_text();
      reply = encode(s);
    } else if (m.type == MessageType::pull || m.type == MessageType::exit_pull) {
      ++counters_.requests;
      if (m.batch == 0 || m.batch > max_batch) return reject("pull with batch " + std::to_string(m.batch));
      reply = m.type == MessageType::pull ? answer(m) : exit_answer(m);
    } else {
      return reject("unexpected message type " + std::to_string(int(m.type)));
    }
    links_out_.send(router_, frames[0], std::move(reply));
  }

  // The encoded answer to a pull: from the cache, or computed.
  std::string answer(const Message& pull) {
    for (const auto& [request, bytes] : cache_)
      if (request == pull.request && !bytes.empty()) {
        ++counters_.cached;
        return bytes;
      }
    ++counters_.computed;
    std::string bytes = compute(pull);
    cache_[cache_next_] = {pull.request, bytes};
    cache_next_ = (cache_next_ + 1) % cache_.size();
    return bytes;
  }

  // The encoded answer to an exit pull: this node's answer to the same pull (cached or
  // computed) with its exit head's logits in place of its output, or an error.
  std::string exit_answer(const Message& pull) {
    const auto& exits = net_.exits();
    const auto exit = std::find_if(exits.begin(), exits.end(), [&](const auto& e) { return e.node == node_index_; });
    if (exit == exits.end()) return error(pull, "has no early exit");
    ++counters_.exits;
    const std::string bytes = answer(pull);
    Message out = decode(bytes.data(), bytes.size(), bytes.size());  // encoded by this node
    if (out.type != MessageType::output) return encode(out);
    try {
      inf_.reset();
      const TensorView<const float> y = exit->head->infer(TensorView<const float>(out.values.data(), out.shape), inf_);
      out.shape = y.shape();
      out.values.assign(y.begin(), y.end());
    } catch (const Error& e) {
      return error(pull, e.what());
    }
    return encode(out);
  }

  // Pulls what node n needs, runs it and encodes the output (or an error message).
  std::string compute(const Message& pull) {
    const std::int64_t start = now_us();
    const std::vector<Link<float>>& links = net_.links();
    const PhysicalNode<float>& node = *net_.nodes()[node_index_];
    replies_.assign(sources_.size(), std::nullopt);
    pulled_.assign(sources_.size(), 0);
    failed_now_.assign(sources_.size(), 0);
    sent_.assign(sources_.size(), 0);
    // Phase 1: every main source, and the skips a sum rule always adds.
    bool fallback = false;  // some mux group fetches its skips only when the main source fails
    std::vector<std::size_t> wanted;
    if (node.inputs.empty()) wanted.push_back(0);
    for (std::size_t l : node.inputs) {
      const Link<float>& link = links[l];
      if (link.kind == LinkKind::main || net_.link_used(l, true)) wanted.push_back(source_slot(link.from));
      if (link.kind == LinkKind::main && net_.group_uses_skips(l, false) && !net_.group_uses_skips(l, true))
        fallback = true;
    }
    const double budget = double(pull.budget_us);
    fetch(wanted, pull, start + std::int64_t(budget * (fallback ? 0.45 : 0.85)));
    // Phase 2: the skips of every mux group whose main source failed.
    wanted.clear();
    for (std::size_t l : node.inputs) {
      const Link<float>& link = links[l];
      if (link.kind == LinkKind::skip && net_.link_used(l, main_alive(l)))
        wanted.push_back(source_slot(link.from));
    }
    fetch(wanted, pull, start + std::int64_t(budget * 0.9));

    Message out;
    out.type = MessageType::output;
    out.request = pull.request;
    out.alive = std::uint64_t(1) << node_index_;
    const Shape batch_input = deployment_.input.prepend(pull.batch);
    TensorView<const float> x(nullptr, batch_input);
    std::vector<TensorView<const float>> outputs(net_.nodes().size());
    for (std::size_t k = 0; k < sources_.size(); ++k) {
      const std::optional<Message>& r = replies_[k];
      if (sources_[k].node == npos) {
        if (!r) return error(pull, "no example arrived from the source " + deployment_.source);
        x = TensorView<const float>(r->values.data(), r->shape);
        out.reached = true;
        continue;
      }
      const std::uint64_t bit = std::uint64_t(1) << sources_[k].node;
      if (!pulled_[k]) continue;
      if (!r) {
        out.dead |= bit;
        continue;
      }
      out.alive |= bit | r->alive;
      out.dead |= r->dead;
      out.delivered |= r->delivered;
      out.pulled |= r->pulled;
      outputs[sources_[k].node] = TensorView<const float>(r->values.data(), r->shape);
    }
    // Links: a pull is booked on the first link from its source; information reaches this
    // node through a delivered, enabled link that its merge uses.
    for (std::size_t l : node.inputs) {
      const std::size_t k = source_slot(links[l].from);
      if (sent_[k] && first_from_source_[l]) out.pulled |= std::uint64_t(1) << l;
      if (!replies_[k]) continue;
      if (first_from_source_[l]) out.delivered |= std::uint64_t(1) << l;
      if (links[l].enabled && net_.link_used(l, main_alive(l)) && replies_[k]->reached) out.reached = true;
    }
    try {
      inf_.reset();
      const TensorView<const float> y = net_.infer_node(node_index_, x, outputs, inf_);
      out.shape = y.shape();
      out.values.assign(y.begin(), y.end());
    } catch (const Error& e) {
      return error(pull, e.what());
    }
    return encode(out);
  }

  std::string error(const Message& pull, const std::string& why) {
    Message e;
    e.type = MessageType::error;
    e.request = pull.request;
    e.text = net_.nodes()[node_index_]->name + ": " + why;
    return encode(e);
  }

  // Pulls the sources in `slots` not pulled yet for this request and waits for their answers
  // until `deadline` (steady-clock microseconds); failures leave replies_[k] empty.
  void fetch(const std::vector<std::size_t>& slots, const Message& pull, std::int64_t deadline) {
    std::vector<std::size_t> pending;
    const std::int64_t window = std::max<std::int64_t>(deadline - now_us(), 0);
    Message p;
    p.type = MessageType::pull;
    p.request = pull.request;
    p.batch = pull.batch;
    p.budget_us = std::uint32_t(double(window) * 0.8);
    const std::string bytes = encode(p);
    for (std::size_t k : slots) {
      if (pulled_[k]) continue;
      pulled_[k] = 1;
      disconnected(k);  // drops events from before this pull
      if (send_now(sources_[k].socket, bytes)) {
        sent_[k] = 1;
        pending.push_back(k);
      } else {
        ++counters_.source_failures;  // not connected: failed at once, nothing sent
      }
    }
    while (!pending.empty()) {
      const std::int64_t left = deadline - now_us();
      if (left <= 0) break;
      std::vector<zmq::pollitem_t> items;
      for (std::size_t k : pending) {
        items.push_back({static_cast<void*>(sources_[k].socket), 0, ZMQ_POLLIN, 0});
        items.push_back({static_cast<void*>(sources_[k].monitor), 0, ZMQ_POLLIN, 0});
      }
      zmq::poll(items.data(), items.size(),
                std::chrono::milliseconds((links_out_.wait_us(std::max<std::int64_t>(1000, left)) + 999) / 1000));
      links_out_.flush(router_);  // answers of earlier requests keep travelling meanwhile
      for (std::size_t i = 0; i < pending.size(); ++i) {
        const std::size_t k = pending[i];
        if (items[2 * i].revents & ZMQ_POLLIN) receive(k, pull);
        if ((items[2 * i + 1].revents & ZMQ_POLLIN) && disconnected(k) && !replies_[k]) {
          failed_now_[k] = 1;  // the source went away while this node waited for it
          ++counters_.source_failures;
        }
      }
      pending.erase(std::remove_if(pending.begin(), pending.end(),
                                   [&](std::size_t k) { return replies_[k].has_value() || failed_now_[k]; }),
                    pending.end());
    }
    counters_.source_failures += pending.size();
  }

  // Reads every answer waiting on source k; keeps the one for `pull`'s request if valid.
  void receive(std::size_t k, const Message& pull) {
    zmq::message_t f;
    while (sources_[k].socket.recv(f, zmq::recv_flags::dontwait)) {
      Message r;
      try {
        r = decode(f.data(), f.size(), deployment_.max_message_bytes);
      } catch (const FormatError& e) {
        reject(std::string("answer from a source: ") + e.what());
        continue;
      }
      if (r.request != pull.request) {
        ++counters_.stale;
        continue;
      }
      const Shape expected = sources_[k].node == npos ? deployment_.input.prepend(pull.batch)
                                                      : shapes_[sources_[k].node].with_leading(pull.batch);
      if (r.type == MessageType::output && r.shape == expected) {
        replies_[k] = std::move(r);
      } else {
        if (r.type == MessageType::output)
          reject("answer of shape " + r.shape.str() + " where " + expected.str() + " belongs");
        failed_now_[k] = 1;
        ++counters_.source_failures;
      }
    }
  }

  static constexpr std::uint32_t max_batch = 1u << 20;

  PartitionedNetwork<float>& net_;
  const Deployment& deployment_;
  std::size_t node_index_;
  CurveSecurity security_;  // before the sockets: they are made with it, and closed before it
  zmq::socket_t router_;
  std::vector<Source> sources_;
  std::vector<Shape> shapes_;
  Inference<float> inf_;
  NodeCounters counters_;
  std::vector<std::optional<Message>> replies_;
  std::vector<std::uint8_t> pulled_, sent_, failed_now_;  // per source, this request
  std::vector<std::uint8_t> first_from_source_;           // per link: the first from its source
  std::array<std::pair<std::uint64_t, std::string>, 64> cache_{};
  std::size_t cache_next_ = 0;
  LinkEmulator links_out_;
};

}  // namespace resilinet::runtime
