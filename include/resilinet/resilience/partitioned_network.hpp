#pragma once
/// \file
/// PartitionedNetwork<T>: a neural network laid out over physical nodes, described as data.
///
/// A topology is a list of physical nodes (each with its own layers), *main links* from a node
/// to the node above it, and *skip hyperconnections* that jump over nodes. Every link carries
/// a fixed, non-trainable weight and optionally a trainable transform (e.g. the IoT→fog Dense
/// of the health MLP). Training, failure simulation, reachability and the expected-accuracy
/// evaluation all follow from this one description.
///
/// A node's input is the sum of its *mux groups*: each main link into the node opens a group,
/// and each skip hyperconnection joins the group of a named main link. The network's
/// MergeRule decides how a group combines its main input with its skip inputs.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "resilinet/autodiff/elementwise_ops.hpp"
#include "resilinet/autodiff/row_ops.hpp"
#include "resilinet/autodiff/shape_ops.hpp"
#include "resilinet/core/error.hpp"
#include "resilinet/nn/sequential.hpp"
#include "resilinet/resilience/failout.hpp"
#include "resilinet/resilience/failure_mask.hpp"

namespace resilinet {

/// The level of a physical node, from the sensors up.
enum class Tier { iot, edge, fog, cloud };

/// How a mux group combines its main input with its skip hyperconnections.
enum class MergeRule {
  /// Weighted sum of all inputs: Vanilla (main links only), deepFogGuard, and ResiliNet+.
  sum,
  /// ResiliNet's input mux: per example, the main input when the node below is alive, else
  /// the sum of the skip inputs. Decided by the explicit alive state, never by the values.
  mux,
  /// Compatibility with the reference's first version: sum while training, mux at inference.
  mux_legacy,
  /// Compatibility with the reference's final code: main unless the whole batch's main tensor
  /// sums to exactly 0 (misfires on signed or legitimately zero activations).
  mux_batch_sum,
};

/// Whether a link is part of the main chain or a skip hyperconnection.
enum class LinkKind { main, skip };

/// A connection from one physical node's output into another node's input.
template <class T>
struct Link {
  /// Index of the source node.
  std::size_t from = 0;
  /// Index of the destination node.
  std::size_t to = 0;
  /// Main link or skip hyperconnection.
  LinkKind kind = LinkKind::main;
  /// Key naming the weight, as in the paper's code (e.g. "IoTf2", "ef1", "f2c").
  std::string key;
  /// Fixed multiplier applied before merging (0 for a disabled skip).
  double weight = 1.0;
  /// False for a skip hyperconnection switched off by the configuration vector: it stays in the
  /// graph carrying zeros, but information cannot flow through it.
  bool enabled = true;
  /// For a skip: index of the main link whose mux group it joins.
  std::size_t group = 0;
  /// Optional trainable transform applied to the source output on this link only.
  std::unique_ptr<Module<T>> transform;
};

/// One physical node: a name, a tier, whether it can fail, and its layers.
template <class T>
struct PhysicalNode {
  /// Creates a node; its layers start empty and are named after it.
  PhysicalNode(const std::string& node_name, Tier node_tier, bool can_fail)
      : name(node_name), tier(node_tier), failable(can_fail), layers(node_name) {}

  /// Unique name ("edge", "fog2", ...).
  std::string name;
  /// Tier of the node.
  Tier tier = Tier::cloud;
  /// Whether the node can fail (has an alive bit and, in ResiliNet, failout).
  bool failable = false;
  /// The node's layers, applied to its merged input.
  Sequential<T> layers;
  /// Training-time failout of this node (survival 1 = none).
  Failout failout;
  /// Indices of the links entering this node, in the order they were added.
  std::vector<std::size_t> inputs;
  /// For a node without incoming links: the slots of the network input's axis 1 it receives,
  /// summed (e.g. cameras 0 and 1 of a packed (N, 6, H, W, C) batch); empty: the whole input.
  std::vector<std::size_t> input_slots;
};

/// A network partitioned over physical nodes; see the file comment.
template <class T>
class PartitionedNetwork : public Module<T> {
 public:
  /// Creates an empty network with the merge rule used at every node input.
  explicit PartitionedNetwork(std::string name, MergeRule rule = MergeRule::sum)
      : Module<T>(std::move(name)), rule_(rule) {}

