#pragma once
/// \file
/// Partition<T>: the topology of a partitioned network — physical nodes, main links, skip
/// hyperconnections, mux groups, the failure order — and every question about it (which node
/// is alive under a mask, which inputs a mux group passes on, whether information flows).
///
/// A node's input is the sum of its *mux groups*: each main link into the node opens a group,
/// and each skip hyperconnection joins the group of a named main link. The MergeRule decides
/// how a group combines its main input with its skip inputs; effective_rule() is the one
/// place that says which rule applies in training and in inference. The two executions over
/// a partition are TapedPass (training, taped inference) and InferencePass (tape-free).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

/// An early exit: a small classifier on one node's output that answers when no path of live
/// nodes reaches the output node (instead of a random guess), as DDNN's local exits do.
template <class T>
struct ExitHead {
  /// Index of the node whose output the head reads.
  std::size_t node = 0;
  /// The classifier (its output: logits like the network's).
  std::unique_ptr<Module<T>> head;
  /// Weight of the head's loss in the training loss (the output's loss has weight 1).
  double loss_weight = 1.0;
};

/// The nodes, links, exits and failure order of a partitioned network; see the file comment.
template <class T>
class Partition {
 public:
  /// Index meaning "none" (no such node, not failable).
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// Creates an empty partition with the merge rule used at every node input.
  explicit Partition(MergeRule rule = MergeRule::sum) : rule_(rule) {}

  /// Adds a physical node; nodes must be added bottom-up (every link goes from an earlier node
  /// to a later one), the first nodes without inputs receive the network input, and the last
  /// node added is the output (cloud). Returns the node so its layers can be filled.
  PhysicalNode<T>& add_node(const std::string& name, Tier tier, bool failable) {
    require(find(name) == npos, "PartitionedNetwork: duplicate node name '", name, "'");
    nodes_.push_back(std::make_unique<PhysicalNode<T>>(name, tier, failable));
    if (failable) failure_order_.insert(failure_order_.begin(), nodes_.size() - 1);
    index_failures();
    return *nodes_.back();
  }

  /// Adds a link `from → to` with weight key `key`: a main link opens a mux group at `to`, a
  /// skip joins the group of the main link coming from `main_source`. Returns the link.
  Link<T>& add_link(const std::string& from, const std::string& to, LinkKind kind, const std::string& key,
                    std::unique_ptr<Module<T>> transform = nullptr, const std::string& main_source = "") {
    const std::size_t src = index_of(from), dst = index_of(to);
    require(src < dst, "PartitionedNetwork: link '", key, "' must go from an earlier node to a ",
            "later one ('", from, "' -> '", to, "')");
    for (const Link<T>& l : links_)
      require(l.key != key, "PartitionedNetwork: duplicate link key '", key, "'");
    std::size_t group = links_.size();
    if (kind == LinkKind::skip) {
      const std::size_t main = index_of(main_source);
      group = npos;
      for (std::size_t l : nodes_[dst]->inputs)
        if (links_[l].kind == LinkKind::main && links_[l].from == main) group = l;
      require(group != npos, "PartitionedNetwork: no main link '", main_source, "' -> '", to,
              "' for skip '", key, "' to join");
    }
    Link<T> link;
    link.from = src;
    link.to = dst;
    link.kind = kind;
    link.key = key;
    link.group = group;
    link.transform = std::move(transform);
    links_.push_back(std::move(link));
    nodes_[dst]->inputs.push_back(links_.size() - 1);
    return links_.back();
  }

