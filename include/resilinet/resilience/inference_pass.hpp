#pragma once
/// \file
/// InferencePass<T>: tape-free inference over a Partition, with activations in an
/// Inference's buffers. A failed node's layers are not run, and a mux group computes only the
/// input it passes on (the main link when its source is alive, else the skips). It keeps
/// nothing on the partition, so threads may run passes over one partition, each with its own
/// Inference.

#include <algorithm>
#include <functional>
#include <vector>

#include "resilinet/autodiff/elementwise_ops.hpp"
#include "resilinet/autodiff/shape_ops.hpp"
#include "resilinet/nn/inference.hpp"
#include "resilinet/resilience/partition.hpp"
#include "resilinet/resilience/taped_pass.hpp"

namespace resilinet {

/// One tape-free pass (or sweep of passes) over a partition into an Inference's buffers.
template <class T>
class InferencePass {
 public:
  /// Node outputs of a pass, one view per node; a view without data: the node failed, or its
  /// output was not needed.
  using Outputs = std::vector<TensorView<const T>>;

  /// A pass over `partition` with buffers from `inf`.
  InferencePass(const Partition<T>& partition, Inference<T>& inf) : partition_(partition), inf_(inf) {}

  /// The network's answer with the failable nodes failed as `mask` says (nullptr: all
  /// alive): the output node's, or the answering exit's when no information reaches the
  /// output (Partition::answering_exit).
  TensorView<const T> run(TensorView<const T> x, const FailureMask* mask) {
    Outputs& out = inf_.view_list(partition_.nodes().size());
    const std::size_t answering = mask ? partition_.answering_exit(*mask) : Partition<T>::npos;
    const std::size_t last = answering == Partition<T>::npos ? partition_.nodes().size() - 1
                                                             : partition_.exits()[answering].node;
    for (std::size_t n = 0; n <= last; ++n)
      if (!mask || partition_.node_alive(*mask, n)) out[n] = node(n, x, out);
    return answer(answering, x, out);
  }

  /// Node n's output from the outputs of the nodes before it (see Outputs). Input nodes read
  /// `x`; other nodes use only its shape (batch size, example shape), so they may pass a
  /// view without data.
  TensorView<const T> node(std::size_t n, TensorView<const T> x, const Outputs& outputs) {
    return partition_.nodes()[n]->layers.infer(input(n, x, outputs), inf_);
  }

  /// Calls `visit(mask, logits)` once for every failure combination with an answer
  /// (information flow, or an answering exit; all-alive first), walking the nodes depth-first
  /// and branching alive/dead at each failable node: a node is computed once per state of the
  /// nodes before it, a dead node's layers are not run, and for a combination without
  /// information flow nothing after the last failable node is run but up to its exit's node.
  /// Buffers of a finished branch are handed back (Inference::mark/release), so memory stays
  /// that of one pass per depth.
  template <class Visit>
  void combinations(TensorView<const T> x, Visit&& visit) {
    const std::size_t nodes = partition_.nodes().size();
    Outputs& out = inf_.view_list(nodes);
    FailureMask mask(partition_.num_failable(), 1);
    std::size_t after_failable = 0;  // index of the first node after every failable one
    for (std::size_t n = 0; n < nodes; ++n)
      if (partition_.nodes()[n]->failable) after_failable = n + 1;
    std::function<void(std::size_t)> walk = [&](std::size_t n) {
      if (n == after_failable && !partition_.has_information_flow(mask)) {
        const std::size_t answering = partition_.answering_exit(mask);
        if (answering == Partition<T>::npos) return;
        for (std::size_t m = n; m <= partition_.exits()[answering].node; ++m) out[m] = node(m, x, out);
        visit(static_cast<const FailureMask&>(mask), answer(answering, x, out));
        return;
      }
      if (n == nodes) {
        visit(static_cast<const FailureMask&>(mask), node_value(n - 1, x, out));
        return;
      }
      const auto mark = inf_.mark();
      out[n] = node(n, x, out);
      walk(n + 1);
      inf_.release(mark);
      if (!partition_.nodes()[n]->failable) return;
      const std::size_t k = partition_.failure_position(n);
      mask[k] = 0;
      out[n] = TensorView<const T>();
      walk(n + 1);
      inf_.release(mark);
      mask[k] = 1;
    };
    walk(0);
  }