  /// Adds a physical node; nodes must be added bottom-up (every link goes from an earlier node
  /// to a later one), the first nodes without inputs receive the network input, and the last
  /// node added is the output (cloud). Returns the node so its layers can be filled.
  PhysicalNode<T>& add_node(const std::string& name, Tier tier, bool failable = false) {
    require(find(name) == npos, "PartitionedNetwork: duplicate node name '", name, "'");
    nodes_.push_back(std::make_unique<PhysicalNode<T>>(name, tier, failable));
    PhysicalNode<T>& n = *nodes_.back();
    this->register_module(n.layers);
    if (failable) failure_order_.insert(failure_order_.begin(), nodes_.size() - 1);
    index_failures();
    return n;
  }

  /// Adds a main link `from → to` with weight key `key`; it opens a mux group at `to`.
  void add_main_link(const std::string& from, const std::string& to, const std::string& key) {
    add_link(from, to, LinkKind::main, key, nullptr, npos);
  }

  /// Adds a skip hyperconnection `from → to` joining the mux group of the main link coming
  /// from `main_source` into `to`; `transform` (optional) is applied on this link only.
  void add_skip(const std::string& from, const std::string& to, const std::string& key,
                    const std::string& main_source,
                    std::unique_ptr<Module<T>> transform = nullptr) {
    const std::size_t dst = index_of(to), src = index_of(main_source);
    std::size_t group = npos;
    for (std::size_t l : nodes_[dst]->inputs)
      if (links_[l].kind == LinkKind::main && links_[l].from == src) group = l;
    require(group != npos, "PartitionedNetwork: no main link '", main_source, "' -> '", to,
            "' for skip '", key, "' to join");
    add_link(from, to, LinkKind::skip, key, std::move(transform), group);
  }

  /// Sets the order of the failable nodes used by masks, reliabilities and survival vectors
  /// (default: reverse order of addition, i.e. cloud side first for a bottom-up build).
  void set_failure_order(const std::vector<std::string>& names) {
    std::vector<std::size_t> order;
    for (const std::string& name : names) {
      const std::size_t i = index_of(name);
      require(nodes_[i]->failable, "PartitionedNetwork: node '", name, "' is not failable");
      require(std::find(order.begin(), order.end(), i) == order.end(),
              "PartitionedNetwork: node '", name, "' listed twice in the failure order");
      order.push_back(i);
    }
    require(order.size() == failure_order_.size(), "PartitionedNetwork: failure order names ",
            order.size(), " nodes but the network has ", failure_order_.size(), " failable");
    failure_order_ = order;
    index_failures();
  }

  /// Gives failable node k (failure order) failout with survival_rates[k]; an empty vector
  /// removes failout (Vanilla, deepFogGuard). Failout draws from the forward pass's Context.
  void set_failout(const std::vector<double>& survival_rates,
                   FailoutGranularity granularity = FailoutGranularity::per_batch) {
    require<ShapeError>(survival_rates.empty() || survival_rates.size() == failure_order_.size(),
                        "set_failout: ", survival_rates.size(), " survival rates for ",
                        failure_order_.size(), " failable nodes");
    for (std::size_t k = 0; k < failure_order_.size(); ++k)
      nodes_[failure_order_[k]]->failout =
          Failout(survival_rates.empty() ? 1.0 : survival_rates[k], granularity);
  }

  /// Enables or disables a skip hyperconnection by key; a disabled skip carries weight 0.
  void set_skip_enabled(const std::string& key, bool enabled) {
    Link<T>& l = links_[link_index(key)];
    require(l.kind == LinkKind::skip, "set_skip_enabled: link '", key, "' is a main link");
    l.enabled = enabled;
    if (!enabled) l.weight = 0.0;
  }