  /// Adds an early exit reading node `name`'s output (not the output node's; one per node)
  /// with `loss_weight` (finite, ≥ 0) in the training loss. Returns the exit.
  ExitHead<T>& add_exit(const std::string& name, std::unique_ptr<Module<T>> head, double loss_weight) {
    const std::size_t n = index_of(name);
    require(head != nullptr, "PartitionedNetwork: exit at '", name, "' has no head");
    require(n + 1 < nodes_.size(), "PartitionedNetwork: node '", name, "' is the output; an exit ",
            "must read a node below it");
    require(std::isfinite(loss_weight) && loss_weight >= 0, "PartitionedNetwork: exit loss weight must be ",
            "finite and >= 0, got ", loss_weight);
    for (const ExitHead<T>& e : exits_)
      require(e.node != n, "PartitionedNetwork: node '", name, "' already has an exit");
    ExitHead<T> e;
    e.node = n;
    e.head = std::move(head);
    e.loss_weight = loss_weight;
    exits_.push_back(std::move(e));
    return exits_.back();
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

  /// Link `l`, to change its weight or enabled flag.
  Link<T>& link(std::size_t l) { return links_[l]; }

  /// Index of the link named `key` (throws when there is none).
  std::size_t link_index(const std::string& key) const {
    for (std::size_t i = 0; i < links_.size(); ++i)
      if (links_[i].key == key) return i;
    throw ValueError("PartitionedNetwork: no link with key '" + key + "'");
  }

  /// The physical nodes in order of addition.
  const std::vector<std::unique_ptr<PhysicalNode<T>>>& nodes() const { return nodes_; }

  /// Every link in order of addition.
  const std::vector<Link<T>>& links() const { return links_; }

  /// The early exits in order of addition.
  const std::vector<ExitHead<T>>& exits() const { return exits_; }

  /// Node indices of the failable nodes in failure order.
  const std::vector<std::size_t>& failure_order() const { return failure_order_; }

  /// Position of node n in the failure order (npos when n cannot fail).
  std::size_t failure_position(std::size_t n) const { return failure_index_[n]; }

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

  /// Throws ShapeError "<what>: failure mask of N bits for M failable nodes" unless `mask`
  /// has one bit per failable node.
  void check_mask(const FailureMask& mask, const char* what) const {
    require<ShapeError>(mask.size() == failure_order_.size(), what, ": failure mask of ",
                        mask.size(), " bits for ", failure_order_.size(), " failable nodes");
  }

  /// Whether node n is alive under `mask` (failure order; a node that cannot fail always is).
  bool node_alive(const FailureMask& mask, std::size_t n) const {
    return failure_index_[n] == npos || mask[failure_index_[n]];
  }

  /// The failure mask (failure order) in which each failable node n is alive when `alive(n)`.
  template <class Alive>
  FailureMask mask_of(Alive&& alive) const {
    FailureMask mask(failure_order_.size());
    for (std::size_t k = 0; k < mask.size(); ++k) mask[k] = alive(failure_order_[k]) ? 1 : 0;
    return mask;
  }

  /// One value per node from one per failable node (failure order); the others get `rest`.
  std::vector<double> per_node(const std::vector<double>& per_failable, double rest) const {
    require<ShapeError>(per_failable.size() == failure_order_.size(), "per_node: ", per_failable.size(),
                        " values for ", failure_order_.size(), " failable nodes");
    std::vector<double> out(nodes_.size(), rest);
    for (std::size_t k = 0; k < per_failable.size(); ++k) out[failure_order_[k]] = per_failable[k];
    return out;
  }

  /// The rule the mux groups apply in training or inference: mux_legacy sums while training
  /// and muxes at inference; every other rule is the same in both. Both executions ask this.
  MergeRule effective_rule(bool training) const {
    if (rule_ != MergeRule::mux_legacy) return rule_;
    return training ? MergeRule::sum : MergeRule::mux;
  }

  /// True when a skip hyperconnection joins the mux group of main link m.
  bool group_has_skips(std::size_t m) const {
    for (std::size_t l : nodes_[links_[m].to]->inputs)
      if (links_[l].kind == LinkKind::skip && links_[l].group == m) return true;
    return false;
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

  /// Per node, whether a path of alive nodes and enabled links leads to it from an input node.
  std::vector<std::uint8_t> reached(const FailureMask& mask) const {
    check_mask(mask, "reached");
    std::vector<std::uint8_t> out(nodes_.size(), 0);
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (!node_alive(mask, n)) continue;
      if (nodes_[n]->inputs.empty()) out[n] = 1;
      for (std::size_t l : nodes_[n]->inputs)
        if (links_[l].enabled && out[links_[l].from]) out[n] = 1;
    }
    return out;
  }

  /// True when a path of alive nodes and enabled links leads from an input node to the output.
  bool has_information_flow(const FailureMask& mask) const {
    return !nodes_.empty() && reached(mask).back();
  }

  /// The exit that answers under `mask`: npos when information flows to the output (it
  /// answers) or no exit's node is reached, else the reached exit on the deepest node.
  std::size_t answering_exit(const FailureMask& mask) const {
    if (exits_.empty()) return npos;
    const std::vector<std::uint8_t> r = reached(mask);
    if (r.back()) return npos;
    std::size_t best = npos;
    for (std::size_t e = 0; e < exits_.size(); ++e)
      if (r[exits_[e].node] && (best == npos || exits_[e].node > exits_[best].node)) best = e;
    return best;
  }

 private:
  std::size_t find(const std::string& name) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i]->name == name) return i;
    return npos;
  }

  void index_failures() {
    failure_index_.assign(nodes_.size(), npos);
    for (std::size_t k = 0; k < failure_order_.size(); ++k) failure_index_[failure_order_[k]] = k;
  }

  MergeRule rule_;
  std::vector<std::unique_ptr<PhysicalNode<T>>> nodes_;
  std::vector<Link<T>> links_;
  std::vector<ExitHead<T>> exits_;
  std::vector<std::size_t> failure_order_;
  std::vector<std::size_t> failure_index_;  // node index -> position in failure_order_
};

}  // namespace resilinet