  /// Every node's output shape for a batch of one `example` (shape with a leading 1), from an
  /// all-alive pass on zeros the first time (and after the partition grows), memoised in the
  /// Inference; the pass takes buffers from it, so call it before taking outputs you keep.
  const std::vector<Shape>& node_output_shapes(const Shape& example) {
    std::size_t structure = partition_.links().size();  // layers added since the shapes were inferred
    for (const auto& node : partition_.nodes()) structure += node->layers.size();
    auto& memo = inf_.shape_memo();
    if (memo.network == &partition_ && example == memo.example && structure == memo.structure) return memo.shapes;
    memo.network = nullptr;
    TensorView<T> zero = inf_.buffer(example);
    std::fill(zero.begin(), zero.end(), T(0));
    Outputs& probe = inf_.view_list(partition_.nodes().size());
    for (std::size_t m = 0; m < partition_.nodes().size(); ++m) probe[m] = node(m, zero, probe);
    memo.shapes.clear();
    for (const auto& v : probe) memo.shapes.push_back(v.shape());
    memo.network = &partition_;
    memo.example = example;
    memo.structure = structure;
    return memo.shapes;
  }

 private:
  /// Exit `answering`'s logits from its node's output, or the output node's value for npos.
  TensorView<const T> answer(std::size_t answering, TensorView<const T> x, const Outputs& out) {
    if (answering == Partition<T>::npos) return node_value(partition_.nodes().size() - 1, x, out);
    const ExitHead<T>& e = partition_.exits()[answering];
    return e.head->infer(out[e.node], inf_);
  }

  /// The output of node n: its computed value, or zeros of its output shape when it failed.
  TensorView<const T> node_value(std::size_t n, TensorView<const T> x, const Outputs& out) {
    if (out[n].data()) return out[n];
    const Shape shape = node_output_shapes(x.shape().with_leading(1))[n];
    TensorView<T> zeros = inf_.buffer(shape.with_leading(x.shape()[0]));
    std::fill(zeros.begin(), zeros.end(), T(0));
    return zeros;
  }

  /// The weighted (and transformed) value link l delivers.
  TensorView<const T> link_value(const Link<T>& l, TensorView<const T> x, const Outputs& out) {
    TensorView<const T> v = node_value(l.from, x, out);
    if (l.transform) v = l.transform->infer(v, inf_);
    if (l.weight == 1.0) return v;
    TensorView<T> y = inf_.buffer(v.shape());
    detail::scale_forward(v.data(), T(l.weight), v.size(), y.data());
    return y;
  }

  /// a + b into a new buffer (shapes must agree).
  TensorView<const T> sum(TensorView<const T> a, TensorView<const T> b) {
    require<ShapeError>(a.shape() == b.shape(), "add: shapes ", a.shape(), " and ", b.shape(),
                        " differ");
    TensorView<T> y = inf_.buffer(a.shape());
    detail::add_forward(a.data(), b.data(), T(1), y.size(), y.data());
    return y;
  }

  /// The merged input of node n, as TapedPass merges it.
  TensorView<const T> input(std::size_t n, TensorView<const T> x, const Outputs& out) {
    const PhysicalNode<T>& node = *partition_.nodes()[n];
    TensorView<const T> in;
    if (node.inputs.empty() && node.input_slots.empty()) in = x;
    for (std::size_t slot : node.input_slots) {
      TensorView<T> v = inf_.buffer(detail::take_shape(x.shape(), 1, slot));
      detail::take_forward(x.shape(), 1, slot, x.data(), v.data());
      in = in.data() ? sum(in, v) : TensorView<const T>(v);
    }
    for (std::size_t m : node.inputs) {
      if (partition_.links()[m].kind != LinkKind::main) continue;
      const TensorView<const T> g = group(m, x, out);
      in = in.data() ? sum(in, g) : g;
    }
    return in;
  }

  /// One mux group: only the inputs Partition::group_uses_main/skips say it passes on.
  TensorView<const T> group(std::size_t m, TensorView<const T> x, const Outputs& out) {
    const Link<T>& main = partition_.links()[m];
    const bool main_alive = out[main.from].data() != nullptr;
    TensorView<const T> main_value;
    if (partition_.group_uses_main(m, main_alive)) main_value = link_value(main, x, out);
    if (!partition_.group_uses_skips(m, main_alive)) return main_value;
    if (partition_.effective_rule(false) == MergeRule::mux_batch_sum && batch_sum_nonzero<T>(main_value))
      return main_value;
    TensorView<const T> skips;
    for (std::size_t l : partition_.nodes()[main.to]->inputs) {
      if (partition_.links()[l].kind != LinkKind::skip || partition_.links()[l].group != m) continue;
      const TensorView<const T> v = link_value(partition_.links()[l], x, out);
      skips = skips.data() ? sum(skips, v) : v;
    }
    return partition_.effective_rule(false) == MergeRule::sum ? sum(main_value, skips) : skips;
  }

  const Partition<T>& partition_;
  Inference<T>& inf_;
};

}  // namespace resilinet