  /// Sets the fixed weight of the link named `key` (a disabled skip stays at 0).
  void set_weight(const std::string& key, double weight) {
    Link<T>& l = links_[link_index(key)];
    l.weight = l.enabled ? weight : 0.0;
  }

  /// Records the forward pass: failout draws from ctx.rng() when training, all nodes alive
  /// when inferring.
  ///
  /// Every pass records the same sequence of ops whatever failout draws (the output of a node
  /// with failout always goes through mask_rows, every link of weight ≠ 1 through its
  /// weight), so a training step reuses every tape node and allocates nothing.
  Var<T> forward(Var<T> x, Context<T>& ctx) override { return run(x, nullptr, ctx); }

  /// Records the forward pass with the failable nodes failed as `mask` says (failure order);
  /// failout is not applied.
  Var<T> forward(Var<T> x, const FailureMask& mask, Context<T>& ctx) {
    require<ShapeError>(mask.size() == failure_order_.size(), "forward: failure mask of ",
                        mask.size(), " bits for ", failure_order_.size(), " failable nodes");
    return run(x, &mask, ctx);
  }

  /// The inference output with every node alive, without a tape (see the masked overload).
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    return infer_nodes(x, inf, nullptr);
  }

  /// The inference output with the failable nodes failed as `mask` says (failure order),
  /// without a tape; equals forward(x, mask, ctx) in inference mode. A failed node's layers
  /// are not run, and a mux group computes only the input it passes on (the main link when
  /// its source is alive, else the skips). Call through Inference::run(net, x, mask).
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf, const FailureMask& mask) const {
    require<ShapeError>(mask.size() == failure_order_.size(), "infer: failure mask of ",
                        mask.size(), " bits for ", failure_order_.size(), " failable nodes");
    return infer_nodes(x, inf, &mask);
  }

  /// Node n's output in tape-free inference from the outputs of the nodes before it
  /// (`outputs[m]` without data: m failed, or was not fetched because no mux group of n needs
  /// it, see group_uses_main/skips). Input nodes read `x`; other nodes use only its shape
  /// (batch size, example shape), so they may pass a view without data. A node of a
  /// distributed deployment runs exactly this (runtime/node_server.hpp).
  TensorView<const T> infer_node(std::size_t n, TensorView<const T> x,
                                 const std::vector<TensorView<const T>>& outputs,
                                 Inference<T>& inf) const {
    require(n < nodes_.size(), "infer_node: node ", n, " of ", nodes_.size());
    require<ShapeError>(outputs.size() == nodes_.size(), "infer_node: ", outputs.size(),
                        " outputs for ", nodes_.size(), " nodes");
    return nodes_[n]->layers.infer(inference_input(n, x, outputs, inf), inf);
  }

  /// Every node's output shape for a batch of one `example` (shape with a leading 1), from
  /// an all-alive pass on zeros the first time (and after the structure changes); the pass
  /// takes buffers from `inf`, so call it before taking outputs you keep.
  const std::vector<Shape>& node_output_shapes(const Shape& example, Inference<T>& inf) const {
    std::size_t structure = links_.size();  // layers added since the shapes were inferred
    for (const auto& node : nodes_) structure += node->layers.size();
    auto& memo = inf.shape_memo();
    if (memo.network == this && example == memo.example && structure == memo.structure) return memo.shapes;
    memo.network = nullptr;
    TensorView<T> zero = inf.buffer(example);
    std::fill(zero.begin(), zero.end(), T(0));
    std::vector<TensorView<const T>>& probe = inf.view_list(nodes_.size());
    for (std::size_t m = 0; m < nodes_.size(); ++m)
      probe[m] = nodes_[m]->layers.infer(inference_input(m, zero, probe, inf), inf);
    memo.shapes.clear();
    for (const auto& v : probe) memo.shapes.push_back(v.shape());
    memo.network = this;
    memo.example = example;
    memo.structure = structure;
    return memo.shapes;
  }

  /// Whether the mux group of main link m passes on its main input at inference, given
  /// whether the main source is alive: always, except under a mux once the source failed.
  bool group_uses_main(std::size_t m, bool main_alive) const {
    return !group_has_skips(m) || effective_rule(false) != MergeRule::mux || main_alive;
  }

  /// Whether the mux group of main link m needs its skip inputs at inference: under a sum
  /// rule always, under a mux only when the main source failed.
  bool group_uses_skips(std::size_t m, bool main_alive) const {
    return group_has_skips(m) && (effective_rule(false) != MergeRule::mux || !main_alive);
  }

  /// The main link whose mux group link l belongs to (l itself for a main link).
  std::size_t group_of(std::size_t l) const {
    return links_[l].kind == LinkKind::main ? l : links_[l].group;
  }

  /// Whether the merge passes on what link l delivers, given whether the main source of its
  /// mux group is alive.
  bool link_used(std::size_t l, bool main_alive) const {
    return links_[l].kind == LinkKind::main ? group_uses_main(l, main_alive)
                                            : group_uses_skips(links_[l].group, main_alive);
  }

  /// Runs every failure combination on one inference batch without a tape, sharing work
  /// between them, and calls `visit(mask, logits)` once for each combination with
  /// information flow (all-alive first); the logits equal those of infer(x, inf, mask), and so
  /// of forward(x, mask, ctx), and stay valid only during the call.
  ///
  /// A depth-first walk over the nodes in order branches alive/dead at each failable node:
  /// a node is computed once per state of the nodes before it instead of once per
  /// combination, a dead node's layers are not run, and nothing after the last failable node
  /// is run for a combination without information flow. Buffers of a finished branch are
  /// handed back (Inference::mark/release), so memory stays that of one pass per depth.
  template <class Visit>
  void infer_combinations(TensorView<const T> x, Inference<T>& inf, Visit&& visit) const {
    require(!nodes_.empty(), "PartitionedNetwork '", this->name(), "' has no nodes");
    require<ShapeError>(x.rank() >= 1 && x.shape()[0] > 0, "infer_combinations: needs a non-empty batch, got ",
                        x.shape());
    std::vector<TensorView<const T>>& out = inf.view_list(nodes_.size());
    FailureMask mask(failure_order_.size(), 1);
    std::size_t after_failable = 0;  // index of the first node after every failable one
    for (std::size_t n = 0; n < nodes_.size(); ++n)
      if (nodes_[n]->failable) after_failable = n + 1;
    std::function<void(std::size_t)> walk = [&](std::size_t n) {
      if (n == after_failable && !has_information_flow(mask)) return;
      if (n == nodes_.size()) {
        visit(static_cast<const FailureMask&>(mask), node_value(n - 1, x, out, inf));
        return;
      }
      const auto mark = inf.mark();
      out[n] = nodes_[n]->layers.infer(inference_input(n, x, out, inf), inf);
      walk(n + 1);
      inf.release(mark);
      if (!nodes_[n]->failable) return;
      const std::size_t k = failure_index_[n];
      mask[k] = 0;
      out[n] = TensorView<const T>();
      walk(n + 1);
      inf.release(mark);
      mask[k] = 1;
    };
    walk(0);
  }

  /// True when a path of alive nodes and enabled links leads from an input node to the output.
  bool has_information_flow(const FailureMask& mask) const {
    require<ShapeError>(mask.size() == failure_order_.size(), "has_information_flow: mask of ",
                        mask.size(), " bits for ", failure_order_.size(), " failable nodes");
    std::vector<std::uint8_t> alive(nodes_.size(), 1), reached(nodes_.size(), 0);
    for (std::size_t k = 0; k < mask.size(); ++k) alive[failure_order_[k]] = mask[k];
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (!alive[n]) continue;
      if (nodes_[n]->inputs.empty()) reached[n] = 1;
      for (std::size_t l : nodes_[n]->inputs)
        if (links_[l].enabled && reached[links_[l].from]) reached[n] = 1;
    }
    return !nodes_.empty() && reached.back();
  }

  /// The physical nodes in order of addition.
  const std::vector<std::unique_ptr<PhysicalNode<T>>>& nodes() const { return nodes_; }

  /// Every link in order of addition.
  const std::vector<Link<T>>& links() const { return links_; }

  /// Node indices of the failable nodes in failure order.
  const std::vector<std::size_t>& failure_order() const { return failure_order_; }

  /// Number of failable nodes.
  std::size_t num_failable() const { return failure_order_.size(); }

  /// The merge rule used at every node input.
  MergeRule merge_rule() const { return rule_; }

  /// Index of the node called `name` (throws when there is none).
  std::size_t index_of(const std::string& name) const {
    const std::size_t i = find(name);
    require(i != npos, "PartitionedNetwork: no node named '", name, "'");
    return i;
  }

  /// The whole description as text, one line per item: the merge rule, every node (tier,
  /// failable, failout survival rate and granularity), the input slots of input nodes, every link (endpoints, kind, mux group,
  /// transform, weight, enabled) and the failure order. Model files store it, so a loaded
  /// model scores with exactly the hyperconnection weights it was trained with.
  std::string describe() const override {
    std::ostringstream out;
    out.precision(17);
    out << "partitioned-network 1\nmerge " << int(rule_) << "\n";
    for (const auto& n : nodes_)
      out << "node " << n->name << " " << int(n->tier) << " " << int(n->failable) << " "
          << n->failout.survival_rate() << " " << int(n->failout.granularity()) << "\n";
    for (const auto& n : nodes_) {
      if (n->input_slots.empty()) continue;
      out << "input " << n->name;
      for (std::size_t slot : n->input_slots) out << " " << slot;
      out << "\n";
    }
    for (const Link<T>& l : links_)
      out << "link " << l.key << " " << nodes_[l.from]->name << " " << nodes_[l.to]->name << " "
          << int(l.kind) << " " << links_[l.group].key << " "
          << (l.transform ? l.transform->name() : "-") << " " << l.weight << " " << int(l.enabled)
          << "\n";
    out << "failure-order";
    for (std::size_t n : failure_order_) out << " " << nodes_[n]->name;
    out << "\n";
    return out.str();
  }

  /// Checks that `description` was made by a network built like this one (same merge rule,
  /// nodes, links, transforms and failure order; FormatError naming the first difference);
  /// with `apply` adopts its link weights, enabled flags and failout settings.
  void configure(const std::string& description, bool apply) override {
    const std::string mine = describe();
    std::istringstream theirs_in(description), mine_in(mine);
    std::string theirs_line, mine_line;
    std::size_t line = 0, node = 0, link = 0;
    while (true) {
      const bool more_theirs = bool(std::getline(theirs_in, theirs_line));
      const bool more_mine = bool(std::getline(mine_in, mine_line));
      if (!more_theirs && !more_mine) break;
      ++line;
      const auto a = split_words(theirs_line), b = split_words(mine_line);
      // Settings a file may carry differently: failout of a node, weight and flag of a link.
      const std::size_t fixed = !b.empty() && b[0] == "node" ? 4 : !b.empty() && b[0] == "link" ? 7 : b.size();
      bool same = a.size() == b.size();
      for (std::size_t k = 0; same && k < fixed; ++k) same = a[k] == b[k];
      require<FormatError>(same, "the saved network differs from '", this->name(), "' at line ",
                           line, ": saved '", quoted(theirs_line, 120), "', built '", mine_line,
                           "'");
      if (b[0] == "node") {
        const double survival = number(a[4], line);
        const double granularity = number(a[5], line);
        require<FormatError>(survival >= 0 && survival <= 1 && (granularity == 0 || granularity == 1),
                             "line ", line, ": failout '", quoted(theirs_line, 120), "' out of range");
        if (apply)
          nodes_[node++]->failout = Failout(survival, FailoutGranularity(int(granularity)));
      } else if (b[0] == "link") {
        const double weight = number(a[7], line);
        require<FormatError>(a[8] == "0" || a[8] == "1", "line ", line, ": enabled flag '",
                             quoted(a[8]), "' is not 0 or 1");
        if (apply) {
          links_[link].weight = weight;
          links_[link++].enabled = a[8] == "1";
        }
      }
    }
  }

  /// The "dropout-like failout" option of the reference (off by default): scales the last
  /// parameterised layer of every failable node by the node's survival rate, as dropout does
  /// at inference. Call once, after training.
  void apply_dropout_like_failout() {
    for (std::size_t n : failure_order_) {
      PhysicalNode<T>& node = *nodes_[n];
      for (std::size_t i = node.layers.size(); i-- > 0;) {
        const auto params = node.layers[i].parameters();
        if (params.empty()) continue;
        for (Parameter<T>* p : params)
          for (T& v : p->mutable_value()) v *= T(node.failout.survival_rate());
        break;
      }
    }
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  std::size_t find(const std::string& name) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i]->name == name) return i;
    return npos;
  }

  /// True when a skip hyperconnection joins the mux group of main link m.
  bool group_has_skips(std::size_t m) const {
    for (std::size_t l : nodes_[links_[m].to]->inputs)
      if (links_[l].kind == LinkKind::skip && links_[l].group == m) return true;
    return false;
  }

  /// The rule the mux groups apply in training or inference: mux_legacy sums while training
  /// and muxes at inference; every other rule is the same in both. Both executions ask this.
  MergeRule effective_rule(bool training) const {
    if (rule_ != MergeRule::mux_legacy) return rule_;
    return training ? MergeRule::sum : MergeRule::mux;
  }

  /// mux_batch_sum's test: true when the batch's main tensor does not sum to exactly 0.
  static bool batch_sum_nonzero(TensorView<const T> main_value) {
    T total = T(0);
    for (T v : main_value) total += v;
    return total != T(0);
  }

  void index_failures() {
    failure_index_.assign(nodes_.size(), npos);
    for (std::size_t k = 0; k < failure_order_.size(); ++k) failure_index_[failure_order_[k]] = k;
  }

  static double number(const std::string& word, std::size_t line) {
    char* end = nullptr;
    const double v = std::strtod(word.c_str(), &end);
    require<FormatError>(!word.empty() && *end == '\0' && std::isfinite(v), "line ", line, ": '",
                         quoted(word), "' is not a number");
    return v;
  }

  static std::vector<std::string> split_words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
  }

  std::size_t link_index(const std::string& key) const {
    for (std::size_t i = 0; i < links_.size(); ++i)
      if (links_[i].key == key) return i;
    throw ValueError("PartitionedNetwork: no link with key '" + key + "'");
  }

  void add_link(const std::string& from, const std::string& to, LinkKind kind,
                    const std::string& key, std::unique_ptr<Module<T>> transform,
                    std::size_t group) {
    const std::size_t src = index_of(from), dst = index_of(to);
    require(src < dst, "PartitionedNetwork: link '", key, "' must go from an earlier node to a ",
            "later one ('", from, "' -> '", to, "')");
    for (const Link<T>& l : links_)
      require(l.key != key, "PartitionedNetwork: duplicate link key '", key, "'");
    Link<T> link;
    link.from = src;
    link.to = dst;
    link.kind = kind;
    link.key = key;
    link.group = kind == LinkKind::main ? links_.size() : group;
    link.transform = std::move(transform);
    if (link.transform) this->register_module(*link.transform);
    links_.push_back(std::move(link));
    nodes_[dst]->inputs.push_back(links_.size() - 1);
  }

  /// Tape-free inference with the nodes failed as `mask` says (nullptr: all alive).
  TensorView<const T> infer_nodes(TensorView<const T> x, Inference<T>& inf, const FailureMask* mask) const {
    require(!nodes_.empty(), "PartitionedNetwork '", this->name(), "' has no nodes");
    require<ShapeError>(x.rank() >= 1 && x.shape()[0] > 0, "infer: needs a non-empty batch, got ",
                        x.shape());
    std::vector<TensorView<const T>>& out = inf.view_list(nodes_.size());
    for (std::size_t n = 0; n < nodes_.size(); ++n)
      if (!nodes_[n]->failable || !mask || (*mask)[failure_index_[n]]) out[n] = infer_node(n, x, out, inf);
    return node_value(nodes_.size() - 1, x, out, inf);
  }

  /// The output of node n for tape-free inference: its computed value, or zeros of its output
  /// shape when it failed (`out[n]` empty).
  TensorView<const T> node_value(std::size_t n, TensorView<const T> x,
                                 const std::vector<TensorView<const T>>& out, Inference<T>& inf) const {
    if (out[n].data()) return out[n];
    const Shape shape = node_output_shapes(x.shape().with_leading(1), inf)[n];
    TensorView<T> zeros = inf.buffer(shape.with_leading(x.shape()[0]));
    std::fill(zeros.begin(), zeros.end(), T(0));
    return zeros;
  }

  /// The weighted (and transformed) value link l delivers in tape-free inference.
  TensorView<const T> inference_link_value(const Link<T>& l, TensorView<const T> x,
                                           const std::vector<TensorView<const T>>& out,
                                           Inference<T>& inf) const {
    TensorView<const T> v = node_value(l.from, x, out, inf);
    if (l.transform) v = l.transform->infer(v, inf);
    if (l.weight == 1.0) return v;
    TensorView<T> y = inf.buffer(v.shape());
    detail::scale_forward(v.data(), T(l.weight), v.size(), y.data());
    return y;
  }

  /// a + b into a new buffer (shapes must agree).
  static TensorView<const T> inference_sum(TensorView<const T> a, TensorView<const T> b,
                                           Inference<T>& inf) {
    require<ShapeError>(a.shape() == b.shape(), "add: shapes ", a.shape(), " and ", b.shape(),
                        " differ");
    TensorView<T> y = inf.buffer(a.shape());
    detail::add_forward(a.data(), b.data(), T(1), y.size(), y.data());
    return y;
  }

  /// The merged input of node n for tape-free inference, as node_input() merges it.
  TensorView<const T> inference_input(std::size_t n, TensorView<const T> x,
                                      const std::vector<TensorView<const T>>& out,
                                      Inference<T>& inf) const {
    const PhysicalNode<T>& node = *nodes_[n];
    TensorView<const T> input;
    if (node.inputs.empty() && node.input_slots.empty()) input = x;
    for (std::size_t slot : node.input_slots) {
      TensorView<T> v = inf.buffer(detail::take_shape(x.shape(), 1, slot));
      detail::take_forward(x.shape(), 1, slot, x.data(), v.data());
      input = input.data() ? inference_sum(input, v, inf) : TensorView<const T>(v);
    }
    for (std::size_t m : node.inputs) {
      if (links_[m].kind != LinkKind::main) continue;
      const TensorView<const T> g = inference_group(m, x, out, inf);
      input = input.data() ? inference_sum(input, g, inf) : g;
    }
    return input;
  }

  /// One mux group in tape-free inference, as merge_group() combines it.
  TensorView<const T> inference_group(std::size_t m, TensorView<const T> x,
                                      const std::vector<TensorView<const T>>& out,
                                      Inference<T>& inf) const {
    const Link<T>& main = links_[m];
    const bool main_alive = out[main.from].data() != nullptr;
    TensorView<const T> main_value;
    if (group_uses_main(m, main_alive)) main_value = inference_link_value(main, x, out, inf);
    if (!group_uses_skips(m, main_alive)) return main_value;
    if (rule_ == MergeRule::mux_batch_sum && batch_sum_nonzero(main_value)) return main_value;
    TensorView<const T> skips;
    for (std::size_t l : nodes_[main.to]->inputs) {
      if (links_[l].kind != LinkKind::skip || links_[l].group != m) continue;
      const TensorView<const T> v = inference_link_value(links_[l], x, out, inf);
      skips = skips.data() ? inference_sum(skips, v, inf) : v;
    }
    return rule_ == MergeRule::sum ? inference_sum(main_value, skips, inf) : skips;
  }

  /// The weighted (and transformed) value a link delivers.
  Var<T> link_value(const Link<T>& l, Context<T>& ctx) {
    Var<T> v = outputs_[l.from];
    if (l.transform) v = l.transform->forward(v, ctx);
    return l.weight == 1.0 ? v : multiply(v, T(l.weight));
  }

  /// Combines one mux group: the main link `m` and the skips that joined it.
  Var<T> merge_group(std::size_t m, Context<T>& ctx) {
    const Link<T>& main = links_[m];
    Var<T> main_value = link_value(main, ctx);
    Var<T> skips;
    for (std::size_t l : nodes_[main.to]->inputs) {
      if (links_[l].kind != LinkKind::skip || links_[l].group != m) continue;
      Var<T> s = link_value(links_[l], ctx);
      skips = skips ? add(skips, s) : s;
    }
    if (!skips) return main_value;
    switch (effective_rule(ctx.training())) {
      case MergeRule::mux:
        return select_rows(alive_[main.from], main_value, skips);
      case MergeRule::mux_batch_sum:
        flags_.assign(main_value.shape()[0], std::uint8_t(batch_sum_nonzero(main_value.value())));
        return select_rows(flags_, main_value, skips);
      default:
        return add(main_value, skips);
    }
  }

  /// The merged input of node `n` (the network input or its slots for an input node).
  Var<T> node_input(std::size_t n, Var<T> x, Context<T>& ctx) {
    const PhysicalNode<T>& node = *nodes_[n];
    Var<T> input;
    if (node.inputs.empty() && node.input_slots.empty()) input = x;
    for (std::size_t slot : node.input_slots) {
      Var<T> v = take(x, 1, slot);
      input = input ? add(input, v) : v;
    }
    for (std::size_t l : node.inputs) {
      if (links_[l].kind != LinkKind::main) continue;
      Var<T> g = merge_group(l, ctx);
      input = input ? add(input, g) : g;
    }
    return input;
  }

  Var<T> run(Var<T> x, const FailureMask* mask, Context<T>& ctx) {
    require(!nodes_.empty(), "PartitionedNetwork '", this->name(), "' has no nodes");
    const std::size_t batch = x.shape().rank() ? x.shape()[0] : 1;
    outputs_.assign(nodes_.size(), Var<T>());
    alive_.resize(nodes_.size());
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      PhysicalNode<T>& node = *nodes_[n];
      outputs_[n] = node.layers.forward(node_input(n, x, ctx), ctx);
      alive_[n].assign(batch, 1);
      if (!node.failable) continue;
      if (mask)
        alive_[n].assign(batch, (*mask)[failure_index_[n]]);
      else if (ctx.training())
        node.failout.sample(ctx.rng(), batch, alive_[n], ctx.shard());
      // Without a mask, a node whose survival rate is 1 is alive in every pass: nothing to mask.
      if (mask || (ctx.training() && node.failout.survival_rate() < 1))
        outputs_[n] = mask_rows(outputs_[n], alive_[n]);
    }
    return outputs_.back();
  }

  MergeRule rule_;
  std::vector<std::unique_ptr<PhysicalNode<T>>> nodes_;
  std::vector<Link<T>> links_;
  std::vector<std::size_t> failure_order_;
  std::vector<std::size_t> failure_index_;  // node index -> position in failure_order_
  std::vector<Var<T>> outputs_;
  std::vector<RowFlags> alive_;
  RowFlags flags_;
};

}  // namespace resilinet
