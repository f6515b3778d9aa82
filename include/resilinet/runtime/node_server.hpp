#pragma once
/// \file
/// NodeServer: one physical node of a PartitionedNetwork<float> served over ZeroMQ.
///
/// Requests flow by *pulling*: whoever wants a node's output for request r sends it a pull
/// (over a DEALER to the node's ROUTER); the node pulls what its merge needs from its sources
/// (an input node pulls the example from the deployment's source, or its input slots from the
/// sensors that serve them, and assembles them), runs its layers with the
/// tape-free inference path (PartitionedNetwork::infer_node) and answers. Links point from
/// earlier nodes to later ones, so pulls never wait in a cycle.
///
/// Many requests in flight: the node never blocks on its sources. Each pulled request is a
/// job (its sources' answers, its deadline, who waits for it); one loop polls the consumers'
/// pulls, the sources' answers and the deadlines, and computes a job as soon as its sources
/// answered or its phase's deadline passed. So a node computes request r while its sources
/// compute r+1, and sources' answers are matched to jobs by request id, in any order.
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

#include <unistd.h>
#include <zmq.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
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
    const auto add_source = [&](std::size_t from, const std::string& server, const std::string& endpoint,
                                const DeployedSensor* sensor) {
      // A monitor reports the source's connection dropping, so a source that dies while this
      // node waits for it fails at once instead of at the deadline.
      zmq::socket_t dealer = connect_dealer(zctx, security_, server, endpoint, deployment_.max_message_bytes, node);
      const std::string address = "inproc://monitor-" + std::to_string(sources_.size());
      zmq_socket_monitor(dealer.handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED);
      zmq::socket_t monitor(zctx, zmq::socket_type::pair);
      monitor.set(zmq::sockopt::linger, 0);
      monitor.connect(address);
      sources_.push_back({from, std::move(dealer), std::move(monitor), sensor});
    };
    first_from_source_.assign(net_.links().size(), 0);
    const std::vector<std::size_t>& slots = net_.nodes()[node_index_]->input_slots;
    if (net_.nodes()[node_index_]->inputs.empty() && deployment_.sensors.empty()) {
      add_source(npos, "client", deployment_.source, nullptr);
    } else if (net_.nodes()[node_index_]->inputs.empty()) {
      require(!slots.empty(), "node '", node, "' takes the whole input, but the deployment's sensors serve ",
              "slots of it; drop the sensor lines");
      for (std::size_t slot : slots) {
        const auto& sensors = deployment_.sensors;
        const auto serves = [&](const DeployedSensor& d) { return std::count(d.slots.begin(), d.slots.end(), slot) > 0; };
        const auto sensor = std::find_if(sensors.begin(), sensors.end(), serves);
        require(sensor != sensors.end(), "node '", node, "' takes input slot ", slot, " but no sensor serves it");
        if (std::none_of(sources_.begin(), sources_.end(), [&](const Source& s) { return s.sensor == &*sensor; }))
          add_source(npos, sensor->name, sensor->endpoint, &*sensor);
      }
    } else {
      for (std::size_t l : net_.nodes()[node_index_]->inputs) {
        const std::size_t from = net_.links()[l].from;
        if (source_slot(from) != npos) continue;
        add_source(from, net_.nodes()[from]->name, deployment_.node(net_.nodes()[from]->name).endpoint, nullptr);
        first_from_source_[l] = 1;  // pulls and deliveries are booked on this link
      }
    }
  }

  /// Serves until `*stop` is non-zero (checked at least every 100 ms).
  void serve(const volatile int* stop) {
    std::vector<zmq::pollitem_t> items;
    while (!*stop) {
      items.assign(1, {static_cast<void*>(router_), 0, ZMQ_POLLIN, 0});
      for (Source& s : sources_) {
        items.push_back({static_cast<void*>(s.socket), 0, ZMQ_POLLIN, 0});
        items.push_back({static_cast<void*>(s.monitor), 0, ZMQ_POLLIN, 0});
      }
      std::int64_t wait = links_out_.wait_us(100000);
      const std::int64_t now = now_us();
      for (const auto& [request, job] : jobs_) wait = std::min(wait, std::max<std::int64_t>(job.deadline - now, 0));
      poll_until_signal(items.data(), items.size(), std::chrono::milliseconds((wait + 999) / 1000));
      links_out_.flush(router_);
      for (std::size_t k = 0; k < sources_.size(); ++k) {
        if (items[1 + 2 * k].revents & ZMQ_POLLIN) receive(k);
        if ((items[2 + 2 * k].revents & ZMQ_POLLIN) && disconnected(k)) dropped(k);
      }
      if (items[0].revents & ZMQ_POLLIN)
        while (handle_one()) {
        }
      advance();
    }
  }

  /// What the node counted so far.
  const NodeCounters& counters() const { return counters_; }

  /// The counters as the stats answer's text (with the process id, by which a launcher knows
  /// that the process it started answers, not another one on the same endpoint).
  std::string stats_text() const {
    return "node=" + net_.nodes()[node_index_]->name + " requests=" + std::to_string(counters_.requests) +
           " computed=" + std::to_string(counters_.computed) + " cached=" + std::to_string(counters_.cached) +
           " rejected=" + std::to_string(counters_.rejected) +
           " source_failures=" + std::to_string(counters_.source_failures) + " stale=" + std::to_string(counters_.stale) + " exits=" + std::to_string(counters_.exits) +
           " lost=" + std::to_string(links_out_.lost()) + " refused=" + std::to_string(security_.refused()) +
           " pid=" + std::to_string(::getpid());
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  struct Source {
    std::size_t node;  // npos: the deployment's example source, or a sensor
    zmq::socket_t socket;
    zmq::socket_t monitor;          // disconnection events of `socket`
    const DeployedSensor* sensor;  // the sensor, or null
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

  // One request this node is computing: who waits for it, and what its sources answered.
  struct Job {
    Message pull;  // the first pull (request, batch, budget)
    std::vector<std::pair<zmq::message_t, bool>> waiters;  // routing id, and whether it asked the exit
    std::int64_t start = 0, deadline = 0;
    int phase = 1;  // 1: main sources (and a sum rule's skips); 2: skips of failed mains
    std::vector<std::optional<Message>> replies;
    std::vector<std::uint8_t> pulled, sent;  // per source
    std::vector<std::size_t> pending;        // sources pulled and not yet answered or failed
  };

  // Whether the main source of link l's mux group answered `job`.
  bool main_alive(const Job& job, std::size_t l) const {
    return job.replies[source_slot(net_.links()[net_.group_of(l)].from)].has_value();
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

  // Receives one [identity, payload] message on the ROUTER and answers it, or starts (or
  // joins) the job that will; false when none was waiting.
  bool handle_one() {
    std::vector<zmq::message_t> frames = receive_routed(router_);
    if (frames.empty()) return false;
    if (frames.size() != 2) {
      reject(std::to_string(frames.size()) + " frames (expected identity and payload)");
      return true;
    }
    Message m;
    try {
      m = decode(frames[1].data(), frames[1].size(), deployment_.max_message_bytes);
    } catch (const FormatError& e) {
      reject(e.what());
      return true;
    }
    if (m.type == MessageType::stats_request) {
      Message s;
      s.type = MessageType::stats;
      s.text = stats_text();
      links_out_.send(router_, frames[0], encode(s));
    } else if (m.type == MessageType::pull || m.type == MessageType::exit_pull) {
      ++counters_.requests;
      if (m.batch == 0 || m.batch > max_batch) {
        reject("pull with batch " + std::to_string(m.batch));
        return true;
      }
      pulled(m, frames[0]);
    } else {
      reject("unexpected message type " + std::to_string(int(m.type)));
    }
    return true;
  }

  // A pull or exit pull from `who`: answered from the cache, joined to the job already
  // computing its request, or a new job.
  void pulled(const Message& pull, zmq::message_t& who) {
    const bool exit = pull.type == MessageType::exit_pull;
    if (exit && !exit_head()) {
      links_out_.send(router_, who, error(pull, "has no early exit"));
      return;
    }
    counters_.exits += exit;
    for (const auto& [request, bytes] : cache_)
      if (request == pull.request && !bytes.empty()) {
        ++counters_.cached;
        links_out_.send(router_, who, exit ? exit_answer(pull, bytes) : bytes);
        return;
      }
    if (const auto it = jobs_.find(pull.request); it != jobs_.end()) {
      ++counters_.cached;  // computed once, for every consumer
      it->second.waiters.emplace_back(std::move(who), exit);
      return;
    }
    if (jobs_.size() >= max_jobs) {
      links_out_.send(router_, who, error(pull, "has " + std::to_string(max_jobs) + " requests in flight"));
      return;
    }
    ++counters_.computed;
    Job& job = jobs_[pull.request];
    job.pull = pull;
    job.waiters.emplace_back(std::move(who), exit);
    job.start = now_us();
    job.replies.assign(sources_.size(), std::nullopt);
    job.pulled.assign(sources_.size(), 0);
    job.sent.assign(sources_.size(), 0);
    // Phase 1: every main source, and the skips a sum rule always adds.
    bool fallback = false;  // some mux group fetches its skips only when the main source fails
    std::vector<std::size_t> wanted;
    const PhysicalNode<float>& node = *net_.nodes()[node_index_];
    if (node.inputs.empty())
      for (std::size_t k = 0; k < sources_.size(); ++k) wanted.push_back(k);  // the source, or the sensors
    for (std::size_t l : node.inputs) {
      const Link<float>& link = net_.links()[l];
      if (link.kind == LinkKind::main || net_.link_used(l, true)) wanted.push_back(source_slot(link.from));
      if (link.kind == LinkKind::main && net_.group_uses_skips(l, false) && !net_.group_uses_skips(l, true))
        fallback = true;
    }
    fetch(job, wanted, job.start + std::int64_t(double(pull.budget_us) * (fallback ? 0.45 : 0.85)));
  }

  // This node's exit head, or null.
  const Module<float>* exit_head() const {
    for (const auto& e : net_.exits())
      if (e.node == node_index_) return e.head.get();
    return nullptr;
  }

  // The encoded answer to an exit pull, from the node's encoded answer `bytes` to the same
  // request: its exit head's logits in place of its output (an error stays an error).
  std::string exit_answer(const Message& pull, const std::string& bytes) {
    Message out = decode(bytes.data(), bytes.size(), bytes.size());  // encoded by this node
    if (out.type != MessageType::output) return bytes;
    try {
      inf_.reset();
      const TensorView<const float> y = exit_head()->infer(TensorView<const float>(out.values.data(), out.shape), inf_);
      out.shape = y.shape();
      out.values.assign(y.begin(), y.end());
    } catch (const Error& e) {
      return error(pull, e.what());
    }
    return encode(out);
  }

  // Moves every job whose sources all answered, or whose phase deadline passed, on: to its
  // second phase, or to computing and answering (in request order).
  void advance() {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      Job& job = it->second;
      while (job.phase < 3 && (job.pending.empty() || now_us() >= job.deadline)) {
        counters_.source_failures += job.pending.size();  // late
        job.pending.clear();
        if (job.phase++ == 2) break;
        // Phase 2: the skips of every mux group whose main source failed.
        std::vector<std::size_t> wanted;
        for (std::size_t l : net_.nodes()[node_index_]->inputs) {
          const Link<float>& link = net_.links()[l];
          if (link.kind == LinkKind::skip && net_.link_used(l, main_alive(job, l)))
            wanted.push_back(source_slot(link.from));
        }
        fetch(job, wanted, job.start + std::int64_t(double(job.pull.budget_us) * 0.9));
      }
      if (job.phase < 3) {
        ++it;
        continue;
      }
      const std::string bytes = compute(job);
      cache_[cache_next_] = {job.pull.request, bytes};
      cache_next_ = (cache_next_ + 1) % cache_.size();
      for (auto& [who, exit] : job.waiters) links_out_.send(router_, who, exit ? exit_answer(job.pull, bytes) : bytes);
      it = jobs_.erase(it);
    }
  }

  // Runs this node on what `job`'s sources answered and encodes the output (or an error).
  std::string compute(const Job& job) {
    const Message& pull = job.pull;
    const std::vector<Link<float>>& links = net_.links();
    const PhysicalNode<float>& node = *net_.nodes()[node_index_];
    Message out;
    out.type = MessageType::output;
    out.request = pull.request;
    out.alive = std::uint64_t(1) << node_index_;
    const Shape batch_input = deployment_.input.prepend(pull.batch);
    TensorView<const float> x(nullptr, batch_input);
    std::vector<TensorView<const float>> outputs(net_.nodes().size());
    for (std::size_t k = 0; k < sources_.size(); ++k) {
      const std::optional<Message>& r = job.replies[k];
      if (sources_[k].node == npos) {
        const DeployedSensor* sensor = sources_[k].sensor;
        if (!r) return error(pull, sensor ? "no frame arrived from the sensor " + sensor->name
                                          : "no example arrived from the source " + deployment_.source);
        if (sensor) {
          place_slots(*sensor, *r, batch_input);
          x = TensorView<const float>(frame_.data(), batch_input);
        } else {
          x = TensorView<const float>(r->values.data(), r->shape);
        }
        out.reached = true;
        continue;
      }
      const std::uint64_t bit = std::uint64_t(1) << sources_[k].node;
      if (!job.pulled[k]) continue;
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
      if (job.sent[k] && first_from_source_[l]) out.pulled |= std::uint64_t(1) << l;
      if (!job.replies[k]) continue;
      if (first_from_source_[l]) out.delivered |= std::uint64_t(1) << l;
      if (links[l].enabled && net_.link_used(l, main_alive(job, l)) && job.replies[k]->reached) out.reached = true;
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

  // Copies a sensor's answer (batch, its slots, ...) into its slots of frame_, which holds the
  // node's input (`shape`: batch, every slot, ...); the slots of other sensors stay as they are.
  void place_slots(const DeployedSensor& sensor, const Message& answer, const Shape& shape) {
    if (frame_.size() != shape.numel()) frame_.assign(shape.numel(), 0.0f);
    const std::size_t slot_values = shape.numel() / (shape[0] * shape[1]), batch = shape[0];
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < sensor.slots.size(); ++j)
        std::copy_n(answer.values.data() + (b * sensor.slots.size() + j) * slot_values, slot_values,
                    frame_.data() + (b * shape[1] + sensor.slots[j]) * slot_values);
  }

  // The shape of source k's answer to a pull of `batch` examples.
  Shape expected_shape(std::size_t k, std::size_t batch) const {
    if (sources_[k].node != npos) return shapes_[sources_[k].node].with_leading(batch);
    Shape shape = deployment_.input.prepend(batch);
    if (sources_[k].sensor) shape[1] = sources_[k].sensor->slots.size();
    return shape;
  }

  std::string error(const Message& pull, const std::string& why) {
    Message e;
    e.type = MessageType::error;
    e.request = pull.request;
    e.text = net_.nodes()[node_index_]->name + ": " + why;
    return encode(e);
  }

  // Pulls the sources in `slots` that `job` has not pulled yet, to be answered by `deadline`
  // (steady-clock microseconds); a source that cannot be sent to fails at once.
  void fetch(Job& job, const std::vector<std::size_t>& slots, std::int64_t deadline) {
    job.deadline = deadline;
    Message p;
    p.type = MessageType::pull;
    p.request = job.pull.request;
    p.batch = job.pull.batch;
    p.budget_us = std::uint32_t(double(std::max<std::int64_t>(deadline - now_us(), 0)) * 0.8);
    const std::string bytes = encode(p);
    for (std::size_t k : slots) {
      if (job.pulled[k]) continue;
      job.pulled[k] = 1;
      if (disconnected(k)) dropped(k);  // a drop before this pull fails only the earlier ones
      if (send_now(sources_[k].socket, bytes)) {
        job.sent[k] = 1;
        job.pending.push_back(k);
      } else {
        ++counters_.source_failures;  // not connected: failed at once, nothing sent
      }
    }
  }

  // Source k's connection dropped: every job waiting for it fails it.
  void dropped(std::size_t k) {
    for (auto& [request, job] : jobs_) {
      const auto it = std::find(job.pending.begin(), job.pending.end(), k);
      if (it == job.pending.end()) continue;
      job.pending.erase(it);
      ++counters_.source_failures;
    }
  }

  // Reads every answer waiting on source k and gives each to the job waiting for it; an
  // answer no job waits for is stale, one of the wrong shape or an error fails the source.
  void receive(std::size_t k) {
    zmq::message_t f;
    while (sources_[k].socket.recv(f, zmq::recv_flags::dontwait)) {
      Message r;
      try {
        r = decode(f.data(), f.size(), deployment_.max_message_bytes);
      } catch (const FormatError& e) {
        reject(std::string("answer from a source: ") + e.what());
        continue;
      }
      const auto it = jobs_.find(r.request);
      if (it == jobs_.end() || !std::count(it->second.pending.begin(), it->second.pending.end(), k)) {
        ++counters_.stale;
        continue;
      }
      std::vector<std::size_t>& pending = it->second.pending;
      pending.erase(std::find(pending.begin(), pending.end(), k));
      const Shape expected = expected_shape(k, it->second.pull.batch);
      if (r.type == MessageType::output && r.shape == expected) {
        it->second.replies[k] = std::move(r);
      } else {
        if (r.type == MessageType::output)
          reject("answer of shape " + r.shape.str() + " where " + expected.str() + " belongs");
        ++counters_.source_failures;
      }
    }
  }

  static constexpr std::uint32_t max_batch = 1u << 20;
  static constexpr std::size_t max_jobs = 1024;

  PartitionedNetwork<float>& net_;
  const Deployment& deployment_;
  std::size_t node_index_;
  CurveSecurity security_;  // before the sockets: they are made with it, and closed before it
  zmq::socket_t router_;
  std::vector<Source> sources_;
  std::vector<Shape> shapes_;
  Inference<float> inf_;
  NodeCounters counters_;
  std::map<std::uint64_t, Job> jobs_;  // the requests in flight here, by id
  std::vector<float> frame_;           // an input node's input, assembled from its sensors' slots
  std::vector<std::uint8_t> first_from_source_;           // per link: the first from its source
  std::array<std::pair<std::uint64_t, std::string>, 64> cache_{};
  std::size_t cache_next_ = 0;
  LinkEmulator links_out_;
};

}  // namespace resilinet::runtime
