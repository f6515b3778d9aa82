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
/// The network is a Module over four pieces, one file each: the topology and its queries
/// (Partition, partition.hpp), its text form (partition_text.hpp), the taped pass (TapedPass,
/// taped_pass.hpp) and tape-free inference (InferencePass, inference_pass.hpp).

#include <memory>
#include <string>
#include <vector>

#include "resilinet/autodiff/elementwise_ops.hpp"
#include "resilinet/autodiff/loss_ops.hpp"
#include "resilinet/core/error.hpp"
#include "resilinet/nn/module.hpp"
#include "resilinet/resilience/inference_pass.hpp"
#include "resilinet/resilience/partition.hpp"
#include "resilinet/resilience/partition_text.hpp"
#include "resilinet/resilience/taped_pass.hpp"

namespace resilinet {

/// A network partitioned over physical nodes; see the file comment.
template <class T>
class PartitionedNetwork : public Module<T> {
 public:
  /// Creates an empty network with the merge rule used at every node input.
  explicit PartitionedNetwork(std::string name, MergeRule rule = MergeRule::sum)
      : Module<T>(std::move(name)), partition_(rule) {}

  /// Adds a physical node; nodes must be added bottom-up (every link goes from an earlier node
  /// to a later one), the first nodes without inputs receive the network input, and the last
  /// node added is the output (cloud). Returns the node so its layers can be filled.
  PhysicalNode<T>& add_node(const std::string& name, Tier tier, bool failable = false) {
    PhysicalNode<T>& n = partition_.add_node(name, tier, failable);
    this->register_module(n.layers);
    return n;
  }

  /// Adds a main link `from → to` with weight key `key`; it opens a mux group at `to`.
  void add_main_link(const std::string& from, const std::string& to, const std::string& key) {
    partition_.add_link(from, to, LinkKind::main, key);
  }

  /// Adds a skip hyperconnection `from → to` joining the mux group of the main link coming
  /// from `main_source` into `to`; `transform` (optional) is applied on this link only.
  void add_skip(const std::string& from, const std::string& to, const std::string& key,
                const std::string& main_source, std::unique_ptr<Module<T>> transform = nullptr) {
    Link<T>& l = partition_.add_link(from, to, LinkKind::skip, key, std::move(transform), main_source);
    if (l.transform) this->register_module(*l.transform);
  }

  /// Adds an early exit: `head` classifies node `node`'s output and answers when no path of
  /// live nodes reaches the output (infer, infer_combinations and forward under a mask), and
  /// its softmax cross-entropy times `loss_weight` joins the training loss (training_loss).
  void add_exit(const std::string& node, std::unique_ptr<Module<T>> head, double loss_weight) {
    this->register_module(*partition_.add_exit(node, std::move(head), loss_weight).head);
  }

  /// Sets the order of the failable nodes used by masks, reliabilities and survival vectors
  /// (default: reverse order of addition, i.e. cloud side first for a bottom-up build).
  void set_failure_order(const std::vector<std::string>& names) { partition_.set_failure_order(names); }

  /// Gives failable node k (failure order) failout with survival_rates[k]; an empty vector
  /// removes failout (Vanilla, deepFogGuard). Failout draws from the forward pass's Context.
  void set_failout(const std::vector<double>& survival_rates,
                   FailoutGranularity granularity = FailoutGranularity::per_batch) {
    const auto& order = partition_.failure_order();
    require<ShapeError>(survival_rates.empty() || survival_rates.size() == order.size(), "set_failout: ",
                        survival_rates.size(), " survival rates for ", order.size(), " failable nodes");
    for (std::size_t k = 0; k < order.size(); ++k)
      nodes()[order[k]]->failout = Failout(survival_rates.empty() ? 1.0 : survival_rates[k], granularity);
  }

  /// Enables or disables a skip hyperconnection by key; a disabled skip carries weight 0.
  void set_skip_enabled(const std::string& key, bool enabled) {
    Link<T>& l = partition_.link(partition_.link_index(key));
    require(l.kind == LinkKind::skip, "set_skip_enabled: link '", key, "' is a main link");
    l.enabled = enabled;
    if (!enabled) l.weight = 0.0;
  }

  /// Sets the fixed weight of the link named `key` (a disabled skip stays at 0).
  void set_weight(const std::string& key, double weight) {
    Link<T>& l = partition_.link(partition_.link_index(key));
    l.weight = l.enabled ? weight : 0.0;
  }

  /// Records the forward pass (TapedPass): failout draws from ctx.rng() when training, all
  /// nodes alive when inferring; every pass records the same ops, so steps reuse the tape.
  Var<T> forward(Var<T> x, Context<T>& ctx) override {
    require_nodes();
    return pass_.run(partition_, x, nullptr, ctx);
  }

  /// The output's softmax cross-entropy plus each exit head's, weighted by its loss weight,
  /// from the last forward pass (`output` is its result).
  Var<T> training_loss(Var<T> output, const std::vector<int>& labels, const std::vector<T>& class_weights) override {
    require(pass_.exit_outputs().size() == partition_.exits().size(), "training_loss: the last forward pass ran ",
            pass_.exit_outputs().size(), " exit heads but the network has ", partition_.exits().size(),
            "; call forward() first");
    Var<T> loss = softmax_cross_entropy(output, labels, class_weights);
    for (std::size_t e = 0; e < partition_.exits().size(); ++e) {
      const double w = partition_.exits()[e].loss_weight;
      if (w > 0) loss = add(loss, multiply(softmax_cross_entropy(pass_.exit_outputs()[e], labels, class_weights), T(w)));
    }
    return loss;
  }

  /// Records the forward pass with the failable nodes failed as `mask` says (failure order)
  /// and returns the network's answer (the answering exit's when no information reaches the
  /// output); failout is not applied.
  Var<T> forward(Var<T> x, const FailureMask& mask, Context<T>& ctx) {
    partition_.check_mask(mask, "forward");
    require_nodes();
    return pass_.run(partition_, x, &mask, ctx);
  }

  /// The inference output with every node alive, without a tape (see the masked overload).
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf) const override {
    require_batch(x, "infer");
    return InferencePass<T>(partition_, inf).run(x, nullptr);
  }

  /// The answer with the failable nodes failed as `mask` says (failure order; the answering
  /// exit's when no information reaches the output), without a tape (InferencePass); equals
  /// forward(x, mask, ctx) in inference mode. Call through Inference::run(net, x, mask).
  TensorView<const T> infer(TensorView<const T> x, Inference<T>& inf, const FailureMask& mask) const {
    partition_.check_mask(mask, "infer");
    require_batch(x, "infer");
    return InferencePass<T>(partition_, inf).run(x, &mask);
  }

  /// Node n's output in tape-free inference from the outputs of the nodes before it
  /// (`outputs[m]` without data: m failed, or was not fetched because no mux group of n needs
  /// it, see group_uses_main/skips). Input nodes read `x`; other nodes use only its shape
  /// (batch size, example shape), so they may pass a view without data. A node of a
  /// distributed deployment runs exactly this (runtime/node_server.hpp).
  TensorView<const T> infer_node(std::size_t n, TensorView<const T> x,
                                 const std::vector<TensorView<const T>>& outputs,
                                 Inference<T>& inf) const {
    require(n < nodes().size(), "infer_node: node ", n, " of ", nodes().size());
    require<ShapeError>(outputs.size() == nodes().size(), "infer_node: ", outputs.size(),
                        " outputs for ", nodes().size(), " nodes");
    return InferencePass<T>(partition_, inf).node(n, x, outputs);
  }

  /// Every node's output shape for a batch of one `example` (shape with a leading 1), from
  /// an all-alive pass on zeros the first time (and after the structure changes), memoised in
  /// `inf`; the pass takes buffers from `inf`, so call it before taking outputs you keep.
  const std::vector<Shape>& node_output_shapes(const Shape& example, Inference<T>& inf) const {
    return InferencePass<T>(partition_, inf).node_output_shapes(example);
  }

  /// Runs every failure combination on one inference batch without a tape, sharing work
  /// between them (InferencePass::combinations), and calls `visit(mask, logits)` once for
  /// each combination with an answer (answers(mask); all-alive first); the logits equal those of
  /// infer(x, inf, mask), and so of forward(x, mask, ctx), and stay valid only during the call.
  template <class Visit>
  void infer_combinations(TensorView<const T> x, Inference<T>& inf, Visit&& visit) const {
    require_batch(x, "infer_combinations");
    InferencePass<T>(partition_, inf).combinations(x, std::forward<Visit>(visit));
  }

  /// The topology and its queries (mux groups, liveness, reachability).
  const Partition<T>& partition() const { return partition_; }

  /// Whether the mux group of main link m passes on its main input at inference (Partition).
  bool group_uses_main(std::size_t m, bool main_alive) const { return partition_.group_uses_main(m, main_alive); }

  /// Whether the mux group of main link m needs its skip inputs at inference (Partition).
  bool group_uses_skips(std::size_t m, bool main_alive) const { return partition_.group_uses_skips(m, main_alive); }

  /// The main link whose mux group link l belongs to (l itself for a main link).
  std::size_t group_of(std::size_t l) const { return partition_.group_of(l); }

  /// Whether the merge passes on what link l delivers, given whether the main source of its
  /// mux group is alive.
  bool link_used(std::size_t l, bool main_alive) const { return partition_.link_used(l, main_alive); }

  /// True when a path of alive nodes and enabled links leads from an input node to the output.
  bool has_information_flow(const FailureMask& mask) const { return partition_.has_information_flow(mask); }

  /// The exit answering under `mask` (index into exits()), or Partition::npos when the output
  /// answers or nothing does (Partition::answering_exit).
  std::size_t answering_exit(const FailureMask& mask) const { return partition_.answering_exit(mask); }

  /// True when the network answers under `mask`: information reaches the output or an exit.
  bool answers(const FailureMask& mask) const {
    return has_information_flow(mask) || answering_exit(mask) != Partition<T>::npos;
  }

  /// The early exits in order of addition.
  const std::vector<ExitHead<T>>& exits() const { return partition_.exits(); }

  /// The physical nodes in order of addition.
  const std::vector<std::unique_ptr<PhysicalNode<T>>>& nodes() const { return partition_.nodes(); }

  /// Every link in order of addition.
  const std::vector<Link<T>>& links() const { return partition_.links(); }

  /// Node indices of the failable nodes in failure order.
  const std::vector<std::size_t>& failure_order() const { return partition_.failure_order(); }

  /// Number of failable nodes.
  std::size_t num_failable() const { return partition_.num_failable(); }

  /// The merge rule used at every node input.
  MergeRule merge_rule() const { return partition_.merge_rule(); }

  /// Index of the node called `name` (throws when there is none).
  std::size_t index_of(const std::string& name) const { return partition_.index_of(name); }

  /// The whole description as text (partition_text.hpp): the merge rule, every node (tier,
  /// failable, failout), the input slots of input nodes, every link (endpoints, kind, mux
  /// group, transform, weight, enabled) and the failure order. Model files store it, so a
  /// loaded model scores with exactly the hyperconnection weights it was trained with.
  std::string describe() const override { return describe_partition(partition_); }

  /// Checks that `description` was made by a network built like this one (same merge rule,
  /// nodes, links, transforms and failure order; FormatError naming the first difference);
  /// with `apply` adopts its link weights, enabled flags and failout settings.
  void configure(const std::string& description, bool apply) override {
    configure_partition(partition_, description, apply, this->name());
  }

  /// The "dropout-like failout" option of the reference (off by default): scales the last
  /// parameterised layer of every failable node by the node's survival rate, as dropout does
  /// at inference. Call once, after training.
  void apply_dropout_like_failout() {
    for (std::size_t n : failure_order()) {
      PhysicalNode<T>& node = *nodes()[n];
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
  void require_nodes() const {
    require(!nodes().empty(), "PartitionedNetwork '", this->name(), "' has no nodes");
  }

  void require_batch(TensorView<const T> x, const char* what) const {
    require_nodes();
    require<ShapeError>(x.rank() >= 1 && x.shape()[0] > 0, what, ": needs a non-empty batch, got ", x.shape());
  }

  Partition<T> partition_;
  TapedPass<T> pass_;
};

}  // namespace resilinet
